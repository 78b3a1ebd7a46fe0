"""``hubbub.WSGIApp``: the same sessions under a WSGI server, in greenlets.

Requests under the Socket.IO path go to the hubbub server; every other
request to the wrapped WSGI app (Flask, Django, Pyramid, ...). Long-polling
GETs are held in their request greenlet. A websocket upgrade takes over the
raw socket (hubbub's own frame codec; no gevent-websocket), which needs
hubbub's gevent server, gunicorn worker or paste server: they put the socket
in the environ. Under another WSGI server, clients stay on long-polling.

Views mode (``WSGIApp(None, app)``, or ``socketio_views=True``): when a
connection opens, the wrapped app is called once with its environ so that a
framework view can call :func:`hubbub.socketio_manage`, as with
gevent-socketio; and, as there, a request under the path that is no
Socket.IO request (no ``EIO=``, not a 0.9 URL) goes to the app.
"""

from __future__ import annotations

import contextlib
import io
import logging
import socket as stdlib_socket
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import gevent

from hubbub.http import REASONS, HttpRequest, HttpResponse, native_environ
from hubbub.runtime.contract import Endpoint, PollHold, StreamHold, WebSocketAccept, endpoint_of
from hubbub.runtime.gevent.core import (
    FAILURES,
    GeventHost,
    GeventRuntime,
    SocketLinkIO,
    runtime_for,
)
from hubbub.runtime.mesh import WorkerMesh
from hubbub.socketio.views import ENVIRON_KEY, ViewBinding
from hubbub.websocket.frames import WebSocketError
from hubbub.websocket.link import accept_websocket

log = logging.getLogger("hubbub.wsgi")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIAppType = Callable[[Environ, StartResponse], Iterable[bytes]]

# put in the environ by hubbub's pywsgi handler (runtime/gevent/server.py):
# a function handing over the raw socket; the handler then writes nothing
TAKE_SOCKET = "hubbub.take_socket"
# hubbub's gevent server also gives the connection's socket, which a held GET
# watches for the client closing it (taken out of the environ at once: an
# environ may outlive its request, and must not keep the socket)
CONNECTION_SOCKET = "hubbub.connection_socket"


def request_from_environ(environ: Environ, body_limit: int) -> HttpRequest:
    """The core's view of a WSGI request; the body is read up to the limit."""
    req = request_head(environ)
    req.body, req.body_too_large = _read_body(environ, body_limit)
    return req


