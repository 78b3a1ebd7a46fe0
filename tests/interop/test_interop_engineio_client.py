"""The real engine.io-client, under Node, against hubbub over real sockets.

engine.io-client 6.x speaks EIO=4, 3.x (``engine.io-client-v3``) EIO=3. Each
run of ``tests/js/eio_client.mjs`` prints JSON lines of what the client saw;
these tests check them: transports, the upgrade, and every echoed message,
byte for byte, including that binary comes back as binary. The server is
``examples/engineio_echo.py`` (or, where a test needs other heartbeats, the
same echo in a :class:`ServerThread`), on the embedded server, under
uvicorn and on gevent.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import IO, Any

import pytest

from conftest import JS_DIR, RUNTIMES, ServerThread, free_port, run_example, runtime_flags

NODE = shutil.which("node")
SCRIPT = JS_DIR / "eio_client.mjs"

pytestmark = [pytest.mark.timeout(15)]

# (client generation passed to the script, the Engine.IO protocol it speaks)
CLIENTS = [pytest.param("6", 4, id="client6-eio4"), pytest.param("3", 3, id="client3-eio3")]
BASE64 = [pytest.param(False, id="binary"), pytest.param(True, id="forceBase64")]

Event = dict[str, Any]

# ----------------------------------------------------------------- expected echoes

# what batch(tag) in eio_client.mjs sends, in order; the echo server sends it back
ALL_BYTES = bytes(range(256))
BIG = bytes((i * 7 + 3) & 0xFF for i in range(70_000))  # past the 16-bit ws length


def batch(tag: str) -> list[tuple[str, str | bytes | None]]:
    return [
        ("text", f"{tag} hello"),
        ("text", f"{tag} unicode é ✓ 世界 🚀"),
        ("binary", f"{tag}:".encode() + ALL_BYTES),  # a Buffer
        ("binary", bytes([0, 1, 2, 253, 254, 255])),  # a Uint8Array
        # engine.io-parser hands the empty text message "4" to 'message' as
        # undefined; the script reports that as "empty"
        ("empty", None),
        ("binary", b""),
        ("binary", BIG),
        ("text", f"{tag} after binary"),
    ]


def check_echoes(events: list[Event], label: str, tag: str) -> list[Event]:
    """The messages received under ``label`` are exactly ``batch(tag)``."""
    got = [e for e in events if e["event"] == "message" and e["label"] == label]
    expected = batch(tag)
    assert len(got) == len(expected), got
    for message, (kind, data) in zip(got, expected, strict=True):
        assert message["kind"] == kind, (message, data)
        if kind == "text":
            assert message["data"] == data
        elif kind == "binary":
            assert isinstance(data, bytes)
            # binary stays binary: a Node Buffer, never a (base64) string
            assert message["type"] == "Buffer", message
            assert message["length"] == len(data)
            assert message["sha256"] == hashlib.sha256(data).hexdigest()
            if len(data) <= 512:
                assert message["hex"] == data.hex()
    return got


# ----------------------------------------------------------------- running the client


def node_args(client: str, url: str, scenario: str, force_base64: bool = False) -> list[str]:
    assert NODE is not None
    args = [NODE, str(SCRIPT), client, url, scenario]
    if force_base64:
        args.append("--force-base64")
    return args


def parse(stdout: str) -> list[Event]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def run_client(client: str, url: str, scenario: str, force_base64: bool = False) -> list[Event]:
    proc = subprocess.run(
        node_args(client, url, scenario, force_base64),
        cwd=JS_DIR,
        capture_output=True,
        text=True,
        timeout=12,
    )
    events = parse(proc.stdout)
    assert proc.returncode == 0, f"{proc.stdout}\n{proc.stderr}"
    assert any(e["event"] == "done" for e in events), proc.stdout
    return events


def common_checks(events: list[Event], protocol: int, errors_until: str | None = None) -> None:
    """The client speaks ``protocol`` and saw no errors (none after the
    first ``errors_until`` event, if given) and nothing it cannot classify."""
    library = events[0]
    assert library["event"] == "library"
    assert library["protocol"] == protocol
    checked = events
    if errors_until is not None:
        names = [e["event"] for e in events]
        checked = events[names.index(errors_until) :]
    errors = [e for e in checked if e["event"] in ("error", "upgradeError", "fail")]
    assert not errors, events
    assert all(e.get("kind") != "other" for e in events), events


def only(events: list[Event], name: str) -> Event:
    matching = [e for e in events if e["event"] == name]
    assert len(matching) == 1, (name, events)
    return matching[0]


# ----------------------------------------------------------------- scenarios


@pytest.mark.parametrize("force_base64", BASE64)
@pytest.mark.parametrize(("client", "protocol"), CLIENTS)
def test_polling_then_upgrade_to_websocket(
    echo_url: str, client: str, protocol: int, force_base64: bool
) -> None:
    events = run_client(client, echo_url, "upgrade", force_base64)
    common_checks(events, protocol)
    opened = only(events, "open")
    assert opened["transport"] == "polling"
    assert opened["sid"]
    assert only(events, "upgrading")["transport"] == "websocket"
    upgrade = only(events, "upgrade")
    assert upgrade["transport"] == "websocket"
    assert upgrade["current"] == "websocket"
    assert only(events, "after-upgrade")["transport"] == "websocket"
    # sent on 'open' over polling, racing the upgrade: all of it comes back, in order
    check_echoes(events, "before-upgrade", "A")
    # sent after the upgrade: over the websocket both ways
    after = check_echoes(events, "after-upgrade", "B")
    assert {m["transport"] for m in after} == {"websocket"}
    assert only(events, "final")["transport"] == "websocket"
    # the upgrade comes before anything of the second batch
    names = [e["event"] if e["event"] != "message" else e["label"] for e in events]
    assert names.index("upgrade") < names.index("after-upgrade")


@pytest.mark.parametrize("force_base64", BASE64)
@pytest.mark.parametrize(("client", "protocol"), CLIENTS)
def test_websocket_only(echo_url: str, client: str, protocol: int, force_base64: bool) -> None:
    events = run_client(client, echo_url, "websocket", force_base64)
    common_checks(events, protocol)
    assert only(events, "open")["transport"] == "websocket"
    assert not [e for e in events if e["event"] in ("upgrading", "upgrade")]
    got = check_echoes(events, "main", "A")
    assert {m["transport"] for m in got} == {"websocket"}
    assert only(events, "final")["transport"] == "websocket"


@pytest.mark.parametrize("force_base64", BASE64)
@pytest.mark.parametrize(("client", "protocol"), CLIENTS)
def test_polling_only(echo_url: str, client: str, protocol: int, force_base64: bool) -> None:
    events = run_client(client, echo_url, "polling", force_base64)
    common_checks(events, protocol)
    assert only(events, "open")["transport"] == "polling"
    assert not [e for e in events if e["event"] in ("upgrading", "upgrade")]
    got = check_echoes(events, "main", "A")
    assert {m["transport"] for m in got} == {"polling"}
    assert only(events, "final")["transport"] == "polling"


def echo_server(**options: Any) -> Any:
    import hubbub

    eio = hubbub.EngineIOServer(path="/engine.io/", cors_allowed_origins="*", **options)

    @eio.on("message")
    def echo(sid: str, data: str | bytes) -> None:
        eio.send(sid, data)

    return eio


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize(("client", "protocol"), CLIENTS)
def test_upgrade_when_the_probe_pong_is_late(runtime: str, client: str, protocol: int) -> None:
    """The probe's pong reaches the client after a poll answered with the
    server's "switch now" noop: the client sends one more GET and waits for
    it before it switches. The server must answer that GET soon too, not
    at the next heartbeat (EIO=4: an upgrade stalled for a ping interval;
    EIO=3: the client cannot ping while it upgrades, so the session died).
    Heartbeats are 5 s apart here, so only a prompt answer passes."""
    eio = echo_server(ping_interval=5, ping_timeout=5)
    with ServerThread(eio, uvicorn=runtime == "uvicorn", gevent=runtime == "gevent") as server:
        events = run_client(client, server.url, "late-pong")
    common_checks(events, protocol)
    only(events, "pong-probe-delayed")
    assert only(events, "open")["transport"] == "polling"
    upgrading = only(events, "upgrading")
    upgrade = only(events, "upgrade")
    assert upgrade["current"] == "websocket"
    # Node's engine.io answers within 100 ms; allow for a slow machine
    assert upgrade["t"] - upgrading["t"] < 1500, (upgrading, upgrade)
    check_echoes(events, "before-upgrade", "A")
    after = check_echoes(events, "after-upgrade", "B")
    assert {m["transport"] for m in after} == {"websocket"}


# ----------------------------------------------------------------- reconnect


class LineReader:
    """Reads a process's stdout on a thread, so the test can wait with a timeout."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, event: str, timeout: float) -> Event:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {event!r} event within {timeout}s: {self.seen}")
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(f"client exited before {event!r}: {self.seen}")
            self.seen.append(line)
            if line.startswith("{") and json.loads(line)["event"] == event:
                return dict(json.loads(line))

    def rest(self, timeout: float) -> list[str]:
        self._thread.join(timeout)
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.seen.append(line)
        return self.seen


