"""The contract between the sans-IO core and a runtime (asyncio or gevent).

A runtime owns sockets, clocks and tasks; the core owns every protocol rule.
They meet only through the names in this module:

* what a runtime gives the core: :class:`Runtime` (clock, spawn, timers,
  waiters) and, per session, a :class:`SessionHost` (wake me at a deadline;
  a held long-poll may be answered now);
* what the core gives a runtime: an :class:`Endpoint`, the HTTP side of a
  server, which answers each request under its path with an
  :class:`~hubbub.http.HttpResponse` or one of the holds below, and the
  :class:`WebSocketSession` an accepted websocket feeds.

The runtime implementations (``runtime/asyncio``, ``runtime/gevent``) sit
outside the core and drive it; the core imports none of them, only this
module.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol, cast

from hubbub.engineio.outgoing import OutPacket
from hubbub.http import HttpRequest, HttpResponse
from hubbub.instrumentation import Observer
from hubbub.websocket.shared import SharedSink

log = logging.getLogger("hubbub.runtime")

# timers may fire a hair early (the loop's clock resolution): a session
# treats a deadline within this many seconds as reached rather than sleeping
# again
EPSILON = 0.002


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Waiter(Protocol):
    """A value that arrives later (an ack, a cluster answer).

    ``wait(timeout)`` is the only runtime-specific call in the whole API: on
    asyncio it returns an awaitable, under gevent it blocks the calling
    greenlet and returns the value.
    """

    def resolve(self, value: Any) -> None: ...
    def reject(self, error: BaseException) -> None: ...
    @property
    def done(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> Any: ...


class SessionHost(Protocol):
    """A runtime's door for one session: ``rearm(deadline)`` asks to be woken
    (``on_timer``) at that time, None cancels; ``wake()`` says a held
    long-polling GET can be answered now."""

    def rearm(self, deadline: float | None) -> None: ...
    def wake(self) -> None: ...


class TimedSession(Protocol):
    """What a runtime's timer host needs of a session (any generation)."""

    sid: str

    @property
    def deadline(self) -> float | None: ...
    def on_timer(self, now: float) -> None: ...