def request_head(environ: Environ) -> HttpRequest:
    """The core's view of a WSGI request, its body not read yet."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            headers[key[5:].replace("_", "-").lower()] = value
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = environ["CONTENT_TYPE"]
    if environ.get("CONTENT_LENGTH"):
        headers["content-length"] = environ["CONTENT_LENGTH"]
    return HttpRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        path=environ.get("PATH_INFO", "/") or "/",
        query_string=environ.get("QUERY_STRING", ""),
        headers=headers,
        remote_addr=environ.get("REMOTE_ADDR"),
        secure=environ.get("wsgi.url_scheme") == "https",
        native=environ,
    )


def _read_body(environ: Environ, limit: int) -> tuple[bytes, bool]:
    if environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
        return b"", False
    stream = environ.get("wsgi.input")
    if stream is None:
        return b"", False
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    if length > limit:
        return b"", True
    if length >= 0:
        return stream.read(length), False
    # chunked (or unknown length): read to the end, but never past the limit
    data = stream.read(limit + 1)
    if len(data) > limit:
        return b"", True
    return bytes(data), False


_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    b"Content-Length: 15\r\n\r\nRequest Timeout"
)


class _BodyTimeout(Exception):
    """A request body did not come in time (raised by a gevent.Timeout)."""


def _status_line(status: int) -> str:
    return f"{status} {REASONS.get(status, 'Unknown')}"


class ClientWait:
    """One greenlet's wait for a wake-up (:meth:`wake`, from anywhere on its
    hub), or, given the connection's gevent ``sock``, for the client closing
    that connection first: :meth:`wait` says which (True: woken).

    The wake is a bare hub callback that switches back in, which is what an
    ``Event`` does at several times the cost (an object with its links, the
    notifier's pass over them). The first outcome wins; a greenlet that died
    meanwhile (killed at shutdown) is not switched to."""

    __slots__ = ("greenlet", "hub", "loop", "outcome", "raw", "watcher")

    def __init__(self, hub: Any, sock: Any = None) -> None:
        self.greenlet = gevent.getcurrent()
        self.hub = hub
        self.loop = hub.loop
        self.outcome: bool | None = None
        self.raw = sock._sock if sock is not None else None  # non-blocking, under gevent's
        self.watcher: Any = None

    def wake(self) -> None:
        self._settle(True)

    def wait(self) -> bool:
        raw = self.raw
        if raw is not None:
            self.watcher = self.loop.io(raw.fileno(), 1)
            self.watcher.start(self._readable)
        try:
            self.hub.switch()
        finally:
            watcher, self.watcher = self.watcher, None
            if watcher is not None:
                watcher.stop()
                watcher.close()
        return bool(self.outcome)

    def _settle(self, woken: bool) -> None:
        if self.outcome is None:
            self.outcome = woken
            self.loop.run_callback(_resume, self.greenlet)

    def _readable(self) -> None:
        assert self.raw is not None
        try:
            peeked = self.raw.recv(1, stdlib_socket.MSG_PEEK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            peeked = b""
        if not peeked:
            self._settle(False)
        elif self.watcher is not None:
            # the client sent more (a pipelined request): it is read after
            # this answer, and only a wake ends the wait now
            self.watcher.stop()


def _resume(waiting: Any) -> None:
    if not waiting.dead:
        waiting.switch()


def wait_for_wake(host: GeventHost, sock: Any = None) -> bool:
    """Block this greenlet until the session's host wakes it (a held GET):
    True. With the connection's gevent ``sock``, False as soon as the client
    closes it first (the caller then aborts the hold, and the session ends at
    once as Node's does, not at its heartbeat). The host calls a waiter at
    most once (``TimerHost.wake`` clears it first)."""
    waiting = ClientWait(host.hub, sock)
    wake = waiting.wake
    host.waiter = wake
    try:
        return waiting.wait()
    finally:
        if host.waiter == wake:  # left before the wake (closed, or killed)
            host.waiter = None


class WSGIApp:
    """Serve a hubbub server under WSGI (gevent), beside another WSGI app.

    ``WSGIApp(sio, flask_app)``: Socket.IO requests to ``sio``, the rest to
    the Flask app. ``WSGIApp(None, app)``: gevent-socketio's style, where the
    app's views call :func:`hubbub.socketio_manage` (``resource`` names the
    path, ``socket.io`` by default).
    """

    def __init__(
        self,
        sio: Any = None,
        wsgi_app: WSGIAppType | None = None,
        *,
        resource: str = "socket.io",
        socketio_views: bool | None = None,
        websocket_close_timeout: float = 5.0,
        body_timeout: float = 60.0,
        **server_options: Any,
    ) -> None:
        created = sio is None
        if created:
            from hubbub.socketio.server import Server

            sio = Server(path="/" + resource.strip("/") + "/", **server_options)
        elif server_options:
            raise TypeError("server options go to hubbub.Server when you pass a server")
        self.server = sio
        self.endpoint: Endpoint = endpoint_of(sio)
        self.wsgi_app = wsgi_app
        self.websocket_close_timeout = websocket_close_timeout
        # how long a request's body may take to arrive (slow POSTs)
        self.body_timeout = body_timeout
        views = created if socketio_views is None else socketio_views
        self.socketio_views = views and wsgi_app is not None
        if self.socketio_views and not hasattr(sio, "client_hook"):
            raise TypeError("socketio_manage views need a hubbub.Server, not an EngineIOServer")
        # attach now: handlers registered so far are checked (async def is
        # refused), and the ones registered later are checked as they come
        self.runtime: GeventRuntime = runtime_for(self.endpoint)
        # set in a worker of several: requests for other workers' sessions
        self.router: WorkerMesh | None = None
        # the websockets served from the hub, which no server connection
        # tracks any more: what cut_connections cuts besides its own
        self.websockets: weakref.WeakSet[SocketLinkIO] = weakref.WeakSet()
        if self.socketio_views:
            sio.client_hook = self._bind_view

    # -- WSGI ------------------------------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        sock = environ.pop(CONNECTION_SOCKET, None)
        path = environ.get("PATH_INFO", "")
        if not self.endpoint.serves(path):
            if self.wsgi_app is not None:
                return self.wsgi_app(environ, start_response)
            return _respond(start_response, HttpResponse(404, [("Content-Type", "text/plain")],
                                                         b"Not Found"))
        req = request_head(environ)
        app = self.wsgi_app
        if self.socketio_views and app is not None and not self.endpoint.claims(req):
            # gevent-socketio's routing: under the resource, what is not a
            # Socket.IO request is the app's (a page of the controller there)
            return app(environ, start_response)
        try:
            with gevent.Timeout(self.body_timeout, _BodyTimeout()):
                req.body, req.body_too_large = _read_body(environ, self.endpoint.max_message_size)
        except _BodyTimeout:
            log.info("%s: request body not complete in time; closing", environ.get("REMOTE_ADDR"))
            take = environ.get(TAKE_SOCKET)
            if take is None:  # another WSGI server: it reads out the rest
                return _respond(start_response, HttpResponse(
                    408, [("Content-Type", "text/plain"), ("Connection", "close")],
                    b"Request Timeout",
                ))
            # the server would read out the rest of the body before closing:
            # answer on the socket itself and drop it
            sock = take()
            with contextlib.suppress(OSError):
                sock.sendall(_TIMEOUT_RESPONSE)
                sock.shutdown(stdlib_socket.SHUT_RDWR)
            return []
        router = self.router
        if router is not None:
            owner = self.owner_elsewhere(req)
            if owner is not None:
                return self._route(router, owner, environ, req, start_response, sock)
        result = self.endpoint.handle_request(req, self.runtime.clock())
        if isinstance(result, HttpResponse):
            if req.is_websocket_upgrade:
                # a refused upgrade: the client may already send frames after it
                result.headers.append(("Connection", "close"))
            return _respond(start_response, result)
        if isinstance(result, PollHold):
            return _respond(start_response, self._hold(result, sock))
        if isinstance(result, StreamHold):
            head = result.head
            start_response(_status_line(head.status), head.headers)
            return self._stream(result, sock)
        return self._websocket(environ, req, result, start_response)

    def owner_elsewhere(self, req: HttpRequest) -> int | None:
        """The worker that owns ``req``'s session when it is another live
        worker of this one's cluster, else None (this worker answers)."""
        router = self.router
        if router is None:
            return None
        owner = self.endpoint.session_owner(req)
        if owner is None or owner == router.index or not router.reachable(owner):
            return None
        return owner

    def _route(
        self, router: WorkerMesh, owner: int, environ: Environ, req: HttpRequest,
        start_response: StartResponse, sock: Any = None,
    ) -> Iterable[bytes]:
        """A request for worker ``owner``'s session: an upgrade or a stream's
        GET is handed over with its connection, any other request forwarded
        and its answer awaited."""
        take = environ.get(TAKE_SOCKET)
        if (req.is_websocket_upgrade or self.endpoint.streams(req)) and take is not None:
            taken = take()
            if not router.hand_over(owner, req, b"", taken.fileno()):
                taken.close()
            return []  # pywsgi closes its copy of the connection (no shutdown)
        waiting = ClientWait(gevent.get_hub(), sock)
        answers: list[HttpResponse] = []

        def done(response: HttpResponse) -> None:
            answers.append(response)
            waiting.wake()

        forward = router.forward(owner, req, done)
        if forward is None:
            response = self.endpoint.handle_request(req, self.runtime.clock())
            if not isinstance(response, HttpResponse):
                response = HttpResponse(400, [], b"Bad Request")
            return _respond(start_response, response)
        try:
            answered = waiting.wait()
        except BaseException:
            router.abandon(forward)
            raise
        if not answered:
            # the client closed the connection: the owner lets go of the
            # request (a held poll is aborted, its session ends at once)
            router.abandon(forward)
            return _respond(start_response, HttpResponse(400, [("Connection", "close")], b""))
        return _respond(start_response, answers[0])

    def adopt_connection(self, sock: Any, req: HttpRequest, received: bytes = b"") -> None:
        """Answer a request another worker handed over with its connection (a
        websocket upgrade or a stream's GET; ``sock`` a gevent socket,
        ``received`` what the client sent after the request), in a greenlet
        of its own."""
        result = self.endpoint.handle_request(req, self.runtime.clock())
        if isinstance(result, WebSocketAccept):
            self.serve_websocket(sock, req, result, received)
            return
        if isinstance(result, StreamHold):
            self._stream_on(sock, result)
            return
        response = result if isinstance(result, HttpResponse) else HttpResponse(400, [], b"")
        head = (f"HTTP/1.1 {_status_line(response.status)}\r\n"
                + "".join(f"{k}: {v}\r\n" for k, v in response.headers)
                + f"Content-Length: {len(response.body)}\r\nConnection: close\r\n\r\n")
        with contextlib.suppress(OSError):
            sock.sendall(head.encode("latin-1") + response.body)
        sock.close()

    def _stream_on(self, sock: Any, hold: StreamHold) -> None:
        """A stream written on a raw connection, chunked, then closed."""
        head = hold.head
        lines = "".join(f"{k}: {v}\r\n" for k, v in head.headers)
        start = (f"HTTP/1.1 {_status_line(head.status)}\r\n{lines}"
                 "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        try:
            sock.sendall(start.encode("latin-1"))
            for chunk in self._stream(hold):
                if chunk:
                    sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sock.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the client went away: the generator told the session
        finally:
            sock.close()

    def _stream(self, hold: StreamHold, sock: Any = None) -> Iterator[bytes]:
        """A 0.9 htmlfile GET: pywsgi sends the body chunked, a chunk per
        wake-up; when the client is gone, writing fails and pywsgi closes
        this generator."""
        host = hold.session.host
        assert isinstance(host, GeventHost)
        finished = False
        try:
            yield hold.head.body
            while True:
                if not wait_for_wake(host, sock):
                    return  # the client closed the connection
                chunk, finished = hold.more(self.runtime.clock())
                if chunk:
                    yield chunk
                if finished:
                    return
        finally:
            if not finished:
                host.waiter = None
                hold.aborted(self.runtime.clock())

    def _hold(self, hold: PollHold, sock: Any = None) -> HttpResponse:
        host = hold.session.host
        assert isinstance(host, GeventHost)
        if not wait_for_wake(host, sock):
            # the client closed the connection: nobody reads this answer
            hold.aborted(self.runtime.clock())
            return HttpResponse(400, [("Connection", "close")], b"")
        return hold.finish(self.runtime.clock())

    def _websocket(
        self, environ: Environ, req: HttpRequest, accept: WebSocketAccept,
        start_response: StartResponse,
    ) -> Iterable[bytes]:
        take = environ.get(TAKE_SOCKET)
        if take is None:
            log.info("websocket refused: this WSGI server does not hand over its socket "
                     "(serve with hubbub's gevent server, gunicorn worker or paste server)")
            return _respond(start_response, HttpResponse(400, [("Content-Type", "text/plain")],
                                                         b"websocket not available here"))
        self.serve_websocket(take(), req, accept)
        return []

    def serve_websocket(
        self, sock: Any, req: HttpRequest, accept: WebSocketAccept, received: bytes = b""
    ) -> None:
        """Complete the handshake on ``sock`` (a gevent socket) and serve the
        websocket from the hub, which owns the socket from here on
        (``received``: what the client sent after its request)."""
        clock = self.runtime.clock
        raw = stdlib_socket.socket(sock.family, sock.type, sock.proto, fileno=sock.detach())
        raw.setblocking(False)
        # the hub of the thread serving this connection, which owns the socket
        link_io = SocketLinkIO(raw, self.websocket_close_timeout, gevent.get_hub())
        self.websockets.add(link_io)
        try:
            handshake = accept_websocket(self.endpoint, req, accept, link_io, clock,
                                         req.remote_addr)
        except WebSocketError as exc:
            log.info("%s: bad websocket handshake (%s)", req.remote_addr, exc)
            body = str(exc).encode()
            head = (f"HTTP/1.1 {_status_line(exc.http_status)}\r\nContent-Type: text/plain\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
            link_io.write(head + body)
            link_io.close(graceful=False)
            return
        link = handshake.link
        link_io.write_now(handshake.response)
        if link.open():
            req.release()
            link_io.start(link, received)
        else:
            link.lost()
            link_io.close(graceful=False)

    # -- views mode --------------------------------------------------------------------

    def _bind_view(self, client: Any) -> None:
        environ = native_environ(client.request)
        if environ is None or self.wsgi_app is None:
            return
        binding = ViewBinding(client, environ)
        client.view = binding
        view_environ = dict(environ)
        view_environ[ENVIRON_KEY] = binding
        view_environ["wsgi.input"] = io.BytesIO(b"")
        view_environ["CONTENT_LENGTH"] = "0"
        view_environ.pop(TAKE_SOCKET, None)
        # the view is not answering an upgrade (frameworks route websocket
        # upgrades to websocket-only rules): show it a plain GET
        view_environ.pop("HTTP_UPGRADE", None)
        view_environ.pop("HTTP_CONNECTION", None)
        gevent.spawn(self._run_view, binding, view_environ)

    def _run_view(self, binding: ViewBinding, environ: Environ) -> None:
        assert self.wsgi_app is not None
        try:
            result = self.wsgi_app(environ, _discard_start_response)
            try:
                for _ in result:
                    pass
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()
        except FAILURES:
            log.exception("the view for %s raised", environ.get("PATH_INFO"))
        finally:
            if not binding.settled:
                log.debug("%s: the view did not call socketio_manage; the server's own "
                          "namespaces serve this connection", environ.get("PATH_INFO"))
            binding.settle()


def _discard_start_response(status: str, headers: list[Any], exc_info: Any = None) -> Any:
    return lambda data: None


def _respond(start_response: StartResponse, response: HttpResponse) -> list[bytes]:
    headers = [*response.headers, ("Content-Length", str(len(response.body)))]
    start_response(_status_line(response.status), headers)
    return [response.body]
