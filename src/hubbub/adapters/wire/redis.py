"""The wire format of @socket.io/redis-adapter 8.x (classic pub/sub) and of
@socket.io/redis-emitter 5.x (sans-IO).

Channels, for a key prefix (default ``socket.io``) and a namespace::

    <key>#<nsp>#                 broadcasts to the whole namespace (or to
                                 several rooms); subscribed as the pattern
    <key>#<nsp>#<room>#          <key>#<nsp>#* together with the next one
                                 broadcasts to exactly one room
    <key>-request#<nsp>#         requests; every server subscribes to it,
                                 so PUBSUB NUMSUB of it is the server count
    <key>-response#<nsp>#        responses (the default)
    <key>-response#<nsp>#<uid>#  responses to one server (the option
                                 publishOnSpecificResponseChannel)

A broadcast is the MessagePack array ``[uid, packet, opts]``. Requests and
responses are JSON objects with a numeric ``type`` (:class:`RequestType`),
except the broadcast-with-ack request and the ack responses, which may hold
binary data and are MessagePack maps. Receivers tell JSON from MessagePack by
the first byte. The emitter's uid is ``"emitter"``; its requests carry none.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from hubbub.adapters.wire.broadcast import (
    ClusterDecodeError,
    opts_from_wire,
    opts_to_wire,
    packet_from_wire,
    packet_to_wire,
)
from hubbub.adapters.wire.notepack import decode_any, dumps, has_binary, pack
from hubbub.socketio.codec import Packet
from hubbub.types import BroadcastOptions

__all__ = [
    "EMITTER_UID",
    "Channels",
    "RequestType",
    "decode_broadcast",
    "decode_request",
    "encode_broadcast",
    "encode_request",
]

EMITTER_UID = "emitter"


class RequestType(enum.IntEnum):
    SOCKETS = 0
    ALL_ROOMS = 1
    REMOTE_JOIN = 2
    REMOTE_LEAVE = 3
    REMOTE_DISCONNECT = 4
    REMOTE_FETCH = 5
    SERVER_SIDE_EMIT = 6
    BROADCAST = 7
    BROADCAST_CLIENT_COUNT = 8
    BROADCAST_ACK = 9


# the requests and responses Node encodes with its parser (MessagePack)
_MSGPACK_TYPES = frozenset({RequestType.BROADCAST, RequestType.BROADCAST_ACK})


@dataclass(frozen=True, slots=True)
class Channels:
    """The channel names of one namespace."""

    broadcast: str
    request: str
    response: str
    specific_response: str

    @classmethod
    def of(cls, nsp: str, uid: str, key: str = "socket.io") -> Channels:
        response = f"{key}-response#{nsp}#"
        return cls(
            broadcast=f"{key}#{nsp}#",
            request=f"{key}-request#{nsp}#",
            response=response,
            specific_response=f"{response}{uid}#",
        )

    @property
    def pattern(self) -> str:
        return self.broadcast + "*"

    def for_rooms(self, rooms: frozenset[str]) -> str:
        """Where a broadcast to ``rooms`` is published (one room has its own channel)."""
        if len(rooms) == 1:
            return f"{self.broadcast}{next(iter(rooms))}#"
        return self.broadcast

    def room_of(self, channel: str) -> str | None:
        """The room of a broadcast channel ("" for the namespace), None if not ours."""
        if not channel.startswith(self.broadcast):
            return None
        rest = channel[len(self.broadcast) :]
        if not rest:
            return ""
        return rest[:-1] if rest.endswith("#") else None


def encode_broadcast(uid: str, packet: Packet, opts: BroadcastOptions) -> bytes:
    return pack([uid, packet_to_wire(packet, with_id=False), opts_to_wire(opts)])


def decode_broadcast(data: bytes, nsp: str) -> tuple[str, Packet, BroadcastOptions]:
    """(sender uid, packet, options); ClusterDecodeError when malformed or for
    another namespace."""
    try:
        message = decode_any(data)
    except ValueError as exc:
        raise ClusterDecodeError(f"undecodable broadcast: {exc}") from exc
    if not isinstance(message, list) or len(message) < 2:
        raise ClusterDecodeError("a broadcast is not [uid, packet, opts]")
    uid = message[0]
    packet = packet_from_wire(message[1], nsp)
    opts = opts_from_wire(message[2] if len(message) > 2 else None)
    return (uid if isinstance(uid, str) else ""), packet, opts


def encode_request(request: dict[str, Any]) -> bytes:
    """JSON, as Node sends most requests and responses; MessagePack for the
    types Node encodes so, or when the payload holds binary data (Node
    decodes either)."""
    if request.get("type") in _MSGPACK_TYPES or has_binary(request):
        return pack(request)
    return dumps(request)


def decode_request(data: bytes) -> dict[str, Any]:
    try:
        message = decode_any(data)
    except ValueError as exc:
        raise ClusterDecodeError(f"undecodable request: {exc}") from exc
    if not isinstance(message, dict):
        raise ClusterDecodeError("a request is not an object")
    rid = message.get("requestId")
    if rid is not None and not isinstance(rid, str):
        # ids are strings (request_id()); any other value would reach the
        # adapters' request tables (an unhashable one raising there)
        raise ClusterDecodeError("a request id is not a string")
    return message
