"""hubbub's gevent server: gevent's pywsgi with a handler that can hand its
raw socket to a websocket, so WSGIApp runs websockets on hubbub's own frame
codec.

``serve(app, host, port)`` serves a hubbub Server, a WSGIApp, or any WSGI
app (then in views mode: its views call ``socketio_manage``).
"""

from __future__ import annotations

import contextlib
import email.parser
import http.client
import io
import logging
import re
import signal
import socket as stdlib_socket
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event
from gevent import pywsgi

from hubbub.runtime.contract import is_server
from hubbub.runtime.gevent.connection import (
    BAD_REQUEST,
    HEAD_TOO_LARGE,
    Replay,
    serve_connection,
)
from hubbub.runtime.gevent.core import FAILURES
from hubbub.runtime.gevent.wsgi import CONNECTION_SOCKET, TAKE_SOCKET, WSGIApp
from hubbub.runtime.limits import ServerLimits

log = logging.getLogger("hubbub.wsgi")

_DEFAULT_LIMITS = ServerLimits()


class _HeadTimeout(Exception):
    """A request's head did not come in time (raised by a gevent.Timeout)."""


_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)


class _HeadTooLarge(Exception):
    """A request head over the server's ``max_header_size`` or ``max_headers_count``."""


# A line pywsgi's header parser (the email package's) reads as one header,
# or the continuation of one: email.feedparser's headerRE, and no CR before
# the line's end (that parser also ends a line at a lone CR). At any other
# line it stops and keeps the rest of the head as a body, so the headers
# after that line would be silently dropped: such a head is refused
# instead, as httptools refuses it.
_HEADER_LINE = re.compile(rb"(?:From |[\x21-\x39\x3b-\x7e]*:|[\t ])[^\r\n]*\r?\n")
_END_OF_HEAD = (b"\r\n", b"\n", b"")

# what pywsgi itself takes for a client's error rather than a server's: its
# ValueErrors (a bad request line, version or Content-Length) and its
# _InvalidClientInput (a body that breaks off or a bad chunk)
_CLIENT_ERRORS = (ValueError, getattr(pywsgi, "_InvalidClientInput", ValueError))


