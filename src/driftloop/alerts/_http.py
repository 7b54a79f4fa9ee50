"""One HTTP POST with a clear error: the channels that speak HTTP share it."""

from __future__ import annotations

from collections.abc import Mapping

import httpx

from driftloop.alerts.message import DeliveryError

__all__ = ["post"]


def post(
    client: httpx.Client,
    url: str,
    *,
    content: bytes,
    headers: Mapping[str, str] | None = None,
    what: str,
) -> httpx.Response:
    """POST ``content``; raise :class:`DeliveryError` on a network error or a non-2xx answer.

    4xx answers (except 429) are not retryable: the request itself is wrong.
    """
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    try:
        response = client.post(url, content=content, headers=all_headers)
    except httpx.TimeoutException as exc:
        raise DeliveryError(f"{what}: timed out ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise DeliveryError(f"{what}: {type(exc).__name__}: {exc}") from None
    if response.status_code >= 300:
        retryable = response.status_code >= 500 or response.status_code == 429
        body = response.text[:200].replace("\n", " ")
        raise DeliveryError(f"{what}: HTTP {response.status_code} {body}", retryable=retryable)
    return response
