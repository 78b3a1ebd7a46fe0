"""Observers: what a server reports about its work, for metrics, traces and logs.

An :class:`Observer` is told of every connection's lifecycle, every packet
in and out, acks, broadcasts, handler calls and the adapter's traffic with
other servers. ``hubbub.metrics`` (Prometheus) and ``hubbub.tracing``
(OpenTelemetry) are observers; so is :class:`PacketLog`. Subclass
:class:`Observer` and override what you need; ``server.add_observer(obs)``
registers one.

The server holds ``None`` while no observer is registered: each report point
is one ``is None`` test, so an unobserved server does the same work as one
without this module. Observers run on the server's loop (or hub), inline:
they must be quick and must not block. A report that raises is logged and
the server goes on (the server holds an :class:`ObserverGroup`, which
guards each call), except ``call_handler``, ``broadcast`` and
``adapter_request``, which wrap the server's own work and must not raise.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

from hubbub.http import HttpRequest

log = logging.getLogger("hubbub.instrumentation")
packet_log = logging.getLogger("hubbub.packets")

# how many servers of this process have an observer: while none has, the
# busiest report points (a packet in or out, an event, a handler call) test
# this module-level count alone, cheaper than reaching their server's
# ``scheduler.observer``
observed_servers = 0

# ``Connection.protocol`` numbers as the Socket.IO generation users know
PROTOCOL_NAMES = {5: "5", 4: "4", 1: "0.9", 0: "0.6"}

# Socket.IO packet types (hubbub.socketio.codec.PacketType's values): this
# module sits below the codecs, so it names them by number
CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK = range(7)
PACKET_TYPE_NAMES = ("CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR",
                     "BINARY_EVENT", "BINARY_ACK")


class ObservedSession(Protocol):
    @property
    def sid(self) -> str: ...
    @property
    def transport(self) -> str: ...


class ObservedConnection(Protocol):
    """One client connection (``hubbub.socketio.connection.Connection``)."""

    @property
    def session(self) -> ObservedSession: ...
    @property
    def protocol(self) -> int:
        """5 (clients 3.x/4.x), 4 (2.x), 1 (0.9) or 0 (0.6)."""
        ...

    @property
    def request(self) -> HttpRequest:
        """The request that opened the connection (its headers, address)."""
        ...


class ObservedSocket(Protocol):
    """One client in one namespace (``hubbub.Socket``)."""

    @property
    def id(self) -> str: ...
    @property
    def namespace(self) -> str: ...
    @property
    def client(self) -> ObservedConnection: ...


class ObservedPacket(Protocol):
    """A Socket.IO packet (``hubbub.socketio.codec.Packet``)."""

    @property
    def type(self) -> int: ...
    @property
    def nsp(self) -> str: ...
    @property
    def data(self) -> Any: ...
    @property
    def id(self) -> int | None: ...


class ObservedPart(Protocol):
    """One Engine.IO message a packet was encoded to."""

    @property
    def data(self) -> str | bytes: ...


# what a scope-like report returns: called once when the operation ends,
# with the exception that ended it, if any
Finish = Callable[[BaseException | None], None]


def payload_size(data: str | bytes) -> int:
    """Bytes of one message as UTF-8 on the wire."""
    return len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))


def event_name(packet: ObservedPacket) -> str | None:
    """The event name of an EVENT packet, else None."""
    data = packet.data
    if packet.type in (EVENT, BINARY_EVENT) and isinstance(data, list) and data:
        return str(data[0])
    return None


class Observer:
    """The reports a server makes. Every method does nothing here."""

    # -- connections ---------------------------------------------------------------

    def connection_opened(self, connection: ObservedConnection) -> None:
        """A client connected (any protocol generation, before any namespace)."""

    def connection_upgraded(self, connection: ObservedConnection, previous: str) -> None:
        """The connection moved from transport ``previous`` to its current one."""

    def connection_closed(self, connection: ObservedConnection, reason: str) -> None:
        """The connection ended (``reason``: a :class:`hubbub.DisconnectReason` value)."""

    def socket_connected(self, socket: ObservedSocket) -> None:
        """A namespace accepted the client."""

    def socket_refused(self, connection: ObservedConnection, namespace: str, message: str) -> None:
        """A namespace refused the client (CONNECT_ERROR)."""

    def socket_disconnected(self, socket: ObservedSocket, reason: str) -> None:
        """The client left a namespace."""

    # -- packets ------------------------------------------------------------------------

    def message_received(self, connection: ObservedConnection, data: str | bytes) -> None:
        """One Engine.IO message carrying Socket.IO data arrived (a packet, or
        one binary attachment of it)."""

    def packet_received(self, connection: ObservedConnection, packet: ObservedPacket) -> None:
        """A whole Socket.IO packet was decoded (Engine.IO clients)."""

    def event_received(self, socket: ObservedSocket, event: str) -> None:
        """A client event reached its namespace (every generation)."""

    def ack_received(self, socket: ObservedSocket) -> None:
        """The client answered an ack the server asked for."""

    def packet_sent(
        self,
        packet: ObservedPacket,
        connections: Sequence[ObservedConnection],
        parts: Sequence[ObservedPart],
        skipped: Sequence[ObservedConnection] | None,
    ) -> None:
        """``packet``, encoded to ``parts``, was queued for each of
        ``connections`` but those in ``skipped`` (closed, or a volatile packet
        dropped for a slow client)."""

    def packet_dropped(self, connection: ObservedConnection, reason: str) -> None:
        """A packet for a slow client was not queued: ``"volatile"`` (a
        volatile packet past ``volatile_threshold``) or ``"slow consumer"``
        (past ``max_buffered_bytes``: the client is disconnected)."""

    def ack_timed_out(self, namespace: str) -> None:
        """An ack the server waited for (``call``, ``timeout().emit``, a
        broadcast with a timeout) did not come in time."""

    # -- handlers and broadcasts ---------------------------------------------------------

    def call_handler(
        self, socket: ObservedSocket, event: str, fn: Callable[..., Any], args: list[Any]
    ) -> Any:
        """Run the event handler ``fn(*args)`` and return its result. An
        observer that wraps it returns an awaitable that finishes with the
        handler's when the handler returned one."""
        return fn(*args)

    def broadcast(
        self, namespace: str, event: str | None
    ) -> contextlib.AbstractContextManager[Any]:
        """Entered around one broadcast (the adapter's work included)."""
        return contextlib.nullcontext()

    def broadcast_delivered(self, namespace: str, recipients: int) -> None:
        """A broadcast reached this many sockets of this server."""

    # -- the adapter ----------------------------------------------------------------------

    def adapter_request(self, namespace: str, operation: str) -> Finish | None:
        """A request to every server began (``fetch_sockets``,
        ``server_side_emit``, ``broadcast_with_ack`` ...); the returned
        callable, if any, is called when it completes."""
        return None

    def adapter_published(self, adapter: str, error: BaseException | None) -> None:
        """A message for other servers was published (or failed to be)."""

    def adapter_received(self, adapter: str) -> None:
        """A message from another server arrived."""

    def adapter_error(self, adapter: str, operation: str) -> None:
        """A message from another server could not be handled (``operation``:
        ``"decode"`` or ``"handle"``)."""


