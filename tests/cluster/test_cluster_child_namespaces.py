"""Dynamic namespaces on a real redis-server, with each Redis adapter: every
child a client connects to subscribes channels of its own. With
``cleanup_empty_child_namespaces``, freeing a child (its last client gone)
drops them, and the hub stops asking Redis for the child's subscriber
count, while what "/" and the dynamic namespace itself subscribed stays; a
client coming back to a freed name gets a new child, subscribed again.
Without the option, every child keeps its channels.

Clients: a in /dyn-a, b in /dyn-b, c and c2 in /dyn-c, each in "room" (a
channel of its own on the sharded adapter).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import redis
from cluster_fixtures import (
    Clients,
    RedisServer,
    clients,
    hub,
    redis_server,
    running,
    wait_subscribers,
    wait_until,
)

__all__ = ["clients", "redis_server"]

pytestmark = pytest.mark.timeout(40)

CHILDREN = ("/dyn-a", "/dyn-b", "/dyn-c")
# one namespace's channels: classic (requests, responses, responses to this
# server; plus a pattern for its broadcasts), sharded (the namespace's,
# responses to this server, "room"'s), streams (the namespace's, this server's)
CHANNELS = {"redis": 3, "redis+sharded": 3, "redis+streams": 2}
PATTERNS = {"redis": 1, "redis+sharded": 0, "redis+streams": 0}
# the hub refreshes its subscriber counts every half second
COUNT_WINDOW = 1.5


class Subscriptions:
    """What the redis-server says is subscribed: its channels (shard
    channels for the sharded adapter) and its number of patterns."""

    def __init__(self, redis_server: RedisServer, sharded: bool) -> None:
        self.url = redis_server.url
        self.client: Any = redis.Redis.from_url(self.url, socket_timeout=5.0)
        self.sharded = sharded

    def now(self) -> tuple[frozenset[str], int]:
        channels: Any = (
            self.client.pubsub_shardchannels() if self.sharded else self.client.pubsub_channels()
        )
        return frozenset(c.decode() for c in channels), int(self.client.pubsub_numpat())

    def of(self, child: str) -> frozenset[str]:
        return frozenset(c for c in self.now()[0] if f"#{child}#" in c)

    def counted(self) -> set[str]:
        """The channels the hub asks the subscriber counts of (PUBSUB NUMSUB
        or SHARDNUMSUB) in COUNT_WINDOW, as MONITOR shows them."""
        asked: set[str] = set()
        # its own connection: a monitoring one serves nothing else
        monitoring: Any = redis.Redis.from_url(self.url, socket_timeout=5.0)
        try:
            with monitoring.monitor() as monitor:
                deadline = time.monotonic() + COUNT_WINDOW
                while time.monotonic() < deadline:
                    words = monitor.next_command()["command"].split()
                    if [w.upper() for w in words[:2]] in (
                        ["PUBSUB", "NUMSUB"],
                        ["PUBSUB", "SHARDNUMSUB"],
                    ):
                        asked.update(words[2:])
        finally:
            monitoring.close()
        return asked

    def close(self) -> None:
        self.client.close()


def counted_children(counted: set[str]) -> set[str]:
    return {child for child in CHILDREN if any(f"#{child}#" in c for c in counted)}


def wait_children(clients: Clients, name: str, expected: dict[str, int]) -> None:
    """Until the hub has exactly these children, with so many sockets each."""
    wait_until(lambda: clients.emit(name, "children") == expected, 5, f"the children {expected}")


@pytest.mark.parametrize("cleanup", [True, False], ids=["cleanup", "keep"])
@pytest.mark.parametrize("adapter", ["redis", "redis+sharded", "redis+streams"])
def test_freed_children_drop_their_subscriptions(
    redis_server: RedisServer, clients: Clients, tmp_path: Path, adapter: str, cleanup: bool
) -> None:
    sharded = adapter == "redis+sharded"
    per_child, patterns = CHANNELS[adapter], PATTERNS[adapter]
    url = redis_server.url.replace("redis://", f"{adapter}://")
    server = hub("hub1", url, tmp_path, children="cleanup" if cleanup else "keep")
    subs = Subscriptions(redis_server, sharded)
    try:
        with running(server):
            root_channel = "socket.io-request#/#" if adapter == "redis" else "socket.io#/#"
            wait_subscribers(redis_server, root_channel, 1, sharded=sharded)
            # what "/" and the dynamic namespace subscribed, once it stops changing
            seen = [subs.now()]

            def settled() -> bool:
                time.sleep(0.2)
                seen.append(subs.now())
                return seen[-1] == seen[-2]

            wait_until(settled, 5, "the subscriptions of / settling")
            before = seen[-1]
            assert not any(subs.of(c) for c in CHILDREN)

            joining = (("a", "/dyn-a"), ("b", "/dyn-b"), ("c", "/dyn-c"), ("c2", "/dyn-c"))
            for name, child in joining:
                assert clients.connect(name, server.url + child)["nsp"] == child
                assert clients.emit(name, "join", "room") == ["room"]
            wait_children(clients, "c", {"/dyn-a": 1, "/dyn-b": 1, "/dyn-c": 2})
            wait_until(
                lambda: all(len(subs.of(c)) == per_child for c in CHILDREN)
                and subs.now()[1] == before[1] + patterns * len(CHILDREN),
                5,
                "every child's subscriptions",
            )
            subscribed = subs.now()
            assert subscribed[0] > before[0]
            assert counted_children(subs.counted()) == set(CHILDREN)

            # /dyn-a and /dyn-b lose their last client, /dyn-c one of its two
            for name in ("a", "b", "c2"):
                clients.request("close", name=name)
            if cleanup:
                wait_children(clients, "c", {"/dyn-c": 1})
                kept = frozenset(
                    c for c in subscribed[0] if "#/dyn-a#" not in c and "#/dyn-b#" not in c
                )
                wait_until(
                    lambda: subs.now() == (kept, before[1] + patterns),
                    5,
                    "only the freed children unsubscribed",
                )
                assert len(subs.of("/dyn-c")) == per_child
                assert counted_children(subs.counted()) == {"/dyn-c"}
            else:
                wait_children(clients, "c", {"/dyn-a": 0, "/dyn-b": 0, "/dyn-c": 1})
                time.sleep(0.5)  # an unsubscribe takes a few milliseconds
                # only the rooms left empty go (the sharded adapter's room channels)
                emptied = {f"socket.io#{c}#room#" for c in ("/dyn-a", "/dyn-b")}
                assert subs.now() == (subscribed[0] - emptied, subscribed[1])
                assert counted_children(subs.counted()) == set(CHILDREN)

            # a client coming back to /dyn-a: freed, it is a new child, subscribed again
            assert clients.connect("a2", server.url + "/dyn-a")["nsp"] == "/dyn-a"
            assert clients.emit("a2", "join", "room") == ["room"]
            wait_until(lambda: len(subs.of("/dyn-a")) == per_child, 5, "/dyn-a subscribed")
            assert server.proc.poll() is None and "Traceback" not in server.log(), server.log()
    finally:
        subs.close()