class Runtime(Protocol):
    """The narrow interface between the sans-IO core and an event loop."""

    name: str

    def clock(self) -> float:
        """Monotonic seconds; the same clock the sessions' deadlines use."""
        ...

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a handler. A coroutine result is scheduled as a task (asyncio);
        under gevent the call runs in its own greenlet."""
        ...

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle: ...

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        """Run fn on this runtime's loop, from any OS thread (the Redis link's
        reader thread hands its messages over this way)."""
        ...

    def waiter(self) -> Waiter: ...

    def make_host(self, session: TimedSession) -> SessionHost:
        """The timer and poll-wake door for one session."""
        ...

    def check_handler(self, fn: Callable[..., Any]) -> None:
        """Raise TypeError at registration if this runtime cannot run fn."""
        ...


class NullHost:
    """The host of a session until a runtime attaches its own (and in unit
    tests): it never wakes anyone. Stateless, so one serves every session."""

    def rearm(self, deadline: float | None) -> None:
        pass

    def wake(self) -> None:
        pass


NULL_HOST = NullHost()


class TimerHost:
    """One session's timer and poll-wake door, the logic both runtimes share.

    A session has one deadline at a time (next ping, ping timeout, upgrade
    timeout, close grace). The host keeps a single runtime timer at the
    earliest deadline asked for; when it fires the session re-arms for the
    next one. A runtime supplies ``_schedule`` (start a timer calling
    ``_fire``), ``_now`` and ``_deliver`` (how a held poll is answered).
    """

    __slots__ = ("_handle", "_when", "session", "waiter")

    def __init__(self, session: TimedSession) -> None:
        self.session = session
        self._handle: TimerHandle | None = None
        self._when = 0.0
        # set by the runtime while it holds a long-polling GET of this session
        self.waiter: Callable[[], None] | None = None

    def _schedule(self, deadline: float) -> TimerHandle:
        raise NotImplementedError

    def _now(self) -> float:
        raise NotImplementedError

    def _deliver(self, waiter: Callable[[], None]) -> None:
        waiter()

    def rearm(self, deadline: float | None) -> None:
        handle = self._handle
        if deadline is None:
            if handle is not None:
                handle.cancel()
                self._handle = None
            return
        if handle is not None:
            if self._when <= deadline:
                # fires first anyway; on firing the session re-arms for later
                return
            handle.cancel()
        self._when = deadline
        self._handle = self._schedule(deadline)

    def _fire(self) -> None:
        self._handle = None
        session = self.session
        try:
            session.on_timer(self._now())
        except Exception:  # pragma: no cover - a bug, but never kill the loop
            log.exception("timer of session %s failed", session.sid)
        deadline = session.deadline
        if deadline is not None and self._handle is None:
            self.rearm(deadline)

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            self._deliver(waiter)


# -- websockets ------------------------------------------------------------------


class FrameSink(Protocol):
    """Where finished server frames for one peer are written."""

    def write(self, data: bytes) -> None: ...


class WebSocketPeer(Protocol):
    """The websocket connection carrying a session, as the session sees it."""

    @property
    def sink(self) -> FrameSink | None:
        """Takes finished server frames for the peer (``sink.write``), when
        it can (no compression, not closing): the session writes cached
        frames to it without the call to send. None: every packet goes
        through send."""
        ...

    @property
    def shared_sink(self) -> SharedSink | None:
        """The write queue that takes slices of shared blocks of frames
        (hubbub.websocket.shared), when the peer has one and ``sink`` is
        not None."""
        ...

    def send(self, packet: OutPacket) -> None: ...
    def close(self, code: int = 1000) -> None: ...
    def buffered_bytes(self) -> int: ...


class WebSocketSession(Protocol):
    """What a websocket connection feeds (an Engine.IO or a 0.9 session)."""

    def on_ws_message(self, peer: WebSocketPeer, data: str | bytes, now: float) -> None: ...
    def on_ws_closed(self, peer: WebSocketPeer, now: float) -> None: ...


# -- what an endpoint answers a request with ---------------------------------------------


class PollingSession(Protocol):
    """A session that can hold a long-polling GET."""

    host: SessionHost

    def collect_poll(self, now: float) -> tuple[bytes, str]: ...
    def poll_aborted(self, now: float) -> None: ...


class StreamingSession(Protocol):
    """A session that streams one long response (0.9's htmlfile)."""

    host: SessionHost

    def collect_stream(self, generation: int, now: float) -> tuple[bytes, bool]: ...
    def stream_aborted(self, generation: int, now: float) -> None: ...


@dataclass(slots=True)
class PollHold:
    """A long-polling GET with nothing to send yet: hold it until the
    session's host is woken, then write :meth:`finish`; if the client goes
    away first, call :meth:`aborted`."""

    session: PollingSession
    request: HttpRequest
    headers: list[tuple[str, str]]  # what the answer carries besides its type (CORS)

    def finish(self, now: float) -> HttpResponse:
        body, ctype = self.session.collect_poll(now)
        return HttpResponse(200, [("Content-Type", ctype), *self.headers], body)

    def aborted(self, now: float) -> None:
        self.session.poll_aborted(now)


@dataclass(slots=True)
class StreamHold:
    """A streamed response (0.9's htmlfile): write ``head`` (status, headers,
    first chunk) as a chunked response, then after every host wake-up the
    chunk :meth:`more` gives, until it says the response ends; if the client
    goes away first, call :meth:`aborted`."""

    session: StreamingSession
    request: HttpRequest
    head: HttpResponse
    generation: int

    def more(self, now: float) -> tuple[bytes, bool]:
        return self.session.collect_stream(self.generation, now)

    def aborted(self, now: float) -> None:
        self.session.stream_aborted(self.generation, now)


# what the endpoint that accepted an upgrade does once the handshake is written:
# the session the connection now belongs to, or None to close it
OpenWebSocket = Callable[["WebSocketAccept", WebSocketPeer, float], "WebSocketSession | None"]


@dataclass(slots=True)
class WebSocketAccept:
    """A websocket upgrade the core accepts: complete the handshake (with
    ``headers`` added), then call :meth:`open` with the connection."""

    request: HttpRequest
    # the protocol generation: 4 or 3 (Engine.IO), 1 (Socket.IO 0.9); it
    # selects the frame cache slot of every OutPacket sent on the connection
    version: int
    headers: list[tuple[str, str]]
    opener: OpenWebSocket
    # what the endpoint needs back in ``opener`` (the session to upgrade, ...)
    target: Any = None
    sid: str = ""

    def open(self, peer: WebSocketPeer, now: float) -> WebSocketSession | None:
        return self.opener(self, peer, now)


Answer = HttpResponse | PollHold | StreamHold | WebSocketAccept


class Endpoint(Protocol):
    """The HTTP side of a server, as a runtime drives it: every request
    whose path it ``serves`` goes to ``handle_request``."""

    @property
    def path(self) -> str:
        """The path it serves, with a trailing slash ("/socket.io/")."""
        ...

    @property
    def max_message_size(self) -> int:
        """The largest POST body and websocket message a client may send."""
        ...

    @property
    def websocket_compression(self) -> bool:
        """Whether to negotiate permessage-deflate."""
        ...

    @property
    def runtime(self) -> Runtime | None:
        """The runtime attached, if any."""
        ...

    def serves(self, path: str) -> bool: ...

    def claims(self, req: HttpRequest) -> bool:
        """Whether a request whose path it serves has the form of one of the
        protocol's requests (Engine.IO's ``EIO=``, an older generation's
        URL). WSGIApp's views mode gives the others to the wrapped app."""
        ...

    def session_owner(self, req: HttpRequest) -> int | None:
        """The worker process holding the session a request names
        (``hubbub.sessionids``): None when it names none or names no worker."""
        ...

    def streams(self, req: HttpRequest) -> bool:
        """Whether the answer to a request is a stream that keeps its
        connection for the session's life (0.9's htmlfile): a worker hands
        such a request for another worker's session over with its connection."""
        ...

    def attach(self, runtime: Runtime) -> None: ...
    def handle_request(self, req: HttpRequest, now: float) -> Answer: ...
    def close_all(self, reason: str) -> None: ...


def _is_endpoint(obj: Any) -> bool:
    return callable(getattr(obj, "handle_request", None)) and callable(
        getattr(obj, "serves", None)
    )


def endpoint_of(app: Any) -> Endpoint:
    """The endpoint of a server object (``Server.endpoint``), or the object
    itself when it is an endpoint (an ``EngineIOServer``)."""
    endpoint = getattr(app, "endpoint", None)
    if _is_endpoint(endpoint):
        return cast(Endpoint, endpoint)
    if _is_endpoint(app):
        return cast(Endpoint, app)
    raise TypeError(f"{app!r} is not a hubbub server")


def is_server(app: Any) -> bool:
    """Whether ``app`` is a hubbub server (has an endpoint a runtime can drive)."""
    return _is_endpoint(getattr(app, "endpoint", None)) or _is_endpoint(app)


def _spawn_inline(fn: Callable[..., Any], *args: Any) -> None:
    # no runtime attached (unit tests): plain functions only
    result = fn(*args)
    if inspect.isawaitable(result):
        raise RuntimeError("coroutine handlers need the asyncio runtime")


class Scheduler:
    """The runtime one server runs on, shared by every layer of that server
    (endpoints, sessions' hosts, the Socket.IO server). Until a runtime
    attaches, the clock reads 0 and handlers run inline (unit tests).

    ``registered`` lists the handlers registered so far: each is checked
    (``Runtime.check_handler``) when a runtime attaches.
    """

    __slots__ = ("_attached", "_registered", "observer", "runtime", "spawn")

    def __init__(
        self, registered: Callable[[], Iterable[Callable[..., Any]]] | None = None
    ) -> None:
        self.runtime: Runtime | None = None
        self._registered = registered
        # the runtime's own spawn once one attaches: handlers are spawned
        # once per event, so no dispatch through this object in between
        self.spawn: Callable[..., None] = _spawn_inline
        # what waits for a runtime (see when_attached)
        self._attached: list[Callable[[Runtime], None]] = []
        # what every layer of the server reports to (hubbub.instrumentation):
        # None while nothing observes, so each report point costs one test
        self.observer: Observer | None = None

    def when_attached(self, fn: Callable[[Runtime], None]) -> None:
        """``fn(runtime)`` once a runtime attaches (now if one has): for what
        needs timers from the start, such as periodic reports."""
        if self.runtime is not None:
            fn(self.runtime)
        else:
            self._attached.append(fn)

    def attach(self, runtime: Runtime) -> None:
        current = self.runtime
        if current is not None and current.name != runtime.name:
            raise RuntimeError(
                f"this server already runs on {current.name}; it cannot also run on {runtime.name}"
            )
        if current is not runtime and self._registered is not None:
            # handlers registered before a runtime was attached are checked now
            for fn in self._registered():
                runtime.check_handler(fn)
        self.runtime = runtime
        self.spawn = runtime.spawn
        waiting, self._attached = self._attached, []
        for fn in waiting:
            fn(runtime)

    def clock(self) -> float:
        runtime = self.runtime
        return 0.0 if runtime is None else runtime.clock()

    def check_handler(self, fn: Callable[..., Any]) -> None:
        """Refuse, at registration, a handler the attached runtime cannot run."""
        if self.runtime is not None:
            self.runtime.check_handler(fn)

    def need(self) -> Runtime:
        """The runtime, for what cannot happen without one (waiting, timers)."""
        runtime = self.runtime
        if runtime is None:
            raise RuntimeError("this needs a running server (hubbub.run, ASGIApp or WSGIApp)")
        return runtime

    def make_host(self, session: TimedSession) -> SessionHost:
        runtime = self.runtime
        return NULL_HOST if runtime is None else runtime.make_host(session)


# -- the client side -------------------------------------------------------------------
#
# A Socket.IO client (hubbub.client) keeps every protocol rule sans-IO and
# reaches the network through a ClientDriver: an asyncio one, and a
# blocking one for threads and gevent. The driver's answers come back as
# calls into the core, made on the driver's loop (asyncio) or under its
# lock (threads), never two at once.


class ClientSocket(Protocol):
    """An open client websocket, as the client core sees it."""

    def send(self, data: str | bytes) -> None:
        """Queue one message; never blocks."""
        ...

    def close(self) -> None:
        """Send what is queued and a close frame, then end the connection;
        the listener's ``ws_closed`` follows once it is gone."""
        ...


class ClientSocketListener(Protocol):
    """What a client websocket reports to."""

    def ws_opened(self, headers: list[tuple[str, str]]) -> None: ...
    def ws_message(self, data: str | bytes) -> None: ...
    def ws_closed(self, error: str | None) -> None:
        """The connection is gone (None: a clean close; else what failed),
        whoever closed it; called once."""
        ...


@dataclass(slots=True)
class ClientResponse:
    """An HTTP answer a client request got."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]


# an HTTP answer, or the reason the request failed
HttpDone = Callable[["ClientResponse | str"], None]


class ClientDriver(Protocol):
    """What a client runs on: a runtime (clock, timers, handlers, waiters),
    HTTP requests and websockets, and where waiting happens."""

    @property
    def runtime(self) -> Runtime: ...

    def current(self) -> bool:
        """Whether a call made now can use this driver (asyncio: it was made
        on the loop that runs now)."""
        ...

    def http(
        self, method: str, url: str, headers: list[tuple[str, str]], body: bytes,
        timeout: float | None, done: HttpDone,
    ) -> TimerHandle:
        """Make one request; ``done`` gets the answer or the reason it failed
        (not called once the returned handle is cancelled). ``done`` and a
        websocket's listener are never called from inside the call that
        started them."""
        ...

    def websocket(
        self, url: str, headers: list[tuple[str, str]], listener: ClientSocketListener,
        timeout: float | None,
    ) -> ClientSocket: ...

    def forget(self) -> None:
        """Close the kept-alive HTTP connections (the session they served is gone)."""
        ...

    def wait(self, waiter: Waiter, timeout: float | None) -> Any:
        """The waiter's value: an awaitable on asyncio, the value itself
        (after blocking) otherwise. A timeout raises TimeoutError."""
        ...

    def ready(self, value: Any) -> Any:
        """``value`` as a call that waits returns it: already awaitable on
        asyncio (so ``await client.emit(...)`` works), as it is otherwise."""
        ...

    def sleep(self, seconds: float) -> Any: ...

    def locked(self) -> Any:
        """A context manager held while the core runs a user's call (the
        blocking driver's lock; nothing on asyncio)."""
        ...
