"""Socket.IO 0.9 requests (``/<resource>/1/...``): handshakes, transport
connections and forced disconnects, answered as socket.io 0.9.17 answers
them, with the session registry of 0.9 clients.

URLs, after the resource (``/socket.io`` by default)::

    /1/                               handshake (GET or POST; ?jsonp=N for JSONP)
    /1/<transport>/<sid>              a transport connection (GET), or packets (POST)
    /1/<transport>/<sid>?disconnect   forced disconnect
    /1//<sid>/?disconnect=1           the same, as socket.io-client 0.9 sends it on unload

The server's router hands these requests here (requests with ``EIO=`` in
the query stay Engine.IO's), and the runtimes act on the answers as for
Engine.IO, plus a :class:`~hubbub.runtime.contract.StreamHold` for the
htmlfile transport. The endpoint is the listener of its sessions and
reports to the :class:`LegacyListener` above it (the Socket.IO server).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from hubbub import jsonmod, sessionids
from hubbub.engineio.admission import SessionCounter
from hubbub.engineio.codec import PacketType, js_string_literal
from hubbub.engineio.cors import CorsPolicy
from hubbub.engineio.outgoing import LEGACY_VERSION, OutPacket
from hubbub.http import HttpRequest, HttpResponse
from hubbub.legacy.v09.codec import LegacyPacket
from hubbub.legacy.v09.options import PROTOCOL, LegacyOptions
from hubbub.legacy.v09.session import (
    ERROR_NOT_HANDSHAKEN,
    HTML_TYPE,
    JS_TYPE,
    STREAMING,
    TEXT_TYPE,
    LegacySession,
    State,
    poll_body,
)
from hubbub.runtime.contract import (
    Answer,
    PollHold,
    Scheduler,
    StreamHold,
    WebSocketAccept,
    WebSocketPeer,
)

log = logging.getLogger("hubbub.legacy")


class LegacyListener(Protocol):
    """The Socket.IO server's side of the 0.9 clients."""

    def on_legacy_open(self, session: LegacySession, request: HttpRequest) -> None: ...
    def on_legacy_packet(self, session: LegacySession, packet: LegacyPacket) -> None: ...
    def on_legacy_close(self, session: LegacySession, reason: str) -> None: ...


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


