"""A mixed cluster on one real redis-server: three hubbub processes (asyncio,
and gevent when that runtime exists) and one Node socket.io 4.8 server with
@socket.io/redis-adapter, real socket.io-client 4 sockets on each, on the
classic adapter and on the sharded one (SPUBLISH/SSUBSCRIBE, Redis 7).

Clients: a (hub1), b (hub2), c (hub3), d (node1) in room "r1"; e (node1) in
room "r2"; b also in "x". Each test uses its own rooms or events, so the
order of the tests does not matter.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from cluster_fixtures import (
    HAS_GEVENT_RUNTIME,
    NODE,
    Clients,
    RedisServer,
    hub,
    module_redis,
    node_server,
    running,
    wait_subscribers,
    wait_until,
)

from conftest import JS_DIR

__all__ = ["module_redis"]

pytestmark = pytest.mark.timeout(40)

ALL = "abcd"
SERVER_OF = {"a": "hub1", "b": "hub2", "c": "hub3", "d": "node1", "e": "node1"}


class Cluster:
    def __init__(self, kind: str, redis: RedisServer, clients: Clients) -> None:
        self.kind = kind
        self.redis = redis
        self.clients = clients
        self.sids: dict[str, str] = {}
        self.urls: dict[str, str] = {}  # server name -> URL


@pytest.fixture(scope="module", params=["redis", "sharded"])
def cluster(
    request: pytest.FixtureRequest,
    module_redis: RedisServer,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Cluster]:
    kind = request.param
    log_dir = tmp_path_factory.mktemp(f"cluster-{kind}")
    url = (
        module_redis.url
        if kind == "redis"
        else module_redis.url.replace("redis://", "redis+sharded://")
    )
    third_runtime = "gevent" if HAS_GEVENT_RUNTIME else "asyncio"
    procs = (
        hub("hub1", url, log_dir),
        hub("hub2", url, log_dir),
        hub("hub3", url, log_dir, runtime=third_runtime),
        node_server("node1", module_redis.url, kind, log_dir),
    )
    clients = Clients()
    try:
        with running(*procs):
            if kind == "redis":
                wait_subscribers(module_redis, "socket.io-request#/#", 4)
            else:
                wait_subscribers(module_redis, "socket.io#/#", 4, sharded=True)
            cluster = Cluster(kind, module_redis, clients)
            cluster.urls = {p.name: p.url for p in procs}
            for name, server in SERVER_OF.items():
                cluster.sids[name] = clients.connect(name, cluster.urls[server])["sid"]
            for name in ALL:
                assert clients.emit(name, "join", "r1") == ["r1"]
            clients.emit("e", "join", "r2")
            clients.emit("b", "join", "x")
            # every server counts the four of them before the tests start
            for name in ALL:
                wait_until(
                    lambda n=name: clients.emit(n, "server_count") == 4,  # type: ignore[misc]
                    10,
                    f"server_count 4 on {SERVER_OF[name]}",
                )
            yield cluster
    except Exception:
        for p in procs:
            print(f"----- {p.name}\n{p.log()[-4000:]}")
        raise
    finally:
        clients.close()


def sentinel(cluster: Cluster, names: str, tag: str) -> None:
    """A broadcast to everyone that each of ``names`` waits for: what was sent
    before it has had its chance to arrive."""
    cluster.clients.emit("a", "emit_to", [], [], f"sentinel-{tag}", 0)
    for name in names:
        cluster.clients.wait(name, f"sentinel-{tag}")


def received(cluster: Cluster, name: str, event: str) -> list[list[Any]]:
    return [e[1:] for e in cluster.clients.events(name) if e[0] == event]


def test_room_broadcasts_from_every_server(cluster: Cluster) -> None:
    c = cluster.clients
    for sender in ALL:
        c.emit(sender, "emit_to", ["r1"], [], f"news-{sender}", sender)
    for name in ALL:
        for sender in ALL:
            assert c.wait(name, f"news-{sender}") == [[sender, SERVER_OF[sender]]]
    sentinel(cluster, "e", "rooms")
    assert not [e for e in c.events("e") if e[0].startswith("news-")]


def test_exceptions(cluster: Cluster) -> None:
    c = cluster.clients
    for sender in ALL:
        c.emit(sender, "emit_to", ["r1"], ["x"], f"notx-{sender}", 1)
        c.emit(sender, "emit_to", [], ["r1"], f"notr1-{sender}", 2)
    for sender in ALL:
        for name in "acd":
            c.wait(name, f"notx-{sender}")
        c.wait("e", f"notr1-{sender}")
    sentinel(cluster, "abcde", "except")
    assert not [e for e in c.events("b") if e[0].startswith("notx-")]
    for name in ALL:
        assert not [e for e in c.events(name) if e[0].startswith("notr1-")]


def test_broadcast_acks_count_every_client(cluster: Cluster) -> None:
    for sender in ALL:
        result = cluster.clients.call(sender, "poll", "r1", 4)
        assert result["timeout"] is False, (sender, result)
        assert sorted(r["client"] for r in result["responses"]) == list(ALL)


def test_fetch_sockets(cluster: Cluster) -> None:
    expected = sorted(
        ({"id": cluster.sids[n], "server": SERVER_OF[n]} for n in ALL), key=lambda d: d["id"]
    )
    for sender in "abcde":
        found = cluster.clients.call(sender, "fetch", "r1")
        assert [{"id": s["id"], "server": s["server"]} for s in found] == expected
        for s in found:
            assert "r1" in s["rooms"] and s["id"] in s["rooms"]


def test_remote_socket_emit(cluster: Cluster) -> None:
    for sender in ALL:
        assert cluster.clients.call(sender, "remote_emit", "r2", f"direct-{sender}") == 1
        assert cluster.clients.wait("e", f"direct-{sender}") == [[SERVER_OF[sender]]]


def test_sockets_join_and_leave(cluster: Cluster) -> None:
    c = cluster.clients
    for i, sender in enumerate(ALL):
        room = f"joined-{i}"
        c.emit(sender, "sockets_join", "r1", room)
        # the operation travels like a broadcast: a sentinel orders it
        sentinel(cluster, ALL, f"join-{i}")
        for name in ALL:
            wait_until(lambda n=name, r=room: r in _rooms(cluster, n), 5, f"{name} in {room}")
        c.emit(sender, "sockets_leave", "r1", room)
        sentinel(cluster, ALL, f"leave-{i}")
        for name in ALL:
            wait_until(lambda n=name, r=room: r not in _rooms(cluster, n), 5, f"{name} left {room}")


def _rooms(cluster: Cluster, name: str) -> list[str]:
    rooms: list[str] = cluster.clients.emit(name, "join", "r1")
    return rooms


def test_server_side_emit_with_acks(cluster: Cluster) -> None:
    for sender in ALL:
        result = cluster.clients.call(sender, "server_side", f"hi-{sender}")
        assert result["error"] is None
        servers = sorted(a["server"] for a in result["answers"])
        assert servers == sorted({"hub1", "hub2", "hub3", "node1"} - {SERVER_OF[sender]})
        assert {a["payload"] for a in result["answers"]} == {f"hi-{sender}"}


def test_disconnect_sockets(cluster: Cluster) -> None:
    c = cluster.clients
    # victims on every server, each in room "victims"
    for sender in ALL:
        victims = {}
        for server_client in ALL:
            name = f"v{sender}{server_client}"
            victims[name] = c.connect(name, cluster.urls[SERVER_OF[server_client]])
            c.emit(name, "join", "victims")
        c.emit(sender, "disconnect_room", "victims")
        for name in victims:
            c.wait(name, "$disconnect")
            c.request("close", name=name)
        # the others are still here
        assert c.emit(sender, "join", "r1") == ["r1"] + (["x"] if sender == "b" else [])


# the emitters speak the classic adapter's channels only
@pytest.mark.parametrize("cluster", ["redis"], indirect=True)
def test_emitters_reach_every_server(cluster: Cluster) -> None:
    c = cluster.clients
    import hubbub

    emitter = hubbub.Emitter(cluster.redis.url)
    try:
        # each call returns how many servers heard it: hub1-3 and node1
        servers = len(set(SERVER_OF.values()))
        assert emitter.to("r1").emit("py-emit", {"n": 1}, b"\x01\x02") == servers
        assert emitter.except_("r1").emit("py-except", 2) == servers
        assert emitter.server_side_emit("announce", "from-python") == servers
        for name in ALL:
            assert c.wait(name, "py-emit") == [[{"n": 1}, {"$bin": "0102"}]]
            assert c.wait(name, "announced") == [[SERVER_OF[name], "from-python"]]
        assert c.wait("e", "py-except") == [[2]]
        emitter.in_("r2").sockets_join("py-room")
        emitter.to("py-room").emit("py-room-event", 3)
        assert c.wait("e", "py-room-event") == [[3]]
    finally:
        emitter.close()
    ops = [
        {"op": "emit", "to": ["r1"], "event": "node-emit", "args": [{"n": 2}]},
        {"op": "emit", "except": ["r1"], "event": "node-except", "args": [4]},
        {"op": "serverSideEmit", "event": "announce", "args": ["from-node"]},
        {"op": "socketsJoin", "to": ["r2"], "rooms": ["node-room"]},
        {"op": "emit", "to": ["node-room"], "event": "node-room-event", "args": [5]},
    ]
    assert NODE is not None
    subprocess.run(
        [NODE, str(JS_DIR / "redis_emitter.mjs"), cluster.redis.url, json.dumps(ops)],
        cwd=JS_DIR,
        check=True,
        timeout=15,
        capture_output=True,
    )
    for name in ALL:
        assert c.wait(name, "node-emit") == [[{"n": 2}]]
        assert c.wait(name, "announced", 2)[1] == [SERVER_OF[name], "from-node"]
    assert c.wait("e", "node-except") == [[4]]
    assert c.wait("e", "node-room-event") == [[5]]
