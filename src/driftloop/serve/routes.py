"""/health, /predict, /feedback and /reload.

Bodies are read by hand (multipart or JSON on the same path) so the size limit
and the error shapes are ours; the OpenAPI request bodies are declared below.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import logging
import uuid
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from driftloop.constants import CLASSES
from driftloop.errors import DriftloopError
from driftloop.serve import feedback as feedback_ops
from driftloop.serve.app import ServeState, require_token
from driftloop.serve.images import ApiError, PreparedImage, prepare_image, store_prediction
from driftloop.serve.inference import Prediction
from driftloop.serve.schemas import (
    ErrorResponse,
    FeedbackJSON,
    FeedbackResponse,
    HealthResponse,
    PredictJSON,
    PredictResponse,
    ReloadResponse,
)
from driftloop.storage.models import BaselineVersion

__all__ = ["router"]

log = logging.getLogger(__name__)
router = APIRouter()

_ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 404, 409, 413, 415, 422, 503)
}
_FILE = {"type": "string", "format": "binary", "description": "the image file"}


def _body(multipart: dict[str, Any], json_model: type[Any]) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "multipart/form-data": {"schema": multipart},
                "application/json": {"schema": json_model.model_json_schema()},
            },
        }
    }


_PREDICT_BODY = _body(
    {"type": "object", "properties": {"file": _FILE}, "required": ["file"]}, PredictJSON
)
_FEEDBACK_BODY = _body(
    {
        "type": "object",
        "properties": {"file": _FILE, "label": {"type": "string", "description": "true class"}},
        "required": ["file", "label"],
    },
    FeedbackJSON,
)


def _state(request: Request) -> ServeState:
    state: ServeState = request.app.state.serve
    return state


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def _read_json(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        raise ApiError(400, "empty_body", "the request body is empty; send JSON or a file")
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", "the JSON body must be an object")
    return data


async def _read_form(
    request: Request, fields: tuple[str, ...]
) -> tuple[bytes, str, dict[str, str]]:
    from starlette.formparsers import MultiPartException

    try:
        form = await request.form(max_files=1, max_fields=len(fields) + 1)
    except MultiPartException as exc:
        raise ApiError(
            400, "invalid_multipart", f"the multipart body is malformed: {exc}"
        ) from None
    try:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ApiError(422, "missing_file", "send the image as the multipart field 'file'")
        data = await upload.read()
        values = {k: v for k in fields if isinstance(v := form.get(k), str)}
        return data, upload.filename or "upload", values
    finally:
        await form.close()


def _unsupported(media: str) -> ApiError:
    return ApiError(
        415,
        "unsupported_media_type",
        f"Content-Type {media or '(none)'!r} is not accepted; use multipart/form-data "
        "(field 'file') or application/json",
    )


async def _read_image(request: Request) -> tuple[bytes, str]:
    media = _media(request)
    if media == "multipart/form-data":
        data, name, _ = await _read_form(request, ())
        return data, name
    if media == "application/json":
        body = await _read_json(request)
        try:
            parsed = PredictJSON.model_validate(body)
        except ValueError as exc:
            raise ApiError(422, "invalid_request", f"bad JSON body: {exc}") from None
        return _b64(parsed.image_base64), parsed.filename or "upload"
    raise _unsupported(media)


def _b64(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(400, "invalid_base64", f"image_base64 is not valid base64: {exc}") from None


async def _prepare(state: ServeState, data: bytes, name: str) -> PreparedImage:
    return await run_in_threadpool(
        prepare_image, data, name, state.settings.ingest, state.settings.serving.max_upload_bytes
    )


async def _predict(state: ServeState, image: PreparedImage) -> tuple[PredictResponse, Prediction]:
    model = state.holder.model
    if model is None:
        raise ApiError(
            503,
            "no_model",
            "no model is being served; promote a champion and call POST /reload",
        )
    prediction = await state.batcher.predict(model, image.pixels)
    received_at = dt.datetime.now(dt.UTC)
    request_id = uuid.uuid4().hex
    if state.log_predictions:
        await run_in_threadpool(_log_prediction, state, image, prediction, request_id, received_at)
    response = PredictResponse(
        request_id=request_id,
        predicted_class=prediction.predicted_class,
        confidence=prediction.confidence,
        probabilities=prediction.by_class(),
        model_version=model.version,
        image_sha256=image.sha256,
    )
    return response, prediction


def _log_prediction(
    state: ServeState,
    image: PreparedImage,
    prediction: Prediction,
    request_id: str,
    received_at: dt.datetime,
) -> None:
    image_uri = store_prediction(state.layout, image, received_at)
    state.writer.submit(
        {
            "request_id": request_id,
            "image_sha256": image.sha256,
            "image_uri": image_uri,
            "received_at": received_at,
            "predicted_class": prediction.predicted_class,
            "confidence": prediction.confidence,
            "probabilities": prediction.by_class(),
            "model_version": prediction.model.version,
            "features": image.features,
        }
    )


@router.get(
    "/health",
    response_model=HealthResponse,
    responses={503: {"model": HealthResponse, "description": "database or model missing"}},
    tags=["service"],
)
def health(request: Request) -> JSONResponse:
    """Model and baseline versions and whether the database answers."""
    state = _state(request)
    reachable = state.db.ping()
    baseline = None
    if reachable:
        try:
            with state.db.session() as s:
                baseline = s.scalars(
                    select(BaselineVersion.version)
                    .where(BaselineVersion.is_current.is_(True))
                    .order_by(BaselineVersion.created_at.desc())
                ).first()
        except Exception as exc:  # a reachable but unmigrated database: say so, stay up
            log.warning("health: cannot read baselines: %s", exc)
            reachable = False
    body = HealthResponse(
        status="ok" if reachable and state.holder.model is not None else "degraded",
        model_version=state.holder.version,
        baseline_version=baseline,
        database=reachable,
        pending_log_rows=state.writer.pending,
    )
    return JSONResponse(body.model_dump(), status_code=200 if body.status == "ok" else 503)


@router.post(
    "/predict",
    response_model=PredictResponse,
    responses=_ERRORS,
    openapi_extra=_PREDICT_BODY,
    tags=["model"],
)
async def predict(request: Request) -> PredictResponse:
    """Classify one image (multipart field ``file`` or JSON ``image_base64``) and log it."""
    state = _state(request)
    data, name = await _read_image(request)
    image = await _prepare(state, data, name)
    response, _ = await _predict(state, image)
    return response


def _labels(state: ServeState) -> list[str]:
    model = state.holder.model
    return list(model.classes) if model is not None else list(CLASSES)


@router.post(
    "/feedback",
    response_model=FeedbackResponse,
    responses=_ERRORS,
    openapi_extra=_FEEDBACK_BODY,
    dependencies=[Depends(require_token)],
    tags=["model"],
)
async def feedback(request: Request) -> FeedbackResponse:
    """Record the true label of a prediction (by request id) or of an uploaded image."""
    state = _state(request)
    media = _media(request)
    if media == "application/json":
        body = await _read_json(request)
        try:
            parsed = FeedbackJSON.model_validate(body)
        except ValueError as exc:
            raise ApiError(422, "invalid_request", f"bad JSON body: {exc}") from None
        feedback_ops.check_label(parsed.label, _labels(state))
        return await run_in_threadpool(
            feedback_ops.label_request, state, parsed.request_id, parsed.label
        )
    if media != "multipart/form-data":
        raise _unsupported(media)
    data, name, values = await _read_form(request, ("label",))
    label = values.get("label", "")
    feedback_ops.check_label(label, _labels(state))
    image = await _prepare(state, data, name)
    request_id = await run_in_threadpool(feedback_ops.find_by_sha, state, image.sha256)
    created = request_id is None
    if request_id is None:
        if not state.log_predictions:
            raise ApiError(409, "logging_disabled", "prediction logging is off on this server")
        response, _ = await _predict(state, image)
        request_id = response.request_id
    result = await run_in_threadpool(feedback_ops.label_request, state, request_id, label)
    return result.model_copy(update={"created": created})


@router.post(
    "/reload",
    response_model=ReloadResponse,
    responses=_ERRORS,
    dependencies=[Depends(require_token)],
    tags=["service"],
)
async def reload(request: Request) -> ReloadResponse:
    """Load the current champion (models/CURRENT) without a restart; in-flight requests finish."""
    state = _state(request)
    try:
        version, previous = await run_in_threadpool(state.holder.reload)
    except DriftloopError as exc:
        raise ApiError(409, "reload_failed", f"{exc}; the old model keeps serving") from None
    return ReloadResponse(
        model_version=version, previous_version=previous, changed=version != previous
    )
