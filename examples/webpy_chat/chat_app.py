"""The chat of webpy-socketio's demo, on hubbub.webpy_socketio: rooms are
channels ("room-<id>"), people join and leave with a system line, and an
out-of-band page (/sysmsg) posts system messages into a room.

Rooms and people are kept in memory (the original used SQLite).
"""

from __future__ import annotations

import html
import itertools
import threading
from pathlib import Path
from typing import Any

import web

from hubbub.webpy_socketio import *  # noqa: F403 - as webpy-socketio's apps do
from hubbub.webpy_socketio import (
    NoSocket,
    broadcast,
    broadcast_channel,
    on_finish,
    on_message,
    send,
    socketio_scripts,
    socketio_urls,
)

HERE = Path(__file__).resolve().parent

urls: tuple[str, ...] = (
    "/", "index",
    "/room/([0-9]+)", "room",
    "/static/chat.js", "chat_js",
    "/sysmsg", "sysmsg",
)
urls += socketio_urls

# room id -> {session id: name}
ROOMS: dict[int, dict[str, str]] = {1: {}, 2: {}}
ROOM_NAMES = {1: "Lobby", 2: "Elsewhere"}
_lock = threading.Lock()
_ids = itertools.count(1)


class index:
    def GET(self) -> str:
        web.header("Content-Type", "text/html; charset=utf-8")
        links = "".join(
            f'<li><a href="/room/{rid}">{html.escape(ROOM_NAMES[rid])}</a></li>' for rid in ROOMS
        )
        return (
            '<!doctype html><title>Rooms</title><link rel="icon" href="data:,">'
            f"<h1>Rooms</h1><ul>{links}</ul>"
        )


class room:
    def GET(self, room_id: str) -> str:
        rid = int(room_id)
        if rid not in ROOMS:
            raise web.notfound()
        web.header("Content-Type", "text/html; charset=utf-8")
        return PAGE.format(
            title=html.escape(ROOM_NAMES[rid]), room=rid, scripts=socketio_scripts()
        )


class chat_js:
    def GET(self) -> bytes:
        web.header("Content-Type", "text/javascript; charset=utf-8")
        return (HERE / "static" / "chat.js").read_bytes()


class sysmsg:
    """Out of band: a plain web.py handler sends a system message into a
    room (``room``), to one socket (``to``: its session id) or to everyone."""

    def POST(self) -> str:
        form = web.input(room="", to="", message="")
        data = {"action": "system", "message": form.message}
        try:
            if form.room:
                broadcast_channel(data, channel="room-" + form.room)
            elif form.to:
                send(form.to, data)
            else:
                broadcast(data)
        except NoSocket as exc:
            return str(exc)
        return "Message sent"


@on_message(channel="^room-")
def message(request: Any, socket: Any, context: dict[str, Any], message: Any) -> None:
    if not isinstance(message, dict):
        return
    rid = int(message.get("room", 0))
    if rid not in ROOMS:
        return
    sid = socket.session.session_id
    action = message.get("action")
    if action == "start":
        name = html.escape(str(message.get("name", "")))[:20]
        with _lock:
            people = ROOMS[rid]
            if not name or name in people.values():
                in_use = True
            else:
                in_use = False
                others = list(people.values())
                people[sid] = name
        if in_use:
            socket.send({"action": "in-use"})
            return
        uid = next(_ids)
        context["user"] = (rid, name, uid)
        socket.send({"action": "started", "users": others})
        socket.send_and_broadcast_channel({"action": "join", "name": name, "id": uid})
    elif action == "message" and "user" in context:
        text = html.escape(str(message.get("message", "")))
        socket.send_and_broadcast_channel(
            {"room": rid, "action": "message", "message": text, "name": context["user"][1]}
        )


@on_finish(channel="^room-")
def finish(request: Any, socket: Any, context: dict[str, Any]) -> None:
    user = context.get("user")
    if user is None:
        return
    rid, name, uid = user
    with _lock:
        ROOMS[rid].pop(socket.session.session_id, None)
    socket.broadcast_channel({"action": "leave", "name": name, "id": uid})


PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>{title}</title><link rel="icon" href="data:,"></head>
<body>
<h1>{title}</h1>
<p id="status">connecting</p>
<form id="join"><input id="name" placeholder="your name"><button>Join</button></form>
<form id="send"><input id="message" placeholder="say something"><button>Send</button></form>
<p>In the room: <span id="users"></span></p>
<ul id="log"></ul>
<script>window.ROOM = {room};</script>
{scripts}<script src="/static/chat.js"></script>
</body></html>
"""

app = web.application(urls, globals())
application = app.wsgifunc()
