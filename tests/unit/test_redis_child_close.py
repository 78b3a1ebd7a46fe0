"""A freed dynamic namespace's child leaves nothing behind in the Redis
adapters' process-wide state: the link's subscriptions and counted
channels, and the streams factory's adapter of each namespace (which no
redis-server can show: tests/cluster/test_cluster_child_namespaces.py
checks the rest on a real one). The link is a stand-in that keeps what it
is asked to hold."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from sio_helpers import eventually, run

from hubbub import Server
from hubbub.adapters.base import AdapterNamespace
from hubbub.adapters.redis.classic import RedisAdapter, RedisAdapterFactory
from hubbub.adapters.redis.sharded import ShardedRedisAdapter
from hubbub.adapters.redis.streams import RedisStreamsAdapterFactory
from hubbub.testing import TestClient


class HeldLink:
    """What a RedisLink holds for its adapters, without Redis."""

    def __init__(self, sharded: bool = False) -> None:
        self.sharded = sharded
        self.channels: set[str] = set()
        self.patterns: set[str] = set()
        self.counted: set[str] = set()

    def state(self) -> tuple[set[str], set[str], set[str]]:
        return set(self.channels), set(self.patterns), set(self.counted)

    def attach(self, scheduler: Any) -> None:
        pass

    def subscribe(self, channel: str, handler: Any, pattern: bool = False) -> None:
        (self.patterns if pattern else self.channels).add(channel)

    def unsubscribe(self, channel: str, pattern: bool = False) -> None:
        (self.patterns if pattern else self.channels).discard(channel)

    def track_count(self, channel: str) -> None:
        self.counted.add(channel)

    def untrack_count(self, channel: str) -> None:
        self.counted.discard(channel)

    def cached_count(self, channel: str) -> int:
        return 1

    def read_stream(self, stream: str, handler: Any) -> None:
        pass

    def execute(self, fn: Any, on_result: Any = None, *, publishes: bool = False) -> None:
        pass

    def publish(self, channel: str, payload: bytes) -> None:
        pass

    def report_received(self) -> None:
        pass

    def report_error(self, operation: str) -> None:
        pass


def classic(link: HeldLink) -> Callable[[AdapterNamespace], Any]:
    return RedisAdapterFactory(link, RedisAdapter, {})  # type: ignore[arg-type]


def sharded(link: HeldLink) -> Callable[[AdapterNamespace], Any]:
    link.sharded = True
    return RedisAdapterFactory(link, ShardedRedisAdapter, {})  # type: ignore[arg-type]


def streams(link: HeldLink) -> Callable[[AdapterNamespace], Any]:
    return RedisStreamsAdapterFactory(link, "socket.io", {})  # type: ignore[arg-type]


@pytest.mark.parametrize("make", [classic, sharded, streams])
def test_a_freed_child_leaves_nothing_held(make: Callable[[HeldLink], Any]) -> None:
    link = HeldLink()
    factory = make(link)
    sio = Server(adapter=factory, cleanup_empty_child_namespaces=True)
    parent = sio.of(re.compile(r"^/dyn-\w+$"))

    @parent.on("join")
    def join(socket: Any, room: str) -> None:
        socket.join(room)

    async def main() -> None:
        before = link.state()
        async with TestClient(sio, "/dyn-a") as client:
            await client.call("join", "room")
            assert link.state() != before
        await eventually(lambda: "/dyn-a" not in sio.namespaces)
        assert link.state() == before
        if isinstance(factory, RedisStreamsAdapterFactory):
            assert "/dyn-a" not in factory._adapters
        # a client back under the freed name gets a new child, held again
        async with TestClient(sio, "/dyn-a"):
            if isinstance(factory, RedisStreamsAdapterFactory):
                assert factory._adapters["/dyn-a"] is sio.namespaces["/dyn-a"].adapter
            assert link.state() != before

    run(main())
