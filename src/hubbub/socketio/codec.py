"""Socket.IO packet codec (sans-IO): the default JSON parser, protocols 4 and 5.

This is the wire format of ``socket.io-parser`` (4.x for protocol 5, used by
the JavaScript clients 3.x and 4.x; 3.x for protocol 4, used by the clients
2.x). Every Socket.IO packet travels as one Engine.IO message::

    <type>[<attachments>-][<nsp>,][<ack id>][<JSON data>]

followed, for ``BINARY_EVENT`` and ``BINARY_ACK``, by the binary attachments,
one Engine.IO binary message each. In the JSON the attachments are
represented by ``{"_placeholder":true,"num":<index>}``.

Examples (protocol 5)::

    0                                    CONNECT "/"
    0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}
    4{"message":"Not authorized"}        CONNECT_ERROR (protocol 4: 4"Not authorized")
    2/admin,12["project:delete",123]     EVENT with ack id 12
    51-["baz",{"_placeholder":true,"num":0}]  + <01 02 03 04>

:class:`Packet` is shared by every parser (see also
:mod:`hubbub.socketio.msgpack`). Decoded binary packets come out as
``EVENT`` / ``ACK`` with :class:`bytes` in place of the placeholders, as the
reference decoder does; :meth:`JsonParser.encode` turns an ``EVENT`` / ``ACK``
whose data holds bytes into ``BINARY_EVENT`` / ``BINARY_ACK`` by itself.

Decoding is at least as strict as ``socket.io-parser`` 4.x and raises only
:class:`SocketIODecodeError`.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hubbub import jsonmod

__all__ = [
    "DEFAULT_MAX_ATTACHMENTS",
    "MAX_ACK_ID",
    "RESERVED_EVENTS",
    "Decoder",
    "JsonDecoder",
    "JsonParser",
    "Packet",
    "PacketType",
    "Parser",
    "SocketIODecodeError",
    "check_ack_id",
    "check_data",
    "check_event",
    "check_namespace",
]


class SocketIODecodeError(ValueError):
    """The one error type of the Socket.IO decoders (JSON and msgpack)."""


class PacketType(enum.IntEnum):
    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


@dataclass(slots=True)
class Packet:
    type: PacketType
    nsp: str = "/"
    # None means absent ("undefined"). EVENT: [event, *args]; ACK: [*args];
    # CONNECT: auth / {"sid": ...}; CONNECT_ERROR: {"message": ...} (protocol 5)
    # or a str (protocol 4). bytes may appear anywhere inside for binary data.
    data: Any = None
    id: int | None = None


class Decoder(Protocol):
    def feed(self, data: str | bytes) -> Packet | None:
        """Take one Engine.IO message; return a complete packet, or None while
        binary attachments are still awaited. Raises SocketIODecodeError."""
        ...


class Parser(Protocol):
    name: str

    def encode(self, packet: Packet) -> list[str | bytes]:
        """The Engine.IO messages that carry ``packet``, in order."""
        ...

    def decoder(self) -> Decoder:
        """A new decoder, one per connection (it holds partial binary packets)."""
        ...


# --------------------------------------------------------------------------- shared rules

#: Event names the reference decoder (socket.io-parser 4.x) refuses.
RESERVED_EVENTS = frozenset(
    {
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    }
)


def check_event(event: str) -> None:
    """Refuse, before anything is sent, an event name a client could not
    tell from the protocol's own (TypeError, ValueError)."""
    if not isinstance(event, str):
        raise TypeError("the event name must be a string")
    if event in RESERVED_EVENTS:
        raise ValueError(f"{event!r} is a reserved event name")


#: Longest namespace name accepted: a dynamic namespace keeps a child (and an
#: adapter) per name, so names stay short.
MAX_NAMESPACE_LENGTH = 256

#: Largest ack id accepted (JavaScript's Number.MAX_SAFE_INTEGER).
MAX_ACK_ID = 2**53 - 1
#: Default bound on binary attachments per packet (the reference's default).
DEFAULT_MAX_ATTACHMENTS = 10

