"""The value encodings Node's Redis adapters and emitter put on the wire (sans-IO).

@socket.io/redis-adapter and @socket.io/redis-emitter write MessagePack with
``notepack.io`` 3.x, the streams adapter with ``@msgpack/msgpack``; both
write ``undefined`` as nil, Buffers and typed arrays as ``bin`` and Dates as
the standard timestamp extension (-1). Older notepack (2.x) used extension 0
for undefined, Dates and ArrayBuffers; :func:`unpack` reads every one of them.

The adapters also send JSON (``JSON.stringify``) for messages that hold no
binary data, and tell the two apart by the first byte (``{``). :func:`dumps`
writes JSON the way JSON.stringify does (compact, no NaN), and
:func:`has_binary` decides, as Node's ``hasBinary`` does, when MessagePack
is needed instead.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

import msgpack  # type: ignore[import-untyped, unused-ignore]

from hubbub.socketio.msgpack import unpack_js

__all__ = ["decode_any", "dumps", "has_binary", "pack", "unpack"]

_BINARY = (bytes, bytearray, memoryview)


def has_binary(value: Any) -> bool:
    """Whether ``value`` holds bytes anywhere (so JSON cannot carry it)."""
    if isinstance(value, _BINARY):
        return True
    if isinstance(value, (list, tuple)):
        return any(has_binary(v) for v in value)
    if isinstance(value, dict):
        return any(has_binary(v) for v in value.values())
    return False


def _default(obj: Any) -> Any:
    if isinstance(obj, datetime.datetime):
        if obj.tzinfo is None:
            raise TypeError("naive datetimes cannot cross the cluster: give them a timezone")
        return msgpack.Timestamp.from_datetime(obj)
    if isinstance(obj, (set, frozenset)):
        return list(obj)
    raise TypeError(f"cannot encode {type(obj).__name__} for the cluster")


def pack(value: Any) -> bytes:
    """MessagePack as notepack.io 3.x writes it (bytes as bin, datetimes as timestamps)."""
    packed: bytes = msgpack.packb(value, use_bin_type=True, default=_default, datetime=False)
    return packed


def unpack(data: bytes) -> Any:
    """Any MessagePack a Node adapter or emitter wrote; ValueError when malformed."""
    return unpack_js(bytes(data))


def _json_default(obj: Any) -> Any:
    if isinstance(obj, datetime.datetime):
        # what JSON.stringify makes of a Date
        if obj.tzinfo is not None:
            obj = obj.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        return obj.isoformat(timespec="milliseconds") + "Z"
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"cannot encode {type(obj).__name__} for the cluster")


def dumps(value: Any) -> bytes:
    """JSON as JSON.stringify writes it (compact, UTF-8)."""
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_json_default
    ).encode()


def decode_any(data: bytes) -> Any:
    """A message that is JSON when it starts with ``{`` and MessagePack otherwise,
    as the Node adapters decide. ValueError when malformed."""
    if data[:1] == b"{":
        return json.loads(data)
    return unpack(data)
