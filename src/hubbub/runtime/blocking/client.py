"""The blocking client, :class:`hubbub.Client`: the client core on a driver
of standard-library sockets, TLS and threads.

Each HTTP request runs in a thread of its own (keep-alive connections are
reused), each websocket has a reader and a writer thread; they hand what
they read to the core under the client's lock. Under gevent, after
``gevent.monkey.patch_all()``, the same code runs on greenlets and
cooperative sockets: nothing here imports gevent.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from hubbub.client.core import ClientBase
from hubbub.client.http1 import (
    HttpError,
    Origin,
    ResponseParser,
    Route,
    closes,
    route,
    tls_context,
)
from hubbub.runtime.blocking.core import ThreadRuntime
from hubbub.runtime.contract import (
    ClientResponse,
    ClientSocketListener,
    HttpDone,
    Waiter,
)
from hubbub.websocket.client import ClientWebSocket
from hubbub.websocket.frames import WebSocketError

log = logging.getLogger("hubbub.client")

__all__ = ["BlockingDriver", "Client"]

_READ = 65536


class _Cancel:
    """A request's handle: cancelling it drops its answer and closes its socket."""

    __slots__ = ("cancelled", "sock")

    def __init__(self) -> None:
        self.cancelled = False
        self.sock: socket.socket | None = None

    def cancel(self) -> None:
        self.cancelled = True
        sock = self.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def _read_until(sock: socket.socket, parser: ResponseParser) -> Any:
    while True:
        data = sock.recv(_READ)
        if not data:
            return parser.eof()
        response = parser.feed(data)
        if response is not None:
            return response


