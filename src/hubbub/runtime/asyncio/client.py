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
import ssl
from collections.abc import Callable
from typing import Any

from hubbub.client.core import ClientBase
from hubbub.client.http1 import (
    HttpError,
    Origin,
    ResponseParser,
    Route,
    request_bytes,
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

    def current(self) -> bool:
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    async def _dial(self, way: Route) -> Streams:
        dial = way.dial
        proxy_tls = tls_context(None, True) if dial is not way.origin and dial.tls else None
        origin_tls = (
            tls_context(self.client.ssl, self.client.ssl_verify) if way.origin.tls else None
        )
        if way.tunnel is None:
            reader, writer = await asyncio.open_connection(
                dial.host, dial.port, ssl=origin_tls if dial is way.origin else proxy_tls,
                server_hostname=(way.origin.host if dial is way.origin else dial.host)
                if (origin_tls if dial is way.origin else proxy_tls) else None,
            )
            return reader, writer
        reader, writer = await asyncio.open_connection(
            dial.host, dial.port, ssl=proxy_tls,
            server_hostname=dial.host if proxy_tls else None,
        )
        writer.write(way.tunnel)
        answer = await _read_until(reader, ResponseParser("CONNECT", head_only=True))
        if answer.status != 200:
            writer.close()
            raise HttpError(f"the proxy refused the tunnel: HTTP {answer.status}")
        if origin_tls is not None:
            await writer.start_tls(origin_tls, server_hostname=way.origin.host)
        return reader, writer

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
            raw = request_bytes(method, way.origin, way.target, headers, body, way.absolute)
            answer = await asyncio.wait_for(self._exchange(way, raw, method), timeout)
        except _FAILURES as exc:
            answer = str(exc) or type(exc).__name__
        done(answer)

    async def _exchange(self, way: Route, raw: bytes, method: str) -> ClientResponse:
        pool = self._idle.get(way.origin) if way.dial is way.origin else None
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
            if response.keep_alive and way.dial is way.origin:
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
        writer: asyncio.StreamWriter | None = None
        try:
            way = route(url)
            ws = ClientWebSocket(way.origin.host_header, way.target, headers)
            reader, writer = await asyncio.wait_for(self.driver._dial(way), timeout)
            writer.write(ws.handshake())
            messages: list[str | bytes] = []
            while not ws.open:
                data = await asyncio.wait_for(reader.read(_READ), timeout)
                if not data:
                    raise HttpError("connection closed during the websocket handshake")
                messages = ws.feed(data)
            self._ws, self._writer = ws, writer
            if self._closing:
                writer.close()
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
            error = str(exc) or type(exc).__name__
        except asyncio.CancelledError:
            self._closing = True
        finally:
            if writer is not None:
                writer.close()
            if not self._closing:
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
