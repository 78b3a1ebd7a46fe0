"""The client side of RFC 6455, sans-IO: the opening handshake a client
sends and checks, and :class:`ClientWebSocket`, one client connection's
framing after it (masked frames out, the server's frames in, ping/pong and
the close handshake).

A driver writes :meth:`ClientWebSocket.handshake` to the socket, feeds what
it reads to :meth:`ClientWebSocket.feed` (the head of the 101 answer first,
then frames) and writes whatever the methods return. Nothing here touches a
socket or a clock.
"""

from __future__ import annotations

import base64
import os
import struct
from collections.abc import Iterable

from hubbub.websocket.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PONG,
    OP_TEXT,
    Close,
    FrameDecoder,
    Message,
    Ping,
    WebSocketError,
    encode_frame,
)
from hubbub.websocket.handshake import accept_key

__all__ = ["ClientWebSocket", "client_frame", "handshake_request", "new_key"]

_MAX_HEAD = 64 * 1024


def new_key() -> str:
    """A fresh ``Sec-WebSocket-Key`` (16 random bytes, base64)."""
    return base64.b64encode(os.urandom(16)).decode("ascii")


def client_frame(opcode: int, payload: bytes) -> bytes:
    """A masked frame, as every client frame must be (a fresh mask each)."""
    return encode_frame(opcode, payload, mask=os.urandom(4))


def handshake_request(
    host: str, target: str, key: str, headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    """The opening GET for ``target`` (path and query) on ``host``."""
    lines = [
        f"GET {target} HTTP/1.1",
        f"Host: {host}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {key}",
        "Sec-WebSocket-Version: 13",
    ]
    for name, value in headers:
        if any(c in name + value for c in "\r\n\0") or not name or ":" in name:
            raise ValueError(f"invalid HTTP header {name!r}: {value!r}")
        lines.append(f"{name}: {value}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class ClientWebSocket:
    """One client websocket connection's framing.

    ``feed(data)`` returns the messages (str or bytes) completed by ``data``
    and queues what must be answered (a pong, the close reply) in
    :meth:`take_output`. Until the server's 101 answer has been read,
    ``feed`` consumes the answer's head and raises :class:`WebSocketError`
    if it does not accept the key. ``closed`` is set once the server's close
    frame arrived (or the framing failed); ``close_code`` is its code.
    """

    def __init__(self, host: str, target: str, headers: Iterable[tuple[str, str]] = (),
                 max_message_size: int = 100_000_000) -> None:
        self.key = new_key()
        self._request = handshake_request(host, target, self.key, headers)
        self._head = bytearray()
        self.open = False
        self.closed = False
        self.close_code: int | None = None
        self.response_headers: dict[str, list[str]] = {}
        self.status = 0
        self._decoder = FrameDecoder(max_message_size, require_mask=False)
        self._out: list[bytes] = []
        self._close_sent = False

    def handshake(self) -> bytes:
        return self._request

    def take_output(self) -> bytes:
        out = b"".join(self._out)
        self._out.clear()
        return out

    def feed(self, data: bytes) -> list[str | bytes]:
        if not self.open:
            self._head += data
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                if len(self._head) > _MAX_HEAD:
                    raise WebSocketError("websocket handshake answer too long")
                return []
            head, rest = bytes(self._head[:end]), bytes(self._head[end + 4 :])
            self._head = bytearray()
            self._check_answer(head)
            self.open = True
            data = rest
            if not data:
                return []
        if self.closed:
            return []
        messages: list[str | bytes] = []
        try:
            events = self._decoder.feed(data)
        except WebSocketError as exc:
            self.closed = True
            self.close_code = exc.close_code
            raise
        for event in events:
            if isinstance(event, Message):
                messages.append(event.data)
            elif isinstance(event, Ping):
                self._out.append(client_frame(OP_PONG, event.payload))
            elif isinstance(event, Close):
                self.closed = True
                self.close_code = event.code
                if not self._close_sent:
                    self._close_sent = True
                    payload = b"" if event.code is None else struct.pack("!H", event.code)
                    self._out.append(client_frame(OP_CLOSE, payload))
        return messages

    def _check_answer(self, head: bytes) -> None:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses
        if len(parts) < 2 or not (parts[1].isascii() and parts[1].isdigit()):
            raise WebSocketError("malformed websocket handshake answer")
        self.status = int(parts[1])
        for line in lines[1:]:
            name, _, value = line.partition(":")
            self.response_headers.setdefault(name.strip().lower(), []).append(value.strip())
        if self.status != 101:
            raise WebSocketError(f"websocket handshake refused with HTTP {self.status}",
                                 http_status=self.status)
        accept = self.response_headers.get("sec-websocket-accept", [""])[0]
        if accept != accept_key(self.key):
            raise WebSocketError("websocket handshake answer with a wrong Sec-WebSocket-Accept")

    def message(self, data: str | bytes) -> bytes:
        """The frame carrying one message."""
        if isinstance(data, str):
            return client_frame(OP_TEXT, data.encode("utf-8"))
        return client_frame(OP_BINARY, bytes(data))

    def close(self, code: int = 1000) -> bytes:
        """Our close frame (empty once one was sent)."""
        if self._close_sent:
            return b""
        self._close_sent = True
        return client_frame(OP_CLOSE, struct.pack("!H", code))
