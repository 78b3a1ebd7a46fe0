"""The Socket.IO client: python-socketio's client API, socket.io-client 4's
behaviour on the wire, for every protocol generation.

:class:`ClientBase` holds every rule: namespaces and their handlers, acks,
the send buffer while disconnected (volatile emits dropped), connection
state recovery (the last offset sent back on reconnection), reconnection
with socket.io-client's backoff and events, and one Engine.IO (v4 or v3) or
0.9 session under it. :class:`hubbub.AsyncClient` and :class:`hubbub.Client`
are this class on an asyncio driver and on a blocking one: the driver alone
decides whether a call that waits returns an awaitable or blocks
(``ClientDriver.wait``), as ``Runtime.waiter`` does on the server.

Events as socket.io-client names them: ``connect``, ``connect_error(data)``,
``disconnect(reason)`` per namespace; ``reconnect_attempt(n)``,
``reconnect(n)``, ``reconnect_error(error)``, ``reconnect_failed()`` on the
client (register them on "/").
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import math
import random
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urlencode

from hubbub.client.engine import ConnectFailed, EngineClient, Target
from hubbub.client.http1 import CookieJar
from hubbub.client.legacy import LegacyClient
from hubbub.client.namespace import ClientNamespace
from hubbub.client.reconnect import Backoff, Reconnection
from hubbub.errors import AckTimeoutError, ClientConnectionError, DisconnectedError
from hubbub.runtime.contract import ClientDriver, TimerHandle, Waiter
from hubbub.socketio.codec import JsonParser, Packet, PacketType, Parser, check_event

log = logging.getLogger("hubbub.client")

__all__ = ["NO_ACK", "ClientBase"]

Handler = Callable[..., Any]

# events the client itself emits: never sent, never a catch-all's
_RESERVED = frozenset(
    {"connect", "connect_error", "disconnect", "reconnect", "reconnect_attempt",
     "reconnect_error", "reconnect_failed"}
)
NO_ACK: Any = object()
"""Return it from a handler to leave the server's ack unanswered."""

# reasons after which socket.io-client does not reconnect by itself
_FINAL = frozenset({"io server disconnect", "io client disconnect"})


class _Ack:
    """An ack the client waits for: a callback (run as a handler) or the
    waiter of a ``call()`` (resolved at once: the caller may be a handler
    itself, blocking the handler thread until the answer comes)."""

    __slots__ = ("callback", "timer", "waiter")

    def __init__(self, callback: Handler | None, waiter: Waiter | None,
                 timer: TimerHandle | None) -> None:
        self.callback = callback
        self.waiter = waiter
        self.timer = timer


