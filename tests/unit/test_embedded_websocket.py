"""The embedded server after a websocket upgrade: HttpProtocol hands the
transport to a small WebSocketProtocol, on asyncio's and uvloop's loops alike,
and the connection behaves as before (writes batched per tick, close)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

import hubbub
from hubbub.runtime.asyncio.server import EmbeddedServer, HttpProtocol, WebSocketProtocol
from hubbub.websocket.frames import OP_TEXT, encode_frame

UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket&x=1 HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


def frame(text: str) -> bytes:
    return encode_frame(OP_TEXT, text.encode(), mask=b"\x01\x02\x03\x04")


class FakeTransport:
    def __init__(self, can_hand_over: bool = True) -> None:
        self.protocol: Any = None
        self.writes: list[bytes] = []
        self.closed = False
        self.can_hand_over = can_hand_over

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 4000) if name == "peername" else default

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def set_protocol(self, protocol: Any) -> None:
        if not self.can_hand_over:
            raise NotImplementedError
        self.protocol = protocol


def serve(test: Callable[[EmbeddedServer, hubbub.Server], Coroutine[Any, Any, None]]) -> None:
    sio = hubbub.Server()

    @sio.on("echo")
    def echo(socket: hubbub.Socket, *args: Any) -> list[Any]:
        return [socket.handshake.query, *args]

    async def main() -> None:
        server = EmbeddedServer(sio)
        await server.start("127.0.0.1", 0)
        try:
            await test(server, sio)
        finally:
            await server.shutdown(grace=0.1)

    asyncio.run(main())


def upgraded(server: EmbeddedServer, transport: FakeTransport) -> HttpProtocol:
    http = HttpProtocol(server)
    transport.protocol = http
    http.connection_made(transport)  # type: ignore[arg-type]
    http.data_received(UPGRADE)
    return http


@pytest.mark.parametrize("can_hand_over", [True, False])
def test_upgrade_hands_the_transport_over(can_hand_over: bool) -> None:
    async def test(server: EmbeddedServer, sio: hubbub.Server) -> None:
        transport = FakeTransport(can_hand_over)
        http = upgraded(server, transport)
        assert transport.writes[0].startswith(b"HTTP/1.1 101 ")
        assert isinstance(http.ws, WebSocketProtocol)
        ws = http.ws
        if can_hand_over:
            assert transport.protocol is ws and server.connections == {ws}
        else:  # the HTTP protocol stays and passes the bytes on
            assert transport.protocol is http and server.connections == {http}
        client = next(iter(sio.clients.values()))
        assert client.request._query is None  # released after the handshake
        assert client.request.query == {"EIO": "4", "transport": "websocket", "x": "1"}
        transport.protocol.data_received(frame("40") + frame('421["echo",1]'))
        # frames queued this tick go out in one write once it ends
        before = len(transport.writes)
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert len(transport.writes) == before + 1
        out = transport.writes[-1]
        assert b'40{"sid"' in out and b'431[[{"EIO":"4","transport":"websocket","x":"1"},1]]' in out
        assert ws.buffered_bytes() == 0
        transport.protocol.connection_lost(None)
        assert server.connections == set() and ws.transport is None
        await asyncio.sleep(0)
        assert sio.clients == {}

    serve(test)


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_real_websocket_after_the_hand_over(loop: str) -> None:
    if loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

    async def test(server: EmbeddedServer, sio: hubbub.Server) -> None:
        url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket&k=v"
        async with connect(url) as ws:
            assert str(await ws.recv()).startswith("0{")
            await ws.send("40")
            assert str(await ws.recv()).startswith('40{"sid"')
            (conn,) = server.connections
            assert isinstance(conn, WebSocketProtocol)
            await ws.send('425["echo","hi"]')
            answer = str(await ws.recv())
            assert answer.startswith("435")
            query = {"EIO": "4", "transport": "websocket", "k": "v"}
            assert json.loads(answer[3:]) == [[query, "hi"]]
            # a server-side disconnect closes the websocket cleanly
            next(iter(sio.clients.values())).disconnect()
            with pytest.raises(ConnectionClosed):
                while True:
                    await asyncio.wait_for(ws.recv(), 5)
        for _ in range(100):
            if not server.connections:
                break
            await asyncio.sleep(0.01)
        assert server.connections == set()

    try:
        serve(test)
    finally:
        asyncio.set_event_loop_policy(None)
