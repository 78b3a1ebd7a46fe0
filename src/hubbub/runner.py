"""``hubbub.run``: serve on the runtime of your choice."""

from __future__ import annotations

import sys
from typing import Any, Literal

from hubbub.runtime.supervisor import DEFAULT_TIMEOUT

RuntimeName = Literal["asyncio", "gevent"]


def run(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    runtime: RuntimeName = "asyncio",
    asgi_app: Any = None,
    wsgi_app: Any = None,
    use_uvloop: bool = True,
    limits: Any = None,
    workers: int | str = 1,
    adapter: str | None = None,
    ipc_dir: str | None = None,
    metrics_path: str | None = None,
    worker_timeout: float = DEFAULT_TIMEOUT,
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM.

    ``runtime="asyncio"`` (default): the embedded server (httptools, uvloop
    when installed); ``asgi_app`` gets every other request. ``runtime="gevent"``:
    gevent's pywsgi with hubbub's websocket; ``wsgi_app`` gets every other
    request. Under gevent, monkey-patch before your imports if your handlers
    block on the standard library (``from gevent import monkey;
    monkey.patch_all()``, or ``hubbub run --runtime gevent --monkey-patch``).

    ``workers=N`` (``"auto"``: one per core) serves from N worker
    processes on the one port (docs/scaling.md): each runs this program
    again, up to this call, so build the app the same way every time and
    keep the call under ``if __name__ == "__main__":``. The workers share
    the IPC adapter, or the adapter ``adapter`` names (``redis://...``);
    ``ipc_dir`` is where ``hubbub.IpcEmitter`` reaches them. A worker whose
    event loop has been blocked for ``worker_timeout`` seconds (a handler
    that never returns, a deadlock) is killed and replaced (0: never).

    ``metrics_path`` (say ``"/metrics"``): the server's Prometheus metrics
    (``hubbub.metrics``, the ``hubbub[metrics]`` extra) answer there, on the
    same port.
    """
    if metrics_path is not None:
        from hubbub.metrics import asgi_with_metrics, instrument, wsgi_with_metrics

        metrics = instrument(_server_of(app))
        if runtime == "gevent":
            wsgi_app = wsgi_with_metrics(metrics_path, metrics, wsgi_app)
        else:
            asgi_app = asgi_with_metrics(metrics_path, metrics, asgi_app)
    from hubbub.runtime.supervisor import Supervisor, WorkerSpec, worker_count

    spec = WorkerSpec.from_env()
    if spec is not None:
        if runtime == "gevent":
            from hubbub.runtime.gevent.workers import serve_worker as serve_gevent_worker

            serve_gevent_worker(app, spec, adapter=adapter, wsgi_app=wsgi_app, limits=limits)
            return
        from hubbub.runtime.asyncio.workers import serve_worker

        serve_worker(
            app, spec, adapter=adapter, asgi_app=asgi_app, use_uvloop=use_uvloop, limits=limits
        )
        return
    count = worker_count(workers)
    if count > 1:
        # this process only supervises: the app's adapters (a Redis
        # subscription) must not count as one more server of the cluster
        close = getattr(app, "close", None)
        if callable(close):
            close()
        command = [sys.executable, *sys.orig_argv[1:]]
        Supervisor(command, host, port, count, ipc_dir=ipc_dir, timeout=worker_timeout).run()
        return
    if adapter:
        from hubbub.adapters.url import adapter_from_url

        app.use_adapter(adapter_from_url(adapter))
    if runtime == "gevent":
        if asgi_app is not None:
            raise TypeError("asgi_app is for the asyncio runtime; under gevent pass wsgi_app")
        from hubbub.runtime.gevent.server import serve

        serve(app, host, port, wsgi_app=wsgi_app, limits=limits)
        return
    if runtime != "asyncio":
        raise ValueError(f"unknown runtime {runtime!r}: use 'asyncio' or 'gevent'")
    if wsgi_app is not None:
        raise TypeError("wsgi_app is for the gevent runtime; on asyncio pass asgi_app")
    from hubbub.runtime.asyncio.server import run as run_asyncio

    run_asyncio(app, host, port, asgi_app=asgi_app, use_uvloop=use_uvloop, limits=limits)


def _server_of(app: Any) -> Any:
    """The hubbub.Server behind ``app`` (a Server, an ASGIApp or a WSGIApp)."""
    for candidate in (app, getattr(app, "server", None)):
        if hasattr(candidate, "add_observer"):
            return candidate
    raise TypeError(f"{app!r} is no hubbub.Server (nor an app of one): it has no metrics")
