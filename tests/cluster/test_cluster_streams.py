"""The streams adapter: a client whose transport is cut reconnects to another
process and gets every event broadcast meanwhile, in order, once; hubbub and
Node (@socket.io/redis-streams-adapter) servers share the stream."""

from __future__ import annotations

from pathlib import Path

import pytest
from cluster_fixtures import (
    HAS_GEVENT_RUNTIME,
    Clients,
    RedisServer,
    clients,
    hub,
    node_server,
    redis_server,
    running,
    wait_subscribers,
    wait_until,
)

__all__ = ["clients", "redis_server"]

pytestmark = pytest.mark.timeout(45)

COUNT = 40


def streams_url(redis: RedisServer) -> str:
    return redis.url.replace("redis://", "redis+streams://")


@pytest.mark.parametrize("source", ["hub1", "node1"])
def test_recovery_on_another_process(
    redis_server: RedisServer, clients: Clients, tmp_path: Path, source: str
) -> None:
    url = streams_url(redis_server)
    procs = (
        hub("hub1", url, tmp_path, recovery=True),
        hub("hub2", url, tmp_path, recovery=True),
        hub(
            "hub3",
            url,
            tmp_path,
            recovery=True,
            runtime="gevent" if HAS_GEVENT_RUNTIME else "asyncio",
        ),
        node_server("node1", redis_server.url, "streams", tmp_path, recovery=True),
    )
    by_name = {p.name: p for p in procs}
    with running(*procs):
        wait_subscribers(redis_server, "socket.io#/#", 4)
        first = clients.connect("t", by_name["hub2"].url)
        clients.emit("t", "join", "ticks")
        clients.connect("src", by_name[source].url)
        wait_until(lambda: clients.emit("src", "server_count") == 4, 5, "server_count 4")
        clients.emit("src", "ticker", "ticks", COUNT, 0.03)
        clients.wait("t", "tick", 5)
        again = clients.request("cut", name="t", url=by_name["hub3"].url)
        assert again["server"] == "hub3"
        assert again["sid"] == first["sid"] and again["recovered"] is True
        ticks = clients.wait("t", "tick", COUNT, timeout=10000)
        # the offset (the stream entry id) rides as the last argument
        assert [args[0] for args in ticks] == list(range(COUNT))
        assert all(isinstance(args[-1], str) and "-" in args[-1] for args in ticks)
        # nothing more than once: a sentinel after the last tick
        clients.emit("src", "emit_to", ["ticks"], [], "end", 0)
        clients.wait("t", "end")
        assert [e[1] for e in clients.events("t") if e[0] == "tick"] == list(range(COUNT))
        # the recovered socket is in its room on hub3
        assert clients.emit("t", "join", "ticks") == ["ticks"]


def test_cluster_operations_on_streams(
    redis_server: RedisServer, clients: Clients, tmp_path: Path
) -> None:
    url = streams_url(redis_server)
    procs = (
        hub("hub1", url, tmp_path),
        node_server("node1", redis_server.url, "streams", tmp_path),
    )
    with running(*procs):
        wait_subscribers(redis_server, "socket.io#/#", 2)
        for name, p in (("a", procs[0]), ("d", procs[1])):
            clients.connect(name, p.url)
            clients.emit(name, "join", "r")
        for name in "ad":
            wait_until(lambda n=name: clients.emit(n, "server_count") == 2, 5, "2 servers")  # type: ignore[misc]
        for sender in "ad":
            clients.emit(sender, "emit_to", ["r"], [], f"s-{sender}", sender)
            for name in "ad":
                clients.wait(name, f"s-{sender}")
            result = clients.call(sender, "poll", "r", 3)
            assert sorted(r["client"] for r in result["responses"]) == ["a", "d"]
            assert len(clients.call(sender, "fetch", "r")) == 2
            answers = clients.call(sender, "server_side", 1)["answers"]
            assert [a["server"] for a in answers] == ["node1" if sender == "a" else "hub1"]
