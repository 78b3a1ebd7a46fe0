"""The Engine.IO session state machine, v3 and v4, sans-IO.

One :class:`EngineSession` per client. It takes decoded input (a POST body, a
websocket message, a timer tick) together with ``now`` on every entry point,
reports what happens to the :class:`SessionListener` it is given, and acts
through two narrow doors a runtime implements
(:mod:`hubbub.runtime.contract`):

* ``SessionHost``: ``rearm(deadline)`` to be woken at the next deadline,
  ``wake()`` when a held long-polling GET can be answered;
* ``WebSocketPeer``: the websocket connection carrying this session,
  ``send(OutPacket)`` (non-blocking) and ``close(code)``.

It never imports a clock, a socket or an event loop: every rule below can be
driven by a unit test with a fake host and a fake clock.
"""

from __future__ import annotations

import enum
import logging
from typing import Protocol

from hubbub import jsonmod
from hubbub.engineio.codec import (
    EngineIODecodeError,
    Packet,
    PacketType,
    decode_packet,
    decode_payload_v3,
    decode_payload_v4,
    encode_payload_v3,
    encode_payload_v4,
    jsonp_unwrap_form,
    jsonp_wrap,
)
from hubbub.engineio.options import EngineOptions
from hubbub.engineio.outgoing import OutPacket
from hubbub.runtime.contract import EPSILON, NULL_HOST, SessionHost, WebSocketPeer
from hubbub.types import DisconnectReason
from hubbub.websocket.frames import CloseCode
from hubbub.websocket.shared import SharedSink

log = logging.getLogger("hubbub.engineio")

# while a client upgrades, a GET held after the probe is answered with a noop
# this soon (Node's engine.io checks every 100 ms): the client may have sent
# it before it saw the probe's pong, and it only switches once it returns
UPGRADE_NOOP_INTERVAL = 0.1


class SessionListener(Protocol):
    """Who a session reports to (the Engine.IO server)."""

    def session_message(self, session: EngineSession, data: str | bytes) -> None:
        """A message from the client."""
        ...

    def session_upgraded(self, session: EngineSession) -> None:
        """The client moved from polling to a websocket."""
        ...

    def session_closed(self, session: EngineSession, reason: str) -> None:
        """The client is disconnected (the session may linger to deliver a
        last close packet to a polling client)."""
        ...

    def session_gone(self, session: EngineSession) -> None:
        """The session is finished: forget it."""
        ...


class State(enum.Enum):
    OPEN = "open"
    CLOSING = "closing"  # a close packet is waiting for the client's next GET
    CLOSED = "closed"


