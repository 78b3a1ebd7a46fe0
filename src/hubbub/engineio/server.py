"""The Engine.IO server: request routing and the session registry (sans-IO),
plus a small callback API for using Engine.IO on its own.

A runtime hands every request under the Engine.IO path to
:meth:`EngineIOServer.handle_request` and acts on the answer:

* :class:`~hubbub.http.HttpResponse`: write it;
* :class:`PollHold`: a long-polling GET with nothing to send yet; wait for
  the session host's ``wake()`` and then write :meth:`EngineIOServer.finish_poll`,
  or call ``session.poll_aborted(now)`` if the client goes away first;
* :class:`WebSocketAccept`: complete the websocket handshake, then call
  :meth:`EngineIOServer.websocket_opened` with the connection.

Higher layers (the Socket.IO server) plug in as the :class:`EngineListener`.
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, overload

from hubbub import jsonmod
from hubbub.engineio.outgoing import LEGACY_VERSION
from hubbub.engineio.session import EngineSession, PollError, State, WebSocketPeer
from hubbub.http import HttpRequest, HttpResponse
from hubbub.runtime.contract import Runtime
from hubbub.socketio.handlers import HandlerT

if TYPE_CHECKING:
    from hubbub.legacy.v09.endpoint import LegacyEndpoint, StreamHold
    from hubbub.legacy.v09.session import LegacySession

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

OriginSetting = None | str | Sequence[str] | Callable[[str], bool]
AllowRequest = Callable[[HttpRequest], bool | str | None]


@dataclass
class EngineOptions:
    """Engine.IO options, named as Node's engine.io names them, in snake_case.

    Times are in seconds. ``eio_versions`` narrows the protocol generations
    accepted (both by default). ``cors_allowed_origins``: None means
    same-origin only, ``"*"`` any origin, a list those origins, a callable
    decides per origin. ``allow_request(request)`` returns True to accept a
    new session, or False / a message string to refuse it with 403.
    ``cookie``: True for ``io``, a name, or a dict of cookie attributes.
    """

    path: str = "/engine.io/"
    ping_interval: float = 25.0
    ping_timeout: float = 20.0
    upgrade_timeout: float = 10.0
    max_http_buffer_size: int = 1_000_000
    transports: Sequence[str] = ("polling", "websocket")
    allow_upgrades: bool = True
    cors_allowed_origins: OriginSetting = None
    cors_credentials: bool = True
    cookie: bool | str | dict[str, Any] | None = None
    allow_request: AllowRequest | None = None
    eio_versions: Sequence[int] = (3, 4)
    websocket_compression: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            self.path = "/" + self.path
        if not self.path.endswith("/"):
            self.path += "/"
        for t in self.transports:
            if t not in ("polling", "websocket"):
                raise ValueError(f"unknown transport {t!r}: use 'polling' and/or 'websocket'")
        for v in self.eio_versions:
            if v not in (3, 4):
                raise ValueError(f"unsupported Engine.IO version {v!r}: use 3 and/or 4")


@dataclass(slots=True)
class PollHold:
    session: EngineSession | LegacySession
    request: HttpRequest


@dataclass(slots=True)
class WebSocketAccept:
    """A websocket upgrade the core accepts. ``session`` is set when it
    upgrades an existing polling session, None for a new session."""

    request: HttpRequest
    version: int
    session: EngineSession | None
    headers: list[tuple[str, str]]
    sid: str = ""
    # a 0.9 session's transport name ("websocket" or "flashsocket")
    transport: str = "websocket"


RequestResult = HttpResponse | PollHold | WebSocketAccept


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

    def __init__(self, options: EngineOptions | None = None, **kwargs: Any) -> None:
        if options is None:
            options = EngineOptions(**kwargs)
        elif kwargs:
            raise TypeError("pass either an EngineOptions or keyword options, not both")
        self.options = options
        self.sessions: dict[str, EngineSession] = {}
        self.listener: EngineListener = _CallbackListener(self)
        self.runtime: Runtime | None = None
        # Socket.IO 0.9 requests go here (set by the Socket.IO server)
        self.legacy: LegacyEndpoint | None = None
        self.json_dumps: Callable[[Any], str] = jsonmod.dumps
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
        session = self.sessions.get(sid)
        if session is not None:
            session.close("forced close")

    def close_all(self, reason: str = "server shutting down") -> None:
        for session in list(self.sessions.values()):
            session.close(reason)
        if self.legacy is not None:
            self.legacy.close_all(reason)

    def serves(self, path: str) -> bool:
        """Whether a request path belongs to Engine.IO: the configured path,
        with or without its trailing slash (clients with addTrailingSlash
        false send ``/socket.io?...``)."""
        base = self.options.path
        return path.startswith(base) or path == base[:-1]

    # -- runtime plumbing ----------------------------------------------------

    def attach(self, runtime: Runtime) -> None:
        if self.runtime is not None and self.runtime.name != runtime.name:
            raise RuntimeError(
                f"this server already runs on {self.runtime.name}; "
                f"it cannot also run on {runtime.name}"
            )
        if self.runtime is not runtime:
            # handlers registered before a runtime was attached are checked now
            for fn in self.registered_handlers():
                runtime.check_handler(fn)
        self.runtime = runtime
        # the runtime's own spawn from now on: one call less per event
        self.call_handler = runtime.spawn  # type: ignore[method-assign]

    def registered_handlers(self) -> Iterator[Callable[..., Any]]:
        yield from self._handlers.values()
        listed = getattr(self.listener, "registered_handlers", None)
        if listed is not None:
            yield from listed()

    def clock(self) -> float:
        if self.runtime is None:
            return 0.0
        return self.runtime.clock()

    def call_handler(self, fn: Callable[..., Any], *args: Any) -> None:
        if self.runtime is not None:
            self.runtime.spawn(fn, *args)
        else:  # no runtime (unit tests): plain functions only
            result = fn(*args)
            if inspect.isawaitable(result):
                raise RuntimeError("coroutine handlers need the asyncio runtime")

    # -- requests --------------------------------------------------------------

    def handle_request(self, req: HttpRequest, now: float) -> RequestResult | StreamHold:
        legacy = self.legacy
        if legacy is not None and legacy.claims(req):
            answer = legacy.handle(req, now)
            if isinstance(answer, HttpResponse) and answer.status >= 400:
                log.info("%s %s -> %d (0.9)", req.method, req.url, answer.status)
            return answer
        cors = self._cors_headers(req)
        if cors is None:
            log.info("refused request from origin %r", req.headers.get("origin"))
            return error_response(FORBIDDEN, "Origin not allowed")
        if req.method == "OPTIONS":
            return self.preflight(req, cors)
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

    def _route(self, req: HttpRequest, now: float, cors: list[tuple[str, str]]) -> RequestResult:
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
                return WebSocketAccept(req, version, session, [])
            if session.transport != "polling":
                return error_response(BAD_REQUEST, None, cors)
            return self._polling(session, req, now, cors)
        # a new session: GET only
        if req.method != "GET":
            return error_response(BAD_HANDSHAKE_METHOD, None, cors)
        if transport == "websocket" and not upgrade:
            return error_response(BAD_REQUEST, None, cors)
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
            return WebSocketAccept(req, version, None, self._cookie_headers(sid), sid)
        return self._open_polling(req, version, now, cors)

    def _open_polling(
        self, req: HttpRequest, version: int, now: float, cors: list[tuple[str, str]]
    ) -> HttpResponse:
        query = req.query
        jsonp = query.get("j")
        if jsonp is not None:
            jsonp = "".join(c for c in jsonp if c.isdigit())
        b64 = query.get("b64", "") not in ("", "0", "false")
        session = self._new_session(version, "polling", now, not b64, jsonp)
        body, ctype = session.handshake_body()
        headers = [("Content-Type", ctype), *cors, *self._cookie_headers(session.sid)]
        self.listener.on_connect(session, req)
        return HttpResponse(200, headers, body)

    def _polling(
        self, session: EngineSession, req: HttpRequest, now: float, cors: list[tuple[str, str]]
    ) -> RequestResult:
        try:
            if req.method == "GET":
                answer = session.on_poll(now)
                if answer is None:
                    return PollHold(session, req)
                body, ctype = answer
                return HttpResponse(200, [("Content-Type", ctype), *cors], body)
            if req.method == "POST":
                if req.body_too_large:
                    log.info("sid=%s: POST over max_http_buffer_size; closing", session.sid)
                    session.refuse_post("POST over max_http_buffer_size")
                    return HttpResponse(413, list(cors), b"Payload Too Large")
                session.on_post(req.body, now)
                return HttpResponse(200, [("Content-Type", "text/html"), *cors], b"ok")
        except PollError as exc:
            return error_response(BAD_REQUEST, str(exc), cors)
        return error_response(BAD_REQUEST, "Method not allowed", cors)

    def legacy_stream_more(self, hold: StreamHold, now: float) -> tuple[bytes, bool]:
        """The next chunk of a 0.9 htmlfile response, and whether it ends."""
        return hold.session.collect_stream(hold.generation, now)

    def legacy_stream_aborted(self, hold: StreamHold, now: float) -> None:
        hold.session.stream_aborted(hold.generation, now)

    def finish_poll(self, hold: PollHold, now: float) -> HttpResponse:
        body, ctype = hold.session.collect_poll(now)
        cors = self._cors_headers(hold.request) or []
        return HttpResponse(200, [("Content-Type", ctype), *cors], body)

    def websocket_opened(
        self, accept: WebSocketAccept, peer: WebSocketPeer, now: float
    ) -> EngineSession | LegacySession | None:
        """The handshake is done. Returns the session the connection now
        belongs to, or None when the upgrade is refused (close the socket)."""
        if accept.version == LEGACY_VERSION and self.legacy is not None:
            return self.legacy.websocket_opened(accept, peer, now)
        session = accept.session
        if session is not None:
            if self.sessions.get(session.sid) is not session or not session.begin_upgrade(
                peer, now
            ):
                return None
            return session
        session = self._new_session(accept.version, "websocket", now, True, None, accept.sid)
        session.attach_websocket(peer, now)
        self.listener.on_connect(session, accept.request)
        return session

    def _fresh_sid(self) -> str:
        sid = secrets.token_urlsafe(15)
        while sid in self.sessions:  # pragma: no cover - 120 random bits
            sid = secrets.token_urlsafe(15)
        return sid

    def _new_session(
        self,
        version: int,
        transport: str,
        now: float,
        binary: bool,
        jsonp: str | None,
        sid: str = "",
    ) -> EngineSession:
        sid = sid if sid and sid not in self.sessions else self._fresh_sid()
        session = EngineSession(
            self, sid, version, transport, now, supports_binary=binary, jsonp_index=jsonp
        )
        if self.runtime is not None:
            session.host = self.runtime.make_host(session)
        self.sessions[sid] = session
        session.host.rearm(session.deadline)
        return session

    # -- session callbacks -------------------------------------------------------

    def _session_message(self, session: EngineSession, data: str | bytes) -> None:
        self.listener.on_message(session, data)

    def _session_closed(self, session: EngineSession, reason: str) -> None:
        self.listener.on_disconnect(session, reason)

    def _session_gone(self, session: EngineSession) -> None:
        if self.sessions.get(session.sid) is session:
            del self.sessions[session.sid]
        session.host.rearm(None)

    def _session_upgraded(self, session: EngineSession) -> None:
        self.listener.on_upgrade(session)

    # -- CORS and cookies ------------------------------------------------------------

    def origin_allowed(self, req: HttpRequest) -> bool:
        origin = req.headers.get("origin")
        if origin is None:
            return True
        setting = self.options.cors_allowed_origins
        if setting == "*":
            return True
        if setting is None:
            host = req.headers.get("host", "")
            # compare host[:port] only: TLS is often terminated in front of us
            return origin.split("://", 1)[-1].rstrip("/") == host
        if callable(setting):
            try:
                return bool(setting(origin))
            except Exception:
                log.exception("cors_allowed_origins callable raised")
                return False
        if isinstance(setting, str):
            return origin == setting
        return origin in setting

    def _cors_headers(self, req: HttpRequest) -> list[tuple[str, str]] | None:
        """CORS headers for this request, or None if its origin is refused."""
        origin = req.headers.get("origin")
        if origin is None:
            return []
        if not self.origin_allowed(req):
            return None
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.options.cors_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def preflight(self, req: HttpRequest, cors: list[tuple[str, str]]) -> HttpResponse:
        headers = [*cors, ("Access-Control-Allow-Methods", "GET, POST, OPTIONS")]
        requested = req.headers.get("access-control-request-headers")
        if requested:
            headers.append(("Access-Control-Allow-Headers", requested))
        headers.append(("Access-Control-Max-Age", "86400"))
        return HttpResponse(204, headers, b"")

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


def engine_of(app: Any) -> EngineIOServer:
    """The Engine.IO server inside a server object (or the object itself)."""
    if isinstance(app, EngineIOServer):
        return app
    engine = getattr(app, "engine", None)
    if isinstance(engine, EngineIOServer):
        return engine
    raise TypeError(f"{app!r} is not a hubbub server")


class _CallbackListener:
    """Dispatches session events to the plain API's ``on()`` handlers."""

    def __init__(self, server: EngineIOServer) -> None:
        self.server = server

    def _fire(self, event: str, *args: Any) -> None:
        fn = self.server._handlers.get(event)
        if fn is not None:
            self.server.call_handler(fn, *args)

    def on_connect(self, session: EngineSession, request: HttpRequest) -> None:
        self._fire("connect", session.sid, request)

    def on_message(self, session: EngineSession, data: str | bytes) -> None:
        self._fire("message", session.sid, data)

    def on_disconnect(self, session: EngineSession, reason: str) -> None:
        self._fire("disconnect", session.sid, reason)

    def on_upgrade(self, session: EngineSession) -> None:
        self._fire("upgrade", session.sid)
