"""Sans-IO RFC 6455 websocket frames (server side): the opcodes, the close
codes, the events a client's frames decode to, the frames a server writes,
and :class:`FrameDecoder`.

Nothing in here touches a socket, a clock or an event loop: the transport
feeds raw bytes into a :class:`FrameDecoder` and writes the bytes the
``*_frame`` helpers return. permessage-deflate (RFC 7692) lives in
:mod:`hubbub.websocket.deflate`, the opening handshake in
:mod:`hubbub.websocket.handshake`.
"""

from __future__ import annotations

import codecs
import enum
import struct
from dataclasses import dataclass
from typing import Protocol, TypeAlias

__all__ = [
    "OP_BINARY",
    "OP_CLOSE",
    "OP_CONTINUATION",
    "OP_PING",
    "OP_PONG",
    "OP_TEXT",
    "Close",
    "CloseCode",
    "Event",
    "FrameDecoder",
    "Message",
    "Ping",
    "Pong",
    "WebSocketError",
    "binary_frame",
    "close_frame",
    "encode_frame",
    "ping_frame",
    "pong_frame",
    "text_frame",
]

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA


class CloseCode(enum.IntEnum):
    """The RFC 6455 close codes hubbub sends."""

    NORMAL = 1000
    GOING_AWAY = 1001
    PROTOCOL_ERROR = 1002
    UNSUPPORTED_DATA = 1003
    INVALID_DATA = 1007
    POLICY_VIOLATION = 1008
    TOO_BIG = 1009


_MAX_CONTROL_PAYLOAD = 125

# what one fragment of a message counts for against the message size limit,
# on top of its payload (the list entry and bytes object it is kept as)
FRAGMENT_COST = 64

# Close codes a peer may put on the wire: the registered 1000-1014 range minus the ones
# reserved for local use (1004 reserved, 1005 no status, 1006 abnormal), plus 3000-4999.
_VALID_CLOSE_CODES = frozenset(
    {1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014}
)

_pack_short = struct.Struct("!BB").pack
_pack_medium = struct.Struct("!BBH").pack
_pack_long = struct.Struct("!BBQ").pack
_unpack_u16 = struct.Struct("!H").unpack_from
_unpack_u64 = struct.Struct("!Q").unpack_from
_Utf8Decoder = codecs.getincrementaldecoder("utf-8")


class WebSocketError(Exception):
    """The one error type of this codec.

    ``close_code`` is the RFC 6455 close code the server must send (1002 protocol error,
    1007 invalid UTF-8, 1009 too big, 1003 unsupported data). For handshake failures
    ``http_status`` (400/426) is set and ``close_code`` is 1002.

    ``events`` holds the events :meth:`FrameDecoder.feed` had already decoded from the same
    chunk before it hit the error, in order (the caller may still want to act on them).
    """

    close_code: int
    http_status: int
    events: list[Event]

    def __init__(self, message: str, close_code: int = 1002, http_status: int = 400) -> None:
        super().__init__(message)
        self.close_code = close_code
        self.http_status = http_status
        self.events = []



# ---------------------------------------------------------------------------------------------
# Events


@dataclass(slots=True, frozen=True)
class Message:
    """A complete data message (reassembled from fragments, decompressed)."""

    data: str | bytes  # str for text messages (validated UTF-8), bytes for binary ones


@dataclass(slots=True, frozen=True)
class Ping:
    payload: bytes


@dataclass(slots=True, frozen=True)
class Pong:
    payload: bytes


@dataclass(slots=True, frozen=True)
class Close:
    code: int | None  # None when the close frame had no body
    reason: str


Event: TypeAlias = Message | Ping | Pong | Close


# ---------------------------------------------------------------------------------------------
# Encoding


def _unmask(data: bytes | bytearray, mask: bytes) -> bytes:
    """XOR ``data`` with the repeated 4-byte ``mask``, without a per-byte Python loop."""
    n = len(data)
    if n == 0:
        return b""
    key = mask[:n] if n <= 4 else mask * (n >> 2) + mask[: n & 3]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def encode_frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    rsv1: bool = False,
    mask: bytes | None = None,
) -> bytes:
    """One frame. Server frames are unmasked (``mask=None``); a 4-byte ``mask`` builds a masked
    (client) frame. No protocol rules are enforced here beyond the opcode range, so tests can
    build invalid frames with it."""
    if not 0 <= opcode <= 0xF:
        raise ValueError(f"invalid opcode {opcode!r}")
    b0 = opcode
    if fin:
        b0 |= 0x80
    if rsv1:
        b0 |= 0x40
    n = len(payload)
    mask_bit = 0
    if mask is not None:
        if len(mask) != 4:
            raise ValueError("mask must be exactly 4 bytes")
        mask_bit = 0x80
    if n < 126:
        header = _pack_short(b0, mask_bit | n)
    elif n < 0x10000:
        header = _pack_medium(b0, mask_bit | 126, n)
    else:
        header = _pack_long(b0, mask_bit | 127, n)
    if mask is None:
        return header + payload
    return header + mask + _unmask(payload, mask)


