"""One client in one namespace: the object handlers talk to.

Sending is non-blocking everywhere (it queues bytes on the transport).
Waiting for an answer is the only runtime-specific call: ``await
socket.call(...)`` on asyncio, a blocking ``socket.call(...)`` under gevent.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any, ClassVar, Protocol, overload

from hubbub import instrumentation
from hubbub.errors import AckTimeoutError, DisconnectedError
from hubbub.http import HttpRequest
from hubbub.runtime.contract import Scheduler
from hubbub.socketio.broadcast import Broadcasting, BroadcastOperator, BroadcastTarget
from hubbub.socketio.codec import Packet, PacketType, Parser, check_event
from hubbub.socketio.encoded import EncodedPacket
from hubbub.socketio.handlers import HandlerSpec, HandlerT, class_handlers
from hubbub.types import (
    RECOVERABLE_REASONS,
    BroadcastOptions,
    DisconnectReason,
    PersistedSession,
    RecoveryOptions,
)
from hubbub.websocket.shared import SharedSink

log = logging.getLogger("hubbub.socketio.socket")


class NamespaceInstance(Protocol):
    """A Namespace class's instance (one per client), as the server calls it
    (hubbub.Namespace is the class to subclass)."""

    receives_packets: ClassVar[bool]

    def on_connect(self, auth: dict[str, Any]) -> Any: ...
    def on_disconnect(self, reason: str) -> Any: ...
    def receive_packet(
        self, kind: str, event: str, args: list[Any], ack: Callable[..., None] | None
    ) -> Any: ...


class TransportSession(Protocol):
    """What the Socket.IO layer needs of a client's session (Engine.IO or
    Socket.IO 0.9): Node's ``socket.conn``."""

    sid: str
    version: int
    transport: str

    @property
    def buffered_bytes(self) -> int: ...
    @property
    def shared_sink(self) -> SharedSink | None:
        """Where a broadcast may queue slices of a shared block of frames
        (hubbub.socketio.coalesce); None: packets go through send_packet."""
        ...

    def send_packet(self, packet: Any) -> None: ...
    def close(self, reason: str, now: float, *, notify: bool = ...) -> None: ...


class SocketServer(Protocol):
    """What a socket needs of its server."""

    @property
    def scheduler(self) -> Scheduler: ...
    @property
    def recovery(self) -> RecoveryOptions | None: ...
    @property
    def max_event_rate(self) -> float | None: ...


class SocketConnection(Protocol):
    """What a socket needs of the connection it rides on (Node's
    ``socket.client``)."""

    @property
    def protocol(self) -> int:
        """5 (clients 3.x/4.x), 4 (2.x), 1 (0.9) or 0 (0.6)."""
        ...

    @property
    def session(self) -> TransportSession: ...
    @property
    def request(self) -> HttpRequest: ...
    @property
    def view(self) -> Any:
        """The framework view's binding (socketio_manage), or None."""
        ...

    @property
    def closed(self) -> bool: ...
    @property
    def parser(self) -> Parser: ...

    def send_packet(self, packet: Packet, volatile: bool = False) -> None: ...
    def write(self, encoded: EncodedPacket) -> None: ...
    def connect_error(self, name: str, message: str, data: Any = None) -> None: ...
    def socket_joined(self, socket: Socket) -> None: ...
    def socket_ready(self, socket: Socket) -> None: ...
    def socket_left(self, socket: Socket) -> None: ...
    def disconnect(self) -> None: ...


class SocketNamespace(Broadcasting, BroadcastTarget, Protocol):
    """What a socket needs of its namespace, and what handlers reach through
    ``socket.nsp``: Node's namespace API."""

    @property
    def server(self) -> SocketServer: ...
    @property
    def sockets(self) -> Mapping[str, Socket]: ...

    def next_ack_id(self) -> int:
        """The next ack id of this namespace (one sequence for every socket
        and broadcast)."""
        ...

    # what a socket tells its namespace
    def dispatch(
        self, socket: Socket, event: str, args: list[Any], ack: Callable[..., None] | None
    ) -> Any:
        """Run one client event (the runtime spawns it)."""
        ...

    def forget_plans(self) -> None:
        """How a socket receives broadcasts changed (see
        hubbub.socketio.coalesce)."""
        ...

    def socket_disconnecting(self, socket: Socket, reason: str) -> None: ...
    def socket_left(self, socket: Socket) -> None: ...
    def socket_disconnected(self, socket: Socket, reason: str) -> None: ...


