"""``hubbub.ASGIApp``: the same sessions under uvicorn, hypercorn or granian.

Requests under the Engine.IO path go to the hubbub server; everything else
(and lifespan) to the wrapped ASGI app, so hubbub mounts beside FastAPI,
Starlette or Django. The ASGI server does the websocket framing here, so
this path is for interop; the embedded server is the fast one.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hubbub.engineio.outgoing import OutPacket
from hubbub.http import HttpRequest, HttpResponse, join_headers
from hubbub.runtime.asyncio.core import AsyncioHost, runtime_for
from hubbub.runtime.contract import (
    Endpoint,
    PollHold,
    StreamHold,
    WebSocketAccept,
    WebSocketSession,
    endpoint_of,
)
from hubbub.websocket.frames import CloseCode

log = logging.getLogger("hubbub.asgi")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]


def _request_from_scope(scope: Scope, body: bytes = b"", too_large: bool = False) -> HttpRequest:
    client = scope.get("client")
    return HttpRequest(
        method=scope.get("method", "GET"),
        path=scope.get("path", "/"),
        query_string=scope.get("query_string", b"").decode("latin-1"),
        headers=join_headers(scope.get("headers", [])),
        body=body,
        remote_addr=str(client[0]) if client else None,
        secure=scope.get("scheme") in ("https", "wss"),
        body_too_large=too_large,
    )


class _AsgiWebSocket:
    """The websocket peer of one session under an ASGI server."""

    # one per connection, idle ones included: slots, and for the writer's
    # wake-up a bare future made only while it waits (an asyncio.Event would
    # hold a deque even while nobody waits)
    __slots__ = ("_out", "_send", "_size", "_wake", "closed", "max_size", "session", "version")
    sink = None  # the ASGI server frames messages itself: packets go through send
    shared_sink = None

    def __init__(self, send: Send, version: int, max_size: int) -> None:
        self._send = send
        self.version = version
        self.max_size = max_size
        self._out: list[dict[str, Any]] = []
        self._size = 0
        self._wake: asyncio.Future[None] | None = None
        self.closed = False
        self.session: WebSocketSession | None = None

    def send(self, packet: OutPacket) -> None:
        if self.closed:
            return
        msg = packet.ws_message(self.version)
        if isinstance(msg, str):
            self._out.append({"type": "websocket.send", "text": msg})
        else:
            self._out.append({"type": "websocket.send", "bytes": msg})
        self._size += len(msg)
        self.wake_writer()

    def buffered_bytes(self) -> int:
        return self._size

    def close(self, code: int = CloseCode.NORMAL) -> None:
        if self.closed:
            return
        self.closed = True
        self._out.append({"type": "websocket.close", "code": code})
        self.wake_writer()

    def wake_writer(self) -> None:
        wake = self._wake
        if wake is not None:
            self._wake = None
            if not wake.done():
                wake.set_result(None)

    async def writer(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while True:
                out = self._out
                if not out:
                    if self.closed:  # the client went away: nothing more to send
                        return
                    wake = self._wake = loop.create_future()
                    await wake
                    continue
                # what was queued so far goes in order; sends made meanwhile
                # queue on a fresh list for the next round
                self._out = []
                for message in out:
                    self._size -= len(message.get("text") or message.get("bytes") or "")
                    await self._send(message)
                    if message["type"] == "websocket.close":
                        return
        except (OSError, RuntimeError, asyncio.CancelledError):
            # the ASGI server reports a gone client by raising from send()
            self.closed = True


class ASGIApp:
    """Serve a hubbub server under any ASGI server, beside another ASGI app."""

    def __init__(
        self,
        server: Any,
        other_asgi_app: App | None = None,
        *,
        body_timeout: float = 60.0,
    ) -> None:
        self.server = server
        # how long a request's body may take to arrive (slow POSTs)
        self.body_timeout = body_timeout
        self.endpoint: Endpoint = endpoint_of(server)
        self.other_app = other_asgi_app

    def _runtime(self) -> None:
        runtime_for(self.endpoint)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if kind in ("http", "websocket") and self.endpoint.serves(path):
            self._runtime()
            if kind == "http":
                await self._http(scope, receive, send)
            else:
                await self._websocket(scope, receive, send)
            return
        if self.other_app is not None:
            await self.other_app(scope, receive, send)
            return
        if kind == "http":
            await _respond(send, HttpResponse(404, [("Content-Type", "text/plain")], b"Not Found"))
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": CloseCode.NORMAL})

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.other_app is not None:
            await self.other_app(scope, receive, send)
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._runtime()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.endpoint.close_all("server shutting down")
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.endpoint.max_message_size
        chunks: list[bytes] = []
        size = 0
        too_large = False
        loop = asyncio.get_running_loop()
        # The body has body_timeout to arrive, however it trickles: one loop
        # timer for the whole body, which cancels this task when it fires
        # (asyncio.wait_for would make a task for every receive).
        task = asyncio.current_task()
        expired = False

        def expire() -> None:
            nonlocal expired
            expired = True
            if task is not None:
                task.cancel()

        timer = loop.call_at(loop.time() + self.body_timeout, expire)
        try:
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    return
                body = message.get("body", b"")
                size += len(body)
                if size > limit:
                    too_large = True
                elif body:
                    chunks.append(body)
                if not message.get("more_body", False):
                    break
        except asyncio.CancelledError:
            if not expired:
                raise
            uncancel = getattr(task, "uncancel", None)  # Python 3.11+
            if uncancel is not None:
                uncancel()
            log.info("%s: request body not complete in time", scope.get("client"))
            await _respond(send, HttpResponse(
                408, [("Content-Type", "text/plain"), ("Connection", "close")],
                b"Request Timeout",
            ))
            return
        finally:
            timer.cancel()
        req = _request_from_scope(scope, b"" if too_large else b"".join(chunks), too_large)
        result = self.endpoint.handle_request(req, loop.time())
        if isinstance(result, HttpResponse):
            await _respond(send, result)
            return
        if isinstance(result, WebSocketAccept):
            await _respond(send, HttpResponse(400, [], b"Bad Request"))
            return
        if isinstance(result, StreamHold):
            await self._stream(result, receive, send)
            return
        await self._hold(result, receive, send)

    async def _stream(self, hold: StreamHold, receive: Receive, send: Send) -> None:
        """A 0.9 htmlfile GET: the response body streams, a chunk per wake-up."""
        loop = asyncio.get_running_loop()
        host = hold.session.host
        assert isinstance(host, AsyncioHost)
        head = hold.head
        await send({"type": "http.response.start", "status": head.status,
                    "headers": [(k.encode("latin-1"), v.encode("latin-1"))
                                for k, v in head.headers]})
        await send({"type": "http.response.body", "body": head.body, "more_body": True})
        watcher = loop.create_task(_wait_disconnect(receive))
        try:
            while True:
                ready: asyncio.Future[None] = loop.create_future()

                def wake(ready: asyncio.Future[None] = ready) -> None:
                    if not ready.done():
                        ready.set_result(None)

                host.waiter = wake
                done, _ = await asyncio.wait({ready, watcher},
                                             return_when=asyncio.FIRST_COMPLETED)
                if ready not in done:
                    host.waiter = None
                    hold.aborted(loop.time())
                    return
                chunk, finished = hold.more(loop.time())
                await send({"type": "http.response.body", "body": chunk,
                            "more_body": not finished})
                if finished:
                    return
        finally:
            watcher.cancel()

    async def _hold(self, hold: PollHold, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        host = hold.session.host
        assert isinstance(host, AsyncioHost)
        ready: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        host.waiter = wake
        watcher = loop.create_task(_wait_disconnect(receive))
        done, _ = await asyncio.wait({ready, watcher}, return_when=asyncio.FIRST_COMPLETED)
        if ready in done:
            watcher.cancel()
            await _respond(send, hold.finish(loop.time()))
            return
        # the client went away while we held its GET
        host.waiter = None
        hold.aborted(loop.time())

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        headers = dict(join_headers(scope.get("headers", [])))
        headers.setdefault("upgrade", "websocket")
        req = _request_from_scope(scope)
        req.headers = headers
        result = self.endpoint.handle_request(req, loop.time())
        if not isinstance(result, WebSocketAccept):
            log.info("refused websocket %s", req.url)
            await send({"type": "websocket.close", "code": CloseCode.POLICY_VIOLATION})
            return
        accept: dict[str, Any] = {"type": "websocket.accept"}
        if result.headers:
            accept["headers"] = [
                (k.encode("latin-1"), v.encode("latin-1")) for k, v in result.headers
            ]
        await send(accept)
        peer = _AsgiWebSocket(send, result.version, self.endpoint.max_message_size)
        writer = loop.create_task(peer.writer())
        session = result.open(peer, loop.time())
        if session is None:
            peer.close(CloseCode.NORMAL)
            await writer
            return
        peer.session = session
        try:
            while True:
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    data: str | bytes | None = message.get("text")
                    if data is None:
                        data = message.get("bytes") or b""
                    size = len(data)
                    if isinstance(data, str) and size <= peer.max_size < size * 4:
                        size = len(data.encode("utf-8"))  # the limit is in bytes, as on the wire
                    if size > peer.max_size:
                        log.info("%s: websocket message over max_http_buffer_size", req.url)
                        peer.close(CloseCode.TOO_BIG)
                        session.on_ws_closed(peer, loop.time())
                        break
                    session.on_ws_message(peer, data, loop.time())
                elif kind == "websocket.disconnect":
                    peer.closed = True
                    session.on_ws_closed(peer, loop.time())
                    break
        finally:
            if not writer.done():
                if not peer.closed:
                    peer.close(CloseCode.NORMAL)
                peer.wake_writer()  # an idle writer must see the disconnect and end
                try:
                    await asyncio.wait_for(writer, 5)
                except (asyncio.TimeoutError, Exception):
                    writer.cancel()


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _respond(send: Send, response: HttpResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})
