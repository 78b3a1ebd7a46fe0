"""The embedded HTTP/1.1 + websocket server: asyncio Protocols and httptools.

This is hubbub's fast path. One :class:`HttpProtocol` per TCP connection
parses requests with httptools (keep-alive, pipelining, size limits, header
timeout), hands Engine.IO requests to the sans-IO core, every other request
to an optional ASGI app, and after a websocket handshake switches to the
project's own frame codec on the same connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from collections.abc import Callable
from typing import Any, Protocol

import httptools

from hubbub.http import (
    HttpRequest,
    HttpResponse,
    join_headers,
    serialize_head,
    shared_address,
    shared_str,
)
from hubbub.runtime.asyncio.asgi_bridge import ASGIApp, run_asgi_http
from hubbub.runtime.asyncio.core import AsyncioHost, AsyncioRuntime, runtime_for
from hubbub.runtime.contract import Endpoint, PollHold, StreamHold, WebSocketAccept, endpoint_of
from hubbub.runtime.limits import ServerLimits
from hubbub.websocket.frames import WebSocketError
from hubbub.websocket.link import WebSocketLink, accept_websocket
from hubbub.websocket.shared import SharedFrames, SharedSink

log = logging.getLogger("hubbub.http")


# A connection's queued frames are written at once past this many bytes,
# rather than at the end of the tick: it bounds what one tick holds, and
# keeps the writes small enough that the kernel stops taking them from a
# client that does not read, so the slow-consumer accounting sees a backlog
# (loopback TCP takes one very large write whole, however slow the reader).
FLUSH_AT = 64 * 1024

# what a websocket connection's write queue holds (WebSocketProtocol._out)
_Entry = bytes | bytearray | SharedFrames


# what a websocket connection keeps in place of the HTTP head it parsed
_NO_HEADERS: list[tuple[bytes, bytes]] = []
_NO_QUEUE: list[tuple[HttpRequest, bool]] = []

# methods and paths, decoded once and shared by the requests that carry them
# (see hubbub.http.shared_str)
_TOKENS: dict[bytes, str] = {}
# and the query strings of websocket connects, when they repeat
_QUERIES: dict[bytes, str] = {}


class SessionRouter(Protocol):
    """How a worker of several sends a request to the worker holding its
    session (``runtime.asyncio.workers.WorkerMesh``)."""

    @property
    def index(self) -> int: ...

    def forward(self, owner: int, req: HttpRequest, conn: HttpProtocol) -> int | None:
        """Ask worker ``owner`` to answer ``req``: the id under which its
        answer comes to ``conn.forwarded``, or None when it cannot be asked."""
        ...

    def abandon(self, forward: int) -> None:
        """The client of a forwarded request went away."""
        ...

    def hand_over(
        self, owner: int, req: HttpRequest, rest: bytes, transport: asyncio.Transport
    ) -> bool:
        """Give a websocket upgrade, connection and all, to worker ``owner``."""
        ...


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class HttpProtocol(asyncio.Protocol):
    def __init__(self, server: EmbeddedServer) -> None:
        self.server = server
        self.loop = server.loop
        self.limits = server.limits
        self.transport: asyncio.Transport | None = None
        # None once a websocket took over the connection (_drop_http_state)
        self.parser: Any = httptools.HttpRequestParser(self)
        self.remote: str | None = None
        self.secure = False
        # the request being parsed
        self._url = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._header_bytes = 0
        self._body: list[bytes] = []
        self._body_size = 0
        self._body_limit = self.limits.max_body_size
        self._too_large = False
        self._parse_error: _BadRequest | None = None
        # raw bytes of a request head still incomplete: httptools reports a
        # header only once its line ends, so a line that never ends is
        # limited by counting what arrives (see data_received)
        self._in_head = False
        self._head_began = False
        self._head_raw = 0
        # requests parsed but not answered yet (pipelining), and the busy flag
        # (a list: an empty deque allocates a whole block per connection, and
        # the queue is nearly always empty)
        self._queue: list[tuple[HttpRequest, bool]] = []
        self._busy = False
        self._paused = False  # reading paused behind a pipelined request
        # the transport holds more than its high-water mark of answers
        self._write_blocked = False
        self._hold: PollHold | None = None
        self._stream: StreamHold | None = None
        self._keepalive = True
        # one loop timer at a time for the header, body and keep-alive
        # deadlines: moving a deadline is a float store; the timer, when it
        # fires early, re-arms itself for the deadline then current
        self._timer: asyncio.TimerHandle | None = None
        self._deadline = 0.0  # 0.0: none
        self._upgrade: HttpRequest | None = None
        # set once a websocket took over the connection: it gets what arrives
        # here (when the transport could not be handed over to it)
        self.ws: WebSocketProtocol | None = None
        # the id of a request another worker is answering (SessionRouter)
        self._forward: int | None = None

    # -- connection lifecycle ------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.remote = shared_address(str(peer[0]))
        self.secure = transport.get_extra_info("sslcontext") is not None
        self.server.connections.add(self)
        self._arm(self.limits.headers_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self._drop_timer()
        transport, self.transport = self.transport, None
        del transport
        hold, self._hold = self._hold, None
        if hold is not None:
            host = hold.session.host
            if isinstance(host, AsyncioHost):
                host.waiter = None
            hold.aborted(self.loop.time())
        stream, self._stream = self._stream, None
        if stream is not None:
            stream.aborted(self.loop.time())
        if self.ws is not None:
            self.ws.connection_lost(exc)
        forward, self._forward = self._forward, None
        if forward is not None and self.server.router is not None:
            self.server.router.abandon(forward)

    def _arm(self, delay: float) -> None:
        deadline = self.loop.time() + delay
        self._deadline = deadline
        timer = self._timer
        if timer is None or timer.when() > deadline:
            if timer is not None:
                timer.cancel()
            self._timer = self.loop.call_at(deadline, self._on_timer)

    def _disarm(self) -> None:
        """No deadline; the loop timer, if any, fires to find none."""
        self._deadline = 0.0

    def _drop_timer(self) -> None:
        """No deadline and no loop timer: the connection is gone, or a
        websocket (with timers of its own) took it over."""
        self._deadline = 0.0
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _on_timer(self) -> None:
        self._timer = None
        deadline = self._deadline
        if not deadline:
            return
        if self.loop.time() < deadline:
            self._timer = self.loop.call_at(deadline, self._on_timer)
            return
        self._deadline = 0.0
        self._on_timeout()

    def _on_timeout(self) -> None:
        if self.transport is None or self._busy or self.ws is not None:
            return
        if self._write_blocked:
            # answers the client has not read for the keep-alive time: a
            # close would wait for them to drain, so drop them
            log.info("%s: answers not read in time; closing", self.remote)
            self.transport.abort()
            return
        if self._url or self._headers:
            # a client that started a request and never finished it
            part = "headers" if self._in_head else "body"
            log.info("%s: request %s not complete in time; closing", self.remote, part)
            self._write_simple(408, b"Request Timeout", close=True)
        else:
            self.transport.close()

    # -- HTTP parsing (httptools callbacks) ------------------------------------

    def data_received(self, data: bytes) -> None:
        if self.ws is not None:
            self.ws.data_received(data)
            return
        self._head_began = False
        try:
            self.parser.feed_data(data)
            if self._in_head and not self._head_began:
                # the same head was incomplete before and after this chunk:
                # every byte of it belongs to the head
                self._head_raw += len(data)
                if self._head_raw > self.limits.max_header_size:
                    self._parse_error = _BadRequest(431, "Request Header Fields Too Large")
                    raise httptools.HttpParserError("header too large")
        except httptools.HttpParserUpgrade as exc:
            offset = exc.args[0] if exc.args and isinstance(exc.args[0], int) else len(data)
            req = self._upgrade
            self._upgrade = None
            if req is not None:
                self._start_upgrade(req, data[offset:])
            return
        except httptools.HttpParserError as exc:
            err = self._parse_error or _BadRequest(400, "Bad Request")
            self._parse_error = None
            # the parser's error names the cause, the limits' included
            # ("header too large", raised by on_url and on_header)
            log.info("%s: malformed HTTP request (%s)", self.remote, exc)
            self._write_simple(err.status, str(err).encode(), close=True)
            return

    def on_message_begin(self) -> None:
        self._in_head = True
        self._head_began = True
        self._head_raw = 0
        self._url = b""
        self._headers = []
        self._header_bytes = 0
        self._body = []
        self._body_size = 0
        self._too_large = False
        if not self._busy:
            self._arm(self.limits.headers_timeout)

    def on_url(self, url: bytes) -> None:
        self._url += url
        self._header_bytes += len(url)
        if self._header_bytes > self.limits.max_header_size:
            self._parse_error = _BadRequest(431, "Request Header Fields Too Large")
            raise httptools.HttpParserError("header too large")

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_bytes += len(name) + len(value) + 4
        if (
            self._header_bytes > self.limits.max_header_size
            or len(self._headers) >= self.limits.max_headers_count
        ):
            self._parse_error = _BadRequest(431, "Request Header Fields Too Large")
            raise httptools.HttpParserError("header too large")
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        if not self._busy:
            # the body, however it trickles (chunk extensions included), has
            # its own deadline
            self._arm(self.limits.body_timeout)
        path = self._path_of(self._url)
        endpoint = self.server.endpoint
        if endpoint.serves(path):
            self._body_limit = endpoint.max_message_size
        else:
            self._body_limit = self.limits.max_body_size

    def on_body(self, body: bytes) -> None:
        if self._too_large:
            return
        self._body_size += len(body)
        if self._body_size > self._body_limit:
            self._too_large = True
            self._body = []
            return
        self._body.append(body)

    def on_message_complete(self) -> None:
        parsed = httptools.parse_url(self._url)
        upgrade = self.parser.should_upgrade()
        query = parsed.query
        if not query:
            query_string = ""
        elif upgrade and b"sid=" not in query:
            # a new websocket's query (EIO=4&transport=websocket, and the
            # app's own parameters) repeats from one client to the next, and
            # its request lives as long as the connection: shared, as paths
            query_string = shared_str(_QUERIES, query)
        else:
            query_string = query.decode("latin-1")
        req = HttpRequest(
            method=shared_str(_TOKENS, self.parser.get_method()),
            path=shared_str(_TOKENS, parsed.path) if parsed.path else "/",
            query_string=query_string,
            headers=join_headers(self._headers),
            body=b"".join(self._body),
            remote_addr=self.remote,
            secure=self.secure,
            body_too_large=self._too_large,
        )
        self._body = []
        if upgrade:
            self._upgrade = req
            return
        self._queue.append((req, self.parser.should_keep_alive()))
        if self._busy:
            # a pipelined request behind one still being answered (a held
            # long-poll, say): read no more until the queue is answered, so a
            # client cannot queue without bound (as uvicorn does)
            self._pause_reading()
        else:
            self._disarm()
            self._next()

    @staticmethod
    def _path_of(url: bytes) -> str:
        end = len(url)
        for sep in (b"?", b"#"):
            i = url.find(sep)
            if i != -1 and i < end:
                end = i
        return url[:end].decode("latin-1")

    # -- answering requests, one at a time ----------------------------------------

    def _next(self) -> None:
        while self._queue and not self._busy and self.transport is not None:
            req, keepalive = self._queue.pop(0)
            self._keepalive = keepalive
            self._dispatch(req)
        if not self._busy and self.transport is not None and not self._queue:
            if self._paused and not self._write_blocked:
                self._paused = False
                self.transport.resume_reading()
            self._arm(self.limits.keep_alive_timeout)

    # -- flow control: a client that does not read its answers -------------------

    def pause_writing(self) -> None:
        if self.ws is not None:
            self.ws.pause_writing()
            return
        # answers pile up in the transport (pipelined requests whose answers
        # are never read): take no more requests until they drain, and give
        # the client the keep-alive time to read them
        self._write_blocked = True
        self._pause_reading()
        self._arm(self.limits.keep_alive_timeout)

    def resume_writing(self) -> None:
        if self.ws is not None:
            self.ws.resume_writing()
            return
        self._write_blocked = False
        self._next()  # while busy it waits for the request; else reading resumes

    def _pause_reading(self) -> None:
        transport = self.transport
        if not self._paused and transport is not None:
            self._paused = True
            transport.pause_reading()

    def _dispatch(self, req: HttpRequest) -> None:
        server = self.server
        if server.endpoint.serves(req.path):
            if req.body_too_large and req.method != "POST":
                self._write_simple(413, b"Payload Too Large", close=True)
                return
            router = server.router
            if router is not None:
                owner = server.endpoint.session_owner(req)
                if owner is not None and owner != router.index:
                    transport = self.transport
                    if (
                        server.endpoint.streams(req)
                        and not self._queue
                        and transport is not None
                        and router.hand_over(owner, req, b"", transport)
                    ):
                        return  # the stream keeps the connection: it goes whole
                    forward = router.forward(owner, req, self)
                    if forward is not None:
                        self._busy = True
                        self._forward = forward
                        return
            result = server.endpoint.handle_request(req, self.loop.time())
            if isinstance(result, HttpResponse):
                self.write_response(result)
            elif isinstance(result, PollHold):
                self._hold_poll(result)
            elif isinstance(result, StreamHold):
                self._hold_stream(result)
            else:  # a websocket accept without the upgrade headers
                self.write_response(HttpResponse(400, [], b"Bad Request"))
            return
        if server.asgi_app is not None:
            if req.body_too_large:
                self._write_simple(413, b"Payload Too Large", close=True)
                return
            self._busy = True
            task = self.loop.create_task(
                run_asgi_http(server.asgi_app, req, self, server.scope_extra)
            )
            server.tasks.add(task)
            task.add_done_callback(server.tasks.discard)
            return
        self._write_simple(404, b"Not Found")

    def forwarded(self, response: HttpResponse) -> None:
        """The answer of the worker that holds the request's session."""
        self._forward = None
        if self.transport is None:
            return
        self._busy = False
        self.write_response(response)
        self._next()

    def _hold_poll(self, hold: PollHold) -> None:
        self._busy = True
        self._hold = hold
        host = hold.session.host
        assert isinstance(host, AsyncioHost)
        host.waiter = self._finish_poll

    def _finish_poll(self) -> None:
        hold, self._hold = self._hold, None
        if hold is None or self.transport is None:
            return
        response = hold.finish(self.loop.time())
        self._busy = False
        self.write_response(response)
        self._next()

    def _hold_stream(self, hold: StreamHold) -> None:
        """A 0.9 htmlfile GET: a chunked response that stays open, one chunk
        per wake-up, until the session says the document ends."""
        transport = self.transport
        assert transport is not None
        self._busy = True
        self._stream = hold
        head = hold.head
        headers = [*head.headers, ("Transfer-Encoding", "chunked")]
        transport.write(serialize_head(head.status, headers, None) + _chunk(head.body))
        self._stream_wait()

    def _stream_wait(self) -> None:
        hold = self._stream
        assert hold is not None
        host = hold.session.host
        assert isinstance(host, AsyncioHost)
        host.waiter = self._stream_more

    def _stream_more(self) -> None:
        hold = self._stream
        if hold is None or self.transport is None:
            return
        chunk, done = hold.more(self.loop.time())
        data = _chunk(chunk) if chunk else b""
        if not done:
            if data:
                self.transport.write(data)
            self._stream_wait()
            return
        self._stream = None
        self._busy = False
        self.transport.write(data + b"0\r\n\r\n")
        self._keepalive = False
        self.transport.close()

    def write_response(self, response: HttpResponse) -> None:
        transport = self.transport
        if transport is None:
            return
        headers = response.headers
        if not self._keepalive:
            headers = [*headers, ("Connection", "close")]
        transport.write(
            serialize_head(response.status, headers, len(response.body)) + response.body
        )
        if not self._keepalive:
            transport.close()

    @property
    def keepalive(self) -> bool:
        """Whether the connection stays open after the current response."""
        return self._keepalive

    def asgi_done(self, keepalive: bool) -> None:
        """Called by the ASGI bridge once the app's response is complete."""
        self._busy = False
        if not keepalive and self.transport is not None:
            self.transport.close()
            return
        self._next()

    def _write_simple(self, status: int, body: bytes, close: bool = False) -> None:
        if close:
            self._keepalive = False
        self.write_response(HttpResponse(status, [("Content-Type", "text/plain")], body))

    # -- websocket ---------------------------------------------------------------

    def _start_upgrade(self, req: HttpRequest, rest: bytes) -> None:
        self._drop_timer()
        server = self.server
        if not server.endpoint.serves(req.path):
            self._keepalive = False
            self._write_simple(404, b"Not Found", close=True)
            return
        router = server.router
        if router is not None and not self._busy and self.transport is not None:
            owner = server.endpoint.session_owner(req)
            if (
                owner is not None
                and owner != router.index
                and router.hand_over(owner, req, rest, self.transport)
            ):
                return
        self.upgrade(req, rest)

    def adopted(self, req: HttpRequest, rest: bytes) -> None:
        """Answer a request another worker handed over with this connection:
        a websocket upgrade, or a GET answered by a stream."""
        if req.is_websocket_upgrade:
            self.upgrade(req, rest)
            return
        self._keepalive = False
        self._dispatch(req)

    def upgrade(self, req: HttpRequest, rest: bytes) -> None:
        """Answer a websocket upgrade (``rest``: what the client sent after it)."""
        server = self.server
        result = server.endpoint.handle_request(req, self.loop.time())
        if isinstance(result, HttpResponse):
            self._keepalive = False
            self.write_response(result)
            return
        if not isinstance(result, WebSocketAccept):
            self._write_simple(400, b"Bad Request", close=True)
            return
        transport = self.transport
        assert transport is not None
        conn = WebSocketProtocol(server, transport)
        try:
            handshake = accept_websocket(
                server.endpoint, req, result, conn, server.clock, self.remote
            )
        except WebSocketError as exc:
            log.info("%s: bad websocket handshake (%s)", self.remote, exc)
            self._write_simple(exc.http_status, str(exc).encode(), close=True)
            return
        transport.write(handshake.response)
        conn.link = handshake.link
        self.ws = conn
        self._drop_http_state()
        self._hand_over(conn)
        link = handshake.link
        if link.open():
            # the parsed query was for the handshake (the session's options,
            # the sid): the request lives on with the connection
            # (Connection.request), the parsed copy need not (query parses anew)
            req.release()
            if rest:
                link.feed(rest)

    def _hand_over(self, conn: WebSocketProtocol) -> None:
        """Make ``conn`` the transport's protocol: this one, with its parser
        state and HTTP attributes, is then let go (an idle websocket keeps no
        HTTP state). Not while a request is still being answered on the
        connection (a client that pipelined its upgrade): that one still
        needs this protocol, which then passes the websocket's bytes on."""
        transport = self.transport
        if self._busy or transport is None:
            return
        try:
            transport.set_protocol(conn)
        except (AttributeError, NotImplementedError):  # a transport that cannot
            return
        connections = self.server.connections
        connections.discard(self)
        connections.add(conn)

    def _drop_http_state(self) -> None:
        # After the upgrade no HTTP is parsed on this connection again: let go
        # of the parser and the upgrade request's head, which would otherwise
        # stay for the life of the websocket when this
        # protocol stays (_hand_over could not hand over). When it does hand
        # over, dropping the parser (which refers back to this protocol)
        # breaks their cycle, so both are freed at once, not by a later
        # cyclic GC pass. _NO_HEADERS
        # is shared and never appended to (only the parser's callbacks do).
        self.parser = None
        self._url = b""
        self._headers = _NO_HEADERS
        self._body = _NO_HEADERS  # type: ignore[assignment]
        self._queue = _NO_QUEUE  # empty: it is only filled between requests