@dataclass
class Handshake:
    """What the client sent when it connected (as Node's ``socket.handshake``)."""

    headers: dict[str, str]
    query: dict[str, str]
    auth: dict[str, Any]
    address: str | None
    time: str
    issued: int
    secure: bool
    xdomain: bool
    url: str
    extra: dict[str, Any] = field(default_factory=dict)


# shared by every socket without its own handlers or listeners; replaced,
# never appended to
_NONE: list[Any] = []
_NO_HANDLERS: dict[str, list[HandlerSpec]] = {}
# what Socket._data holds until the app's data is asked for or set
_NO_DATA: Any = object()


class Socket:
    """One client in one namespace: what a function handler gets first
    (``handler(socket, *args)``), and what a ``Namespace`` instance wraps.

    Node's ``socket`` in Python: ``socket.id``, ``handshake``, ``data``,
    ``rooms``, ``emit``, ``call`` (``emitWithAck``), ``join``, ``leave``,
    ``to(room)``, ``broadcast``, ``disconnect()``, ``use``, ``on_any`` ...
    Sending never blocks: it queues the packet for the client."""

    # Slotted, for it lives as long as its client does. What most sockets
    # never change (per-socket handlers and listeners, the rate bucket, the
    # recovery state) is a class-level default, written to the instance's
    # __dict__ only by the sockets that change it; __dict__ and __weakref__
    # stay for integrations and apps that set attributes of their own.
    __slots__ = ("__dict__", "__weakref__", "_acks", "_auth", "_data", "_failures", "_handshake",
                 "_issued", "_pending", "_query", "any_out", "client", "connected", "id",
                 "instance", "nsp", "server")

    # shared by every socket without its own handlers or listeners; replaced,
    # never appended to
    middlewares: list[HandlerSpec] = _NONE
    handlers: dict[str, list[HandlerSpec]] = _NO_HANDLERS
    any_in: list[Callable[..., Any]] = _NONE
    # the max_event_rate bucket, when that limit is on (an instance's own)
    _bucket: list[float] | None = None
    recovered = False
    pid: str | None = None
    # a recovered socket's session, until its rooms are restored
    _previous: PersistedSession | None = None
    # broadcasts that reach a recovered socket while its connect handlers
    # still run: sent right after the missed packets, so none is lost
    early: list[EncodedPacket] | None = None

    def __init__(
        self,
        nsp: SocketNamespace,
        client: SocketConnection,
        auth: dict[str, Any],
        previous: PersistedSession | None = None,
        query: dict[str, str] | None = None,
    ) -> None:
        self.nsp = nsp
        self.server = nsp.server
        self.client = client
        if previous is not None:
            self.recovered = True
            self._previous = previous
            self.id = previous.sid
            self.pid = previous.pid
            self._data: Any = previous.data
        else:
            protocol = client.protocol
            if protocol >= 5:
                self.id = secrets.token_urlsafe(15)
            elif protocol == 4:  # clients 2.x derive the id from the engine sid
                sid = client.session.sid
                self.id = sid if nsp.name == "/" else f"{nsp.name}#{sid}"
            else:  # 0.9 and 0.6: the session id in every namespace, as gevent-socketio's sessid
                self.id = client.session.sid
            if self.server.recovery:
                self.pid = secrets.token_urlsafe(15)
            self._data = _NO_DATA  # {} once asked for (see data)
        rate = self.server.max_event_rate
        if rate is not None:
            # [tokens, refilled at, rate, next log time]
            self._bucket = [float(rate), self.server.scheduler.clock(), float(rate), 0.0]
        # an empty auth is kept as None until asked for (see auth)
        self._auth: dict[str, Any] | None = auth or None
        # the handshake is built when first asked for (most apps never do):
        # an idle socket keeps no copies of the request's headers and query
        self._query = query
        self._issued = int(time.time() * 1000)
        self._handshake: Handshake | None = None
        self.connected = False
        # ack callbacks by id: None until the first (see acks)
        self._acks: dict[int, Callable[[list[Any]], None]] | None = None
        # what to tell the acks still awaited if the client leaves first
        # (call(), timeout().emit()): None until the first such ack
        self._failures: dict[int, Callable[[Exception], None]] | None = None
        self._pending: list[Packet] | None = []  # emits made before CONNECT went out
        self.instance: NamespaceInstance | None = None
        # read for every packet sent to the socket, broadcasts included: a
        # slot (a class-level default is a slower lookup)
        self.any_out: list[Callable[..., Any]] = _NONE

    @property
    def auth(self) -> dict[str, Any]:
        """The auth payload of the client's CONNECT ({} when it sent none)."""
        auth = self._auth
        if auth is None:
            auth = self._auth = {}
        return auth

    @auth.setter
    def auth(self, value: dict[str, Any]) -> None:
        self._auth = value

    def __repr__(self) -> str:
        # as log lines name a client: its session id first
        return f"sid={self.client.session.sid} nsp={self.nsp.name} socket={self.id}"

    # -- properties --------------------------------------------------------------

    @property
    def handshake(self) -> Handshake:
        """What the client sent when it connected (Node's ``socket.handshake``)."""
        handshake = self._handshake
        if handshake is None:
            req = self.client.request
            query = self._query
            handshake = self._handshake = Handshake(
                headers=dict(req.headers),
                query=dict(req.query if query is None else query),
                auth=self.auth,
                address=req.remote_addr,
                time=formatdate(self._issued / 1000, usegmt=True),
                issued=self._issued,
                secure=req.secure,
                xdomain="origin" in req.headers,
                url=req.url,
            )
            self._query = None
        return handshake

    @property
    def sid(self) -> str:
        """The socket's id (``socket.id``; python-socketio calls it ``sid``). A
        client connected to several namespaces has one id in each."""
        return self.id

    # ``data`` and ``acks`` are dicts made when first asked for: most sockets
    # never use either, and an idle connection should cost little.

    @property
    def data(self) -> Any:
        """The app's own data for this socket (Node's ``socket.data``), ``{}``
        unless set."""
        data = self._data
        if data is _NO_DATA:
            data = self._data = {}
        return data

    @data.setter
    def data(self, value: Any) -> None:
        self._data = value

    @property
    def acks(self) -> dict[int, Callable[[list[Any]], None]]:
        """The callbacks waiting for this client's acks, by ack id."""
        acks = self._acks
        if acks is None:
            acks = self._acks = {}
        return acks

    @property
    def namespace(self) -> str:
        """The name of this socket's namespace (``"/"``, ``"/chat"``)."""
        return self.nsp.name

    @property
    def conn(self) -> TransportSession:
        """The underlying session: Engine.IO, or Socket.IO 0.9 (``version`` 1)."""
        return self.client.session

    @property
    def rooms(self) -> set[str]:
        """The rooms this socket is in, its own room (its id) included."""
        return set(self.nsp.adapter.socket_rooms(self.id) or ())

    @property
    def disconnected(self) -> bool:
        """True once the socket left its namespace."""
        return not self.connected

    # -- rooms ------------------------------------------------------------------------

    def join(self, *rooms: str | Iterable[str]) -> None:
        """Join rooms: each argument is a room name or an iterable of names."""
        names: list[str] = []
        for r in rooms:
            names.extend([r] if isinstance(r, str) else r)
        self.nsp.adapter.add_all(self.id, names)

    def leave(self, room: str) -> None:
        """Leave ``room`` (nothing happens when the socket is not in it)."""
        self.nsp.adapter.delete(self.id, room)

    # -- sending ----------------------------------------------------------------------

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Send an event to this client. ``callback(*args)`` gets its ack."""
        if callback is not None:
            self._emit_expecting(event, args, lambda answer: callback(*answer))
            return
        check_event(event)
        self._send_event(Packet(PacketType.EVENT, self.nsp.name, [event, *args]))

    def send(self, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """``emit("message", *args)``: the event a 0.9 or 0.6 client's ``send``
        receives."""
        self.emit("message", *args, callback=callback)

    def call(self, event: str, *args: Any, timeout: float | None = None) -> Any:
        """Emit and wait for the ack: one value, a tuple for several, None for
        none. ``await`` it on asyncio. Raises AckTimeoutError after ``timeout``."""
        waiter = self.server.scheduler.need().waiter()

        def answer(values: list[Any]) -> None:
            waiter.resolve(values[0] if len(values) == 1 else (tuple(values) if values else None))

        self._emit_expecting(
            event, args, answer, timeout, waiter.reject, f"no ack for {event!r} within {timeout}s"
        )
        return waiter.wait()

    def timeout(self, seconds: float) -> _TimedSocket:
        """``socket.timeout(5).emit("x", callback=cb)``: ``cb(err, *args)``."""
        return _TimedSocket(self, seconds)

    def _emit_expecting(
        self,
        event: str,
        args: tuple[Any, ...],
        on_answer: Callable[[list[Any]], None],
        timeout: float | None = None,
        on_error: Callable[[Exception], None] | None = None,
        timeout_message: str = "",
    ) -> None:
        """Emit ``event`` with an ack id; ``on_answer(values)`` gets the ack.
        With ``on_error``, exactly one of them is called: ``on_error`` gets an
        AckTimeoutError after ``timeout`` seconds (when given), or a
        DisconnectedError when the client leaves before it answers."""
        check_event(event)
        packet = Packet(PacketType.EVENT, self.nsp.name, [event, *args])
        # one id sequence per namespace, shared with broadcasts that want
        # acks: the ids a client answers never collide
        ack_id = packet.id = self.nsp.next_ack_id()
        timer: Any = None

        def answer(values: list[Any]) -> None:
            if timer is not None:
                timer.cancel()
            if self._failures is not None:
                self._failures.pop(ack_id, None)
            on_answer(values)

        self.acks[ack_id] = answer
        if on_error is not None:
            fail = on_error

            def failed(error: Exception) -> None:
                if timer is not None:
                    timer.cancel()
                fail(error)

            if self._failures is None:
                self._failures = {}
            self._failures[ack_id] = failed
            if timeout is not None:

                def expire() -> None:
                    if self.acks.pop(ack_id, None) is not None and self._failures is not None:
                        self._failures.pop(ack_id, None)
                        observer = self.server.scheduler.observer
                        if observer is not None:
                            observer.ack_timed_out(self.nsp.name)
                        fail(AckTimeoutError(timeout_message))

                timer = self.server.scheduler.need().call_later(timeout, expire)
        self._send_event(packet)

    def _send_event(self, packet: Packet) -> None:
        if self._pending is not None:
            # sent (and shown to the outgoing listeners) once CONNECT is out
            self._pending.append(packet)
            return
        self.notify_outgoing(packet.data)
        if packet.id is None and self.server.recovery is not None:
            # goes through the adapter so it is stored for recovery
            self.nsp.adapter.record_packet(packet, BroadcastOptions(rooms=frozenset((self.id,))))
        self.client.send_packet(packet)

    def notify_outgoing(self, data: list[Any]) -> None:
        """socket.on_any_outgoing listeners and the Namespace class's
        on_any_outgoing hook, for an event leaving for this client."""
        listeners: list[Callable[..., Any]] = self.any_out
        instance = self.instance
        if instance is not None:
            hook = class_handlers(type(instance)).get("on_any_outgoing")
            if hook is not None:
                listeners = [*listeners, hook.fn.__get__(instance)]
        for fn in listeners:
            try:
                fn(*data)
            except Exception:
                log.exception("outgoing listener raised")

    # -- broadcasting from this socket (everyone selected but me) --------------------------

    def _operator(self) -> BroadcastOperator:
        return BroadcastOperator(self.nsp, BroadcastOptions(except_=frozenset((self.id,))))

    def to(self, *rooms: str | Iterable[str]) -> BroadcastOperator:
        """Everyone in these rooms but this socket: ``socket.to("lobby").emit(...)``."""
        return self._operator().to(*rooms)

    in_ = to

    def except_(self, *rooms: str | Iterable[str]) -> BroadcastOperator:
        """Everyone in the namespace but this socket and the sockets in these rooms."""
        return self._operator().except_(*rooms)

    @property
    def broadcast(self) -> BroadcastOperator:
        """Every socket of the namespace but this one."""
        return self._operator()

    @property
    def local(self) -> BroadcastOperator:
        """Every socket of the namespace but this one, on this server only (not
        across the cluster)."""
        return self._operator().local

    @property
    def volatile(self) -> _VolatileSocket:
        """``socket.volatile.emit(...)``: dropped rather than queued when the client
        is not ready to receive it (a slow or reconnecting client)."""
        return _VolatileSocket(self)

    # -- listeners ----------------------------------------------------------------------

    @overload
    def on(self, event: str, handler: HandlerT) -> HandlerT: ...
    @overload
    def on(self, event: str, handler: None = None) -> Callable[[HandlerT], HandlerT]: ...
    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Per-socket handler ``handler(*args)``; its return value answers acks."""

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.server.scheduler.check_handler(fn)
            if self.handlers is _NO_HANDLERS:
                self.handlers = {}
            self.handlers.setdefault(event, []).append(HandlerSpec(fn))
            return fn

        return register(handler) if handler is not None else register

    def use(self, middleware: Callable[..., Any]) -> Callable[..., Any]:
        """Per-packet middleware ``fn(socket, event, args)``; raise (e.g.
        EventRefusedError) to drop the event and answer 'error'."""
        self.server.scheduler.check_handler(middleware)
        self.middlewares = [*self.middlewares, HandlerSpec(middleware)]
        return middleware

    def on_any(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn(event, *args)`` for every incoming event."""
        self.any_in = [*self.any_in, fn]
        return fn

    def on_any_outgoing(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """``fn(event, *args)`` for every event sent to this client."""
        self.any_out = [*self.any_out, fn]
        self.nsp.forget_plans()
        return fn

    # -- disconnecting ------------------------------------------------------------------

    def disconnect(self, close: bool = False) -> None:
        """Leave this namespace (the client gets DISCONNECT); ``close=True``
        closes the whole connection, every namespace of it."""
        if not self.connected:
            return
        if close:
            self.client.disconnect()
            return
        self.client.send_packet(Packet(PacketType.DISCONNECT, self.nsp.name))
        self.closed(DisconnectReason.SERVER_NAMESPACE_DISCONNECT)

    # -- lifecycle (called by the namespace and the client) ----------------------------------

    def opened(self) -> None:
        """The namespace accepted the socket: it joins its rooms and the
        client hears CONNECT, then what waited for it."""
        self.connected = True
        self.join(self.id)
        if self._previous is not None:  # a recovered session gets its rooms back
            self.join(self._previous.rooms)
        if self.client.protocol >= 5:
            data: dict[str, Any] = {"sid": self.id}
            if self.pid is not None:
                data["pid"] = self.pid
            self.client.send_packet(Packet(PacketType.CONNECT, self.nsp.name, data))
        else:  # clients 2.x wait for CONNECT on "/" too (Node's 2.x sends "40")
            self.client.send_packet(Packet(PacketType.CONNECT, self.nsp.name))
        pending, self._pending = self._pending, None
        previous = self._previous
        if previous is not None:  # only a recovered socket has these of its own
            self._previous = None
            for data_ in previous.missed_packets:
                self.client.send_packet(Packet(PacketType.EVENT, self.nsp.name, data_))
        early = self.early
        if early is not None:
            self.early = None
            for encoded in early:
                self.client.write(encoded)
        for packet in pending or ():
            self._send_event(packet)

    def closed(self, reason: str) -> None:
        """The socket left its namespace (the client, the server or the
        connection ended it)."""
        if not self.connected:
            return
        nsp = self.nsp
        nsp.socket_disconnecting(self, reason)
        if self.server.recovery is not None and reason in RECOVERABLE_REASONS and self.pid:
            self.nsp.adapter.persist_session(
                PersistedSession(
                    sid=self.id, pid=self.pid, rooms=sorted(self.rooms), data=self.data
                )
            )
        nsp.adapter.del_all(self.id)
        nsp.socket_left(self)
        self.client.socket_left(self)
        self.connected = False
        if self._acks:
            self._acks.clear()
        failures, self._failures = self._failures, None
        if failures:
            error = DisconnectedError(f"the client left ({reason}) before it answered")
            for fail in failures.values():
                try:
                    fail(error)
                except Exception:
                    log.exception("ack failure callback raised")
        nsp.socket_disconnected(self, reason)

    # -- incoming packets --------------------------------------------------------------------

    def receive(self, packet: Packet) -> None:
        """A packet from the client for this namespace."""
        ptype = packet.type
        if ptype is PacketType.EVENT or ptype is PacketType.BINARY_EVENT:
            data = packet.data
            event, args = data[0], data[1:]  # a new list already
            if not isinstance(event, str):
                event = str(event)
            ack = self.ack_sender(packet.id) if packet.id is not None else None
            self.receive_event(event, args, ack)
        elif ptype is PacketType.ACK or ptype is PacketType.BINARY_ACK:
            acks = self._acks
            fn = acks.pop(packet.id, None) if acks and packet.id is not None else None
            if fn is None:
                log.debug("%s: ack %s for nothing", self, packet.id)
                return
            observer = self.server.scheduler.observer
            if observer is not None:
                observer.ack_received(self)
            try:
                fn(list(packet.data or ()))
            except Exception:
                log.exception("ack callback raised")
        elif ptype is PacketType.DISCONNECT:
            self.closed(DisconnectReason.CLIENT_NAMESPACE_DISCONNECT)
        else:
            log.info("%s: unexpected packet type %s", self, ptype.name)

    def receive_event(
        self,
        event: str,
        args: list[Any],
        ack: Callable[..., None] | None,
        kind: str | None = None,
    ) -> None:
        """One client event: to the Namespace instance's receive_packet when
        its class asks for packets, else through the namespace's dispatch."""
        if self._bucket is not None and not self._within_rate(event):
            return
        if instrumentation.observed_servers:
            observer = self.server.scheduler.observer
            if observer is not None:
                observer.event_received(self, event)
        instance = self.instance
        if instance is not None and instance.receives_packets:
            if kind is None:
                kind = event_kind(event, args)
            self.server.scheduler.spawn(instance.receive_packet, kind, event, args, ack)
            return
        nsp = self.nsp
        nsp.scheduler.spawn(nsp.dispatch, self, event, args, ack)

    def _within_rate(self, event: str) -> bool:
        """The ``max_event_rate`` check: a token bucket that refills at that
        many events a second and holds as many. An event over it is dropped
        (and logged once a second at most): the client meant to flood."""
        bucket = self._bucket
        assert bucket is not None
        rate = bucket[2]
        now = self.server.scheduler.clock()
        tokens = min(rate, bucket[0] + (now - bucket[1]) * rate)
        bucket[1] = now
        if tokens >= 1.0:
            bucket[0] = tokens - 1.0
            return True
        bucket[0] = tokens
        if now >= bucket[3]:
            bucket[3] = now + 1.0
            log.warning("%s: over max_event_rate (%s/s); dropping events such as %r",
                        self, rate, event)
        return False

    def ack_sender(self, ack_id: int) -> Callable[..., None]:
        """What answers the client's ack ``ack_id`` (once)."""
        sent = False

        def ack(*args: Any) -> None:
            nonlocal sent
            if sent or not self.connected:
                return
            sent = True
            self.client.send_packet(Packet(PacketType.ACK, self.nsp.name, list(args), ack_id))

        return ack

    def send_error(self, message: str, data: Any = None, event: str | None = None) -> None:
        """Tell the client an event was refused: an 'error' event."""
        payload: dict[str, Any] = {"message": message}
        if data is not None:
            payload["data"] = data
        if event is not None:
            payload["event"] = event
        if self.connected:
            self.client.send_packet(Packet(PacketType.EVENT, self.nsp.name, ["error", payload]))


def event_kind(event: str, args: list[Any]) -> str:
    """What a 0.9 client would have sent for this event: "message" (one
    str), "json" (one other value) or "event"."""
    if event == "message" and len(args) == 1:
        return "message" if isinstance(args[0], str) else "json"
    return "event"


class _TimedSocket:
    __slots__ = ("_seconds", "_socket")

    def __init__(self, socket: Socket, seconds: float) -> None:
        self._socket = socket
        self._seconds = seconds

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """``callback(err, *args)``: err is None or an AckTimeoutError."""
        socket = self._socket
        if callback is None:
            socket.emit(event, *args)
            return
        cb = callback
        socket._emit_expecting(
            event,
            args,
            lambda values: cb(None, *values),
            self._seconds,
            cb,
            f"operation has timed out after {self._seconds}s",
        )

    def call(self, event: str, *args: Any) -> Any:
        return self._socket.call(event, *args, timeout=self._seconds)


class _VolatileSocket:
    """``socket.volatile.emit(...)``: dropped if the client is not keeping up."""

    __slots__ = ("_socket",)

    def __init__(self, socket: Socket) -> None:
        self._socket = socket

    def emit(self, event: str, *args: Any) -> None:
        check_event(event)
        socket = self._socket
        if socket.connected:
            socket.client.send_packet(
                Packet(PacketType.EVENT, socket.nsp.name, [event, *args]), volatile=True
            )