_METHODS = [name for name in vars(Observer) if not name.startswith("_")]


def _guard(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any) -> Any:
        try:
            return fn(*args)
        except Exception:
            log.exception("observer %s raised", name)
            return None

    return guarded


class ObserverGroup(Observer):
    """Several observers as one; every report goes to each, and one that
    raises is logged without keeping the report from the others or the
    server from its work."""

    def __init__(self, observers: list[Observer]) -> None:
        self.observers = list(observers)
        for name in _METHODS:
            if name in ("call_handler", "broadcast", "adapter_request"):
                continue
            bound = [_guard(name, getattr(o, name)) for o in self.observers
                     if getattr(type(o), name) is not getattr(Observer, name)]
            setattr(self, name, _fan_out(bound))

    def call_handler(
        self, socket: ObservedSocket, event: str, fn: Callable[..., Any], args: list[Any]
    ) -> Any:
        call = fn
        for observer in reversed(self.observers):
            call = _wrapped_call(observer, socket, event, call)
        return call(*args)

    @contextlib.contextmanager
    def broadcast(self, namespace: str, event: str | None) -> Iterator[None]:
        with contextlib.ExitStack() as stack:
            for observer in self.observers:
                stack.enter_context(observer.broadcast(namespace, event))
            yield

    def adapter_request(self, namespace: str, operation: str) -> Finish | None:
        finishers = [f for o in self.observers
                     if (f := o.adapter_request(namespace, operation)) is not None]
        if not finishers:
            return None

        def finish(error: BaseException | None) -> None:
            for fn in finishers:
                _guard("adapter_request", fn)(error)

        return finish