class WebSocketProtocol(asyncio.Protocol):
    """A connection after its websocket upgrade: the link's LinkIO (and its
    SharedSink), and the transport's protocol once HttpProtocol hands the
    transport over.

    Slotted and small: it lives as long as the websocket, every idle one."""

    __slots__ = ("_block", "_out", "_out_bytes", "_start", "link", "server", "transport")

    link: WebSocketLink  # set right after the handshake is accepted

    def __init__(self, server: EmbeddedServer, transport: asyncio.Transport) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = transport
        # frames written during this loop tick, sent in one transport.write
        # when the tick ends (EmbeddedServer._flush_writes): None when there
        # are none, the one entry itself when there is one, else a list. An
        # entry is a frame, or the shared block this connection takes part
        # in (websocket.shared), always the last entry, whose bytes from
        # _start on are this connection's
        self._out: _Entry | list[_Entry] | None = None
        # the bytes queued, the open block's excluded
        self._out_bytes = 0
        self._block: SharedFrames | None = None
        self._start = 0

    @property
    def remote(self) -> str | None:
        return self.link.remote

    @property
    def shared_sink(self) -> SharedSink:
        return self

    def data_received(self, data: bytes) -> None:
        self.link.feed(data)

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self._out = None
        self._out_bytes = 0
        self._block = None
        self.transport = None
        self.link.lost()

    # -- LinkIO: what the websocket link asks of this connection ---------------------

    def write(self, data: bytes) -> None:
        # Queued until the end of this loop tick: a burst of broadcasts (all
        # the triggers read in one tick) reaches each client in one write,
        # one syscall, instead of one per frame. The first frame of a tick is
        # kept as is, so a connection that gets one frame per tick allocates
        # nothing for this.
        if self._block is not None:
            self.end_shared()
        out = self._out
        if out is None:
            transport = self.transport
            if transport is None:
                return
            if len(data) >= FLUSH_AT:
                transport.write(data)  # nothing queued before it: no reordering
                return
            self._out = data
            self._out_bytes = len(data)
            self._dirty()
            return
        if type(out) is list:
            out.append(data)
        else:
            self._out = [out, data]  # type: ignore[list-item]  # one entry, not a list
        self._out_bytes += len(data)
        if self._out_bytes >= FLUSH_AT:
            self.flush()

    def _dirty(self) -> None:
        server = self.server
        dirty = server._dirty
        if not dirty:
            server.loop.call_soon(server._flush_writes)
        dirty.append(self)

    # -- SharedSink ------------------------------------------------------------------

    def write_shared(self, block: SharedFrames, start: int) -> None:
        if self.transport is None or self.link.closing:
            return
        if self._block is not None:
            self.end_shared()
        self._block = block
        self._start = start
        out = self._out
        if out is None:
            self._out = block
            server = self.server
            dirty = server._dirty
            if not dirty:
                server.loop.call_soon(server._flush_writes)
            dirty.append(self)
        elif type(out) is list:
            out.append(block)
        else:
            self._out = [out, block]  # type: ignore[list-item]  # one entry, not a list

    def end_shared(self) -> None:
        block = self._block
        if block is None:
            return
        self._block = None
        # the block is the last entry: its part so far takes its place
        part = block.buf[self._start :]
        self._out_bytes += len(part)
        out = self._out
        if type(out) is list:
            out[-1] = part
        else:
            self._out = part
        block.detached.append(self)

    def flush(self) -> None:
        """Write what this tick queued, in order, in one transport.write."""
        out = self._out
        if out is None:
            return
        self._out = None
        self._out_bytes = 0
        block = self._block
        if block is not None:
            # writing it out retires the block: every member cuts its part
            # from the same bytes
            self._block = None
            frozen = block.frozen
            if frozen is None:
                frozen = block.freeze()
            tail = frozen[self._start :] if self._start else frozen
            if type(out) is list:
                out[-1] = tail
            else:
                out = tail
        transport = self.transport
        if transport is None:
            return
        if type(out) is list:
            transport.write(b"".join(out))  # type: ignore[arg-type]  # no block left in it
        else:
            transport.write(out)  # type: ignore[arg-type]  # a frame or a block's part

    def close(self, graceful: bool) -> None:
        transport = self.transport
        if transport is None:
            return
        self.flush()  # the frames queued so far (a close frame last) go first
        if graceful:
            # give the client a moment to answer the close, then drop the socket
            server = self.server
            server.loop.call_later(server.limits.websocket_close_timeout, transport.close)
        else:
            transport.close()

    def buffered_bytes(self) -> int:
        transport = self.transport
        if transport is None:
            return 0
        block = self._block
        shared = len(block.buf) - self._start if block is not None else 0
        return self._out_bytes + shared + transport.get_write_buffer_size()

    # -- flow control: a client that does not read is not read from ------------------

    def pause_writing(self) -> None:
        # the transport holds more than its high-water mark for this client:
        # what the client sends (pings to answer, events to ack) would only
        # grow that, so read nothing more from it until the buffer drains
        transport = self.transport
        if transport is not None:
            transport.pause_reading()

    def resume_writing(self) -> None:
        transport = self.transport
        if transport is not None:
            transport.resume_reading()


