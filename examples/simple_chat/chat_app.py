"""The simple chat of gevent-socketio's examples, on ``hubbub.gevent_socketio``.

Written as a gevent-socketio 0.3 application is: a plain WSGI app whose
``/socket.io/`` paths call ``socketio_manage`` with a ``BaseNamespace``
class mixing in ``RoomsMixin`` and ``BroadcastMixin``, and a dict passed as
the ``request`` to keep state shared by every connection. Only the imports
name ``hubbub.gevent_socketio`` where the original named ``socketio``.

The page (static/chat.html) uses socket.io-client 0.9.16, the browser client
of that generation, from npm (see README.md).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from hubbub.gevent_socketio import socketio_manage
from hubbub.gevent_socketio.mixins import BroadcastMixin, RoomsMixin
from hubbub.gevent_socketio.namespace import BaseNamespace

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
# socket.io-client 0.9.16's browser build (and its Flash fallback), from npm
CLIENT_DIST = HERE / "node_modules" / "socket.io-client" / "dist"
ROOM = "main_room"

StartResponse = Callable[..., Any]


class ChatNamespace(BaseNamespace, RoomsMixin, BroadcastMixin):
    """The global namespace: one instance per connected page."""

    def on_nickname(self, nickname: str) -> bool:
        """The event 'nickname'; its ack says whether the name is taken."""
        nicknames: list[str] = self.request["nicknames"]
        nickname = str(nickname).strip()[:32]
        if not nickname or nickname in nicknames or "nickname" in self.session:
            return True
        nicknames.append(nickname)
        self.session["nickname"] = nickname
        self.broadcast_event("announcement", f"{nickname} connected")
        self.broadcast_event("nicknames", sorted(nicknames))
        self.join(ROOM)
        return False

    def on_user_message(self, msg: str) -> None:
        """The event 'user message' (spaces become underscores): to the
        room, everyone but the sender (the page shows its own lines)."""
        nickname = self.session.get("nickname")
        if nickname is None:
            self.error("no_nickname", "pick a nickname first")
            return
        self.emit_to_room(ROOM, "msg_to_room", nickname, str(msg)[:2000])

    def recv_message(self, message: Any) -> None:
        """A plain message: answered with a message."""
        self.send(f"pong: {message}")

    def recv_disconnect(self) -> None:
        nicknames: list[str] = self.request["nicknames"]
        nickname = self.session.get("nickname")
        if nickname in nicknames:
            nicknames.remove(nickname)
            self.broadcast_event("announcement", f"{nickname} disconnected")
            self.broadcast_event("nicknames", sorted(nicknames))
        self.disconnect(silent=True)


class Application:
    """The WSGI app: the page, its files and the Socket.IO view."""

    def __init__(self) -> None:
        # state every namespace instance sees as self.request
        self.request: dict[str, Any] = {"nicknames": []}

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ["PATH_INFO"].strip("/")
        if path.startswith("socket.io"):
            socketio_manage(environ, {"": ChatNamespace}, self.request)
            return []
        if not path:
            start_response("302 Found", [("Location", "/chat.html")])
            return []
        if path == "chat.html":
            return serve_file(start_response, STATIC / "chat.html")
        if path.startswith("static/"):
            name = path[len("static/") :]
            if name in ("socket.io.js", "WebSocketMain.swf"):
                return serve_file(start_response, CLIENT_DIST / name)
            file = (STATIC / name).resolve()
            if STATIC in file.parents:
                return serve_file(start_response, file)
        return not_found(start_response)


def serve_file(start_response: StartResponse, file: Path) -> Iterable[bytes]:
    if not file.is_file():
        return not_found(start_response)
    ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    if ctype.startswith("text/") or ctype.endswith("javascript"):
        ctype += "; charset=utf-8"
    start_response("200 OK", [("Content-Type", ctype), ("Cache-Control", "no-cache")])
    return [file.read_bytes()]


def not_found(start_response: StartResponse) -> Iterable[bytes]:
    start_response("404 Not Found", [("Content-Type", "text/html; charset=utf-8")])
    return [b"<h1>Not Found</h1>"]


app = Application()
