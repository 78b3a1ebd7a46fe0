"""The real socket.io-client, under Node, against hubbub over real sockets.

socket.io-client 4.x (``tests/js/sio_client4.mjs``, EIO=4, Socket.IO protocol
v5, also with socket.io-msgpack-parser) and 2.x (``tests/js/sio_client2.js``,
``socket.io-client-v2``: EIO=3, protocol v4) run one scenario per process
and print what they saw as JSON lines; these tests check it. The server is
``tests/interop/sio_app.py`` (Namespace classes and decorator handlers; see
its docstring for the events), on the embedded server, under uvicorn and on
gevent.

Every scenario uses fresh clients and randomly named rooms, so tests do not
depend on each other or on their order.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import JS_DIR, RUNTIMES, free_port, run_process, runtime_flags

NODE = shutil.which("node")
APP = Path(__file__).with_name("sio_app.py")
CLIENT4 = JS_DIR / "sio_client4.mjs"
CLIENT2 = JS_DIR / "sio_client2.js"

pytestmark = [pytest.mark.timeout(20)]

# the three kinds of namespaces sio_app serves: decorators on "/", a
# Namespace class on "/chat", a regex-matched dynamic namespace
NAMESPACES = [
    pytest.param("/", id="main"),
    pytest.param("/chat", id="static-class"),
    pytest.param("/dyn-abc", id="dynamic"),
]

Result = dict[str, Any]

# ----------------------------------------------------------------- servers


@contextlib.contextmanager
def sio_server(runtime: str, *flags: str) -> Iterator[str]:
    """``sio_app.py`` with ``flags`` on a free port; yields its URL."""
    port = free_port()
    args = [
        sys.executable, str(APP), "--host", "127.0.0.1", "--port", str(port),
        *flags, *runtime_flags(runtime),
    ]
    with run_process(args, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module", params=RUNTIMES)
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    with sio_server(request.param) as url:
        yield url


@pytest.fixture(scope="module", params=RUNTIMES)
def msgpack_server(request: pytest.FixtureRequest) -> Iterator[str]:
    with sio_server(request.param, "--serializer", "msgpack") as url:
        yield url


@pytest.fixture(scope="module", params=RUNTIMES)
def recovery_server(request: pytest.FixtureRequest) -> Iterator[str]:
    with sio_server(request.param, "--recovery") as url:
        yield url


# ----------------------------------------------------------------- running the clients


def run_node(script: Path, url: str, scenario: str, *flags: str) -> Result:
    """Run one scenario; its result, or fail with everything it printed."""
    assert NODE is not None
    proc = subprocess.run(
        [NODE, str(script), url, scenario, *flags, "--timeout", "14000"],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=17,
    )
    events = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    results = [e["result"] for e in events if e.get("event") == "result"]
    assert proc.returncode == 0 and results, (
        f"{script.name} {scenario} {' '.join(flags)} failed ({proc.returncode}):\n"
        f"{proc.stdout}\n{proc.stderr}"
    )
    return results[-1]  # type: ignore[no-any-return]


def client4(url: str, scenario: str, *flags: str) -> Result:
    return run_node(CLIENT4, url, scenario, *flags)


def client2(url: str, scenario: str, *flags: str) -> Result:
    return run_node(CLIENT2, url, scenario, *flags)


def buf(data: bytes) -> dict[str, str]:
    """How the scripts print a Buffer the client received."""
    return {"$bin": data.hex(), "type": "Buffer"}


def described(data: bytes) -> dict[str, str]:
    """How sio_app's 'describe' reports bytes the server received."""
    return {"$bytes": data.hex()}


# ----------------------------------------------------------------- shared checks

SENT_BINARY = [
    described(bytes([0, 1, 2, 253, 254, 255])),
    {
        "nested": {
            "buf": described(b"nested"),
            "list": [described(b"\x01"), 2, "x", described(b"")],
        },
        "text": "t",
    },
    "plain",
]
ECHOED_BINARY = [
    buf(bytes([0, 1, 2, 253, 254, 255])),
    {"nested": {"buf": buf(b"nested"), "list": [buf(b"\x01"), 2, "x", buf(b"")]}, "text": "t"},
    "plain",
]
PUSHED_BINARY = [
    buf(b"\x00\x01\x02\xfe\xff"),
    {"nested": buf(b"nested bytes"), "list": [buf(b""), 1, "text"], "plain": "no bytes"},
]


