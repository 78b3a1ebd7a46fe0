"""The chat's Socket.IO events (django-socketio's example, on hubbub)."""

from typing import Any

from django.utils.html import strip_tags

from chat.rooms import PEOPLE, ids, lock
from hubbub.django_socketio.events import on_finish, on_message


@on_message(channel="^room-")
def message(request: Any, socket: Any, context: dict[str, Any], message: Any) -> None:
    if not isinstance(message, dict):
        return
    room = int(message.get("room", 0))
    if room not in PEOPLE:
        return
    action = message.get("action")
    if action == "start":
        name = strip_tags(str(message.get("name", "")))[:20]
        with lock:
            people = PEOPLE[room]
            in_use = not name or name in people.values()
            if not in_use:
                others = list(people.values())
                people[socket.session.session_id] = name
        if in_use:
            socket.send({"action": "in-use"})
            return
        uid = next(ids)
        context["user"] = (room, name, uid)
        socket.send({"action": "started", "users": others})
        socket.send_and_broadcast_channel({"action": "join", "name": name, "id": uid})
    elif action == "message" and "user" in context:
        message["message"] = strip_tags(str(message.get("message", "")))
        message["name"] = context["user"][1]
        socket.send_and_broadcast_channel(message)


@on_finish(channel="^room-")
def finish(request: Any, socket: Any, context: dict[str, Any]) -> None:
    user = context.get("user")
    if user is None:
        return
    room, name, uid = user
    with lock:
        PEOPLE[room].pop(socket.session.session_id, None)
    socket.broadcast_channel({"action": "leave", "name": name, "id": uid})
    print(f"chat: {name} left room {room}", flush=True)
