"""Acks the server waits for: one id sequence per namespace (a socket's own
calls and broadcasts with acks never share an id), and every wait ends when
the client leaves first (DisconnectedError), on asyncio and under gevent."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sio_helpers import RawClient, run, settle

import hubbub
from hubbub.runtime.gevent.policy import FlashPolicyServer, policy_for
from hubbub.socketio.codec import Packet, PacketType


def _socket(sio: hubbub.Server, client: RawClient) -> hubbub.Socket:
    return sio.clients[client.session.sid].sockets["/"]


def test_a_call_and_a_broadcast_with_acks_get_different_ids() -> None:
    async def scenario() -> None:
        sio = hubbub.Server()
        client = RawClient(sio)
        client.connect()
        await settle()
        socket = _socket(sio, client)
        answers: list[Any] = []
        socket.emit("one", callback=lambda *a: answers.append(("one", a)))
        sio.timeout(5).emit("all", callback=lambda err, res: answers.append(("all", err, res)))
        socket.emit("two", callback=lambda *a: answers.append(("two", a)))
        await settle()
        asked = [p for p in client.packets() if p.type is PacketType.EVENT]
        ids = [p.id for p in asked]
        assert len(set(ids)) == 3, ids
        for packet in asked:
            client.send(Packet(PacketType.ACK, "/", [packet.data[0]], packet.id))
        await settle()
        assert sorted(answers, key=str) == sorted(
            [("one", ("one",)), ("all", None, ["all"]), ("two", ("two",))], key=str
        )

    run(scenario())


def test_call_and_timed_emit_fail_when_the_client_leaves() -> None:
    async def scenario() -> None:
        sio = hubbub.Server()
        client = RawClient(sio)
        client.connect()
        await settle()
        socket = _socket(sio, client)
        errors: list[Exception | None] = []
        socket.timeout(30).emit("q", callback=lambda err, *a: errors.append(err))
        waiting = asyncio.ensure_future(socket.call("q", timeout=30))
        forever = asyncio.ensure_future(socket.call("q"))  # no timeout at all
        await settle()
        client.session.on_ws_closed(client.peer, 0.0)  # the client is gone
        for task in (waiting, forever):
            with pytest.raises(hubbub.DisconnectedError):
                await asyncio.wait_for(task, 1)
        assert len(errors) == 1 and isinstance(errors[0], hubbub.DisconnectedError)
        assert socket.acks == {}

    run(scenario())


def test_a_call_answered_in_time_is_not_failed_later() -> None:
    async def scenario() -> None:
        sio = hubbub.Server()
        client = RawClient(sio)
        client.connect()
        await settle()
        socket = _socket(sio, client)
        waiting = asyncio.ensure_future(socket.call("q", timeout=30))
        await settle()
        (asked,) = [p for p in client.packets() if p.type is PacketType.EVENT]
        client.send(Packet(PacketType.ACK, "/", ["yes"], asked.id))
        assert await asyncio.wait_for(waiting, 1) == "yes"
        client.session.on_ws_closed(client.peer, 0.0)
        await settle()

    run(scenario())


def test_the_policy_server_allows_the_given_ports_on_loopback() -> None:
    assert b'to-ports="8000"' in policy_for([8000])
    assert b'to-ports="80,443"' in policy_for([443, 80, 80])
    server = FlashPolicyServer(("127.0.0.1", 0))
    assert server.policy.endswith(b"\0") and b'to-ports="80,443"' in server.policy
    default = FlashPolicyServer()
    assert default.address == ("127.0.0.1", 10843)