def check_rooms(r: Result) -> None:
    """3 clients: a and b in the room; a broadcasts to it; then a sentinel to all."""
    a, b = r["ids"]["a"], r["ids"]["b"]
    assert len(set(r["ids"].values())) == 3
    room = r["room"]
    assert r["joined"] in ({"a": [room], "b": [room]}, {"a": [[room]], "b": [[room]]})
    assert r["ack"] in (True, [True])
    sentinel = ["sentinel", a]
    # the sender does not get its own room broadcast, the member does, the
    # non-member does not; the sentinel after it reached everyone
    assert r["received"]["a"] == [sentinel]
    assert r["received"]["b"] == [[{"text": "hello room", "n": 1}, a], sentinel]
    assert r["received"]["c"] == [sentinel]
    assert b != a


def check_binary(r: Result, typed_array: bool) -> None:
    sent = [*SENT_BINARY]
    echoed = [*ECHOED_BINARY]
    if typed_array:  # the 4.x script also sends a Uint8Array
        sent.append(described(bytes([9, 8, 7])))
        echoed.append(buf(bytes([9, 8, 7])))
    sent.append(42)
    echoed.append(42)
    # the server received bytes where the client sent Buffers, nested too
    assert r["described"] == [sent]
    # and its acks and events carry bytes back as Buffers
    assert r["echoed"] == echoed
    assert r["big"] == {"isBuffer": True, "length": 200_000, "same": True}
    assert r["pushAck"] in (True, [True])
    assert r["pushed"] == PUSHED_BINARY


def check_auth(r: Result, nsp: str) -> None:
    welcome = r["welcome"]
    assert welcome["sid"] == r["id"]
    assert welcome["nsp"] == nsp
    assert welcome["auth"] == {
        "token": "good",
        "user": "alice",
        "nested": {"n": 1, "list": [1, "two", None]},
    }
    assert welcome["query"]["EIO"] == "4"
    assert welcome["recovered"] is False
    assert r["refused"] == {
        "message": "unauthorized",
        "data": {"code": 4001, "reason": "bad token", "token": "bad"},
        "connected": False,
    }
    assert r["invalid"] == {"message": "Invalid namespace", "data": None}


def check_namespaces(r: Result) -> None:
    assert r["engines"] == 1  # one Manager, one Engine.IO connection
    for name in ("/chat", "/dyn-alpha", "/dyn-beta42"):
        ns = r["namespaces"][name]
        assert ns["welcome"]["nsp"] == name
        assert ns["welcome"]["sid"] == ns["id"]
        assert ns["welcome"]["auth"] == {"token": "ok", "name": name}
        assert ns["echo"][0] == name
    ids = {ns["id"] for ns in r["namespaces"].values()}
    assert len(ids) == 3
    assert r["unmatched"] == {"message": "Invalid namespace"}


def check_client_acks(r: Result) -> None:
    assert r["single"] == "one"
    assert r["several"] == [1, "two", {"three": [3]}, None, True]
    assert r["none"] == []
    assert r["withTimeout"] == "in time"
    assert r["timeoutCallback"] == {"err": None, "values": ["x", 2]}


def check_server_acks(r: Result) -> None:
    # socket.call and socket.timeout(t).emit get every value of the client's ack
    assert r["call"] == {"answer": [{"double": 42}, "extra"]}
    assert r["timeoutEmit"] == {"answer": [{"double": 10}, "extra"]}
    # and time out when it never answers
    assert r["callSilent"]["timeout"] is True
    assert r["timeoutEmitSilent"]["timeout"] is True
    assert 250 <= r["callSilentMs"] < 2500
    assert 250 <= r["timeoutEmitSilentMs"] < 2500
    assert r["asked"] == [21, 5, "silent", "silent"]
    assert r["after"] == "still connected"


