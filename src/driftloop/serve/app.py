"""The FastAPI app factory: state, lifespan, limits, errors, token and CORS.

``create_app(settings)`` wires the parts; the endpoints live in
:mod:`driftloop.serve.routes` and :mod:`driftloop.serve.monitoring`. On start the
champion is loaded (the API still starts without one: /predict then answers 503
until a model is promoted and ``POST /reload`` is called). On a clean shutdown
uvicorn finishes in-flight requests, then the lifespan exit drains the
prediction-log queue, so no logged prediction is lost.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hmac
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from driftloop.config import Settings
from driftloop.constants import VERSION
from driftloop.errors import DriftloopError
from driftloop.serve.images import ApiError
from driftloop.serve.inference import MicroBatcher, ModelHolder
from driftloop.serve.logwriter import PredictionLogWriter
from driftloop.storage.artifacts import ArtifactStore, Layout
from driftloop.storage.db import Database

__all__ = ["ServeState", "create_app", "request_limit"]

log = logging.getLogger(__name__)

# Room for multipart headers and for base64's 4/3 growth of a max-sized image.
_ENVELOPE_BYTES = 64 * 1024


def request_limit(max_upload_bytes: int) -> int:
    """The largest request body accepted for an image of ``max_upload_bytes``."""
    return max_upload_bytes * 4 // 3 + _ENVELOPE_BYTES


@dataclass
class ServeState:
    """Everything the endpoints share, kept on ``app.state.serve``."""

    settings: Settings
    db: Database
    layout: Layout
    holder: ModelHolder
    batcher: MicroBatcher
    writer: PredictionLogWriter
    log_predictions: bool = True
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))


def _error(status: int, code: str, detail: str) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status)


class BodyLimitMiddleware:
    """Refuse a body over ``limit`` bytes: by Content-Length up front, else while streaming."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = -1
            if declared < 0:
                await _error(400, "bad_request", f"invalid Content-Length {length!r}")(
                    scope, receive, send
                )
                return
            if declared > self.limit:
                await self._too_large(declared)(scope, receive, send)
                return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    # Raised inside the endpoint's body read: the ApiError handler answers 413.
                    raise ApiError(413, "too_large", self._detail(seen, "at least "))
            return message

        await self.app(scope, counted, send)

    def _detail(self, size: int, qualifier: str = "") -> str:
        return (
            f"request body of {qualifier}{size} bytes exceeds the limit of {self.limit} bytes "
            "(serving.max_upload_bytes plus encoding overhead); send a smaller image"
        )

    def _too_large(self, size: int) -> JSONResponse:
        return _error(413, "too_large", self._detail(size))


_bearer = HTTPBearer(auto_error=False, description="Authorization: Bearer <serving.api_token>")
_api_key = APIKeyHeader(
    name="X-API-Token", auto_error=False, description="the serving.api_token (alternative header)"
)


def require_token(
    request: Request,
    bearer: HTTPAuthorizationCredentials | None = Security(_bearer),  # noqa: B008
    api_key: str | None = Security(_api_key),
) -> None:
    """Check the API token when ``serving.api_token`` is set (constant-time compare)."""
    state: ServeState = request.app.state.serve
    secret = state.settings.serving.api_token
    if secret is None or not secret.get_secret_value():
        return
    given = (bearer.credentials if bearer is not None else None) or api_key
    if given is None:
        raise ApiError(
            401,
            "unauthorized",
            "this endpoint needs the API token: send 'Authorization: Bearer TOKEN' or "
            "'X-API-Token: TOKEN'",
        )
    if not hmac.compare_digest(given.encode(), secret.get_secret_value().encode()):
        raise ApiError(401, "unauthorized", "the API token is wrong; check serving.api_token")


def _install_error_handlers(app: FastAPI) -> None:
    async def api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return _error(exc.status, exc.code, exc.detail)

    async def invalid(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        parts = []
        for err in exc.errors()[:5]:
            where = ".".join(str(p) for p in err.get("loc", ()))
            parts.append(f"{where}: {err.get('msg')}")
        return _error(422, "invalid_request", "; ".join(parts) or "the request is invalid")

    async def http_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        codes = {404: "not_found", 405: "method_not_allowed"}
        response = _error(
            exc.status_code, codes.get(exc.status_code, f"http_{exc.status_code}"), str(exc.detail)
        )
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    async def driftloop_error(_: Request, exc: Exception) -> JSONResponse:
        log.warning("request failed: %s", exc)
        return _error(503, "unavailable", str(exc))

    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error: %s", exc)
        return _error(500, "internal_error", f"{type(exc).__name__}: see the server log")

    app.add_exception_handler(ApiError, api_error)
    app.add_exception_handler(RequestValidationError, invalid)
    app.add_exception_handler(StarletteHTTPException, http_error)
    app.add_exception_handler(DriftloopError, driftloop_error)
    app.add_exception_handler(Exception, unexpected)


def _lifespan(state: ServeState) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        state.writer.start()
        state.batcher.start()
        try:
            state.holder.reload()
        except DriftloopError as exc:
            log.warning("starting without a model: %s", exc)
        log.info(
            "serving model %s; token %s; CORS %s",
            state.holder.version,
            "required" if state.settings.serving.api_token else "off",
            state.settings.serving.cors_origins or "off",
        )
        try:
            yield
        finally:
            state.batcher.close()
            state.writer.close()
            state.db.dispose()

    return lifespan


def create_app(
    settings: Settings,
    *,
    db: Database | None = None,
    store: ArtifactStore | None = None,
    log_predictions: bool = True,
) -> FastAPI:
    """Build the serving app. ``log_predictions=False`` is a benchmark-only switch."""
    from driftloop.model.registry import Registry
    from driftloop.serve import monitoring, routes

    database = db or Database(settings.db_url)
    artifacts = store or ArtifactStore(settings.artifacts_uri)
    serving = settings.serving
    state = ServeState(
        settings=settings,
        db=database,
        layout=Layout(artifacts),
        holder=ModelHolder(Registry(database, artifacts)),
        batcher=MicroBatcher(serving.max_batch),
        writer=PredictionLogWriter(
            database, batch_rows=serving.log_batch_rows, flush_ms=serving.log_flush_ms
        ),
        log_predictions=log_predictions,
    )
    app = FastAPI(
        title="driftloop serving API",
        version=VERSION,
        description=(
            "Classifies brain-MRI images with the champion model, logs every prediction for "
            "drift monitoring and takes labelled feedback for retraining. Errors are "
            '{"error": code, "detail": message}.'
        ),
        lifespan=_lifespan(state),
    )
    app.state.serve = state
    _install_error_handlers(app)
    app.include_router(routes.router)
    app.include_router(monitoring.router)
    if serving.cors_origins:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=serving.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Token", "Content-Type"],
        )
    app.add_middleware(BodyLimitMiddleware, limit=request_limit(serving.max_upload_bytes))
    return app


def dump_openapi(app: FastAPI) -> str:
    """The app's OpenAPI schema as indented JSON."""
    return json.dumps(app.openapi(), indent=2)
