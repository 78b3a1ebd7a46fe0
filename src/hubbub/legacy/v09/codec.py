"""Socket.IO 0.9 ("protocol 1") packets and payload framing, sans-IO.

The wire format of the 2012 protocol spoken by socket.io-client 0.9.x and
gevent-socketio (LearnBoost/socket.io-spec)::

    [type] ':' [id ('+')] ':' [endpoint] (':' [data])

    0::/chat                      disconnect /chat (0 alone: the whole socket)
    1::/chat?token=abc            connect to /chat with a query
    2::                           heartbeat
    3:1::hello                    message, id 1 (acknowledged automatically)
    4:1+::{"a":"b"}               JSON message, id 1, the app answers the ack
    5:::{"name":"ev","args":[1]}  event
    6:::4+["A","B"]               ack of packet 4 with data
    7::/chat:2+0                  error: reason 2 (unauthorized), advice 0 (reconnect)
    8::                           noop

Several packets in one polling body are framed as ``\\ufffd<len>\\ufffd<packet>``
where ``len`` counts UTF-16 code units, as JavaScript's ``String.length``
does: a character outside the BMP counts twice.

Decoding raises only :class:`LegacyDecodeError`.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hubbub import jsonmod
from hubbub.socketio.codec import MAX_NAMESPACE_LENGTH

__all__ = [
    "ADVICE",
    "REASONS",
    "LegacyDecodeError",
    "LegacyPacket",
    "LegacyType",
    "decode_packet",
    "decode_payload",
    "encode_packet",
    "encode_payload",
    "utf16_len",
]

#: Error reasons and advice, by their index on the wire.
REASONS = ("transport not supported", "client not handshaken", "unauthorized")
ADVICE = ("reconnect",)

#: Largest message id accepted (JavaScript's Number.MAX_SAFE_INTEGER).
MAX_ID = 2**53 - 1

JsonLoads = Callable[[str], Any]
JsonDumps = Callable[[Any], str]


class LegacyDecodeError(ValueError):
    """Malformed 0.9 packet or payload."""


class LegacyType(enum.IntEnum):
    DISCONNECT = 0
    CONNECT = 1
    HEARTBEAT = 2
    MESSAGE = 3
    JSON = 4
    EVENT = 5
    ACK = 6
    ERROR = 7
    NOOP = 8


@dataclass(slots=True)
class LegacyPacket:
    """One 0.9 packet. Which fields matter depends on ``type``:

    * MESSAGE: ``data`` (str); JSON: ``data`` (any JSON value);
    * EVENT: ``name`` and ``args``;
    * ACK: ``ack_id`` and ``args``;
    * CONNECT: ``query`` (the query string after the endpoint, without '?');
    * ERROR: ``reason`` and ``advice`` (names from REASONS / ADVICE, or the
      raw text when the peer sent something else).

    ``id`` with ``ack="data"`` (``1+``) asks the application for an answer;
    with ``ack=True`` (plain ``1``) the receiver acknowledges by itself.
    """

    type: LegacyType
    endpoint: str = ""
    id: int | None = None
    ack: str | bool | None = None
    data: Any = None
    name: str = ""
    args: list[Any] = field(default_factory=list)
    ack_id: int | None = None
    query: str = ""
    reason: str = ""
    advice: str = ""


_TYPES = tuple(LegacyType)
_ID = re.compile(r"[0-9]{1,16}")
_ACK_DATA = re.compile(r"([0-9]{1,16})(\+)?(.*)", re.S)


def _parse_id(text: str) -> int:
    if not _ID.fullmatch(text):
        raise LegacyDecodeError(f"bad message id {text[:20]!r}")
    value = int(text)
    if value > MAX_ID:
        raise LegacyDecodeError("message id too large")
    return value


def decode_packet(text: str, loads: JsonLoads = jsonmod.loads) -> LegacyPacket:
    """One packet from its text form."""
    # type ':' id ['+'] ':' endpoint [':' data]; the data may hold colons
    first = text.find(":")
    if first == -1:
        # "0" alone (disconnect the whole socket) and bare digits are tolerated
        type_text, rest = text, None
    else:
        type_text, rest = text[:first], text[first + 1 :]
    if len(type_text) != 1 or type_text not in "012345678":
        raise LegacyDecodeError(f"unknown packet type {type_text[:10]!r}")
    ptype = _TYPES[int(type_text)]
    packet = LegacyPacket(ptype)
    if rest is None:
        return packet
    second = rest.find(":")
    if second == -1:
        raise LegacyDecodeError("missing endpoint separator")
    id_text, rest = rest[:second], rest[second + 1 :]
    if id_text:
        if id_text.endswith("+"):
            packet.id = _parse_id(id_text[:-1])
            packet.ack = "data"
        else:
            packet.id = _parse_id(id_text)
            packet.ack = True
    third = rest.find(":")
    if third == -1:
        endpoint, data = rest, ""
    else:
        endpoint, data = rest[:third], rest[third + 1 :]
    if ptype is LegacyType.CONNECT:
        # the spec's form is "1::/chat?q=1"; Node's encoder wrote "1::/chat:?q=1"
        endpoint, _, query = endpoint.partition("?")
        packet.query = query or data.lstrip("?")
    if len(endpoint) > MAX_NAMESPACE_LENGTH:
        raise LegacyDecodeError("endpoint name too long")
    packet.endpoint = endpoint
    if ptype is LegacyType.MESSAGE:
        packet.data = data
    elif ptype is LegacyType.JSON:
        packet.data = _loads(loads, data)
    elif ptype is LegacyType.EVENT:
        ev = _loads(loads, data)
        if not isinstance(ev, dict) or not isinstance(ev.get("name"), str):
            raise LegacyDecodeError("an event needs a JSON object with a string name")
        args = ev.get("args", [])
        if args is None:
            args = []
        if not isinstance(args, list):
            raise LegacyDecodeError("event args must be an array")
        packet.name = ev["name"]
        packet.args = args
    elif ptype is LegacyType.ACK:
        m = _ACK_DATA.fullmatch(data)
        if m is None:
            raise LegacyDecodeError("an ack needs the acknowledged message id")
        packet.ack_id = _parse_id(m.group(1))
        if m.group(3):
            args = _loads(loads, m.group(3))
            if not isinstance(args, list):
                raise LegacyDecodeError("ack data must be an array")
            packet.args = args
    elif ptype is LegacyType.ERROR:
        reason, _, advice = data.partition("+")
        packet.reason = _name(REASONS, reason)
        packet.advice = _name(ADVICE, advice)
    return packet


def _loads(loads: JsonLoads, data: str) -> Any:
    if not data:
        raise LegacyDecodeError("missing JSON data")
    try:
        return loads(data)
    except (ValueError, TypeError) as exc:
        raise LegacyDecodeError(f"invalid JSON ({exc})") from None


def _name(table: tuple[str, ...], text: str) -> str:
    if text.isascii() and text.isdigit() and int(text) < len(table):
        return table[int(text)]
    return text


def _index(table: tuple[str, ...], name: str) -> str:
    return str(table.index(name)) if name in table else name


def encode_packet(packet: LegacyPacket, dumps: JsonDumps = jsonmod.dumps) -> str:
    """The text form of one packet."""
    ptype = packet.type
    data: str | None = None
    if ptype is LegacyType.MESSAGE:
        if packet.data not in (None, ""):
            data = str(packet.data)
    elif ptype is LegacyType.JSON:
        data = dumps(packet.data)
    elif ptype is LegacyType.EVENT:
        ev: dict[str, Any] = {"name": packet.name}
        if packet.args:
            ev["args"] = packet.args
        data = dumps(ev)
    elif ptype is LegacyType.ACK:
        data = str(packet.ack_id) + ("+" + dumps(packet.args) if packet.args else "")
    elif ptype is LegacyType.ERROR:
        reason = _index(REASONS, packet.reason)
        advice = _index(ADVICE, packet.advice)
        if reason or advice:
            data = reason + ("+" + advice if advice else "")
    endpoint = packet.endpoint
    if ptype is LegacyType.CONNECT and packet.query:
        endpoint += "?" + packet.query
    pid = "" if packet.id is None else str(packet.id)
    head = f"{int(ptype)}:{pid}{'+' if packet.ack == 'data' else ''}:{endpoint}"
    return head if data is None else head + ":" + data


def utf16_len(text: str) -> int:
    """JavaScript's ``text.length``: UTF-16 code units."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def encode_payload(messages: list[str]) -> str:
    """A polling body: one packet as it is, several framed."""
    if len(messages) == 1:
        return messages[0]
    return "".join(f"\ufffd{utf16_len(m)}\ufffd{m}" for m in messages)


