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

It is a plain synchronous class (redis-py): each call is one PUBLISH and
returns how many servers heard it. It needs no running server and keeps no
state besides the Redis connection. ``hubbub.Emitter`` is this emitter for
a ``redis://`` target (and the IPC emitter for an ``ipc://`` one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import redis

from hubbub.adapters.emitting import Emitting, Selecting, namespace_name
from hubbub.adapters.wire.broadcast import flags_to_wire, opts_to_wire
from hubbub.adapters.wire.notepack import dumps, pack
from hubbub.adapters.wire.redis import EMITTER_UID, Channels, RequestType
from hubbub.socketio.codec import check_event
from hubbub.types import BroadcastOptions

__all__ = ["Emitter", "EmitterOperator"]


@dataclass(frozen=True)
class EmitterOperator(Selecting):
    """A selection of rooms and flags; each call returns a new one."""

    client: redis.Redis
    channels: Channels
    nsp: str
    opts: BroadcastOptions = field(default_factory=BroadcastOptions)
    key: str = "socket.io"

    @classmethod
    def whole(cls, client: redis.Redis, nsp: str, key: str) -> EmitterOperator:
        """Every socket of ``nsp`` (the emitter has no uid in the channel names)."""
        nsp = namespace_name(nsp)
        return cls(client, Channels.of(nsp, "", key), nsp, key=key)

    def of(self, nsp: str) -> EmitterOperator:
        return EmitterOperator.whole(self.client, nsp, self.key)

    def emit(self, event: str, *args: Any) -> int:
        """Emit to the selected sockets; how many servers heard it."""
        check_event(event)
        packet = {"type": 2, "data": [event, *args], "nsp": self.nsp}
        opts = {
            "rooms": sorted(self.opts.rooms),
            "flags": flags_to_wire(self.opts.flags),
            "except": sorted(self.opts.except_),
        }
        return int(
            self.client.publish(
                self.channels.for_rooms(self.opts.rooms), pack([EMITTER_UID, packet, opts])
            )
        )

    def _request(self, request: dict[str, Any]) -> int:
        return int(self.client.publish(self.channels.request, dumps(request)))

    def _selection(self) -> dict[str, Any]:
        return opts_to_wire(self.opts, with_flags=False)

    def sockets_join(self, *rooms: str) -> int:
        """The selected sockets (on every server) join ``rooms``."""
        return self._request(
            {"type": RequestType.REMOTE_JOIN, "opts": self._selection(), "rooms": list(rooms)}
        )

    def sockets_leave(self, *rooms: str) -> int:
        return self._request(
            {"type": RequestType.REMOTE_LEAVE, "opts": self._selection(), "rooms": list(rooms)}
        )

    def disconnect_sockets(self, close: bool = False) -> int:
        """Disconnect the selected sockets; ``close`` closes their connections."""
        return self._request(
            {"type": RequestType.REMOTE_DISCONNECT, "opts": self._selection(), "close": close}
        )

    def server_side_emit(self, event: str, *args: Any) -> int:
        """Every server's ``on_server_side_emit(event)`` handlers get ``args``."""
        check_event(event)
        return self._request(
            {"uid": EMITTER_UID, "type": RequestType.SERVER_SIDE_EMIT, "data": [event, *args]}
        )


class Emitter(Emitting):
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
        self._selection = EmitterOperator.whole(redis_client, nsp, key)

    def close(self) -> None:
        """Close the Redis connection."""
        self.client.close()
