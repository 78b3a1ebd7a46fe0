"""Outgoing Engine.IO packets, encoded once however many clients get them.

A broadcast builds one :class:`OutPacket` and hands the same object to every
recipient's session. The websocket frame is built lazily, once per protocol
generation (only binary frames differ between EIO3 and EIO4), and the same
bytes are written to every socket: server frames are unmasked, so this is
always valid while permessage-deflate is off.
"""

from __future__ import annotations

from hubbub.engineio.codec import Packet, PacketType
from hubbub.websocket.frames import binary_frame, text_frame

#: The "version" of Socket.IO 0.9 sessions (whose packets are Engine.IO-less).
LEGACY_VERSION = 1
#: The "version" of Socket.IO 0.6 sessions (framed ``~m~`` payloads, no Engine.IO).
V06_VERSION = 0


class OutPacket:
    __slots__ = ("_frames", "_text", "data", "type", "volatile")

    def __init__(self, type: PacketType, data: str | bytes = "", volatile: bool = False) -> None:
        self.type = type
        self.data = data
        self.volatile = volatile
        self._text: str | None = None
        # indexed by the session's version: 0 Socket.IO 0.6 and 1 Socket.IO
        # 0.9 (the data alone, no type digit), 3 EIO3, 4 EIO4; a peer reads
        # its slot directly
        self._frames: list[bytes | None] = [None, None, None, None, None]

    @property
    def packet(self) -> Packet:
        return Packet(self.type, self.data)

    def text(self) -> str:
        """The packet as one text message (type digit + data); text packets only."""
        t = self._text
        if t is None:
            assert isinstance(self.data, str)
            t = self._text = str(int(self.type)) + self.data
        return t

    def ws_message(self, version: int) -> str | bytes:
        """What one websocket message carries for this packet."""
        data = self.data
        if version <= LEGACY_VERSION:
            return data
        if isinstance(data, bytes):
            return data if version >= 4 else bytes((int(self.type),)) + data
        return self.text()

    def ws_frame(self, version: int) -> bytes:
        """The complete unmasked server frame, cached per protocol generation
        (version 0, 1, 3 or 4)."""
        frames = self._frames
        frame = frames[version]
        if frame is None:
            data = self.data
            if version <= LEGACY_VERSION:
                frame = binary_frame(data) if isinstance(data, bytes) else text_frame(data)
                frames[version] = frame
            elif isinstance(data, bytes):
                frame = binary_frame(data if version >= 4 else bytes((int(self.type),)) + data)
                frames[version] = frame
            else:
                # text frames are the same bytes for both generations
                frame = frames[3] = frames[4] = text_frame(self.text())
        return frame

    def __len__(self) -> int:
        return len(self.data) + 1

    def __repr__(self) -> str:
        return f"OutPacket({self.type.name}, {self.data!r})"


def message(data: str | bytes, volatile: bool = False) -> OutPacket:
    return OutPacket(PacketType.MESSAGE, data, volatile)