def text_frame(text: str) -> bytes:
    return encode_frame(OP_TEXT, text.encode("utf-8"))


def binary_frame(data: bytes) -> bytes:
    return encode_frame(OP_BINARY, data)


def close_frame(code: int = 1000, reason: str = "") -> bytes:
    """A close frame; a reason too long for a control frame is cut at a character boundary."""
    if not 1000 <= code <= 4999:
        raise ValueError(f"invalid close code {code!r}")
    raw = reason.encode("utf-8")
    if len(raw) > _MAX_CONTROL_PAYLOAD - 2:
        raw = raw[: _MAX_CONTROL_PAYLOAD - 2].decode("utf-8", "ignore").encode("utf-8")
    return encode_frame(OP_CLOSE, struct.pack("!H", code) + raw)


def ping_frame(payload: bytes = b"") -> bytes:
    if len(payload) > _MAX_CONTROL_PAYLOAD:
        raise ValueError("ping payload longer than 125 bytes")
    return encode_frame(OP_PING, payload)


def pong_frame(payload: bytes = b"") -> bytes:
    if len(payload) > _MAX_CONTROL_PAYLOAD:
        raise ValueError("pong payload longer than 125 bytes")
    return encode_frame(OP_PONG, payload)


class Inflater(Protocol):
    """What the decoder needs of a negotiated compression (see
    :class:`hubbub.websocket.deflate.PerMessageDeflate`)."""

    def decompress_message(self, payload: bytes, max_size: int) -> bytes: ...


# ---------------------------------------------------------------------------------------------
# Decoding


