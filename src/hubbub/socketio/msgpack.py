"""Socket.IO msgpack parser (sans-IO), compatible with ``socket.io-msgpack-parser``.

A JavaScript client opts in with ``io(url, {parser: require("socket.io-msgpack-parser")})``.
Each packet is one binary Engine.IO message holding one msgpack map with the
keys ``type``, ``nsp``, ``data`` (left out when absent) and ``id`` (left out
when absent); other keys (the JS client adds ``options``) are ignored. Binary
data stays native (msgpack ``bin``): there are no attachments and no
``BINARY_EVENT`` / ``BINARY_ACK`` packets, so types 5 and 6 are sent as 2 and 3.

Maps are written in the key order the JavaScript server uses (``id`` first for
ACK, otherwise ``type``, ``data``, ``id``, ``nsp``), so the bytes match it.

``socket.io-msgpack-parser`` 3.x encodes with ``notepack.io`` 2.x, which uses
msgpack extension type 0 for three JavaScript things; they decode as:

* ``undefined`` (fixext 1, ``d4 00 00``): ``None``; as the value of ``data``
  or ``id``, absent (a client without ``auth`` sends ``data: undefined``);
* ``Date`` (fixext 8, ``d7 00`` + int64 milliseconds): an aware UTC
  :class:`datetime.datetime` (aware datetimes are encoded the same way);
* ``ArrayBuffer`` and typed arrays (ext 8/16/32): :class:`bytes`.

Standard timestamps (extension -1, what newer notepack versions write for a
``Date``) decode to datetimes too; other extension types are refused. The
fast path is the C ``msgpack`` unpacker; a packet it cannot decode exactly
(the ``undefined`` / ``Date`` / 1- or 8-byte ``ArrayBuffer`` encodings share
their extension type and length, told apart only by the format byte) goes
through a small pure-Python decoder instead.

This module needs the optional ``msgpack`` package (``pip install hubbub[msgpack]``);
import it only when the msgpack serializer is chosen.
"""

from __future__ import annotations

import datetime
import struct
from typing import Any

try:
    import msgpack  # type: ignore[import-untyped, unused-ignore]
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the msgpack Socket.IO parser needs the 'msgpack' package: pip install hubbub[msgpack]"
    ) from exc

from hubbub.socketio.codec import (
    Packet,
    PacketType,
    SocketIODecodeError,
    check_ack_id,
    check_data,
    check_namespace,
)

__all__ = ["MsgpackDecoder", "MsgpackParser", "unpack_js"]

_TYPES: tuple[PacketType, ...] = tuple(PacketType)
_ACK = PacketType.ACK
# what a decoded "type" may be (the JS msgpack parser knows types 0-4 only)
_DECODABLE = range(PacketType.CONNECT_ERROR + 1)
# BINARY_EVENT / BINARY_ACK do not exist here: binary stays inline
_WIRE_TYPE = (0, 1, 2, 3, 4, 2, 3)
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)
_ONE_MS = datetime.timedelta(milliseconds=1)
_MAX_DEPTH = 512  # nesting bound of the pure-Python decoder


class _Undefined:
    """JavaScript's ``undefined`` as a top-level map value (only in the slow path)."""


_UNDEFINED = _Undefined()


class _Ambiguous(Exception):
    """Raised by the fast path for an extension only the format byte explains."""


def _error(message: str) -> SocketIODecodeError:
    return SocketIODecodeError(message)


def _date(ms: int) -> datetime.datetime:
    return _EPOCH + ms * _ONE_MS


# --------------------------------------------------------------------------- fast path