def check_broadcast_acks(r: Result) -> None:
    ids = r["ids"]

    def names(responses: list[dict[str, Any]]) -> list[str]:
        for resp in responses:
            assert resp["id"] == ids[resp["name"]]
        return sorted(resp["name"] for resp in responses)

    assert r["call"]["timeout"] is False
    assert names(r["call"]["responses"]) == ["a", "b", "c"]
    assert r["emit"]["timeout"] is False
    assert names(r["emit"]["responses"]) == ["a", "b", "c"]
    # c stops answering: the callback gets the timeout and the 2 answers
    assert r["partialEmit"]["timeout"] is True
    assert names(r["partialEmit"]["responses"]) == ["a", "b"]
    assert 400 <= r["partialEmitMs"] < 3000
    # and .call raises AckTimeoutError
    assert r["partialCall"] == {"timeout": True, "responses": None}
    assert 400 <= r["partialCallMs"] < 3000


# ----------------------------------------------------------------- socket.io-client 4.x


@pytest.mark.parametrize("nsp", NAMESPACES)
def test_auth_reaches_on_connect_and_refusal_gives_connect_error(server: str, nsp: str) -> None:
    check_auth(client4(server, "auth", "--nsp", nsp), nsp)


def test_static_and_dynamic_namespaces_on_one_connection(server: str) -> None:
    check_namespaces(client4(server, "namespaces"))


@pytest.mark.parametrize("nsp", NAMESPACES)
def test_room_broadcast_except_sender(server: str, nsp: str) -> None:
    check_rooms(client4(server, "rooms", "--nsp", nsp))


@pytest.mark.parametrize("nsp", NAMESPACES)
def test_client_emit_with_ack_gets_the_handlers_return_value(server: str, nsp: str) -> None:
    check_client_acks(client4(server, "ack_client_to_server", "--nsp", nsp))


@pytest.mark.parametrize("nsp", NAMESPACES)
def test_server_emit_with_ack_gets_the_clients_answer_or_times_out(server: str, nsp: str) -> None:
    check_server_acks(client4(server, "ack_server_to_client", "--nsp", nsp))


def test_client_side_ack_timeout_on_a_slow_handler(server: str) -> None:
    r = client4(server, "ack_client_timeout")
    assert r["error"] == "operation has timed out"
    assert 450 <= r["elapsedMs"] < 1000  # the handler sleeps 1 s
    assert r["callback"] == {"err": "operation has timed out", "value": None}
    assert 250 <= r["callbackMs"] < 1000
    # the late answers were ignored; the socket carries on
    assert r["inTime"] == "late"
    assert r["connected"] is True


@pytest.mark.parametrize("nsp", NAMESPACES[:2])
def test_broadcast_with_acks_collects_every_answer(server: str, nsp: str) -> None:
    check_broadcast_acks(client4(server, "broadcast_acks", "--nsp", nsp))


@pytest.mark.parametrize(
    ("nsp", "transports"),
    [
        pytest.param("/", "default", id="main-upgrade"),
        pytest.param("/", "websocket", id="main-websocket"),
        pytest.param("/", "polling", id="main-polling"),
        pytest.param("/chat", "default", id="static-class"),
        pytest.param("/dyn-bin", "default", id="dynamic"),
    ],
)
def test_binary_both_ways(server: str, nsp: str, transports: str) -> None:
    r = client4(server, "binary", "--nsp", nsp, "--transports", transports)
    check_binary(r, typed_array=True)


@pytest.mark.parametrize("nsp", NAMESPACES)
def test_server_disconnect_gives_io_server_disconnect(server: str, nsp: str) -> None:
    r = client4(server, "disconnect_server", "--nsp", nsp)
    assert r["reason"] == "io server disconnect"
    assert r["connected"] is False
    assert r["active"] is False
    assert r["reconnects"] == 0  # the client does not reconnect after that
    assert r["serverReason"] == "server namespace disconnect"


