"""What an idle connection keeps in compact form still behaves as before:
a connection's sockets by namespace (the first in slots, the others in a
dict), a socket's auth and attributes, Connection.extra, shared client
addresses, and the session timers' deadline buckets (never early)."""

from __future__ import annotations

import asyncio
from typing import Any

from sio_helpers import RawClient, run, settle

import hubbub
from hubbub.http import shared_address
from hubbub.runtime.asyncio.core import AsyncioHost, TimerQueue
from hubbub.socketio.codec import Packet, PacketType


def _server() -> hubbub.Server:
    sio = hubbub.Server()
    for name in ("/a", "/b", "/c"):
        sio.of(name)
    return sio


def test_sockets_by_namespace_keep_the_order_of_joining() -> None:
    async def main() -> None:
        sio = _server()
        client = RawClient(sio)
        for nsp in ("/", "/a", "/b"):
            client.connect(nsp)
        await settle()
        (conn,) = sio.clients.values()
        assert list(conn.sockets) == ["/", "/a", "/b"]
        for name in ("/", "/a", "/b"):
            socket = conn.socket_in(name)
            assert socket is not None and socket.nsp.name == name
        assert conn.socket_in("/c") is None
        # the first leaves: the others keep their order, a new one comes last
        client.send(Packet(PacketType.DISCONNECT, "/"))
        await settle()
        assert list(conn.sockets) == ["/a", "/b"]
        assert conn.socket_in("/") is None
        client.connect("/c")
        client.connect("/")
        await settle()
        assert list(conn.sockets) == ["/a", "/b", "/c", "/"]
        # a snapshot: changing it changes nothing
        conn.sockets.clear()
        assert len(conn.sockets) == 4
        # events still reach the socket of their namespace
        got: list[str] = []
        sio.of("/c").on("hi", lambda socket, data: got.append(socket.nsp.name + data))
        client.send(Packet(PacketType.EVENT, "/c", ["hi", "!"]))
        await settle()
        assert got == ["/c!"]
        conn.disconnect()
        await settle()
        assert conn.sockets == {}

    run(main())


def test_auth_extra_and_own_attributes() -> None:
    async def main() -> None:
        sio = hubbub.Server()
        seen: list[Any] = []

        @sio.on("connect")
        def connect(socket: hubbub.Socket, auth: Any) -> None:
            seen.append(auth)
            socket.auth["user"] = "ann"  # an app may fill in the auth it got
            socket.nickname = "ann"  # and keep attributes of its own

        client = RawClient(sio)
        client.connect("/")
        await settle()
        (socket,) = sio.of("/").sockets.values()
        assert seen == [{"user": "ann"}]  # the very dict the handler was given
        assert socket.auth == {"user": "ann"}
        assert socket.auth is socket.auth
        assert socket.nickname == "ann"
        assert not socket.recovered and socket.pid is None
        conn = socket.client
        assert conn.extra == {}
        conn.extra["k"] = 1
        assert conn.extra == {"k": 1}

    run(main())


def test_client_addresses_are_shared() -> None:
    a = "".join(["10.0.0.", "7"])
    b = "".join(["10.0.0.", "7"])
    assert a is not b
    assert shared_address(a) is shared_address(b) == "10.0.0.7"


class _Session:
    def __init__(self, queue: TimerQueue, fired: list[tuple[str, float, float]]) -> None:
        self.sid = "s"
        self.fired = fired
        self.due: float | None = None
        self.host = AsyncioHost(queue, self)

    @property
    def deadline(self) -> float | None:
        return None

    def on_timer(self, now: float) -> None:
        assert self.due is not None
        self.fired.append((self.sid, self.due, now))


def test_bucketed_timers_never_fire_before_their_deadline() -> None:
    async def main() -> list[tuple[str, float, float]]:
        loop = asyncio.get_running_loop()
        queue = TimerQueue(loop)
        fired: list[tuple[str, float, float]] = []
        now = loop.time()
        sessions = []
        for i in range(12):
            s = _Session(queue, fired)
            s.sid = str(i)
            s.due = now + 0.003 * i + 0.001
            s.host.rearm(s.due)
            sessions.append(s)
        # moved earlier twice: fires once, at its last deadline
        mover = sessions[5]
        mover.due = now + 0.002
        mover.host.rearm(mover.due)
        await asyncio.sleep(0.2)
        assert len(queue) == 0
        return fired

    fired = run(main())
    assert sorted(sid for sid, _, _ in fired) == sorted(str(i) for i in range(12))
    for _, due, at in fired:
        assert at >= due - 0.0011  # the loop's own timers may be a hair early
