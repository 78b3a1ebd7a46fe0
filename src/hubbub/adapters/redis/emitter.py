"""``hubbub.Emitter``: emit into a Socket.IO cluster from any Python process.

A Django view, a Celery task or a cron script publishes to Redis in the
format of @socket.io/redis-emitter 5.x; every server of the cluster running
the classic Redis adapter (hubbub's :class:`~hubbub.adapters.RedisAdapter`
or Node's @socket.io/redis-adapter) delivers it to its clients::

    emitter = hubbub.Emitter("redis://localhost:6379/0")
    emitter.to("room1").except_("room2").emit("news", {"title": "..."})
    emitter.of("/admin").sockets_join("vip")
    emitter.in_("room1").disconnect_sockets(close=True)
    emitter.server_side_emit("reload", 42)

It is a plain synchronous class (redis-py): each call is one PUBLISH. It
needs no running server and keeps no state besides the Redis connection.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any

import redis

from hubbub.adapters.wire.broadcast import flags_to_wire, opts_to_wire
from hubbub.adapters.wire.notepack import dumps, pack
from hubbub.adapters.wire.redis import EMITTER_UID, Channels, RequestType
from hubbub.socketio.codec import check_event
from hubbub.types import BroadcastOptions

__all__ = ["Emitter", "EmitterOperator"]


def _names(rooms: tuple[str | Iterable[str], ...]) -> frozenset[str]:
    out: set[str] = set()
    for r in rooms:
        out.update((r,) if isinstance(r, str) else r)
    return frozenset(out)


@dataclass(frozen=True)
class EmitterOperator:
    """A selection of rooms and flags; each call returns a new one."""

    client: redis.Redis
    channels: Channels
    nsp: str
    opts: BroadcastOptions = field(default_factory=BroadcastOptions)

    def to(self, *rooms: str | Iterable[str]) -> EmitterOperator:
        return replace(self, opts=replace(self.opts, rooms=self.opts.rooms | _names(rooms)))

    in_ = to

    def except_(self, *rooms: str | Iterable[str]) -> EmitterOperator:
        return replace(self, opts=replace(self.opts, except_=self.opts.except_ | _names(rooms)))

    @property
    def volatile(self) -> EmitterOperator:
        return replace(self, opts=replace(self.opts, flags=replace(self.opts.flags, volatile=True)))

    def compress(self, value: bool = True) -> EmitterOperator:
        return replace(
            self, opts=replace(self.opts, flags=replace(self.opts.flags, compress=value))
        )

    def emit(self, event: str, *args: Any) -> None:
        check_event(event)
        packet = {"type": 2, "data": [event, *args], "nsp": self.nsp}
        opts = {
            "rooms": sorted(self.opts.rooms),
            "flags": flags_to_wire(self.opts.flags),
            "except": sorted(self.opts.except_),
        }
        self.client.publish(
            self.channels.for_rooms(self.opts.rooms), pack([EMITTER_UID, packet, opts])
        )

    def _request(self, request: dict[str, Any]) -> None:
        self.client.publish(self.channels.request, dumps(request))

    def _selection(self) -> dict[str, Any]:
        return opts_to_wire(self.opts, with_flags=False)

    def sockets_join(self, *rooms: str) -> None:
        """The selected sockets (on every server) join ``rooms``."""
        self._request(
            {"type": RequestType.REMOTE_JOIN, "opts": self._selection(), "rooms": list(rooms)}
        )

    def sockets_leave(self, *rooms: str) -> None:
        self._request(
            {"type": RequestType.REMOTE_LEAVE, "opts": self._selection(), "rooms": list(rooms)}
        )

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the selected sockets; ``close`` closes their connections."""
        self._request(
            {"type": RequestType.REMOTE_DISCONNECT, "opts": self._selection(), "close": close}
        )


class Emitter:
    """Emits into the namespace ``nsp`` ("/" by default) of a Redis cluster,
    from any process: a job, a web view, a script. No server runs here.

    ```python
    emitter = hubbub.Emitter("redis://localhost:6379/0")
    emitter.to("room").emit("news", 1)
    emitter.of("/admin").emit("alert", "disk full")
    ```

    ``redis_client`` is a URL or a ``redis.Redis``; ``key`` is the servers'
    channel prefix (``RedisAdapter``'s ``key``). Speaks
    ``@socket.io/redis-emitter``'s format, so Node servers of the cluster
    hear it too. Needs ``pip install hubbub[redis]``.
    """

    def __init__(
        self,
        redis_client: redis.Redis | str = "redis://localhost:6379/0",
        *,
        key: str = "socket.io",
        nsp: str = "/",
    ) -> None:
        if isinstance(redis_client, str):
            redis_client = redis.Redis.from_url(redis_client)
        self.client = redis_client
        self.key = key
        self.nsp = nsp if nsp.startswith("/") else "/" + nsp
        # the emitter has no uid of its own in the channel names
        self._op = EmitterOperator(redis_client, Channels.of(self.nsp, "", key), self.nsp)

    def of(self, nsp: str) -> Emitter:
        """An emitter for another namespace, sharing the connection."""
        return Emitter(self.client, key=self.key, nsp=nsp)

    def emit(self, event: str, *args: Any) -> None:
        """Emit ``event`` to every client of the namespace, on every server."""
        self._op.emit(event, *args)

    def to(self, *rooms: str | Iterable[str]) -> EmitterOperator:
        """Only the clients in these rooms (a socket id is a room too). Chainable."""
        return self._op.to(*rooms)

    in_ = to

    def except_(self, *rooms: str | Iterable[str]) -> EmitterOperator:
        """Leave out the clients in these rooms. Chainable."""
        return self._op.except_(*rooms)

    @property
    def volatile(self) -> EmitterOperator:
        """May be dropped for clients that are not ready to receive."""
        return self._op.volatile

    def compress(self, value: bool = True) -> EmitterOperator:
        """Whether the servers compress the packets."""
        return self._op.compress(value)

    def sockets_join(self, *rooms: str) -> None:
        """Every socket of the namespace, on every server, joins ``rooms``."""
        self._op.sockets_join(*rooms)

    def sockets_leave(self, *rooms: str) -> None:
        """Every socket of the namespace, on every server, leaves ``rooms``."""
        self._op.sockets_leave(*rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect every socket of the namespace, on every server; ``close``
        closes their whole connections."""
        self._op.disconnect_sockets(close)

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Every server's ``on_server_side_emit(event)`` handlers get ``args``
        (acknowledgements are not possible from an emitter, as in Node)."""
        check_event(event)
        self._op._request(
            {"uid": EMITTER_UID, "type": RequestType.SERVER_SIDE_EMIT, "data": [event, *args]}
        )

    def close(self) -> None:
        """Close the Redis connection."""
        self.client.close()
