"""The asyncio client, :class:`hubbub.AsyncClient`: the client core on a
driver of asyncio streams.

Each HTTP request is a task (keep-alive connections are reused), each
websocket a reader task with writes straight to its transport. Everything
runs on the loop the client connected on, so the core sees one call at a
time without a lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
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
from hubbub.runtime.asyncio.core import AsyncioRuntime
from hubbub.runtime.contract import ClientResponse, ClientSocketListener, HttpDone, Waiter
from hubbub.websocket.client import ClientWebSocket
from hubbub.websocket.frames import WebSocketError

log = logging.getLogger("hubbub.client")

__all__ = ["AsyncClient", "AsyncioDriver"]

_READ = 65536
_FAILURES = (OSError, HttpError, WebSocketError, ValueError, ssl.SSLError, asyncio.TimeoutError)

Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _read_until(reader: asyncio.StreamReader, parser: ResponseParser) -> Any:
    while True:
        data = await reader.read(_READ)
        if not data:
            return parser.eof()
        response = parser.feed(data)
        if response is not None:
            return response


def _check_tunnel(answer: Any) -> None:
    if answer.status != 200:
        raise HttpError(f"the proxy refused the tunnel: HTTP {answer.status}")


async def _raw_connect(loop: asyncio.AbstractEventLoop, origin: Origin) -> socket.socket:
    """A connected non-blocking socket to ``origin`` (every address tried)."""
    error: OSError | None = None
    for family, kind, proto, _, address in await loop.getaddrinfo(
        origin.host, origin.port, type=socket.SOCK_STREAM
    ):
        sock = socket.socket(family, kind, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            error = exc
            continue
        return sock
    raise error or OSError(f"cannot reach {origin.host}:{origin.port}")


class _Task:
    """A request's handle: cancelling it cancels its task."""

    __slots__ = ("task",)

    def __init__(self, task: asyncio.Task[None]) -> None:
        self.task = task

    def cancel(self) -> None:
        self.task.cancel()


