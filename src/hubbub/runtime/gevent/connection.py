"""One connection on hubbub's gevent server: the short path for Socket.IO
requests.

The connection's greenlet reads a request head, parses it with httptools
and hands the request straight to the core, answering on the socket
itself: no WSGI environ, no header objects, no response machinery, one
send per response. It takes only the requests it can answer exactly as
pywsgi would: HTTP/1.1, GET, POST or OPTIONS under the Socket.IO path, the
whole head (and a POST's whole body, by Content-Length) in what has
arrived, within the server's limits. A head over the limits
(``max_header_size``, ``max_headers_count``) is refused here with the embedded
server's 431, never handed on. Anything else (a head not all here yet, a
chunked or trickling body, another path, a malformed request) goes, with
the bytes read so far, to the pywsgi handler, which then owns the
connection: every rule pywsgi and WSGIApp apply to such requests stays
theirs, and the handler (server.SocketHandoff) reads the rest of a head
within the same limits.
"""

from __future__ import annotations

import contextlib
import io
import logging
import math
import socket as stdlib_socket
from collections.abc import Callable
from typing import Any

import gevent
import httptools

from hubbub.http import (
    REASONS,
    HttpRequest,
    HttpResponse,
    join_headers,
    serialize_head,
    shared_str,
)
from hubbub.runtime.contract import PollHold, StreamHold
from hubbub.runtime.gevent.core import READ_SIZE, GeventHost
from hubbub.runtime.gevent.wsgi import WSGIApp, wait_for_wake
from hubbub.runtime.limits import ServerLimits

log = logging.getLogger("hubbub.wsgi")

# methods and paths, decoded once and shared by the requests that carry them
_TOKENS: dict[bytes, str] = {}
# and the query strings of websocket connects, which repeat from one client to the next
_QUERIES: dict[bytes, str] = {}
_METHODS = frozenset({b"GET", b"POST", b"OPTIONS"})
# headers whose requests the short path leaves to pywsgi
_NOT_HERE = frozenset({b"transfer-encoding", b"expect"})
_CLOSE = ("Connection", "close")


def refusal(status: int) -> bytes:
    """The whole answer to a request refused before it is read whole, as the
    embedded server gives it (its ``_write_simple``): the reason as a plain
    text body, and the connection closes."""
    reason = REASONS[status].encode("latin-1")
    return serialize_head(status, [("Content-Type", "text/plain"), _CLOSE], len(reason)) + reason


#: a request head over ``max_header_size`` or ``max_headers_count``
HEAD_TOO_LARGE = refusal(431)
#: a request head that cannot be parsed
BAD_REQUEST = refusal(400)


class EnvironBuilder:
    """The WSGI environ of a request on the short path, made only when an
    application asks for it (``hubbub.http.native_environ``): most
    connections never do, and an idle websocket need not keep one."""

    __slots__ = ("address", "base")

    def __init__(self, base: Callable[[], dict[str, Any]], address: Any) -> None:
        self.base = base
        self.address = address

    def build_environ(self, req: HttpRequest) -> dict[str, Any]:
        env = self.base()
        env["REQUEST_METHOD"] = req.method
        env["PATH_INFO"] = req.path
        env["QUERY_STRING"] = req.query_string
        env["SERVER_PROTOCOL"] = "HTTP/1.1"
        address = self.address
        if isinstance(address, tuple):
            env["REMOTE_ADDR"] = str(address[0])
            env["REMOTE_PORT"] = str(address[1])
        for name, value in req.headers.items():
            if name == "content-type":
                env["CONTENT_TYPE"] = value
            elif name == "content-length":
                env["CONTENT_LENGTH"] = value
            else:
                env["HTTP_" + name.upper().replace("-", "_")] = value
        env["wsgi.input"] = io.BytesIO(req.body)
        env["wsgi.url_scheme"] = "https" if req.secure else "http"
        return env


class _Head:
    """What httptools reports of one request head (its callbacks)."""

    __slots__ = ("done", "headers", "keep_alive", "parser", "url")

    def __init__(self) -> None:
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.done = False
        self.keep_alive = False
        self.parser: Any = None

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.done = True
        # asked here: once the message is complete the parser forgets it
        self.keep_alive = self.parser.should_keep_alive()


class Replay(io.RawIOBase):
    """A socket's reader that first gives back the bytes already read from
    it: the pywsgi handler taking over a connection starts where the short
    path stopped."""

    def __init__(self, data: bytes, sock: Any) -> None:
        super().__init__()
        self._data = memoryview(data)
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._data
        if data:
            n = min(len(buffer), len(data))
            buffer[:n] = data[:n]
            self._data = data[n:]
            return n
        return int(self._sock.recv_into(buffer))


