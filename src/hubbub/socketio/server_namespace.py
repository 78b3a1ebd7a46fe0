"""A namespace on the server side (Node's ``Namespace``): its sockets, its
handlers and middlewares, its adapter, the connect flow and the delivery of
broadcasts.

``sio.of("/chat")`` returns one. Regex and callable names give a
:class:`ParentNamespace` whose children are created as clients connect.

It is the :class:`~hubbub.adapters.base.AdapterNamespace` its adapter works
with: ``deliver``, ``room_event``, ``server_side_emit_received`` and the
``sockets`` / ``recovering`` maps are public for adapters.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterator, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any, Protocol, cast, overload

from hubbub.adapters.base import Adapter, AdapterNamespace
from hubbub.errors import ConnectionRefusedError
from hubbub.instrumentation import log_step
from hubbub.runtime.contract import Scheduler
from hubbub.socketio.broadcast import Broadcasting, BroadcastOperator
from hubbub.socketio.coalesce import MAX_PLANS, DeliveryPlan, send_planned
from hubbub.socketio.codec import Packet, Parser
from hubbub.socketio.connection import Connection, write_parts
from hubbub.socketio.dispatch import (
    HandlerRegistry,
    NamespaceClass,
    connect_steps,
    drive,
    run_event,
    run_server_side,
)
from hubbub.socketio.encoded import EncodedPacket
from hubbub.socketio.handlers import HandlerSpec, HandlerT
from hubbub.socketio.socket import Socket
from hubbub.types import BroadcastOptions, PersistedSession, RecoveryOptions

if TYPE_CHECKING:
    from hubbub.adapters.base import AdapterSocket

log = logging.getLogger("hubbub.socketio.namespace")


class NamespaceServer(Protocol):
    """What a namespace needs of its server."""

    @property
    def scheduler(self) -> Scheduler: ...
    @property
    def recovery(self) -> RecoveryOptions | None: ...
    @property
    def max_event_rate(self) -> float | None: ...
    @property
    def adapter_factory(self) -> Callable[[AdapterNamespace], Adapter]: ...
    @property
    def coalesce_broadcasts(self) -> bool: ...

    def check_namespace_class(self, namespace_class: Any) -> None: ...
    def child_emptied(self, child: ServerNamespace) -> None: ...


# what a delivery's run of recipients starts with: no parser yet
_NO_PARSER: Any = object()


def _identity(value: Any) -> Any:
    return value


class ServerNamespace(Broadcasting):
    """A namespace of the server: ``sio.of("/chat")``, or the object a
    ``Namespace`` instance reaches as ``self.namespace``.

    Node's namespace API: ``on``, ``use``, ``register``, the broadcasting
    methods (``emit``, ``to``, ``except_``, ``timeout``, ``fetch_sockets``,
    ``sockets_join`` ...), ``server_side_emit``, and ``sockets``, this
    process's sockets in it by id. Its adapter (``adapter``) knows who is in
    which room."""
    def __init__(
        self, server: NamespaceServer, name: str, parent: ParentNamespace | None = None
    ) -> None:
        self.server = server
        self.scheduler = server.scheduler
        self.name = name
        self.parent = parent
        self.sockets: dict[str, Socket] = {}
        # recovered sockets whose connect handlers still run: already in
        # their rooms, so broadcasts meanwhile are kept for them
        self.recovering: dict[str, Socket] = {}
        self.handlers: HandlerRegistry = HandlerRegistry(
            name, parent.handlers if parent is not None else None
        )
        self._ack_id = 0
        self._server_side: dict[str, list[Callable[..., Any]]] = {}
        # what a socket's event runs (spawned): the registry bound once, by a
        # C-level partial that adds no Python frame to the per-event path
        self.dispatch: Callable[..., Any] = partial(run_event, self.handlers)
        # delivery plans of broadcasts (hubbub.socketio.coalesce), by rooms
        self._plans: dict[frozenset[str], DeliveryPlan] = {}
        self._plan_version = 0
        self.adapter: Adapter = server.adapter_factory(self)
        self.adapter.init()

    def __repr__(self) -> str:
        return f"<ServerNamespace {self.name}>"

    @property
    def recovery(self) -> RecoveryOptions | None:
        """The server's connection state recovery options (None when off)."""
        return self.server.recovery

    @property
    def namespace_class(self) -> NamespaceClass | None:
        """The ``Namespace`` class registered here, if any."""
        return self.handlers.namespace_class

    # -- registration ------------------------------------------------------------

    def register(self, namespace_class: type[Any]) -> type[Any]:
        """Serve this namespace with a Namespace class (one instance per client)."""
        self.server.check_namespace_class(namespace_class)
        self.handlers.namespace_class = namespace_class
        return namespace_class

    @overload
    def on(self, event: str, handler: HandlerT) -> HandlerT: ...
    @overload
    def on(self, event: str, handler: None = None) -> Callable[[HandlerT], HandlerT]: ...
    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """``handler(socket, *args)`` for a client event; lifecycle events:
        'connect' ``(socket, auth)`` (may refuse by raising
        ConnectionRefusedError), 'connection' ``(socket)`` after the client
        is told it is connected, 'disconnect' ``(socket, reason)``, and the
        room events ``(room[, sid])``. '*' is a catch-all ``(socket, event, *args)``."""

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.scheduler.check_handler(fn)
            self.handlers.add(event, fn)
            return fn

        return register(handler) if handler is not None else register

    def use(self, middleware: Callable[..., Any]) -> Callable[..., Any]:
        """Connection middleware ``fn(socket)``: raise ConnectionRefusedError
        (or any exception) to refuse with CONNECT_ERROR."""
        self.scheduler.check_handler(middleware)
        self.handlers.use(middleware)
        return middleware

    def registered_handlers(self) -> Iterator[Callable[..., Any]]:
        """Every function registered on this namespace: handlers, middlewares,
        server-side handlers."""
        yield from self.handlers.registered()
        for fns in self._server_side.values():
            yield from fns

    # -- broadcasting (Node's namespace-level API) ------------------------------------------

    def _op(self, namespace: str | None = None) -> BroadcastOperator:
        if namespace is not None and namespace != self.name:
            raise ValueError(f"namespace={namespace!r} on the namespace {self.name!r}")
        return BroadcastOperator(self)

    def server_side_emit(
        self, event: str, *args: Any, callback: Callable[..., None] | None = None
    ) -> None:
        """Emit to the other hubbub servers of the cluster ('serverSideEmit')."""
        observer = self.scheduler.observer
        request = observer.adapter_request(self.name, "server_side_emit") if observer else None
        if request is None:
            self.adapter.server_side_emit([event, *args], callback)
        elif callback is None:
            self.adapter.server_side_emit([event, *args])
            request(None)
        else:
            answered = callback

            def done(err: Any = None, *rest: Any) -> None:
                request(err if isinstance(err, BaseException) else None)
                answered(err, *rest)

            self.adapter.server_side_emit([event, *args], done)

    def on_server_side_emit(
        self, event: str, handler: Callable[..., Any] | None = None
    ) -> Any:
        """``handler(*args)`` for ``server_side_emit(event, *args)`` from another
        server of the cluster (Node's ``io.on(event, ...)``); when the sender
        wants an answer, the handler's return value is it."""

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.scheduler.check_handler(fn)
            self._server_side.setdefault(event, []).append(fn)
            return fn

        return register(handler) if handler is not None else register

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Send to every socket ``opts`` selects, recorded for recovery first."""
        self.adapter.record_packet(packet, opts)
        self.adapter.broadcast(packet, opts)

    def next_ack_id(self) -> int:
        """A fresh ack id for a packet sent in this namespace."""
        ack_id = self._ack_id
        self._ack_id = ack_id + 1
        return ack_id

    # -- what the adapter calls (AdapterNamespace) ------------------------------------------

    def server_side_emit_received(
        self, args: list[Any], ack: Callable[[Any], None] | None
    ) -> None:
        """Adapter callback: another server's ``server_side_emit`` arrived; runs
        this namespace's ``on_server_side_emit`` handlers."""
        if not args or not isinstance(args[0], str):
            return
        for fn in self._server_side.get(args[0], ()):
            self.scheduler.spawn(run_server_side, fn, args[1:], ack)

    def room_event(self, event: str, *args: Any) -> None:
        """Adapter callback: runs the handlers of a room event ('create-room',
        'delete-room' with ``(room)``; 'join-room', 'leave-room' with
        ``(room, sid)``)."""
        spawn = self.scheduler.spawn
        for h in self.handlers.handlers(event):
            spawn(h.fn, *args)

    def deliver(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        sockets: list[AdapterSocket],
        ack: Callable[[list[Any]], None] | None = None,
    ) -> None:
        """Write ``packet`` to local ``sockets``, encoded once for all of them."""
        if ack is not None:
            packet.id = self.next_ack_id()
        delivered = self._write_each(EncodedPacket(packet, opts.flags.volatile), sockets, ack)
        observer = self.scheduler.observer
        if observer is not None:
            observer.broadcast_delivered(self.name, delivered)

    def deliver_selected(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        epoch: int,
        select: Callable[[BroadcastOptions], list[AdapterSocket]],
    ) -> None:
        """Write ``packet`` to the local sockets ``opts`` selects; ``select``
        gives the local sockets of any options, ``epoch`` is the adapter's
        count of membership changes (see hubbub.socketio.coalesce)."""
        if not self.server.coalesce_broadcasts or opts.flags.volatile:
            self.deliver(packet, opts, select(opts))
            return
        rooms = opts.rooms
        plans = self._plans
        plan = plans.get(rooms)
        if plan is None or plan.epoch != epoch or plan.version != self._plan_version:
            if len(plans) >= MAX_PLANS:
                plans.clear()
            members = select(BroadcastOptions(rooms=rooms)) if opts.except_ else select(opts)
            plan = plans[rooms] = DeliveryPlan(
                epoch, self._plan_version, cast(list[Socket], members)
            )
        skip: list[str] = []
        if opts.except_:
            skip = [s.id for s in select(BroadcastOptions(rooms=opts.except_))]
        encoded = EncodedPacket(packet)
        send_planned(plan, encoded, skip)
        others = plan.others
        delivered = 0
        if others:
            if skip:
                skipped = set(skip)
                others = [s for s in others if s.id not in skipped]
            delivered = self._write_each(encoded, others, None)
        observer = self.scheduler.observer
        if observer is not None:
            by_sid = plan.by_sid
            shared = len(by_sid) - sum(1 for sid in skip if sid in by_sid)
            observer.broadcast_delivered(self.name, shared + delivered)

    def forget_plans(self) -> None:
        """A recipient's way of receiving changed: delivery plans are stale."""
        self._plan_version += 1

    def _write_each(
        self,
        encoded: EncodedPacket,
        sockets: Sequence[AdapterSocket],
        ack: Callable[[list[Any]], None] | None,
    ) -> int:
        """Write ``encoded`` to each of ``sockets``; how many were connected."""
        packet = encoded.packet
        ack_id = packet.id
        data = packet.data
        # recipients are written in runs that share a parser (usually one
        # run): the packet is encoded once per parser
        run: list[Connection] = []
        append = run.append
        parser: Parser = _NO_PARSER
        delivered = len(sockets)
        # the adapter hands back the sockets this namespace gave it
        for socket in cast(Sequence[Socket], sockets):
            if not socket.connected:
                delivered -= 1
                if socket.early is not None:
                    socket.early.append(encoded)
                continue
            if ack is not None and ack_id is not None:
                socket.acks[ack_id] = ack
            if socket.any_out or socket.instance is not None:
                socket.notify_outgoing(data)
            client: Connection = socket.client  # type: ignore[assignment]  # made here
            if client.parser is not parser:
                if run:
                    write_parts(run, *encoded.parts_and_size(parser), packet)
                run = []
                append = run.append
                parser = client.parser
            append(client)
        if run:
            write_parts(run, *encoded.parts_and_size(parser), packet)
        return delivered

    # -- connecting --------------------------------------------------------------------

    def connect(
        self, connection: Connection, auth: dict[str, Any], query: dict[str, str] | None = None
    ) -> None:
        """A client asks to join: recovery lookup (when on), then the
        connect chain (hubbub.socketio.dispatch.connect_steps)."""
        recovery = self.server.recovery
        pid = auth.get("pid") if recovery is not None else None
        offset = auth.get("offset") if recovery is not None else None
        if isinstance(pid, str) and isinstance(offset, str):

            def restored(previous: PersistedSession | None) -> None:
                clean = {k: v for k, v in auth.items() if k not in ("pid", "offset")}
                socket = Socket(self, connection, clean, previous, query)
                if previous is not None:
                    socket.early = []
                    self.recovering[socket.id] = socket
                    self.adapter.add_all(socket.id, [socket.id, *previous.rooms])
                skip = previous is not None and recovery is not None and recovery.skip_middlewares
                self._run_connect(socket, [] if skip else self.handlers.middlewares())

            self.adapter.restore_session(pid, offset, restored)
            return
        socket = Socket(self, connection, auth, query=query)
        self._run_connect(socket, self.handlers.middlewares())

    def _run_connect(self, socket: Socket, chain: list[HandlerSpec]) -> None:
        view = socket.client.view
        cls = (view.class_for(self.name) if view is not None else None) or self.handlers.class_()
        rest = drive(connect_steps(self.handlers, socket, chain, cls, self._accept, self._refuse))
        if rest is not None:
            self.scheduler.spawn(_identity, rest)

    def _refuse(self, socket: Socket, exc: Exception) -> None:
        if isinstance(exc, ConnectionRefusedError):
            message, data = exc.message, exc.data
        else:
            log.exception("connect handler or middleware of %s raised", self.name)
            # the exception's text may hold internals: the client gets a plain word
            message, data = "Internal server error", None
        client = socket.client
        log_step("namespace refused", client.session.sid, nsp=self.name, error=repr(message))
        observer = self.scheduler.observer
        if observer is not None:
            observer.socket_refused(client, self.name, message)
        self._forget_recovering(socket)
        socket.instance = None
        client.connect_error(self.name, message, data)

    def _forget_recovering(self, socket: Socket) -> None:
        if self.recovering.pop(socket.id, None) is not None:
            socket.early = None
            self.adapter.del_all(socket.id)

    def _accept(self, socket: Socket) -> None:
        client = socket.client
        if client.closed:
            self._forget_recovering(socket)
            return
        self.recovering.pop(socket.id, None)
        self.sockets[socket.id] = socket
        self._plan_version += 1
        client.socket_joined(socket)
        socket.opened()
        client.socket_ready(socket)
        log_step("namespace connect", client.session.sid, nsp=self.name, socket=socket.id)
        observer = self.scheduler.observer
        if observer is not None:
            observer.socket_connected(socket)
        spawn = self.scheduler.spawn
        for h in self.handlers.handlers("connection"):
            spawn(h.fn, socket)

    # -- what a socket tells its namespace ------------------------------------------------

    def socket_disconnecting(self, socket: Socket, reason: str) -> None:
        """'disconnecting' handlers run at once, while the socket is still in
        its rooms."""
        for h in self.handlers.handlers("disconnecting"):
            try:
                h.fn(socket, reason)
            except Exception:
                log.exception("disconnecting handler raised")

    def socket_left(self, socket: Socket) -> None:
        """Socket callback: ``socket`` is no longer in this namespace."""
        self._plan_version += 1
        if self.sockets.get(socket.id) is socket:
            del self.sockets[socket.id]
            if self.parent is not None and not self.sockets and not self.recovering:
                self.server.child_emptied(self)

    def socket_disconnected(self, socket: Socket, reason: str) -> None:
        """Socket callback: ``socket`` disconnected for ``reason``; runs the
        'disconnect' handlers and the Namespace instance's ``on_disconnect``."""
        log_step("namespace disconnect", socket.client.session.sid, nsp=self.name,
                 socket=socket.id, reason=reason)
        observer = self.scheduler.observer
        if observer is not None:
            observer.socket_disconnected(socket, reason)
        spawn = self.scheduler.spawn
        instance = socket.instance
        if instance is not None:
            spawn(instance.on_disconnect, reason)
        for h in self.handlers.handlers("disconnect"):
            spawn(h.fn, socket, reason)


class ParentNamespace(ServerNamespace):
    """Matches names by regex or callable; creates a child per new name.

    Handlers, middlewares and the Namespace class registered here apply to
    every child; broadcasting from here reaches every child.
    """

    def __init__(
        self,
        server: NamespaceServer,
        matcher: re.Pattern[str] | Callable[[str, dict[str, Any]], bool],
    ) -> None:
        self.matcher = matcher
        name = f"/_{id(self)}" if not isinstance(matcher, re.Pattern) else matcher.pattern
        super().__init__(server, name)
        self.children: set[ServerNamespace] = set()

    def matches(self, name: str, auth: dict[str, Any]) -> bool:
        if isinstance(self.matcher, re.Pattern):
            return self.matcher.search(name) is not None  # as Node's regex.test()
        try:
            return bool(self.matcher(name, auth))
        except Exception:
            log.exception("namespace matcher raised")
            return False

    def create_child(self, name: str) -> ServerNamespace:
        child = ServerNamespace(self.server, name, parent=self)
        self.children.add(child)
        return child

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        for child in list(self.children):
            child.broadcast(Packet(packet.type, child.name, list(packet.data), packet.id), opts)

