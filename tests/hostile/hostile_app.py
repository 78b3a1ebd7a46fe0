"""The server and clients of the hostile suite.

``build(config)`` makes a hubbub.Server with the production limits the
rows exercise, short enough to test (body and attachment timeouts of a
second, a small event rate...) and the standard library's JSON (the path
without orjson, whose strictness some rows probe; the "own-json"
configuration has the module hubbub picks itself). ``Healthy`` is a
well-behaved Socket.IO v5 client that keeps getting its acks while a row
attacks the server beside it.
"""

from __future__ import annotations

import json
import os
import re
import socket
import threading
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

import hubbub
from hubbub import jsonmod

PATH = "/socket.io/"
IO_TIMEOUT = 5.0
LIMITS = hubbub.ServerLimits(
    headers_timeout=0.5, body_timeout=1.0, keep_alive_timeout=2.0, max_header_size=8192
)
STDLIB_JSON = types.SimpleNamespace(dumps=jsonmod.std_dumps, loads=jsonmod.std_loads)
# the room of the "relay" event's recipients
RELAY_ROOM = "relay"


@dataclass
class Seen:
    """What the server's handlers recorded (they run in the server's thread)."""

    calls: dict[str, str] = field(default_factory=dict)  # sid -> outcome of socket.call
    any_hook: list[tuple[Any, ...]] = field(default_factory=list)
    # the /hooks namespace's other hooks: (hook, *arguments)
    hooks: list[tuple[Any, ...]] = field(default_factory=list)
    handled: list[str] = field(default_factory=list)


CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "star": {"cors_allowed_origins": "*"},
    "no-jsonp": {"legacy_transports": ("websocket", "xhr-polling")},
    "per-address": {"max_sessions_per_address": 2},
    "deflate": {"websocket_compression": True},
    "fresh": {},  # a new server for each row that uses it
    # few 0.9 sessions handshaken and never connected
    "fresh-cap": {"max_handshaken": 4},
    # the JSON module hubbub picks itself (orjson when installed), not the
    # standard library's the other configurations use
    "own-json": {"json": None},
}