class LegacyEndpoint:
    """The 0.9 half of the server: routing and the sessions of 0.9 clients."""

    def __init__(
        self,
        options: LegacyOptions,
        listener: LegacyListener,
        *,
        cors: CorsPolicy,
        scheduler: Scheduler,
        admission: SessionCounter | None = None,
        loads: Callable[[str], Any] = jsonmod.loads,
    ) -> None:
        self.options = options
        self.cors = cors
        self.scheduler = scheduler
        self.admission = admission or SessionCounter()
        # sessions handshaken whose client has not connected yet
        self._handshaken: set[str] = set()
        self.listener = listener
        self.loads = loads
        self.sessions: dict[str, LegacySession] = {}
        self._prefix = options.resource + "/"

    def claims(self, req: HttpRequest) -> bool:
        """Whether a request is a 0.9 one: ``/<resource>/<digits>...`` without ``EIO=``."""
        path = req.path
        if not path.startswith(self._prefix) or "EIO=" in req.query_string:
            return False
        first = path[len(self._prefix) :].split("/", 1)[0]
        return first.isascii() and first.isdigit()

    def streams(self, req: HttpRequest) -> bool:
        """An htmlfile GET of a session (``/1/htmlfile/<sid>``)."""
        parts = req.path[len(self._prefix) :].split("/")
        return req.method == "GET" and len(parts) > 2 and parts[1] == "htmlfile" and bool(parts[2])

    def session_owner(self, req: HttpRequest) -> int | None:
        """The worker that holds the session the request names
        (``/1/<transport>/<sid>``), None for a handshake."""
        parts = req.path[len(self._prefix) :].split("/")
        sid = parts[2] if len(parts) > 2 else ""
        return sessionids.owner(sid) if sid else None

    # -- requests ---------------------------------------------------------------

    def handle_request(self, req: HttpRequest, now: float) -> Answer:
        parts = req.path[len(self._prefix) :].split("/")
        while len(parts) > 1 and parts[-1] == "":
            parts.pop()  # a trailing slash
        if parts[0] != PROTOCOL:
            log.info("%s: 0.9 protocol version %r unsupported", req.url, parts[0])
            return _text(500, "Protocol version not supported.")
        if len(parts) > 3:
            return _text(400, "Bad request")
        allowed = self.cors.headers(req)
        if len(parts) == 1:
            return self._handshake(req, now, allowed)
        if allowed is None:
            # the same-origin rule holds for every request, not the handshake
            # only: a page of another site could otherwise poll (a JSONP
            # script tag) or post as the visitor with a sid it obtained
            log.info("%s %s from origin %r refused", req.method, req.url,
                     self.cors.request_origin(req))
            return _text(403, "Forbidden")
        cors = allowed
        if req.method == "OPTIONS":
            return self.cors.preflight(req, cors)
        transport = parts[1]
        sid = parts[2] if len(parts) == 3 else ""
        if "disconnect" in req.query:
            session = self.sessions.get(sid)
            if session is not None:
                log.info("sid=%s: forced disconnect by the client", sid)
                session.forced_disconnect()
            return HttpResponse(200, list(cors), b"")
        if not sid or transport not in self.options.transports:
            log.info("%s: 0.9 transport %r not served", req.url, transport)
            return _text(400, "transport not supported", cors)
        session = self.sessions.get(sid)
        if transport in ("websocket", "flashsocket"):
            if not req.is_websocket_upgrade or req.method != "GET":
                return _text(400, "Bad request", cors)
            return WebSocketAccept(req, LEGACY_VERSION, [], self._websocket_opened, transport, sid)
        if req.method == "POST":
            if session is None or session.state is State.CLOSED:
                return _text(400, "client not handshaken", cors)
            if req.body_too_large:
                log.info("sid=%s: POST over max_http_buffer_size", sid)
                return _text(413, "Payload Too Large", cors)
            if not session.on_post(req.body, transport == "jsonp-polling", now):
                return _text(400, "Bad request", cors)
            return HttpResponse(200, [("Content-Type", TEXT_TYPE), *cors], b"1")
        if req.method != "GET":
            return _text(400, "Bad request", cors)
        if transport == "htmlfile":
            if session is None:
                session = self._gone_session(sid, req, now)
            body, gen = session.open_stream(req, now)
            headers = [("Content-Type", HTML_TYPE), *cors]
            return StreamHold(session, req, HttpResponse(200, headers, body), gen)
        jsonp: str | None = None
        if transport == "jsonp-polling":
            index = req.query.get("i", "0")
            jsonp = index if index.isascii() and index.isdigit() else "0"
        if session is None:
            log.info("sid=%s: unknown 0.9 session; the client should reconnect", sid)
            body, ctype = poll_body([ERROR_NOT_HANDSHAKEN], jsonp)
            return HttpResponse(200, [("Content-Type", ctype), *cors], body)
        answer = session.on_poll(transport, jsonp, req, now)
        if answer is None:
            return PollHold(session, req, cors)
        body, ctype = answer
        return HttpResponse(200, [("Content-Type", ctype), *cors], body)

    def _handshake(
        self, req: HttpRequest, now: float, allowed: list[tuple[str, str]] | None
    ) -> HttpResponse:
        jsonp = req.query.get("jsonp")
        if jsonp is not None and not (jsonp.isascii() and jsonp.isdigit()):
            jsonp = None
        cors = allowed or []

        def refuse(status: int, message: str) -> HttpResponse:
            log.info("0.9 handshake from %s refused: %s", req.remote_addr, message)
            if jsonp is not None:
                body = f'io.j[{jsonp}](new Error({js_string_literal(message)}));'
                return HttpResponse(200, [("Content-Type", JS_TYPE)], body.encode("utf-8"))
            return HttpResponse(status, [("Content-Type", TEXT_TYPE), *cors], message.encode())

        if req.method == "OPTIONS" and allowed is not None:
            return self.cors.preflight(req, cors)
        if req.method not in ("GET", "POST"):
            return refuse(400, "handshake bad method")
        if allowed is None:
            return refuse(403, "handshake bad origin")
        if jsonp is not None and "jsonp-polling" not in self.offered():
            # a JSONP handshake is for the jsonp-polling transport; offered
            # without it, it would only hand a sid to script tags
            return refuse(403, "handshake unauthorized")
        allow = self.options.allow_request
        if allow is not None:
            try:
                verdict = allow(req)
            except Exception:
                log.exception("allow_request raised; refusing the 0.9 handshake")
                return refuse(500, "handshake error")
            if verdict is not True:
                return refuse(403, verdict if isinstance(verdict, str) and verdict
                              else "handshake unauthorized")
        if len(self._handshaken) >= self.options.max_handshaken:
            log.warning("refused a 0.9 handshake: %d sessions wait for their client",
                        len(self._handshaken))
            return refuse(503, "handshake error")
        if not self.admission.has_room(req.remote_addr):
            log.warning("refused a 0.9 handshake: %s has max_sessions_per_address",
                        req.remote_addr)
            return refuse(403, "handshake unauthorized")
        sid = sessionids.new_id()
        while sid in self.sessions:  # pragma: no cover - 114 random bits
            sid = sessionids.new_id()
        self.admission.opened(sid, req.remote_addr)
        self._handshaken.add(sid)
        session = LegacySession(self, self.options, sid, req, now, self.loads)
        session.host = self.scheduler.make_host(session)
        self.sessions[sid] = session
        session.host.rearm(session.deadline)
        opts = self.options
        text = ":".join(
            (
                sid,
                _seconds(opts.heartbeat_timeout),
                _seconds(opts.close_timeout),
                ",".join(self.offered()),
            )
        )
        if jsonp is not None:
            body = f"io.j[{jsonp}]({js_string_literal(text)});"
            return HttpResponse(200, [("Content-Type", JS_TYPE), *cors], body.encode("utf-8"))
        return HttpResponse(200, [("Content-Type", TEXT_TYPE), *cors], text.encode("utf-8"))

    def offered(self) -> list[str]:
        """The transports the handshake offers: those configured, minus the
        kinds the server switches off (its Engine.IO ``transports``)."""
        opts = self.options
        out = []
        for t in opts.transports:
            if t in STREAMING and t != "htmlfile":
                if opts.websocket:
                    out.append(t)
            elif opts.polling:
                out.append(t)
        return out

    def _gone_session(self, sid: str, req: HttpRequest, now: float) -> LegacySession:
        """A stand-in for an unknown sid: its htmlfile document tells the
        client to reconnect."""
        log.info("sid=%s: unknown 0.9 session; the client should reconnect", sid)
        session = LegacySession(self, self.options, sid, req, now, self.loads)
        session.state = State.CLOSED
        return session

    # -- runtimes' calls ----------------------------------------------------------------

    def _websocket_opened(
        self, accept: WebSocketAccept, peer: WebSocketPeer, now: float
    ) -> LegacySession | None:
        session = self.sessions.get(accept.sid)
        if session is None or session.state not in (State.HANDSHAKEN, State.OPEN):
            log.info("sid=%s: websocket for an unknown 0.9 session", accept.sid)
            peer.send(OutPacket(PacketType.MESSAGE, ERROR_NOT_HANDSHAKEN))
            return None
        session.attach_websocket(peer, accept.target, accept.request, now)
        return session

    def close_all(self, reason: str) -> None:
        now = self.scheduler.clock()
        for session in list(self.sessions.values()):
            session.close(reason, now)

    # -- the listener of the sessions ---------------------------------------------------

    def session_opened(self, session: LegacySession, request: HttpRequest) -> None:
        self._handshaken.discard(session.sid)
        self.listener.on_legacy_open(session, request)

    def session_packet(self, session: LegacySession, packet: LegacyPacket) -> None:
        self.listener.on_legacy_packet(session, packet)

    def session_closed(self, session: LegacySession, reason: str) -> None:
        self.listener.on_legacy_close(session, reason)

    def session_gone(self, session: LegacySession) -> None:
        if self.sessions.get(session.sid) is session:
            del self.sessions[session.sid]
            self._handshaken.discard(session.sid)
            self.admission.closed(session.sid)


def _text(status: int, message: str, cors: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", TEXT_TYPE), *(cors or [])], message.encode())
