"""``driftloop reports serve``: the reports folder over HTTP on 127.0.0.1, read only."""

from __future__ import annotations

import functools
import logging
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from driftloop.errors import InputError

__all__ = ["make_server"]

log = logging.getLogger(__name__)


class _ReadOnlyHandler(SimpleHTTPRequestHandler):
    """GET and HEAD only (the base class answers 501 to anything else)."""

    def log_message(self, format: str, *args: Any) -> None:
        log.info("%s %s", self.address_string(), format % args)


def make_server(root: str | Path, port: int = 8000) -> ThreadingHTTPServer:
    """A server for ``root`` bound to 127.0.0.1:``port`` (0 = any free port); not started."""
    folder = Path(root)
    if not folder.is_dir():
        raise InputError(
            f"reports folder '{folder}' does not exist; build a report first "
            "('driftloop check' or 'driftloop reports build')"
        )
    handler = functools.partial(_ReadOnlyHandler, directory=str(folder.resolve()))
    try:
        return ThreadingHTTPServer(("127.0.0.1", port), handler)
    except OSError as exc:
        raise InputError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror}; pick another --port"
        ) from None
