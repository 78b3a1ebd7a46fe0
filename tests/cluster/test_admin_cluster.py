"""The admin UI across a Redis cluster: two hubbub servers (asyncio and
gevent, examples/admin_dashboard.py) and a Node socket.io server with
@socket.io/admin-ui's own instrument(), real socket.io-client 4 sockets on
each. A UI logged in to any one server sees every server's stats, every
socket (with its client id and transport) and the live events of all of
them, and its actions reach sockets on the other servers, whichever
implementation serves them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_fixtures import NODE, Process, RedisServer, module_redis, running

from admin_driver import NodeClients
from conftest import EXAMPLES, JS_DIR, free_port

__all__ = ["module_redis"]

pytestmark = pytest.mark.timeout(90)

IDS = ("hub-a", "hub-b", "node-1")


def dashboard(name: str, redis: RedisServer, log_dir: Path, runtime: str) -> Process:
    port = free_port()
    args = [
        sys.executable, str(EXAMPLES / "admin_dashboard.py"), "--port", str(port),
        "--adapter", redis.url, "--server-id", name, "--runtime", runtime,
        "--stats-interval", "0.3", "--cors-allowed-origins", "*",
    ]
    return Process(name, args, port, log_dir / f"{name}.log")


def node_admin(name: str, redis: RedisServer, log_dir: Path) -> Process:
    assert NODE is not None
    port = free_port()
    args = [NODE, str(JS_DIR / "admin_node_server.mjs"), str(port), redis.url, name]
    return Process(name, args, port, log_dir / f"{name}.log")


@pytest.fixture(scope="module")
def cluster(
    module_redis: RedisServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, Process]]:
    log_dir = tmp_path_factory.mktemp("admin-cluster")
    procs = (
        dashboard("hub-a", module_redis, log_dir, "asyncio"),
        dashboard("hub-b", module_redis, log_dir, "gevent"),
        node_admin("node-1", module_redis, log_dir),
    )
    with running(*procs):
        yield {p.name: p for p in procs}


@pytest.fixture
def clients() -> Iterator[NodeClients]:
    node = NodeClients()
    try:
        yield node
    finally:
        node.shutdown()


def connect_apps(clients: NodeClients, cluster: dict[str, Process]) -> dict[str, str]:
    """One app socket per server: the server's id -> the socket's id."""
    ids = {}
    for name in IDS:
        app = clients.connect(name, cluster[name].url + "/", transports=["websocket"])
        assert app["connected"], app
        ids[name] = app["id"]
    return ids


def servers_seen(clients: NodeClients, admin: str) -> set[str]:
    return {e[1]["serverId"] for e in clients.events(admin) if e[0] == "server_stats"}


@pytest.mark.parametrize("ui_on", ["hub-a", "node-1"])
def test_every_server_and_socket_in_one_ui(
    clients: NodeClients, cluster: dict[str, Process], ui_on: str
) -> None:
    apps = connect_apps(clients, cluster)
    admin = clients.connect("admin", cluster[ui_on].url + "/admin", transports=["websocket"])
    assert admin["connected"]

    # every server's stats, each under its own id, hubbub's and Node's alike
    clients.until("admin", "server_stats", lambda _: servers_seen(clients, "admin") >= set(IDS))
    for name in IDS:
        [stats] = clients.until("admin", "server_stats", lambda a, n=name: a[0]["serverId"] == n)
        assert stats["clientsCount"] >= 1
        assert {"name": "/admin", "socketsCount": int(name == ui_on)} in stats["namespaces"]

    # every socket, with the client id and transport its own server gave it
    [sockets] = clients.wait("admin", "all_sockets")[0]
    by_id = {s["id"]: s for s in sockets}
    for sid in apps.values():
        described = by_id[sid]
        assert described["nsp"] == "/" and sid in described["rooms"]
        assert described["transport"] == "websocket"
        assert isinstance(described["clientId"], str) and len(described["clientId"]) == 12
        assert described["handshake"]["address"]
        assert "_admin" not in (described["data"] or {})

    # live events from the other servers
    late = {}
    for name in IDS:
        late[name] = clients.connect(
            f"late-{name}", cluster[name].url + "/", transports=["websocket"]
        )["id"]
    for sid in late.values():
        clients.until("admin", "socket_connected", lambda a, s=sid: a[0]["id"] == s)
    for name in IDS:
        clients.emit(f"late-{name}", "join", "lobby")
        clients.until("admin", "room_joined", lambda a, n=name: a[1:3] == ["lobby", late[n]])

    # actions on sockets of every server: join a room, then disconnect
    for name in IDS:
        clients.emit("admin", "join", "/", "vip", apps[name])
        clients.until("admin", "room_joined", lambda a, n=name: a[1:3] == ["vip", apps[n]])
    for name in IDS:
        clients.emit("admin", "_disconnect", "/", False, apps[name])
        [[reason]] = clients.wait(name, "disconnect")
        assert reason == "io server disconnect"
        clients.until("admin", "socket_disconnected", lambda a, n=name: a[1] == apps[n])
    for name in IDS:
        assert clients.state(f"late-{name}")["connected"]