@pytest.mark.parametrize("nsp", NAMESPACES)
def test_client_disconnect_gives_client_namespace_disconnect(server: str, nsp: str) -> None:
    r = client4(server, "disconnect_client", "--nsp", nsp)
    assert r["clientReason"] == "io client disconnect"
    assert r["serverReason"] == "client namespace disconnect"


def test_transport_close_reasons(server: str) -> None:
    r = client4(server, "disconnect_transport")
    # the client closes its Engine.IO socket
    assert r["engineClose"]["clientReason"] == "forced close"
    assert r["engineClose"]["serverReason"] == "transport close"
    # the TCP connection dies under the websocket
    assert r["tcpDestroy"]["clientReason"] == "transport close"
    assert r["tcpDestroy"]["serverReason"] in ("transport close", "transport error")


def test_ping_timeout(server: str) -> None:
    # sio_app pings every 1 s and waits 1 s for the pong; the client drops its pongs
    r = client4(server, "ping_timeout")
    assert r["droppedPongs"] >= 1
    assert r["serverReason"] == "ping timeout"
    assert r["clientReason"] == "transport close"
    assert 1500 <= r["elapsedMs"] < 6000


# --- the msgpack parser


@pytest.mark.parametrize(
    ("scenario", "flags"),
    [
        pytest.param("auth", (), id="auth"),
        pytest.param("namespaces", (), id="namespaces"),
        pytest.param("rooms", (), id="rooms"),
        pytest.param("ack_client_to_server", (), id="client-acks"),
        pytest.param("ack_server_to_client", (), id="server-acks"),
        pytest.param("broadcast_acks", (), id="broadcast-acks"),
        pytest.param("binary", (), id="binary"),
        pytest.param("binary", ("--transports", "polling"), id="binary-polling"),
        pytest.param("disconnect_client", (), id="disconnect"),
    ],
)
def test_msgpack_parser(msgpack_server: str, scenario: str, flags: tuple[str, ...]) -> None:
    r = client4(msgpack_server, scenario, "--msgpack", *flags)
    if scenario == "auth":
        check_auth(r, "/")
    elif scenario == "namespaces":
        check_namespaces(r)
    elif scenario == "rooms":
        check_rooms(r)
    elif scenario == "ack_client_to_server":
        check_client_acks(r)
    elif scenario == "ack_server_to_client":
        check_server_acks(r)
    elif scenario == "broadcast_acks":
        check_broadcast_acks(r)
    elif scenario == "binary":
        check_binary(r, typed_array=True)
    else:
        assert r["serverReason"] == "client namespace disconnect"


# --- connection state recovery


@pytest.mark.parametrize(
    ("transports", "cut"),
    [
        pytest.param("default", "engine", id="upgrade-engine-close"),
        pytest.param("websocket", "engine", id="websocket-engine-close"),
        pytest.param("polling", "engine", id="polling-engine-close"),
        pytest.param("websocket", "tcp", id="websocket-tcp-destroyed"),
    ],
)
def test_connection_state_recovery(recovery_server: str, transports: str, cut: str) -> None:
    r = client4(recovery_server, "recovery", "--transports", transports, "--cut", cut)
    check_recovered(r, "/")
    assert r["disconnects"] == ["forced close" if cut == "engine" else "transport close"]
    # it was away long enough to miss ticks (sent every 50 ms)...
    assert r["awayMs"] >= 250
    assert r["cutAfter"] >= 8
    # ...and got every one, in order, none twice
    assert r["ticks"] == list(range(r["count"]))
    assert r["distinctOffsets"] == r["count"]


def test_connection_state_recovery_with_async_on_connect(recovery_server: str) -> None:
    """/chat's Namespace class has an async on_connect: it runs (and is
    awaited) for the recovered socket too."""
    r = client4(recovery_server, "recovery", "--nsp", "/chat", "--transports", "websocket")
    check_recovered(r, "/chat")
    assert r["disconnects"] == ["forced close"]
    # every tick comes back, in order, none twice: broadcasts made while the
    # async on_connect runs are kept for the recovering socket
    assert r["ticks"] == list(range(r["count"]))
    assert r["distinctOffsets"] == r["count"]