def decode_payload(text: str) -> list[str]:
    """The packets of a polling body (framed or a single packet)."""
    if not text.startswith("\ufffd"):
        return [text] if text else []
    if text.isascii() or utf16_len(text) == len(text):
        return _split_units(lambda i: text[i], len(text), lambda start, end: text[start:end])
    # characters outside the BMP: count in UTF-16 code units
    units = text.encode("utf-16-le", "surrogatepass")

    def piece(start: int, end: int) -> str:
        chunk = units[start * 2 : end * 2]
        try:
            return chunk.decode("utf-16-le")
        except UnicodeDecodeError:
            raise LegacyDecodeError("a frame length splits a character") from None

    def unit(i: int) -> str:
        return units[i * 2 : i * 2 + 2].decode("utf-16-le", "surrogatepass")

    return _split_units(unit, len(units) // 2, piece)


def _split_units(
    unit: Callable[[int], str], total: int, piece: Callable[[int, int], str]
) -> list[str]:
    out: list[str] = []
    i = 0
    while i < total:
        if unit(i) != "\ufffd":
            raise LegacyDecodeError("expected a frame marker")
        i += 1
        digits_start = i
        length_text = ""
        while i < total and unit(i) != "\ufffd":
            length_text += unit(i)
            i += 1
            if i - digits_start > 9:
                raise LegacyDecodeError("frame length too long")
        if i >= total or not (length_text.isascii() and length_text.isdigit()):
            raise LegacyDecodeError("bad frame length")
        i += 1
        length = int(length_text)
        if i + length > total:
            raise LegacyDecodeError("frame longer than the payload")
        out.append(piece(i, i + length))
        i += length
    return out