class SocketHandoff:
    """Mixin for pywsgi handlers (hubbub's own and the gunicorn worker's).

    ``environ["hubbub.take_socket"]()`` gives the raw socket to the app, and
    the handler then writes no response of its own and closes the connection
    when the app returns.

    It also keeps the time limits pywsgi has none of (slowloris): a
    connection waits at most ``keep_alive_timeout`` for its next request line
    and then ``headers_timeout`` for the rest of the head (the body's limit is
    WSGIApp's), taken from the server's ``limits`` (a ServerLimits). It
    reads a head within ``max_header_size`` and ``max_headers_count`` (431, as
    the embedded server answers), and refuses a header line pywsgi's parser
    would take for the end of the headers (400). Requests pywsgi refuses
    are logged at INFO, as the embedded server logs them: a client's doing,
    not a server error. And a request that asks for ``Connection: close``
    is answered with it, so clients that pool connections know not to
    reuse this one.

    What pywsgi would print to stderr goes to logging (``hubbub.wsgi``)
    instead: an exception of the app (with its traceback; the client gets
    pywsgi's 500), and a failure to read a request head.
    """

    socket: Any
    rfile: Any
    server: Any
    environ: dict[str, Any]
    close_connection: bool
    headers_sent: bool
    status: Any
    _orig_status: Any
    _head_timer: Any = None
    # what is left of max_header_size once the request line is read
    _head_left: int = 0

    def _limits(self) -> ServerLimits:
        limits = getattr(self.server, "limits", None)
        return limits if isinstance(limits, ServerLimits) else _DEFAULT_LIMITS

    def read_requestline(self) -> str:
        limits = self._limits()
        timer = gevent.Timeout(limits.keep_alive_timeout, _HeadTimeout("idle"))
        timer.start()
        try:
            # pywsgi's own read, to just past max_header_size: a longer line
            # is refused here, a shorter one past pywsgi's own cap by pywsgi
            raw: bytes = self.rfile.readline(limits.max_header_size + 1)
        except _HeadTimeout:
            return ""  # idle (or a request line that never ended): close
        finally:
            timer.close()
        self._head_left = limits.max_header_size - len(raw)
        if self._head_left < 0:
            # answered here: pywsgi would answer a 414 of its own
            self._refuse_head()
            return ""  # pywsgi closes the connection
        return raw.decode("latin-1")

    def MessageClass(self, fp: Any, *args: Any) -> Any:
        """The request's headers (pywsgi's hook), read within the server's
        limits: pywsgi's own reader has only far looser caps of its own, and
        answers them with a 400. Parsed as pywsgi parses them."""
        max_headers_count = self._limits().max_headers_count
        left = self._head_left
        lines: list[bytes] = []
        while True:
            line: bytes = fp.readline(left + 1)
            left -= len(line)
            if left < 0:
                raise _HeadTooLarge
            if line in _END_OF_HEAD:
                break
            if not _HEADER_LINE.fullmatch(line):
                raise ValueError("invalid header line")
            lines.append(line)
            if len(lines) > max_headers_count:
                raise _HeadTooLarge
        lines.append(line)
        text = b"".join(lines).decode("latin-1")
        return email.parser.Parser(_class=pywsgi.OldMessage).parsestr(text)

    def _refuse_head(self) -> None:
        log.info("%s: malformed HTTP request (%s)", getattr(self, "client_address", None),
                 "header too large")
        with contextlib.suppress(OSError):
            self.socket.sendall(HEAD_TOO_LARGE)

    def read_request(self, raw_requestline: str) -> Any:
        timer = gevent.Timeout(self._limits().headers_timeout, _HeadTimeout("headers"))
        timer.start()
        try:
            return super().read_request(raw_requestline)  # type: ignore[misc]
        finally:
            timer.close()

    def handle_error(self, t: Any, v: Any, tb: Any) -> None:
        if isinstance(v, TimeoutError):
            # a socket wait past the keep-alive time (a client that does not
            # read its answer): the client's doing, not a server error
            log.info("%s: no progress within the time limit; closing",
                     getattr(self, "client_address", None))
            self.close_connection = True
            return
        super().handle_error(t, v, tb)  # type: ignore[misc]

    def _log_error(self, t: Any, v: Any, tb: Any) -> None:
        # pywsgi's handle_error reports the error here, then answers 500 (or
        # closes a response already begun); a handler class's own
        # handle_error (gevent-socketio's SocketIOServer takes the app's)
        # stays in charge of the rest
        if not isinstance(v, FAILURES):
            # a kill (GreenletExit), which pywsgi does not report, or a
            # system error, which gevent's hub raises in the main greenlet
            super()._log_error(t, v, tb)  # type: ignore[misc]
            return
        # pywsgi would hand it to the hub, which prints it to stderr
        environ = self.environ or {}
        log.error("%s %s from %s failed", environ.get("REQUEST_METHOD"),
                  environ.get("PATH_INFO"), getattr(self, "client_address", None),
                  exc_info=(t, v, tb))

    def _handle_client_error(self, ex: Exception) -> Any:
        # pywsgi prints the traceback of anything here but a ValueError (or
        # its own input error): of the rest, only a bug of the server's is
        # worth one
        address = getattr(self, "client_address", None)
        self.close_connection = True
        if isinstance(ex, _HeadTimeout):
            log.info("%s: request headers not complete in time; closing", address)
            return ("408", _TIMEOUT_RESPONSE)
        if isinstance(ex, _HeadTooLarge):
            log.info("%s: malformed HTTP request (%s)", address, "header too large")
            return ("431", HEAD_TOO_LARGE)
        if isinstance(ex, (*_CLIENT_ERRORS, http.client.HTTPException)):
            # a head or body pywsgi (or the standard library's header
            # parser, whose exceptions are no ValueErrors) refuses: the
            # client's doing. Before OSError: pywsgi's input error is one.
            log.info("%s: malformed HTTP request (%s)", address, ex)
            return ("400", BAD_REQUEST)
        if isinstance(ex, OSError):
            # the socket failed under the head (the client reset it): there
            # is no one to answer
            log.info("%s: connection lost while reading a request head: %s", address, ex)
            return None
        log.error("%s: reading a request head failed", address, exc_info=ex)
        return ("400", BAD_REQUEST)

    def start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: Any = None
    ) -> Any:
        if self.close_connection and not any(k.lower() == "connection" for k, _ in headers):
            headers = [*headers, ("Connection", "close")]
        return super().start_response(status, headers, exc_info)  # type: ignore[misc]

    def get_environ(self) -> dict[str, Any]:
        env: dict[str, Any] = super().get_environ()  # type: ignore[misc]
        env[TAKE_SOCKET] = self._take_socket
        env[CONNECTION_SOCKET] = self.socket
        return env

    def _take_socket(self) -> Any:
        self.close_connection = True
        # the app answered on the socket itself (101 or an error): tell
        # pywsgi its headers are out, and log the request as an upgrade
        self.headers_sent = True
        self.status = self._orig_status = "101 Switching Protocols"
        # From here the app reads the socket itself: let go of the request
        # reader and its buffer, which the environ (kept by the
        # connection's HttpRequest) would otherwise hold through wsgi.input
        # for the life of the websocket.
        empty = io.BytesIO()
        rfile, self.rfile = self.rfile, empty
        wsgi_input = getattr(self, "wsgi_input", None)
        if wsgi_input is not None:
            wsgi_input.rfile = empty
            # nothing of the request body is pywsgi's to read out any more
            wsgi_input.chunked_input = False
            wsgi_input.content_length = wsgi_input.position
        if self.environ.get("wsgi.input") is rfile:  # a GET: the reader itself
            self.environ["wsgi.input"] = empty
        return self.socket


