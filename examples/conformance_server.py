"""The Socket.IO test server of the Socket.IO v5 spec.

    python examples/conformance_server.py [--host 127.0.0.1] [--port 3000] [--runtime asyncio]

pingInterval 300 ms, pingTimeout 200 ms, connect timeout 1000 ms, CORS '*':
what docs/socket.io-protocol/v5-test-suite in socketio/socket.io expects on
http://localhost:3000. On connect it emits 'auth' with the handshake auth;
'message' is answered 'message-back' with the same arguments;
'message-with-ack' acks its arguments; '/custom' emits 'auth' too.
"""

from __future__ import annotations

from typing import Any

import hubbub
import hubbub.cli

sio = hubbub.Server(
    ping_interval=0.3,
    ping_timeout=0.2,
    connect_timeout=1.0,
    cors_allowed_origins="*",
)


@sio.on("connection")
def on_connection(socket: hubbub.Socket) -> None:
    socket.emit("auth", socket.handshake.auth)


@sio.on("message")
def on_message(socket: hubbub.Socket, *args: Any) -> None:
    socket.emit("message-back", *args)


@sio.on("message-with-ack")
def on_message_with_ack(socket: hubbub.Socket, *args: Any) -> tuple[Any, ...]:
    return args


@sio.on("connection", namespace="/custom")
def on_custom(socket: hubbub.Socket) -> None:
    socket.emit("auth", socket.handshake.auth)


def main() -> None:
    hubbub.cli.run_example(sio, default_port=3000, description=__doc__)


if __name__ == "__main__":
    main()
