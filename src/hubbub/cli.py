"""``hubbub run module:app``: serve a hubbub server from the command line."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from hubbub.runtime.asyncio.asgi import ASGIApp
from hubbub.runtime.supervisor import DEFAULT_TIMEOUT


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


def monkey_patch() -> None:
    """gevent's monkey patching, before the application is imported."""
    from hubbub.runtime.gevent.monkey import patch_all

    patch_all()


def npm_install(folder: Path, needed: Path, what: str) -> None:
    """An example page's browser client from npm: ``npm ci`` in ``folder``
    (its package.json pins the version) unless ``needed`` is there already.
    --ignore-scripts: the client's Node-only dependencies need no native build."""
    if needed.is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(f"the page needs {what} from npm: install Node.js")
    print(f"installing {what} from npm ...", flush=True)
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=folder,
        check=True,
    )


def run_example(
    app: Any,
    *,
    default_port: int = 8000,
    description: str | None = None,
    asgi_app: Any = None,
    wsgi_app: Any = None,
    argv: list[str] | None = None,
    runtimes: tuple[str, ...] = ("asyncio", "gevent"),
) -> None:
    """The command line every example shares: --host, --port, --runtime
    (asyncio or gevent; the first of ``runtimes`` by default) and --asgi
    (serve through hubbub.ASGIApp on uvicorn instead of the embedded server)."""
    first_line = (description or "").strip().split("\n", 1)[0]
    parser = argparse.ArgumentParser(description=first_line or None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=default_port)
    parser.add_argument("--runtime", choices=list(runtimes), default=runtimes[0])
    parser.add_argument("--asgi", action="store_true", help="serve through ASGIApp on uvicorn")
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.runtime == "gevent":
        from hubbub.runtime.gevent.server import serve

        serve(app, args.host, args.port, wsgi_app=wsgi_app)
        return
    if args.asgi:
        import uvicorn

        asgi = ASGIApp(app, asgi_app)
        # uvicorn negotiates permessage-deflate itself unless told not to;
        # follow the server's own setting (off by default, as in Node)
        uvicorn.run(asgi, host=args.host, port=args.port, log_level="warning",
                    ws_per_message_deflate=asgi.endpoint.websocket_compression)
        return
    from hubbub.runtime.asyncio.server import run

    run(app, args.host, args.port, asgi_app=asgi_app)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hubbub", description="hubbub Socket.IO server")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="serve module:app")
    run.add_argument(
        "app",
        help="module:attribute of a hubbub server, a hubbub.ASGIApp, a hubbub.WSGIApp or "
        "(gevent) any WSGI app whose views call socketio_manage",
    )
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--runtime", choices=["asyncio", "gevent"], default="asyncio")
    run.add_argument(
        "--monkey-patch",
        action="store_true",
        help="gevent: monkey-patch the standard library before the app is imported",
    )
    run.add_argument("--no-uvloop", action="store_true", help="use the standard asyncio loop")
    run.add_argument(
        "--workers",
        default="1",
        help="worker processes on the one port ('auto': one per core)",
    )
    run.add_argument(
        "--ipc-dir",
        default=None,
        help="with --workers: the directory of the workers' sockets, where "
        "hubbub.IpcEmitter reaches them (default: a fresh temporary one)",
    )
    run.add_argument(
        "--worker-timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="SECONDS",
        help="with --workers: kill and replace a worker whose event loop has been blocked "
        f"this long (default {DEFAULT_TIMEOUT:g}; 0: never)",
    )
    run.add_argument(
        "--adapter",
        default=None,
        help="adapter URL (redis://host:port/db, redis+sharded://..., redis+streams://...); "
        "several workers share the IPC adapter unless one is given",
    )
    run.add_argument("--log-level", default="info")
    run.add_argument(
        "--log-packets",
        action="store_true",
        help="log every Socket.IO packet in and out (DEBUG lines on hubbub.packets)",
    )
    run.add_argument(
        "--metrics-path",
        metavar="PATH",
        help="serve the server's Prometheus metrics at PATH, e.g. /metrics (hubbub[metrics])",
    )
    return parser


