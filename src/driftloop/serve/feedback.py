"""Feedback: a true label for a served image, stored where retraining looks for it.

The image is copied to ``feedback/<label>/<sha256>.<ext>`` (the folder
``driftloop model train --feedback-dir`` and the retraining pipeline read) and
the prediction's log row gets ``feedback_label`` / ``feedback_at``. The copy is
written first and removed again if the row update fails, so a failure leaves
neither half.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import select

from driftloop.errors import StorageError
from driftloop.serve.images import EXTENSIONS, ApiError, feedback_uri, store_feedback
from driftloop.serve.schemas import FeedbackResponse
from driftloop.storage.models import PredictionLog

if TYPE_CHECKING:
    from driftloop.serve.app import ServeState

__all__ = ["check_label", "find_by_sha", "label_request"]

log = logging.getLogger(__name__)


def check_label(label: str, labels: Sequence[str]) -> None:
    """Raise 422 ``unknown_label`` unless ``label`` is one of the model's classes."""
    if label not in labels:
        raise ApiError(
            422,
            "unknown_label",
            f"label {label!r} is not a class of the served model; use one of {sorted(labels)}",
        )


def find_by_sha(state: ServeState, sha256: str) -> str | None:
    """The request id of the newest logged prediction of this image, if any."""
    state.writer.flush()
    with state.db.session() as s:
        found: str | None = s.scalars(
            select(PredictionLog.request_id)
            .where(PredictionLog.image_sha256 == sha256)
            .order_by(PredictionLog.received_at.desc(), PredictionLog.id.desc())
        ).first()
    return found


def _extension(image_uri: str) -> str:
    ext = image_uri.rsplit(".", 1)[-1].lower() if "." in image_uri.rsplit("/", 1)[-1] else ""
    return ext if ext in EXTENSIONS.values() else "img"


def label_request(state: ServeState, request_id: str, label: str) -> FeedbackResponse:
    """Copy the request's image under feedback/<label>/ and record the label on its row."""
    # The row may still be in the writer's queue; feedback right after predict must find it.
    state.writer.flush()
    store = state.layout.store
    written: list[str] = []
    try:
        old_label, sha, ext, target = _update_row(state, request_id, label, written)
    except Exception:
        for uri in written:
            store.remove(uri)
        raise
    if old_label and old_label != label:
        # A corrected label moves the image: retraining must not see it under both classes.
        try:
            store.remove(feedback_uri(state.layout, old_label, sha, ext))
        except (OSError, StorageError) as exc:
            log.warning("could not remove the old feedback copy for %s: %s", request_id, exc)
    log.info("feedback %s: %s -> %s", request_id, label, target)
    return FeedbackResponse(request_id=request_id, label=label, image_uri=target, created=False)


def _update_row(
    state: ServeState, request_id: str, label: str, written: list[str]
) -> tuple[str | None, str, str, str]:
    store = state.layout.store
    with state.db.session() as s:
        row = s.scalars(select(PredictionLog).where(PredictionLog.request_id == request_id)).first()
        if row is None:
            raise ApiError(
                404,
                "unknown_request_id",
                f"no logged prediction has request_id {request_id!r}; use the id /predict "
                "returned, or send the image itself with the label",
            )
        if not row.image_uri or not store.exists(row.image_uri):
            raise ApiError(
                409,
                "image_missing",
                f"the image of request {request_id!r} is no longer stored ({row.image_uri}); "
                "send the image itself with the label",
            )
        ext = _extension(row.image_uri)
        data = store.read_bytes(row.image_uri)
        old_label = row.feedback_label
        existed = store.exists(feedback_uri(state.layout, label, row.image_sha256, ext))
        target = store_feedback(state.layout, label, row.image_sha256, ext, data)
        if not existed:
            written.append(target)
        row.feedback_label = label
        row.feedback_at = dt.datetime.now(dt.UTC)
        sha = row.image_sha256
    # The session committed on leaving the block: only now is the copy final.
    return old_label, sha, ext, target