def _fan_out(fns: list[Callable[..., Any]]) -> Callable[..., None]:
    def report(*args: Any) -> None:
        for fn in fns:
            fn(*args)

    return report


def _wrapped_call(
    observer: Observer, socket: ObservedSocket, event: str, inner: Callable[..., Any]
) -> Callable[..., Any]:
    def call(*args: Any) -> Any:
        return observer.call_handler(socket, event, inner, list(args))

    return call


def combine(observers: list[Observer]) -> Observer | None:
    """What a server holds: None for no observer, else a group (which
    guards every report)."""
    return ObserverGroup(observers) if observers else None


# -- logging every packet --------------------------------------------------------------


class PacketLog(Observer):
    """One DEBUG line per Socket.IO packet in and out on the
    ``hubbub.packets`` logger, with the session id (``Server(log_packets=True)``
    registers one). Each line's record carries ``sid``, ``direction``,
    ``packet_type``, ``namespace`` and ``event`` as attributes for
    structured formatters."""

    def packet_received(self, connection: ObservedConnection, packet: ObservedPacket) -> None:
        _log_packet("in", connection.session.sid, packet)

    def event_received(self, socket: ObservedSocket, event: str) -> None:
        if socket.client.protocol < 4:  # 0.9 and 0.6 packets skip packet_received
            packet_log.debug(
                "packet in sid=%s type=EVENT nsp=%s event=%s", socket.client.session.sid,
                socket.namespace, event,
                extra={"sid": socket.client.session.sid, "direction": "in",
                       "packet_type": "EVENT", "namespace": socket.namespace, "event": event},
            )

    def packet_sent(
        self,
        packet: ObservedPacket,
        connections: Sequence[ObservedConnection],
        parts: Sequence[ObservedPart],
        skipped: Sequence[ObservedConnection] | None,
    ) -> None:
        if not packet_log.isEnabledFor(logging.DEBUG):
            return
        for connection in connections:
            if skipped is None or connection not in skipped:
                _log_packet("out", connection.session.sid, packet)


def _log_packet(direction: str, sid: str, packet: ObservedPacket) -> None:
    ptype = int(packet.type)
    kind = PACKET_TYPE_NAMES[ptype] if 0 <= ptype < len(PACKET_TYPE_NAMES) else str(ptype)
    event = event_name(packet)
    packet_log.debug(
        "packet %s sid=%s type=%s nsp=%s%s%s", direction, sid, kind, packet.nsp,
        f" event={event}" if event is not None else "",
        f" id={packet.id}" if packet.id is not None else "",
        extra={"sid": sid, "direction": direction, "packet_type": kind,
               "namespace": packet.nsp, "event": event},
    )


# -- logging the lifecycle ----------------------------------------------------------------

connection_log = logging.getLogger("hubbub.connections")


def log_step(step: str, sid: str, **fields: Any) -> None:
    """One INFO line on ``hubbub.connections`` for a step of a connection's
    life, ``step sid=... key=value ...``; the record carries ``sid``,
    ``step`` and each field as attributes for structured formatters."""
    if not connection_log.isEnabledFor(logging.INFO):
        return
    text = " ".join(f"{key}={value}" for key, value in fields.items())
    connection_log.info(
        "%s sid=%s%s", step, sid, f" {text}" if text else "",
        extra={"sid": sid, "step": step, **fields},
    )
