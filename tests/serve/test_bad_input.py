"""Bad requests get a 4xx with {"error", "detail"} and leave nothing behind."""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from serve_helpers import LiveServer, files_under, log_rows

from driftloop.config import Settings
from driftloop.storage.artifacts import Layout
from driftloop.storage.db import Database

LIMIT = 50_000  # serving.max_upload_bytes for these tests


@pytest.fixture
def small_limit_server(sqlite_env: tuple[Settings, Database]) -> Iterator[LiveServer]:
    settings = sqlite_env[0].model_copy(deep=True)
    settings.serving.max_upload_bytes = LIMIT
    with LiveServer(settings) as live:
        yield live


def _bomb() -> bytes:
    """A 1-bit PNG of 12000 x 12000 pixels: a few kB on disk, 144 M pixels decoded."""
    buf = io.BytesIO()
    Image.new("1", (12_000, 12_000)).save(buf, "PNG")
    return buf.getvalue()


def _noise_png(side: int) -> bytes:
    import numpy as np

    rng = np.random.default_rng(0)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 255, (side, side), dtype=np.uint8)).save(buf, "PNG")
    return buf.getvalue()


def _assert_nothing_written(layout: Layout, db: Database) -> None:
    assert log_rows(db) == []
    assert files_under(Path(layout.predictions_dir())) == []
    assert files_under(Path(layout.feedback_dir())) == []


def _post_file(url: str, data: bytes, name: str = "x.jpg") -> httpx.Response:
    return httpx.post(f"{url}/predict", files={"file": (name, data)}, timeout=30)


@pytest.mark.parametrize(
    ("make_body", "status", "code"),
    [
        (lambda: b"hello, this is not an image", 415, "not_an_image"),
        (lambda: b"", 400, "empty_body"),
        (_bomb, 413, "too_large"),
        (lambda: _noise_png(240), 413, "too_large"),
    ],
    ids=["not-an-image", "empty-file", "decompression-bomb", "file-over-limit"],
)
def test_bad_upload_is_refused_with_a_json_error_and_nothing_written(
    small_limit_server: LiveServer, sqlite_env: tuple[Settings, Database], layout: Layout,
    make_body: object, status: int, code: str,
) -> None:  # fmt: skip
    body = make_body()  # type: ignore[operator]
    response = _post_file(small_limit_server.url, body, "scan.png")
    assert response.status_code == status, response.text
    assert response.json()["error"] == code and response.json()["detail"]
    _assert_nothing_written(layout, sqlite_env[1])


def test_truncated_jpeg_is_refused_as_truncated(
    server: LiveServer, sqlite_env: tuple[Settings, Database], layout: Layout,
    sample_images: list[Path],
) -> None:  # fmt: skip
    data = sample_images[0].read_bytes()
    response = _post_file(server.url, data[: len(data) // 2])
    assert response.status_code == 422 and response.json()["error"] == "truncated"
    _assert_nothing_written(layout, sqlite_env[1])


def test_body_over_the_limit_is_refused_from_content_length_before_reading(
    small_limit_server: LiveServer, sqlite_env: tuple[Settings, Database], layout: Layout
) -> None:
    response = _post_file(small_limit_server.url, b"\xff" * (LIMIT * 3))
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert "exceeds the limit" in response.json()["detail"]
    _assert_nothing_written(layout, sqlite_env[1])


def test_chunked_body_over_the_limit_is_cut_off_while_streaming(
    small_limit_server: LiveServer, sqlite_env: tuple[Settings, Database], layout: Layout
) -> None:
    sent = 0

    def chunks() -> Iterator[bytes]:
        nonlocal sent
        yield b'{"image_base64": "'
        for _ in range(200):
            sent += 4096
            yield b"A" * 4096

    response = httpx.post(
        f"{small_limit_server.url}/predict",
        content=chunks(),
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert "at least" in response.json()["detail"]
    _assert_nothing_written(layout, sqlite_env[1])


@pytest.mark.parametrize(
    ("kwargs", "status", "code"),
    [
        ({"content": b"", "headers": {"content-type": "application/json"}}, 400, "empty_body"),
        ({"json": {"image_base64": ""}}, 400, "empty_body"),
        ({"json": {"image_base64": "***not base64***"}}, 400, "invalid_base64"),
        ({"json": {"picture": "abc"}}, 422, "invalid_request"),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400,
         "invalid_json"),
        ({"content": b"raw", "headers": {"content-type": "image/jpeg"}}, 415,
         "unsupported_media_type"),
        ({"files": {"other": ("x.jpg", b"abc")}}, 422, "missing_file"),
    ],
    ids=["empty-body", "empty-base64", "bad-base64", "wrong-field", "bad-json", "raw-bytes",
         "no-file-field"],
)  # fmt: skip
def test_malformed_predict_request_is_a_4xx_with_a_code(
    server: LiveServer, sqlite_env: tuple[Settings, Database], layout: Layout,
    kwargs: dict[str, object], status: int, code: str,
) -> None:  # fmt: skip
    response = httpx.post(f"{server.url}/predict", timeout=30, **kwargs)  # type: ignore[arg-type]
    assert response.status_code == status, response.text
    assert response.json()["error"] == code
    _assert_nothing_written(layout, sqlite_env[1])


def test_unknown_label_is_422_and_nothing_is_filed(
    server: LiveServer, sqlite_env: tuple[Settings, Database], layout: Layout,
    sample_images: list[Path],
) -> None:  # fmt: skip
    image = sample_images[0].read_bytes()
    with server.client() as api:
        rid = api.predict(image)["request_id"]
    by_id = httpx.post(f"{server.url}/feedback", json={"request_id": rid, "label": "banana"})
    by_image = httpx.post(
        f"{server.url}/feedback", files={"file": ("a.jpg", image)}, data={"label": "banana"}
    )
    for response in (by_id, by_image):
        assert response.status_code == 422 and response.json()["error"] == "unknown_label"
        assert "banana" in response.json()["detail"]
    assert files_under(Path(layout.feedback_dir())) == []
    assert [r.feedback_label for r in log_rows(sqlite_env[1])] == [None]


def test_feedback_for_an_unknown_request_id_is_404(
    server: LiveServer, sqlite_env: tuple[Settings, Database], layout: Layout
) -> None:
    response = httpx.post(
        f"{server.url}/feedback", json={"request_id": "nope", "label": "glioma"}, timeout=30
    )
    assert response.status_code == 404 and response.json()["error"] == "unknown_request_id"
    _assert_nothing_written(layout, sqlite_env[1])


def test_base64_of_an_image_over_the_limit_is_413(
    small_limit_server: LiveServer, sqlite_env: tuple[Settings, Database], layout: Layout
) -> None:
    data = _noise_png(240)
    assert LIMIT < len(data) < LIMIT * 4 // 3  # passes the body limit, fails the image limit
    body = {"image_base64": base64.b64encode(data).decode()}
    response = httpx.post(f"{small_limit_server.url}/predict", json=body, timeout=30)
    assert response.status_code == 413 and "max_upload_bytes" in response.json()["detail"]
    _assert_nothing_written(layout, sqlite_env[1])
