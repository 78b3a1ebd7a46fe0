"""eio_helpers.NodeAgent, the HTTP client of the official suites' renditions,
against a tiny server whose behaviour is known: it must reuse connections
where Node's agent reuses them, and fail where a Node client would hang up.
"""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Iterator

import pytest
from eio_helpers import NodeAgent, in_thread, wait_until


class _Handler(socketserver.StreamRequestHandler):
    server: _Tiny

    def handle(self) -> None:
        self.server.accepted += 1
        while True:
            line = self.rfile.readline()
            if not line:
                return
            path = line.split()[1].decode()
            while self.rfile.readline() not in (b"\r\n", b""):
                pass  # the rest of the head; the agent's GETs have no body
            self.server.seen.append(path)
            if path == "/hold":
                self.server.release.wait(5)
            mode = self.server.mode
            close = b"Connection: close\r\n" if mode == "says-close" else b""
            self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + close + b"\r\nok")
            self.wfile.flush()
            if mode != "keep":
                return  # the handler closes the connection


class _Tiny(socketserver.ThreadingTCPServer):
    daemon_threads = True

    def __init__(self, mode: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.mode = mode
        self.accepted = 0
        self.seen: list[str] = []
        self.release = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def tiny(mode: str) -> Iterator[_Tiny]:
    server = _Tiny(mode)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    try:
        yield server
    finally:
        server.release.set()
        server.shutdown()
        server.server_close()


@pytest.fixture
def keeping() -> Iterator[_Tiny]:
    """Answers keep-alive and keeps the connection (whatever the request asked)."""
    yield from tiny("keep")


@pytest.fixture
def says_close() -> Iterator[_Tiny]:
    """Answers with Connection: close and closes."""
    yield from tiny("says-close")


@pytest.fixture
def silent_close() -> Iterator[_Tiny]:
    """Answers without Connection: close, then closes: the old gevent bug."""
    yield from tiny("silent-close")


def test_a_kept_alive_connection_is_reused(keeping: _Tiny) -> None:
    agent = NodeAgent()
    try:
        for _ in range(3):
            assert agent.request(keeping.url, "GET", "/").body == b"ok"
    finally:
        agent.close()
    assert agent.opened == 1
    assert keeping.accepted == 1


def test_an_answer_with_connection_close_is_not_reused(says_close: _Tiny) -> None:
    agent = NodeAgent()
    try:
        for _ in range(3):
            assert agent.request(says_close.url, "GET", "/").body == b"ok"
    finally:
        agent.close()
    assert agent.opened == 3


def test_a_connection_closed_without_saying_so_fails(silent_close: _Tiny) -> None:
    agent = NodeAgent()
    try:
        assert agent.request(silent_close.url, "GET", "/").body == b"ok"
        with pytest.raises(AssertionError, match="without Connection: close"):
            agent.request(silent_close.url, "GET", "/")
    finally:
        agent.close()


def test_requests_at_once_use_separate_connections(keeping: _Tiny) -> None:
    agent = NodeAgent()
    try:
        agent.request(keeping.url, "GET", "/")  # one idle connection now
        held = in_thread(lambda: agent.request(keeping.url, "GET", "/hold"))
        assert wait_until(lambda: "/hold" in keeping.seen)
        # the idle connection carries the held GET: this one needs another
        assert agent.request(keeping.url, "GET", "/").body == b"ok"
        keeping.release.set()
        assert held.result(5).body == b"ok"
        agent.request(keeping.url, "GET", "/")
    finally:
        agent.close()
    assert agent.opened == 2
