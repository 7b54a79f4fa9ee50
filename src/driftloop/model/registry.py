"""The model registry: versions in the database, files in the artifact store.

``models/<version>/`` holds each registered model (copied in at registration,
in one folder rename). ``models/CURRENT`` (``{"version", "uri"}``) names the
champion; it is the source of truth for "which model serves" and is always
written last, in one atomic replace, after the files are in place. The
database rows (stage candidate -> champion -> archived, who promoted and when,
and the ``model_events`` history) are updated in the same transaction that
writes the pointer, so a failed pointer write leaves both unchanged.
"""

from __future__ import annotations

import builtins
import datetime as dt
import json
import logging
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from driftloop.errors import PromotionError, StorageError
from driftloop.results import GateDecision
from driftloop.storage.artifacts import ArtifactStore
from driftloop.storage.db import Database
from driftloop.storage.models import ModelEvent, ModelVersion

__all__ = ["POINTER", "Registry", "forced_decision", "resolve_model_ref"]

log = logging.getLogger(__name__)

POINTER = "models/CURRENT"
REQUIRED_FILES = ("model.keras", "classes.json")


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def forced_decision(version: str, actor: str, reason: str) -> GateDecision:
    """A BLESSED decision for a manual override; the reason is kept in the event history."""
    if not reason.strip():
        raise PromotionError("a forced promotion needs a reason; pass --reason TEXT")
    return GateDecision(
        promote=True,
        reasons=(f"forced by {actor or 'unknown'}: {reason.strip()}",),
        candidate_version=version,
        champion_version=None,
        candidate_auc=None,
        champion_auc=None,
        metric_min=0.0,
        metric_drop_tol=0.0,
        decided_at=_utcnow().isoformat(timespec="seconds"),
    )