def serve_connection(
    wsgi: WSGIApp,
    limits: ServerLimits,
    sock: Any,
    address: Any,
    base_environ: Callable[[], dict[str, Any]],
    hand_over: Callable[[bytes], None],
) -> None:
    """Answer the Socket.IO requests of one connection until it closes, or
    until a request is one for pywsgi: ``hand_over(bytes read so far)``."""
    with contextlib.suppress(OSError):
        # answers are single sends, and a client waits for each
        sock.setsockopt(stdlib_socket.IPPROTO_TCP, stdlib_socket.TCP_NODELAY, 1)
    remote = str(address[0]) if isinstance(address, tuple) else None
    environ = EnvironBuilder(base_environ, address)
    # the socket has no timeout (gevent would arm a Timeout for every recv
    # that waits); the connection's one deadline closes it instead
    sock.settimeout(None)
    deadline = Deadline(sock, limits.keep_alive_timeout)

    def give(received: bytes) -> None:
        deadline.stop()  # pywsgi keeps its own time limits
        hand_over(received)

    try:
        _serve(wsgi, limits, sock, environ, remote, deadline, give)
    finally:
        deadline.stop()


def _serve(
    wsgi: WSGIApp,
    limits: ServerLimits,
    sock: Any,
    environ: EnvironBuilder,
    remote: str | None,
    deadline: Deadline,
    hand_over: Callable[[bytes], None],
) -> None:
    endpoint = wsgi.endpoint
    clock = wsgi.runtime.clock
    buf = b""
    while True:
        if not buf:
            # waiting for a request (the first, or the next on a kept-alive connection)
            deadline.arm()
            try:
                buf = sock.recv(READ_SIZE)
            except OSError:  # idle past the keep-alive timeout (closed), or reset
                return
            deadline.disarm()
            if not buf:
                return
        # Invariant: no head over the limits goes to pywsgi (whose own reader
        # has only far looser caps of its own); a head not all here yet goes
        # to the handler, which reads the rest within the same limits.
        end = buf.find(b"\r\n\r\n")
        if end < 0 and len(buf) <= limits.max_header_size:
            hand_over(buf)
            return
        if end < 0 or end + 4 > limits.max_header_size:
            _refuse_head(sock, deadline, remote)
            return
        head = _Head()
        parser = head.parser = httptools.HttpRequestParser(head)
        try:
            parser.feed_data(buf[:end + 4])
        except httptools.HttpParserUpgrade:
            pass
        except httptools.HttpParserError:
            # pywsgi's rules decide; its handler holds the head to the limits
            hand_over(buf)
            return
        finally:
            head.parser = None  # no cycle left for the garbage collector
        if len(head.headers) > limits.max_headers_count:
            _refuse_head(sock, deadline, remote)
            return
        method = parser.get_method()
        if (
            not head.done
            or method not in _METHODS
            or parser.get_http_version() != "1.1"
        ):
            hand_over(buf)
            return
        parsed = httptools.parse_url(head.url)
        path_raw = parsed.path or b"/"
        path = shared_str(_TOKENS, path_raw)
        if not endpoint.serves(path):
            hand_over(buf)
            return
        length = 0
        for name, value in head.headers:
            lower = name.lower()
            if lower in _NOT_HERE:
                hand_over(buf)
                return
            if lower == b"content-length":
                if not value.isdigit():
                    hand_over(buf)
                    return
                length = int(value)
        body_end = end + 4 + length
        if length > endpoint.max_message_size or len(buf) < body_end:
            hand_over(buf)  # large or not all here: WSGIApp's body rules
            return
        upgrade = parser.should_upgrade()
        query = parsed.query
        if not query:
            query_string = ""
        elif upgrade and b"sid=" not in query:
            # a new websocket's query lives as long as its connection
            query_string = shared_str(_QUERIES, query)
        else:
            query_string = query.decode("latin-1")
        req = HttpRequest(
            method=shared_str(_TOKENS, method),
            path=path,
            query_string=query_string,
            headers=join_headers(head.headers),
            body=buf[end + 4:body_end],
            remote_addr=remote,
            native=environ,
        )
        if wsgi.router is not None and wsgi.owner_elsewhere(req) is not None:
            # another worker's session: WSGIApp forwards the request or hands
            # the connection over, on the pywsgi handler's socket
            hand_over(buf)
            return
        keep_alive = head.keep_alive
        buf = buf[body_end:]
        result = endpoint.handle_request(req, clock())
        if isinstance(result, HttpResponse):
            if req.is_websocket_upgrade:
                keep_alive = False  # the client may already send frames after it
            if not _send(sock, deadline, result, keep_alive) or not keep_alive:
                return
        elif isinstance(result, PollHold):
            host = result.session.host
            assert isinstance(host, GeventHost)
            if not wait_for_wake(host, sock):
                result.aborted(clock())  # the client closed the connection
                return
            if not _send(sock, deadline, result.finish(clock()), keep_alive) or not keep_alive:
                return
        elif isinstance(result, StreamHold):
            if not _stream(sock, deadline, result, clock) or not keep_alive:
                return
        else:
            wsgi.serve_websocket(sock, req, result, buf)
            return


