"""Sockets of other servers, as ``fetch_sockets()`` returns them in a cluster.

A :class:`RemoteSocket` carries what the owning server sent (id, handshake,
rooms, data) and acts through the cluster: ``emit`` is a broadcast to the
socket's own room, ``join``/``leave``/``disconnect`` are sockets_join,
sockets_leave and disconnect_sockets restricted to it, as in Node.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hubbub.adapters.base import BroadcastOptions
from hubbub.socketio.broadcast import BroadcastOperator

if TYPE_CHECKING:
    from hubbub.socketio.server_namespace import ServerNamespace
    from hubbub.socketio.socket import Socket


class RemoteSocket:
    __slots__ = ("data", "handshake", "id", "nsp", "rooms")

    def __init__(self, nsp: ServerNamespace, details: dict[str, Any]) -> None:
        self.nsp = nsp
        self.id: str = str(details.get("id"))
        handshake = details.get("handshake")
        self.handshake: dict[str, Any] = handshake if isinstance(handshake, dict) else {}
        rooms = details.get("rooms")
        self.rooms: set[str] = {str(r) for r in rooms} if isinstance(rooms, list) else set()
        self.data: Any = details.get("data")

    def __repr__(self) -> str:
        return f"<RemoteSocket {self.id} nsp={self.nsp.name}>"

    @property
    def sid(self) -> str:
        return self.id

    def _only_me(self) -> BroadcastOperator:
        return BroadcastOperator(self.nsp, BroadcastOptions(rooms=frozenset((self.id,))))

    def emit(self, event: str, *args: Any) -> None:
        self._only_me().emit(event, *args)

    def join(self, *rooms: str) -> None:
        self._only_me().sockets_join(*rooms)

    def leave(self, *rooms: str) -> None:
        self._only_me().sockets_leave(*rooms)

    def disconnect(self, close: bool = False) -> None:
        self._only_me().disconnect_sockets(close)


def describe_socket(socket: Socket) -> dict[str, Any]:
    """A local socket as Node's adapters describe it to the requesting server."""
    hs = socket.handshake
    return {
        "id": socket.id,
        "handshake": {
            "headers": hs.headers,
            "time": hs.time,
            "address": hs.address,
            "xdomain": hs.xdomain,
            "secure": hs.secure,
            "issued": hs.issued,
            "url": hs.url,
            "query": hs.query,
            "auth": hs.auth,
        },
        "rooms": sorted(socket.rooms),
        "data": socket.data,
    }