class AsyncioDriver:
    """The ClientDriver on the running asyncio loop."""

    def __init__(self, client: ClientBase) -> None:
        self.client = client
        self.loop = asyncio.get_running_loop()
        self.runtime = AsyncioRuntime(self.loop)
        self._idle: dict[Origin, list[Streams]] = {}
        self._generation = 0  # forget() counts; a request keeps its connection only within one

    def current(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    async def _dial(self, way: Route) -> Streams:
        """An open connection to the route's origin (through its proxy)."""
        dial = way.dial
        origin_tls = (
            tls_context(self.client.ssl, self.client.ssl_verify) if way.origin.tls else None
        )
        if not way.proxied:
            return await asyncio.open_connection(
                dial.host, dial.port, ssl=origin_tls,
                server_hostname=dial.host if origin_tls is not None else None,
            )
        proxy_tls = tls_context(None, True) if dial.tls else None
        if way.tunnel is None or origin_tls is None:
            # absolute-form requests, or a tunnel carrying plain bytes (ws://)
            reader, writer = await asyncio.open_connection(
                dial.host, dial.port, ssl=proxy_tls,
                server_hostname=dial.host if proxy_tls is not None else None,
            )
            if way.tunnel is not None:
                writer.write(way.tunnel)
                try:
                    _check_tunnel(
                        await _read_until(reader, ResponseParser("CONNECT", head_only=True))
                    )
                except BaseException:
                    writer.close()
                    raise
            return reader, writer
        # TLS to the origin inside the tunnel: the CONNECT on a plain socket,
        # then the TLS connection on that socket (route() refuses TLS in TLS)
        sock = await _raw_connect(self.loop, dial)
        try:
            await self.loop.sock_sendall(sock, way.tunnel)
            parser = ResponseParser("CONNECT", head_only=True)
            answer = None
            while answer is None:
                data = await self.loop.sock_recv(sock, _READ)
                if not data:
                    raise HttpError("the proxy closed the connection")
                answer = parser.feed(data)
            _check_tunnel(answer)
            return await asyncio.open_connection(
                sock=sock, ssl=origin_tls, server_hostname=way.origin.host
            )
        except BaseException:
            sock.close()
            raise

    # -- HTTP ------------------------------------------------------------------------------

    def http(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes,
             timeout: float | None, done: HttpDone) -> _Task:
        task = self.loop.create_task(self._request(method, url, headers, body, timeout, done))
        return _Task(task)

    async def _request(self, method: str, url: str, headers: list[tuple[str, str]],
                       body: bytes, timeout: float | None, done: HttpDone) -> None:
        answer: ClientResponse | str
        try:
            way = route(url)
            raw = way.request(method, headers, body)
            answer = await asyncio.wait_for(
                self._exchange(way, raw, method, not closes(headers)), timeout
            )
        except _FAILURES as exc:
            answer = str(exc) or type(exc).__name__
        done(answer)

    async def _exchange(self, way: Route, raw: bytes, method: str,
                        reusable: bool) -> ClientResponse:
        generation = self._generation
        pool = self._idle.get(way.origin) if not way.proxied else None
        reused = pool.pop() if pool else None
        for streams in ([reused] if reused is not None else []) + [None]:
            fresh = streams is None
            if streams is None:
                streams = await self._dial(way)
            reader, writer = streams
            try:
                writer.write(raw)
                response = await _read_until(reader, ResponseParser(method))
            except (OSError, HttpError):
                writer.close()
                if fresh:
                    raise
                continue
            except BaseException:
                writer.close()  # cancelled (a poll no longer wanted): the connection goes
                raise
            # not kept past forget(): the connections of a session that ended
            if (response.keep_alive and reusable and not way.proxied
                    and generation == self._generation):
                kept = self._idle.setdefault(way.origin, [])
                if len(kept) < 4:
                    kept.append(streams)
                else:
                    writer.close()
            else:
                writer.close()
            return ClientResponse(response.status, response.headers, response.body)
        raise HttpError("unreachable")  # pragma: no cover

    # -- websockets ------------------------------------------------------------------------

    def websocket(self, url: str, headers: list[tuple[str, str]],
                  listener: ClientSocketListener, timeout: float | None) -> _AsyncSocket:
        ws = _AsyncSocket(self, listener)
        ws.task = self.loop.create_task(ws.run(url, headers, timeout))
        return ws

    def forget(self) -> None:
        self._generation += 1
        idle, self._idle = self._idle, {}
        for pool in idle.values():
            for _, writer in pool:
                writer.close()

    # -- waiting ---------------------------------------------------------------------------

    def wait(self, waiter: Waiter, timeout: float | None) -> Any:
        return _wait(waiter, timeout)

    def ready(self, value: Any) -> asyncio.Future[Any]:
        future = self.loop.create_future()
        future.set_result(value)
        return future

    def sleep(self, seconds: float) -> Any:
        return asyncio.sleep(seconds)

    def locked(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()


async def _wait(waiter: Waiter, timeout: float | None) -> Any:
    if timeout is None:
        return await waiter.wait(None)  # a rejection (AckTimeoutError ...) as it is
    try:
        return await waiter.wait(timeout)
    except asyncio.TimeoutError:
        raise TimeoutError(f"nothing within {timeout}s") from None


class _AsyncSocket:
    """A client websocket on asyncio streams."""

    def __init__(self, driver: AsyncioDriver, listener: ClientSocketListener) -> None:
        self.driver = driver
        self.listener = listener
        self.task: asyncio.Task[None] | None = None
        self._ws: ClientWebSocket | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._closing = False

    def send(self, data: str | bytes) -> None:
        ws, writer = self._ws, self._writer
        if ws is not None and writer is not None and not self._closing:
            writer.write(ws.message(data))

    def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        ws, writer = self._ws, self._writer
        if ws is not None and writer is not None:
            with contextlib.suppress(Exception):
                writer.write(ws.close())
            writer.close()
        elif self.task is not None:
            self.task.cancel()

    async def run(self, url: str, headers: list[tuple[str, str]], timeout: float | None) -> None:
        error: str | None = None
        opened: asyncio.StreamWriter | None = None
        try:
            way = route(url)
            ws = ClientWebSocket(way.origin.host_header, way.target, headers)
            reader, writer = await asyncio.wait_for(self.driver._dial(way), timeout)
            opened = writer
            writer.write(ws.handshake())
            messages: list[str | bytes] = []
            while not ws.open:
                data = await asyncio.wait_for(reader.read(_READ), timeout)
                if not data:
                    raise HttpError("connection closed during the websocket handshake")
                messages = ws.feed(data)
            self._ws, self._writer = ws, writer
            if self._closing:
                return
            self.listener.ws_opened(
                [(k, v) for k, values in ws.response_headers.items() for v in values]
            )
            self._deliver(messages)
            while not ws.closed and not self._closing:
                data = await reader.read(_READ)
                if not data:
                    break
                messages = ws.feed(data)
                pending = ws.take_output()
                if pending:
                    writer.write(pending)
                self._deliver(messages)
        except _FAILURES as exc:
            if not self._closing:
                error = str(exc) or type(exc).__name__
        except asyncio.CancelledError:
            self._closing = True
        finally:
            if opened is not None:
                opened.close()
            self._closing = True
            self.listener.ws_closed(error)

    def _deliver(self, messages: list[str | bytes]) -> None:
        for message in messages:
            if self._closing:
                return
            self.listener.ws_message(message)


class AsyncClient(ClientBase):
    """The asyncio Socket.IO client: calls that wait return awaitables
    (``await client.connect(url)``, ``await client.call(...)``); handlers
    may be plain or ``async def``. See :class:`hubbub.client.core.ClientBase`
    for the API and options."""

    def _make_driver(self) -> AsyncioDriver:
        return AsyncioDriver(self)

    def _check_handler(self, fn: Callable[..., Any]) -> None:
        pass  # asyncio runs plain and async def handlers alike