def check_recovered(r: Result, nsp: str) -> None:
    first, second = r["connects"]
    assert first["recovered"] is False
    # the same socket comes back, recovered, as the client and the server see it
    assert second["recovered"] is True
    assert second["id"] == first["id"]
    assert [w["recovered"] for w in r["welcomes"]] == [False, True]
    assert {w["sid"] for w in r["welcomes"]} == {first["id"]}
    assert {w["nsp"] for w in r["welcomes"]} == {nsp}
    assert r["done"] == r["count"]
    assert r["offsetsAreStrings"] is True


# ----------------------------------------------------------------- socket.io-client 2.x


@pytest.mark.parametrize("transports", ["default", "websocket", "polling"])
def test_v2_connect_events_and_acks_both_ways(server: str, transports: str) -> None:
    r = client2(server, "basic", "--transports", transports)
    assert r["protocol"] == 4
    # clients 2.x: the id on "/" is the Engine.IO sid
    assert r["id"] == r["engineId"] == r["welcome"]["sid"]
    assert r["welcome"]["nsp"] == "/"
    assert r["welcome"]["query"]["EIO"] == "3"
    assert r["echo"] == [1, "two", {"three": [3]}, None, True]
    assert r["echoNone"] == []
    assert r["askCall"] == [{"answer": [{"double": 42}, "extra"]}]
    assert r["askTimeoutEmit"] == [{"answer": [{"double": 10}, "extra"]}]
    assert r["askSilent"][0]["timeout"] is True
    assert r["asked"] == [21, 5, "silent"]
    assert r["after"] == ["still connected"]


def test_v2_namespace_query_reaches_handshake(server: str) -> None:
    r = client2(server, "namespace_query")
    chat = r["chat"]
    assert chat["id"] == f"/chat#{chat['engineId']}" == chat["welcome"]["sid"]
    assert chat["welcome"]["nsp"] == "/chat"
    query = chat["welcome"]["query"]
    assert query["token"] == "abc"
    assert query["x"] == "1"
    assert query["EIO"] == "3"
    assert chat["echo"] == ["hi", {"n": 1}]
    assert len(chat["rooms"][0]) == 1
    # on one connection: a namespace refused for its query, then one whose
    # handshake has its own query and not the other's
    assert r["multiplexRefused"] == {"connected": False, "error": "unauthorized"}
    dyn = r["multiplexDyn"]
    assert dyn["connected"] is True
    assert dyn["id"] == f"/dyn-vtwo#{r['multiplexEngineId']}" == dyn["welcome"]["sid"]
    assert dyn["welcome"]["nsp"] == "/dyn-vtwo"
    assert dyn["welcome"]["query"]["second"] == "2"
    assert "token" not in dyn["welcome"]["query"]
    assert "first" not in dyn["welcome"]["query"]
    assert dyn["echo"] == ["dyn"]


def test_v2_room_broadcast_except_sender(server: str) -> None:
    check_rooms(client2(server, "rooms"))


@pytest.mark.parametrize("transports", ["default", "websocket", "polling"])
def test_v2_binary_both_ways(server: str, transports: str) -> None:
    check_binary(client2(server, "binary", "--transports", transports), typed_array=False)


def test_v2_refused_connection_gives_error_event(server: str) -> None:
    r = client2(server, "refused")
    assert r["main"] == {"connected": False, "error": "unauthorized"}
    assert r["chat"] == {"connected": False, "error": "unauthorized"}
    assert r["invalid"] == {"connected": False, "error": "Invalid namespace"}


def test_v2_disconnect(server: str) -> None:
    r = client2(server, "disconnect")
    assert r["client"]["clientReason"] == "io client disconnect"
    assert r["client"]["serverReason"] == "client namespace disconnect"
    assert r["server"]["clientReason"] == "io server disconnect"
    assert r["server"]["serverReason"] == "server namespace disconnect"
