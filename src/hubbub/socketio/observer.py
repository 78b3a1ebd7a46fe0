"""The seam for tools that watch a server from the side (the admin UI,
metrics): told about every connection and every Socket.IO packet.

``sio.add_observer(obs)`` with an instance of a :class:`ServerObserver`
subclass that overrides what it needs. Observers are called synchronously,
on the server's loop (asyncio) or hub (gevent), in the middle of the
server's work: they must be quick, must not block and must not raise.
A server without observers pays one empty-tuple test per packet.
"""

from __future__ import annotations

from typing import Protocol


class ObservedSession(Protocol):
    """The parts of a client's session an observer may read."""

    @property
    def sid(self) -> str: ...
    @property
    def transport(self) -> str:
        """"polling" or "websocket" for Engine.IO clients; a 0.9 or 0.6
        transport name ("xhr-polling", "htmlfile" ...) for those."""
        ...


class ObservedConnection(Protocol):
    """One client connection (a ``hubbub.socketio.connection.Connection``)."""

    @property
    def session(self) -> ObservedSession: ...
    @property
    def protocol(self) -> int:
        """The Socket.IO protocol: 5 (clients 3.x/4.x), 4 (2.x), 1 (0.9), 0 (0.6)."""
        ...


class ServerObserver:
    """Override any of these; the defaults do nothing."""

    def connection_opened(self, client: ObservedConnection) -> None:
        """A client connected (before it joins any namespace)."""

    def connection_upgraded(self, client: ObservedConnection) -> None:
        """An Engine.IO client moved from long-polling to its websocket."""

    def connection_closed(self, client: ObservedConnection, reason: str) -> None:
        """A client's connection ended; ``reason`` is a
        ``hubbub.types.DisconnectReason`` string ("transport close" ...)."""

    def packet_received(self, client: ObservedConnection, size: int) -> None:
        """One Socket.IO packet (or binary attachment) from a client,
        ``size`` bytes as it came (UTF-8 for text)."""

    def packets_sent(self, parts: int, size: int, recipients: int) -> None:
        """One Socket.IO packet queued for ``recipients`` clients: ``parts``
        Engine.IO messages (1 + its binary attachments) of ``size`` bytes in
        all, for each recipient. A broadcast is one call."""


def text_size(data: str | bytes) -> int:
    """The size of ``data`` on the wire: bytes as they are, text as UTF-8."""
    if isinstance(data, bytes):
        return len(data)
    return len(data) if data.isascii() else len(data.encode("utf-8", "surrogatepass"))
