"""The Engine.IO server, sans-IO: request routing and the session registry,
plus a small callback API for using Engine.IO on its own.

It is an :class:`~hubbub.runtime.contract.Endpoint`: a runtime hands it
every request under its path and acts on the answer (a response, a held
long-poll, an accepted websocket). It is the listener of its sessions, and
reports to the :class:`EngineListener` above it (the Socket.IO server, or
the callback API below).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, overload

from hubbub import jsonmod, sessionids
from hubbub.engineio.admission import SessionCounter
from hubbub.engineio.cors import CorsPolicy
from hubbub.engineio.options import EngineOptions
from hubbub.engineio.session import EngineSession, PollError, State
from hubbub.http import HttpRequest, HttpResponse
from hubbub.runtime.contract import (
    Answer,
    PollHold,
    Runtime,
    Scheduler,
    WebSocketAccept,
    WebSocketPeer,
)
from hubbub.types import DisconnectReason

log = logging.getLogger("hubbub.engineio")

# Engine.IO's error codes, as the Node server numbers and words them
UNKNOWN_TRANSPORT = 0
UNKNOWN_SID = 1
BAD_HANDSHAKE_METHOD = 2
BAD_REQUEST = 3
FORBIDDEN = 4
UNSUPPORTED_PROTOCOL_VERSION = 5
ERROR_MESSAGES = {
    0: "Transport unknown",
    1: "Session ID unknown",
    2: "Bad handshake method",
    3: "Bad request",
    4: "Forbidden",
    5: "Unsupported protocol version",
}

GENERATIONS = {3: "EIO=3 (Socket.IO clients 1.x-2.x)", 4: "EIO=4 (Socket.IO clients 3.x-4.x)"}

# what a registering decorator gives back: the very function it was given
HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


class EngineListener(Protocol):
    def on_connect(self, session: EngineSession, request: HttpRequest) -> None: ...
    def on_message(self, session: EngineSession, data: str | bytes) -> None: ...
    def on_disconnect(self, session: EngineSession, reason: str) -> None: ...
    def on_upgrade(self, session: EngineSession) -> None: ...


def error_response(
    code: int, message: str | None = None, headers: list[tuple[str, str]] | None = None
) -> HttpResponse:
    status = 403 if code == FORBIDDEN else 400
    body = jsonmod.dumps({"code": code, "message": message or ERROR_MESSAGES[code]})
    hdrs = [("Content-Type", "application/json")]
    if headers:
        hdrs.extend(headers)
    return HttpResponse(status, hdrs, body.encode("utf-8"))


class EngineIOServer:
    """Engine.IO on its own: sessions, transports, heartbeats.

    ``@eio.on("connect")`` handlers get ``(sid, request)``, ``"message"``
    handlers ``(sid, data)`` (str or bytes) and ``"disconnect"`` handlers
    ``(sid, reason)``. Handlers may be plain functions or, on asyncio,
    coroutines. ``eio.send(sid, data)`` never blocks.
    """

    def __init__(
        self,
        options: EngineOptions | None = None,
        *,
        scheduler: Scheduler | None = None,
        **kwargs: Any,
    ) -> None:
        if options is None:
            options = EngineOptions(**kwargs)
        elif kwargs:
            raise TypeError("pass either an EngineOptions or keyword options, not both")
        self.options = options
        self.cors = CorsPolicy(options.cors_allowed_origins, options.cors_credentials)
        # shared with the other generations' endpoints of the same server
        self.admission = SessionCounter(options.max_sessions_per_address)
        self.sessions: dict[str, EngineSession] = {}
        self.listener: EngineListener = _CallbackListener(self)
        # shared with the layers above when a Socket.IO server owns this one
        self.scheduler = scheduler or Scheduler(lambda: self._handlers.values())
        self._handlers: dict[str, Callable[..., Any]] = {}

    # -- the plain API -------------------------------------------------------

    @overload
    def on(self, event: str, handler: HandlerT) -> HandlerT: ...
    @overload
    def on(self, event: str, handler: None = None) -> Callable[[HandlerT], HandlerT]: ...
    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Register a handler for 'connect', 'message' or 'disconnect'."""
        if event not in ("connect", "message", "disconnect", "upgrade"):
            raise ValueError(f"unknown Engine.IO event {event!r}")

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.scheduler.check_handler(fn)
            self._handlers[event] = fn
            return fn

        return register(handler) if handler is not None else register

    def send(self, sid: str, data: str | bytes) -> bool:
        """Send a message to one session; False if there is no such session."""
        session = self.sessions.get(sid)
        if session is None:
            return False
        session.send(data)
        return True

    def disconnect(self, sid: str) -> None:
        """Close the session ``sid`` (its handlers see "forced close"); nothing
        happens if there is no such session."""
        session = self.sessions.get(sid)
        if session is not None:
            session.close(DisconnectReason.FORCED_CLOSE, self.scheduler.clock())

    def close_all(self, reason: str = DisconnectReason.SERVER_SHUTTING_DOWN) -> None:
        """Close every session, for ``reason``."""
        now = self.scheduler.clock()
        for session in list(self.sessions.values()):
            session.close(reason, now)

    def serves(self, path: str) -> bool:
        """Whether a request path belongs to Engine.IO: the configured path,
        with or without its trailing slash (clients with addTrailingSlash
        false send ``/socket.io?...``)."""
        base = self.options.path
        return path.startswith(base) or path == base[:-1]

    def claims(self, req: HttpRequest) -> bool:
        """Whether a request is an Engine.IO one: every client of every
        Engine.IO version names it in ``EIO=``."""
        return "EIO" in req.query

    def streams(self, req: HttpRequest) -> bool:
        """Whether the answer is a stream that keeps its connection: never
        for Engine.IO (see ``runtime.contract.Endpoint.streams``)."""
        return False

    def session_owner(self, req: HttpRequest) -> int | None:
        """The worker that holds the session the request names (``sid=``)."""
        sid = req.query.get("sid")
        return sessionids.owner(sid) if sid else None

    # -- the Endpoint a runtime drives -------------------------------------------

    @property
    def path(self) -> str:
        """The path Engine.IO clients connect to, with its trailing slash."""
        return self.options.path

    @property
    def max_message_size(self) -> int:
        """The largest message accepted (``max_http_buffer_size``), in bytes."""
        return self.options.max_http_buffer_size

    @property
    def websocket_compression(self) -> bool:
        """Whether websockets may negotiate permessage-deflate."""
        return self.options.websocket_compression

    @property
    def runtime(self) -> Runtime | None:
        """The runtime driving this server once one attached, else None."""
        return self.scheduler.runtime

    def attach(self, runtime: Runtime) -> None:
        """Called by a runtime when it starts serving this server."""
        self.scheduler.attach(runtime)

    # -- requests --------------------------------------------------------------

    def handle_request(self, req: HttpRequest, now: float) -> Answer:
        """Answer one HTTP request of Engine.IO's (a handshake, a poll, a post or
        a websocket upgrade); called by the runtime."""
        cors = self.cors.headers(req)
        if cors is None:
            log.info("refused request from origin %r", req.headers.get("origin"))
            return error_response(FORBIDDEN, "Origin not allowed")
        if req.method == "OPTIONS":
            return self.cors.preflight(req, cors)
        result = self._route(req, now, cors)
        if isinstance(result, HttpResponse) and result.status >= 400:
            log.info(
                "%s %s -> %d %s",
                req.method,
                req.url,
                result.status,
                result.body[:120].decode("utf-8", "replace"),
            )
        return result

    def _route(self, req: HttpRequest, now: float, cors: list[tuple[str, str]]) -> Answer:
        query = req.query
        eio = query.get("EIO")
        versions = self.options.eio_versions
        if eio not in ("3", "4") or int(eio) not in versions:
            speaks = " and ".join(GENERATIONS[v] for v in sorted(versions))
            return error_response(
                UNSUPPORTED_PROTOCOL_VERSION,
                f"Unsupported protocol version; this server speaks {speaks}",
                cors,
            )
        version = int(eio)
        transport = query.get("transport")
        if transport not in self.options.transports:
            return error_response(UNKNOWN_TRANSPORT, None, cors)
        upgrade = req.is_websocket_upgrade
        sid = query.get("sid")
        if sid is not None:
            session = self.sessions.get(sid)
            if session is None or session.state is State.CLOSED:
                return error_response(UNKNOWN_SID, None, cors)
            if session.version != version:
                return error_response(BAD_REQUEST, None, cors)
            if transport == "websocket":
                if not upgrade or not self.options.allow_upgrades:
                    return error_response(BAD_REQUEST, None, cors)
                # like Node, a second websocket for an upgraded (or upgrading)
                # session completes its handshake and is then closed at once
                return WebSocketAccept(req, version, [], self._websocket_opened, session)
            if session.transport != "polling":
                return error_response(BAD_REQUEST, None, cors)
            return self._polling(session, req, now, cors)
        # a new session: GET only
        if req.method != "GET":
            return error_response(BAD_HANDSHAKE_METHOD, None, cors)
        if transport == "websocket" and not upgrade:
            return error_response(BAD_REQUEST, None, cors)
        if not self.admission.has_room(req.remote_addr):
            log.warning("refused a session: %s has max_sessions_per_address", req.remote_addr)
            return error_response(FORBIDDEN, "Too many sessions from this address", cors)
        allow = self.options.allow_request
        if allow is not None:
            try:
                verdict = allow(req)
            except Exception:
                log.exception("allow_request raised; refusing the request")
                verdict = False
            if verdict is not True:
                message = verdict if isinstance(verdict, str) and verdict else None
                return error_response(FORBIDDEN, message, cors)
        if transport == "websocket":
            sid = self._fresh_sid()
            return WebSocketAccept(
                req, version, self._cookie_headers(sid), self._websocket_opened, None, sid
            )
        return self._open_polling(req, version, now, cors)

    def _open_polling(
        self, req: HttpRequest, version: int, now: float, cors: list[tuple[str, str]]
    ) -> HttpResponse:
        query = req.query
        jsonp = query.get("j")
        if jsonp is not None:
            jsonp = "".join(c for c in jsonp if "0" <= c <= "9")
        b64 = query.get("b64", "") not in ("", "0", "false")
        session = self._new_session(version, "polling", now, not b64, jsonp, req.remote_addr)
        body, ctype = session.handshake_body()
        headers = [("Content-Type", ctype), *cors, *self._cookie_headers(session.sid)]
        self.listener.on_connect(session, req)
        return HttpResponse(200, headers, body)

    def _polling(
        self, session: EngineSession, req: HttpRequest, now: float, cors: list[tuple[str, str]]
    ) -> Answer:
        try:
            if req.method == "GET":
                answer = session.on_poll(now)
                if answer is None:
                    return PollHold(session, req, cors)
                body, ctype = answer
                return HttpResponse(200, [("Content-Type", ctype), *cors], body)
            if req.method == "POST":
                if req.body_too_large:
                    log.info("sid=%s: POST over max_http_buffer_size; closing", session.sid)
                    session.refuse_post("POST over max_http_buffer_size", now)
                    return HttpResponse(413, list(cors), b"Payload Too Large")
                session.on_post(req.body, now)
                return HttpResponse(200, [("Content-Type", "text/html"), *cors], b"ok")
        except PollError as exc:
            return error_response(BAD_REQUEST, str(exc), cors)
        return error_response(BAD_REQUEST, "Method not allowed", cors)

    def _websocket_opened(
        self, accept: WebSocketAccept, peer: WebSocketPeer, now: float
    ) -> EngineSession | None:
        """The handshake is done: the session the connection now belongs to,
        or None when the upgrade is refused (the runtime closes the socket)."""
        session: EngineSession | None = accept.target
        if session is not None:
            if self.sessions.get(session.sid) is not session or not session.begin_upgrade(
                peer, now
            ):
                return None
            return session
        session = self._new_session(
            accept.version, "websocket", now, True, None, accept.request.remote_addr, accept.sid
        )
        session.attach_websocket(peer, now)
        self.listener.on_connect(session, accept.request)
        return session

    def _fresh_sid(self) -> str:
        sid = sessionids.new_id()
        while sid in self.sessions:  # pragma: no cover - 114 random bits
            sid = sessionids.new_id()
        return sid

    def _new_session(
        self,
        version: int,
        transport: str,
        now: float,
        binary: bool,
        jsonp: str | None,
        address: str | None,
        sid: str = "",
    ) -> EngineSession:
        sid = sid if sid and sid not in self.sessions else self._fresh_sid()
        self.admission.opened(sid, address)
        session = EngineSession(
            self,
            self.options,
            sid,
            version,
            transport,
            now,
            supports_binary=binary,
            jsonp_index=jsonp,
        )
        session.host = self.scheduler.make_host(session)
        self.sessions[sid] = session
        session.host.rearm(session.deadline)
        return session

    # -- the listener of the sessions ------------------------------------------------

    def session_message(self, session: EngineSession, data: str | bytes) -> None:
        """Session listener: a message arrived on ``session``."""
        self.listener.on_message(session, data)

    def session_closed(self, session: EngineSession, reason: str) -> None:
        """Session listener: ``session`` closed for ``reason``."""
        self.listener.on_disconnect(session, reason)

    def session_gone(self, session: EngineSession) -> None:
        """Session listener: ``session`` is over and may be forgotten."""
        if self.sessions.get(session.sid) is session:
            del self.sessions[session.sid]
            self.admission.closed(session.sid)
        session.host.rearm(None)

    def session_upgraded(self, session: EngineSession) -> None:
        """Session listener: ``session`` moved to websocket."""
        self.listener.on_upgrade(session)

    # -- cookies ---------------------------------------------------------------------

    def _cookie_headers(self, sid: str) -> list[tuple[str, str]]:
        cookie = self.options.cookie
        if not cookie:
            return []
        attrs: dict[str, Any] = {"name": "io", "path": "/", "httpOnly": True, "sameSite": "Lax"}
        if isinstance(cookie, str):
            attrs["name"] = cookie
        elif isinstance(cookie, dict):
            attrs.update(cookie)
        parts = [f"{attrs['name']}={sid}"]
        if attrs.get("path"):
            parts.append(f"Path={attrs['path']}")
        if attrs.get("domain"):
            parts.append(f"Domain={attrs['domain']}")
        if attrs.get("maxAge") is not None or attrs.get("max_age") is not None:
            parts.append(f"Max-Age={attrs.get('maxAge', attrs.get('max_age'))}")
        if attrs.get("httpOnly", attrs.get("http_only")):
            parts.append("HttpOnly")
        if attrs.get("secure"):
            parts.append("Secure")
        if attrs.get("sameSite", attrs.get("same_site")):
            parts.append(f"SameSite={attrs.get('sameSite', attrs.get('same_site'))}")
        return [("Set-Cookie", "; ".join(parts))]


class _CallbackListener:
    """Dispatches session events to the plain API's ``on()`` handlers."""

    def __init__(self, server: EngineIOServer) -> None:
        self.server = server

    def _fire(self, event: str, *args: Any) -> None:
        fn = self.server._handlers.get(event)
        if fn is not None:
            self.server.scheduler.spawn(fn, *args)

    def on_connect(self, session: EngineSession, request: HttpRequest) -> None:
        self._fire("connect", session.sid, request)

    def on_message(self, session: EngineSession, data: str | bytes) -> None:
        self._fire("message", session.sid, data)

    def on_disconnect(self, session: EngineSession, reason: str) -> None:
        self._fire("disconnect", session.sid, reason)

    def on_upgrade(self, session: EngineSession) -> None:
        self._fire("upgrade", session.sid)