def _pairs_hook(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    for key, _ in pairs:
        if type(key) is not str:
            raise _error("msgpack map key is not a string")
    return dict(pairs)


def _ext_hook(code: int, data: bytes) -> Any:
    if code == 0:
        if len(data) == 1 or len(data) == 8:
            raise _Ambiguous
        return data  # an ArrayBuffer (ext 8/16/32)
    raise _error(f"unsupported msgpack extension type {code}")


def _fast_unpack(data: bytes) -> Any:
    return msgpack.unpackb(
        data,
        raw=False,
        strict_map_key=False,  # _pairs_hook checks the keys
        object_pairs_hook=_pairs_hook,
        ext_hook=_ext_hook,
        timestamp=3,  # extension -1 -> datetime.datetime (UTC)
    )


# --------------------------------------------------------------------------- slow path

_S = struct.Struct
# bin 8/16/32 and str 8/16/32: the size of their length field
_LEN = {
    0xC4: _S(">B"),
    0xC5: _S(">H"),
    0xC6: _S(">I"),
    0xD9: _S(">B"),
    0xDA: _S(">H"),
    0xDB: _S(">I"),
}
_EXT_LEN = {0xC7: _S(">B"), 0xC8: _S(">H"), 0xC9: _S(">I")}
_FIXEXT_LEN = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}
_NUMBERS = {
    0xCA: _S(">f"),
    0xCB: _S(">d"),
    0xCC: _S(">B"),
    0xCD: _S(">H"),
    0xCE: _S(">I"),
    0xCF: _S(">Q"),
    0xD0: _S(">b"),
    0xD1: _S(">h"),
    0xD2: _S(">i"),
    0xD3: _S(">q"),
}
_COUNTS = {0xDC: _S(">H"), 0xDD: _S(">I"), 0xDE: _S(">H"), 0xDF: _S(">I")}
_INT64 = _S(">q")
_CONSTANTS = {0xC0: None, 0xC2: False, 0xC3: True}


def _take(buf: bytes, pos: int, size: int) -> tuple[bytes, int]:
    end = pos + size
    if end > len(buf):
        raise _error("truncated msgpack data")
    return buf[pos:end], end


def _ext(buf: bytes, pos: int, size: int, fmt: int, depth: int) -> tuple[Any, int]:
    """An extension whose type byte is at ``pos`` and whose data has ``size`` bytes."""
    if pos >= len(buf):
        raise _error("truncated msgpack data")
    code = buf[pos] - 256 if buf[pos] > 127 else buf[pos]
    data, pos = _take(buf, pos + 1, size)
    if code == 0:
        if fmt == 0xD4:  # notepack's undefined
            return (_UNDEFINED if depth == 1 else None), pos
        if fmt == 0xD7:  # notepack's Date: int64 milliseconds
            return _date(_INT64.unpack(data)[0]), pos
        return data, pos  # ArrayBuffer
    if code == -1:
        return msgpack.Timestamp.from_bytes(data).to_datetime(), pos
    raise _error(f"unsupported msgpack extension type {code}")


def _parse(buf: bytes, pos: int, depth: int) -> tuple[Any, int]:
    """Decode the value at ``pos``; return it and the position after it."""
    if pos >= len(buf):
        raise _error("truncated msgpack data")
    fmt = buf[pos]
    pos += 1
    if fmt < 0x80:
        return fmt, pos
    if fmt >= 0xE0:
        return fmt - 256, pos
    count = -1
    is_map = False
    if fmt < 0x90:
        count, is_map = fmt & 0x0F, True
    elif fmt < 0xA0:
        count = fmt & 0x0F
    elif fmt < 0xC0:
        raw, pos = _take(buf, pos, fmt & 0x1F)
        return raw.decode("utf-8"), pos
    elif fmt in _CONSTANTS:
        return _CONSTANTS[fmt], pos
    elif fmt in _NUMBERS:
        number = _NUMBERS[fmt]
        raw, pos = _take(buf, pos, number.size)
        return number.unpack(raw)[0], pos
    elif fmt in _LEN:
        length = _LEN[fmt]
        raw, pos = _take(buf, pos, length.size)
        raw, pos = _take(buf, pos, length.unpack(raw)[0])
        return (bytes(raw) if fmt < 0xC7 else raw.decode("utf-8")), pos
    elif fmt in _FIXEXT_LEN:
        return _ext(buf, pos, _FIXEXT_LEN[fmt], fmt, depth)
    elif fmt in _EXT_LEN:
        length = _EXT_LEN[fmt]
        raw, pos = _take(buf, pos, length.size)
        return _ext(buf, pos, length.unpack(raw)[0], fmt, depth)
    elif fmt in _COUNTS:
        counter = _COUNTS[fmt]
        raw, pos = _take(buf, pos, counter.size)
        count, is_map = counter.unpack(raw)[0], fmt >= 0xDE
    else:
        raise _error(f"invalid msgpack format byte 0x{fmt:02x}")
    if depth >= _MAX_DEPTH:
        raise _error("msgpack data nested too deeply")
    if count > len(buf) - pos:  # every element takes at least one byte
        raise _error("truncated msgpack data")
    depth += 1
    if is_map:
        obj: dict[str, Any] = {}
        for _ in range(count):
            key, pos = _parse(buf, pos, depth)
            if type(key) is not str:
                raise _error("msgpack map key is not a string")
            obj[key], pos = _parse(buf, pos, depth)
        return obj, pos
    items: list[Any] = []
    append = items.append
    for _ in range(count):
        item, pos = _parse(buf, pos, depth)
        append(item)
    return items, pos


