"""Faults: Redis restarted mid-run, and a server process killed (also in the
middle of a broadcast with acks)."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cluster_fixtures import (
    HAS_GEVENT_RUNTIME,
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

pytestmark = pytest.mark.timeout(45)

REQUESTS = "socket.io-request#/#"


def test_redis_restart(redis_server: RedisServer, clients: Clients, tmp_path: Path) -> None:
    hub1 = hub("hub1", redis_server.url, tmp_path)
    hub2 = hub(
        "hub2", redis_server.url, tmp_path, runtime="gevent" if HAS_GEVENT_RUNTIME else "asyncio"
    )
    with running(hub1, hub2):
        wait_subscribers(redis_server, REQUESTS, 2)
        for name, server in (("a", hub1), ("a2", hub1), ("b", hub2)):
            clients.connect(name, server.url)
            clients.emit(name, "join", "room")
        clients.emit("a", "emit_to", ["room"], [], "before", 0)
        assert clients.wait("b", "before") == [[0, "hub1"]]

        redis_server.stop()
        wait_until(lambda: "lost the Redis subscription" in hub1.log(), 5, "hub1 logging the loss")
        # Redis is down: this process's clients still get everything
        for i in range(3):
            clients.emit("a", "emit_to", ["room"], [], "during", i)
        assert [args[0] for args in clients.wait("a2", "during", 3)] == [0, 1, 2]
        assert clients.emit("b", "join", "room") == ["room"]  # hub2 serves on

        redis_server.start()
        wait_subscribers(redis_server, REQUESTS, 2, timeout=15)
        for p in (hub1, hub2):
            wait_until(lambda p=p: "reconnected to Redis" in p.log(), 10, f"{p.name} reconnecting")  # type: ignore[misc]

        # cross-process broadcasts resume (the publisher may need one retry)
        def delivered() -> bool:
            clients.emit("a", "emit_to", ["room"], [], "after", 1)
            return any(e[0] == "after" for e in clients.events("b"))

        wait_until(delivered, 10, "a broadcast from hub1 reaching hub2 again")
        clients.emit("b", "emit_to", ["room"], [], "after-b", 2)
        assert clients.wait("a", "after-b") == [[2, "hub2"]]
    log = hub1.log()
    assert "lost the Redis subscription" in log and "local delivery goes on" in log
    assert "reconnected to Redis" in log


def test_killed_process_leaves_the_count(
    redis_server: RedisServer, clients: Clients, tmp_path: Path
) -> None:
    procs = [hub(f"hub{i}", redis_server.url, tmp_path) for i in (1, 2, 3)]
    with running(*procs):
        wait_subscribers(redis_server, REQUESTS, 3)
        for i, p in enumerate(procs):
            clients.connect(f"c{i}", p.url)
            clients.emit(f"c{i}", "join", "room")
        wait_until(lambda: clients.emit("c0", "server_count") == 3, 5, "server_count 3")
        procs[2].kill()
        wait_until(lambda: clients.emit("c0", "server_count") == 2, 5, "server_count 2")
        wait_until(lambda: clients.emit("c1", "server_count") == 2, 5, "server_count 2 on hub2")
        # the others serve on, and cluster-wide requests do not wait for the dead one
        clients.emit("c0", "emit_to", ["room"], [], "still", 1)
        assert clients.wait("c1", "still") == [[1, "hub1"]]
        result = clients.call("c0", "poll", "room", 3)
        assert result["timeout"] is False
        assert sorted(r["client"] for r in result["responses"]) == ["c0", "c1"]
        answers = clients.call("c1", "server_side", "x")
        assert answers["error"] is None and [a["server"] for a in answers["answers"]] == ["hub1"]


ACK_TIMEOUT = 3.0


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
@pytest.mark.parametrize("adapter", ["redis", "redis+streams"])
def test_killed_during_broadcast_with_ack(
    redis_server: RedisServer, clients: Clients, tmp_path: Path, adapter: str, runtime: str
) -> None:
    url = redis_server.url.replace("redis://", f"{adapter}://")
    procs = [hub(f"hub{i}", url, tmp_path, runtime=runtime) for i in (1, 2, 3)]
    with running(*procs), ThreadPoolExecutor(1) as pool:
        channel = "socket.io#/#" if adapter == "redis+streams" else REQUESTS
        wait_subscribers(redis_server, channel, 3)
        clients.connect("caller", procs[0].url)
        # r3's ack is still on its way when its server dies
        for name, p, delay in (("r1", procs[0], 0), ("r2", procs[1], 0), ("r3", procs[2], 1500)):
            clients.connect(name, p.url, ack_delay=delay)
            clients.emit(name, "join", "room")
        wait_until(lambda: clients.emit("caller", "server_count") == 3, 5, "server_count 3")

        started = time.monotonic()
        poll = pool.submit(clients.call, "caller", "poll", "room", ACK_TIMEOUT, timeout=15000)
        clients.wait("r3", "poll")
        procs[2].kill()
        result = poll.result()
        waited = time.monotonic() - started

        # the acks that could come did; the caller learns of the rest by the timeout
        assert result["timeout"] is True
        assert sorted(r["client"] for r in result["responses"]) == ["r1", "r2"]
        assert waited < ACK_TIMEOUT + 2.5
        # and the survivors serve on
        clients.emit("r2", "emit_to", ["room"], [], "after", 1)
        assert clients.wait("r1", "after") == [[1, "hub2"]]
        for p in procs[:2]:
            assert p.proc.poll() is None and "Traceback" not in p.log(), p.log()
