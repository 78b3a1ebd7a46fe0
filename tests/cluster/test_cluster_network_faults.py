"""Network faults through a TCP proxy the test controls: one process's link
to Redis cut for 10 s, and a client whose network stalls in the middle of a
websocket frame."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path

import pytest
from cluster_fixtures import (
    Clients,
    Process,
    RedisServer,
    clients,
    hub,
    redis_server,
    running,
    wait_subscribers,
    wait_until,
)
from tcp_proxy import tcp_proxy

__all__ = ["clients", "redis_server"]

CUT_SECONDS = 10.0
TICKS = 40
TICK_INTERVAL = 0.4  # the ticks span the cut, before and after it


def assert_sound(*procs: Process) -> None:
    for p in procs:
        assert p.proc.poll() is None, f"{p.name} exited:\n{p.log()}"
        assert "Traceback" not in p.log(), p.log()


@pytest.mark.timeout(90)
@pytest.mark.parametrize(
    ("scheme", "runtime", "fault"),
    [
        ("redis", "asyncio", "cut"),
        ("redis", "gevent", "cut"),
        ("redis+sharded", "asyncio", "cut"),
        ("redis+streams", "asyncio", "cut"),
        ("redis+streams", "gevent", "cut"),
        ("redis", "asyncio", "stall"),
        ("redis+streams", "asyncio", "stall"),
        ("redis+sharded", "gevent", "stall"),
    ],
)
def test_redis_link_cut(
    redis_server: RedisServer,
    clients: Clients,
    tmp_path: Path,
    scheme: str,
    runtime: str,
    fault: str,
) -> None:
    """cut: every connection reset, new ones refused; stall: nothing gets
    through either way and nothing is reset, as when a network drops packets."""
    streams = scheme == "redis+streams"
    sharded = scheme == "redis+sharded"
    with tcp_proxy(redis_server.port) as proxy:
        hub1 = hub("hub1", f"{scheme}://127.0.0.1:{redis_server.port}/0", tmp_path)
        hub2 = hub("hub2", f"{scheme}://127.0.0.1:{proxy.port}/0", tmp_path, runtime=runtime)
        with running(hub1, hub2):
            # the channel whose subscriber count is the server count
            channel = "socket.io#/#" if streams or sharded else "socket.io-request#/#"
            wait_subscribers(redis_server, channel, 2, sharded=sharded)
            for name, server in (("a", hub1), ("b", hub2), ("b2", hub2)):
                clients.connect(name, server.url)
                clients.emit(name, "join", "room")
            if sharded:
                # a room has a channel of its own there, subscribed after the join's ack
                wait_subscribers(redis_server, "socket.io#/#room#", 2, sharded=True)
            clients.emit("a", "emit_to", ["room"], [], "before", 0)
            assert clients.wait("b", "before") == [[0, "hub1"]]
            if streams:
                clients.emit("a", "ticker", "room", TICKS, TICK_INTERVAL)
                clients.wait("b", "tick", 3)

            if fault == "cut":
                proxy.cut()
                cut_at = time.monotonic()
                wait_until(lambda: "lost the Redis" in hub2.log(), 5, "hub2 logging the loss")
            else:
                proxy.stall()
                cut_at = time.monotonic()
            # hub2 serves its own clients on: acks, and broadcasts among them,
            # without waiting for Redis's socket timeout (5 s)
            for i in range(3):
                clients.emit("b2", "emit_to", ["room"], [], "during", i)
                clients.wait("b", "during", i + 1, timeout=3000)
            assert [args[0] for args in clients.wait("b", "during", 3)] == [0, 1, 2]
            assert clients.emit("b", "join", "other") == ["other", "room"]
            # and hub1 its own
            clients.emit("a", "emit_to", ["room"], [], "hub1-during", 1)
            clients.wait("a", "hub1-during")
            time.sleep(max(0.0, CUT_SECONDS - (time.monotonic() - cut_at)))
            proxy.restore()

            wait_subscribers(redis_server, channel, 2, sharded=sharded, timeout=20)

            # cross-process delivery resumes, both ways (a publisher may need a retry)
            def delivered(sender: str, receiver: str, event: str) -> bool:
                clients.emit(sender, "emit_to", ["room"], [], event, 1)
                return any(e[0] == event for e in clients.events(receiver))

            wait_until(lambda: delivered("a", "b", "after-a"), 15, "hub1 reaching hub2 again")
            wait_until(lambda: delivered("b", "a", "after-b"), 15, "hub2 reaching hub1 again")
            if streams:
                # hub2 read the stream on from where it stopped: every tick
                # broadcast by hub1 meanwhile reached b, in order, once
                ticks = clients.wait("b", "tick", TICKS, timeout=int(TICKS * TICK_INTERVAL * 1000))
                assert [args[0] for args in ticks] == list(range(TICKS))
                clients.emit("a", "emit_to", ["room"], [], "end", 0)
                clients.wait("b", "end")
                assert [e[1] for e in clients.events("b") if e[0] == "tick"] == list(range(TICKS))
            for name in ("a", "b"):  # counts are refreshed in the background
                wait_until(lambda n=name: clients.emit(n, "server_count") == 2, 5, "2 servers")  # type: ignore[misc]
            assert_sound(hub1, hub2)
    if fault == "cut":
        log = hub2.log()
        assert "lost the Redis" in log
        assert "reconnected to Redis" in log or "reading the Redis stream again" in log


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("runtime", ["asyncio", "uvicorn", "gevent"])
def test_client_stalled_mid_frame(clients: Clients, tmp_path: Path, runtime: str) -> None:
    # the app's heartbeat: ping every 1 s, 2 s for the pong
    server = hub("s", "memory://", tmp_path, runtime=runtime)
    with running(server), tcp_proxy(server.port) as proxy:
        clients.connect("ok", server.url)
        clients.emit("ok", "join", "all")
        baseline = open_fds(server.proc.pid)
        clients.connect("stuck", f"http://127.0.0.1:{proxy.port}", reconnection=False)
        clients.emit("stuck", "join", "all")
        assert len(clients.call("ok", "fetch", "all")) == 2

        # a 20 kB message of which the server gets the first 2 kB, then nothing
        # (random, so that permessage-deflate, where offered, keeps it large)
        proxy.stall_after(2000)
        clients.send("stuck", "emit_to", ["nobody"], [], "big", secrets.token_urlsafe(15_000))
        wait_until(lambda: proxy.mode == "stall", 5, "the proxy stalling mid-frame")

        # the other client is served all along; the heartbeat ends the stalled
        # session (no pong within ping_interval + ping_timeout)
        def stalled_gone() -> bool:
            assert clients.emit("ok", "join", "all") == ["all"]
            return [s["server"] for s in clients.call("ok", "fetch", "all")] == ["s"]

        wait_until(stalled_gone, 10, "the server dropping the stalled session")
        # and closes its connection: at once, or (under uvicorn) once the
        # websocket closing handshake has timed out
        wait_until(lambda: bool(proxy.server_closed()), 15, "the server closing the connection")
        wait_until(lambda: open_fds(server.proc.pid) == baseline, 5, "the fd count back")
        clients.emit("ok", "emit_to", ["all"], [], "still", 1)
        assert clients.wait("ok", "still") == [[1, "s"]]
        assert_sound(server)


@pytest.mark.timeout(60)
def test_stream_gap_before_any_entry(
    redis_server: RedisServer, clients: Clients, tmp_path: Path
) -> None:
    """A server whose stream reader had read nothing yet when its link was
    cut still gets what was added meanwhile: it resumes from the stream's last
    entry as of its first read, not from whatever is last on reconnecting."""
    with tcp_proxy(redis_server.port) as proxy:
        hub1 = hub("hub1", f"redis+streams://127.0.0.1:{redis_server.port}/0", tmp_path)
        hub2 = hub("hub2", f"redis+streams://127.0.0.1:{proxy.port}/0", tmp_path)
        with running(hub1, hub2):
            wait_subscribers(redis_server, "socket.io#/#", 2)
            redis = redis_server.client()
            try:
                wait_until(
                    lambda: sum(c["cmd"] == "xread" for c in redis.client_list()) == 2,
                    10,
                    "both stream readers waiting",
                )
            finally:
                redis.close()
            for name, server in (("a", hub1), ("b", hub2)):
                clients.connect(name, server.url)
                clients.emit(name, "join", "room")
            proxy.cut()
            wait_until(lambda: "lost the Redis" in hub2.log(), 5, "hub2 logging the loss")
            for i in range(3):
                clients.emit("a", "emit_to", ["room"], [], "gap", i)
            proxy.restore()
            assert [args[0] for args in clients.wait("b", "gap", 3, timeout=15000)] == [0, 1, 2]
            assert_sound(hub1, hub2)
