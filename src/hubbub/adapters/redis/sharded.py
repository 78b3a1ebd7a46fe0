"""``ShardedRedisAdapter``: the cluster protocol over Redis 7 sharded pub/sub
(SPUBLISH/SSUBSCRIBE), as @socket.io/redis-adapter's ``createShardedAdapter``.

    sio = hubbub.Server(adapter=ShardedRedisAdapter.factory("redis://localhost:6379/0"))

Channels: ``<prefix>#<nsp>#`` for every server, ``<prefix>#<nsp>#<uid>#`` for
the responses to one server and, in the default "dynamic" subscription
mode, ``<prefix>#<nsp>#<room>#`` for each public room (not a socket's own
room) some socket here is in, so a broadcast to one room reaches only the
servers that have it. The server count is ``PUBSUB SHARDNUMSUB`` of the
namespace channel. In a Redis Cluster each channel lives on one shard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hubbub.adapters.base import AdapterNamespace
from hubbub.adapters.cluster import ClusterAdapter
from hubbub.adapters.redis.classic import RedisAdapterFactory
from hubbub.adapters.redis.link import RedisLink
from hubbub.adapters.wire.broadcast import ClusterDecodeError
from hubbub.adapters.wire.cluster import (
    MessageType,
    decode_message,
    encode_sharded,
    looks_like_socket_id,
)

log = logging.getLogger("hubbub.redis")

MODES = ("static", "dynamic", "dynamic-private")


class ShardedRedisAdapter(ClusterAdapter):
    """The cluster over Redis 7 sharded pub/sub (``SPUBLISH``/``SSUBSCRIBE``),
    as ``@socket.io/redis-adapter``'s ``createShardedAdapter``: for a Redis
    Cluster, where each channel lives on one shard.

    ```python
    sio = hubbub.Server(adapter=ShardedRedisAdapter.factory("redis://localhost:6379/0"))
    ```

    ``factory`` options: ``channel_prefix`` (``"socket.io"``),
    ``subscription_mode`` (``"dynamic"``, the default: a channel per public
    room, so a broadcast to one room reaches only the servers that have it;
    ``"static"``: one channel per namespace; ``"dynamic-private"``: a channel
    for sockets' own rooms too), ``requests_timeout`` (seconds)."""
    def __init__(
        self,
        nsp: AdapterNamespace,
        link: RedisLink,
        *,
        channel_prefix: str = "socket.io",
        subscription_mode: str = "dynamic",
        requests_timeout: float = 5.0,
    ) -> None:
        if subscription_mode not in MODES:
            raise ValueError(f"subscription_mode must be one of {MODES}")
        if not link.sharded:
            raise ValueError("the sharded adapter needs a sharded RedisLink")
        super().__init__(nsp)
        self.link = link
        self.mode = subscription_mode
        self.requests_timeout = requests_timeout
        self.channel = f"{channel_prefix}#{nsp.name}#"
        self.response_channel = f"{self.channel}{self.uid}#"

    @classmethod
    def factory(cls, url: str = "redis://localhost:6379/0", **options: Any) -> RedisAdapterFactory:
        """``hubbub.Server(adapter=ShardedRedisAdapter.factory(url, subscription_mode=...))``."""
        return RedisAdapterFactory(RedisLink(url, sharded=True, name="sharded"), cls, options)

    def init(self) -> None:
        self.link.subscribe(self.channel, self._on_raw)
        self.link.subscribe(self.response_channel, self._on_raw)
        self.link.track_count(self.channel)

    def close(self) -> None:
        self.link.unsubscribe(self.channel)
        self.link.unsubscribe(self.response_channel)
        self.link.untrack_count(self.channel)
        for room in self.room_names():
            if self._separate_channel(room):
                self.link.unsubscribe(self._dynamic(room))

    def server_count(self) -> int:
        """The servers subscribed to this namespace's channel (at least 1), as last
        counted."""
        return max(1, self.link.cached_count(self.channel))

    def _fresh_server_count(self, then: Callable[[int], None]) -> None:
        self.link.count_subscribers(self.channel, lambda n: then(max(1, n)))

    # -- rooms with their own channel ----------------------------------------------------

    def _dynamic(self, room: str) -> str:
        return f"{self.channel}{room}#"

    def _separate_channel(self, room: str) -> bool:
        if self.mode == "dynamic-private":
            return True
        return self.mode == "dynamic" and room not in self._sids  # not a socket's own room

    def on_create_room(self, room: str) -> None:
        """Subscribes to the room's own channel (in a dynamic mode), then fires
        'create-room'."""
        if self._separate_channel(room):
            self.link.subscribe(self._dynamic(room), self._on_raw)
        super().on_create_room(room)

    def on_delete_room(self, room: str) -> None:
        """Unsubscribes from the room's own channel (in a dynamic mode), then fires
        'delete-room'."""
        if self._separate_channel(room):
            self.link.unsubscribe(self._dynamic(room))
        super().on_delete_room(room)

    # -- transport ------------------------------------------------------------------------

    def _channel_for(self, message: dict[str, Any]) -> str:
        # a broadcast with acks goes to every server: each one must report its count
        if message["type"] == MessageType.BROADCAST:
            data = message["data"]
            rooms = data["opts"]["rooms"]
            if data.get("requestId") is None and len(rooms) == 1:
                room = rooms[0]
                if self.mode == "dynamic-private" or (
                    self.mode == "dynamic" and not looks_like_socket_id(room)
                ):
                    return self._dynamic(room)
        return self.channel

    def _do_publish(self, message: dict[str, Any]) -> None:
        self.link.publish(self._channel_for(message), encode_sharded(message))

    def _do_publish_response(self, requester: str, response: dict[str, Any]) -> None:
        self.link.publish(f"{self.channel}{requester}#", encode_sharded(response))

    def _received(self) -> None:
        self.link.report_received()

    def _decode_failed(self) -> None:
        self.link.report_error("decode")

    def _on_raw(self, channel: str, data: bytes) -> None:
        try:
            message = decode_message(data)
        except ClusterDecodeError as exc:
            log.debug("ignored a message on %s: %s", channel, exc)
            self.link.report_error("decode")
            return
        if channel == self.response_channel:
            self.link.report_received()
            self._on_response(message)
        else:
            self._on_message(message)
