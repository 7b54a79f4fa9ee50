"""A small Python client for the serving API (httpx).

>>> with DriftloopClient("http://127.0.0.1:8080", token="s3cret") as api:
...     answer = api.predict("scan.jpg")
...     api.feedback(answer["request_id"], "glioma")

Errors come back as :class:`ApiError` with the server's ``error`` code and
``detail``; tests swap the network for another ``transport`` (httpx style).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

import httpx

from driftloop.errors import DriftloopError

__all__ = ["ApiError", "DriftloopClient"]


class ApiError(DriftloopError):
    """The API answered with an error: HTTP ``status``, its ``code`` and ``detail``."""

    def __init__(self, status: int, code: str, detail: str) -> None:
        super().__init__(f"HTTP {status} {code}: {detail}")
        self.status = status
        self.code = code
        self.detail = detail


class DriftloopClient:
    """Call /predict, /feedback, /reload, /health and /monitoring/* of one server."""

    def __init__(
        self,
        base_url: str,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 30.0,
    ) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, transport=transport, timeout=timeout
        )

    def __enter__(self) -> DriftloopClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(
                0, "unreachable", f"{method} {self._http.base_url}{path}: {exc}"
            ) from exc
        if response.status_code >= 400:
            try:
                body = response.json()
                code, detail = str(body["error"]), str(body["detail"])
            except (ValueError, KeyError, TypeError):
                code, detail = f"http_{response.status_code}", response.text[:500]
            raise ApiError(response.status_code, code, detail)
        return response.json()

    @staticmethod
    def _bytes(image: str | os.PathLike[str] | bytes) -> tuple[bytes, str]:
        if isinstance(image, bytes):
            return image, "upload"
        path = Path(image)
        return path.read_bytes(), path.name

    def predict(
        self, image: str | os.PathLike[str] | bytes, *, as_base64: bool = False
    ) -> dict[str, Any]:
        """Classify an image file or its bytes (multipart, or JSON base64 when asked)."""
        data, name = self._bytes(image)
        if as_base64:
            body = {"image_base64": base64.b64encode(data).decode("ascii"), "filename": name}
            result: dict[str, Any] = self._call("POST", "/predict", json=body)
        else:
            result = self._call("POST", "/predict", files={"file": (name, data)})
        return result

    def feedback(
        self,
        request_id: str | None,
        label: str,
        *,
        image: str | os.PathLike[str] | bytes | None = None,
    ) -> dict[str, Any]:
        """Give the true label of a prediction (by request id) or of an image."""
        if image is not None:
            data, name = self._bytes(image)
            result: dict[str, Any] = self._call(
                "POST", "/feedback", files={"file": (name, data)}, data={"label": label}
            )
            return result
        if not request_id:
            raise ApiError(0, "invalid_request", "feedback needs a request_id or an image")
        result = self._call("POST", "/feedback", json={"request_id": request_id, "label": label})
        return result

    def health(self) -> dict[str, Any]:
        """Model and baseline versions and database state (a 503 body is returned too)."""
        response = self._http.get("/health")
        if response.status_code not in (200, 503):
            raise ApiError(response.status_code, f"http_{response.status_code}", response.text)
        result: dict[str, Any] = response.json()
        return result

    def reload(self) -> dict[str, Any]:
        """Load the current champion on the server."""
        result: dict[str, Any] = self._call("POST", "/reload")
        return result

    def runs(self, limit: int = 50) -> list[dict[str, Any]]:
        """The newest monitoring runs."""
        result: list[dict[str, Any]] = self._call(
            "GET", "/monitoring/runs", params={"limit": limit}
        )
        return result

    def run(self, run_id: int) -> dict[str, Any]:
        """One monitoring run with its drift summary."""
        result: dict[str, Any] = self._call("GET", f"/monitoring/runs/{run_id}")
        return result

    def latest_drift(self) -> dict[str, Any]:
        """The newest run with a drift result."""
        result: dict[str, Any] = self._call("GET", "/monitoring/drift/latest")
        return result
