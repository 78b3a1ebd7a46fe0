"""Prometheus metrics, scraped over HTTP after a scripted session.

Real clients over real sockets: hubbub's own blocking client (one over a
websocket, one long-polling) and a raw websocket that stops reading (the
slow consumer), against the embedded server and the gevent server, each
serving the metrics on a path beside Socket.IO. Every figure the session
makes deterministic is checked exactly.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

import hubbub
from conftest import ROOT, ServerThread, free_port, sample, scrape, wait_for_port
from hubbub.metrics import PrometheusMetrics, asgi_with_metrics, wsgi_with_metrics
from hubbub.websocket.frames import OP_TEXT, encode_frame

LIMIT = 256 * 1024


def serving(sio: hubbub.Server, metrics: PrometheusMetrics, runtime: str) -> ServerThread:
    """The server with its metrics at /metrics on the same port."""
    if runtime == "gevent":
        return ServerThread(sio, wsgi_app=wsgi_with_metrics("/metrics", metrics), gevent=True)
    return ServerThread(sio, asgi_app=asgi_with_metrics("/metrics", metrics))


def raw_websocket(port: int, rcvbuf: int | None = None) -> socket.socket:
    """A websocket that completed the Engine.IO handshake and joined "/"."""
    sock = socket.socket()
    if rcvbuf is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        (
            "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    sock.settimeout(5)
    seen = b""
    while b'0{"sid"' not in seen:  # the Engine.IO open packet
        chunk = sock.recv(4096)
        assert chunk, "closed before the open packet"
        seen += chunk
    sock.sendall(encode_frame(OP_TEXT, b"40", mask=os.urandom(4)))
    seen = b""
    while b'40{"sid"' not in seen:
        chunk = sock.recv(4096)
        assert chunk, "closed before CONNECT"
        seen += chunk
    return sock


def scripted_server() -> tuple[hubbub.Server, PrometheusMetrics]:
    sio = hubbub.Server(max_buffered_bytes=LIMIT, volatile_threshold=LIMIT // 4)
    metrics = PrometheusMetrics()
    sio.add_observer(metrics)

    @sio.on("echo")
    def echo(socket: hubbub.Socket, value: Any) -> Any:
        return value

    @sio.on("ask")
    def ask(socket: hubbub.Socket) -> None:
        socket.emit("question", 21, callback=lambda answer: socket.emit("answered", answer))
        socket.timeout(0.3).emit(
            "unanswered", callback=lambda err, *args: socket.emit("timed out", str(err))
        )

    @sio.on("shout")
    def shout(socket: hubbub.Socket, text: str) -> None:
        sio.emit("news", text)

    @sio.on("flood")
    def flood(socket: hubbub.Socket, count: int) -> str | None:
        # the one client without a name: the raw websocket
        victim = next(s for s in sio.sockets.sockets.values() if not s.handshake.query.get("name"))
        blob = "x" * 10_000
        for _ in range(count):
            if not victim.connected:
                break
            victim.volatile.emit("v", blob)
            victim.emit("blob", blob)
        return None if victim.connected else "gone"

    return sio, metrics


def client(url: str, name: str, transports: list[str]) -> tuple[hubbub.Client, dict[str, Any]]:
    seen: dict[str, Any] = {}
    events: dict[str, threading.Event] = {}
    sio = hubbub.Client()

    def recorder(event: str) -> Any:
        events[event] = threading.Event()

        def record(*args: Any) -> None:
            seen[event] = args
            events[event].set()

        return record

    for event in ("answered", "timed out", "news"):
        sio.on(event, recorder(event))
    sio.on("question", lambda n: n * 2)
    seen["_events"] = events
    sio.connect(f"{url}?name={name}", transports=transports, wait_timeout=10)
    return sio, seen


def waited(seen: dict[str, Any], event: str) -> Any:
    assert seen["_events"][event].wait(10), f"no {event!r}"
    return seen[event]


@pytest.mark.parametrize("runtime", ["embedded", "gevent"])
def test_scripted_session_metrics(runtime: str) -> None:
    sio, metrics = scripted_server()
    with serving(sio, metrics, runtime) as srv:
        a, seen_a = client(srv.url, "a", ["websocket"])
        b, seen_b = client(srv.url, "b", ["polling"])
        try:
            assert a.call("echo", "hi", timeout=5) == "hi"
            assert a.call("echo", [1, 2], timeout=5) == [1, 2]
            a.emit("ask")
            assert waited(seen_a, "answered") == (42,)
            assert "timed out" in waited(seen_a, "timed out")[0]
            b.call("shout", "hello", timeout=5)
            assert waited(seen_a, "news") == ("hello",)
            assert waited(seen_b, "news") == ("hello",)

            m = scrape(srv.url)
            assert sample(m, "hubbub_connected_clients", transport="websocket", protocol="5") == 1
            assert sample(m, "hubbub_connected_clients", transport="polling", protocol="5") == 1
            assert sample(m, "hubbub_connects_total", transport="websocket", protocol="5") == 1
            assert sample(m, "hubbub_connects_total", transport="polling", protocol="5") == 1
            assert sample(m, "hubbub_namespace_connects_total", namespace="/",
                         outcome="accepted") == 2
            # echo, echo, ask, shout
            assert sample(m, "hubbub_events_received_total", namespace="/") == 4
            # question, unanswered, answered, timed out, news (to both)
            assert sample(m, "hubbub_events_sent_total", namespace="/") == 6
            # echo, echo, shout (a handler's return answers the ack, None too)
            assert sample(m, "hubbub_acks_sent_total", namespace="/") == 3
            assert sample(m, "hubbub_acks_received_total", namespace="/") == 1
            assert sample(m, "hubbub_acks_timed_out_total", namespace="/") == 1
            assert sample(m, "hubbub_broadcast_recipients_count") == 1
            assert sample(m, "hubbub_broadcast_recipients_sum") == 2
            assert sample(m, "hubbub_handler_duration_seconds_count", namespace="/",
                         event="echo") == 2
            assert sample(m, "hubbub_handler_duration_seconds_count", namespace="/",
                         event="ask") == 1
            assert sample(m, "hubbub_handler_duration_seconds_count", namespace="/",
                         event="shout") == 1
            assert sample(m, "hubbub_received_bytes_total") > 0
            assert sample(m, "hubbub_sent_bytes_total") > 0
            assert sample(m, "hubbub_slow_consumer_drops_total", action="disconnected") == 0

            # the slow consumer: a raw websocket that stops reading
            slow = raw_websocket(srv.port, rcvbuf=4096)
            try:
                assert a.call("flood", 200, timeout=15) == "gone"
            finally:
                slow.close()
            m = scrape(srv.url)
            assert sample(m, "hubbub_slow_consumer_drops_total", action="disconnected") == 1
            assert sample(m, "hubbub_slow_consumer_drops_total", action="volatile_dropped") >= 1
            assert sample(m, "hubbub_disconnects_total", reason="slow consumer") == 1
            assert sample(m, "hubbub_connects_total", transport="websocket", protocol="5") == 2
            assert sample(m, "hubbub_connected_clients", transport="websocket", protocol="5") == 1
        finally:
            a.disconnect()
            b.disconnect()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            m = scrape(srv.url)
            if sample(m, "hubbub_connected_clients", transport="polling", protocol="5") == 0 and \
                    sample(m, "hubbub_connected_clients", transport="websocket", protocol="5") == 0:
                break
            time.sleep(0.05)
        assert sample(m, "hubbub_connected_clients", transport="websocket", protocol="5") == 0
        assert sample(m, "hubbub_connected_clients", transport="polling", protocol="5") == 0
        # the clients said goodbye: each connection ended for that reason
        # the clients closed their connections; in "/" they said goodbye first
        assert sample(m, "hubbub_disconnects_total", reason="transport close") == 2
        assert sample(m, "hubbub_namespace_disconnects_total", namespace="/",
                     reason="client namespace disconnect") == 2
        assert sample(m, "hubbub_namespace_disconnects_total", namespace="/",
                     reason="slow consumer") == 1
        assert sum(v for (name, _), v in m.items() if name == "hubbub_disconnects_total") == 3


def _frames(sock: socket.socket, count: int, headers: bool = True) -> list[str]:
    """``count`` server text frames (unmasked, short) from a raw websocket,
    after the handshake's response headers when ``headers``. The server
    sends nothing past what a call waits for, so no frame is lost between
    calls."""
    buf = b""
    out: list[str] = []
    if headers:
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(4096)
        buf = buf.split(b"\r\n\r\n", 1)[1]
    while len(out) < count:
        while len(buf) < 2 or len(buf) < 2 + (buf[1] & 0x7F):
            buf += sock.recv(4096)
        size = buf[1] & 0x7F
        out.append(buf[2:2 + size].decode())
        buf = buf[2 + size:]
    return out


@pytest.mark.parametrize("runtime", ["embedded", "gevent"])
def test_bytes_in_and_out_are_the_packets_bytes(runtime: str) -> None:
    sio = hubbub.Server()
    metrics = PrometheusMetrics()
    sio.add_observer(metrics)
    sio.on("echo", lambda socket, text: text)
    with serving(sio, metrics, runtime) as srv:
        sock = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
        try:
            key = base64.b64encode(os.urandom(16)).decode()
            sock.sendall(
                (
                    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
                    "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                    f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            (handshake,) = _frames(sock, 1)
            sock.sendall(encode_frame(OP_TEXT, b"40", mask=os.urandom(4)))
            sock.sendall(encode_frame(OP_TEXT, '421["echo","h\u00e9"]'.encode(),
                                      mask=os.urandom(4)))
            connect, ack = _frames(sock, 2, headers=False)
            assert handshake.startswith("0{") and connect.startswith('40{"sid"')
            assert ack == '431["h\u00e9"]'
            m = scrape(srv.url)
        finally:
            sock.close()
    # Socket.IO packets only, as UTF-8: no Engine.IO open packet, no framing
    assert sample(m, "hubbub_received_bytes_total") == len(b"0") + len(
        '21["echo","h\u00e9"]'.encode()
    )
    assert sample(m, "hubbub_sent_bytes_total") == len(connect[1:]) + len(ack[1:].encode())


@pytest.fixture
def metrics_app(request: pytest.FixtureRequest) -> Iterator[str]:
    """tests/operating/metrics_app.py: hubbub.run(sio, metrics_path="/metrics")."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "operating" / "metrics_app.py"), str(port),
         request.param],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stdout:
            proc.stdout.close()


@pytest.mark.parametrize("metrics_app", ["asyncio", "gevent"], indirect=True)
def test_run_serves_metrics_on_a_path(metrics_app: str) -> None:
    a = hubbub.Client()
    a.connect(metrics_app, transports=["websocket"], wait_timeout=10)
    try:
        assert a.call("echo", "hi", timeout=5) == "hi"
        m = scrape(metrics_app)
        assert sample(m, "hubbub_connected_clients", transport="websocket", protocol="5") == 1
        assert sample(m, "hubbub_events_received_total", namespace="/") == 1
        # the wrapped app still gets the other paths
        with urllib.request.urlopen(metrics_app + "/hello", timeout=5) as response:
            assert json.loads(response.read()) == {"hello": "world"}
    finally:
        a.disconnect()
