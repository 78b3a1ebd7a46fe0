"""Sockets of other servers, as ``fetch_sockets()`` returns them in a cluster.

A :class:`RemoteSocket` carries what the owning server sent (id, handshake,
rooms, data) and acts through the cluster: ``emit`` is a broadcast to the
socket's own room, ``join``/``leave``/``disconnect`` are sockets_join,
sockets_leave and disconnect_sockets restricted to it, as in Node.
"""

from __future__ import annotations

from typing import Any

from hubbub.adapters.base import Adapter, AdapterSocket, BroadcastOptions
from hubbub.socketio.codec import Packet, PacketType, check_event


class RemoteSocket:
    __slots__ = ("_adapter", "data", "handshake", "id", "rooms")

    def __init__(self, adapter: Adapter, details: dict[str, Any]) -> None:
        self._adapter = adapter
        self.id: str = str(details.get("id"))
        handshake = details.get("handshake")
        self.handshake: dict[str, Any] = handshake if isinstance(handshake, dict) else {}
        rooms = details.get("rooms")
        self.rooms: set[str] = {str(r) for r in rooms} if isinstance(rooms, list) else set()
        self.data: Any = details.get("data")

    def __repr__(self) -> str:
        return f"<RemoteSocket {self.id} nsp={self._adapter.nsp.name}>"

    @property
    def sid(self) -> str:
        return self.id

    def _only_me(self) -> BroadcastOptions:
        return BroadcastOptions(rooms=frozenset((self.id,)))

    def emit(self, event: str, *args: Any) -> None:
        check_event(event)
        adapter = self._adapter
        packet = Packet(PacketType.EVENT, adapter.nsp.name, [event, *args])
        opts = self._only_me()
        adapter.record_packet(packet, opts)
        adapter.broadcast(packet, opts)

    def join(self, *rooms: str) -> None:
        self._adapter.add_sockets(self._only_me(), list(rooms))

    def leave(self, *rooms: str) -> None:
        self._adapter.del_sockets(self._only_me(), list(rooms))

    def disconnect(self, close: bool = False) -> None:
        self._adapter.disconnect_sockets(self._only_me(), close)


def describe_socket(socket: AdapterSocket) -> dict[str, Any]:
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
