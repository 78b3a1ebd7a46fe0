"""A Socket.IO packet encoded once, whatever the number of recipients.

The parser of a client depends on its protocol generation (v5 JSON, v4 JSON
for 2.x clients, msgpack when configured); an :class:`EncodedPacket` encodes
lazily once per parser and keeps the resulting Engine.IO ``OutPacket``s, whose
websocket frames are in turn built once per Engine.IO generation.
"""

from __future__ import annotations

from hubbub.engineio.codec import PacketType as EnginePacketType
from hubbub.engineio.outgoing import OutPacket
from hubbub.socketio.codec import Packet, Parser


def wire_bound(data: str | bytes) -> int:
    """The most one Engine.IO message of ``data`` can add to a client's
    buffer: up to 4 UTF-8 bytes per character, the packet type, up to 10
    bytes of websocket frame header. The slow-consumer check (Connection.admit)
    counts with it, so what it counts never falls short of what is queued."""
    return (len(data) << 2 if isinstance(data, str) else len(data)) + 15


def packet_bytes(parts: list[OutPacket]) -> int:
    """wire_bound over all the parts of one Socket.IO packet."""
    return sum([wire_bound(part.data) for part in parts])


class EncodedPacket:
    __slots__ = ("_cache", "packet", "volatile")

    def __init__(self, packet: Packet, volatile: bool = False) -> None:
        self.packet = packet
        self.volatile = volatile
        self._cache: dict[int, tuple[list[OutPacket], int]] = {}

    def parts_and_size(self, parser: Parser) -> tuple[list[OutPacket], int]:
        """The Engine.IO packets for ``parser``'s clients and their size in bytes."""
        key = id(parser)
        cached = self._cache.get(key)
        if cached is None:
            volatile = self.volatile
            parts = [
                OutPacket(EnginePacketType.MESSAGE, part, volatile)
                for part in parser.encode(self.packet)
            ]
            cached = self._cache[key] = (parts, packet_bytes(parts))
        return cached
