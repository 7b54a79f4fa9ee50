"""A tiny alert receiver for `make demo`: appends every JSON POST to a file.

Usage: python scripts/alert_sink.py PORT OUT.jsonl  (listens on 127.0.0.1 only)
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def main() -> None:
    port, out = int(sys.argv[1]), Path(sys.argv[2])

    class Sink(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            record = {
                "path": self.path,
                "signature": self.headers.get("X-Driftloop-Signature"),
                "body": json.loads(body or b"null"),
            }
            with out.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(record) + "\n")
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Sink).serve_forever()


if __name__ == "__main__":
    main()