class Deadline:
    """The time limit of one connection's socket, which has no timeout of
    its own: while armed, the connection is closed once ``timeout`` seconds
    pass (a gevent socket closed under a waiting recv or send raises
    OSError in its greenlet). One libev timer per connection, re-started
    only when it fires: arming and disarming are a float store, where a
    socket timeout costs a gevent.Timeout for every wait.

    Invariant: the timer runs from construction to ``stop``; ``due`` is
    ``inf`` while disarmed, so a firing timer then only re-starts."""

    __slots__ = ("due", "loop", "sock", "timeout", "timer")

    def __init__(self, sock: Any, timeout: float) -> None:
        self.sock = sock
        self.timeout = timeout
        self.loop = gevent.get_hub().loop
        self.due = math.inf
        self.timer: Any = None
        self._start(timeout)

    def arm(self) -> None:
        self.due = self.loop.now() + self.timeout

    def disarm(self) -> None:
        self.due = math.inf

    def stop(self) -> None:
        timer, self.timer = self.timer, None
        if timer is not None:
            timer.close()

    def _start(self, after: float) -> None:
        timer = self.timer = self.loop.timer(after)
        timer.start(self._fire)

    def _fire(self) -> None:
        # never after stop(): closing a libev timer also clears a pending firing
        self.timer.close()
        left = self.due - self.loop.now()
        if left <= 0:
            self.timer = None
            self.sock.close()
        else:
            self._start(min(left, self.timeout))


def _send_all(sock: Any, deadline: Deadline, data: bytes) -> None:
    """``sock.sendall(data)`` within the connection's time limit. A response
    mostly goes in the one send; gevent's sendall would also ask the
    socket's send buffer size (a getsockopt) every time."""
    deadline.arm()  # a client that does not read gets the keep-alive time
    sent = sock.send(data)
    if sent < len(data):
        sock.sendall(memoryview(data)[sent:])
    deadline.disarm()


def _refuse_head(sock: Any, deadline: Deadline, remote: str | None) -> None:
    """Answer a head over the limits as the embedded server does (431, its
    log line); the caller then ends the connection."""
    log.info("%s: malformed HTTP request (%s)", remote, "header too large")
    with contextlib.suppress(OSError):
        _send_all(sock, deadline, HEAD_TOO_LARGE)


def _send(sock: Any, deadline: Deadline, response: HttpResponse, keep_alive: bool) -> bool:
    headers = response.headers if keep_alive else [*response.headers, _CLOSE]
    try:
        _send_all(
            sock, deadline,
            serialize_head(response.status, headers, len(response.body)) + response.body,
        )
    except OSError:
        return False
    return True


def _stream(
    sock: Any, deadline: Deadline, hold: StreamHold, clock: Callable[[], float]
) -> bool:
    """A 0.9 htmlfile GET: a chunked response, a chunk per wake-up, until
    the session ends the document (True) or the client goes (False)."""
    host = hold.session.host
    assert isinstance(host, GeventHost)
    head = hold.head
    headers = [*head.headers, ("Transfer-Encoding", "chunked")]
    finished = False
    try:
        _send_all(sock, deadline, serialize_head(head.status, headers, None) + _chunk(head.body))
        while not finished:
            if not wait_for_wake(host, sock):
                break  # the client closed the connection
            data, finished = hold.more(clock())
            if finished:
                _send_all(sock, deadline, _chunk(data) + b"0\r\n\r\n")
            elif data:
                _send_all(sock, deadline, _chunk(data))
    except OSError:
        pass
    finally:
        if not finished:
            host.waiter = None
            hold.aborted(clock())
    return finished


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""
