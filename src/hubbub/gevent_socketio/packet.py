"""gevent-socketio's packet dicts (``socketio.packet``) on hubbub's 0.9 codec.

A packet is a dict: ``type`` (a name from :data:`MSG_TYPES`), ``endpoint``,
and by type ``data`` (message, json), ``name`` and ``args`` (event),
``ackId`` and ``args`` (ack), ``reason`` and ``advice`` (error), ``qs``
(connect), plus ``id`` and ``ack`` (``True`` for a plain id, ``"data"`` for
``<id>+``) on messages, JSON messages and events::

    >>> encode({"type": "event", "name": "chat", "args": ["hi"], "endpoint": "/chat"})
    '5::/chat:{"args":["hi"],"name":"chat"}'
    >>> decode('4:1+::{"a":"b"}')
    {'type': 'json', 'endpoint': '', 'id': 1, 'ack': 'data', 'data': {'a': 'b'}}

The wire form follows the Socket.IO 0.9 spec where gevent-socketio did not:
an error packet is ``7::<endpoint>:<reason>+<advice>`` (gevent-socketio put
the endpoint last), a connect packet's query goes right after the endpoint
(``1::/chat?a=1``; both forms are read), and malformed input raises
:class:`~hubbub.legacy.v09.codec.LegacyDecodeError` (a ``ValueError``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hubbub.gevent_socketio.defaultjson import default_json_dumps, default_json_loads
from hubbub.legacy.v09.codec import (
    ADVICE,
    REASONS,
    LegacyDecodeError,
    LegacyPacket,
    LegacyType,
    decode_packet,
    encode_packet,
)

__all__ = [
    "ADVICES_VALUES",
    "ERROR_ADVICES",
    "ERROR_REASONS",
    "MSG_TYPES",
    "MSG_VALUES",
    "REASONS_VALUES",
    "LegacyDecodeError",
    "decode",
    "encode",
]

MSG_TYPES: dict[str, int] = {t.name.lower(): int(t) for t in LegacyType}
MSG_VALUES: dict[int, str] = {v: k for k, v in MSG_TYPES.items()}
ERROR_REASONS: dict[str, int] = {name: i for i, name in enumerate(REASONS)}
REASONS_VALUES: dict[int, str] = {v: k for k, v in ERROR_REASONS.items()}
ERROR_ADVICES: dict[str, int] = {name: i for i, name in enumerate(ADVICE)}
ADVICES_VALUES: dict[int, str] = {v: k for k, v in ERROR_ADVICES.items()}

socketio_packet_attributes = [
    "type", "name", "data", "endpoint", "args", "ackId", "reason", "advice", "qs", "id",
]

# the packet types that carry a message id
_WITH_ID = (LegacyType.MESSAGE, LegacyType.JSON, LegacyType.EVENT)


def encode(data: Mapping[str, Any], json_dumps: Callable[[Any], str] = default_json_dumps) -> str:
    """The wire form of a packet dict (``KeyError`` for an unknown type)."""
    ptype = LegacyType(MSG_TYPES[data["type"]])
    packet = LegacyPacket(ptype, endpoint=data.get("endpoint") or "")
    if ptype in _WITH_ID and data.get("id") is not None:
        packet.id = int(data["id"])
        packet.ack = "data" if data.get("ack") == "data" else True
    if ptype is LegacyType.CONNECT:
        packet.query = str(data.get("qs") or "").lstrip("?")
    elif ptype is LegacyType.MESSAGE:
        packet.data = data.get("data", "")
    elif ptype is LegacyType.JSON:
        packet.data = data.get("data")
    elif ptype is LegacyType.EVENT:
        packet.name = data["name"]
        packet.args = list(data.get("args") or ())
    elif ptype is LegacyType.ACK:
        packet.ack_id = int(data["ackId"])
        packet.args = list(data.get("args") or ())
    elif ptype is LegacyType.ERROR:
        packet.reason = data.get("reason") or ""
        packet.advice = data.get("advice") or ""
    return encode_packet(packet, json_dumps)


def decode(
    rawstr: str | bytes, json_loads: Callable[[str], Any] = default_json_loads
) -> dict[str, Any]:
    """A packet dict from its wire form; raises LegacyDecodeError."""
    if isinstance(rawstr, (bytes, bytearray)):
        try:
            rawstr = bytes(rawstr).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise LegacyDecodeError(f"not UTF-8 ({exc})") from None
    packet = decode_packet(rawstr, json_loads)
    out: dict[str, Any] = {"type": MSG_VALUES[packet.type], "endpoint": packet.endpoint}
    if packet.id is not None:
        out["id"] = packet.id
        out["ack"] = packet.ack
    ptype = packet.type
    if ptype is LegacyType.CONNECT:
        out["qs"] = "?" + packet.query if packet.query else ""
    elif ptype in (LegacyType.MESSAGE, LegacyType.JSON):
        out["data"] = packet.data
    elif ptype is LegacyType.EVENT:
        out["name"] = packet.name
        out["args"] = packet.args
    elif ptype is LegacyType.ACK:
        out["ackId"] = packet.ack_id
        out["args"] = packet.args
    elif ptype is LegacyType.ERROR:
        out["reason"] = packet.reason
        out["advice"] = packet.advice
    return out
