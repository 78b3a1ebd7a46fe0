"""gevent-socketio's namespace mixins (``socketio.mixins``), cluster-wide.

gevent-socketio walked its own process's sockets; these go through hubbub's
adapter, so with a Redis adapter a broadcast or a room reaches every
server, and 0.9 and 4.x clients alike.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hubbub.gevent_socketio.namespace import BaseNamespace

if TYPE_CHECKING:
    from hubbub.gevent_socketio.virtsocket import Socket as VirtualSocket
    from hubbub.socketio.socket import Socket as HubbubSocket

__all__ = ["BroadcastMixin", "RoomsMixin"]


class RoomsMixin:
    """``join(room)``, ``leave(room)`` and ``emit_to_room(room, event,
    *args)``, per namespace. A room is a hubbub room of the namespace (so
    ``sio.of("/chat").to("lobby").emit(...)`` reaches it too), and
    ``session["rooms"]`` lists ``"<ns_name>_<room>"`` for each room joined,
    as gevent-socketio kept it."""

    if TYPE_CHECKING:
        session: dict[str, Any]
        socket: VirtualSocket
        _socket: HubbubSocket

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "rooms" not in self.session:
            self.session["rooms"] = set()

    def join(self, room: str) -> None:
        """Join ``room`` in this namespace."""
        BaseNamespace.join(self, room)  # type: ignore[arg-type]

    def leave(self, room: str) -> None:
        """Leave ``room`` (KeyError if not in it)."""
        BaseNamespace.leave(self, room)  # type: ignore[arg-type]

    def emit_to_room(self, room: str, event: str, *args: Any) -> None:
        """Everyone in ``room`` of this namespace but this connection."""
        self._socket.to(room).emit(event, *self.socket._outgoing(args))


class BroadcastMixin:
    """``broadcast_event`` (everyone in this namespace) and
    ``broadcast_event_not_me`` (everyone but this connection)."""

    if TYPE_CHECKING:
        socket: VirtualSocket
        _socket: HubbubSocket

    def broadcast_event(self, event: str, *args: Any) -> None:
        """Every client of this namespace, this one included."""
        self._socket.nsp.emit(event, *self.socket._outgoing(args))

    def broadcast_event_not_me(self, event: str, *args: Any) -> None:
        """Every client of this namespace but this one."""
        self._socket.broadcast.emit(event, *self.socket._outgoing(args))
