"""sio.instrument() against real socket.io-client 4 sockets (Node), on the
embedded server, under uvicorn and on gevent: what @socket.io/admin-ui
gets (login, session id, config, all_sockets, the live events, server_stats
with its counts) and what its actions do (join, leave, disconnect), in
development, production and read-only modes."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import hubbub
from admin_driver import NodeClients
from conftest import ServerThread

pytestmark = pytest.mark.timeout(90)

LOGIN = {"username": "admin", "password": "hunter2"}
ALL_FEATURES = [
    "EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT",
    "AGGREGATED_EVENTS", "ALL_EVENTS",
]


def build(**options: Any) -> hubbub.Server:
    sio = hubbub.Server(cors_allowed_origins="*")

    @sio.on("join")
    def join(socket: hubbub.Socket, room: str) -> list[str]:
        socket.join(room)
        return sorted(socket.rooms)

    @sio.on("hello")
    def hello(socket: hubbub.Socket, name: str) -> None:
        socket.data["name"] = name
        socket.emit("hi", name)

    sio.instrument(server_stats_interval=0.25, server_id="hub-test", **options)
    return sio


def serve(sio: hubbub.Server, runtime: str) -> ServerThread:
    return ServerThread(sio, uvicorn=runtime == "uvicorn", gevent=runtime == "gevent")


@pytest.fixture
def clients() -> Iterator[NodeClients]:
    node = NodeClients()
    try:
        yield node
    finally:
        node.shutdown()


def stats_until(
    clients: NodeClients, name: str, check: Callable[[list[dict[str, Any]]], bool],
    timeout: float = 10.0,
) -> list[dict[str, Any]]:
    """Every server_stats ``name`` got, once ``check`` holds for them."""
    deadline = time.monotonic() + timeout
    while True:
        stats = [e[1] for e in clients.events(name) if e[0] == "server_stats"]
        if stats and check(stats):
            return stats
        assert time.monotonic() < deadline, f"server_stats never matched: {stats[-1:]}"
        time.sleep(0.1)


def counted(stats: list[dict[str, Any]], kind: str) -> int:
    return sum(e["count"] for s in stats for e in s["aggregatedEvents"] if e["type"] == kind)


@pytest.mark.parametrize("runtime", ["embedded", "uvicorn", "gevent"])
def test_development_mode(clients: NodeClients, runtime: str) -> None:
    with serve(build(auth=LOGIN), runtime) as server:
        url = server.url
        app = clients.connect("app", url + "/", transports=["polling", "websocket"])
        assert app["connected"]
        app_id = app["id"]

        refused = clients.connect("intruder", url + "/admin", {**LOGIN, "password": "guess"})
        assert refused == {"connected": False, "error": "invalid credentials"}
        assert clients.connect("nobody", url + "/admin") == {
            "connected": False, "error": "invalid credentials"
        }

        admin = clients.connect("admin", url + "/admin", LOGIN, transports=["websocket"])
        assert admin["connected"]
        [[session_id]] = clients.wait("admin", "session")
        assert isinstance(session_id, str) and len(session_id) >= 20
        [[config]] = clients.wait("admin", "config")
        assert config == {"supportedFeatures": ALL_FEATURES}

        [[sockets]] = clients.wait("admin", "all_sockets")
        by_id = {s["id"]: s for s in sockets}
        mine = by_id[app_id]
        assert mine["nsp"] == "/"
        assert mine["rooms"] == [app_id]
        assert mine["data"] == {}
        assert len(mine["clientId"]) == 12
        assert mine["transport"] in ("polling", "websocket")
        handshake = mine["handshake"]
        assert handshake["address"] == "127.0.0.1"
        assert handshake["query"]["EIO"] == "4"
        assert handshake["secure"] is False
        assert isinstance(handshake["issued"], int) and handshake["time"]
        assert "host" in handshake["headers"]
        assert "auth" not in handshake
        # the admin socket itself is listed, in its namespace
        assert by_id[admin["id"]]["nsp"] == "/admin"

        # the app's events and rooms show up live
        clients.emit("app", "join", "lobby")
        clients.emit("app", "hello", "ann")
        joined = clients.until("admin", "room_joined", lambda a: a[1] == "lobby")
        assert joined[:3] == ["/", "lobby", app_id] and joined[3].endswith("Z")
        received = clients.wait("admin", "event_received", 2)
        assert [r[:3] for r in received] == [
            ["/", app_id, ["join", "lobby"]],
            ["/", app_id, ["hello", "ann"]],
        ]
        [[nsp, sid, args, stamp]] = clients.wait("admin", "event_sent")
        assert (nsp, sid, args) == ("/", app_id, ["hi", "ann"])

        # a socket connecting now is announced, and so is its upgrade to
        # websocket when that came after its connection
        later = clients.connect("later", url + "/", transports=["polling", "websocket"])
        [announced, stamp] = clients.until(
            "admin", "socket_connected", lambda a: a[0]["id"] == later["id"]
        )
        assert announced["rooms"] == [later["id"]]
        assert announced["nsp"] == "/" and stamp.endswith("Z")
        if announced["transport"] == "polling":
            update = clients.until("admin", "socket_updated", lambda a: a[0]["id"] == later["id"])
            assert update == [{"id": later["id"], "nsp": "/", "transport": "websocket"}]
        else:
            assert announced["transport"] == "websocket"

        # the stats: this server, both namespaces, the counts of the traffic
        # (a report may come between a client's connection and its socket's:
        # the one that counts both is waited for)
        def settled(stats: list[dict[str, Any]]) -> bool:
            last = stats[-1]
            sockets = {n["name"]: n["socketsCount"] for n in last["namespaces"]}
            return (
                last["clientsCount"] == 3
                and sockets == {"/": 2, "/admin": 1}
                and counted(stats, "packetsIn") >= 4
            )

        stats = stats_until(clients, "admin", settled)
        last = stats[-1]
        assert last["serverId"] == "hub-test"
        assert isinstance(last["pid"], int) and last["hostname"]
        assert last["uptime"] > 0
        assert 0 <= last["pollingClientsCount"] <= 1
        assert counted(stats, "rawConnection") >= 1
        assert counted(stats, "packetsOut") >= 4
        assert counted(stats, "bytesIn") > counted(stats, "packetsIn")
        assert counted(stats, "bytesOut") > counted(stats, "packetsOut")

        # actions: join and leave a room, then disconnect the socket
        clients.emit("admin", "join", "/", "vip", app_id)
        clients.until("admin", "room_joined", lambda a: a[1] == "vip" and a[2] == app_id)
        clients.emit("admin", "leave", "/", "vip", app_id)
        clients.until("admin", "room_left", lambda a: a[:3] == ["/", "vip", app_id])
        clients.emit("admin", "_disconnect", "/", False, app_id)
        [[reason]] = clients.wait("app", "disconnect")
        assert reason == "io server disconnect"
        gone = clients.until("admin", "socket_disconnected", lambda a: a[1] == app_id)
        assert gone[:3] == ["/", app_id, "server namespace disconnect"]
        assert clients.state("later")["connected"]

        # the stats count the closed connection by its reason
        clients.close("later")
        stats_until(clients, "admin", lambda s: counted(s, "rawDisconnection") >= 1)

        # the UI reconnects with its session id instead of the password
        again = clients.connect("again", url + "/admin", {"sessionId": session_id})
        assert again["connected"]
        assert clients.connect("forged", url + "/admin", {"sessionId": "forged"})[
            "connected"
        ] is False


@pytest.mark.parametrize("runtime", ["embedded", "gevent"])
def test_read_only_refuses_actions(clients: NodeClients, runtime: str) -> None:
    with serve(build(auth=False, read_only=True), runtime) as server:
        app = clients.connect("app", server.url + "/", transports=["websocket"])
        admin = clients.connect("admin", server.url + "/admin", transports=["websocket"])
        assert app["connected"] and admin["connected"]
        [[config]] = clients.wait("admin", "config")
        assert config == {"supportedFeatures": ["AGGREGATED_EVENTS", "ALL_EVENTS"]}
        clients.wait("admin", "all_sockets")

        # sent anyway: each refused with an 'error', nothing done
        clients.emit("admin", "_disconnect", "/", True, app["id"])
        clients.emit("admin", "join", "/", "vip", app["id"])
        clients.emit("admin", "leave", "/", app["id"], app["id"])
        clients.emit("admin", "emit", "/", None, "hi", 1)
        errors = clients.wait("admin", "error", 4)
        assert all(e[0]["message"].startswith("read-only") for e in errors)
        assert [e[0]["event"] for e in errors] == ["_disconnect", "join", "leave", "emit"]
        assert clients.state("app")["connected"]
        names = [e[0] for e in clients.events("app")]
        assert "hi" not in names and "disconnect" not in names
        # the app socket is in its own room only: the join never happened
        clients.emit("app", "join", "lobby")
        clients.until("admin", "room_joined", lambda a: a[:3] == ["/", "lobby", app["id"]])
        assert not any(e[0] == "room_joined" and e[2] == "vip" for e in clients.events("admin"))


def test_production_mode_sends_stats_only(clients: NodeClients) -> None:
    sio = build(auth=[LOGIN, {"username": "ops", "password": "other"}], mode="production")
    with serve(sio, "embedded") as server:
        app = clients.connect("app", server.url + "/", transports=["websocket"])
        admin = clients.connect(
            "admin", server.url + "/admin", {"username": "ops", "password": "other"}
        )
        assert app["connected"] and admin["connected"]
        [[config]] = clients.wait("admin", "config")
        assert config == {"supportedFeatures": ALL_FEATURES[:-1]}
        clients.emit("app", "hello", "bob")
        clients.wait("app", "hi")
        stats_until(clients, "admin", lambda s: s[-1]["clientsCount"] == 2 and len(s) >= 2)
        names = {e[0] for e in clients.events("admin")}
        assert names == {"session", "config", "server_stats"}

        # the actions work in production mode too (they need no event log)
        clients.emit("admin", "emit", "/", None, "notice", {"text": "maintenance"})
        [[notice]] = clients.wait("app", "notice")
        assert notice == {"text": "maintenance"}
        clients.emit("admin", "_disconnect", "/", True, app["id"])
        [[reason]] = clients.wait("app", "disconnect")
        assert reason == "io server disconnect"


def test_instrument_options_are_checked() -> None:
    sio = hubbub.Server()
    with pytest.raises(ValueError):
        sio.instrument(auth=False, mode="debug")
    with pytest.raises(ValueError):
        sio.instrument(auth=False, server_stats_interval=0)
    with pytest.raises(ValueError):
        sio.instrument(auth={"username": "admin"})
    with pytest.raises(TypeError):
        sio.instrument()  # type: ignore[call-arg]  # auth is required, as in Node
