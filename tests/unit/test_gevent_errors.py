"""Under gevent, what fails in hubbub's server code, or in an app it serves,
is logged on the ``hubbub.*`` loggers with its traceback, and nothing is
printed: left to gevent, pywsgi and the hub would print it to stderr, where
neither the application's logging configuration nor a test watching the
logs sees it. (tests/hostile runs hostile clients against the same server
and checks that nothing is printed there either.)"""

from __future__ import annotations

import http.client
import logging
import socket
from typing import Any

import gevent
import pytest
from gevent import socket as gsocket

import hubbub
from conftest import ServerThread
from hubbub.runtime.gevent.core import GeventRuntime, SocketLinkIO, run_logged
from hubbub.runtime.gevent.server import make_server


def page_that_fails(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    raise RuntimeError("the page failed")


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("hubbub") and r.exc_info]


def printed(capfd: pytest.CaptureFixture[str]) -> str:
    out, err = capfd.readouterr()
    return out + err


def test_an_app_beside_hubbub_that_raises_is_logged_with_its_traceback(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.INFO, logger="hubbub")
    with ServerThread(hubbub.Server(), gevent=True, wsgi_app=page_that_fails) as server:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        try:
            conn.request("GET", "/page")
            status = conn.getresponse().status
        finally:
            conn.close()
    assert status == 500
    [record] = tracebacks(caplog)
    assert record.levelno == logging.ERROR
    assert "GET /page" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    text = logging.Formatter().format(record)
    assert "Traceback" in text and "page_that_fails" in text
    assert "Traceback" not in printed(capfd)


def test_a_connection_whose_client_left_before_its_answer_ends_quietly(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """A bad request from a client that has already closed its end: the
    400 pywsgi sends from the connection's greenlet, outside any request,
    finds the socket gone (EPIPE). The connection ends with a line on the
    log and no traceback anywhere."""
    caplog.set_level(logging.INFO, logger="hubbub")
    server = make_server(hubbub.Server())
    ours, theirs = gsocket.socketpair()
    theirs.sendall(b"NOT HTTP\r\n\r\n")
    theirs.close()
    # what the server's accept loop spawns for each connection
    connection = gevent.spawn(server.handle, ours, ("127.0.0.1", 1))
    connection.join()
    assert connection.successful()
    assert tracebacks(caplog) == []
    assert any("connection lost" in r.getMessage() for r in caplog.records)
    assert "Traceback" not in printed(capfd)


def test_a_handler_that_lets_a_gevent_timeout_out_is_logged(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """gevent.Timeout is no Exception: a handler's own ``with
    gevent.Timeout(...)`` that expires ends its greenlet with it."""
    runtime = GeventRuntime()

    def waits_too_long() -> None:
        with gevent.Timeout(0.01):
            gevent.sleep(1)

    runtime.spawn(waits_too_long)
    gevent.sleep(0.1)
    [record] = tracebacks(caplog)
    assert "waits_too_long" in record.getMessage()
    assert record.exc_info is not None and isinstance(record.exc_info[1], gevent.Timeout)
    assert "Traceback" not in printed(capfd)


def test_run_logged_logs_what_a_greenlet_of_hubbubs_fails_with(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    def broken(arg: str) -> None:
        raise ValueError(arg)

    job = gevent.spawn(run_logged, broken, "boom")
    job.join()
    assert job.successful()
    [record] = tracebacks(caplog)
    assert "broken" in record.getMessage() and record.levelno == logging.ERROR
    assert "Traceback" not in printed(capfd)


def test_run_logged_lets_a_kill_through(caplog: pytest.LogCaptureFixture) -> None:
    job = gevent.spawn(run_logged, gevent.sleep, 10)
    gevent.sleep(0)
    job.kill()
    assert job.dead and isinstance(job.value, gevent.GreenletExit)
    assert tracebacks(caplog) == []


def test_a_link_whose_end_of_stream_fails_is_logged_and_the_socket_closed(
    caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    """The hub reads a websocket and tells its link when the stream ends
    (``lost``): that runs in a hub callback, whose exception the hub would
    print."""
    a, b = socket.socketpair()
    a.setblocking(False)
    peer = gsocket.socket(fileno=b.detach())

    class Link:
        closing = False

        def feed(self, data: bytes) -> None:
            pass

        def lost(self) -> None:
            raise RuntimeError("lost failed")

    io = SocketLinkIO(a, close_timeout=1.0)
    io.start(Link())
    peer.close()
    for _ in range(100):
        if io.dead:
            break
        gevent.sleep(0.01)
    assert io.dead and a.fileno() == -1
    [record] = tracebacks(caplog)
    assert record.exc_info is not None and isinstance(record.exc_info[1], RuntimeError)
    assert "Traceback" not in printed(capfd)