def build(config: str, gevent: bool) -> tuple[hubbub.Server, Seen]:
    seen = Seen()
    options: dict[str, Any] = {
        "json": STDLIB_JSON,
        "attachment_timeout": 1.0,
        "max_event_rate": 50,
        "cleanup_empty_child_namespaces": True,
        "max_child_namespaces": 3,
        "ping_interval": 20.0,
        "ping_timeout": 20.0,
        "polling_duration": 2.0,
        **CONFIGS[config],
    }
    sio = hubbub.Server(**options)

    @sio.on("echo")
    def echo(socket: hubbub.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    @sio.on("broadcast")
    def broadcast(socket: hubbub.Socket, value: Any) -> None:
        sio.emit("broadcast", value)

    @sio.on("join")
    def join(socket: hubbub.Socket, room: str) -> bool:
        socket.join(room)
        return True

    @sio.on("relay")
    def relay(socket: hubbub.Socket, *args: Any) -> None:
        # what a chat server does: what one client sent, to the whole room
        sio.to(RELAY_ROOM).emit("relay", *args)

    if gevent:

        @sio.on("ask_back")
        def ask_back(socket: hubbub.Socket) -> None:
            try:
                socket.call("question", timeout=30)
                seen.calls[socket.id] = "answered"
            except Exception as exc:
                seen.calls[socket.id] = type(exc).__name__

    else:

        @sio.on("ask_back")
        async def ask_back_async(socket: hubbub.Socket) -> None:
            try:
                await socket.call("question", timeout=30)
                seen.calls[socket.id] = "answered"
            except Exception as exc:
                seen.calls[socket.id] = type(exc).__name__

    class Hooks(hubbub.Namespace):
        # every hook of socketio.dispatch._HOOKS, each recording its calls
        def on_connect(self, auth: Any) -> None:
            seen.hooks.append(("connect", auth))

        def on_disconnect(self, reason: str) -> None:
            seen.hooks.append(("disconnect", reason))

        def on_any(self, event: str, *args: Any) -> None:
            seen.any_hook.append((event, *args))

        def on_any_outgoing(self, event: str, *args: Any) -> None:
            seen.hooks.append(("any_outgoing", event, *args))

        def on_ping(self) -> str:
            seen.handled.append("ping")
            return "pong"

    sio.register("/hooks", Hooks)
    sio.of(re.compile(r"^/dyn-\d+$"))
    return sio, seen


def printed_from_now_on(request: pytest.FixtureRequest) -> pytest.CaptureFixture[str]:
    """``capfd``, from the moment of this call: call it once the test's
    server is running. A server started under it would keep its streams:
    uvicorn's log handler holds the sys.stderr of the moment it starts,
    which for capfd is closed at the end of the test, while the module's
    later tests still use the server."""
    capfd: pytest.CaptureFixture[str] = request.getfixturevalue("capfd")
    return capfd


def assert_no_traceback_printed(capfd: pytest.CaptureFixture[str]) -> None:
    """Nothing the test's servers printed holds a traceback.

    The servers run in this process, on threads of their own, so what they
    write to stdout or stderr lands in ``capfd`` (file descriptors 1 and 2,
    and sys.stdout/sys.stderr, which gevent's hub and traceback.print_exc
    look up each time they print): an exception gevent's hub or pywsgi
    printed instead of logging it, a thread's excepthook, a stray
    print_exc. Logged tracebacks are caplog's to check (uvicorn's log
    handler writes to the stream it was given at start, not to capfd).
    """
    out, err = capfd.readouterr()
    printed = out + err
    assert "Traceback" not in printed, printed


class Healthy:
    """A Socket.IO v5 client on a websocket that keeps exchanging acks."""

    def __init__(self, port: int) -> None:
        url = f"ws://127.0.0.1:{port}{PATH}?EIO=4&transport=websocket"
        self.ws: ClientConnection = open_ws(url)
        opened = self.ws.recv(timeout=IO_TIMEOUT)
        assert isinstance(opened, str) and opened.startswith("0"), opened
        self.ws.send("40")
        assert str(self.recv()).startswith("40")
        self.count = 0

    def recv(self) -> str | bytes:
        while True:
            msg = self.ws.recv(timeout=IO_TIMEOUT)
            if msg == "2":
                self.ws.send("3")
                continue
            return msg

    def echo(self) -> None:
        """One event with an ack, answered."""
        self.count += 1
        n = self.count
        self.ws.send(f'42{n}["echo","still here {n}"]')
        while True:
            msg = self.recv()
            if isinstance(msg, str) and msg.startswith(f"43{n}["):
                assert json.loads(msg[len(f"43{n}") :]) == [f"still here {n}"]
                return

    def close(self) -> None:
        self.ws.close()


def open_ws(url: str, **options: Any) -> ClientConnection:
    """A ``websockets`` client connection, open (closed with ``close()``)."""
    options.setdefault("open_timeout", IO_TIMEOUT)
    options.setdefault("compression", None)
    return connect(url, **options).__enter__()


# -- raw sockets -----------------------------------------------------------------------


class Raw:
    """One TCP connection to the server."""

    def __init__(self, port: int, timeout: float = IO_TIMEOUT) -> None:
        self.port = port
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed by the server")
        self.buf += chunk

    def response(self) -> tuple[int, dict[str, str], bytes]:
        """One HTTP response: (status, headers, body)."""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            while b"0\r\n\r\n" not in self.buf:
                self._fill()
            body, _, self.buf = self.buf.partition(b"0\r\n\r\n")
            return status, headers, body
        length = int(headers.get("content-length", "0"))
        while len(self.buf) < length:
            self._fill()
        body, self.buf = self.buf[:length], self.buf[length:]
        return status, headers, body

    def closed_by_server(self, within: float) -> bool:
        deadline = time.monotonic() + within
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False

    def drain(self, within: float) -> bytes:
        """Everything the server sent until it closed the connection (or
        reset it: what was still in flight is lost); raises TimeoutError if
        it is still open after ``within`` seconds."""
        deadline = time.monotonic() + within
        got = [self.buf]
        self.buf = b""
        try:
            while True:
                self.sock.settimeout(max(deadline - time.monotonic(), 0.01))
                chunk = self.sock.recv(65536)
                if not chunk:
                    break
                got.append(chunk)
                if time.monotonic() > deadline:
                    raise TimeoutError("the server kept the connection open")
        except (ConnectionResetError, BrokenPipeError):
            pass
        return b"".join(got)

    def push(self, chunk: bytes, budget: float, most: int) -> int:
        """Send ``chunk`` again and again for up to ``budget`` seconds (or
        ``most`` bytes): how many bytes the server took. A server that stops
        reading fills the TCP buffers, and sending stalls."""
        sent = 0
        deadline = time.monotonic() + budget
        self.sock.settimeout(0.2)
        view = memoryview(chunk)
        try:
            while sent < most and time.monotonic() < deadline:
                try:
                    sent += self.sock.send(view)
                except TimeoutError:
                    continue
        except (ConnectionResetError, BrokenPipeError):
            pass
        return sent


def request_bytes(
    method: str, target: str, port: int, headers: dict[str, str] | None = None, body: bytes = b""
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def http(
    port: int, method: str, target: str, headers: dict[str, str] | None = None, body: bytes = b""
) -> tuple[int, dict[str, str], bytes]:
    raw = Raw(port)
    try:
        raw.send(request_bytes(method, target, port, headers, body))
        return raw.response()
    finally:
        raw.close()


def tcp_buffers_max() -> int:
    """The most the kernel may buffer on one loopback connection in one
    direction: the sender's send buffer and the receiver's receive buffer at
    their autotuning limits (net.ipv4.tcp_wmem, tcp_rmem), which differ from
    machine to machine (6 MB and 4 MB by default, 32 MB seen)."""
    def limit(name: str) -> int:
        with open(f"/proc/sys/net/ipv4/{name}") as f:
            return int(f.read().split()[2])
    return limit("tcp_wmem") + limit("tcp_rmem")


def rss_bytes() -> int:
    """This process's resident memory (the in-process server's included)."""
    with open(f"/proc/{os.getpid()}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def in_thread(fn: Callable[[], Any]) -> threading.Thread:
    thread = threading.Thread(target=fn, daemon=True)
    thread.start()
    return thread
