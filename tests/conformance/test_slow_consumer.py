"""A client that stops reading cannot grow the server's memory without bound.

Over real sockets: a raw websocket client joins, then never reads again while
the server keeps emitting to it. Volatile packets are dropped first; past
``max_buffered_bytes`` the client is disconnected with reason "slow consumer".
A healthy client beside it keeps working throughout.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time
from typing import Any

from websockets.sync.client import connect

import hubbub
from conftest import ServerThread

LIMIT = 256 * 1024


def _slow_client(port: int) -> socket.socket:
    """A websocket that completes the Socket.IO handshake and then never reads."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    from hubbub.websocket.frames import OP_TEXT, encode_frame

    sock.sendall(encode_frame(OP_TEXT, b"40", mask=os.urandom(4)))
    sock.settimeout(5)
    seen = b""
    while b'40{"sid"' not in seen:
        chunk = sock.recv(4096)
        assert chunk, "closed before CONNECT"
        seen += chunk
    return sock


def test_slow_consumer_is_disconnected_and_others_are_unaffected() -> None:
    sio = hubbub.Server(max_buffered_bytes=LIMIT, volatile_threshold=LIMIT // 4)
    reasons: dict[str, str] = {}

    @sio.on("disconnect")
    def gone(socket: hubbub.Socket, reason: str) -> None:
        reasons[socket.id] = reason

    @sio.on("flood")
    def flood(socket: hubbub.Socket, count: int) -> dict[str, Any]:
        victim = next(s for s in sio.sockets.sockets.values() if s.id != socket.id)
        blob = "x" * 10_000
        peak = volatile_kept_above_threshold = 0
        for _ in range(count):
            if not victim.connected:
                break
            before = victim.conn.buffered_bytes
            victim.volatile.emit("v", blob)
            if before > LIMIT // 4 and victim.conn.buffered_bytes > before:
                volatile_kept_above_threshold += 1
            victim.emit("blob", blob)
            if victim.connected:
                peak = max(peak, victim.conn.buffered_bytes)
        return {
            "peak": peak,
            "volatile_kept_above_threshold": volatile_kept_above_threshold,
            "reason": reasons.get(victim.id),
        }

    @sio.on("echo")
    def echo(socket: hubbub.Socket, value: Any) -> Any:
        return value

    with ServerThread(sio) as srv:
        slow = _slow_client(srv.port)
        try:
            url = f"ws://127.0.0.1:{srv.port}/socket.io/?EIO=4&transport=websocket"
            with connect(url) as healthy:
                assert str(healthy.recv(timeout=5)).startswith("0{")
                healthy.send("40")
                assert str(healthy.recv(timeout=5)).startswith('40{"sid"')
                # 200 rounds of ~20 KB for the slow client: ~4 MB, far past the limit
                healthy.send('420["flood",200]')
                deadline = time.monotonic() + 10
                answer = ""
                while not answer.startswith("430"):
                    message = healthy.recv(timeout=max(0.1, deadline - time.monotonic()))
                    if isinstance(message, str) and message == "2":
                        healthy.send("3")
                    elif isinstance(message, str):
                        answer = message
                result = json.loads(answer[3:])[0]
                assert result["reason"] == "slow consumer", result
                # what the server held for the slow client stayed near the bound
                assert 0 < result["peak"] <= LIMIT + 2 * 10_100, result
                # past the volatile threshold, volatile packets were dropped
                assert result["volatile_kept_above_threshold"] == 0, result
                # the healthy client is unaffected
                healthy.send('421["echo","still here"]')
                while True:
                    message = healthy.recv(timeout=5)
                    if message == "2":
                        healthy.send("3")
                        continue
                    assert message == '431["still here"]'
                    break
        finally:
            slow.close()
    assert list(reasons.values()).count("slow consumer") == 1