class BlockingDriver:
    """The ClientDriver on blocking sockets and threads."""

    def __init__(self, client: ClientBase) -> None:
        self.client = client
        self.lock = threading.RLock()
        self.runtime = ThreadRuntime(self.lock)
        self._idle: dict[Origin, list[socket.socket]] = {}
        self._idle_lock = threading.Lock()
        self._generation = 0  # forget() counts; a request keeps its connection only within one

    def current(self) -> bool:
        return True

    # -- sockets ---------------------------------------------------------------------

    def _dial(self, way: Route, timeout: float | None) -> socket.socket:
        dial = way.dial
        sock = socket.create_connection((dial.host, dial.port), timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if way.proxied and dial.tls:
                sock = tls_context(None, True).wrap_socket(sock, server_hostname=dial.host)
            if way.tunnel is not None:
                sock.sendall(way.tunnel)
                answer = _read_until(sock, ResponseParser("CONNECT", head_only=True))
                if answer.status != 200:
                    raise HttpError(f"the proxy refused the tunnel: HTTP {answer.status}")
            if way.origin.tls:
                context = tls_context(self.client.ssl, self.client.ssl_verify)
                sock = context.wrap_socket(sock, server_hostname=way.origin.host)
        except BaseException:
            sock.close()
            raise
        return sock

    def _take_idle(self, way: Route) -> socket.socket | None:
        if way.proxied:
            return None
        with self._idle_lock:
            pool = self._idle.get(way.origin)
            return pool.pop() if pool else None

    def _put_idle(self, way: Route, sock: socket.socket, generation: int) -> None:
        with self._idle_lock:
            pool = self._idle.setdefault(way.origin, [])
            if len(pool) < 4 and generation == self._generation:
                pool.append(sock)
                return
        sock.close()

    # -- HTTP ------------------------------------------------------------------------------

    def http(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes,
             timeout: float | None, done: HttpDone) -> _Cancel:
        handle = _Cancel()
        thread = threading.Thread(
            target=self._request, args=(method, url, headers, body, timeout, done, handle),
            name="hubbub-client-http", daemon=True,
        )
        thread.start()
        return handle

    def _request(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes,
                 timeout: float | None, done: HttpDone, handle: _Cancel) -> None:
        answer: ClientResponse | str
        try:
            way = route(url)
            raw = way.request(method, headers, body)
            answer = self._exchange(way, raw, method, timeout, handle, not closes(headers))
        except (OSError, HttpError, ValueError, ssl.SSLError) as exc:
            answer = str(exc) or type(exc).__name__
        if handle.cancelled:
            return
        with self.lock:
            if not handle.cancelled:
                done(answer)

    def _exchange(self, way: Route, raw: bytes, method: str, timeout: float | None,
                  handle: _Cancel, reusable: bool) -> ClientResponse:
        generation = self._generation
        reused = self._take_idle(way)
        for sock in ([reused] if reused is not None else []) + [None]:
            fresh = sock is None
            if sock is None:
                sock = self._dial(way, timeout)
            handle.sock = sock
            try:
                sock.settimeout(timeout)
                sock.sendall(raw)
                response = _read_until(sock, ResponseParser(method))
            except (OSError, HttpError):
                sock.close()
                if fresh or handle.cancelled:
                    raise
                continue  # a kept-alive connection the server had closed: once more
            handle.sock = None
            # not kept past forget(): the connections of a session that ended
            if response.keep_alive and reusable and not way.proxied and not handle.cancelled:
                self._put_idle(way, sock, generation)
            else:
                sock.close()
            return ClientResponse(response.status, response.headers, response.body)
        raise HttpError("unreachable")  # pragma: no cover

    # -- websockets ------------------------------------------------------------------------

    def websocket(self, url: str, headers: list[tuple[str, str]],
                  listener: ClientSocketListener, timeout: float | None) -> _BlockingSocket:
        ws = _BlockingSocket(self, url, headers, listener, timeout)
        ws.start()
        return ws

    def forget(self) -> None:
        with self._idle_lock:
            self._generation += 1
            idle, self._idle = self._idle, {}
        for pool in idle.values():
            for sock in pool:
                sock.close()

    # -- waiting ---------------------------------------------------------------------------

    def wait(self, waiter: Waiter, timeout: float | None) -> Any:
        return waiter.wait(timeout)

    def ready(self, value: Any) -> Any:
        return value

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def locked(self) -> threading.RLock:
        return self.lock


class _BlockingSocket:
    """A client websocket on a blocking socket: a reader thread, a writer thread."""

    def __init__(self, driver: BlockingDriver, url: str, headers: list[tuple[str, str]],
                 listener: ClientSocketListener, timeout: float | None) -> None:
        self.driver = driver
        self.url = url
        self.headers = headers
        self.listener = listener
        self.timeout = timeout
        self._out: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        self._sock: socket.socket | None = None
        self._ws: ClientWebSocket | None = None
        self._closing = False
        self._reported = False

    def start(self) -> None:
        threading.Thread(target=self._read, name="hubbub-client-ws", daemon=True).start()

    def send(self, data: str | bytes) -> None:
        ws = self._ws
        if ws is not None and not self._closing:
            self._out.put(ws.message(data))

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        ws, sock = self._ws, self._sock
        if ws is not None and ws.open:
            self._out.put(ws.close())
        elif sock is not None:
            with contextlib.suppress(OSError):  # a handshake under way: abort it
                sock.shutdown(socket.SHUT_RDWR)
        self._out.put(None)

    def _report(self, fn: Callable[[], None]) -> None:
        with self.driver.lock:
            if not self._reported:
                fn()

    def _closed(self, error: str | None) -> None:
        with self.driver.lock:
            if not self._reported:
                self._reported = True
                self.listener.ws_closed(error)

    def _read(self) -> None:
        error: str | None = None
        sock: socket.socket | None = None
        writing = False  # the writer thread owns the socket (and closes it)
        try:
            way = route(self.url)
            ws = ClientWebSocket(way.origin.host_header, way.target, self.headers)
            sock = self._sock = self.driver._dial(way, self.timeout)
            sock.settimeout(self.timeout)
            sock.sendall(ws.handshake())
            while not ws.open:
                data = sock.recv(_READ)
                if not data:
                    raise HttpError("connection closed during the websocket handshake")
                messages = ws.feed(data)
            sock.settimeout(None)
            self._ws = ws
            if self._closing:
                return
            threading.Thread(target=self._write, args=(sock,), name="hubbub-client-ws-out",
                             daemon=True).start()
            writing = True
            headers = [(k, v) for k, values in ws.response_headers.items() for v in values]
            self._report(lambda: self.listener.ws_opened(headers))
            self._deliver(messages)
            while not ws.closed:
                data = sock.recv(_READ)
                if not data:
                    break
                messages = ws.feed(data)
                pending = ws.take_output()
                if pending:
                    self._out.put(pending)
                self._deliver(messages)
        except (OSError, HttpError, WebSocketError, ValueError, ssl.SSLError) as exc:
            if not self._closing:
                error = str(exc) or type(exc).__name__
        finally:
            self._out.put(None)
            if not writing and sock is not None:
                sock.close()
            self._closed(error)

    def _deliver(self, messages: list[str | bytes]) -> None:
        for message in messages:
            self._report(lambda m=message: self.listener.ws_message(m))  # type: ignore[misc]

    def _write(self, sock: socket.socket) -> None:
        try:
            while True:
                chunk = self._out.get()
                if chunk is None:
                    break
                if chunk:
                    sock.sendall(chunk)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


class Client(ClientBase):
    """The blocking Socket.IO client: calls that wait block the calling
    thread (or greenlet, under gevent once monkey-patched). Handlers are
    plain functions run one at a time, in order, on a handler thread; see
    :class:`hubbub.client.core.ClientBase` for the API and options."""

    def _make_driver(self) -> BlockingDriver:
        return BlockingDriver(self)

    def _check_handler(self, fn: Callable[..., Any]) -> None:
        self.driver.runtime.check_handler(fn)
