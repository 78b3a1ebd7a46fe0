"""hubbub's gevent server over real sockets: the short path it takes for
Socket.IO requests and the pywsgi handler it hands everything else to.

A request the short path does not take whole (a body still on its way,
another path) is answered by pywsgi from the bytes already read, on the
same connection; the environ an application asks for is there; frames
sent right behind the upgrade request are served; an idle websocket is
read by the hub, without a greenlet of its own. Request heads are held to
the server's header limits, on the short path and by pywsgi's handler
alike.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import socket
import time
from collections.abc import Iterable
from typing import Any

import greenlet
import pytest

import hubbub
from conftest import ServerThread
from hubbub.websocket.frames import OP_TEXT, encode_frame

pytestmark = pytest.mark.timeout(60)

UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket&token=abc HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
    b"X-Test: yes\r\n\r\n"
)


def frame(text: str) -> bytes:
    return encode_frame(OP_TEXT, text.encode(), mask=b"\x01\x02\x03\x04")


class Conn:
    """A raw client connection and what it has read."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buf = b""

    def until(self, marker: bytes) -> bytes:
        """Read until ``marker``; return (and consume) the bytes through it."""
        while marker not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError(f"closed before {marker!r}; got {self.buf!r}")
            self.buf += chunk
        i = self.buf.index(marker) + len(marker)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def response(self) -> tuple[int, bytes]:
        head = self.until(b"\r\n\r\n")
        m = re.search(rb"content-length: *(\d+)", head.lower())
        length = int(m.group(1)) if m else 0
        while len(self.buf) < length:
            self.buf += self.sock.recv(65536)
        body, self.buf = self.buf[:length], self.buf[length:]
        return int(head.split()[1]), body

    def request(self, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
        self.sock.sendall(_request(method, target, body))
        return self.response()

    def close(self) -> None:
        self.sock.close()


def _request(method: str, target: str, body: bytes = b"") -> bytes:
    head = f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if method == "POST":
        head += f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


class Env(hubbub.Namespace):
    def on_env(self) -> list[str]:
        env = self.environ or {}
        return [env.get(k, "") for k in ("REQUEST_METHOD", "PATH_INFO", "QUERY_STRING",
                                          "HTTP_X_TEST", "REMOTE_ADDR", "wsgi.url_scheme")]

    def on_echo(self, data: str) -> str:
        return data


def _app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "3")])
    return [b"app"]


@pytest.fixture
def port() -> Any:
    sio = hubbub.Server(cors_allowed_origins="*")
    sio.register("/", Env)
    with ServerThread(hubbub.WSGIApp(sio, _app), gevent=True) as server:
        yield server.port


def _open_polling(conn: Conn) -> str:
    status, body = conn.request("GET", "/socket.io/?EIO=4&transport=polling")
    assert status == 200, body
    return str(json.loads(body[1:])["sid"])


def test_a_body_that_comes_after_its_head_is_read_and_answered(port: int) -> None:
    conn = Conn(port)
    try:
        sid = _open_polling(conn)
        target = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
        body = b"40"
        conn.sock.sendall(_request("POST", target, body)[: -len(body)])
        time.sleep(0.3)  # the head alone, then the body
        conn.sock.sendall(body)
        assert conn.response() == (200, b"ok")
        status, answer = conn.request("GET", target)
        assert status == 200 and answer.startswith(b"40{"), answer
    finally:
        conn.close()


def test_socketio_and_app_requests_share_one_kept_alive_connection(port: int) -> None:
    conn = Conn(port)
    try:
        sid = _open_polling(conn)
        assert conn.request("GET", "/page") == (200, b"app")
        target = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
        assert conn.request("POST", target, b'40') == (200, b"ok")
        status, answer = conn.request("GET", target)
        assert status == 200 and answer.startswith(b"40{"), answer
    finally:
        conn.close()


def test_the_environ_is_there_for_a_namespace_that_asks(port: int) -> None:
    conn = Conn(port)
    try:
        conn.sock.sendall(UPGRADE)
        assert conn.until(b"\r\n\r\n").startswith(b"HTTP/1.1 101")
        conn.until(b'"sid"')
        conn.sock.sendall(frame("40") + frame('421["env"]'))
        answer = conn.until(b"]]")
        got = json.loads(answer[answer.index(b"431[") + 3:])
        assert got == [["GET", "/socket.io/", "EIO=4&transport=websocket&token=abc", "yes",
                        "127.0.0.1", "http"]]
    finally:
        conn.close()


