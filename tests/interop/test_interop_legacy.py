"""The real socket.io-client 0.9.16, under Node, against hubbub over real sockets.

``tests/js/sio_client09.js`` (npm ``socket.io-client-v09``: socket.io-client
0.9.16, protocol 1) runs one scenario per process over one forced transport
(websocket or xhr-polling: the two its Node build has) and prints what it saw
as JSON lines; these tests check it. The server is
``tests/interop/legacy_app.py``: one Namespace class on "/" and "/chat" (see
its docstring for the events), with heartbeats every 0.5 s (timeout 1 s) and
long polls closed after 1 s, on the embedded server, under uvicorn and on
gevent.

The cross-generation test puts a 0.9 client and a socket.io-client 4.x client
in one room of that same Namespace class and checks that broadcasts from
either reach both.

Every scenario uses fresh clients ('force new connection') and randomly
named rooms, so tests do not depend on each other or on their order.
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
APP = Path(__file__).with_name("legacy_app.py")
CLIENT09 = JS_DIR / "sio_client09.js"


def check_tools() -> str:
    """The node binary; fails (never skips) when what scripts/test installs is missing."""
    missing = []
    if NODE is None:
        missing.append("node is not installed")
    for package in ("socket.io-client-v09", "socket.io-client"):
        if not (JS_DIR / "node_modules" / package).is_dir():
            missing.append(f"{package} is not installed: run `npm ci` in tests/js")
    if missing:
        pytest.fail("the 0.9 interop tests need what scripts/test installs: " + "; ".join(missing))
    assert NODE is not None
    return NODE


pytestmark = pytest.mark.timeout(30)

TRANSPORTS = ["websocket", "xhr-polling"]
NAMESPACES = [pytest.param("/", id="main"), pytest.param("/chat", id="chat")]

# what the server is told (legacy_app.py's defaults, passed explicitly)
PING_INTERVAL = 0.5
PING_TIMEOUT = 0.5
HEARTBEAT_TIMEOUT_MS = int((PING_INTERVAL + PING_TIMEOUT) * 1000)
CLOSE_TIMEOUT_MS = 5000

Result = dict[str, Any]


@contextlib.contextmanager
def legacy_server(runtime: str) -> Iterator[str]:
    port = free_port()
    args = [
        sys.executable, str(APP), "--host", "127.0.0.1", "--port", str(port),
        "--ping-interval", str(PING_INTERVAL), "--ping-timeout", str(PING_TIMEOUT),
        "--polling-duration", "1.0", *runtime_flags(runtime),
    ]  # fmt: skip
    with run_process(args, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module", params=RUNTIMES)
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    with legacy_server(request.param) as url:
        yield url


def client09(url: str, scenario: str, *flags: str, timeout: float = 14.0) -> Result:
    """Run one scenario of sio_client09.js; its result, or fail with everything it printed."""
    node = check_tools()
    proc = subprocess.run(
        [node, str(CLIENT09), url, scenario, *flags, "--timeout", str(int(timeout * 1000))],
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=timeout + 5,
    )
    # split on newlines only: the JSON lines may hold U+2028, which splitlines() splits on
    lines = proc.stdout.split("\n")
    events = [json.loads(line) for line in lines if line.startswith("{")]
    results = [e["result"] for e in events if e.get("event") == "result"]
    assert proc.returncode == 0 and results, (
        f"sio_client09.js {scenario} {' '.join(flags)} failed ({proc.returncode}):\n"
        f"{proc.stdout}\n{proc.stderr}"
    )
    library = [e for e in events if e.get("event") == "library"]
    assert library and library[0]["version"] == "0.9.16" and library[0]["protocol"] == 1
    return results[-1]  # type: ignore[no-any-return]


# ----------------------------------------------------------------- tests


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("nsp", NAMESPACES)
def test_events_acks_and_messages(server: str, nsp: str, transport: str) -> None:
    r = client09(server, "basic", "--nsp", nsp, "--transports", transport)
    sid = r["sessionid"]
    assert r["transport"] == transport
    # the handshake's heartbeat timeout and close timeout, in seconds on the wire
    assert r["heartbeatTimeout"] == HEARTBEAT_TIMEOUT_MS
    assert r["closeTimeout"] == CLOSE_TIMEOUT_MS
    # the socket id is the session id, in every namespace
    assert r["welcome"]["sid"] == sid
    assert r["welcome"]["nsp"] == nsp
    # an event from the server at connection, and both ways after it
    assert r["pong"] == ["hello", {"n": 1, "list": [1, "two", None]}]
    # acks with data: the handler's return value, every value of it
    assert r["echo"] == [1, "two", {"three": [3]}, None, True]
    assert r["echoNone"] == []
    text = r["unicodeSent"]
    assert "\U0001f600" in text and "</script>" in text
    assert r["unicode"] == [text, {text: text}]
    # automatic acks: send / json.send with a callback use a plain id, which
    # the server acknowledges with no data
    assert r["sendAck"] == []
    assert r["jsonAck"] == []
    # a plain message comes back as a message (a str), json as json (an object)
    echoed = {"a": [1, 2, {"b": "c"}], "u": text}
    assert r["messages"][:4] == [
        {"type": "string", "data": "echo:hi there"},
        {"type": "object", "data": {"echo": echoed}},
        {"type": "string", "data": "echo:no callback"},
        {"type": "object", "data": {"echo": ["no", "callback"]}},
    ]
    # a message with a callback, server to client: the client acknowledged
    # it (by itself for a plain id, through its handler for a "+" id) and
    # the server's callback got what the ack carried
    [with_callback] = r["messages"][4:]
    assert with_callback["type"] == "string"
    assert with_callback["data"] == "a message with a callback"
    if with_callback.get("ack") == "data":
        assert r["messageAnswer"] == ["got it"]
    else:
        assert r["messageAnswer"] == []
    # server to client with a callback: the client got an ack function and
    # the server's callback got every value it answered with
    assert r["asked"][0] == {"value": 21, "callback": "function"}
    assert r["answer"] == [{"double": 42}, "extra"]
    # 25 acks in flight at once (several packets in one payload on polling)
    assert r["burstCount"] == 25
    assert r["burstOk"] is True
    assert r["after"] == ["still connected"]
    assert r["connected"] is True


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_line_separators_survive_events_and_acks(server: str, transport: str) -> None:
    """U+2028 / U+2029 in text. The 0.9 client reads an ack's arguments with
    ``/^([0-9]+)(\\+)?(.*)/``, and ``.`` stops at line terminators: a server
    must escape them in its JSON (``\\u2028``) or the ack loses its data."""
    r = client09(server, "basic", "--transports", transport)
    separators = "line\u2028paragraph\u2029end"
    # server -> client in an event, client -> server in an event and in an ack
    assert r["separatorsEvent"] == [separators]
    assert r["separatorsAnswer"] == [separators]
    # server -> client in an ack: socket.io 0.9.17 loses these too (it writes
    # them raw); hubbub must write them escaped
    assert r["separatorsAck"] == [separators]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_namespaces_on_one_connection(server: str, transport: str) -> None:
    r = client09(server, "namespaces", "--transports", transport)
    sid = r["sessionid"]
    assert r["main"]["welcome"]["sid"] == sid
    assert r["main"]["welcome"]["nsp"] == "/"
    assert r["chat"]["welcome"]["sid"] == sid
    assert r["chat"]["welcome"]["nsp"] == "/chat"
    assert r["main"]["echo"] == ["main"]
    assert r["chat"]["echo"] == ["chat"]
    # an event answers on its own namespace only
    assert r["mainPongs"] == [["to main"]]
    assert r["chatPongs"] == [["to chat"]]
    assert r["chatSendAck"] == []
    assert r["chatMessages"] == [{"type": "string", "data": "echo:on chat"}]
    # a refused namespace: an error packet 'unauthorized' -> 'connect_failed'
    assert r["secret"] == {"connected": False, "refused": "unauthorized"}
    assert r["afterMain"] == ["after"]
    assert r["afterChat"] == ["after"]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_heartbeats_keep_an_idle_connection(server: str, transport: str) -> None:
    """3.5 s without application traffic: 3.5 heartbeat timeouts (1 s) on
    websocket, 3.5 polling durations (1 s) on xhr-polling."""
    r = client09(server, "heartbeats", "--transports", transport, "--wait", "3500")
    assert r["heartbeatTimeout"] == HEARTBEAT_TIMEOUT_MS
    assert r["events"] == []  # no disconnect, error or reconnect
    assert r["connected"] is True
    assert r["sameSession"] is True
    assert r["echo"] == ["after the silence"]
    assert r["chatEcho"] == ["chat after the silence"]
    if transport == "websocket":
        # a heartbeat every 0.5 s, each answered by the client
        assert r["heartbeats"] - r["heartbeatsBefore"] >= 4, r
    else:
        # on xhr-polling (as with socket.io 0.9.17) there are no heartbeats:
        # the long poll, closed with a noop every second, keeps the session
        assert r["noops"] - r["noopsBefore"] >= 2, r


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_disconnects(server: str, transport: str) -> None:
    r = client09(server, "disconnect", "--transports", transport)
    # the client disconnects: locally 'booted'; the server saw it go
    assert r["clientMain"]["clientReason"] == "booted"
    assert r["clientMain"]["connected"] is False
    assert r["clientMain"]["serverReason"] == "client namespace disconnect"
    # the client leaves /chat: the server's chat socket goes, the main one stays
    assert r["clientChat"]["serverReason"] == "client namespace disconnect"
    assert r["clientChat"]["mainEcho"] == ["main still here"]
    assert r["clientChat"]["connected"] is True
    assert r["clientChat"]["rejoinedEcho"] == ["back on chat"]
    # the server disconnects the main namespace: the whole connection goes
    assert r["serverMain"]["clientReason"] == "booted"
    assert r["serverMain"]["connected"] is False
    assert r["serverMain"]["serverReason"] == "server namespace disconnect"
    # the server disconnects /chat only
    assert r["serverChat"]["serverReason"] == "server namespace disconnect"
    assert r["serverChat"]["mainEcho"] == ["main still here"]
    assert r["serverChat"]["mainEvents"] == []
    assert r["serverChat"]["connected"] is True


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("nsp", NAMESPACES)
def test_room_broadcast_except_sender(server: str, nsp: str, transport: str) -> None:
    r = client09(server, "rooms", "--nsp", nsp, "--transports", transport)
    a = r["ids"]["a"]
    assert len(set(r["ids"].values())) == 3
    assert r["joined"] == {"a": [True], "b": [True]}
    assert r["ack"] == [True]
    sentinel = ["sentinel", a]
    assert r["received"]["a"] == [sentinel]
    assert r["received"]["b"] == [[{"text": "hello room", "n": 1}, a], sentinel]
    assert r["received"]["c"] == [sentinel]


@pytest.mark.parametrize("transport", TRANSPORTS)
@pytest.mark.parametrize("nsp", NAMESPACES)
def test_cross_generation_room(server: str, nsp: str, transport: str) -> None:
    """A 0.9 client and a 4.x client in one room of one Namespace class."""
    r = client09(server, "cross_generation", "--nsp", nsp, "--transports", transport)
    assert r["versions"]["old"] == "0.9.16"
    assert r["versions"]["modern"].startswith("4.")
    old, modern = r["ids"]["old"], r["ids"]["modern"]
    assert old != modern
    assert r["joined"] == {"old": [True], "modern": True}
    from_old = [{"from": "0.9", "text": "\U0001f600"}, old]
    from_modern = [{"from": "4.x", "list": [1, None]}, modern]
    # to_all reaches both generations; to_room everyone but the sender
    assert r["received"]["old"] == [from_old, from_modern, ["only 0.9 gets this", modern]]
    assert r["received"]["modern"] == [from_old, from_modern, ["only 4.x gets this", old]]
