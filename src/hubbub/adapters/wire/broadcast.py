"""Packets and broadcast options as socket.io's adapters exchange them (sans-IO).

Every Node adapter sends the socket.io-parser packet object
(``{type, data, nsp[, id]}``) and the broadcast options as
``{rooms: [...], except: [...], flags: {...}}`` with the timeout flag in
milliseconds. These helpers convert both ways and validate what comes in:
a message from another process is untrusted input, so anything malformed
raises :class:`ClusterDecodeError` and is dropped by the caller.
"""

from __future__ import annotations

from typing import Any

from hubbub.socketio.codec import Packet, PacketType
from hubbub.types import BroadcastFlags, BroadcastOptions

__all__ = [
    "ClusterDecodeError",
    "opts_from_wire",
    "opts_to_wire",
    "packet_from_wire",
    "packet_to_wire",
    "rooms_from_wire",
]


class ClusterDecodeError(ValueError):
    """A message from another member of the cluster is malformed."""


def packet_to_wire(packet: Packet, with_id: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"type": int(packet.type), "data": packet.data, "nsp": packet.nsp}
    if with_id and packet.id is not None:
        out["id"] = packet.id
    return out


def packet_from_wire(obj: Any, nsp: str) -> Packet:
    """An EVENT packet for namespace ``nsp`` (a missing nsp means "/", as in Node)."""
    if not isinstance(obj, dict):
        raise ClusterDecodeError("packet is not an object")
    ptype = obj.get("type")
    # BINARY_EVENT comes from older servers: binary data stays inline here
    if ptype not in (PacketType.EVENT, PacketType.BINARY_EVENT):
        raise ClusterDecodeError(f"not an event packet: {ptype!r}")
    data = obj.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise ClusterDecodeError("event packet without an event name")
    packet_nsp = obj.get("nsp", "/")
    if packet_nsp is None:
        packet_nsp = "/"
    if packet_nsp != nsp:
        raise ClusterDecodeError(f"packet for namespace {packet_nsp!r}")
    return Packet(PacketType.EVENT, nsp, data)


def rooms_from_wire(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise ClusterDecodeError("rooms are not a list")
    # Node rooms may be numbers; hubbub rooms are strings
    return frozenset(v if isinstance(v, str) else _room_str(v) for v in value)


def _room_str(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ClusterDecodeError("a room is neither a string nor a number")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def flags_to_wire(flags: BroadcastFlags) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if flags.volatile:
        out["volatile"] = True
    if not flags.compress:
        out["compress"] = False
    if flags.timeout is not None:
        out["timeout"] = round(flags.timeout * 1000)
    return out


def opts_to_wire(opts: BroadcastOptions, with_flags: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"rooms": sorted(opts.rooms), "except": sorted(opts.except_)}
    if with_flags:
        out["flags"] = flags_to_wire(opts.flags)
    return out


def opts_from_wire(obj: Any) -> BroadcastOptions:
    if obj is None:
        return BroadcastOptions()
    if not isinstance(obj, dict):
        raise ClusterDecodeError("options are not an object")
    flags = obj.get("flags") or {}
    if not isinstance(flags, dict):
        raise ClusterDecodeError("flags are not an object")
    timeout = flags.get("timeout")
    seconds = (
        timeout / 1000
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool)
        else None
    )
    return BroadcastOptions(
        rooms=rooms_from_wire(obj.get("rooms")),
        except_=rooms_from_wire(obj.get("except")),
        flags=BroadcastFlags(
            volatile=bool(flags.get("volatile")),
            compress=flags.get("compress") is not False,
            timeout=seconds,
        ),
    )