_TYPES: tuple[PacketType, ...] = tuple(PacketType)
_CONNECT = PacketType.CONNECT
_DISCONNECT = PacketType.DISCONNECT
_EVENT = PacketType.EVENT
_ACK = PacketType.ACK
_CONNECT_ERROR = PacketType.CONNECT_ERROR
_BINARY_EVENT = PacketType.BINARY_EVENT
_BINARY_ACK = PacketType.BINARY_ACK
_BINARY_TYPES = (_BINARY_EVENT, _BINARY_ACK)
_WITH_ID = frozenset({_EVENT, _ACK, _BINARY_EVENT, _BINARY_ACK})
_BYTES_TYPES = (bytes, bytearray, memoryview)
_DIGITS = frozenset("0123456789")
_MAX_ID_DIGITS = len(str(MAX_ACK_ID))
_MAX_COUNT_DIGITS = 9


def _error(message: str) -> SocketIODecodeError:
    return SocketIODecodeError(message)


def _is_number(value: object) -> bool:
    return (type(value) is int or type(value) is float) and value == value  # not NaN


def check_data(ptype: PacketType, data: Any, present: bool) -> None:
    """Raise SocketIODecodeError unless ``data`` suits a decoded packet of ``ptype``.

    ``present`` tells an absent payload from a present ``null``. Binary types
    follow the rules of their plain counterparts.
    """
    if not present:
        if ptype is _CONNECT or ptype is _DISCONNECT:
            return
        raise _error(f"{ptype.name} packet without payload")
    if ptype is _EVENT or ptype is _BINARY_EVENT:
        if type(data) is list and data:
            name = data[0]
            if type(name) is str:
                if name in RESERVED_EVENTS:
                    raise _error(f"reserved event name {name!r}")
                return
            if _is_number(name):
                return
        raise _error("invalid EVENT payload")
    if ptype is _ACK or ptype is _BINARY_ACK:
        if type(data) is list:
            return
        raise _error("invalid ACK payload")
    if ptype is _CONNECT:
        if type(data) is dict:
            return
        raise _error("invalid CONNECT payload")
    if ptype is _CONNECT_ERROR:
        if type(data) is dict or type(data) is str:
            return
        raise _error("invalid CONNECT_ERROR payload")
    raise _error(f"{ptype.name} packet with a payload")


def check_namespace(nsp: str, allow_query: bool) -> None:
    if nsp[:1] != "/":
        raise _error("invalid namespace")
    if "?" in nsp:
        if not allow_query:
            raise _error("query string in namespace")
        nsp = nsp[: nsp.index("?")]
    if len(nsp) > MAX_NAMESPACE_LENGTH:
        raise _error("namespace name too long")


def check_ack_id(ptype: PacketType, ack_id: int) -> None:
    if ptype not in _WITH_ID:
        raise _error(f"{ptype.name} packet with an ack id")
    if not 0 <= ack_id <= MAX_ACK_ID:
        raise _error("ack id out of range")


# --------------------------------------------------------------------------- binary helpers


# the JSON scalar types: never binary, never containers (exact types only:
# subclasses take the isinstance checks below)
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _has_binary(data: Any) -> bool:
    # Runs on every EVENT and ACK encoded: scalars are skipped by their exact
    # type, without a call or a generator per item.
    kind = type(data)
    if kind in _SCALARS:
        return False
    if kind is list or kind is tuple:
        items: Any = data
    elif kind is dict:
        items = data.values()
    elif isinstance(data, _BYTES_TYPES):
        return True
    elif isinstance(data, (list, tuple)):
        items = data
    elif isinstance(data, dict):
        items = data.values()
    else:
        return False
    scalars = _SCALARS
    for item in items:  # noqa: SIM110 - any() over a generator is slower here
        if type(item) not in scalars and _has_binary(item):
            return True
    return False


