"""A burst of broadcasts to a room reaches each member in one write.

The embedded server is driven in-process: each client's transport records
what the server writes, so the writes per member per tick can be counted.
The burst's handler mixes in what a shared block must step around: a
unicast to the sender, a broadcast that skips the sender, a broadcast to
another room, a member leaving mid-burst.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import hubbub
from hubbub.runtime.asyncio.server import EmbeddedServer, HttpProtocol
from hubbub.websocket.frames import OP_TEXT, encode_frame
from hubbub.websocket.shared import SHARED_LIMIT

pytestmark = pytest.mark.timeout(60)

UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)
MEMBERS = 12
BURST = 40


def frame(text: str) -> bytes:
    return encode_frame(OP_TEXT, text.encode(), mask=b"\x01\x02\x03\x04")


def server_frames(data: bytes) -> list[str]:
    """The text of the unmasked frames a server wrote."""
    out = []
    i = 0
    while i < len(data):
        assert data[i] == 0x81, data[i:]
        n = data[i + 1]
        i += 2
        if n == 126:
            n = int.from_bytes(data[i : i + 2], "big")
            i += 2
        elif n == 127:
            n = int.from_bytes(data[i : i + 8], "big")
            i += 8
        out.append(data[i : i + n].decode())
        i += n
    return out


class Transport:
    def __init__(self) -> None:
        self.protocol: Any = None
        self.writes: list[bytes] = []
        self.buffered = 0

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def get_write_buffer_size(self) -> int:
        return self.buffered

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 4000) if name == "peername" else default

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass

    def set_protocol(self, protocol: Any) -> None:
        self.protocol = protocol

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def build(coalesce: bool) -> hubbub.Server:
    sio = hubbub.Server(coalesce_broadcasts=coalesce)

    @sio.on("join")
    def join(socket: hubbub.Socket, room: str) -> None:
        socket.join(room)

    @sio.on("leave")
    def leave(socket: hubbub.Socket, room: str) -> None:
        socket.leave(room)

    @sio.on("burst")
    def burst(socket: hubbub.Socket, count: int) -> str:
        for i in range(count):
            sio.to("r").emit("m", i)
            if i == 3:
                socket.emit("mine", i)  # a unicast between two frames of the block
            if i == 5:
                socket.to("r").emit("others", i)  # every member but the sender
            if i == 7:
                sio.to("s").emit("s", i)  # another room, some members in both
            if i == 9:
                sio.of("/").sockets[socket.data["last"]].leave("r")
        return "done"

    return sio


async def _tick() -> None:
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def _run(coalesce: bool) -> tuple[list[list[list[str]]], list[int]]:
    sio = build(coalesce)
    server = EmbeddedServer(sio)
    server.attach_loop()
    transports = []
    for _ in range(MEMBERS):
        transport = Transport()
        http = HttpProtocol(server)
        transport.protocol = http
        http.connection_made(transport)  # type: ignore[arg-type]
        http.data_received(UPGRADE)
        transport.protocol.data_received(frame("40"))
        transports.append(transport)
    for i, transport in enumerate(transports):
        transport.protocol.data_received(frame('42["join","r"]'))
        if i % 3 == 0:
            transport.protocol.data_received(frame('42["join","s"]'))
    await _tick()
    last = list(sio.of("/").sockets)[-1]
    sender = next(iter(sio.of("/").sockets.values()))
    sender.data = {"last": last}
    before = [len(t.writes) for t in transports]
    transports[0].protocol.data_received(frame(f'421["burst",{BURST}]'))
    await _tick()
    writes = [t.writes[n:] for t, n in zip(transports, before, strict=True)]
    frames = [[server_frames(w) for w in ws] for ws in writes]
    # every member's bound reserved a block's capacity, or not (plain path)
    bounds = [c._bound for c in sio.clients.values()]
    return frames, bounds


@pytest.mark.parametrize("coalesce", [True, False])
def test_a_burst_is_one_write_per_member_in_exact_order(coalesce: bool) -> None:
    frames, _ = asyncio.run(_run(coalesce))
    for i, member in enumerate(frames):
        assert len(member) == 1, (i, len(member))  # one write this tick
        got = member[0]
        expected = []
        for n in range(BURST):
            if i == MEMBERS - 1 and n > 9:
                break  # it left the room
            expected.append(f'42["m",{n}]')
            if n == 3 and i == 0:
                expected.append(f'42["mine",{n}]')
            if n == 5 and i != 0:
                expected.append(f'42["others",{n}]')
            if n == 7 and i % 3 == 0:
                expected.append(f'42["s",{n}]')
        if i == 0:
            expected.append('431["done"]')
        assert got == expected, i


def test_coalescing_reserves_a_blocks_capacity_in_the_slow_consumer_bound() -> None:
    _, bounds = asyncio.run(_run(True))
    assert all(bound >= SHARED_LIMIT for bound in bounds)
    _, plain = asyncio.run(_run(False))
    assert all(bound < SHARED_LIMIT for bound in plain)



def test_an_outgoing_listener_added_mid_tick_sees_the_next_broadcasts() -> None:
    async def main() -> tuple[list[Any], list[list[str]]]:
        sio = hubbub.Server()
        seen: list[Any] = []

        @sio.on("go")
        def go(socket: hubbub.Socket) -> None:
            sio.emit("m", 1)  # the plan is made here: no listener yet
            socket.on_any_outgoing(lambda event, *args: seen.append((event, *args)))
            sio.emit("m", 2)
            sio.emit("m", 3)

        server = EmbeddedServer(sio)
        server.attach_loop()
        transports = []
        for _ in range(3):
            transport = Transport()
            http = HttpProtocol(server)
            transport.protocol = http
            http.connection_made(transport)  # type: ignore[arg-type]
            http.data_received(UPGRADE)
            transport.protocol.data_received(frame("40"))
            transports.append(transport)
        await _tick()
        before = [len(t.writes) for t in transports]
        transports[1].protocol.data_received(frame('42["go"]'))
        await _tick()
        out = [
            [f for w in t.writes[n:] for f in server_frames(w)]
            for t, n in zip(transports, before, strict=True)
        ]
        return seen, out

    seen, out = asyncio.run(main())
    assert seen == [("m", 2), ("m", 3)]
    assert out == [['42["m",1]', '42["m",2]', '42["m",3]']] * 3
