"""One Socket.IO 0.6 client, sans-IO: the session of ``new io.Socket()``.

A 0.6 session has no handshake of its own: the first request of a transport
(a websocket to ``/<resource>/websocket``, a poll to
``/<resource>/xhr-polling//<ms>``, ...) creates it, and the first body it
answers is the session id. It lives on that one transport until it ends;
a reconnecting client starts a new session.

* websocket, flashsocket: one text frame per write.
* htmlfile, xhr-multipart: one long streamed response, a ``<script>`` tag or
  a multipart part per write; the client posts its messages.
* xhr-polling, jsonp-polling: a GET held until there is something to send or
  the polling duration ends (then answered empty); the client posts.

Timers, as socket.io 0.6.18 keeps them:

* heartbeats on websocket, flashsocket, htmlfile and xhr-multipart: ``~h~<n>``
  (n = 1, 2, ...) every heartbeat interval after the session opens and after
  each right echo; no echo within the heartbeat timeout ends the session;
* close timeout (polling): after each poll is answered (or dropped by the
  client) the session waits this long for the next GET;
* polling duration: a held GET with nothing to send is answered empty.

There is no disconnect message in 0.6: a closed transport ends the session,
and a polling client learns its session is gone when its next request is
refused.

Like the other sessions it acts through its host (``rearm``, ``wake``) and
the websocket peer, and never reads a clock.
"""

from __future__ import annotations

import enum
import logging
from collections.abc import Callable
from typing import Any, Protocol
from urllib.parse import parse_qs

from hubbub import jsonmod
from hubbub.engineio.codec import PacketType, js_string_literal
from hubbub.engineio.outgoing import V06_VERSION, OutPacket
from hubbub.http import HttpRequest
from hubbub.legacy.v06.codec import V06DecodeError, decode_body, decode_payload, frame, heartbeat
from hubbub.legacy.v06.options import POLLING, V06Options
from hubbub.runtime.contract import EPSILON, NULL_HOST, SessionHost, WebSocketPeer
from hubbub.types import DisconnectReason
from hubbub.websocket.frames import CloseCode

log = logging.getLogger("hubbub.legacy")

TEXT_TYPE = "text/plain; charset=UTF-8"
JS_TYPE = "text/javascript; charset=UTF-8"
HTML_TYPE = "text/html; charset=UTF-8"
MULTIPART_TYPE = 'multipart/x-mixed-replace;boundary="socketio"'

# the htmlfile document's start, padded to 256 bytes so that old browsers
# start running its scripts before the first one arrives
HTMLFILE_HEAD = "<html><body>" + " " * 244
MULTIPART_HEAD = "--socketio\n"

HEARTBEATS = frozenset({"websocket", "flashsocket", "htmlfile", "xhr-multipart"})