def _decode_close(payload: bytes) -> Close:
    if not payload:
        return Close(None, "")
    if len(payload) == 1:
        raise WebSocketError("close frame with a 1-byte body")
    code = (payload[0] << 8) | payload[1]
    if code not in _VALID_CLOSE_CODES and not 3000 <= code <= 4999:
        raise WebSocketError(f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise WebSocketError("invalid UTF-8 in close reason", CloseCode.INVALID_DATA) from None
    return Close(code, reason)


def _wire_max(max_message_size: int) -> int:
    # Compressed data can be slightly larger than what it inflates to; the real limit
    # for compressed messages is enforced on the decompressed size.
    return max_message_size + (max_message_size >> 10) + 64


class FrameDecoder:
    """Incremental frame parser for the frames a client sends to a server.

    Feed it bytes in any chunking; it returns complete events and raises
    :class:`WebSocketError` on any protocol violation. After an error or a Close frame the
    decoder is finished and :meth:`feed` returns ``[]``.
    """

    __slots__ = ("_buf", "_deflate", "_done", "_frag", "_max", "_require_mask")

    def __init__(
        self,
        max_message_size: int = 1_000_000,
        deflate: Inflater | None = None,
        require_mask: bool = True,
    ) -> None:
        # b"" while no partial frame is held (most of an idle connection's
        # life): a bytearray only while one is
        self._buf: bytearray | bytes = b""
        self._max = max_message_size
        self._deflate = deflate
        self._require_mask = require_mask
        self._done = False
        # the fragmented message being received, None while there is none
        # (most of an idle connection's life)
        self._frag: _Fragments | None = None

    @property
    def finished(self) -> bool:
        """True once a Close frame was received or an error was raised."""
        return self._done

    def feed(self, data: bytes) -> list[Event]:
        """Feed raw bytes from the socket; return the events they complete, in order."""
        if self._done:
            return []
        if not self._buf and self._frag is None and len(data) >= 6:
            # The common case, one whole frame per read: a final, uncompressed,
            # masked text frame with a 7- or 16-bit length. Decoded here
            # without the buffer copy and the general parser; anything else
            # (the mask bit missing makes b1 < 0x80) takes the long way.
            b1 = data[1]
            if data[0] == 0x81 and b1 >= 0x80:
                length = b1 - 0x80
                head = 6
                if length == 126:
                    length = (data[2] << 8) | data[3]
                    head = 8
                elif length == 127:
                    length = -1  # a 64-bit length: the general parser
                if len(data) == head + length and length <= self._max:
                    try:
                        payload = _unmask(data[head:], data[head - 4 : head])
                        return [Message(payload.decode("utf-8"))]
                    except UnicodeDecodeError:
                        pass  # the general parser raises the proper error
        events: list[Event] = []
        buf = self._buf
        if isinstance(buf, bytearray):
            buf += data
        else:
            buf = self._buf = bytearray(data)
        try:
            self._parse(events, buf)
        except WebSocketError as exc:
            self._fail()
            exc.events = events
            raise
        except Exception:
            self._fail()
            raise
        return events

    def _fail(self) -> None:
        self._done = True
        self._buf = b""
        self._frag = None

    def _parse(self, events: list[Event], buf: bytearray) -> None:
        n = len(buf)
        pos = 0
        require_mask = self._require_mask
        while n - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            rsv1 = b0 & 0x40
            length = b1 & 0x7F

            # Everything checkable from the first two bytes is checked before waiting for more.
            if opcode >= 8:
                if opcode > OP_PONG:
                    raise WebSocketError(f"unknown opcode {opcode:#x}")
                if not fin:
                    raise WebSocketError("fragmented control frame")
                if length > _MAX_CONTROL_PAYLOAD:
                    raise WebSocketError("control frame payload longer than 125 bytes")
            elif opcode == OP_CONTINUATION:
                if self._frag is None:
                    raise WebSocketError("continuation frame without a message to continue")
            elif opcode > OP_BINARY:
                raise WebSocketError(f"unknown opcode {opcode:#x}")
            elif self._frag is not None:
                raise WebSocketError("new data frame while a fragmented message is open")
            if b0 & 0x70 and (b0 & 0x30 or self._deflate is None or opcode == 0 or opcode >= 8):
                raise WebSocketError("reserved bits set")
            masked = b1 & 0x80
            if require_mask and not masked:
                raise WebSocketError("unmasked client frame")

            start = pos + 2
            if length == 126:
                start += 2
                if n < start:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
            elif length == 127:
                start += 8
                if n < start:
                    break
                length = _unpack_u64(buf, pos + 2)[0]
                if length >> 63:
                    raise WebSocketError("frame length with the most significant bit set")

            if opcode < 8:
                # Refuse an oversized message from its header, before buffering the payload.
                if opcode:
                    total = length
                    compressed = rsv1
                else:
                    frag = self._frag
                    assert frag is not None  # checked above
                    total = frag.size + length
                    compressed = frag.compressed
                if total > (_wire_max(self._max) if compressed else self._max):
                    raise WebSocketError(
                        f"message larger than {self._max} bytes", CloseCode.TOO_BIG
                    )

            if masked:
                start += 4
            end = start + length
            if n < end:
                break
            if masked:
                payload = _unmask(buf[start:end], bytes(buf[start - 4 : start])) if length else b""
            else:
                payload = bytes(buf[start:end])
            pos = end

            if opcode >= 8:
                if opcode == OP_PING:
                    events.append(Ping(payload))
                elif opcode == OP_PONG:
                    events.append(Pong(payload))
                else:
                    events.append(_decode_close(payload))
                    self._done = True
                    self._buf = b""
                    return
            elif opcode:
                if fin:
                    events.append(self._complete(opcode, bool(rsv1), payload))
                else:
                    self._start_fragmented(opcode, bool(rsv1), payload)
            else:
                frag = self._frag
                assert frag is not None
                frag.size += length + FRAGMENT_COST
                if frag.utf8 is not None:
                    frag.text.append(_decode_fragment(frag.utf8, payload, bool(fin)))
                else:
                    frag.parts.append(payload)
                if fin:
                    events.append(self._finish_fragmented())
        if pos == n:
            self._buf = b""  # all consumed: let the bytearray go
        elif pos:
            del buf[:pos]

    def _complete(self, opcode: int, compressed: bool, payload: bytes) -> Message:
        if compressed:
            assert self._deflate is not None
            payload = self._deflate.decompress_message(payload, self._max)
        if opcode == OP_BINARY:
            return Message(payload)
        try:
            return Message(payload.decode("utf-8"))
        except UnicodeDecodeError:
            raise WebSocketError("invalid UTF-8 in text message", CloseCode.INVALID_DATA) from None

    def _start_fragmented(self, opcode: int, compressed: bool, payload: bytes) -> None:
        frag = self._frag = _Fragments(opcode, compressed, len(payload))
        if opcode == OP_TEXT and not compressed:
            # Validate text as it arrives, so invalid UTF-8 fails fast.
            utf8 = frag.utf8 = _Utf8Decoder("strict")
            frag.text.append(_decode_fragment(utf8, payload, False))
        else:
            frag.parts.append(payload)

    def _finish_fragmented(self) -> Message:
        frag = self._frag
        assert frag is not None
        self._frag = None
        if frag.utf8 is not None:
            return Message("".join(frag.text))
        return self._complete(frag.opcode, frag.compressed, b"".join(frag.parts))


class _Fragments:
    """A fragmented message while it is being received."""

    __slots__ = ("compressed", "opcode", "parts", "size", "text", "utf8")

    def __init__(self, opcode: int, compressed: bool, size: int) -> None:
        self.opcode = opcode
        self.compressed = compressed
        # what the message so far costs: its payload bytes, and FRAGMENT_COST
        # for every fragment, so that empty continuation frames cannot pile
        # up without bound under the size limit
        self.size = size
        self.parts: list[bytes] = []  # binary or compressed fragments
        self.text: list[str] = []  # uncompressed text, decoded as it arrives
        self.utf8: codecs.IncrementalDecoder | None = None


def _decode_fragment(utf8: codecs.IncrementalDecoder, payload: bytes, final: bool) -> str:
    try:
        return utf8.decode(payload, final)
    except UnicodeDecodeError:
        raise WebSocketError("invalid UTF-8 in text message", CloseCode.INVALID_DATA) from None