class _Namespace:
    """One namespace's state on this client."""

    __slots__ = (
        "acks", "buffer", "connected", "early", "name", "offset", "pid", "recovered", "sid",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.connected = False
        self.sid: str | None = None
        self.pid: str | None = None  # connection state recovery: the session to recover
        self.offset: str | None = None  # ... and the last offset received
        self.recovered = False
        self.buffer: list[Packet] = []  # emitted while not connected
        # events that came before the namespace's CONNECT (a recovered
        # session's missed packets do on Node): dispatched right after it
        self.early: list[Packet] = []
        self.acks: dict[int, _Ack] = {}


def _accepts_args(fn: Handler) -> int:
    """How many positional arguments ``fn`` takes (a large number for *args)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    count = 0
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            return 1 << 16
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def _ack_value(values: list[Any]) -> Any:
    return values[0] if len(values) == 1 else (tuple(values) if values else None)


def _ack_args(result: Any) -> list[Any]:
    if result is None:
        return []
    return list(result) if isinstance(result, tuple) else [result]


class ClientBase:
    """A Socket.IO client; see :class:`hubbub.AsyncClient` and :class:`hubbub.Client`.

    Options (socket.io-client's, in snake_case and seconds):

    * ``reconnection`` (True), ``reconnection_attempts`` (0: no limit),
      ``reconnection_delay`` (1), ``reconnection_delay_max`` (5),
      ``randomization_factor`` (0.5);
    * ``serializer``: "default" (JSON) or "msgpack" (socket.io-msgpack-parser);
    * ``protocol``: 5 (Socket.IO v5 over Engine.IO 4: Node socket.io 3/4,
      python-socketio 5, hubbub), 4 (over Engine.IO 3: Node socket.io 2.x)
      or 1 / "0.9" (Node socket.io 0.9, gevent-socketio);
    * ``ssl``: an ``ssl.SSLContext`` for https/wss (certificates are
      verified by default); ``ssl_verify=False`` turns verification off;
    * ``request_timeout`` (20): bound of each HTTP request and websocket
      handshake; ``upgrade`` (True): try the websocket after polling.
    """

    def __init__(
        self,
        *,
        reconnection: bool = True,
        reconnection_attempts: int = 0,
        reconnection_delay: float = 1.0,
        reconnection_delay_max: float = 5.0,
        randomization_factor: float = 0.5,
        serializer: str = "default",
        protocol: int | str = 5,
        ssl: Any = None,
        ssl_verify: bool = True,
        request_timeout: float = 20.0,
        upgrade: bool = True,
        **_ignored: Any,  # python-socketio options that have no meaning here (logger, ...)
    ) -> None:
        self.reconnection = reconnection
        self.backoff = Backoff(reconnection_delay, reconnection_delay_max, randomization_factor)
        self.reconnection_attempts = reconnection_attempts or math.inf
        self.serializer = serializer
        self.protocol = 1 if protocol in ("0.9", 1) else int(protocol)
        if self.protocol not in (1, 4, 5):
            raise ValueError(f"unknown Socket.IO protocol {protocol!r}: 5, 4 or '0.9'")
        if serializer not in ("default", "json", "msgpack"):
            raise ValueError(f"unknown serializer {serializer!r}")
        if serializer == "msgpack" and self.protocol != 5:
            raise ValueError("the msgpack parser needs Socket.IO protocol 5")
        self.ssl = ssl
        self.ssl_verify = ssl_verify
        self.request_timeout = request_timeout
        self.upgrade = upgrade
        self.handlers: dict[str, dict[str, Handler]] = {}
        self.namespace_handlers: dict[str, ClientNamespace] = {}
        self.cookies = CookieJar()
        self._driver: ClientDriver | None = None
        self._nsps: dict[str, _Namespace] = {}
        self._link: EngineClient | LegacyClient | None = None
        self._connecting: Waiter | None = None  # the connect() call waiting
        self._connect_timer: TimerHandle | None = None
        self._finished: Waiter | None = None  # what wait() waits for
        self._reconnection = Reconnection(self.backoff, self.reconnection_attempts)
        self._reconnect_timer: TimerHandle | None = None
        self._reconnecting = False
        self._retry = False
        self._closed_by_us = True
        self._next_ack = 0
        self._arity: dict[Handler, int] = {}
        self._url = ""
        self._target: Target | None = None
        self._auth: Any = None
        self._transports: list[str] = ["polling", "websocket"]
        self._wait_timeout = 5.0

    # -- the driver (what AsyncClient and Client choose) ---------------------------------

    def _make_driver(self) -> ClientDriver:
        raise NotImplementedError

    def _check_handler(self, fn: Handler) -> None:
        """Refuse at registration a handler this client cannot run."""

    @property
    def driver(self) -> ClientDriver:
        """The runtime driver that does this client's I/O (made when first needed,
        and anew for a connect from another thread or loop)."""
        driver = self._driver
        if driver is None or (self._link is None and not driver.current()):
            driver = self._driver = self._make_driver()
        return driver

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        with self.driver.locked():
            yield

    # -- registering handlers ----------------------------------------------------------------

    def on(self, event: str, handler: Handler | None = None, namespace: str | None = None) -> Any:
        """Register ``handler`` for ``event`` ("*": every event, called with
        the event's name first); without a handler, a decorator."""
        nsp = namespace or "/"

        def register(fn: Handler) -> Handler:
            self._check_handler(fn)
            self.handlers.setdefault(nsp, {})[event] = fn
            return fn

        return register(handler) if handler is not None else register

    def event(self, handler: Handler | None = None, namespace: str | None = None) -> Any:
        """``@client.event``: the function's name is the event's."""
        if handler is not None:
            return self.on(handler.__name__, handler, namespace)
        return lambda fn: self.on(fn.__name__, fn, namespace)

    def register_namespace(self, namespace_handler: ClientNamespace) -> None:
        """A :class:`~hubbub.client.namespace.ClientNamespace` instance handles
        the events of its namespace."""
        namespace_handler.client = self
        for name in dir(type(namespace_handler)):
            if name.startswith("on_"):
                self._check_handler(getattr(namespace_handler, name))
        self.namespace_handlers[namespace_handler.namespace] = namespace_handler

    # -- state ----------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        """Whether some namespace is connected."""
        return any(n.connected for n in self._nsps.values())

    @property
    def sid(self) -> str | None:
        """The socket id in the main namespace ``/`` while connected, else None."""
        return self.get_sid("/")

    def get_sid(self, namespace: str | None = None) -> str | None:
        """The socket id in ``namespace`` (``/`` by default) while connected there,
        else None."""
        state = self._nsps.get(namespace or "/")
        return state.sid if state is not None and state.connected else None

    @property
    def namespaces(self) -> dict[str, str | None]:
        """The connected namespaces and their sids."""
        return {name: n.sid for name, n in self._nsps.items() if n.connected}

    def is_recovered(self, namespace: str | None = None) -> bool:
        """Whether the last connection of ``namespace`` recovered its session
        (connection state recovery: missed events were replayed)."""
        state = self._nsps.get(namespace or "/")
        return state is not None and state.recovered

    def transport(self) -> str | None:
        """"polling" or "websocket" (0.9: its transport's name), None when not connected."""
        link = self._link
        return link.transport if link is not None and link.state == "open" else None

    # -- connecting ---------------------------------------------------------------------------

    def connect(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        auth: Any = None,
        transports: list[str] | str | None = None,
        namespaces: list[str] | str | None = None,
        socketio_path: str = "socket.io",
        wait: bool = True,
        wait_timeout: float = 5.0,
        retry: bool = False,
    ) -> Any:
        """Connect to ``url`` and its namespaces (those given, else every one
        with handlers, else "/"). Waits until every namespace answered
        (``wait_timeout`` after the session opened); raises
        :class:`hubbub.errors.ClientConnectionError` if the server cannot be
        reached or refuses. ``retry``: keep trying (with the reconnection
        backoff) until the first connection succeeds. ``auth`` is a dict,
        or a function returning one, called at every (re)connection."""
        with self._locked():
            if self._link is not None and self._link.state in ("opening", "open"):
                raise ClientConnectionError("already connected")
            if isinstance(transports, str):
                transports = [transports]
            transports = list(transports or ["polling", "websocket"])
            for name in transports:
                if name not in ("polling", "websocket"):
                    raise ValueError(f"unknown transport {name!r}")
            if isinstance(namespaces, str):
                namespaces = [namespaces]
            wanted = list(namespaces or []) or sorted(
                set(self.handlers) | set(self.namespace_handlers)
            ) or ["/"]
            self._url = url
            self._auth = auth
            self._transports = transports
            self._wait_timeout = wait_timeout
            self._retry = retry
            # a namespace connected before keeps its recovery pid and offset
            self._nsps = {name: self._nsps.get(name) or _Namespace(name) for name in wanted}
            for state in self._nsps.values():
                state.connected = False
                state.early.clear()
            query: dict[str, str] = {}
            path = socketio_path
            if "?" in url:
                url, _, qs = url.partition("?")
                query.update(parse_qsl(qs, keep_blank_values=True))
            self._target = Target(url, path, query, list((headers or {}).items()), self.cookies)
            self._closed_by_us = False
            self._reconnection = Reconnection(self.backoff, self.reconnection_attempts)
            runtime = self.driver.runtime
            self._connecting = connecting = runtime.waiter()
            self._finished = runtime.waiter()
            self._open_link()
        if not wait:
            return self.driver.ready(None)
        return self.driver.wait(connecting, None)

    def _open_link(self) -> None:
        target = self._target
        assert target is not None
        driver = self.driver
        if self.protocol != 5:
            # Engine.IO 3 and 0.9 servers take no auth payload: it rides in the query
            auth = self._auth() if callable(self._auth) else self._auth
            if isinstance(auth, dict):
                target.query.update({str(k): str(v) for k, v in auth.items()})
        if self.protocol == 1:
            self._link = LegacyClient(driver, self, target, self._transports,
                                      self.request_timeout)
        else:
            self._link = EngineClient(
                driver, self, target, 4 if self.protocol == 5 else 3, self._parser(),
                self._transports, self.upgrade, self.request_timeout,
            )
        self._link.open()

    def _parser(self) -> Parser:
        if self.serializer == "msgpack":
            from hubbub.socketio.msgpack import MsgpackParser

            return MsgpackParser()
        return JsonParser(self.protocol if self.protocol in (4, 5) else 5)

    # -- what the session reports (LinkListener) -----------------------------------------

    def link_open(self, sid: str) -> None:
        """Session listener: the Engine.IO (or 0.9) session opened; asks to
        connect each namespace."""
        for state in self._nsps.values():
            self._send_connect(state)
        if self._connect_timer is None and self._connecting is not None:
            self._connect_timer = self.driver.runtime.call_later(
                self._wait_timeout, self._connect_timed_out
            )

    def _send_connect(self, state: _Namespace) -> None:
        link = self._link
        if link is None:
            return
        if self.protocol == 4:
            if state.name != "/":  # "/" is connected by the server itself
                auth = self._auth() if callable(self._auth) else self._auth
                nsp = state.name
                if isinstance(auth, dict) and auth:
                    nsp += "?" + urlencode({str(k): str(v) for k, v in auth.items()})
                link.send(Packet(PacketType.CONNECT, nsp))
            return
        auth = self._auth() if callable(self._auth) else self._auth
        if state.pid is not None:
            auth = {**(auth if isinstance(auth, dict) else {}), "pid": state.pid}
            if state.offset is not None:
                auth["offset"] = state.offset
        link.send(Packet(PacketType.CONNECT, state.name, auth))

    def link_packet(self, packet: Packet) -> None:
        """Session listener: a Socket.IO packet arrived."""
        nsp = packet.nsp.partition("?")[0]
        state = self._nsps.get(nsp)
        if state is None:
            return
        ptype = packet.type
        if ptype is PacketType.EVENT or ptype is PacketType.BINARY_EVENT:
            if not isinstance(packet.data, list) or not packet.data:
                return
            if not state.connected:
                state.early.append(packet)
                return
            event, args = packet.data[0], list(packet.data[1:])
            self._received(state.name, str(event), list(args))
            if state.pid is not None and packet.id is None and args and isinstance(args[-1], str):
                state.offset = args.pop()  # the offset recovery appends to every event
            self._dispatch(state, str(event), args, packet.id)
        elif ptype is PacketType.ACK or ptype is PacketType.BINARY_ACK:
            ack = state.acks.pop(packet.id, None) if packet.id is not None else None
            if ack is not None:
                values = list(packet.data or ())
                if ack.timer is not None:
                    ack.timer.cancel()
                if ack.waiter is not None:
                    ack.waiter.resolve(_ack_value(values))
                elif ack.callback is not None:
                    self._spawn(ack.callback, values, None)
        elif ptype is PacketType.CONNECT:
            self._namespace_connected(state, packet.data)
        elif ptype is PacketType.CONNECT_ERROR:
            self._namespace_refused(state, packet.data)
        elif ptype is PacketType.DISCONNECT:
            if state.connected:
                state.pid = None  # the server ended the session: nothing to recover
                self._namespace_lost(state, "io server disconnect")
            if not self.connected:
                # no namespace left: the session goes too, after the server's
                # own call that sent the DISCONNECT (as a network would)
                self.driver.runtime.call_later(0, self._server_ended)

    def _namespace_lost(self, state: _Namespace, reason: str) -> None:
        state.connected = False
        self._clear_acks(state)
        self._fire(state.name, "disconnect", [reason])

    def _server_ended(self) -> None:
        with self._locked():
            if not self.connected and not self._closed_by_us:
                self._end("io server disconnect")

    def _namespace_connected(self, state: _Namespace, data: Any) -> None:
        info = data if isinstance(data, dict) else {}
        link = self._link
        sid = info.get("sid")
        state.sid = str(sid) if sid is not None else (link.sid if link is not None else None)
        pid = info.get("pid")
        state.recovered = pid is not None and pid == state.pid
        state.pid = pid if isinstance(pid, str) else None
        if not state.recovered:
            state.offset = None
        state.connected = True
        early, state.early = state.early, []
        for packet in early:
            self.link_packet(packet)
        buffered, state.buffer = state.buffer, []
        for packet in buffered:
            self._send(state, packet)
        self._fire(state.name, "connect", [])
        if all(n.connected for n in self._nsps.values()):
            self._all_connected()

    def _all_connected(self) -> None:
        if self._connect_timer is not None:
            self._connect_timer.cancel()
            self._connect_timer = None
        if self._reconnecting:
            attempt = self._reconnection.attempt
            self._reconnecting = False
            self._fire("/", "reconnect", [attempt])
        self._reconnection.succeeded()
        connecting, self._connecting = self._connecting, None
        if connecting is not None:
            connecting.resolve(None)

    def _namespace_refused(self, state: _Namespace, data: Any) -> None:
        if isinstance(data, dict) and "message" in data:
            # v5: {"message", "data"}; a v4 server sends its error's data object
            rest = {k: v for k, v in data.items() if k != "message"}
            message = str(data["message"])
            extra = data.get("data", rest or None)
        elif isinstance(data, str):
            message, extra = data, None
        else:
            message, extra = "Connection refused", data
        self._fire(state.name, "connect_error", [data])
        if self._connecting is not None:
            self._fail_connect(ClientConnectionError(message, extra))

    def _connect_timed_out(self) -> None:
        self._connect_timer = None
        if self._connecting is not None:
            missing = [n.name for n in self._nsps.values() if not n.connected]
            self._fail_connect(ClientConnectionError(
                f"one or more namespaces failed to connect: {', '.join(missing)}"
            ))

    def _fail_connect(self, error: ClientConnectionError) -> None:
        """The first connection failed: tell connect() (retrying if asked)."""
        if self._retry and self.reconnection:
            self._close_link()
            self._schedule_reconnect()
            return
        connecting, self._connecting = self._connecting, None
        self._closed_by_us = True
        self._close_link()
        if connecting is not None:
            connecting.reject(error)
        self._finish()

    def link_failed(self, error: ConnectFailed) -> None:
        """Session listener: the session could not be opened; 'connect_error'
        handlers hear it, and reconnection goes on when it is on."""
        self._link = None
        self.driver.forget()
        for state in self._nsps.values():
            self._fire(state.name, "connect_error", [{"message": str(error), "data": error.data}])
        if self._reconnecting:
            self._fire("/", "reconnect_error", [error])
            self._schedule_reconnect()
            return
        if self._connecting is not None:
            data = error.data
            message = str(error)
            if isinstance(data, dict) and isinstance(data.get("message"), str):
                message = f"{message}: {data['message']}"
            self._fail_connect(ClientConnectionError(message, data))

    def link_closed(self, reason: str) -> None:
        """Session listener: the session closed for ``reason``; 'disconnect'
        handlers hear it, and reconnection starts when it is on."""
        self._link = None
        # the kept-alive connections go with the session: they lead to the
        # server that ended it, which may be shutting down
        self.driver.forget()
        for state in self._nsps.values():
            state.early.clear()
            if state.connected:
                self._namespace_lost(state, reason)
        if reason in _FINAL or not self.reconnection:
            self._end(reason)
        else:
            self._schedule_reconnect()

    # -- reconnection ---------------------------------------------------------------------

    def _schedule_reconnect(self) -> None:
        runtime = self.driver.runtime
        now = runtime.clock()
        when = self._reconnection.next_try(now, random.random())
        if when is None:
            self._fire("/", "reconnect_failed", [])
            connecting, self._connecting = self._connecting, None
            if connecting is not None:
                connecting.reject(ClientConnectionError("could not connect"))
            self._end("reconnect failed")
            return
        self._reconnecting = self._connecting is None
        self._reconnect_timer = runtime.call_later(when - now, self._reconnect)

    def _reconnect(self) -> None:
        with self._locked():
            self._reconnect_timer = None
            if self._closed_by_us:
                return
            if self._reconnecting:
                self._fire("/", "reconnect_attempt", [self._reconnection.attempt])
            self._open_link()

    # -- events in ---------------------------------------------------------------------------

    def _handler(self, nsp: str, event: str) -> tuple[Handler | None, bool]:
        """The handler of ``event`` and whether it is a catch-all."""
        obj = self.namespace_handlers.get(nsp)
        if obj is not None:
            fn = obj.handler(event)
            if fn is not None:
                return fn, False
        handlers = self.handlers.get(nsp, {})
        fn = handlers.get(event)
        if fn is not None:
            return fn, False
        if event not in _RESERVED:
            if obj is not None and (fn := obj.handler("any_event")) is not None:
                return fn, True
            if (fn := handlers.get("*")) is not None:
                return fn, True
        return None, False

    def _dispatch(self, state: _Namespace, event: str, args: list[Any], ack_id: int | None) -> None:
        fn, catch_all = self._handler(state.name, event)
        if fn is None:
            return
        if catch_all:
            args = [event, *args]
        reply: Callable[[Any], None] | None = None
        if ack_id is not None:
            def reply(result: Any, nsp: str = state.name, ack: int = ack_id) -> None:
                if result is NO_ACK:
                    return
                with self._locked():
                    link = self._link
                    if link is not None and link.state == "open":
                        link.send(Packet(PacketType.ACK, nsp, _ack_args(result), ack))
        self._spawn(fn, args, reply)

    def _received(self, nsp: str, event: str, args: list[Any]) -> None:
        """Every event as it arrives (with a recovery offset, if any), before
        its handler: a hook for the test client."""

    def _fire(self, nsp: str, event: str, args: list[Any]) -> None:
        fn, _ = self._handler(nsp, event)
        if fn is None:
            return
        if event == "disconnect" or event == "connect_error":
            arity = self._arity.get(fn)
            if arity is None:
                arity = self._arity[fn] = _accepts_args(fn)
            args = args[:arity]  # python-socketio's handlers without the reason
        self._spawn(fn, args, None)

    def _spawn(self, fn: Handler, args: list[Any], reply: Callable[[Any], None] | None) -> None:
        self.driver.runtime.spawn(_run_handler, fn, args, reply)

    # -- events out ----------------------------------------------------------------------------

    def emit(self, event: str, *args: Any, namespace: str | None = None,
             callback: Handler | None = None, data: Any = None, volatile: bool = False) -> Any:
        """Send ``event`` with ``args`` (python-socketio's ``data=``, a tuple
        for several arguments, works too). ``callback(*answer)`` gets the
        server's ack. While the namespace is not connected the packet waits
        in a buffer, unless ``volatile`` (then it is dropped, as it is when
        the transport cannot take it at once)."""
        check_event(event)
        if data is not None:
            args = (*args, *(data if isinstance(data, tuple) else (data,)))
        elif len(args) == 1 and isinstance(args[0], tuple):
            args = args[0]
        with self._locked():
            self._emit_event(self._state(namespace), [event, *args], callback, volatile)
        return self.driver.ready(None)

    def _emit_event(self, state: _Namespace, data: list[Any], callback: Handler | None,
                    volatile: bool = False) -> None:
        link = self._link
        if volatile and not (state.connected and link is not None and link.writable):
            return
        ack_id = None
        if callback is not None:
            ack_id = self._register_ack(state, _Ack(callback, None, None))
        self._send(state, Packet(PacketType.EVENT, state.name, data, ack_id))

    def send(self, data: Any, namespace: str | None = None,
             callback: Handler | None = None) -> Any:
        """The event "message" (python-socketio's ``send``)."""
        return self.emit("message", data, namespace=namespace, callback=callback)

    def call(self, event: str, *args: Any, namespace: str | None = None,
             timeout: float = 60, data: Any = None) -> Any:
        """Emit with an ack and return the answer: one value, a tuple for
        several, None for none. Raises :class:`hubbub.AckTimeoutError` after
        ``timeout`` seconds."""
        check_event(event)
        if data is not None:
            args = (*args, *(data if isinstance(data, tuple) else (data,)))
        elif len(args) == 1 and isinstance(args[0], tuple):
            args = args[0]
        with self._locked():
            state = self._state(namespace)
            runtime = self.driver.runtime
            waiter = runtime.waiter()
            holder: list[int] = []

            def expire() -> None:
                with self._locked():
                    if holder and state.acks.pop(holder[0], None) is not None:
                        waiter.reject(AckTimeoutError(f"no ack for {event!r} within {timeout}s"))

            timer = runtime.call_later(timeout, expire)
            ack_id = self._register_ack(state, _Ack(None, waiter, timer))
            holder.append(ack_id)
            self._send(state, Packet(PacketType.EVENT, state.name, [event, *args], ack_id))
        return self.driver.wait(waiter, None)

    def _state(self, namespace: str | None) -> _Namespace:
        nsp = namespace or "/"
        state = self._nsps.get(nsp)
        if state is None:
            raise ValueError(f"namespace {nsp!r} is not one this client connected")
        return state

    def _register_ack(self, state: _Namespace, ack: _Ack) -> int:
        ack_id = self._next_ack
        self._next_ack += 1
        state.acks[ack_id] = ack
        return ack_id

    def _clear_acks(self, state: _Namespace) -> None:
        """The namespace lost its connection: acks of packets that went out
        will never come (a ``call()`` fails with DisconnectedError, a
        callback is forgotten); those of buffered packets still may, as
        socket.io-client keeps them."""
        buffered = {p.id for p in state.buffer}
        for ack_id in [i for i in state.acks if i not in buffered]:
            ack = state.acks.pop(ack_id)
            if ack.timer is not None:
                ack.timer.cancel()
            if ack.waiter is not None:
                ack.waiter.reject(DisconnectedError("disconnected before the server answered"))

    def _send(self, state: _Namespace, packet: Packet) -> None:
        link = self._link
        if state.connected and link is not None and link.state == "open":
            link.send(packet)
        else:
            state.buffer.append(packet)

    # -- the end ---------------------------------------------------------------------------

    def disconnect(self) -> Any:
        """Leave every namespace and close the session (no reconnection).
        Returns (asyncio: awaits) once what was queued and the close went
        out, within ``request_timeout``."""
        with self._locked():
            self._closed_by_us = True
            link = self._link
            for state in self._nsps.values():
                if state.connected and link is not None and link.state == "open":
                    link.send(Packet(PacketType.DISCONNECT, state.name))
            for state in self._nsps.values():
                if state.connected:
                    self._namespace_lost(state, "io client disconnect")
            connecting, self._connecting = self._connecting, None
            if connecting is not None:
                connecting.reject(ClientConnectionError("disconnected while connecting"))
            closed = self.driver.runtime.waiter()
            self._close_link(lambda: closed.resolve(None))
            self._finish()
        return self.driver.wait(closed, None)

    def shutdown(self) -> Any:
        """python-socketio's name for a disconnect that also stops reconnecting."""
        return self.disconnect()

    def _close_link(self, done: Callable[[], None] | None = None) -> None:
        for handle in (self._reconnect_timer, self._connect_timer):
            if handle is not None:
                handle.cancel()
        self._reconnect_timer = self._connect_timer = None
        link, self._link = self._link, None
        if link is not None:
            link.close(done)
        elif done is not None:
            done()

    def _end(self, reason: str) -> None:
        """No more connection and none to come."""
        self._closed_by_us = True
        self._close_link()
        self._finish()

    def _finish(self) -> None:
        self._reconnecting = False
        self.driver.forget()  # a finished client keeps no connection open
        finished = self._finished
        if finished is not None:
            finished.resolve(None)

    def wait(self) -> Any:
        """Wait until the client is disconnected for good (by ``disconnect()``,
        the server, or reconnection giving up)."""
        finished = self._finished
        if finished is None:
            return self.driver.ready(None)
        return self.driver.wait(finished, None)

    def sleep(self, seconds: float) -> Any:
        """Sleep on the client's runtime (``await`` it with ``AsyncClient``), as
        python-socketio's ``sio.sleep``."""
        return self.driver.sleep(seconds)

    def start_background_task(self, target: Handler, *args: Any) -> None:
        """Run ``target(*args)`` on the client's runtime (a task, a thread or a
        greenlet), as python-socketio's ``sio.start_background_task``."""
        self.driver.runtime.spawn(target, *args)


def _run_handler(fn: Handler, args: list[Any], reply: Callable[[Any], None] | None) -> Any:
    """Run one handler; its result answers the server's ack. A coroutine
    (AsyncClient) is returned for the runtime to run as a task."""
    result = fn(*args)
    if inspect.isawaitable(result):
        async def finish() -> None:
            value = await result
            if reply is not None:
                reply(value)

        return finish()
    if reply is not None:
        reply(result)
    return None

