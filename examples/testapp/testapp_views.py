"""The testapp of gevent-socketio's examples, on ``hubbub.gevent_socketio``.

A Pyramid app, as the original is: a route for ``/socket.io/*remaining``
whose view calls ``socketio_manage(request.environ, namespaces, request)``,
and two namespaces: the global one (``""``) with ``BroadcastMixin``, and
``/chat`` with ``RoomsMixin``. The page (static/index.html) has the
original's seven test buttons and its room invitation, and shows every
answer from the server; socket.io-client 0.9.16 comes from npm (README.md).

What each button exercises (see static/testapp.js for the client side):

1. ``emit``: 'bob' -> :meth:`GlobalNamespace.on_bob` broadcasts to every
   page and emits 'bob' on this connection's /chat namespace;
2. ``json.send``: a JSON message -> :meth:`GlobalNamespace.recv_json`;
3. ``send``: 'bob' again and a plain message -> :meth:`GlobalNamespace.recv_message`;
4. /chat: ``emit``, ``send`` and ``json.send`` -> :meth:`ChatNamespace.on_mymessage`
   (which answers with messages, a JSON message and events), ``recv_message``, ``recv_json``;
5. /chat: ``emit`` with an ack -> :meth:`ChatNamespace.on_my_callback`, whose return
   value is the ack (its single ``packet`` parameter gets the whole packet);
6. /chat: the server emits with callbacks (:meth:`ChatNamespace.on_trigger_server_callback`),
   and ``send`` with a callback (acknowledged automatically);
7. /chat: ``disconnect()`` -> :meth:`ChatNamespace.recv_disconnect`;

and "Invite room1": :meth:`ChatNamespace.on_rtc_invite` emits to the other
members of the room every /chat connection joins.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.response import FileResponse, Response

from hubbub.gevent_socketio import socketio_manage
from hubbub.gevent_socketio.mixins import BroadcastMixin, RoomsMixin
from hubbub.gevent_socketio.namespace import BaseNamespace

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# socket.io-client 0.9.16's browser build (and its Flash fallback), from npm
CLIENT_DIST = HERE / "node_modules" / "socket.io-client" / "dist"
ROOM = "room1"


class GlobalNamespace(BaseNamespace, BroadcastMixin):
    """The global namespace ("" on the wire): one instance per page."""

    def on_chat(self, *args: Any) -> None:
        """The chat form: to every other page."""
        self.emit("bob", {"hello": "world"})
        self.broadcast_event_not_me("chat", *args)

    def on_bob(self, *args: Any) -> None:
        """Buttons 1 and 3: to every page, then on this page's /chat."""
        self.broadcast_event("broadcasted", list(args))
        self.socket["/chat"].emit("bob")

    def recv_json(self, data: Any) -> None:
        """Button 2: a JSON message, answered with an event."""
        self.emit("got_some_json", data)

    def recv_message(self, data: Any) -> None:
        """Button 3: a plain message, answered with a message."""
        self.send(f"got your message: {data}")


class ChatNamespace(BaseNamespace, RoomsMixin):
    """/chat: every page joins it, and the room ``room1``."""

    def recv_connect(self) -> None:
        nickname = f"guest-{self.socket.sessid[:6]}"
        self.session["nickname"] = nickname
        self.join(ROOM)
        self.emit("you_just_connected", {"nickname": nickname})
        self.spawn(self.report_load)  # a greenlet of this namespace

    def report_load(self) -> None:
        self.emit("cpu_value", round(os.getloadavg()[0], 2))

    def on_mymessage(self, msg: str) -> None:
        """Button 4: messages, a JSON message and events back."""
        self.send("little message back")
        self.send({"blah": "blah"}, json=True)
        for _ in range(2):
            self.emit("pack", {"the": "more", "you": "can"})

    def recv_message(self, data: Any) -> None:
        """Buttons 4 and 6: a plain message on /chat."""
        self.emit("got_message", data)

    def recv_json(self, data: Any) -> None:
        """Button 4: a JSON message on /chat."""
        self.emit("got_json", data)

    def on_my_callback(self, packet: dict[str, Any]) -> tuple[Any, ...]:
        """Button 5: one parameter named ``packet`` gets the whole packet;
        the return value (a tuple: several values) answers the ack."""
        return 1, 2, packet["args"][0]

    def on_trigger_server_callback(self, superbob: str) -> None:
        """Button 6: the server asks, the page's ack answers."""

        def first(*args: Any) -> None:
            self.emit("server_callback", "first callback called", list(args))

        def second(param1: Any, param2: Any) -> None:
            self.emit("server_callback", "second callback got", param1, param2)

        self.emit("callmeback", "this is a first param", "this is the last param", callback=first)
        self.emit("callmeback", "this is a first param", "this is the last param", callback=second)

    def on_rtc_invite(self, sdp: str) -> None:
        """The "Invite room1" button: to everyone else in the room."""
        self.emit_to_room(ROOM, "rtc_invite", self.session["nickname"], sdp)

    def on_disconnect_me(self, data: Any) -> None:
        self.disconnect()

    def recv_disconnect(self) -> None:
        """Button 7: the page left /chat (its global namespace stays)."""
        self.emit_to_room(ROOM, "left", self.session.get("nickname"))
        self.disconnect(silent=True)


NAMESPACES: dict[str, type[BaseNamespace]] = {"": GlobalNamespace, "/chat": ChatNamespace}


def index(request: Request) -> Response:
    return FileResponse(str(STATIC / "index.html"), request=request, content_type="text/html")


def socketio_service(request: Request) -> Response:
    """The view that serves a Socket.IO connection; returns when it closes."""
    socketio_manage(request.environ, NAMESPACES, request=request)
    return Response("")


def make_app() -> Any:
    config = Configurator()
    config.add_route("index", "/")
    config.add_view(index, route_name="index")
    config.add_route("socket_io", "socket.io/*remaining")
    config.add_view(socketio_service, route_name="socket_io")
    config.add_static_view("static", str(STATIC), cache_max_age=0)
    config.add_static_view("lib", str(CLIENT_DIST), cache_max_age=0)
    return config.make_wsgi_app()


app = make_app()
