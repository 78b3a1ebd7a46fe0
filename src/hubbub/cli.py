"""``hubbub run module:app``: serve a hubbub server from the command line."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from typing import Any

from hubbub.runtime.asyncio.asgi import ASGIApp


def load_app(spec: str) -> Any:
    """Import ``module:attribute`` (attribute may be dotted; default 'app')."""
    module_name, _, attr = spec.partition(":")
    if not module_name:
        raise SystemExit(f"hubbub: cannot load {spec!r}: expected module:attribute")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"hubbub: cannot import {module_name!r}: {exc}") from exc
    for part in (attr or "app").split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise SystemExit(f"hubbub: {module_name!r} has no attribute {attr!r}") from None
    return obj


def run_example(
    app: Any,
    *,
    default_port: int = 8000,
    description: str | None = None,
    asgi_app: Any = None,
    argv: list[str] | None = None,
) -> None:
    """The command line every example shares: --host, --port, --runtime and
    --asgi (serve through hubbub.ASGIApp on uvicorn instead of the embedded
    server)."""
    first_line = (description or "").strip().split("\n", 1)[0]
    parser = argparse.ArgumentParser(description=first_line or None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--runtime", choices=["asyncio"], default="asyncio")
    parser.add_argument("--asgi", action="store_true", help="serve through ASGIApp on uvicorn")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.asgi:
        import uvicorn

        asgi = ASGIApp(app, asgi_app)
        uvicorn.run(asgi, host=args.host, port=args.port, log_level="warning")
        return
    from hubbub.runtime.asyncio.server import run

    run(app, args.host, args.port, asgi_app=asgi_app)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubbub", description="hubbub Socket.IO server")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve module:app on the embedded server")
    run.add_argument("app", help="module:attribute of a hubbub server or hubbub.ASGIApp")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--runtime", choices=["asyncio"], default="asyncio")
    run.add_argument("--no-uvloop", action="store_true", help="use the standard asyncio loop")
    run.add_argument("--log-level", default="info")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "run":
        from hubbub.runtime.asyncio.server import run

        target = load_app(args.app)
        asgi_app = None
        if isinstance(target, ASGIApp):
            asgi_app = target.other_app
            target = target.server
        run(target, args.host, args.port, asgi_app=asgi_app, use_uvloop=not args.no_uvloop)
    return 0
