"""What the workers of ``hubbub run --workers N`` say to each other (sans-IO).

Each worker has a Unix stream socket; every other worker connects to it
and sends frames: a 4-byte big-endian length, then a MessagePack map whose
``k`` names its kind:

* ``hello`` ``{w}``: the first frame of a connection, the sender's index;
* ``a`` ``{m}``: a cluster adapter message (socket.io-adapter's
  ``{uid, nsp, type, data}``), to every worker or as a response to one;
* ``q`` ``{id, req}``: an HTTP request for a session the receiver holds;
* ``r`` ``{id, st, h, b}``: the answer to request ``id``;
* ``x`` ``{id}``: the client of request ``id`` went away;
* ``ws`` ``{req, rest}``: a websocket upgrade (or a stream's GET, 0.9's
  htmlfile) for a session the receiver holds; the client's connection
  itself rides along as a file descriptor (SCM_RIGHTS) on the frame's
  first byte.

No pickle: a frame holds plain values only, and a malformed one raises
:class:`IpcDecodeError`.
"""

from __future__ import annotations

import struct
from typing import Any

import msgpack  # type: ignore[import-untyped, unused-ignore]

from hubbub.adapters.wire.notepack import pack
from hubbub.http import HttpRequest, HttpResponse

__all__ = [
    "MAX_FRAME",
    "FrameDecoder",
    "IpcDecodeError",
    "encode_frame",
    "request_from_wire",
    "request_to_wire",
    "response_from_wire",
    "response_to_wire",
]

_LENGTH = struct.Struct(">I")
# far above any request body or broadcast a worker accepts
MAX_FRAME = 256 * 1024 * 1024


class IpcDecodeError(ValueError):
    """A frame that is not one a worker sends."""


def encode_frame(message: dict[str, Any]) -> bytes:
    body = pack(message)
    return _LENGTH.pack(len(body)) + body


class FrameDecoder:
    """Frames out of a byte stream, however it is cut."""

    __slots__ = ("_buffer",)

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[dict[str, Any]]:
        buffer = self._buffer
        buffer += data
        frames: list[dict[str, Any]] = []
        start = 0
        while len(buffer) - start >= _LENGTH.size:
            (size,) = _LENGTH.unpack_from(buffer, start)
            if size > MAX_FRAME:
                raise IpcDecodeError(f"a frame of {size} bytes")
            end = start + _LENGTH.size + size
            if len(buffer) < end:
                break
            try:
                # only hubbub writes these frames: plain MessagePack, read
                # without the Node compatibility of notepack.unpack
                message = msgpack.unpackb(
                    buffer[start + _LENGTH.size : end], raw=False, timestamp=3
                )
            except (ValueError, TypeError) as exc:
                raise IpcDecodeError(f"undecodable frame: {exc}") from exc
            if not isinstance(message, dict) or not isinstance(message.get("k"), str):
                raise IpcDecodeError("a frame is not a map with a kind")
            frames.append(message)
            start = end
        if start:
            del buffer[:start]
        return frames

    @property
    def pending(self) -> int:
        """Bytes of a frame not complete yet."""
        return len(self._buffer)


def request_to_wire(req: HttpRequest) -> list[Any]:
    return [
        req.method,
        req.path,
        req.query_string,
        list(req.headers.items()),
        req.body,
        req.remote_addr,
        req.secure,
        req.body_too_large,
    ]


def request_from_wire(value: Any) -> HttpRequest:
    try:
        method, path, query, headers, body, remote, secure, too_large = value
        request = HttpRequest(
            method=_str(method),
            path=_str(path),
            query_string=_str(query),
            headers={_str(k): _str(v) for k, v in headers},
            body=_bytes(body),
            remote_addr=None if remote is None else _str(remote),
            secure=bool(secure),
            body_too_large=bool(too_large),
        )
    except (TypeError, ValueError) as exc:
        raise IpcDecodeError(f"not a request: {exc}") from exc
    return request


def response_to_wire(response: HttpResponse) -> dict[str, Any]:
    return {"st": response.status, "h": [list(h) for h in response.headers], "b": response.body}


def response_from_wire(message: dict[str, Any]) -> HttpResponse:
    status = message.get("st")
    if isinstance(status, bool) or not isinstance(status, int):
        raise IpcDecodeError("a response without a status")
    try:
        headers = [(_str(k), _str(v)) for k, v in message.get("h") or []]
    except (TypeError, ValueError) as exc:
        raise IpcDecodeError(f"malformed response headers: {exc}") from exc
    return HttpResponse(status, headers, _bytes(message.get("b", b"")))


def _str(value: Any) -> str:
    if not isinstance(value, str):
        raise IpcDecodeError(f"{type(value).__name__} where text belongs")
    return value


def _bytes(value: Any) -> bytes:
    if not isinstance(value, (bytes, bytearray)):
        raise IpcDecodeError(f"{type(value).__name__} where bytes belong")
    return bytes(value)