class State(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"  # closed by the server; a last poll may still fetch the queue
    CLOSED = "closed"


class SessionListener(Protocol):
    """Who a 0.6 session reports to (the 0.6 endpoint)."""

    def session_opened(self, session: V06Session, request: HttpRequest) -> None:
        """The client has its session id: it is connected."""
        ...

    def session_message(self, session: V06Session, value: Any, kind: str) -> None:
        """A message from the client: ``kind`` "text" (a str) or "json"."""
        ...

    def session_closed(self, session: V06Session, reason: str) -> None:
        """The client is disconnected."""
        ...

    def session_gone(self, session: V06Session) -> None:
        """The session is finished: forget it."""
        ...


def jsonp_body(payload: str, index: str) -> bytes:
    """A jsonp-polling answer: ``io.JSONP[<index>]._("<payload>");``."""
    return ("io.JSONP[" + index + "]._(" + js_string_literal(payload) + ");").encode("utf-8")


def poll_body(payload: str, jsonp: str | None) -> tuple[bytes, str]:
    """A polling answer: (body, content type)."""
    if jsonp is not None:
        return jsonp_body(payload, jsonp), JS_TYPE
    return payload.encode("utf-8"), TEXT_TYPE


class V06Session:
    """One 0.6 client on its one transport."""

    version = V06_VERSION

    def __init__(
        self,
        listener: SessionListener,
        options: V06Options,
        sid: str,
        transport: str,
        request: HttpRequest,
        now: float,
        loads: Callable[[str], Any] = jsonmod.loads,
    ) -> None:
        self.listener = listener
        self.sid = sid
        self.transport = transport
        self.request = request
        self.loads = loads
        self.state = State.OPEN
        self.host: SessionHost = NULL_HOST
        self.close_reason: str | None = None
        self._heartbeat_interval = options.heartbeat_interval
        self._heartbeat_timeout = options.heartbeat_timeout
        self._close_timeout = options.close_timeout
        self._polling_duration = options.polling_duration
        self._queue: list[str] = []  # framed payloads, in order
        self._queued_bytes = 0
        self._ws: WebSocketPeer | None = None
        self._jsonp: str | None = None  # the jsonp-polling callback index
        self._poll_held = False
        self._superseded = 0  # held GETs replaced by a newer one, owed an empty answer
        self._stream_open = False
        self._heartbeats_sent = 0
        self._heartbeat_at: float | None = None
        self._heartbeat_deadline: float | None = None
        self._poll_deadline: float | None = None
        self._close_deadline: float | None = None

    def __repr__(self) -> str:
        return f"<V06Session {self.sid} {self.state.value} {self.transport}>"

    @property
    def polling(self) -> bool:
        return self.transport in POLLING

    # -- output ------------------------------------------------------------------

    # its frames go through send_packet (see hubbub.socketio.coalesce)
    shared_sink = None

    @property
    def buffered_bytes(self) -> int:
        ws = self._ws
        return self._queued_bytes + (ws.buffered_bytes() if ws is not None else 0)

    def send_packet(self, packet: OutPacket) -> None:
        """Queue one framed payload (``packet.data``). Never blocks."""
        if self.state is not State.OPEN:
            return
        ws = self._ws
        if ws is not None:
            sink = ws.sink  # the cached frame, without the call to send
            if sink is not None:
                sink.write(packet._frames[V06_VERSION] or packet.ws_frame(V06_VERSION))
            else:
                ws.send(packet)
            return
        data = packet.data
        text = data if isinstance(data, str) else data.decode("utf-8", "replace")
        if not text:
            return
        self._queue.append(text)
        self._queued_bytes += len(text)
        if self._poll_held or self._stream_open:
            self.host.wake()

    def _send_text(self, body: str) -> None:
        self.send_packet(OutPacket(PacketType.MESSAGE, frame(body)))

    def _drain(self) -> str:
        queue, self._queue = self._queue, []
        self._queued_bytes = 0
        return "".join(queue)

    # -- the first request ---------------------------------------------------------

    def _open(self, now: float) -> None:
        """The client has (or is about to get) its id: tell the listener,
        whose first sends then follow the id."""
        if self.transport in HEARTBEATS:
            self._heartbeat_at = now + self._heartbeat_interval
        self.listener.session_opened(self, self.request)

    def open_polling(self, jsonp: str | None, now: float) -> tuple[bytes, str]:
        """The first GET of a polling session: answered at once with the
        session id (and what the connect handlers sent meanwhile)."""
        self._jsonp = jsonp
        self._open(now)
        payload = frame(self.sid) + self._drain()
        self._close_deadline = now + self._close_timeout
        self.host.rearm(self.deadline)
        return poll_body(payload, jsonp)

    def open_stream(self, now: float) -> bytes:
        """The one GET of an htmlfile or xhr-multipart session: the start of
        the streamed response; the runtime then writes :meth:`collect_stream`
        after each host.wake() until it says the response ends."""
        self._stream_open = True
        self._open(now)
        head = HTMLFILE_HEAD if self.transport == "htmlfile" else MULTIPART_HEAD
        body = head + self._envelope(frame(self.sid))
        queued = self._drain()
        if queued:
            body += self._envelope(queued)
        self.host.rearm(self.deadline)
        return body.encode("utf-8")

    def attach_websocket(self, peer: WebSocketPeer, now: float) -> None:
        """A websocket (or flashsocket) session: the id is its first frame."""
        self._ws = peer
        peer.send(OutPacket(PacketType.MESSAGE, frame(self.sid)))
        self._open(now)
        self.host.rearm(self.deadline)

    # -- polling ---------------------------------------------------------------------

    def on_poll(self, jsonp: str | None, now: float) -> tuple[bytes, str] | None:
        """A later polling GET. Returns (body, content type) to answer at
        once, or None to hold it until :meth:`collect_poll`."""
        self._jsonp = jsonp
        self._close_deadline = None
        if self.state is State.CLOSING or self._queue:
            return self._answer(now)
        if self._poll_held:
            # a newer GET replaces a held one (the client gave up on it)
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
            return poll_body("", self._jsonp)
        self._poll_held = False
        self._poll_deadline = None
        return self._answer(now)

    def _answer(self, now: float) -> tuple[bytes, str]:
        """What is queued, as a poll's answer; the close timeout runs again."""
        payload = self._drain()
        if self.state is State.CLOSING:
            # the last messages are out: the client's next request is refused
            self._finish(self.close_reason or DisconnectReason.FORCED_SERVER_CLOSE, False)
        elif self.state is State.OPEN:
            self._close_deadline = now + self._close_timeout
            self.host.rearm(self.deadline)
        return poll_body(payload, self._jsonp)

    def poll_aborted(self, now: float) -> None:
        """The client dropped its held GET: it may still come back."""
        if self._superseded:
            self._superseded -= 1
            return
        if self._poll_held:
            self._poll_held = False
            self._poll_deadline = None
            if self.state is State.OPEN:
                self._close_deadline = now + self._close_timeout
                self.host.rearm(self.deadline)
            elif self.state is State.CLOSING:
                self._finish(self.close_reason or DisconnectReason.FORCED_SERVER_CLOSE, False)

    # -- htmlfile and xhr-multipart ------------------------------------------------------

    def _envelope(self, payload: str) -> str:
        """One streamed write carrying ``payload``."""
        if self.transport == "htmlfile":
            return "<script>parent.s._(" + js_string_literal(payload) + ", document);</script>"
        return "Content-Type: text/plain\n\n" + payload + "\n--socketio\n"

    def collect_stream(self, generation: int, now: float) -> tuple[bytes, bool]:
        """The next chunk of the streamed response, and whether it ends."""
        if not self._stream_open:
            return b"", True
        payload = self._drain()
        chunk = self._envelope(payload).encode("utf-8") if payload else b""
        if self.state is not State.OPEN:
            self._stream_open = False
            return chunk, True
        return chunk, False

    def stream_aborted(self, generation: int, now: float) -> None:
        """The streamed response's connection dropped: the client is gone."""
        if self._stream_open:
            self._stream_open = False
            self._gone(DisconnectReason.TRANSPORT_CLOSE)

    # -- websocket input ------------------------------------------------------------------

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

    # -- POSTed messages ---------------------------------------------------------------------

    def on_post(self, body: bytes, now: float) -> bool:
        """A POST of the form ``data=<payload>``. False when the body is not
        such a form (logged; the endpoint answers 400)."""
        if self.state is not State.OPEN:
            return True
        try:
            fields = parse_qs(body.decode("utf-8"), keep_blank_values=True)
        except (UnicodeDecodeError, ValueError) as exc:
            log.info("sid=%s: bad POST body (%s)", self.sid, exc)
            return False
        values = fields.get("data")
        if not values:
            log.info("sid=%s: POST without a data field", self.sid)
            return False
        payload = values[0]
        if self.transport == "jsonp-polling" and "\r\n" in payload:
            payload = _form_newlines(payload)
        self._on_payload(payload, now)
        return True

    def _on_payload(self, text: str, now: float) -> None:
        bodies, rest = decode_payload(text)
        if rest:
            log.info("sid=%s: %d characters after the last whole frame dropped: %.40r",
                     self.sid, len(rest), rest)
        for body in bodies:
            if self.state is not State.OPEN:
                return
            try:
                message = decode_body(body, self.loads)
            except V06DecodeError as exc:
                log.info("sid=%s: message dropped (%s): %.80r", self.sid, exc, body)
                continue
            if message.kind == "heartbeat":
                self._on_heartbeat(message.value, now)
            else:
                self.listener.session_message(self, message.value, message.kind)

    def _on_heartbeat(self, number: str, now: float) -> None:
        if self._heartbeat_deadline is None or number != str(self._heartbeats_sent):
            return  # an echo of an older heartbeat, or none was asked for
        self._heartbeat_deadline = None
        self._heartbeat_at = now + self._heartbeat_interval
        self.host.rearm(self.deadline)

    # -- timers ---------------------------------------------------------------------------------

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
                self._gone(DisconnectReason.TRANSPORT_CLOSE)
            return
        if self._heartbeat_deadline is not None and reached >= self._heartbeat_deadline:
            log.info("sid=%s: no heartbeat echo within %ss; closing", self.sid,
                     self._heartbeat_timeout)
            self._gone(DisconnectReason.PING_TIMEOUT)
            return
        if self._heartbeat_at is not None and reached >= self._heartbeat_at:
            self._heartbeat_at = None
            self._heartbeat_deadline = now + self._heartbeat_timeout
            self._heartbeats_sent += 1
            self._send_text(heartbeat(self._heartbeats_sent))
        if self._poll_deadline is not None and reached >= self._poll_deadline:
            # the polling duration is over: the held GET is answered empty
            self._poll_deadline = None
            if self._poll_held:
                self.host.wake()
        self.host.rearm(self.deadline)

    # -- endings -------------------------------------------------------------------------------

    def close(self, reason: str, now: float, *, notify: bool = True) -> None:
        """Close from the server side. A websocket is closed; a stream ends;
        a polling client gets what is queued on its next GET, and the one
        after is refused, which tells it the session is over."""
        if self.state is not State.OPEN:
            return
        if self._ws is not None or self._stream_open or not self._queue:
            # a stream ends with what is queued; a held poll is answered
            self._finish(reason, notify)
            return
        self.state = State.CLOSING
        self.close_reason = reason
        self._heartbeat_at = self._heartbeat_deadline = self._poll_deadline = None
        if self._poll_held:
            self.host.wake()
        else:
            self._close_deadline = now + self._close_timeout
        self.host.rearm(self.deadline)
        if notify:
            self.listener.session_closed(self, reason)

    def _gone(self, reason: str) -> None:
        """The client left, or its transport is gone for good."""
        if self.state is State.CLOSED:
            return
        self._finish(reason, self.state is State.OPEN)

    def _finish(self, reason: str, notify: bool) -> None:
        ws, self._ws = self._ws, None
        stream_ends = self._stream_open
        self.state = State.CLOSED
        self.close_reason = reason
        if not stream_ends:
            self._queue = []
            self._queued_bytes = 0
        self._heartbeat_at = self._heartbeat_deadline = None
        self._poll_deadline = self._close_deadline = None
        self.host.rearm(None)
        if self._poll_held or stream_ends:
            self.host.wake()
        if ws is not None:
            ws.close(CloseCode.NORMAL)
        self.listener.session_gone(self)
        if notify:
            self.listener.session_closed(self, reason)


def _form_newlines(payload: str) -> str:
    """A form POST turns each LF of the page's payload into CRLF after the
    client counted the lengths: when the payload no longer frames cleanly
    but does with the LFs back, the page sent the latter."""
    if not decode_payload(payload).rest:
        return payload
    restored = payload.replace("\r\n", "\n")
    return restored if not decode_payload(restored).rest else payload
