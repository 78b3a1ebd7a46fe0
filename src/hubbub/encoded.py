"""A Socket.IO packet encoded once, whatever the number of recipients.

The parser of a client depends on its protocol generation (v5 JSON, v4 JSON
for 2.x clients, msgpack when configured); an :class:`EncodedPacket` encodes
lazily once per parser and keeps the resulting Engine.IO ``OutPacket``s, whose
websocket frames are in turn built once per Engine.IO generation.
"""

from __future__ import annotations

from hubbub.protocol.engineio import PacketType as EnginePacketType
from hubbub.protocol.socketio import Packet, Parser
from hubbub.session.outgoing import OutPacket


class EncodedPacket:
    __slots__ = ("_cache", "packet", "volatile")

    def __init__(self, packet: Packet, volatile: bool = False) -> None:
        self.packet = packet
        self.volatile = volatile
        self._cache: dict[int, list[OutPacket]] = {}

    def parts(self, parser: Parser) -> list[OutPacket]:
        key = id(parser)
        parts = self._cache.get(key)
        if parts is None:
            volatile = self.volatile
            parts = [
                OutPacket(EnginePacketType.MESSAGE, part, volatile)
                for part in parser.encode(self.packet)
            ]
            self._cache[key] = parts
        return parts
