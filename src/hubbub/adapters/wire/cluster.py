"""The message format of socket.io-adapter's ClusterAdapter (sans-IO), used by
@socket.io/redis-adapter's sharded adapter and @socket.io/redis-streams-adapter.

A message is ``{uid, nsp, type, data}`` with a numeric :class:`MessageType`;
responses go to the requester only. How a message travels differs:

* sharded pub/sub (SPUBLISH): the whole message as JSON, or as MessagePack
  (notepack) when its data holds binary; receivers tell them apart by the
  first byte (:func:`encode_sharded`, :func:`decode_message`);
* Redis streams: a stream entry with the string fields ``uid``, ``nsp``,
  ``type`` (the number as text) and ``data`` (JSON, or base64 of MessagePack
  when binary) (:func:`encode_stream_entry`, :func:`decode_stream_entry`);
  the ephemeral messages and every response go over pub/sub as MessagePack
  maps (:func:`encode_msgpack`).
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
from typing import Any

from hubbub.adapters.wire.broadcast import ClusterDecodeError
from hubbub.adapters.wire.notepack import decode_any, dumps, has_binary, pack, unpack

__all__ = [
    "MessageType",
    "decode_message",
    "decode_stream_entry",
    "encode_msgpack",
    "encode_sharded",
    "encode_stream_entry",
    "is_ephemeral",
    "looks_like_socket_id",
    "next_stream_id",
    "parse_stream_id",
]


class MessageType(enum.IntEnum):
    INITIAL_HEARTBEAT = 1
    HEARTBEAT = 2
    BROADCAST = 3
    SOCKETS_JOIN = 4
    SOCKETS_LEAVE = 5
    DISCONNECT_SOCKETS = 6
    FETCH_SOCKETS = 7
    FETCH_SOCKETS_RESPONSE = 8
    SERVER_SIDE_EMIT = 9
    SERVER_SIDE_EMIT_RESPONSE = 10
    BROADCAST_CLIENT_COUNT = 11
    BROADCAST_ACK = 12
    ADAPTER_CLOSE = 13


RESPONSE_TYPES = frozenset(
    {
        MessageType.FETCH_SOCKETS_RESPONSE,
        MessageType.SERVER_SIDE_EMIT_RESPONSE,
        MessageType.BROADCAST_CLIENT_COUNT,
        MessageType.BROADCAST_ACK,
    }
)

# the only types whose data may hold binary (so the only ones Node checks)
_MAY_HOLD_BINARY = frozenset(
    {
        MessageType.BROADCAST,
        MessageType.BROADCAST_ACK,
        MessageType.FETCH_SOCKETS_RESPONSE,
        MessageType.SERVER_SIDE_EMIT,
        MessageType.SERVER_SIDE_EMIT_RESPONSE,
    }
)


def looks_like_socket_id(room: str) -> bool:
    """Node's test for "this room is a socket's own room" (ids are 20 characters)."""
    return len(room) == 20


def is_ephemeral(message: dict[str, Any]) -> bool:
    """Messages the streams adapter sends over pub/sub instead of the stream:
    nobody will ever need to replay them."""
    mtype = message.get("type")
    if mtype == MessageType.BROADCAST:
        data = message.get("data") or {}
        return isinstance(data, dict) and data.get("requestId") is not None
    return mtype in (MessageType.SERVER_SIDE_EMIT, MessageType.FETCH_SOCKETS)


def _binary(message: dict[str, Any]) -> bool:
    return message.get("type") in _MAY_HOLD_BINARY and has_binary(message.get("data"))


def encode_sharded(message: dict[str, Any]) -> bytes:
    return pack(message) if _binary(message) else dumps(message)


def encode_msgpack(message: dict[str, Any]) -> bytes:
    return pack(message)


def _check(message: Any) -> dict[str, Any]:
    if not isinstance(message, dict):
        raise ClusterDecodeError("a cluster message is not an object")
    mtype = message.get("type")
    if isinstance(mtype, bool) or not isinstance(mtype, int):
        raise ClusterDecodeError("a cluster message without a numeric type")
    if not isinstance(message.get("uid"), str) or not isinstance(message.get("nsp"), str):
        raise ClusterDecodeError("a cluster message without uid or nsp")
    data = message.get("data")
    if data is not None and not isinstance(data, dict):
        raise ClusterDecodeError("cluster message data is not an object")
    return message


def decode_message(data: bytes) -> dict[str, Any]:
    """A pub/sub message: JSON or MessagePack."""
    try:
        message = decode_any(data)
    except ValueError as exc:
        raise ClusterDecodeError(f"undecodable cluster message: {exc}") from exc
    return _check(message)


def encode_stream_entry(message: dict[str, Any]) -> dict[str, str]:
    entry = {
        "uid": str(message["uid"]),
        "nsp": str(message["nsp"]),
        "type": str(int(message["type"])),
    }
    data = message.get("data")
    if data:
        if _binary(message):
            entry["data"] = base64.b64encode(pack(data)).decode("ascii")
        else:
            entry["data"] = dumps(data).decode()
    return entry


def _text(value: Any) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode()
    if isinstance(value, str):
        return value
    raise ClusterDecodeError("a stream field is not text")


def decode_stream_entry(fields: dict[Any, Any]) -> dict[str, Any]:
    """A stream entry's fields (bytes or str keys and values) as a message."""
    try:
        raw = {_text(k): _text(v) for k, v in fields.items()}
        mtype = int(raw.get("type", ""))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ClusterDecodeError(f"malformed stream entry: {exc}") from exc
    message: dict[str, Any] = {"uid": raw.get("uid"), "nsp": raw.get("nsp"), "type": mtype}
    data = raw.get("data")
    if data:
        try:
            if data.startswith("{"):
                message["data"] = json.loads(data)
            else:
                message["data"] = unpack(base64.b64decode(data, validate=True))
        except (ValueError, binascii.Error) as exc:
            raise ClusterDecodeError(f"undecodable stream entry data: {exc}") from exc
    return _check(message)


def parse_stream_id(entry_id: str) -> tuple[int, int]:
    """A stream entry id ``<ms>-<seq>`` as a comparable pair; ValueError if not one."""
    ms, sep, seq = entry_id.partition("-")
    if not sep or not ms.isdigit() or not seq.isdigit():
        raise ValueError(f"not a stream id: {entry_id!r}")
    return int(ms), int(seq)


def next_stream_id(entry_id: str) -> str:
    """The smallest id after ``entry_id`` (an exclusive XRANGE start for any Redis)."""
    ms, seq = parse_stream_id(entry_id)
    return f"{ms}-{seq + 1}"
