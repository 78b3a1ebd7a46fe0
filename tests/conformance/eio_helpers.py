"""Small blocking Engine.IO clients for the conformance tests.

Polling goes over ``http.client``: one fresh connection per request, unless
a connection is passed in or a ``node_agent()`` is active (then through a
NodeAgent, as the official suites' requests go under Node). Websocket goes
over ``websockets.sync.client``. Nothing here knows the server's internals:
everything is observed over real sockets.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.sync.client import ClientConnection, connect

import hubbub
from conftest import ServerThread

PATH = "/engine.io/"
PING_INTERVAL = 0.3  # examples/engineio_echo.py
PING_TIMEOUT = 0.2
# slack for timers on a loaded machine (both ends run on this host)
SLACK = 0.1


# -- HTTP --------------------------------------------------------------------


@dataclass
class Resp:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


def query(**params: Any) -> str:
    return PATH + "?" + urlencode({k: v for k, v in params.items() if v is not None})


def hostport(base: str) -> tuple[str, int]:
    parts = urlsplit(base)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def request(
    base: str,
    method: str,
    path: str,
    body: bytes | str | None = None,
    headers: dict[str, str] | None = None,
    conn: http.client.HTTPConnection | None = None,
    timeout: float = 5.0,
) -> Resp:
    if conn is None and _agent is not None:
        return _agent.request(base, method, path, body, headers, timeout)
    own = conn is None
    if conn is None:
        host, port = hostport(base)
        conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        if isinstance(body, str):
            body = body.encode("utf-8")
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return Resp(r.status, r.headers, r.read())
    finally:
        if own:
            conn.close()


# how long Node's global agent keeps a free socket: past it the agent
# destroys the socket itself, so a server closing it then is no fault
AGENT_FREE_SOCKET_TIMEOUT = 5.0


@dataclass
class _Kept:
    """An idle kept-alive connection and what it last carried."""

    conn: http.client.HTTPConnection
    since: float
    last: str


class NodeAgent:
    """Polling requests as the official JS suites make them under Node.

    Why: the suites fetch with node-fetch, which, given no agent, asks for
    ``Connection: close`` on every request; Node's global agent keeps alive
    nonetheless every socket whose *response* does not say ``close`` and
    gives it to the next request to the same host:port. A server that
    honours the client's close without saying so in its answer (hubbub's
    gevent server once did) breaks that next request: "socket hang up" in
    Node. A client with a fresh connection per request never sees it.

    Like the agent: the idle kept-alive connection freed last is reused; a
    response saying ``Connection: close`` leaves nothing to reuse; a
    connection idle past the agent's timeout is dropped; a request never
    waits for a busy connection, so requests at once (a held GET and a POST)
    go on separate connections. ``connection_close=False`` sends no
    ``Connection`` header, as a browser's fetch would.

    Stricter than the agent, on purpose: the agent forgets a free socket the
    server closed only once its event loop has run since the close, so
    whether Node's next request fails depends on when the FIN comes. Here a
    kept connection the server closed fails the test either way, seen before
    the request goes out or by the request failing on it: that is the bug.
    Nothing is retried.
    """

    def __init__(
        self,
        *,
        connection_close: bool = True,
        idle_timeout: float = AGENT_FREE_SOCKET_TIMEOUT,
    ) -> None:
        self.connection_close = connection_close
        self.idle_timeout = idle_timeout
        self.opened = 0  # connections made, for tests of the agent itself
        self._idle: dict[tuple[str, int], list[_Kept]] = {}
        self._lock = threading.Lock()
        self._closed = False

    def request(
        self,
        base: str,
        method: str,
        path: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = 5.0,
    ) -> Resp:
        key = hostport(base)
        kept = self._take(key)
        if kept is None:
            conn = http.client.HTTPConnection(*key, timeout=timeout)
            with self._lock:
                self.opened += 1
        else:
            conn = kept.conn
            conn.timeout = timeout
            assert conn.sock is not None
            conn.sock.settimeout(timeout)
        sent = {"Connection": "close"} if self.connection_close else {}
        sent.update(headers or {})
        if isinstance(body, str):
            body = body.encode("utf-8")
        try:
            conn.request(method, path, body=body, headers=sent)
            r = conn.getresponse()
            data = r.read()
        except TimeoutError:
            conn.close()
            raise
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            if kept is None:
                raise
            raise AssertionError(
                f"{method} {path} failed on a kept-alive connection ({exc!r}): the server "
                f"closed it after answering {kept.last} without Connection: close"
            ) from exc
        if r.will_close:
            conn.close()
        else:
            self._free(key, _Kept(conn, time.monotonic(), f"{method} {path} ({r.status})"))
        return Resp(r.status, r.headers, data)

    def _take(self, key: tuple[str, int]) -> _Kept | None:
        with self._lock:
            idle = self._idle.get(key, [])
            kept = idle.pop() if idle else None
            if kept is not None and time.monotonic() - kept.since > self.idle_timeout:
                # the newest is too old, so are the others
                for old in [kept, *idle]:
                    old.conn.close()
                idle.clear()
                kept = None
        if kept is None:
            return None
        sock = kept.conn.sock
        assert sock is not None
        if select.select([sock], [], [], 0)[0]:
            # an idle connection has nothing to read unless the server closed
            # it (or wrote what no request asked for)
            kept.conn.close()
            raise AssertionError(
                f"the server closed a kept-alive connection after answering {kept.last} "
                "without Connection: close"
            )
        return kept

    def _free(self, key: tuple[str, int], kept: _Kept) -> None:
        with self._lock:
            if not self._closed:
                self._idle.setdefault(key, []).append(kept)
                return
        kept.conn.close()  # a request that outlived its agent

    def close(self) -> None:
        with self._lock:
            self._closed = True
            idle, self._idle = self._idle, {}
        for kept_list in idle.values():
            for kept in kept_list:
                kept.conn.close()


_agent: NodeAgent | None = None


@contextlib.contextmanager
def node_agent(**kw: Any) -> Iterator[NodeAgent]:
    """Send the polling requests of ``request`` (and ``get``, ``post``,
    ``open_polling``) made without a connection of their own through a new
    NodeAgent until the block ends."""
    global _agent
    agent = NodeAgent(**kw)
    previous, _agent = _agent, agent
    try:
        yield agent
    finally:
        _agent = previous
        agent.close()


def get(base: str, path: str, **kw: Any) -> Resp:
    return request(base, "GET", path, **kw)


def post(base: str, path: str, body: bytes | str, **kw: Any) -> Resp:
    return request(base, "POST", path, body=body, **kw)


def decode_v3_text(payload: str) -> list[str]:
    """A v3 text payload ``<len>:<packet>...`` as its packets (lengths checked)."""
    packets = []
    i = 0
    while i < len(payload):
        colon = payload.index(":", i)
        n = int(payload[i:colon])
        # the length counts UTF-16 code units
        start = colon + 1
        end = start
        units = 0
        while units < n:
            units += 2 if ord(payload[end]) > 0xFFFF else 1
            end += 1
        assert units == n, payload
        packets.append(payload[start:end])
        i = end
    return packets


def encode_v3_text(packets: list[str]) -> str:
    return "".join(f"{len(p.encode('utf-16-le')) // 2}:{p}" for p in packets)


def open_polling(base: str, eio: int = 4, **extra: Any) -> tuple[str, dict[str, Any]]:
    """A new polling session: (sid, open packet data)."""
    r = get(base, query(EIO=eio, transport="polling", **extra))
    assert r.status == 200, (r.status, r.body)
    if eio == 4:
        packet = r.text
    else:
        packets = decode_v3_text(r.text)
        assert len(packets) == 1, packets
        packet = packets[0]
    assert packet.startswith("0"), packet
    info = json.loads(packet[1:])
    return info["sid"], info


def sid_query(eio: int, sid: str, **extra: Any) -> str:
    return query(EIO=eio, transport="polling", sid=sid, **extra)


def error_of(r: Resp) -> tuple[int, str]:
    assert r.header("Content-Type") == "application/json", r.headers
    data = r.json()
    assert set(data) == {"code", "message"}, data
    return data["code"], data["message"]


# -- concurrency -------------------------------------------------------------


def in_thread(fn: Callable[[], Any]) -> Future[Any]:
    """Run ``fn`` in a daemon thread; the future holds its result."""
    fut: Future[Any] = Future()

    def run() -> None:
        try:
            fut.set_result(fn())
        except BaseException as exc:
            fut.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return fut


def raw_request(base: str, method: str, path: str, body: bytes = b"") -> socket.socket:
    """Send one request on a raw socket and return the (open) socket."""
    sock = socket.create_connection(hostport(base), timeout=5)
    host, port = hostport(base)
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(body)}\r\n\r\n"
    sock.sendall(head.encode("latin-1") + body)
    return sock


def wait_until(cond: Callable[[], bool], timeout: float = 2.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.01)
    return cond()


# -- websocket -----------------------------------------------------------------


def ws_url(base: str, path: str) -> str:
    return "ws" + base[len("http") :] + path


def ws_connect(base: str, path: str, **kw: Any) -> ClientConnection:
    kw.setdefault("compression", None)
    kw.setdefault("open_timeout", 5)
    kw.setdefault("close_timeout", 2)
    return connect(ws_url(base, path), **kw)


@contextlib.contextmanager
def ws_open(
    base: str, eio: int = 4, **kw: Any
) -> Iterator[tuple[ClientConnection, dict[str, Any]]]:
    """A new websocket session: (connection, open packet data)."""
    with ws_connect(base, query(EIO=eio, transport="websocket"), **kw) as ws:
        first = ws.recv(timeout=5)
        assert isinstance(first, str) and first.startswith("0"), first
        yield ws, json.loads(first[1:])


def recv(ws: ClientConnection, timeout: float = 2.0, pong: bool = True) -> str | bytes:
    """The next message that is not a v4 server ping (pings get a pong)."""
    while True:
        msg = ws.recv(timeout=timeout)
        if pong and msg == "2":
            ws.send("3")
            continue
        return msg


def wait_closed(ws: ClientConnection, timeout: float = 3.0) -> list[str | bytes]:
    """Read until the server closes; returns what came before the close."""
    got: list[str | bytes] = []
    deadline = time.monotonic() + timeout
    with pytest.raises(ConnectionClosed):
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"websocket still open after {timeout}s; got {got}")
            got.append(ws.recv(timeout=left))
    return got


def ws_refused(base: str, path: str, **kw: Any) -> int | None:
    """Connect and expect the server to refuse: returns the HTTP status of a
    refused handshake, or None if it was accepted and closed at once without
    an open packet."""
    try:
        ws = ws_connect(base, path, **kw)
    except InvalidStatus as exc:
        return exc.response.status_code
    except InvalidHandshake as exc:  # pragma: no cover - depends on the server
        raise AssertionError(f"unexpected handshake failure {exc!r}") from exc
    with ws:
        got = wait_closed(ws)
    assert not any(isinstance(m, str) and m.startswith("0") for m in got), got
    return None


# -- servers with custom options ------------------------------------------------


@contextlib.contextmanager
def serve(runtime: str, echo: bool = True, **options: Any) -> Iterator[tuple[Any, Any]]:
    """An EngineIOServer with ``options`` on ``runtime``: yields (thread, eio)."""
    eio = hubbub.EngineIOServer(**options)
    if echo:

        def on_message(sid: str, data: str | bytes) -> None:
            eio.send(sid, data)

        eio.on("message", on_message)
    with ServerThread(eio, uvicorn=runtime == "uvicorn", gevent=runtime == "gevent") as st:
        yield st, eio


def on_loop(st: Any, fn: Callable[[], Any], timeout: float = 5.0) -> Any:
    """Run ``fn`` on the server's loop (ServerThread.call) and wait for it."""
    done = threading.Event()
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(fn())
        finally:
            done.set()

    st.call(run)
    assert done.wait(timeout), "the server loop did not run the call"
    return box[0] if box else None
