"""Socket.IO 0.6 requests (``/<resource>/<transport>/...``): new sessions,
polls, streams, posted messages and websockets of ``new io.Socket()``, with
the registry of 0.6 sessions.

URLs, after the resource (``/socket.io`` by default), as the 0.6 client
builds them::

    /websocket                      a websocket (always a new session)
    /flashsocket                    the same, for the Flash client
    /xhr-polling//<ms>              a new polling session (empty session id)
    /xhr-polling/<sid>/<ms>         a poll
    /xhr-polling/<sid>/send         a POST of messages (``data=<payload>``)
    /jsonp-polling//<ms>/<i>        jsonp: the same, <i> the page's callback index
    /jsonp-polling/<sid>/<ms>/<i>   a poll, or a form POST of messages
    /htmlfile//<ms>                 a new htmlfile session (one streamed response)
    /xhr-multipart/                 a new xhr-multipart session (the same)
    /htmlfile/<sid>/send            a POST of messages (also xhr-multipart)

The router hands these requests here (requests with ``EIO=`` stay Engine.IO's,
``/<resource>/<digits>/...`` Socket.IO 0.9's). A request for a session that
does not exist (any more) is refused with 404, which the client takes as a
disconnect (it then starts a new session). The endpoint is the listener of
its sessions and reports to the :class:`V06Listener` above it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol

from hubbub import jsonmod, sessionids
from hubbub.engineio.admission import SessionCounter
from hubbub.engineio.cors import CorsPolicy
from hubbub.engineio.outgoing import V06_VERSION
from hubbub.http import HttpRequest, HttpResponse
from hubbub.legacy.v06.options import KNOWN_TRANSPORTS, POLLING, STREAMS, WEBSOCKETS, V06Options
from hubbub.legacy.v06.session import (
    HTML_TYPE,
    MULTIPART_TYPE,
    TEXT_TYPE,
    State,
    V06Session,
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

# the session id: decimal digits, as socket.io 0.6 made them, and no longer
# than the 20 characters apps of the time stored them in
SID_DIGITS = 20
# a jsonp callback index longer than this is not one a page made
_MAX_INDEX = 6


class V06Listener(Protocol):
    """The Socket.IO server's side of the 0.6 clients."""

    def on_v06_open(self, session: V06Session, request: HttpRequest) -> None: ...
    def on_v06_message(self, session: V06Session, value: Any, kind: str) -> None: ...
    def on_v06_close(self, session: V06Session, reason: str) -> None: ...


def new_sid() -> str:
    return sessionids.new_digits(SID_DIGITS)


def _jsonp_index(parts: list[str]) -> str:
    """The page's callback index: the last path segment, when it is a
    number (as socket.io 0.6.18 reads it)."""
    last = parts[-1] if len(parts) > 2 else ""
    return last if last.isdigit() and last.isascii() and len(last) <= _MAX_INDEX else "0"