class PollError(Exception):
    """A polling request the session refuses; the session is closed by then."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


_PING = OutPacket(PacketType.PING)
_PONG = OutPacket(PacketType.PONG)
_NOOP = Packet(PacketType.NOOP)
_CLOSE = Packet(PacketType.CLOSE)
# the queue of every session with nothing queued for a poll; never appended
# to (send_packet gives a session a list of its own first)
_NO_QUEUE: list[OutPacket] = []


class EngineSession:
    """One Engine.IO client, whatever transport it is on right now."""

    # one per connection, idle ones included: no per-instance __dict__
    __slots__ = (
        "_client_closed",
        "_close_deadline",
        "_noop_at",
        "_noop_due",
        "_ping_at",
        "_poll_held",
        "_pong_deadline",
        "_probe",
        "_probed",
        "_queue",
        "_queued_bytes",
        "_upgrade_deadline",
        "_ws",
        "close_reason",
        "host",
        "jsonp_index",
        "listener",
        "options",
        "sid",
        "state",
        "supports_binary",
        "transport",
        "upgraded",
        "version",
    )

    def __init__(
        self,
        listener: SessionListener,
        options: EngineOptions,
        sid: str,
        version: int,
        transport: str,
        now: float,
        *,
        supports_binary: bool = True,
        jsonp_index: str | None = None,
    ) -> None:
        self.listener = listener
        self.options = options
        self.sid = sid
        self.version = version
        self.transport = transport
        self.state = State.OPEN
        self.supports_binary = supports_binary
        self.jsonp_index = jsonp_index
        self.host: SessionHost = NULL_HOST
        self.upgraded = False
        self.close_reason: str | None = None
        # the shared empty queue until the first packet is queued for a poll:
        # a websocket session never needs a list of its own
        self._queue: list[OutPacket] = _NO_QUEUE
        self._queued_bytes = 0
        self._poll_held = False
        self._noop_due = False
        self._client_closed = False
        self._ws: WebSocketPeer | None = None
        self._probe: WebSocketPeer | None = None
        self._probed = False
        self._upgrade_deadline: float | None = None
        self._noop_at: float | None = None
        self._close_deadline: float | None = None
        if version >= 4:
            # v4: the server pings after an interval and expects a pong in time
            self._ping_at: float | None = now + self.options.ping_interval
            self._pong_deadline: float | None = None
        else:
            # v3: the client pings; silence for interval + timeout closes
            self._ping_at = None
            self._pong_deadline = now + self.options.ping_interval + self.options.ping_timeout

    # -- the handshake ---------------------------------------------------

    def open_packet(self) -> Packet:
        opts = self.options
        upgrades = (
            ["websocket"]
            if self.transport == "polling"
            and opts.allow_upgrades
            and "websocket" in opts.transports
            else []
        )
        info: dict[str, object] = {
            "sid": self.sid,
            "upgrades": upgrades,
            "pingInterval": int(opts.ping_interval * 1000),
            "pingTimeout": int(opts.ping_timeout * 1000),
        }
        if self.version >= 4:
            info["maxPayload"] = opts.max_http_buffer_size
        return Packet(PacketType.OPEN, jsonmod.dumps(info))

    def handshake_body(self) -> tuple[bytes, str]:
        """The first polling response: the open packet as a payload."""
        return self._encode_payload([self.open_packet()])

    # -- output ----------------------------------------------------------

    @property
    def queued_bytes(self) -> int:
        """Bytes waiting for a poll."""
        return self._queued_bytes

    @property
    def buffered_bytes(self) -> int:
        """Bytes sent but not yet on the wire: the polling queue plus what the
        websocket's transport holds. A slow consumer shows here."""
        ws = self._ws
        return self._queued_bytes + (ws.buffered_bytes() if ws is not None else 0)

    @property
    def shared_sink(self) -> SharedSink | None:
        """The websocket's queue for shared blocks of frames, while the
        session writes frames straight to its websocket; else None."""
        ws = self._ws
        return ws.shared_sink if ws is not None else None

    def send_packet(self, packet: OutPacket) -> None:
        """Queue a packet for the client. Never blocks, never raises."""
        ws = self._ws
        if ws is not None:
            # an attached websocket means OPEN, no upgrade under way (_fail and
            # _finish detach it before the state changes; a probe is only
            # taken by a polling session)
            sink = ws.sink
            if sink is not None:
                version = self.version
                sink.write(packet._frames[version] or packet.ws_frame(version))
            else:
                ws.send(packet)
            return
        if self.state is not State.OPEN:
            return
        queue = self._queue
        if queue is _NO_QUEUE:
            self._queue = [packet]
        else:
            queue.append(packet)
        self._queued_bytes += len(packet)
        if self._poll_held:
            self.host.wake()

    def send(self, data: str | bytes) -> None:
        self.send_packet(OutPacket(PacketType.MESSAGE, data))

    def close(self, reason: str, now: float, *, notify: bool = True) -> None:
        """Close from the server side: the client gets a close packet."""
        if self.state is not State.OPEN:
            return
        if self._ws is not None and self._probe is None:
            self._ws.send(OutPacket(PacketType.CLOSE))
            self._ws.close(CloseCode.NORMAL)
            self._finish(reason, notify)
            return
        if self._probe is not None:
            self._probe.close(CloseCode.NORMAL)
            self._probe = None
        # polling: the close packet rides on the client's next GET; keep the
        # session around long enough for that GET to come
        self.state = State.CLOSING
        self.close_reason = reason
        self._close_deadline = now + self.options.ping_timeout + self.options.ping_interval
        if self._poll_held:
            self.host.wake()
        self.host.rearm(self.deadline)
        if notify:
            self.listener.session_closed(self, reason)

    # -- long polling ----------------------------------------------------

    def on_poll(self, now: float) -> tuple[bytes, str] | None:
        """A GET arrived. Returns (body, content type) to answer now, or None
        to hold the request until :meth:`collect_poll` (after host.wake())."""
        if self.transport != "polling" or self.upgraded:
            raise PollError(400, "Bad request")
        if self._poll_held:
            # at most one GET at a time: a second one is a broken client
            self._fail(DisconnectReason.TRANSPORT_ERROR, "overlapping GET", now)
            raise PollError(400, "Bad request")
        if self.state is State.CLOSED:
            raise PollError(400, "Session ID unknown")
        if self.state is State.CLOSING or self._queue or self._noop_due:
            return self._take_poll()
        self._poll_held = True
        if self._probed and self._probe is not None:
            self._noop_at = now + UPGRADE_NOOP_INTERVAL
            self.host.rearm(self.deadline)
        return None

    def collect_poll(self, now: float) -> tuple[bytes, str]:
        """Answer the held GET (the runtime calls this after host.wake())."""
        self._poll_held = False
        return self._take_poll()

    def poll_aborted(self, now: float) -> None:
        """The client went away while its GET was held."""
        if self._poll_held:
            self._poll_held = False
            self._fail(DisconnectReason.TRANSPORT_CLOSE, "poll connection closed prematurely", now)

    @property
    def poll_held(self) -> bool:
        return self._poll_held

    def _take_poll(self) -> tuple[bytes, str]:
        if self._noop_due and self.state is State.OPEN:
            # the client is upgrading: end this poll with a noop and keep the
            # queue for the websocket, so nothing is sent twice or reordered
            self._noop_due = False
            return self._encode_payload([_NOOP])
        if self.state is not State.OPEN:
            tail = _NOOP if self._client_closed else _CLOSE
            packets = [p.packet for p in self._queue] + [tail]
            self._queue.clear()
            self._queued_bytes = 0
            body = self._encode_payload(packets)
            self.state = State.CLOSED
            self._close_deadline = None
            self.listener.session_gone(self)
            return body
        if not self._queue:
            return self._encode_payload([_NOOP])
        packets = [p.packet for p in self._queue]
        self._queue.clear()
        self._queued_bytes = 0
        return self._encode_payload(packets)

    def on_post(self, body: bytes, now: float) -> None:
        """A POST arrived. Raises PollError (session closed) on bad input."""
        if self.transport != "polling" or self.upgraded or self.state is not State.OPEN:
            raise PollError(400, "Bad request")
        try:
            if self.jsonp_index is not None:
                text = jsonp_unwrap_form(body)
                packets = (
                    decode_payload_v3(text.encode("utf-8"))
                    if self.version < 4
                    else decode_payload_v4(text)
                )
            elif self.version >= 4:
                packets = decode_payload_v4(body.decode("utf-8"))
            else:
                packets = decode_payload_v3(body)
        except (EngineIODecodeError, UnicodeDecodeError) as exc:
            log.info("sid=%s: bad polling payload (%s); closing", self.sid, exc)
            self._fail(DisconnectReason.PARSE_ERROR, str(exc), now)
            raise PollError(400, "Bad request") from None
        for packet in packets:
            if self.state is not State.OPEN:
                break
            self._on_packet(packet, now)

    def refuse_post(self, detail: str, now: float) -> None:
        """A POST the runtime would not read (over max_http_buffer_size): a
        client error like a bad payload, so no close packet is owed."""
        self._fail(DisconnectReason.TRANSPORT_ERROR, detail, now)

    # -- websocket ---------------------------------------------------------

    def attach_websocket(self, peer: WebSocketPeer, now: float) -> None:
        """A session that started on websocket: the open packet goes out now."""
        self._ws = peer
        self.transport = "websocket"
        peer.send(OutPacket(PacketType.OPEN, self.open_packet().data))
        self.host.rearm(self.deadline)

    def begin_upgrade(self, peer: WebSocketPeer, now: float) -> bool:
        """A websocket arrived for this polling session. False: refuse it."""
        if (
            self.state is not State.OPEN
            or self.upgraded
            or self._probe is not None
            or self.transport != "polling"
        ):
            return False
        self._probe = peer
        self._probed = False
        self._upgrade_deadline = now + self.options.upgrade_timeout
        self.host.rearm(self.deadline)
        return True

    def on_ws_message(self, peer: WebSocketPeer, data: str | bytes, now: float) -> None:
        if peer is self._probe:
            self._on_probe_message(peer, data, now)
            return
        if peer is not self._ws or self.state is not State.OPEN:
            return
        if type(data) is str and data[:1] == "4":
            # a text MESSAGE, nearly all the traffic: what decode_packet and
            # _on_packet would do with it, without the Packet in between
            self.listener.session_message(self, data[1:])
            return
        try:
            packet = decode_packet(data, self.version)
        except EngineIODecodeError as exc:
            log.info("sid=%s: bad websocket packet (%s); closing", self.sid, exc)
            peer.close(CloseCode.PROTOCOL_ERROR)
            self._fail(DisconnectReason.PARSE_ERROR, str(exc), now)
            return
        self._on_packet(packet, now)

    def on_ws_closed(self, peer: WebSocketPeer, now: float) -> None:
        if peer is self._probe:
            self._probe = None
            self._upgrade_deadline = None
            self._noop_due = False
        elif peer is self._ws and self.state is not State.CLOSED:
            self._ws = None
            self._fail(DisconnectReason.TRANSPORT_CLOSE, "websocket closed", now)

    def _on_probe_message(self, peer: WebSocketPeer, data: str | bytes, now: float) -> None:
        try:
            packet = decode_packet(data, self.version)
        except EngineIODecodeError:
            packet = Packet(PacketType.NOOP, "invalid")
        if packet.type is PacketType.PING and packet.data == "probe" and not self._probed:
            self._probed = True
            peer.send(OutPacket(PacketType.PONG, "probe"))
            # force the polling cycle to end so the client can upgrade fast
            self._noop_due = True
            if self._poll_held:
                self.host.wake()
        elif packet.type is PacketType.UPGRADE and self._probed and self.state is State.OPEN:
            self._probe = None
            self._upgrade_deadline = None
            self._noop_due = False
            self._ws = peer
            self.transport = "websocket"
            self.upgraded = True
            if self._poll_held:
                # a GET still held gets an empty answer: nothing is lost, the
                # queue goes to the websocket below
                self.host.wake()
            queue, self._queue = self._queue, _NO_QUEUE
            self._queued_bytes = 0
            for p in queue:
                peer.send(p)
            self.listener.session_upgraded(self)
        else:
            log.info("sid=%s: unexpected packet during upgrade; dropping the probe", self.sid)
            self._probe = None
            self._upgrade_deadline = None
            self._noop_due = False
            peer.close(CloseCode.PROTOCOL_ERROR)
        self.host.rearm(self.deadline)

    # -- packets from the client ---------------------------------------------

    def _on_packet(self, packet: Packet, now: float) -> None:
        ptype = packet.type
        if ptype is PacketType.MESSAGE:
            self.listener.session_message(self, packet.data)
        elif ptype is PacketType.PONG and self.version >= 4:
            self._pong_deadline = None
            self._ping_at = now + self.options.ping_interval
            self.host.rearm(self.deadline)
        elif ptype is PacketType.PING and self.version < 4:
            self._pong_deadline = now + self.options.ping_interval + self.options.ping_timeout
            self.send_packet(OutPacket(PacketType.PONG, packet.data) if packet.data else _PONG)
        elif ptype is PacketType.CLOSE:
            self._client_closed = True
            if self._ws is not None:
                self._ws.close(CloseCode.NORMAL)
            self._fail(DisconnectReason.TRANSPORT_CLOSE, "client sent close", now)
        elif ptype in (PacketType.PING, PacketType.PONG):
            log.info("sid=%s: heartbeat in the wrong direction; closing", self.sid)
            self._fail(DisconnectReason.TRANSPORT_ERROR, "invalid heartbeat direction", now)
        elif ptype is PacketType.NOOP or ptype is PacketType.UPGRADE:
            pass
        else:  # OPEN from a client
            self._fail(DisconnectReason.PARSE_ERROR, "unexpected packet type", now)

    # -- timers ------------------------------------------------------------

    @property
    def deadline(self) -> float | None:
        # only the deadlines on_timer acts on in this state: a stale heartbeat
        # deadline left on a closing or closed session would re-arm the host
        # for a past time over and over (a busy loop)
        if self.state is State.CLOSED:
            return None
        if self.state is State.CLOSING:
            return self._close_deadline
        best: float | None = None
        for d in (
            self._ping_at,
            self._pong_deadline,
            self._upgrade_deadline,
            self._close_deadline,
            self._noop_at,
        ):
            if d is not None and (best is None or d < best):
                best = d
        return best

    def on_timer(self, now: float) -> None:
        reached = now + EPSILON
        if self.state is State.CLOSING:
            if self._close_deadline is not None and reached >= self._close_deadline:
                self.state = State.CLOSED
                self._close_deadline = None
                self._queue.clear()
                self.listener.session_gone(self)
            return
        if self.state is not State.OPEN:
            return
        if self._upgrade_deadline is not None and reached >= self._upgrade_deadline:
            log.info("sid=%s: client did not complete the upgrade in time", self.sid)
            if self._probe is not None:
                self._probe.close(CloseCode.NORMAL)
            self._probe = None
            self._upgrade_deadline = None
            self._noop_due = False
        if self._noop_at is not None and reached >= self._noop_at:
            self._noop_at = None
            if self._poll_held and self._probed and self._probe is not None:
                self._noop_due = True
                self.host.wake()
        if self._pong_deadline is not None and reached >= self._pong_deadline:
            self._fail(DisconnectReason.PING_TIMEOUT, "no heartbeat in time", now)
            return
        if self._ping_at is not None and reached >= self._ping_at:
            self._ping_at = None
            self._pong_deadline = now + self.options.ping_timeout
            self.send_packet(_PING)
        self.host.rearm(self.deadline)

    # -- endings -------------------------------------------------------------

    def _fail(self, reason: DisconnectReason, detail: str, now: float) -> None:
        """Close because of the client or its transport: no close packet is
        owed, but a held GET still gets an answer (a noop if the client asked
        to close, a close packet otherwise)."""
        if self.state is State.CLOSED:
            return
        log.debug("sid=%s: closing (%s: %s)", self.sid, reason, detail)
        was_open = self.state is State.OPEN
        if self._probe is not None:
            self._probe.close(CloseCode.NORMAL)
            self._probe = None
        if self._ws is not None:
            self._ws.close(
                CloseCode.PROTOCOL_ERROR
                if reason is DisconnectReason.PARSE_ERROR
                else CloseCode.NORMAL
            )
            self._ws = None
        if self._poll_held:
            # the held GET is answered by the runtime after wake(); mark the
            # session closing so that answer carries the right tail packet
            self.state = State.CLOSING
            self._close_deadline = now + self.options.ping_timeout + self.options.ping_interval
            self.host.wake()
        else:
            self.state = State.CLOSED
            self.listener.session_gone(self)
        if was_open:
            self.close_reason = reason
            self.listener.session_closed(self, reason)
        self.host.rearm(self.deadline)

    def _finish(self, reason: str, notify: bool) -> None:
        self.state = State.CLOSED
        self.close_reason = reason
        self._ws = None
        self._queue.clear()
        self._queued_bytes = 0
        self.host.rearm(None)
        self.listener.session_gone(self)
        if notify:
            self.listener.session_closed(self, reason)

    # -- payload encoding ------------------------------------------------------

    def _encode_payload(self, packets: list[Packet]) -> tuple[bytes, str]:
        if self.version >= 4:
            text = encode_payload_v4(packets)
            if self.jsonp_index is not None:
                return jsonp_wrap(text, self.jsonp_index).encode("utf-8"), JS_TYPE
            return text.encode("utf-8"), TEXT_TYPE
        body = encode_payload_v3(packets, self.supports_binary and self.jsonp_index is None)
        if isinstance(body, bytes):
            return body, BINARY_TYPE
        if self.jsonp_index is not None:
            return jsonp_wrap(body, self.jsonp_index).encode("utf-8"), JS_TYPE
        return body.encode("utf-8"), TEXT_TYPE


TEXT_TYPE = "text/plain; charset=UTF-8"
BINARY_TYPE = "application/octet-stream"
JS_TYPE = "text/javascript; charset=UTF-8"