def _slow_unpack(data: bytes) -> Any:
    value, pos = _parse(data, 0, 0)
    if pos != len(data):
        raise _error("trailing bytes after the msgpack data")
    return value


def unpack_js(data: bytes) -> Any:
    """Any msgpack value written by notepack.io (2.x or 3.x) or @msgpack/msgpack:
    ``undefined`` becomes None wherever it is, Dates become aware datetimes,
    ArrayBuffers bytes. Raises ValueError (or a subclass) on malformed data."""
    try:
        return _fast_unpack(data)
    except _Ambiguous:
        pass
    value = _slow_unpack(data)
    # _parse keeps a top-level-map marker for undefined at depth 1
    if isinstance(value, dict):
        return {k: (None if v is _UNDEFINED else v) for k, v in value.items()}
    if isinstance(value, list):
        return [None if v is _UNDEFINED else v for v in value]
    return None if value is _UNDEFINED else value


# --------------------------------------------------------------------------- parser


class MsgpackDecoder:
    """Decodes one msgpack message into one packet (stateless)."""

    __slots__ = ()

    def feed(self, data: str | bytes | bytearray | memoryview) -> Packet:
        if isinstance(data, str):
            raise _error("the msgpack parser takes binary messages only")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise _error(f"cannot decode a {type(data).__name__}")
        if type(data) is not bytes:
            data = bytes(data)
        try:
            try:
                obj = _fast_unpack(data)
            except _Ambiguous:
                obj = _slow_unpack(data)
        except SocketIODecodeError:
            raise
        except Exception as exc:  # malformed msgpack: ValueError, struct.error, ...
            raise _error("invalid msgpack data") from exc
        if type(obj) is not dict:
            raise _error("packet is not a msgpack map")
        code = obj.get("type")
        if type(code) is not int or code not in _DECODABLE:
            raise _error("invalid packet type")
        ptype = _TYPES[code]
        nsp = obj.get("nsp")
        if type(nsp) is not str:
            raise _error("invalid namespace")
        check_namespace(nsp, False)
        payload = obj.get("data", _UNDEFINED)
        present = payload is not _UNDEFINED
        check_data(ptype, payload, present)
        ack_id = obj.get("id", _UNDEFINED)
        if ack_id is _UNDEFINED:
            ack_id = None
        elif type(ack_id) is int:
            check_ack_id(ptype, ack_id)
        else:
            raise _error("invalid ack id")
        return Packet(ptype, nsp, payload if present else None, ack_id)


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime.datetime) and obj.utcoffset() is not None:
        ms = (obj - _EPOCH) // _ONE_MS
        return msgpack.ExtType(0, _INT64.pack(ms))  # notepack's Date (fixext 8)
    raise TypeError(f"cannot encode {type(obj).__name__} with msgpack")


class MsgpackParser:
    """The ``socket.io-msgpack-parser`` wire format (protocol 5)."""

    name = "msgpack"

    def encode(self, packet: Packet) -> list[str | bytes]:
        """One binary message: the packet as a msgpack map.

        Always exactly one ``bytes`` (typed as :class:`~hubbub.socketio.codec.Parser`
        wants). Aware datetimes become JavaScript Dates; naive ones are refused.
        """
        code = _WIRE_TYPE[packet.type]
        ack_id = packet.id
        obj: dict[str, Any] = {}
        if code == _ACK and ack_id is not None:
            obj["id"] = ack_id
        obj["type"] = code
        if packet.data is not None:
            obj["data"] = packet.data
        if ack_id is not None and code != _ACK:
            obj["id"] = ack_id
        obj["nsp"] = packet.nsp
        encoded: bytes = msgpack.packb(obj, use_bin_type=True, default=_default)
        return [encoded]

    def decoder(self) -> MsgpackDecoder:
        return MsgpackDecoder()
