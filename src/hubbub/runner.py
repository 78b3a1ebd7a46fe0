"""``hubbub.run``: serve on the runtime of your choice."""

from __future__ import annotations

from typing import Any, Literal

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
    metrics_path: str | None = None,
) -> None:
    """Serve ``app`` until SIGINT/SIGTERM.

    ``runtime="asyncio"`` (default): the embedded server (httptools, uvloop
    when installed); ``asgi_app`` gets every other request. ``runtime="gevent"``:
    gevent's pywsgi with hubbub's websocket; ``wsgi_app`` gets every other
    request. Under gevent, monkey-patch before your imports if your handlers
    block on the standard library (``from gevent import monkey;
    monkey.patch_all()``, or ``hubbub run --runtime gevent --monkey-patch``).

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