class HubbubHandler(SocketHandoff, pywsgi.WSGIHandler):  # type: ignore[misc]
    """gevent's pywsgi handler with the socket handoff."""


#: gevent's pywsgi server, which gevent-socketio's SocketIOServer extends
WSGIServer = pywsgi.WSGIServer

# connections waiting to be accepted: a burst of clients connecting at once
# is queued by the kernel instead of refused or retried
BACKLOG = 2048


class HubbubServer(pywsgi.WSGIServer):  # type: ignore[misc]
    """pywsgi's server, with Socket.IO requests on hubbub's short path
    (runtime/gevent/connection.py) and every other request on pywsgi's
    handler with the socket handoff. In views mode (the app's views call
    socketio_manage, with the whole WSGI environ) every request is pywsgi's."""

    limits: ServerLimits
    # the client connections being served, until a websocket's goes to the
    # hub (WSGIApp.websockets): what cut_connections cuts
    live_sockets: set[Any]

    def handle(self, sock: Any, address: Any) -> None:
        live = self.live_sockets
        live.add(sock)
        try:
            self._serve(sock, address)
        except FAILURES as exc:
            connection_failed(address, exc)
        finally:
            live.discard(sock)

    def _serve(self, sock: Any, address: Any) -> None:
        wsgi = self.application
        # On pywsgi's handler every socket wait (a send to a client that does
        # not read, above all) is limited to the keep-alive time; its request
        # heads and WSGIApp's bodies have shorter limits of their own.
        if not isinstance(wsgi, WSGIApp) or wsgi.socketio_views:
            sock.settimeout(self.limits.keep_alive_timeout)
            self.handler_class(sock, address, self).handle()
            return

        def hand_over(received: bytes) -> None:
            sock.settimeout(self.limits.keep_alive_timeout)
            self.handler_class(sock, address, self, _replaying(received, sock)).handle()

        serve_connection(wsgi, self.limits, sock, address, self.get_environ, hand_over)


def connection_failed(address: Any, exc: BaseException) -> None:
    """Log what ended a connection's greenlet (the server's ``handle``),
    which gevent's hub would print to stderr. The handler deals with the
    errors of a request; what gets this far is above all an error response
    sent to a client already gone."""
    if isinstance(exc, (ConnectionError, TimeoutError)):
        # a reset, a closed connection or a client that stopped reading: its doing
        log.info("%s: connection lost: %s", address, exc)
    else:
        log.error("%s: connection failed", address, exc_info=exc)


