"""Helpers of the in-process server API tests (no pytest-asyncio here).

* :func:`run` runs a coroutine on a fresh event loop (``asyncio.run`` with
  a time limit), so plain sync tests can drive async code.
* :class:`RawClient` is a bare Socket.IO client on a :class:`RecordingPeer`:
  a websocket peer that counts what it holds unread (or as the test sets it) and keeps
  every ``OutPacket`` object it was given (to check packet identity).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hubbub.engineio.codec import PacketType as EnginePacketType
from hubbub.engineio.outgoing import OutPacket
from hubbub.engineio.session import EngineSession
from hubbub.http import HttpRequest
from hubbub.runtime.asyncio.core import runtime_for
from hubbub.runtime.contract import WebSocketAccept, endpoint_of
from hubbub.socketio.codec import JsonParser, Packet, PacketType

T = TypeVar("T")


def run(coro: Awaitable[T], timeout: float = 10.0) -> T:
    """Run ``coro`` to completion on a new loop, failing after ``timeout``."""

    async def main() -> T:
        return await asyncio.wait_for(coro, timeout)

    return asyncio.run(main())


async def settle(rounds: int = 5) -> None:
    """Let spawned handler tasks run."""
    for _ in range(rounds):
        await asyncio.sleep(0)


async def eventually(cond: Callable[[], bool], timeout: float = 2.0) -> None:
    """Wait until ``cond()`` holds (polling the loop)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not cond():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.005)


class RecordingPeer:
    """A websocket peer that keeps what it is sent. Its ``buffered_bytes`` is
    what a transport whose client stopped reading holds: every frame sent
    while ``reading`` is False stays counted."""

    sink = None  # every packet through send, to be recorded
    shared_sink = None

    def __init__(self) -> None:
        self.sent: list[OutPacket] = []
        self.closed = False
        self.close_code: int | None = None
        self.buffered = 0
        self.reading = True

    def send(self, packet: OutPacket) -> None:
        if not self.closed:
            self.sent.append(packet)
            if not self.reading:
                self.buffered += len(packet.ws_frame(4))

    def close(self, code: int = 1000) -> None:
        self.closed = True
        self.close_code = code

    def buffered_bytes(self) -> int:
        return self.buffered


class RawClient:
    """A Socket.IO v5 client on a :class:`RecordingPeer` (call on the loop)."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.endpoint = endpoint_of(server)
        self.runtime = runtime_for(self.endpoint)
        self.peer = RecordingPeer()
        req = HttpRequest(
            method="GET",
            path=self.endpoint.path,
            query_string="EIO=4&transport=websocket",
            headers={"upgrade": "websocket", "connection": "Upgrade"},
            remote_addr="127.0.0.1",
        )
        accept = self.endpoint.handle_request(req, self.runtime.clock())
        assert isinstance(accept, WebSocketAccept), accept
        session = accept.open(self.peer, self.runtime.clock())
        assert isinstance(session, EngineSession)
        self.session: EngineSession = session
        self.parser = JsonParser(5)

    def send(self, packet: Packet) -> None:
        for part in self.parser.encode(packet):
            message = ("4" + part) if isinstance(part, str) else part
            self.session.on_ws_message(self.peer, message, self.runtime.clock())

    def connect(self, nsp: str = "/") -> None:
        self.send(Packet(PacketType.CONNECT, nsp, None))

    def messages(self) -> list[OutPacket]:
        """The Engine.IO MESSAGE packets received so far."""
        return [p for p in self.peer.sent if p.type is EnginePacketType.MESSAGE]

    def packets(self) -> list[Packet]:
        """The Socket.IO packets received so far, decoded."""
        decoder = self.parser.decoder()
        out = []
        for p in self.messages():
            decoded = decoder.feed(p.data)
            if decoded is not None:
                out.append(decoded)
        return out

    def events(self) -> list[list[Any]]:
        return [
            list(p.data)
            for p in self.packets()
            if p.type in (PacketType.EVENT, PacketType.BINARY_EVENT)
        ]
