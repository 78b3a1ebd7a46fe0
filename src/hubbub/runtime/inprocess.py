"""A client driver that talks to a hubbub server in the same process, with
no network: the websocket is virtual (the server's endpoint accepts it and
its session is fed directly). It runs on the server's own runtime, asyncio
(the running loop) or gevent (the hub), so :class:`hubbub.testing.TestClient`
works on both: calls that wait return awaitables on asyncio and block the
calling greenlet under gevent.

Messages in either direction are delivered at once, inside the call that
sent them (a test sees a server's emit as soon as it returns); the opening
and the client's close wait for the next turn, so that neither runs inside
a call of the side that caused it.
"""

from __future__ import annotations

import contextlib
from collections import deque
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from hubbub.engineio.outgoing import OutPacket
from hubbub.http import HttpRequest
from hubbub.runtime.contract import (
    ClientSocketListener,
    Endpoint,
    HttpDone,
    Runtime,
    TimerHandle,
    Waiter,
    WebSocketAccept,
    WebSocketSession,
)

__all__ = ["InProcessDriver", "server_runtime"]


def server_runtime(endpoint: Endpoint) -> Runtime:
    """The server's runtime for a client made now: asyncio's when a loop
    runs, gevent's otherwise."""
    import asyncio

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        from hubbub.runtime.gevent.core import runtime_for as gevent_runtime

        return gevent_runtime(endpoint)
    from hubbub.runtime.asyncio.core import runtime_for

    return runtime_for(endpoint)


class _Pipe:
    """Delivers calls in order on the next turns of the runtime."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._queue: deque[Callable[[], None]] = deque()
        self._scheduled = False

    def put(self, fn: Callable[[], None]) -> None:
        self._queue.append(fn)
        if not self._scheduled:
            self._scheduled = True
            self.runtime.call_later(0, self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        while self._queue:
            self._queue.popleft()()


class _Peer:
    """The server's end of a virtual websocket (a WebSocketPeer)."""

    sink = None  # no frames: packets go through send
    shared_sink = None

    def __init__(self, ws: _VirtualSocket) -> None:
        self.ws = ws

    def send(self, packet: OutPacket) -> None:
        ws = self.ws
        if not ws.closed:
            ws.listener.ws_message(packet.ws_message(ws.version))

    def close(self, code: int = 1000) -> None:
        ws = self.ws
        if not ws.closed:
            ws.closed = True
            ws.report_closed()

    def buffered_bytes(self) -> int:
        return 0


class _VirtualSocket:
    """The client's end of a virtual websocket (a ClientSocket)."""

    def __init__(self, driver: InProcessDriver, listener: ClientSocketListener) -> None:
        self.driver = driver
        self.listener = listener
        self.peer = _Peer(self)
        self.session: WebSocketSession | None = None
        self.version = 4
        self.closed = False
        self._reported = False
        self._early: list[str | bytes] = []  # sent while the server's session opens

    def opened(self, session: WebSocketSession) -> None:
        self.session = session
        early, self._early = self._early, []
        for data in early:
            self.send(data)

    def send(self, data: str | bytes) -> None:
        session = self.session
        if self.closed:
            return
        if session is None:
            self._early.append(data)
            return
        session.on_ws_message(self.peer, data, self.driver.runtime.clock())

    def close(self) -> None:
        """The client goes: the server sees the connection end on the next
        turn (never inside the server's own call that made the client go),
        and then the client."""
        if self.closed:
            return
        self.closed = True
        session = self.session
        if session is not None:
            self.driver.pipe.put(
                lambda: session.on_ws_closed(self.peer, self.driver.runtime.clock())
            )
        self.driver.pipe.put(self.report_closed)

    def report_closed(self) -> None:
        if not self._reported:
            self._reported = True
            self.listener.ws_closed(None)


class InProcessDriver:
    """The ClientDriver of a client of a server in this process."""

    def __init__(self, endpoint: Endpoint, headers: dict[str, str] | None = None) -> None:
        self.endpoint = endpoint
        self.runtime = server_runtime(endpoint)
        self.pipe = _Pipe(self.runtime)
        self.headers = {k.lower(): v for k, v in (headers or {}).items()}
        self._asyncio = self.runtime.name == "asyncio"
        self._loop: Any = getattr(self.runtime, "loop", None)
        self.last: _VirtualSocket | None = None  # the latest websocket

    def current(self) -> bool:
        if not self._asyncio:
            return True
        import asyncio

        try:
            return asyncio.get_running_loop() is self._loop
        except RuntimeError:
            return False

    def http(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes,
             timeout: float | None, done: HttpDone) -> TimerHandle:
        return self.runtime.call_later(0, lambda: done("in-process clients use websockets"))

    def websocket(self, url: str, headers: list[tuple[str, str]],
                  listener: ClientSocketListener, timeout: float | None) -> _VirtualSocket:
        ws = _VirtualSocket(self, listener)
        parts = urlsplit(url)
        request = HttpRequest(
            method="GET", path=parts.path, query_string=parts.query,
            headers={"upgrade": "websocket", "connection": "Upgrade",
                     **{k.lower(): v for k, v in headers}, **self.headers},
            remote_addr="127.0.0.1",
        )

        def open_() -> None:
            answer = self.endpoint.handle_request(request, self.runtime.clock())
            if not isinstance(answer, WebSocketAccept):
                ws.closed = ws._reported = True
                listener.ws_closed(f"refused: HTTP {getattr(answer, 'status', '?')}")
                return
            ws.version = answer.version
            self.last = ws
            listener.ws_opened([])
            session = answer.open(ws.peer, self.runtime.clock())
            if session is None:
                ws.peer.close()
            else:
                ws.opened(session)

        self.pipe.put(open_)
        return ws

    def forget(self) -> None:
        pass  # no HTTP connections

    def wait(self, waiter: Waiter, timeout: float | None) -> Any:
        return waiter.wait(timeout)

    def ready(self, value: Any) -> Any:
        if self._asyncio:
            future = self._loop.create_future()
            future.set_result(value)
            return future
        return value

    def sleep(self, seconds: float) -> Any:
        if self._asyncio:
            import asyncio

            return asyncio.sleep(seconds)
        import gevent

        gevent.sleep(seconds)
        return None

    def locked(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()