def _observed(target: Any, args: argparse.Namespace) -> Any:
    """The hubbub.Server behind ``target``, with what the flags ask for
    registered; None for a plain WSGI app (views mode: no server yet)."""
    server: Any = target if hasattr(target, "add_observer") else getattr(target, "server", None)
    if not hasattr(server, "add_observer"):
        if args.log_packets or args.metrics_path:
            raise SystemExit("hubbub: --log-packets and --metrics-path need a hubbub.Server")
        return None
    if args.log_packets:
        from hubbub.instrumentation import PacketLog

        logging.getLogger("hubbub.packets").setLevel(logging.DEBUG)
        server.add_observer(PacketLog())
    return server


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    if args.command != "run":
        return 2
    from hubbub.runtime.supervisor import Supervisor, WorkerSpec, worker_count

    try:
        workers = worker_count(args.workers)
    except ValueError:
        raise SystemExit(
            f"hubbub: --workers takes a number or 'auto', not {args.workers!r}"
        ) from None
    spec = WorkerSpec.from_env()
    if spec is None and workers > 1:
        logging.basicConfig(
            level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        command = [sys.executable, "-m", "hubbub", *argv]
        if args.worker_timeout < 0:
            raise SystemExit("hubbub: --worker-timeout takes 0 (never) or more seconds")
        return Supervisor(
            command, args.host, args.port, workers, ipc_dir=args.ipc_dir,
            timeout=args.worker_timeout,
        ).run()
    if args.monkey_patch:
        if args.runtime != "gevent":
            raise SystemExit("hubbub: --monkey-patch is for --runtime gevent")
        monkey_patch()  # first, before logging or the app import anything
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    target = load_app(args.app)
    server = _observed(target, args)
    metrics: Any = None
    if args.metrics_path:
        from hubbub.metrics import instrument

        metrics = instrument(server)
    if args.runtime == "gevent":
        from hubbub.runtime.gevent.server import serve

        if isinstance(target, ASGIApp):
            raise SystemExit("hubbub: an ASGIApp runs on asyncio; drop --runtime gevent")
        if metrics is not None:
            from hubbub.metrics import wsgi_with_metrics
            from hubbub.runtime.gevent.server import as_wsgi_app

            target = as_wsgi_app(target)
            target.wsgi_app = wsgi_with_metrics(args.metrics_path, metrics, target.wsgi_app)
        if spec is not None:
            from hubbub.runtime.gevent.workers import serve_worker as serve_gevent_worker

            serve_gevent_worker(target, spec, adapter=args.adapter)
            return 0
        if args.adapter:
            use_adapter_url(target, args.adapter)
        serve(target, args.host, args.port)
        return 0
    from hubbub.runtime.asyncio.server import run

    asgi_app = None
    if isinstance(target, ASGIApp):
        asgi_app = target.other_app
        target = target.server
    elif callable(target):  # hubbub servers are not callable; WSGI apps are
        raise SystemExit(
            "hubbub: this looks like a WSGI app; serve it with --runtime gevent"
        )
    if metrics is not None:
        from hubbub.metrics import asgi_with_metrics

        asgi_app = asgi_with_metrics(args.metrics_path, metrics, asgi_app)
    if spec is not None:
        from hubbub.runtime.asyncio.workers import serve_worker

        serve_worker(
            target,
            spec,
            adapter=args.adapter,
            asgi_app=asgi_app,
            use_uvloop=not args.no_uvloop,
        )
        return 0
    if args.adapter:
        use_adapter_url(target, args.adapter)
    run(target, args.host, args.port, asgi_app=asgi_app, use_uvloop=not args.no_uvloop)
    return 0


def use_adapter_url(target: Any, url: str) -> None:
    from hubbub.adapters.url import adapter_from_url

    use = getattr(target, "use_adapter", None)
    if use is None:
        raise SystemExit("hubbub: --adapter needs a Socket.IO server")
    use(adapter_from_url(url))

