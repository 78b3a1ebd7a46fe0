"""The socket channel handlers get: subscriptions, and sends to a channel.

Channels are hubbub rooms of the main namespace: a socket subscribed to
``room-42`` is in the room ``room-42``, so ``broadcast_channel`` reaches the
channel's subscribers on every process of a Redis cluster, whatever their
client generation.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

__all__ = ["CHANNELS", "SocketIOChannelProxy"]

#: this process's subscriptions: channel -> session ids (as django-socketio
#: kept them; the rooms are what sends go by)
CHANNELS: defaultdict[str, list[str]] = defaultdict(list)


class SocketIOChannelProxy:
    """The socket of one connection, with channels. Every other attribute
    is the wrapped socket's (``environ["socketio"]``: ``session``,
    ``connected()``, ...)."""

    def __init__(self, socket: Any) -> None:
        self.socket = socket
        #: the channels subscribed to, in order
        self.channels: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.socket, name)

    @property
    def session_id(self) -> Any:
        """The connection's session id (gevent-socketio 0.2's ``session.session_id``)."""
        return self.socket.session.session_id

    def subscribe(self, channel: str) -> bool:
        """Join ``channel``; False if already in it."""
        if channel in self.channels:
            return False
        CHANNELS[channel].append(self.session_id)
        self.channels.append(channel)
        self.socket.join(channel)
        return True

    def unsubscribe(self, channel: str) -> bool:
        """Leave ``channel``; False if not in it."""
        try:
            CHANNELS[channel].remove(self.session_id)
            self.channels.remove(channel)
        except ValueError:
            return False
        finally:
            if not CHANNELS.get(channel, True):
                del CHANNELS[channel]
        self.socket.leave(channel)
        return True

    def send(self, message: Any) -> None:
        """To this socket."""
        self.socket.send(message)

    def broadcast(self, message: Any) -> None:
        """To every other socket."""
        self.socket.broadcast(message)

    def broadcast_channel(self, message: Any, channel: str | None = None) -> None:
        """To every other socket in ``channel``, or (no channel) in any of
        this socket's channels (once each). The sender need not be in it."""
        channels = list(self.channels) if channel is None else [channel]
        if channels:
            self.socket.to_channels(channels, message)

    def send_and_broadcast(self, message: Any) -> None:
        """To every socket, this one included."""
        self.send(message)
        self.broadcast(message)

    def send_and_broadcast_channel(self, message: Any, channel: str | None = None) -> None:
        """To this socket and the others of the channel(s)."""
        self.send(message)
        self.broadcast_channel(message, channel)