class EmbeddedServer:
    """Listens on a socket and serves an Engine.IO (or Socket.IO) server:
    the embedded server ``hubbub.run`` starts, for an event loop of your own.

    ```python
    server = hubbub.EmbeddedServer(sio, asgi_app=api)   # api: optional
    await server.start("127.0.0.1", 0)                 # 0: any free port
    print(server.port)
    ...
    await server.shutdown()
    ```

    ``asgi_app`` gets the requests that are not Socket.IO's; ``limits`` are
    the per-connection limits (``ServerLimits``).
    """

    def __init__(
        self,
        app: Any,
        *,
        asgi_app: ASGIApp | None = None,
        limits: ServerLimits | None = None,
    ) -> None:
        self.endpoint: Endpoint = endpoint_of(app)
        self.app = app
        self.asgi_app = asgi_app
        self.limits = limits or ServerLimits()
        self.connections: set[HttpProtocol | WebSocketProtocol] = set()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.scope_extra: dict[str, Any] = {}
        # set in a worker of several: requests for other workers' sessions
        self.router: SessionRouter | None = None
        # connections with frames queued this tick, flushed by one callback
        self._dirty: list[WebSocketProtocol] = []
        self._server: asyncio.Server | None = None
        self.runtime: AsyncioRuntime | None = None
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]
        self.clock: Callable[[], float]  # the loop's clock, set by start()

    async def start(
        self, host: str = "127.0.0.1", port: int = 8000, *, sock: socket.socket | None = None
    ) -> None:
        """Start listening on ``host``:``port`` (or on the bound socket ``sock``)
        in the running event loop, and return; the server runs until
        ``shutdown()``."""
        self.attach_loop()
        if sock is not None:
            self._server = await self.loop.create_server(lambda: HttpProtocol(self), sock=sock)
        else:
            self._server = await self.loop.create_server(
                lambda: HttpProtocol(self), host, port, reuse_address=True, backlog=2048
            )

    def attach_loop(self) -> None:
        """Bind the server to the running loop and the app to its runtime,
        without listening: start() begins with it, and an in-process driver
        (benchmarks/micro.py) feeds connections to HttpProtocol after it."""
        self.loop = asyncio.get_running_loop()
        # one bound method shared by every websocket link, not one each
        self.clock = self.loop.time
        self.runtime = runtime_for(self.endpoint)

    def _flush_writes(self) -> None:
        # One loop callback per tick for every connection with frames queued
        # (WebSocketProtocol.write schedules it), not one each. The loop runs it
        # after this tick's I/O callbacks, so all they queued rides along.
        dirty, self._dirty = self._dirty, []
        for conn in dirty:
            try:
                conn.flush()  # nothing to do if flushed early (FLUSH_AT, close)
            except Exception:  # pragma: no cover - one broken transport must not
                # leave the connections after it in the list unflushed
                log.exception("%s: write failed", conn.remote)

    @property
    def sockets(self) -> list[socket.socket]:
        """The listening sockets (empty before ``start``)."""
        return list(self._server.sockets) if self._server is not None else []

    @property
    def port(self) -> int:
        """The port listened on: the one chosen when ``start`` was given port 0."""
        return int(self.sockets[0].getsockname()[1])

    async def shutdown(self, grace: float = 2.0) -> None:
        """Stop accepting, close every session cleanly, then every connection."""
        if self._server is not None:
            self._server.close()
        self.endpoint.close_all("server shutting down")
        deadline = self.loop.time() + grace
        while self.loop.time() < deadline and any(
            isinstance(c, HttpProtocol) and c._busy for c in self.connections
        ):
            await asyncio.sleep(0.02)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        if self._server is not None:
            await self._server.wait_closed()
        for task in list(self.tasks):
            task.cancel()

    async def abandon(self) -> None:
        """Stop accepting and cut every connection at once, then close the
        sessions: their clients, cut off rather than told goodbye, reconnect
        (to the other workers of a cluster, where this one is replaced)."""
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()
        await asyncio.sleep(0)  # the connections see their loss first
        self.endpoint.close_all("server shutting down")
        for task in list(self.tasks):
            task.cancel()

    async def serve_forever(self, host: str = "127.0.0.1", port: int = 8000) -> None:
        """Start, then serve until SIGINT or SIGTERM, then shut down cleanly."""
        await self.start(host, port)
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                self.loop.add_signal_handler(sig, stop.set)
        log.info("hubbub listening on http://%s:%d%s", host, self.port, self.endpoint.path)
        await stop.wait()
        log.info("shutting down")
        await self.shutdown()


def install_uvloop() -> None:
    """Make uvloop the event loop policy, when it is installed."""
    try:
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    except ImportError:
        pass


def run(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 8000,
    *,
    asgi_app: ASGIApp | None = None,
    use_uvloop: bool = True,
    limits: ServerLimits | None = None,
) -> None:
    """Serve ``app`` on the embedded asyncio server until SIGINT/SIGTERM."""
    if use_uvloop:
        install_uvloop()
    server = EmbeddedServer(app, asgi_app=asgi_app, limits=limits)
    asyncio.run(server.serve_forever(host, port))


def _chunk(data: bytes) -> bytes:
    """One chunk of a chunked HTTP/1.1 body."""
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""