def test_frames_right_behind_the_upgrade_request_are_served(port: int) -> None:
    conn = Conn(port)
    try:
        conn.sock.sendall(UPGRADE + frame("40"))
        assert conn.until(b"\r\n\r\n").startswith(b"HTTP/1.1 101")
        conn.until(b"40{")
        conn.sock.sendall(frame('427["echo","hi"]'))
        conn.until(b'437["hi"]')
    finally:
        conn.close()


def _greenlets() -> int:
    gc.collect()
    return sum(1 for obj in gc.get_objects() if isinstance(obj, greenlet.greenlet))


def test_an_idle_websocket_holds_no_greenlet(port: int) -> None:
    conns = []
    try:
        before = _greenlets()
        for _ in range(30):
            conn = Conn(port)
            conn.sock.sendall(UPGRADE + frame("40"))
            conn.until(b"40{")
            conns.append(conn)
        time.sleep(0.3)  # the connect handlers' greenlets end
        assert _greenlets() - before < 10
        # and they are served
        for i, conn in enumerate(conns):
            conn.sock.sendall(frame(f'42{i}["echo","x{i}"]'))
        for i, conn in enumerate(conns):
            conn.until(f'43{i}["x{i}"]'.encode())
    finally:
        for conn in conns:
            conn.close()


# small enough to reach in a test, with room for pywsgi's own caps above them
HEAD_LIMITS = hubbub.ServerLimits(max_header_size=2048, max_headers_count=20)


@pytest.fixture(params=["short path", "views mode"])
def limited_port(request: pytest.FixtureRequest) -> Any:
    """hubbub's server, its short path first; or a plain WSGI app (views
    mode), every request read by pywsgi's handler."""
    if request.param == "short path":
        sio = hubbub.Server(cors_allowed_origins="*")
        app: Any = hubbub.WSGIApp(sio, _app)
    else:
        app = _app
    with ServerThread(app, gevent=True, limits=HEAD_LIMITS) as server:
        yield server.port


def _head(target: str, headers: int, size: int | None = None) -> bytes:
    """A GET with ``headers`` headers, the last padded to make the head
    ``size`` bytes long (its request line and final blank line included)."""
    lines = [f"GET {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"X-H{i}: v" for i in range(headers - 2)]
    lines.append("X-Pad: ")
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    if size is not None:
        head = head[:-4] + b"p" * (size - len(head)) + b"\r\n\r\n"
        assert len(head) == size
    return head


@pytest.mark.parametrize(
    ("head", "status"),
    [
        (_head("/page", HEAD_LIMITS.max_headers_count), 200),
        (_head("/page", HEAD_LIMITS.max_headers_count + 1), 431),
        (_head("/page", 3, HEAD_LIMITS.max_header_size), 200),
        (_head("/page", 3, HEAD_LIMITS.max_header_size + 1), 431),
        (_head("/page?" + "q" * HEAD_LIMITS.max_header_size, 3), 431),
        # one read of a head that has not ended and is already too large
        (_head("/page", 3, HEAD_LIMITS.max_header_size * 2)[:-4], 431),
    ],
    ids=["max headers", "a header more", "max size", "a byte more", "request line", "unended"],
)
def test_a_head_is_read_within_the_header_limits(
    limited_port: int, head: bytes, status: int, caplog: pytest.LogCaptureFixture
) -> None:
    """The short path holds a head to the header limits, and pywsgi's handler
    the heads it reads (in views mode, or those the short path leaves to it:
    here every "/page" within the limits), as the embedded server does."""
    caplog.set_level(logging.INFO, logger="hubbub")
    conn = Conn(limited_port)
    try:
        conn.sock.sendall(head)
        answer = conn.until(b"\r\n\r\n")
        assert int(answer.split()[1]) == status, answer
        if status == 200:
            return
        # the embedded server's answer and log line
        assert b"\r\nContent-Type: text/plain\r\n" in answer
        assert b"\r\nConnection: close\r\n" in answer
        reason = b"Request Header Fields Too Large"
        assert f"\r\nContent-Length: {len(reason)}\r\n".encode() in answer
        while len(conn.buf) < len(reason):
            conn.buf += conn.sock.recv(65536)
        assert conn.buf == reason
        assert conn.sock.recv(65536) == b""  # and it closes the connection
    finally:
        conn.close()
    assert any(
        "malformed HTTP request (header too large)" in r.getMessage() for r in caplog.records
    )
