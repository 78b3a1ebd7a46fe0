"""One websocket connection carrying an Engine.IO session, sans-IO.

Both runtimes own a raw byte stream after the upgrade (an asyncio transport,
a gevent socket) and drive the same :class:`WebSocketLink`: ``feed(bytes)``
for what arrives, ``lost()`` when the stream ends. The link decodes frames,
answers pings, runs the close handshake and is the session's
:class:`~hubbub.runtime.contract.WebSocketPeer`. What only a runtime can do
(write bytes without blocking, drop the connection, tell how much is still
queued) comes through :class:`LinkIO`.

:func:`accept_websocket` is the handshake half: it checks the upgrade
request and negotiates compression, so a runtime only writes the bytes it
gets back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from hubbub.engineio.outgoing import OutPacket
from hubbub.http import HttpRequest
from hubbub.runtime.contract import Endpoint, WebSocketAccept, WebSocketSession
from hubbub.websocket.deflate import PerMessageDeflate
from hubbub.websocket.frames import (
    OP_BINARY,
    OP_TEXT,
    Close,
    CloseCode,
    FrameDecoder,
    Message,
    Ping,
    WebSocketError,
    close_frame,
    pong_frame,
)
from hubbub.websocket.handshake import check_upgrade_request, handshake_response
from hubbub.websocket.shared import SharedSink

log = logging.getLogger("hubbub.websocket")


class LinkIO(Protocol):
    """The runtime's side of one upgraded connection."""

    def write(self, data: bytes) -> None:
        """Queue bytes for the peer; never blocks."""
        ...

    def close(self, graceful: bool) -> None:
        """Drop the connection: at once, or (graceful) after the runtime's
        close timeout unless the peer closes first."""
        ...

    def buffered_bytes(self) -> int: ...

    @property
    def shared_sink(self) -> SharedSink | None:
        """Where slices of shared blocks can be queued (None: nowhere)."""
        ...


@dataclass(slots=True)
class Handshake:
    """An accepted upgrade: write ``response``, then ``link.open()``."""

    response: bytes
    link: WebSocketLink


class WebSocketLink:
    """The websocket peer of one Engine.IO session (any runtime)."""

    __slots__ = ("_accept", "_clock", "closing", "decoder", "deflate", "io", "remote", "session",
                 "sink", "version")

    def __init__(
        self,
        accept: WebSocketAccept,
        io: LinkIO,
        clock: Callable[[], float],
        max_message_size: int,
        deflate: PerMessageDeflate | None = None,
        remote: str | None = None,
    ) -> None:
        self._accept: WebSocketAccept | None = accept
        self._clock = clock
        self.io = io
        self.version = accept.version
        self.deflate = deflate
        self.remote = remote
        self.decoder = FrameDecoder(max_message_size=max_message_size, deflate=deflate)
        self.session: WebSocketSession | None = None
        self.closing = False
        # the WebSocketPeer door for cached frames: none once closing, and
        # none with compression (frames are compressed per connection)
        # the io object itself rather than its bound write method, which
        # every idle link would keep
        self.sink: LinkIO | None = io if deflate is None else None

    def open(self) -> bool:
        """Call once the handshake response is written. False when the core
        refuses the connection (it is closed by then)."""
        accept, self._accept = self._accept, None  # not needed past this point
        assert accept is not None
        session = accept.open(self, self._clock())
        if session is None:
            self.close(CloseCode.NORMAL)
            return False
        self.session = session
        return True

    # -- the WebSocketPeer door --------------------------------------------------

    def send(self, packet: OutPacket) -> None:
        if self.closing:
            return
        if self.deflate is None:
            # the frame cache read inline (Engine.IO sessions write through
            # the sink instead; 0.9 sessions come here once per packet)
            self.io.write(packet._frames[self.version] or packet.ws_frame(self.version))
            return
        msg = packet.ws_message(self.version)
        if isinstance(msg, str):
            self.io.write(self.deflate.frame(OP_TEXT, msg.encode("utf-8")))
        else:
            self.io.write(self.deflate.frame(OP_BINARY, msg))

    def close(self, code: int = CloseCode.NORMAL) -> None:
        if self.closing:
            return
        self._stop_sending()
        self.io.write(close_frame(code))
        # a normal close waits for the client's close frame; an error drops it
        self.io.close(graceful=code == CloseCode.NORMAL)

    def buffered_bytes(self) -> int:
        return self.io.buffered_bytes()

    @property
    def shared_sink(self) -> SharedSink | None:
        # as the sink: none with compression, none once closing
        return self.io.shared_sink if self.sink is not None else None

    # -- input from the runtime ----------------------------------------------------

    def feed(self, data: bytes) -> None:
        try:
            events = self.decoder.feed(data)
        except WebSocketError as exc:
            log.info("%s: websocket protocol error %d (%s)", self.remote, exc.close_code, exc)
            self.close(exc.close_code)
            self.lost()
            return
        session = self.session
        for event in events:
            if type(event) is Message:  # the event classes are final: no isinstance
                if session is not None:
                    session.on_ws_message(self, event.data, self._clock())
            elif isinstance(event, Ping):
                if not self.closing:
                    self.io.write(pong_frame(event.payload))
            elif isinstance(event, Close):
                if not self.closing:
                    self._stop_sending()
                    code = event.code if event.code is not None else CloseCode.NORMAL
                    self.io.write(close_frame(code))
                self.io.close(graceful=False)
                self.lost()
                return

    def _stop_sending(self) -> None:
        # closing: no frame may follow the close frame, so no sink either
        self.closing = True
        self.sink = None

    def lost(self) -> None:
        """The stream ended (or the link gave up on it)."""
        self._stop_sending()
        session, self.session = self.session, None
        if session is not None:
            session.on_ws_closed(self, self._clock())


def accept_websocket(
    endpoint: Endpoint,
    req: HttpRequest,
    accept: WebSocketAccept,
    io: LinkIO,
    clock: Callable[[], float],
    remote: str | None = None,
) -> Handshake:
    """Check the upgrade request and build the link; raises WebSocketError
    (with the HTTP status to answer) when the handshake is malformed."""
    key = check_upgrade_request(req.method, req.headers)
    deflate: PerMessageDeflate | None = None
    ext_header: str | None = None
    if endpoint.websocket_compression:
        negotiated = PerMessageDeflate.negotiate(req.headers.get("sec-websocket-extensions"))
        if negotiated is not None:
            deflate, ext_header = negotiated
    link = WebSocketLink(accept, io, clock, endpoint.max_message_size, deflate, remote)
    return Handshake(handshake_response(key, accept.headers, ext_header), link)
