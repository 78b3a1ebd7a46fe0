"""One Socket.IO 0.9 client, sans-IO: the session of protocol 1.

A 0.9 session starts with a handshake (an HTTP request answered with the
session id) and lives on one transport connection at a time, which the client
may replace: a websocket or flashsocket (framed by the websocket), an
htmlfile stream (one long chunked response of ``<script>`` tags), or polling
(xhr-polling, jsonp-polling: one GET held until there is something to send
or the polling duration ends, answered with a noop then).

Timers, as socket.io 0.9.17 keeps them:

* heartbeats on the streaming transports (websocket, flashsocket, htmlfile):
  ``2::`` every heartbeat interval; no answer within the heartbeat timeout
  closes the session. Polling needs none: each poll proves the client alive.
* close timeout: while no transport connection is open (between two polls,
  after a dropped poll, after the handshake) the session waits this long
  for the client to come back.
* polling duration: a held GET with nothing to send is closed with ``8::``.

Like :class:`~hubbub.engineio.session.EngineSession`, it answers through the
host (``rearm``, ``wake``) and the websocket peer, and never touches a
clock or a socket.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qs

from hubbub import jsonmod
from hubbub.engineio.codec import PacketType, js_string_literal
from hubbub.engineio.outgoing import LEGACY_VERSION, OutPacket
from hubbub.http import HttpRequest
from hubbub.legacy.v09.codec import (
    LegacyDecodeError,
    LegacyPacket,
    LegacyType,
    decode_packet,
    decode_payload,
    encode_payload,
)
from hubbub.legacy.v09.options import LegacyOptions
from hubbub.runtime.contract import EPSILON, NULL_HOST, SessionHost, WebSocketPeer
from hubbub.types import DisconnectReason
from hubbub.websocket.frames import CloseCode

log = logging.getLogger("hubbub.legacy")

TEXT_TYPE = "text/plain; charset=UTF-8"
JS_TYPE = "text/javascript; charset=UTF-8"
HTML_TYPE = "text/html; charset=UTF-8"

HEARTBEAT = "2::"
NOOP = "8::"
DISCONNECT = "0::"
# error "client not handshaken", advice "reconnect": an unknown or ended session
ERROR_NOT_HANDSHAKEN = "7:::1+0"

# the htmlfile document's start: a function the frames call, then padding
# so that old browsers start running scripts before the first frame
HTMLFILE_HEAD = (
    "<html><body><script>var _ = function (msg) { parent.s._(msg, document); };</script>"
    + " " * 173
)

STREAMING = frozenset({"websocket", "flashsocket", "htmlfile"})
POLLING = frozenset({"xhr-polling", "jsonp-polling"})


class State(enum.Enum):
    HANDSHAKEN = "handshaken"  # no transport connection yet
    OPEN = "open"
    CLOSING = "closing"  # closed by the server; a last poll may still fetch "0::"
    CLOSED = "closed"


class SessionListener(Protocol):
    """Who a 0.9 session reports to (the 0.9 endpoint)."""

    def session_opened(self, session: LegacySession, request: HttpRequest) -> None:
        """The first transport connection arrived: the client is connected."""
        ...

    def session_packet(self, session: LegacySession, packet: LegacyPacket) -> None:
        """A packet from the client (heartbeats and noops stay here)."""
        ...

    def session_closed(self, session: LegacySession, reason: str) -> None:
        """The client is disconnected."""
        ...

    def session_gone(self, session: LegacySession) -> None:
        """The session is finished: forget it."""
        ...


class LegacySession:
    """One 0.9 client, whatever transport connection it is on right now."""

    version = LEGACY_VERSION

    def __init__(
        self,
        listener: SessionListener,
        options: LegacyOptions,
        sid: str,
        handshake: HttpRequest,
        now: float,
        loads: Callable[[str], Any] = jsonmod.loads,
    ) -> None:
        self.listener = listener
        self.sid = sid
        self.handshake = handshake
        self.loads = loads
        self.state = State.HANDSHAKEN
        self.transport = ""
        self.host: SessionHost = NULL_HOST
        self.close_reason: str | None = None
        self._heartbeat_interval = options.heartbeat_interval
        self._heartbeat_timeout = options.heartbeat_timeout
        self._close_timeout = options.close_timeout
        self._polling_duration = options.polling_duration
        self._queue: list[str] = []
        self._queued_bytes = 0
        self._ws: WebSocketPeer | None = None
        # a held polling GET (its transport and JSONP index) or htmlfile stream
        self._poll_held = False
        self._poll_jsonp: str | None = None
        self._stream_open = False
        self._stream_gen = 0  # which htmlfile response is the current one
        self._superseded = 0  # held GETs replaced by a newer one, owed a noop
        self._heartbeat_at: float | None = None
        self._heartbeat_deadline: float | None = None
        self._poll_deadline: float | None = None
        self._close_deadline: float | None = now + self._close_timeout

    def __repr__(self) -> str:
        return f"<LegacySession {self.sid} {self.state.value} {self.transport}>"

    # -- output ------------------------------------------------------------------

    # its frames go through send_packet (see hubbub.socketio.coalesce)
    shared_sink = None

    @property
    def buffered_bytes(self) -> int:
        ws = self._ws
        return self._queued_bytes + (ws.buffered_bytes() if ws is not None else 0)

    def send_packet(self, packet: OutPacket) -> None:
        """Queue one encoded 0.9 packet (``packet.data``). Never blocks."""
        if self.state is State.CLOSED or self.state is State.CLOSING:
            return
        ws = self._ws
        if ws is not None:
            sink = ws.sink  # as EngineSession.send_packet: the cached frame, no send call
            if sink is not None:
                sink.write(packet._frames[LEGACY_VERSION] or packet.ws_frame(LEGACY_VERSION))
            else:
                ws.send(packet)
            return
        data = packet.data
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        self._queue.append(text)
        self._queued_bytes += len(text)
        if self._poll_held or self._stream_open:
            self.host.wake()

    def _send_text(self, text: str) -> None:
        self.send_packet(OutPacket(PacketType.MESSAGE, text))

    def close(self, reason: str, now: float, *, notify: bool = True) -> None:
        """Close from the server side: the client gets ``0::`` (it will not
        reconnect)."""
        if self.state is State.CLOSED or self.state is State.CLOSING:
            return
        was_open = self.state is State.OPEN
        if self._ws is not None:
            self._close_ws(farewell=True)
            self._finish(reason, notify and was_open)
            return
        self._queue = [DISCONNECT]
        self._queued_bytes = len(DISCONNECT)
        self.state = State.CLOSING
        self.close_reason = reason
        self._heartbeat_at = self._heartbeat_deadline = self._poll_deadline = None
        if self._poll_held or self._stream_open:
            self.host.wake()
            self._close_deadline = now  # gone once answered
        else:
            # a polling client fetches the "0::" on its next GET
            self._close_deadline = now + self._close_timeout
        self.host.rearm(self.deadline)
        if notify and was_open:
            self.listener.session_closed(self, reason)

    # -- a transport connection arrives ----------------------------------------------

    def _opened(self, transport: str, request: HttpRequest, now: float) -> None:
        """A GET or websocket of ``transport`` is now this session's connection."""
        self.transport = transport
        self._close_deadline = None
        if transport in STREAMING:
            if self._heartbeat_at is None and self._heartbeat_deadline is None:
                self._heartbeat_at = now + self._heartbeat_interval
        else:
            self._heartbeat_at = self._heartbeat_deadline = None
        if self.state is State.HANDSHAKEN:
            self.state = State.OPEN
            self.listener.session_opened(self, request)

    def on_poll(
        self, transport: str, jsonp: str | None, request: HttpRequest, now: float
    ) -> tuple[bytes, str] | None:
        """A polling GET. Returns (body, content type) to answer at once, or
        None to hold it until :meth:`collect_poll` (after host.wake())."""
        if self.state is State.CLOSED:
            return poll_body([ERROR_NOT_HANDSHAKEN], jsonp)
        self._drop_transport()
        self._poll_jsonp = jsonp
        if self.state is State.CLOSING:
            self._close_deadline = now
            self.host.rearm(self.deadline)
            return self._take(jsonp)
        self._opened(transport, request, now)
        if self.state is not State.OPEN:
            return self._take(jsonp)
        if self._queue:
            self._close_deadline = now + self._close_timeout
            self.host.rearm(self.deadline)
            return self._take(jsonp)
        if self._poll_held:
            # a newer GET replaces a held one (the client gave up on it):
            # the old one gets a noop
            self._superseded += 1
            self.host.wake()
        self._poll_held = True
        self._poll_deadline = now + self._polling_duration
        self.host.rearm(self.deadline)
        return None

    def collect_poll(self, now: float) -> tuple[bytes, str]:
        """Answer the held GET (the runtime calls this after host.wake())."""
        if self._superseded:
            self._superseded -= 1
            return poll_body([NOOP], self._poll_jsonp)
        self._poll_held = False
        self._poll_deadline = None
        if self.state is State.OPEN:
            self._close_deadline = now + self._close_timeout
        elif self.state is State.CLOSING:
            self._close_deadline = now
        self.host.rearm(self.deadline)
        if not self._queue:
            return poll_body([NOOP], self._poll_jsonp)
        return self._take(self._poll_jsonp)

    def poll_aborted(self, now: float) -> None:
        """The client went away while its GET was held: the close timeout
        runs (it may come back)."""
        if self._superseded:
            self._superseded -= 1
            return
        if self._poll_held:
            self._poll_held = False
            self._poll_deadline = None
            if self.state is State.OPEN:
                self._close_deadline = now + self._close_timeout
            self.host.rearm(self.deadline)

    def _drain(self) -> list[str]:
        """What is queued, taken out of the queue."""
        queue, self._queue = self._queue, []
        self._queued_bytes = 0
        return queue

    def _take(self, jsonp: str | None) -> tuple[bytes, str]:
        return poll_body(self._drain() or [NOOP], jsonp)

    # -- htmlfile: one streamed response ---------------------------------------------------

    def open_stream(self, request: HttpRequest, now: float) -> tuple[bytes, int]:
        """An htmlfile GET: the document's start (and what is queued) and the
        stream's number; the runtime then writes :meth:`collect_stream` after
        each host.wake() until it says the document ends."""
        self._drop_transport()
        self._stream_gen += 1
        gen = self._stream_gen
        if self.state is State.CLOSED:
            return (HTMLFILE_HEAD + _script(ERROR_NOT_HANDSHAKEN)).encode("utf-8"), -1
        if self.state is State.CLOSING:
            self._close_deadline = now
            self.host.rearm(self.deadline)
            return (HTMLFILE_HEAD + _script(DISCONNECT)).encode("utf-8"), -1
        self._stream_open = True
        self._opened("htmlfile", request, now)
        self.host.rearm(self.deadline)
        return (HTMLFILE_HEAD + self._take_scripts()).encode("utf-8"), gen

    def collect_stream(self, gen: int, now: float) -> tuple[bytes, bool]:
        """The next chunk of htmlfile document ``gen``, and whether it ends."""
        if gen != self._stream_gen or not self._stream_open:
            return b"", True  # replaced by a newer connection, or never opened
        chunk = self._take_scripts()
        if self.state is not State.OPEN:
            self._stream_open = False
            return chunk.encode("utf-8"), True
        return chunk.encode("utf-8"), False

    def stream_aborted(self, gen: int, now: float) -> None:
        """The htmlfile connection dropped: like a websocket, the client is gone."""
        if gen == self._stream_gen and self._stream_open:
            self._stream_open = False
            self._gone(DisconnectReason.TRANSPORT_CLOSE)

    def _take_scripts(self) -> str:
        if not self._queue:
            return ""
        return _script(encode_payload(self._drain()))

    # -- websocket / flashsocket -----------------------------------------------------------

    def attach_websocket(
        self, peer: WebSocketPeer, transport: str, request: HttpRequest, now: float
    ) -> None:
        self._drop_transport()
        self._ws = peer
        queue = self._drain()
        if queue:
            peer.send(OutPacket(PacketType.MESSAGE, encode_payload(queue)))
        self._opened(transport, request, now)
        self.host.rearm(self.deadline)

    def on_ws_message(self, peer: WebSocketPeer, data: str | bytes, now: float) -> None:
        if peer is not self._ws:
            return
        if isinstance(data, bytes):
            try:
                data = data.decode("utf-8")
            except UnicodeDecodeError:
                log.info("sid=%s: websocket message is not UTF-8; dropped", self.sid)
                return
        self._on_payload(data, now)

    def on_ws_closed(self, peer: WebSocketPeer, now: float) -> None:
        if peer is self._ws:
            self._ws = None
            self._gone(DisconnectReason.TRANSPORT_CLOSE)

    # -- input -----------------------------------------------------------------------------

    def on_post(self, body: bytes, jsonp: bool, now: float) -> bool:
        """A POST with packets (a ``d=`` form for jsonp-polling). False when
        the body is malformed (logged; the runtime answers 400)."""
        if self.state is not State.OPEN:
            return True
        try:
            text = body.decode("utf-8")
            if jsonp:
                fields = parse_qs(text, keep_blank_values=True, strict_parsing=False)
                values = fields.get("d")
                if not values:
                    raise LegacyDecodeError("no d field in the form")
                text = self.loads(values[0])
                if not isinstance(text, str):
                    raise LegacyDecodeError("the d field is not a JSON string")
        except (UnicodeDecodeError, ValueError) as exc:
            log.info("sid=%s: bad POST body (%s)", self.sid, exc)
            return False
        return self._on_payload(text, now)

    def _on_payload(self, text: str, now: float) -> bool:
        try:
            messages = decode_payload(text)
        except LegacyDecodeError as exc:
            log.info("sid=%s: bad payload framing (%s)", self.sid, exc)
            return False
        for message in messages:
            if self.state is not State.OPEN:
                break
            try:
                packet = decode_packet(message, self.loads)
            except LegacyDecodeError as exc:
                log.info("sid=%s: invalid 0.9 packet dropped (%s): %.80r", self.sid, exc, message)
                continue
            ptype = packet.type
            if ptype is LegacyType.HEARTBEAT:
                if self._heartbeat_deadline is not None:
                    self._heartbeat_deadline = None
                    self._heartbeat_at = now + self._heartbeat_interval
                    self.host.rearm(self.deadline)
            elif ptype is LegacyType.NOOP:
                pass
            elif ptype is LegacyType.DISCONNECT and not packet.endpoint:
                self._gone(DisconnectReason.CLIENT_NAMESPACE_DISCONNECT)
            else:
                self.listener.session_packet(self, packet)
        return True

    # -- timers ------------------------------------------------------------------------------

    @property
    def deadline(self) -> float | None:
        if self.state is State.CLOSED:
            return None
        best: float | None = None
        for d in (
            self._heartbeat_at,
            self._heartbeat_deadline,
            self._poll_deadline,
            self._close_deadline,
        ):
            if d is not None and (best is None or d < best):
                best = d
        return best

    def on_timer(self, now: float) -> None:
        reached = now + EPSILON
        if self.state is State.CLOSED:
            return
        if self._close_deadline is not None and reached >= self._close_deadline:
            if self.state is State.CLOSING:
                self._finish(self.close_reason or DisconnectReason.FORCED_SERVER_CLOSE, False)
            else:
                # the handshaken client never came, or did not come back
                self._gone(DisconnectReason.TRANSPORT_CLOSE)
            return
        if self._heartbeat_deadline is not None and reached >= self._heartbeat_deadline:
            log.info("sid=%s: no heartbeat within %ss; closing", self.sid, self._heartbeat_timeout)
            self._gone(DisconnectReason.PING_TIMEOUT)
            return
        if self._heartbeat_at is not None and reached >= self._heartbeat_at:
            self._heartbeat_at = None
            self._heartbeat_deadline = now + self._heartbeat_timeout
            self._send_text(HEARTBEAT)
        if self._poll_deadline is not None and reached >= self._poll_deadline:
            # polling duration over: the held GET is answered with a noop
            self._poll_deadline = None
            if self._poll_held:
                self.host.wake()
        self.host.rearm(self.deadline)

    # -- endings -------------------------------------------------------------------------

    def _drop_transport(self) -> None:
        """A new transport connection replaces the current one."""
        self._close_ws()
        if self._stream_open:
            self._stream_open = False
            self._stream_gen += 1  # the running document ends at its next chunk
            self.host.wake()

    def _gone(self, reason: str) -> None:
        """The client left (or its transport is gone for good)."""
        if self.state is State.CLOSED:
            return
        was_open = self.state is State.OPEN
        self._close_ws()
        if self._poll_held or self._stream_open:
            self.host.wake()
        self._finish(reason, was_open)

    def _finish(self, reason: str, notify: bool) -> None:
        self.state = State.CLOSED
        self.close_reason = reason
        self._queue = []
        self._queued_bytes = 0
        self._heartbeat_at = self._heartbeat_deadline = None
        self._poll_deadline = self._close_deadline = None
        self.host.rearm(None)
        self.listener.session_gone(self)
        if notify:
            self.listener.session_closed(self, reason)

    def forced_disconnect(self) -> None:
        """``?disconnect`` on a transport URL: the client says goodbye. Its
        open connection gets ``0::`` (as socket.io 0.9.17 does), so it knows
        it is disconnected rather than poll or reconnect again."""
        if self.state is State.CLOSED:
            return
        was_open = self.state is State.OPEN
        self._close_ws(farewell=True)
        held = self._poll_held or self._stream_open
        self._finish(DisconnectReason.CLIENT_NAMESPACE_DISCONNECT, was_open)
        if held:
            # the held GET or htmlfile document carries the farewell
            self._queue = [DISCONNECT]
            self.host.wake()


    def _close_ws(self, farewell: bool = False) -> None:
        """Close the websocket carrying the session, if one does (after a
        ``0::`` when ``farewell``)."""
        ws, self._ws = self._ws, None
        if ws is not None:
            if farewell:
                ws.send(OutPacket(PacketType.MESSAGE, DISCONNECT))
            ws.close(CloseCode.NORMAL)


def poll_body(messages: list[str], jsonp: str | None) -> tuple[bytes, str]:
    """A polling answer carrying ``messages``: (body, content type), wrapped
    as ``io.j[<jsonp>]("...");`` for jsonp-polling."""
    payload = encode_payload(messages)
    if jsonp is not None:
        body = "io.j[" + jsonp + "](" + js_string_literal(payload) + ");"
        return body.encode("utf-8"), JS_TYPE
    return payload.encode("utf-8"), TEXT_TYPE


def _script(payload: str) -> str:
    return "<script>_(" + js_string_literal(payload) + ");</script>"
