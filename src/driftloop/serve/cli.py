"""``driftloop serve``: run the serving API under uvicorn; ``driftloop serve openapi``."""

from __future__ import annotations

import argparse
from typing import Any

from driftloop.config import Settings
from driftloop.constants import EXIT_OK

__all__ = ["register"]


def _cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from driftloop.serve.app import create_app
    from driftloop.storage.db import Database

    host = args.host or settings.serving.host
    port = args.port or settings.serving.port
    Database(settings.db_url).check_ready()
    app = create_app(settings)
    # One process: the model, the micro-batcher and the log writer live in it.
    uvicorn.run(app, host=host, port=port, log_level=settings.log_level.lower(), workers=1)
    return EXIT_OK


def _cmd_openapi(args: argparse.Namespace, settings: Settings) -> int:
    from driftloop.serve.app import create_app, dump_openapi

    text = dump_openapi(create_app(settings))
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
    else:
        print(text)
    return EXIT_OK


def register(sub: argparse._SubParsersAction[Any]) -> None:
    """Add ``serve`` (and ``serve openapi``) to the CLI."""
    serve = sub.add_parser(
        "serve",
        help="run the prediction API (predict, feedback, reload, monitoring)",
        description="Serve the champion model over HTTP; every prediction is logged for monitoring.",
    )
    serve.add_argument("--host", help="bind address (default serving.host)")
    serve.add_argument("--port", type=int, help="port (default serving.port)")
    serve.set_defaults(func=_cmd_serve)
    serve_sub = serve.add_subparsers(dest="serve_command")
    openapi = serve_sub.add_parser("openapi", help="print the OpenAPI schema (JSON)")
    openapi.add_argument("--out", help="write it to this file instead")
    openapi.set_defaults(func=_cmd_openapi)
