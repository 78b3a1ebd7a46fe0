"""What python-socketio users write, as docs/migrating-from-python-socketio.md
maps it: emit keywords, ``sio.call(..., to=sid)``, ``@sio.event``, and the
clear refusal of a Namespace written in python-socketio's convention."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sio_helpers import RawClient, run, settle

import hubbub
from hubbub.socketio.codec import Packet, PacketType


def _events(client: RawClient, name: str) -> list[list[Any]]:
    return [e[1:] for e in client.events() if e[0] == name]


def test_emit_to_room_and_skip_sid_keywords() -> None:
    async def scenario() -> None:
        sio = hubbub.Server()
        a, b, c = (RawClient(sio) for _ in range(3))
        for client in (a, b, c):
            client.connect()
        await settle()
        sa, sb, sc = (sio.clients[x.session.sid].sockets["/"] for x in (a, b, c))
        sa.join("r")
        sb.join("r")
        sio.emit("one", 1, to=sc.id)
        sio.emit("two", 2, room="r", skip_sid=sa.id)
        sio.emit("three", 3, skip_sid=[sa.id, sb.id])
        sio.send("hi", to="r")
        sio.of("/").emit("four", 4, to=["r", sc.id], skip_sid=sb.id)
        await settle()
        assert _events(c, "one") == [[1]] and _events(c, "three") == [[3]]
        assert _events(b, "two") == [[2]] and _events(a, "two") == []
        assert _events(a, "message") == _events(b, "message") == [["hi"]]
        assert _events(c, "message") == []
        assert _events(a, "four") == _events(c, "four") == [[4]] and _events(b, "four") == []

    run(scenario())


def test_call_to_one_sid_returns_its_answer() -> None:
    async def scenario() -> None:
        sio = hubbub.Server()
        client = RawClient(sio)
        client.connect()
        await settle()
        sid = sio.clients[client.session.sid].sockets["/"].id
        waiting = sio.call("question", 6, to=sid, timeout=5)

        async def answer() -> None:
            await settle()
            (asked,) = [p for p in client.packets() if p.type is PacketType.EVENT]
            assert asked.data == ["question", 6]
            client.send(Packet(PacketType.ACK, "/", [42], asked.id))

        _, got = await asyncio.gather(answer(), waiting)
        assert got == 42
        with pytest.raises(KeyError):
            sio.call("question", to="nobody")

    run(scenario())


def test_sio_event_names_the_handler_after_its_function() -> None:
    async def scenario() -> None:
        sio = hubbub.Server()

        @sio.event
        def shout(socket: hubbub.Socket, text: str) -> str:
            return text.upper()

        client = RawClient(sio)
        client.connect()
        await settle()
        client.send(Packet(PacketType.EVENT, "/", ["shout", "hey"], 7))
        await settle()
        acks = [p for p in client.packets() if p.type is PacketType.ACK]
        assert [(p.id, p.data) for p in acks] == [(7, ["HEY"])]

    run(scenario())


def test_a_namespace_in_python_socketio_style_is_refused_with_what_to_write() -> None:
    sio = hubbub.Server()

    class Chat(hubbub.Namespace):
        def on_message(self, sid: str, data: Any) -> None: ...

    with pytest.raises(TypeError) as caught:
        sio.register("/chat", Chat)
    text = str(caught.value)
    assert "Chat.on_message(self, sid, data)" in text
    assert "def on_message(self, data)" in text
    assert "migrating-from-python-socketio" in text


@pytest.mark.parametrize(
    "source",
    [
        "def on_connect(self, sid, environ): ...",
        "def on_connect(self, sid): ...",
        "def on_disconnect(self, sid): ...",
        "def on_connect(self, auth, extra): ...",
    ],
)
def test_connect_and_disconnect_hooks_that_cannot_fit_are_refused(source: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"class Chat(hubbub.Namespace):\n    {source}\n", {"hubbub": hubbub}, namespace)
    with pytest.raises(TypeError, match=r"Chat\.on_"):
        hubbub.Server().register("/chat", namespace["Chat"])


def test_hubbub_handlers_that_take_a_sid_from_the_client_stay_allowed() -> None:
    class Admin(hubbub.Namespace):
        def on_kick(self, sid: str) -> None: ...  # the client names whom to kick

        def on_connect(self, auth: dict[str, Any]) -> None: ...

        def on_disconnect(self, reason: str) -> None: ...

    assert hubbub.Server().register("/admin", Admin) is Admin


def test_register_refuses_what_is_not_a_namespace_class() -> None:
    with pytest.raises(TypeError, match=r"hubbub\.Namespace subclass"):
        hubbub.Server().register("/x", object)