def _deconstruct(data: Any, buffers: list[bytes]) -> Any:
    """A copy of ``data`` with each bytes-like replaced by a numbered placeholder."""
    if isinstance(data, _BYTES_TYPES):
        placeholder = {"_placeholder": True, "num": len(buffers)}
        buffers.append(data if type(data) is bytes else bytes(data))
        return placeholder
    if isinstance(data, (list, tuple)):
        return [_deconstruct(item, buffers) for item in data]
    if isinstance(data, dict):
        return {key: _deconstruct(value, buffers) for key, value in data.items()}
    return data


def _resolve(placeholder: dict[str, Any], buffers: list[bytes]) -> bytes:
    num = placeholder.get("num")
    if type(num) is int and 0 <= num < len(buffers):
        return buffers[num]
    raise _error("illegal attachment placeholder")


def _reconstruct(data: Any, buffers: list[bytes]) -> Any:
    """Put the attachments in place of their placeholders, in place (iteratively)."""
    if type(data) is dict:
        if data.get("_placeholder") is True:
            return _resolve(data, buffers)
    elif type(data) is not list:
        return data
    stack: list[Any] = [data]
    pop = stack.pop
    push = stack.append
    while stack:
        container = pop()
        items = enumerate(container) if type(container) is list else container.items()
        for key, value in items:
            kind = type(value)
            if kind is dict:
                if value.get("_placeholder") is True:
                    container[key] = _resolve(value, buffers)
                else:
                    push(value)
            elif kind is list:
                push(value)
    return data


# --------------------------------------------------------------------------- JSON parser


class JsonParser:
    """The default parser (``socket.io-parser``), protocol 5 or 4."""

    name = "json"

    def __init__(
        self,
        protocol: int = 5,
        dumps: Callable[[Any], str] | None = None,
        loads: Callable[[str], Any] | None = None,
        *,
        max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
    ) -> None:
        if protocol != 5 and protocol != 4:
            raise ValueError(f"unsupported Socket.IO protocol: {protocol!r}")
        if max_attachments < 0:
            raise ValueError("max_attachments must be >= 0")
        self.protocol = protocol
        self.dumps: Callable[[Any], str] = dumps if dumps is not None else jsonmod.dumps
        self.loads: Callable[[str], Any] = loads if loads is not None else jsonmod.loads
        self.max_attachments = max_attachments

    def encode(self, packet: Packet) -> list[str | bytes]:
        """Encode ``packet``: one text message, then any binary attachments.

        ``data`` is written as given (None: left out); an ``EVENT`` / ``ACK``
        holding bytes, bytearray or memoryview anywhere is sent as
        ``BINARY_EVENT`` / ``BINARY_ACK``.
        """
        ptype = _TYPES[packet.type]
        data = packet.data
        if (ptype is _EVENT or ptype is _ACK) and _has_binary(data):
            ptype = _BINARY_EVENT if ptype is _EVENT else _BINARY_ACK
        elif ptype not in _BINARY_TYPES:
            # _header inlined: this is the path of nearly every packet
            head = "0123456"[ptype]
            nsp = packet.nsp
            if nsp and nsp != "/":
                head += nsp + ","
            if packet.id is not None:
                head += str(packet.id)
            return [head if data is None else head + self.dumps(data)]
        buffers: list[bytes] = []
        data = _deconstruct(data, buffers)
        head = self._header(ptype, f"{len(buffers)}-", packet)
        messages: list[str | bytes] = [head + ("" if data is None else self.dumps(data))]
        messages.extend(buffers)
        return messages

    @staticmethod
    def _header(ptype: PacketType, attachments: str, packet: Packet) -> str:
        head = "0123456"[ptype] + attachments
        nsp = packet.nsp
        if nsp and nsp != "/":
            head += nsp + ","
        if packet.id is not None:
            head += str(packet.id)
        return head

    def decoder(self) -> JsonDecoder:
        return JsonDecoder(self)


