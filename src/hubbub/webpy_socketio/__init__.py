"""webpy-socketio on hubbub: change ``webpy_socketio`` to
``hubbub.webpy_socketio`` in the imports, and the app runs on Python 3 with
web.py 0.62+::

    from hubbub.webpy_socketio import *

    urls = ("/", "index")
    urls += socketio_urls
    app = web.application(urls, globals())

    @on_message(channel="^room-")
    def chat(request, socket, context, message):
        socket.send_and_broadcast_channel(message)

    SocketIOServer(("", 8000), app.wsgifunc(), resource="socket.io").serve_forever()

Pages load ``/socket.io/socket.io.js`` (the Socket.IO 0.6 client) and
``/socket.io/channels.js`` (``socket.subscribe(channel)``), which hubbub
serves; :func:`socketio_scripts` writes both tags. docs/migrating-from-
django-socketio.md lists what differs.
"""

from __future__ import annotations

from typing import Any

from hubbub.channels.events import (
    Event,
    EventError,
    on_connect,
    on_disconnect,
    on_error,
    on_finish,
    on_message,
    on_subscribe,
    on_unsubscribe,
)
from hubbub.webpy_socketio.socketio_app import socketio, socketio_urls
from hubbub.webpy_socketio.utils import NoSocket, broadcast, broadcast_channel, send

__version__ = "0.0.1"

__all__ = [
    "Event",
    "EventError",
    "NoSocket",
    "SocketIOServer",
    "broadcast",
    "broadcast_channel",
    "on_connect",
    "on_disconnect",
    "on_error",
    "on_finish",
    "on_message",
    "on_subscribe",
    "on_unsubscribe",
    "run",
    "send",
    "socketio",
    "socketio_scripts",
    "socketio_urls",
]


def socketio_scripts(port: int | None = None) -> str:
    """The page's script tags: the 0.6 client and the channel extension,
    both served by hubbub; ``port`` (or ``web.config.SOCKETIO_PORT``, when
    set) becomes the default port of ``new io.Socket()``."""
    tags = (
        '<script src="/socket.io/socket.io.js"></script>\n'
        '<script src="/socket.io/channels.js"></script>\n'
    )
    if port is None:
        import web

        port = web.config.get("SOCKETIO_PORT")
    if port is not None:
        tags += _default_port(int(port))
    return tags


def run(app: Any, host: str | None = None, port: int | None = None, **options: Any) -> None:
    """Serve the web.py ``app`` (its pages and Socket.IO) on gevent at
    ``host``:``port``, by default ``web.config.SOCKETIO_HOST`` and
    ``SOCKETIO_PORT`` (127.0.0.1:8000), until interrupted. ``options`` go to
    the server (``cors_allowed_origins``, ``adapter``, ...)."""
    from hubbub.gevent_socketio.server import SocketIOServer
    from hubbub.webpy_socketio import settings

    host = str(settings.get("SOCKETIO_HOST")) if host is None else host
    port = int(settings.get("SOCKETIO_PORT")) if port is None else port
    options.setdefault("policy_server", False)
    wsgi = app.wsgifunc() if hasattr(app, "wsgifunc") else app
    print(f"SocketIOServer running on {host}:{port}", flush=True)
    SocketIOServer((host, port), wsgi, resource="socket.io", **options).serve_forever()


def _default_port(port: int) -> str:
    return (
        "<script>(function (Socket) {\n"
        "  io.Socket = function (host, options) {\n"
        "    options = options || {};\n"
        f"    if (options.port === undefined) options.port = {port};\n"
        "    Socket.call(this, host, options);\n"
        "  };\n"
        "  io.Socket.prototype = Socket.prototype;\n"
        "})(io.Socket);</script>\n"
    )


def __getattr__(name: str) -> Any:
    # gevent's server, imported only when asked for (or by import *)
    if name == "SocketIOServer":
        from hubbub.gevent_socketio.server import SocketIOServer

        return SocketIOServer
    raise AttributeError(f"module 'hubbub.webpy_socketio' has no attribute {name!r}")