def as_wsgi_app(app: Any, **options: Any) -> WSGIApp:
    """A WSGIApp for a hubbub Server, a WSGIApp (as is) or a plain WSGI app
    (views mode: its views call socketio_manage)."""
    if isinstance(app, WSGIApp):
        return app
    if is_server(app):
        return WSGIApp(app, options.pop("wsgi_app", None))
    if callable(app):
        return WSGIApp(None, app, **options)
    raise TypeError(f"{app!r} is neither a hubbub server nor a WSGI app")


def make_server(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    log_requests: bool = False,
    limits: ServerLimits | None = None,
    listener: Any = None,
    **options: Any,
) -> HubbubServer:
    """hubbub's gevent server for ``app`` (not yet started), on ``(host,
    port)`` or on the listening socket ``listener``."""
    limits = limits or ServerLimits()
    wsgi = as_wsgi_app(app, **options)
    wsgi.body_timeout = limits.body_timeout
    # gevent takes a backlog only for a socket it makes itself
    backlog: dict[str, int] = {} if listener is not None else {"backlog": BACKLOG}
    server = HubbubServer(
        listener if listener is not None else (host, port),
        wsgi,
        **backlog,
        handler_class=HubbubHandler,
        log=_PywsgiLog() if log_requests else None,
        error_log=_PywsgiLog(logging.ERROR),
    )
    server.limits = limits
    server.live_sockets = set()
    return server


def serve(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    wsgi_app: Any = None,
    on_start: Callable[[pywsgi.WSGIServer], None] | None = None,
    on_stop: Callable[[], None] | None = None,
    signals: bool = True,
    **options: Any,
) -> None:
    """Serve until SIGINT/SIGTERM (``signals``, in the main thread only), or
    until ``server.hubbub_stop()`` is called from any thread, then close
    every session cleanly. ``on_start(server)`` runs once it listens;
    ``on_stop()`` once every session was told to close, in the hub (it may
    wait there, for the applications' views to finish)."""
    if wsgi_app is not None:
        options["wsgi_app"] = wsgi_app
    server = make_server(app, host, port, **options)
    wsgi: WSGIApp = server.application
    stop = gevent.event.Event()
    if signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            gevent.signal_handler(sig, stop.set)
    server.hubbub_stop = lambda: wsgi.runtime.call_soon_threadsafe(stop.set)
    server.start()
    log.info("hubbub (gevent) listening on http://%s:%d%s", host, server.server_port,
             wsgi.endpoint.path)
    if on_start is not None:
        on_start(server)
    stop.wait()
    log.info("shutting down")
    server.close()
    wsgi.endpoint.close_all("server shutting down")
    if on_stop is not None:
        on_stop()
    gevent.sleep(0.2)  # let the close packets go out
    server.stop(timeout=1)


def _replaying(received: bytes, sock: Any) -> Any:
    """The pywsgi handler's reader: the bytes the short path read, then the socket."""
    return io.BufferedReader(Replay(received, sock)) if received else None


def cut_connections(server: HubbubServer) -> None:
    """Stop accepting and cut every client connection, the websockets the
    hub serves included (a shutdown, no goodbye): the clients reconnect, to
    the other workers of a cluster."""
    server.close()
    wsgi: WSGIApp = server.application
    socks = [*server.live_sockets, *(link_io.sock for link_io in list(wsgi.websockets))]
    log.info("cutting %d connections", len(socks))
    for sock in socks:
        # a connection's socket already handed to the hub is detached: no error
        with contextlib.suppress(OSError):
            sock.shutdown(stdlib_socket.SHUT_RDWR)


class _PywsgiLog:
    """pywsgi writes to a file-like log; send it to logging instead."""

    def __init__(self, level: int = logging.INFO) -> None:
        self.level = level
        self.log = logging.getLogger("hubbub.wsgi")

    def write(self, msg: str) -> None:
        msg = msg.rstrip()
        if msg:
            self.log.log(self.level, "%s", msg)

    def flush(self) -> None:
        pass