@contextlib.contextmanager
def node_client(args: list[str]) -> Iterator[tuple[subprocess.Popen[str], LineReader]]:
    proc = subprocess.Popen(
        args, cwd=JS_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    try:
        yield proc, LineReader(proc.stdout)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        proc.stdout.close()


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("scenario", ["reconnect", "reconnect-websocket", "reconnect-polling"])
@pytest.mark.parametrize(("client", "protocol"), CLIENTS)
def test_reconnect_after_server_restart(
    runtime: str, scenario: str, client: str, protocol: int
) -> None:
    """Stop the server, start it again on the same port: the script's new
    Socket opens a new session there and exchanges messages again."""
    port = free_port()
    extra = runtime_flags(runtime)
    url = f"http://127.0.0.1:{port}"
    with contextlib.ExitStack() as stack:
        with run_example("engineio_echo.py", *extra, port=port):
            proc, reader = stack.enter_context(node_client(node_args(client, url, scenario)))
            phase = reader.wait_for("phase", timeout=8)
        # the server process is gone: the client notices and starts retrying
        reader.wait_for("close", timeout=5)
        with run_example("engineio_echo.py", *extra, port=port):
            reader.wait_for("done", timeout=8)
        assert proc.wait(5) == 0, reader.rest(1)
        events = parse("".join(reader.rest(2)))

    common_checks(events, protocol, errors_until="reconnected")
    upgrades = scenario == "reconnect"
    transport = {"reconnect-websocket": "websocket", "reconnect-polling": "polling"}.get(
        scenario, "websocket"
    )
    assert phase["transport"] == transport

    opens = [e for e in events if e["event"] == "open"]
    assert [e["label"] for e in opens] == ["first", "second"]
    first, second = opens
    assert first["sid"] != second["sid"]
    first_transport = "polling" if upgrades else transport
    assert first["transport"] == second["transport"] == first_transport

    closes = [e for e in events if e["event"] == "close" and e["label"] == "first"]
    assert len(closes) == 1 and closes[0]["opened"], events
    reconnected = only(events, "reconnected")
    assert reconnected["label"] == "second"
    assert reconnected["attempts"] >= 1

    upgrade_events = [e for e in events if e["event"] == "upgrade"]
    if upgrades:
        assert [e["label"] for e in upgrade_events] == ["first", "second"]
        assert all(e["transport"] == "websocket" for e in upgrade_events)
    else:
        assert upgrade_events == []

    before = check_echoes(events, "first", "A")
    after = check_echoes(events, "second", "C")
    if not upgrades:
        assert {m["transport"] for m in before + after} == {transport}
    assert only(events, "final")["transport"] == transport
