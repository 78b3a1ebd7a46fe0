"""webpy-socketio's URLs and view: ``urls += socketio_urls`` routes the
Socket.IO resource to the class :class:`socketio`, which hubbub calls once
per connection (served by ``SocketIOServer((host, port), app.wsgifunc(),
resource="socket.io")`` or ``hubbub run --runtime gevent module:application``).
Handlers get the connection's WSGI environ as ``request``."""

from __future__ import annotations

from typing import Any

from hubbub.channels.flow import serve
from hubbub.channels.protocol import for_environ
from hubbub.webpy_socketio.utils import format_log

__all__ = ["socketio", "socketio_urls"]

socketio_urls = ("/socket\\.io/.*", "socketio")


class socketio:  # the name socketio_urls routes to (web.py looks it up by name)
    """The web.py view ``socketio_urls`` routes the Socket.IO resource to."""

    def GET(self, *args: Any) -> str:
        """Serve the connection hubbub handed over until it closes (the
        app's events run meanwhile); 404 for a request that is not one."""
        import web

        environ = web.ctx.env
        socket = for_environ(environ, environ)
        if socket is None:
            raise web.notfound()
        serve(environ, socket, format_log)
        return ""

    POST = GET
