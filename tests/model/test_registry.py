"""Registry: copy first, pointer last; promotion reads a GateDecision; rollback; the CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from driftloop.cli import main
from driftloop.config import Settings
from driftloop.errors import PromotionError
from driftloop.model import Registry, decide_gate, load_model
from driftloop.model.registry import POINTER, forced_decision
from driftloop.storage.artifacts import ArtifactStore
from driftloop.storage.db import Database


def _register(reg: Registry, folder: Path, auc: float = 0.9) -> str:
    return reg.register(
        str(folder), metrics={"macro_auc": auc}, fingerprint="f" * 64, arch="small_cnn"
    )


def _blessed(version: str) -> object:
    return decide_gate({"macro_auc": 0.95, "evaluated_on": "x"}, None, candidate_version=version)


@pytest.fixture
def reg(db: Database, store: ArtifactStore) -> Registry:
    return Registry(db, store)


def test_register_copies_the_model_under_models_version(
    reg: Registry, store: ArtifactStore, trained_model: Path
) -> None:
    version = _register(reg, trained_model)
    assert version.startswith("m-") and version.endswith("-ffffff")
    assert Path(store.uri("models", version, "model.keras")).is_file()
    assert load_model(store.uri("models", version)).version == version
    row = reg.get(version)
    assert row.stage == "candidate" and row.macro_auc == 0.9
    assert reg.current() is None and reg.current_uri() is None


def test_versions_are_unique_and_sortable(reg: Registry, trained_model: Path) -> None:
    first, second = _register(reg, trained_model), _register(reg, trained_model)
    assert first != second and sorted([second, first]) == [first, second]
    assert [r.version for r in reg.list()] == [second, first]


def test_promote_moves_the_pointer_and_archives_the_old_champion(
    reg: Registry, store: ArtifactStore, trained_model: Path
) -> None:
    a, b = _register(reg, trained_model), _register(reg, trained_model)
    assert reg.promote(a, _blessed(a), "test")  # type: ignore[arg-type]
    assert reg.promote(b, _blessed(b), "test")  # type: ignore[arg-type]
    assert json.loads(store.read_text(POINTER))["version"] == b
    assert reg.get(a).stage == "archived" and reg.get(b).stage == "champion"
    assert reg.get(b).promoted_by == "test"
    assert [e.action for e in reg.events(b)] == ["registered", "promoted"]


def test_promoting_the_current_version_twice_is_a_no_op(reg: Registry, trained_model: Path) -> None:
    a = _register(reg, trained_model)
    assert reg.promote(a, _blessed(a), "t")  # type: ignore[arg-type]
    assert not reg.promote(a, _blessed(a), "t")  # type: ignore[arg-type]
    assert [e.action for e in reg.events(a)] == ["registered", "promoted"]


def test_not_blessed_decision_is_recorded_and_changes_nothing(
    reg: Registry, trained_model: Path
) -> None:
    a = _register(reg, trained_model)
    rejected = decide_gate({"macro_auc": 0.5}, None, candidate_version=a)
    assert not reg.promote(a, rejected, "t")
    assert reg.current() is None
    assert reg.events(a)[-1].action == "rejected"


def test_promotion_needs_a_gate_decision_not_a_bool(reg: Registry, trained_model: Path) -> None:
    a = _register(reg, trained_model)
    with pytest.raises(PromotionError, match="GateDecision"):
        reg.promote(a, True, "t")  # type: ignore[arg-type]


def test_decision_for_another_version_is_refused(reg: Registry, trained_model: Path) -> None:
    a = _register(reg, trained_model)
    with pytest.raises(PromotionError, match="m-other"):
        reg.promote(a, _blessed("m-other"), "t")  # type: ignore[arg-type]


def test_failure_before_the_pointer_switch_keeps_the_old_champion(
    reg: Registry, store: ArtifactStore, trained_model: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _register(reg, trained_model), _register(reg, trained_model)
    reg.promote(a, _blessed(a), "t")  # type: ignore[arg-type]

    def crash(uri: str, text: str) -> str:
        raise OSError(f"disk full while writing {uri}")

    monkeypatch.setattr(store, "write_text", crash)
    with pytest.raises(OSError, match="disk full"):
        reg.promote(b, _blessed(b), "t")  # type: ignore[arg-type]
    monkeypatch.undo()
    current = reg.current()
    assert current is not None and current.version == a and current.stage == "champion"
    assert reg.get(b).stage == "candidate"  # the database change was rolled back too
    assert load_model(reg.current_uri() or "").version == a


def test_rollback_returns_to_the_previous_champion_and_is_recorded(
    reg: Registry, trained_model: Path
) -> None:
    a, b = _register(reg, trained_model), _register(reg, trained_model)
    reg.promote(a, _blessed(a), "t")  # type: ignore[arg-type]
    reg.promote(b, _blessed(b), "t")  # type: ignore[arg-type]
    assert reg.rollback(actor="ops") == a
    current = reg.current()
    assert current is not None and current.version == a
    assert reg.get(b).stage == "archived"
    assert reg.events(a)[-1].action == "rolled_back" and reg.events(a)[-1].actor == "ops"
    assert reg.rollback(to=b) == b


def test_rollback_without_a_previous_champion_says_what_to_do(reg: Registry) -> None:
    with pytest.raises(PromotionError, match="--to"):
        reg.rollback()


def test_forced_promotion_needs_a_reason() -> None:
    with pytest.raises(PromotionError, match="reason"):
        forced_decision("m-1", "me", "  ")


@pytest.fixture
def _cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    monkeypatch.setenv("DRIFTLOOP_HOME", str(settings.home))
    return lambda *args: main(list(args))


def test_cli_register_gate_promote_list_rollback(
    _cli: Callable[..., int],
    settings: Settings,
    db: Database,
    trained_model: Path,
    blob_data: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert _cli("model", "register", "--model", str(trained_model)) == 0
    first = capsys.readouterr().out.strip()
    assert _cli("model", "register", "--model", str(trained_model)) == 0
    second = capsys.readouterr().out.strip()

    gate = tmp_path / "gate.json"
    ref = str(blob_data / "reference")
    assert _cli("model", "gate", "--candidate", first, "--data", ref, "--out", str(gate)) == 0
    assert json.loads(gate.read_text())["status"] == "BLESSED"
    assert _cli("model", "promote", "--version", first, "--decision", str(gate)) == 0
    # The same decision file cannot promote a different version.
    assert _cli("model", "promote", "--version", second, "--decision", str(gate)) == 1
    assert _cli("model", "promote", "--version", second, "--force", "--reason", "hotfix") == 0
    capsys.readouterr()

    assert _cli("model", "list") == 0
    listing = capsys.readouterr().out
    assert f"* {second}" in listing and first in listing and "archived" in listing

    assert _cli("model", "rollback") == 0
    assert first in capsys.readouterr().out
    reg = Registry(db, ArtifactStore(settings.artifacts_uri))
    current = reg.current()
    assert current is not None and current.version == first
    forced = next(e for e in reg.events(second) if e.action == "promoted")
    assert "hotfix" in json.dumps(forced.details)


def test_cli_promote_without_decision_is_a_usage_error(
    _cli: Callable[..., int], db: Database, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _cli("model", "promote", "--version", "m-x") == 1
    assert "--decision" in capsys.readouterr().err