class Registry:
    """Register, promote and roll back model versions."""

    def __init__(self, db: Database, store: ArtifactStore) -> None:
        self.db = db
        self.store = store

    # -- reading ------------------------------------------------------------
    def _pointer(self) -> dict[str, Any] | None:
        if not self.store.exists(POINTER):
            return None
        try:
            data = json.loads(self.store.read_text(POINTER))
            return {"version": str(data["version"]), "uri": str(data["uri"])}
        except (ValueError, KeyError, TypeError) as exc:
            raise StorageError(
                f"model pointer '{self.store.uri(POINTER)}' is unreadable ({exc}); "
                "repair it with 'driftloop model rollback --to VERSION'"
            ) from None

    def current(self) -> ModelVersion | None:
        """The champion named by ``models/CURRENT`` (None before the first promotion)."""
        pointer = self._pointer()
        if pointer is None:
            return None
        with self.db.session() as s:
            return s.get(ModelVersion, pointer["version"])

    def current_uri(self) -> str | None:
        """The folder URI of the champion, or None."""
        pointer = self._pointer()
        return None if pointer is None else pointer["uri"]

    def get(self, version: str) -> ModelVersion:
        """One version; raises when it is not registered."""
        with self.db.session() as s:
            row = s.get(ModelVersion, version)
        if row is None:
            raise PromotionError(
                f"model version '{version}' is not registered; see 'driftloop model list'"
            )
        return row

    def list(self) -> builtins.list[ModelVersion]:
        """Every registered version, newest first."""
        with self.db.session() as s:
            return builtins.list(
                s.scalars(select(ModelVersion).order_by(ModelVersion.version.desc())).all()
            )

    def events(self, version: str | None = None) -> builtins.list[ModelEvent]:
        """The event history (oldest first), optionally for one version."""
        query = select(ModelEvent).order_by(ModelEvent.id)
        if version is not None:
            query = query.where(ModelEvent.version == version)
        with self.db.session() as s:
            return builtins.list(s.scalars(query).all())

    # -- writing ------------------------------------------------------------
    def _new_version(self, fingerprint: str) -> str:
        base = f"m-{_utcnow():%Y%m%d-%H%M%S}-{fingerprint[:6]}"
        version, n = base, 1
        with self.db.session() as s:
            while s.get(ModelVersion, version) is not None:
                n += 1
                version = f"{base}-{n}"
        return version

    def register(
        self,
        model_dir_uri: str,
        *,
        metrics: dict[str, Any],
        fingerprint: str,
        arch: str,
        details: dict[str, Any] | None = None,
    ) -> str:
        """Copy the model folder into ``models/<version>/`` and record it as a candidate."""
        version = self._new_version(fingerprint)
        target = self.store.uri("models", version)
        source = ArtifactStore(model_dir_uri)
        with source.local_copy(model_dir_uri) as local, tempfile.TemporaryDirectory() as tmp:
            missing = [f for f in REQUIRED_FILES if not (Path(local) / f).is_file()]
            if missing:
                raise PromotionError(
                    f"'{model_dir_uri}' lacks {missing}; register a folder written by "
                    "'driftloop model train'"
                )
            staged = Path(tmp) / version
            shutil.copytree(local, staged)
            (staged / "version.txt").write_text(version + "\n", encoding="utf-8")
            self.store.put_dir(staged, target)
        auc = metrics.get("macro_auc")
        with self.db.session() as s:
            s.add(
                ModelVersion(
                    version=version,
                    uri=target,
                    arch=arch,
                    stage="candidate",
                    metrics=metrics,
                    macro_auc=float(auc) if isinstance(auc, int | float) else None,
                    data_fingerprint=fingerprint,
                    details={"source": str(model_dir_uri), **(details or {})},
                )
            )
            s.add(ModelEvent(version=version, action="registered", details={"uri": target}))
        log.info("registered %s (%s) from %s -> %s", version, arch, model_dir_uri, target)
        return version

    def _check_files(self, row: ModelVersion) -> None:
        for name in REQUIRED_FILES:
            if not self.store.exists(f"{row.uri}/{name}"):
                raise PromotionError(
                    f"model {row.version} is missing '{row.uri}/{name}'; it cannot be made current"
                )

    def _switch(
        self, s: Session, row: ModelVersion, actor: str, action: str, details: dict[str, Any]
    ) -> None:
        """Archive the old champion, crown ``row``, record, then write the pointer last."""
        now = _utcnow()
        for old in s.scalars(select(ModelVersion).where(ModelVersion.stage == "champion")):
            if old.version != row.version:
                old.stage = "archived"
        row.stage = "champion"
        row.promoted_at = now
        row.promoted_by = actor
        s.add(ModelEvent(version=row.version, action=action, actor=actor, details=details))
        s.flush()
        # The pointer write is the commit point: if it fails the session rolls back.
        self.store.write_text(POINTER, json.dumps({"version": row.version, "uri": row.uri}))

    def promote(self, version: str, decision: GateDecision, actor: str) -> bool:
        """Make ``version`` current if ``decision`` is BLESSED for it.

        Returns True when the pointer moved; False for a NOT_BLESSED decision
        (recorded as ``rejected``) or when ``version`` is already current (a no-op).
        """
        if not isinstance(decision, GateDecision):
            raise PromotionError(
                f"promotion needs a GateDecision, got {type(decision).__name__}; run 'driftloop model gate'"
            )
        if decision.candidate_version not in (None, version):
            raise PromotionError(
                f"the gate decision is for '{decision.candidate_version}', not '{version}'; "
                "gate this version first"
            )
        row = self.get(version)
        if decision.status != "BLESSED":
            with self.db.session() as s:
                s.add(
                    ModelEvent(
                        version=version, action="rejected", actor=actor, details=decision.to_dict()
                    )
                )
            log.warning(
                "not promoting %s: gate said NOT_BLESSED (%s)", version, "; ".join(decision.reasons)
            )
            return False
        current = self._pointer()
        if current is not None and current["version"] == version:
            log.info("%s is already current; nothing to do", version)
            return False
        self._check_files(row)
        with self.db.session() as s:
            live = s.get(ModelVersion, version)
            assert live is not None
            details = {"decision": decision.to_dict(), "previous": current and current["version"]}
            self._switch(s, live, actor, "promoted", details)
        log.info("promoted %s (previous %s) by %s", version, current and current["version"], actor)
        return True

    def _previous_champion(self, current: str | None) -> str | None:
        with self.db.session() as s:
            rows = s.scalars(
                select(ModelVersion)
                .where(
                    ModelVersion.promoted_at.is_not(None), ModelVersion.version != (current or "")
                )
                .order_by(ModelVersion.promoted_at.desc(), ModelVersion.version.desc())
            ).all()
        return rows[0].version if rows else None

    def rollback(self, to: str | None = None, actor: str = "") -> str:
        """Make a previous champion (or version ``to``) current again; returns its version."""
        pointer = self._pointer()
        current = pointer["version"] if pointer else None
        target = to or self._previous_champion(current)
        if target is None:
            raise PromotionError(
                "no previous champion to roll back to; name a version with --to (see 'driftloop model list')"
            )
        if target == current:
            log.info("%s is already current; nothing to roll back", target)
            return target
        row = self.get(target)
        self._check_files(row)
        with self.db.session() as s:
            live = s.get(ModelVersion, target)
            assert live is not None
            self._switch(s, live, actor, "rolled_back", {"from": current})
        log.info("rolled back from %s to %s by %s", current, target, actor)
        return target


def resolve_model_ref(ref: str, settings: Any) -> str:
    """A model folder URI from a path/URI, a registered version id, or ``current``."""
    if Path(ref).exists() or "://" in ref:
        return ref
    db = Database(settings.db_url)
    try:
        db.check_ready()
        registry = Registry(db, ArtifactStore(settings.artifacts_uri))
        if ref == "current":
            uri = registry.current_uri()
            if uri is None:
                raise PromotionError(
                    "no model is current yet; promote one with 'driftloop model promote' "
                    "or pass --model FOLDER"
                )
            return uri
        return registry.get(ref).uri
    finally:
        db.dispose()