class _Partial:
    """A binary packet waiting for its attachments."""

    __slots__ = ("buffers", "packet", "want")

    def __init__(self, packet: Packet, want: int) -> None:
        self.packet = packet
        self.buffers: list[bytes] = []
        self.want = want


class JsonDecoder:
    """Decodes one connection's messages; holds a binary packet until its
    attachments have all arrived.

    Two slots, as every connection keeps one: the parser it reads its
    settings from, and the partial packet, made only while one waits."""

    __slots__ = ("_parser", "_partial")

    def __init__(self, parser: JsonParser) -> None:
        self._parser = parser
        self._partial: _Partial | None = None

    @property
    def awaiting(self) -> int:
        """How many attachments the packet in progress still needs (0: none)."""
        partial = self._partial
        return partial.want - len(partial.buffers) if partial is not None else 0

    def reset(self) -> None:
        """Drop a partially received binary packet."""
        self._partial = None

    def feed(self, data: str | bytes | bytearray | memoryview) -> Packet | None:
        try:
            if isinstance(data, str):
                if self._partial is not None:
                    raise _error("text message while awaiting binary attachments")
                return self._decode_text(data)
            if isinstance(data, _BYTES_TYPES):
                return self._take_attachment(data if type(data) is bytes else bytes(data))
            raise _error(f"cannot decode a {type(data).__name__}")
        except SocketIODecodeError:
            self.reset()
            raise

    def _take_attachment(self, data: bytes) -> Packet | None:
        partial = self._partial
        if partial is None:
            raise _error("binary message while no attachments are awaited")
        packet = partial.packet
        buffers = partial.buffers
        buffers.append(data)
        if len(buffers) < partial.want:
            return None
        packet.data = _reconstruct(packet.data, buffers)
        self.reset()
        return packet

    def _decode_text(self, text: str) -> Packet | None:
        end = len(text)
        if not end:
            raise _error("empty packet")
        code = "0123456".find(text[0])
        if code < 0:
            raise _error("invalid packet type")
        ptype = _TYPES[code]
        i = 1
        attachments = 0
        if ptype is _BINARY_EVENT or ptype is _BINARY_ACK:
            while i < end and text[i] in _DIGITS:
                i += 1
            if i == 1 or i >= end or text[i] != "-" or i > 1 + _MAX_COUNT_DIGITS:
                raise _error("illegal attachments")
            attachments = int(text[1:i])
            if attachments > self._parser.max_attachments:
                raise _error("too many attachments")
            i += 1
        nsp = "/"
        if i < end and text[i] == "/":
            comma = text.find(",", i)
            if comma < 0:
                nsp = text[i:]
                i = end
            else:
                nsp = text[i:comma]
                i = comma + 1
            check_namespace(nsp, self._parser.protocol == 4)
        ack_id: int | None = None
        start = i
        while i < end and text[i] in _DIGITS:
            i += 1
        if i > start:
            if i - start > _MAX_ID_DIGITS:
                raise _error("ack id out of range")
            ack_id = int(text[start:i])
            if ptype not in _WITH_ID or ack_id > MAX_ACK_ID:  # check_ack_id, inlined
                check_ack_id(ptype, ack_id)
        payload: Any = None
        present = i < end
        if present:
            try:
                payload = self._parser.loads(text[i:])
            except Exception as exc:  # any JSON error; also RecursionError
                raise _error("invalid JSON payload") from exc
        if (
            ptype is _EVENT
            and type(payload) is list
            and payload
            and type(payload[0]) is str
            and payload[0] not in RESERVED_EVENTS
        ):
            pass  # check_data's verdict on the usual EVENT, without the call
        else:
            check_data(ptype, payload, present)
        if ptype is _BINARY_EVENT or ptype is _BINARY_ACK:
            packet = Packet(_EVENT if ptype is _BINARY_EVENT else _ACK, nsp, payload, ack_id)
            if attachments == 0:
                packet.data = _reconstruct(payload, [])
                return packet
            self._partial = _Partial(packet, attachments)
            return None
        return Packet(ptype, nsp, payload, ack_id)
