"""Socket.IO msgpack parser (sans-IO), compatible with ``socket.io-msgpack-parser``.

A JavaScript client opts in with ``io(url, {parser: require("socket.io-msgpack-parser")})``.
Each packet is one binary Engine.IO message holding one msgpack map with the
keys ``type``, ``nsp``, ``data`` (left out when absent) and ``id`` (left out
when absent); unknown keys (the JS client adds ``options``) are ignored.
Binary data stays native (msgpack ``bin``): there are no attachments and no
``BINARY_EVENT`` / ``BINARY_ACK`` packets, so types 5 and 6 are sent as 2 and 3.

Maps are written in the key order the JavaScript server uses (``id`` first for
ACK, then ``type``, ``data``, ``id``, ``nsp``) so that the bytes match it.
Timestamps (msgpack extension -1, what the JS side makes of a ``Date``) decode
to aware :class:`datetime.datetime`; aware datetimes encode as timestamps.

This module needs the optional ``msgpack`` package (``pip install hubbub[msgpack]``);
import it only when the msgpack serializer is chosen.
"""

from __future__ import annotations

from typing import Any

try:
    import msgpack  # type: ignore[import-untyped, unused-ignore]
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "the msgpack Socket.IO parser needs the 'msgpack' package: pip install hubbub[msgpack]"
    ) from exc

from hubbub.protocol.socketio import (
    Packet,
    PacketType,
    SocketIODecodeError,
    check_ack_id,
    check_data,
    check_namespace,
)

__all__ = ["MsgpackDecoder", "MsgpackParser"]

_TYPES: tuple[PacketType, ...] = tuple(PacketType)
_ACK = PacketType.ACK
# what a decoded "type" may be (the JS msgpack parser knows types 0-4 only)
_DECODABLE = range(PacketType.CONNECT_ERROR + 1)
# BINARY_EVENT / BINARY_ACK do not exist here: binary stays inline
_WIRE_TYPE = (0, 1, 2, 3, 4, 2, 3)


def _pairs_hook(pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
    for key, _ in pairs:
        if type(key) is not str:
            raise SocketIODecodeError("msgpack map key is not a string")
    return dict(pairs)


def _ext_hook(code: int, data: bytes) -> Any:
    raise SocketIODecodeError(f"unsupported msgpack extension type {code}")


def _unpack(data: bytes) -> Any:
    return msgpack.unpackb(
        data,
        raw=False,
        strict_map_key=False,  # _pairs_hook checks the keys
        object_pairs_hook=_pairs_hook,
        ext_hook=_ext_hook,
        timestamp=3,  # -> datetime.datetime (UTC)
    )


class MsgpackDecoder:
    """Decodes one msgpack message into one packet (stateless)."""

    __slots__ = ()

    def feed(self, data: str | bytes) -> Packet:
        if isinstance(data, str):
            raise SocketIODecodeError("the msgpack parser takes binary messages only")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise SocketIODecodeError(f"cannot decode a {type(data).__name__}")
        try:
            obj = _unpack(data)
        except SocketIODecodeError:
            raise
        except Exception as exc:  # malformed msgpack: ValueError and friends
            raise SocketIODecodeError("invalid msgpack data") from exc
        if type(obj) is not dict:
            raise SocketIODecodeError("packet is not a msgpack map")
        code = obj.get("type")
        if type(code) is not int or code not in _DECODABLE:
            raise SocketIODecodeError("invalid packet type")
        ptype = _TYPES[code]
        nsp = obj.get("nsp")
        if type(nsp) is not str:
            raise SocketIODecodeError("invalid namespace")
        check_namespace(nsp, False)
        present = "data" in obj
        payload = obj.get("data")
        check_data(ptype, payload, present)
        ack_id: int | None = None
        if "id" in obj:
            ack_id = obj["id"]
            if type(ack_id) is not int:
                raise SocketIODecodeError("invalid ack id")
            check_ack_id(ptype, ack_id)
        return Packet(ptype, nsp, payload, ack_id)


class MsgpackParser:
    """The ``socket.io-msgpack-parser`` wire format (protocol 5)."""

    name = "msgpack"

    def encode(self, packet: Packet) -> list[str | bytes]:
        """One binary message: the packet as a msgpack map.

        (Always exactly one ``bytes``; typed as in :class:`~hubbub.protocol.socketio.Parser`.)
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
        encoded: bytes = msgpack.packb(obj, use_bin_type=True, datetime=True)
        return [encoded]

    def decoder(self) -> MsgpackDecoder:
        return MsgpackDecoder()
