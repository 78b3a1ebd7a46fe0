"""A Pyramid app that gets real-time the gevent-socketio way: a view under
/socket.io/ calls hubbub.socketio_manage.

    python examples/pyramid_chat [--port 6543]
    cd examples/pyramid_chat && pserve development.ini
"""

from __future__ import annotations

from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import Response

import hubbub

PAGE = """<!doctype html>
<title>Pyramid chat</title>
<h1>Pyramid chat on hubbub</h1>
<p>Connect a Socket.IO client to the <code>/chat</code> namespace.</p>
"""


class ChatNamespace(hubbub.Namespace):
    """One instance per client; ``self.request`` is the Pyramid request of
    the view that opened the connection."""

    def on_join(self, room: str) -> list[str]:
        self.join(room)
        return sorted(r for r in self.rooms if r != self.sid)

    def on_message(self, room: str, text: str) -> str:
        user = self.request.params.get("user", "anonymous")
        self.to(room).emit("message", {"user": user, "text": text})
        return "delivered"

    def on_whoami(self) -> dict[str, Any]:
        return {"user": self.request.params.get("user"), "framework": "pyramid"}


def index(request: Request) -> Response:
    return Response(PAGE)


def hello(request: Request) -> dict[str, str]:
    return {"framework": "pyramid", "hello": "world"}


def socketio(request: Request) -> Response:
    hubbub.socketio_manage(request.environ, {"/chat": ChatNamespace}, request)
    return Response("")


def main(global_config: dict[str, Any] | None = None, **settings: Any) -> Any:
    """The WSGI app (also PasteDeploy's app factory: ``use = call:pyramid_app:main``)."""
    with Configurator(settings=settings) as config:
        config.add_route("index", "/")
        config.add_route("hello", "/hello")
        config.add_route("socketio", "/socket.io/*remaining")
        config.add_view(index, route_name="index")
        config.add_view(hello, route_name="hello", renderer="json")
        config.add_view(socketio, route_name="socketio")
        return config.make_wsgi_app()


app = main()