class V06Endpoint:
    """The 0.6 half of the server: routing and the sessions of 0.6 clients."""

    def __init__(
        self,
        options: V06Options,
        listener: V06Listener,
        *,
        cors: CorsPolicy,
        scheduler: Scheduler,
        loads: Callable[[str], Any] = jsonmod.loads,
        allow_request: Callable[[HttpRequest], Any] | None = None,
        admission: SessionCounter | None = None,
    ) -> None:
        self.options = options
        # the per-address cap on sessions, shared with the other generations
        self.admission = admission or SessionCounter()
        self.listener = listener
        self.cors = cors
        self.scheduler = scheduler
        self.loads = loads
        self.allow_request = allow_request
        self.sessions: dict[str, V06Session] = {}
        self._prefix = options.resource + "/"

    def claims(self, req: HttpRequest) -> bool:
        """Whether a request is a 0.6 one: ``/<resource>/<0.6 transport>...``
        without ``EIO=``."""
        path = req.path
        if not path.startswith(self._prefix) or "EIO=" in req.query_string:
            return False
        first = path[len(self._prefix) :].split("/", 1)[0]
        return first in KNOWN_TRANSPORTS

    def streams(self, req: HttpRequest) -> bool:
        # a 0.6 stream's GET creates its session: it is always the reader's
        return False

    def session_owner(self, req: HttpRequest) -> int | None:
        """The worker that holds the session the request names
        (``/<transport>/<sid>/...``), None for a first request."""
        parts = req.path[len(self._prefix) :].split("/")
        sid = parts[1] if len(parts) > 1 else ""
        # ASCII digits, as new_sid makes them (a path may hold any character)
        return sessionids.owner_digits(sid) if sid.isascii() and sid.isdigit() else None

    # -- requests ---------------------------------------------------------------

    def handle_request(self, req: HttpRequest, now: float) -> Answer:
        parts = req.path[len(self._prefix) :].split("/")
        transport = parts[0]
        sid = parts[1] if len(parts) > 1 else ""
        cors = self.cors.headers(req)
        if cors is None:
            # every request, not only a new session's: a page of another site
            # could otherwise poll (a JSONP script tag) or post with a sid it got
            log.info("0.6 %s %s from %s refused: origin %r not allowed", req.method, req.path,
                     req.remote_addr, self.cors.request_origin(req))
            return _text(403, "Forbidden")
        if req.method == "OPTIONS":
            return self.cors.preflight(req, cors)
        if not self.options.offers(transport):
            log.info("%s: 0.6 transport %r not served", req.url, transport)
            return _text(400, "transport not supported", cors)
        if transport in WEBSOCKETS:
            if sid or req.method != "GET" or not req.is_websocket_upgrade:
                return _text(400, "Bad request", cors)
            refused = self._refused(req, cors)
            if refused is not None:
                return refused
            return WebSocketAccept(req, V06_VERSION, [], self._websocket_opened, transport)
        if not sid:
            if req.method != "GET":
                return _text(400, "Bad request", cors)
            return self._new_session(req, transport, parts, cors, now)
        session = self.sessions.get(sid)
        if session is None or session.state is State.CLOSED:
            log.info("sid=%s: unknown 0.6 session (%s %s)", sid, req.method, transport)
            return _text(404, "unknown session", cors)
        if session.transport != transport:
            return _text(400, "Bad request", cors)
        if req.method == "POST":
            if req.body_too_large:
                log.info("sid=%s: POST over max_http_buffer_size", sid)
                return _text(413, "Payload Too Large", cors)
            if not session.on_post(req.body, now):
                return _text(400, "Bad request", cors)
            return _text(200, "ok", cors)
        if req.method != "GET" or transport not in POLLING:
            return _text(400, "Bad request", cors)
        jsonp = _jsonp_index(parts) if transport == "jsonp-polling" else None
        answer = session.on_poll(jsonp, now)
        if answer is None:
            return PollHold(session, req, cors)
        body, ctype = answer
        return HttpResponse(200, [("Content-Type", ctype), *cors], body)

    def _refused(self, req: HttpRequest, cors: list[tuple[str, str]]) -> HttpResponse | None:
        """Whether a new session is refused: the per-address cap, then the
        application's ``allow_request`` verdict."""
        if not self.admission.has_room(req.remote_addr):
            log.warning("refused a 0.6 session: %s has max_sessions_per_address",
                        req.remote_addr)
            return _text(403, "unauthorized", cors)
        allow = self.allow_request
        if allow is None:
            return None
        try:
            verdict = allow(req)
        except Exception:
            log.exception("allow_request raised; refusing the 0.6 session")
            return _text(500, "error", cors)
        if verdict is True:
            return None
        message = verdict if isinstance(verdict, str) and verdict else "unauthorized"
        log.info("0.6 session from %s refused: %s", req.remote_addr, message)
        return _text(403, message, cors)

    def _session(self, req: HttpRequest, transport: str, now: float) -> V06Session:
        sid = new_sid()
        while sid in self.sessions:  # pragma: no cover - 66 random bits
            sid = new_sid()
        session = V06Session(self, self.options, sid, transport, req, now, self.loads)
        session.host = self.scheduler.make_host(session)
        self.sessions[sid] = session
        self.admission.opened(sid, req.remote_addr)
        return session

    def _new_session(
        self, req: HttpRequest, transport: str, parts: list[str], cors: list[tuple[str, str]],
        now: float,
    ) -> Answer:
        refused = self._refused(req, cors)
        if refused is not None:
            return refused
        session = self._session(req, transport, now)
        if transport in STREAMS:
            body = session.open_stream(now)
            ctype = HTML_TYPE if transport == "htmlfile" else MULTIPART_TYPE
            return StreamHold(session, req, HttpResponse(200, [("Content-Type", ctype), *cors],
                                                         body), 0)
        jsonp = _jsonp_index(parts) if transport == "jsonp-polling" else None
        body, ctype = session.open_polling(jsonp, now)
        return HttpResponse(200, [("Content-Type", ctype), *cors], body)

    # -- runtimes' calls ----------------------------------------------------------------

    def _websocket_opened(
        self, accept: WebSocketAccept, peer: WebSocketPeer, now: float
    ) -> V06Session:
        session = self._session(accept.request, accept.target, now)
        session.attach_websocket(peer, now)
        return session

    def close_all(self, reason: str) -> None:
        now = self.scheduler.clock()
        for session in list(self.sessions.values()):
            session.close(reason, now)

    # -- the listener of the sessions ---------------------------------------------------

    def session_opened(self, session: V06Session, request: HttpRequest) -> None:
        self.listener.on_v06_open(session, request)

    def session_message(self, session: V06Session, value: Any, kind: str) -> None:
        self.listener.on_v06_message(session, value, kind)

    def session_closed(self, session: V06Session, reason: str) -> None:
        self.listener.on_v06_close(session, reason)

    def session_gone(self, session: V06Session) -> None:
        if self.sessions.get(session.sid) is session:
            del self.sessions[session.sid]
            self.admission.closed(session.sid)


def _text(status: int, message: str, cors: list[tuple[str, str]] | None = None) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", TEXT_TYPE), *(cors or [])], message.encode())
