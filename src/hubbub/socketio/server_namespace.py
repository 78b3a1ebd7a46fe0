"""A namespace on the server side (Node's ``Namespace``): its sockets, its
handlers and middlewares, its adapter, and the connect and dispatch flows.

``sio.of("/chat")`` returns one. Regex and callable names give a
:class:`ParentNamespace` whose children are created as clients connect.
"""

from __future__ import annotations

import inspect
import logging
import re
import sys
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, overload

from hubbub.adapters.base import BroadcastOptions
from hubbub.engineio.outgoing import OutPacket
from hubbub.errors import ConnectionRefusedError, EventRefusedError
from hubbub.socketio.broadcast import BroadcastOperator
from hubbub.socketio.codec import Packet, Parser
from hubbub.socketio.encoded import EncodedPacket
from hubbub.socketio.handlers import HandlerSpec, HandlerT, class_handlers
from hubbub.socketio.socket import Socket

if TYPE_CHECKING:
    from hubbub.adapters.base import Adapter, PersistedSession
    from hubbub.socketio.connection import Client
    from hubbub.socketio.namespace import Namespace
    from hubbub.socketio.server import Server

log = logging.getLogger("hubbub.socketio.namespace")

# events a namespace-level handler may listen to besides client events
LIFECYCLE = frozenset(
    {
        "connect",
        "connection",
        "disconnect",
        "disconnecting",
        "create-room",
        "delete-room",
        "join-room",
        "leave-room",
    }
)


class ServerNamespace:
    def __init__(self, server: Server, name: str, parent: ParentNamespace | None = None) -> None:
        self.server = server
        self.name = name
        self.parent = parent
        self.sockets: dict[str, Socket] = {}
        # recovered sockets whose connect handlers still run: already in
        # their rooms, so broadcasts meanwhile are kept for them
        self._recovering: dict[str, Socket] = {}
        self._middlewares: list[HandlerSpec] = []
        self._handlers: dict[str, list[HandlerSpec]] = {}
        self._any: list[HandlerSpec] = []
        self.namespace_class: type[Namespace] | None = None
        self._ack_id = 0
        self._server_side: dict[str, list[Callable[..., Any]]] = {}
        self.adapter: Adapter = server.adapter_factory(self)
        self.adapter.init()

    def __repr__(self) -> str:
        return f"<ServerNamespace {self.name}>"

    # -- registration ------------------------------------------------------------

    def register(self, namespace_class: type[Namespace]) -> type[Namespace]:
        """Serve this namespace with a Namespace class (one instance per client)."""
        from hubbub.socketio.namespace import Namespace

        if not (isinstance(namespace_class, type) and issubclass(namespace_class, Namespace)):
            raise TypeError("register() takes a hubbub.Namespace subclass")
        self.server.check_namespace_class(namespace_class)
        self.namespace_class = namespace_class
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
            self.server.check_handler(fn)
            if event == "*":
                self._any.append(HandlerSpec(fn, skip=2))
            else:
                skip = (
                    0 if event in ("create-room", "delete-room", "join-room", "leave-room") else 1
                )
                self._handlers.setdefault(event, []).append(HandlerSpec(fn, skip=skip))
            return fn

        return register(handler) if handler is not None else register

    def use(self, middleware: Callable[..., Any]) -> Callable[..., Any]:
        """Connection middleware ``fn(socket)``: raise ConnectionRefusedError
        (or any exception) to refuse with CONNECT_ERROR."""
        self.server.check_handler(middleware)
        self._middlewares.append(HandlerSpec(middleware))
        return middleware

    def registered_handlers(self) -> Iterator[Callable[..., Any]]:
        for spec in self._middlewares:
            yield spec.fn
        for specs in self._handlers.values():
            for spec in specs:
                yield spec.fn
        for spec in self._any:
            yield spec.fn
        for fns in self._server_side.values():
            yield from fns
        if self.namespace_class is not None:
            for spec in class_handlers(self.namespace_class).values():
                yield spec.fn
            yield self.namespace_class.initialize

    def _all_handlers(self, event: str) -> list[HandlerSpec]:
        own = self._handlers.get(event, [])
        if self.parent is not None:
            return [*self.parent._handlers.get(event, []), *own]
        return own

    def _all_middlewares(self) -> list[HandlerSpec]:
        if self.parent is not None:
            return [*self.parent._middlewares, *self._middlewares]
        return self._middlewares

    def _class(self) -> type[Namespace] | None:
        if self.namespace_class is None and self.parent is not None:
            return self.parent.namespace_class
        return self.namespace_class

    # -- broadcasting (Node's namespace-level API) ------------------------------------------

    def _op(self) -> BroadcastOperator:
        return BroadcastOperator(self)

    def to(self, *rooms: str | Iterable[str]) -> BroadcastOperator:
        return self._op().to(*rooms)

    in_ = to

    def except_(self, *rooms: str | Iterable[str]) -> BroadcastOperator:
        return self._op().except_(*rooms)

    @property
    def local(self) -> BroadcastOperator:
        return self._op().local

    @property
    def volatile(self) -> BroadcastOperator:
        return self._op().volatile

    def compress(self, value: bool = True) -> BroadcastOperator:
        return self._op().compress(value)

    def timeout(self, seconds: float) -> BroadcastOperator:
        return self._op().timeout(seconds)

    def emit(self, event: str, *args: Any, callback: Callable[..., None] | None = None) -> None:
        self._op().emit(event, *args, callback=callback)

    def send(self, *args: Any) -> None:
        self._op().emit("message", *args)

    def fetch_sockets(self) -> Any:
        return self._op().fetch_sockets()

    def sockets_join(self, *rooms: str) -> None:
        self._op().sockets_join(*rooms)

    def sockets_leave(self, *rooms: str) -> None:
        self._op().sockets_leave(*rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        self._op().disconnect_sockets(close)

    def server_side_emit(
        self, event: str, *args: Any, callback: Callable[..., None] | None = None
    ) -> None:
        """Emit to the other hubbub servers of the cluster ('serverSideEmit')."""
        self.adapter.server_side_emit([event, *args], callback)

    def on_server_side_emit(
        self, event: str, handler: Callable[..., Any] | None = None
    ) -> Any:
        """``handler(*args)`` for ``server_side_emit(event, *args)`` from another
        server of the cluster (Node's ``io.on(event, ...)``); when the sender
        wants an answer, the handler's return value is it."""

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self.server.check_handler(fn)
            self._server_side.setdefault(event, []).append(fn)
            return fn

        return register(handler) if handler is not None else register

    def _on_server_side_emit(self, args: list[Any], ack: Callable[[Any], None] | None) -> None:
        """Called by cluster adapters for a server_side_emit from another server."""
        if not args or not isinstance(args[0], str):
            return
        for fn in self._server_side.get(args[0], ()):
            self.server.spawn(_answer_server_side, fn, args[1:], ack)

    def _broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        self.adapter.record_packet(packet, opts)
        self.adapter.broadcast(packet, opts)

    def _deliver(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        sockets: list[Socket],
        ack: Callable[[list[Any]], None] | None = None,
    ) -> None:
        """Write ``packet`` to local ``sockets``, encoded once for all of them."""
        if ack is not None:
            packet.id = self._ack_id
            self._ack_id += 1
        ack_id = packet.id
        volatile = opts.flags.volatile
        encoded = EncodedPacket(packet, volatile)
        data = packet.data
        # Client.write inlined, with its slow-consumer check's fast path: this
        # loop runs once per recipient, and a broadcast to a big room spends
        # most of its time here. Most recipients share one parser, so the
        # encoded parts are looked up once per run of them.
        server = self.server
        limit = server.volatile_threshold if volatile else server.max_buffered_bytes or sys.maxsize
        last_parser: Parser | None = None
        parts: list[OutPacket] = []
        single: OutPacket | None = None  # parts[0] when it is the only part
        size = 0
        for socket in sockets:
            if not socket.connected:
                if socket._early is not None:
                    socket._early.append(encoded)
                continue
            if ack is not None and ack_id is not None:
                socket.acks[ack_id] = ack
            if socket._any_out or socket.instance is not None:
                socket._notify_outgoing(data)
            client = socket.client
            if client.closed:
                continue
            parser = client.parser
            if parser is not last_parser:
                parts, size = encoded.parts_and_size(parser)
                single = parts[0] if len(parts) == 1 else None
                last_parser = parser
            bound = client._bound
            if bound <= limit:
                client._bound = bound + size
            elif not client._admit_measured(volatile, size):
                continue
            if single is not None:
                client.session.send_packet(single)
            else:
                session = client.session
                for part in parts:
                    session.send_packet(part)

    # -- connecting --------------------------------------------------------------------

    def _add(
        self, client: Client, auth: dict[str, Any], query: dict[str, str] | None = None
    ) -> None:
        recovery = self.server.recovery
        pid = auth.get("pid") if recovery is not None else None
        offset = auth.get("offset") if recovery is not None else None
        if isinstance(pid, str) and isinstance(offset, str):

            def restored(previous: PersistedSession | None) -> None:
                clean = {k: v for k, v in auth.items() if k not in ("pid", "offset")}
                socket = Socket(self, client, clean, previous, query)
                if previous is not None:
                    socket._early = []
                    self._recovering[socket.id] = socket
                    self.adapter.add_all(socket.id, [socket.id, *previous.rooms])
                skip = previous is not None and recovery is not None and recovery.skip_middlewares
                self._run_connect(socket, client, [] if skip else None)

            self.adapter.restore_session(pid, offset, restored)
            return
        self._run_connect(Socket(self, client, auth, query=query), client)

    def _run_connect(
        self, socket: Socket, client: Client, chain: list[HandlerSpec] | None = None
    ) -> None:
        """Middlewares (``chain``, the namespace's by default), then the
        connect handlers; inline when all of them are sync."""
        if chain is None:
            chain = self._all_middlewares()
        if any(m.is_async for m in chain) or self._connect_is_async():
            self.server.spawn(self._connect_async, socket, client, chain)
            return
        try:
            for mw in chain:
                mw.fn(socket)
        except Exception as exc:
            self._refuse(client, socket, exc)
            return
        self._finish_connect(socket, client)

    def _connect_is_async(self) -> bool:
        cls = self._class()
        if cls is not None:
            spec = class_handlers(cls).get("on_connect")
            if spec is not None and spec.is_async:
                return True
        return any(h.is_async for h in self._all_handlers("connect"))

    async def _connect_async(
        self, socket: Socket, client: Client, chain: list[HandlerSpec]
    ) -> None:
        try:
            for mw in chain:
                result = mw.fn(socket)
                if inspect.isawaitable(result):
                    await result
            instance = self._instantiate(socket)
            if instance is not None:
                result = instance.on_connect(socket.auth)
                if inspect.isawaitable(result):
                    result = await result
                if result is False:
                    raise ConnectionRefusedError()
            for h in self._all_handlers("connect"):
                result = _connect_call(h, socket)
                if inspect.isawaitable(result):
                    result = await result
                if result is False:
                    raise ConnectionRefusedError()
        except Exception as exc:
            self._refuse(client, socket, exc)
            return
        self._do_connect(socket, client)

    def _finish_connect(self, socket: Socket, client: Client) -> None:
        try:
            instance = self._instantiate(socket)
            if instance is not None and instance.on_connect(socket.auth) is False:
                raise ConnectionRefusedError()
            for h in self._all_handlers("connect"):
                if _connect_call(h, socket) is False:
                    raise ConnectionRefusedError()
        except Exception as exc:
            self._refuse(client, socket, exc)
            return
        self._do_connect(socket, client)

    def _instantiate(self, socket: Socket) -> Namespace | None:
        view = socket.client.view
        cls = (view.class_for(self.name) if view is not None else None) or self._class()
        if cls is None:
            return None
        instance = cls(socket)
        socket.instance = instance
        return instance

    def _refuse(self, client: Client, socket: Socket, exc: Exception) -> None:
        if isinstance(exc, ConnectionRefusedError):
            message, data = exc.message, exc.data
        else:
            log.exception("connect handler or middleware of %s raised", self.name)
            # the exception's text may hold internals: the client gets a plain word
            message, data = "Internal server error", None
        log.info("refused %s on %s: %s", client.session.sid, self.name, message)
        self._forget_recovering(socket)
        socket.instance = None
        client.connect_error(self.name, message, data)

    def _forget_recovering(self, socket: Socket) -> None:
        if self._recovering.pop(socket.id, None) is not None:
            socket._early = None
            self.adapter.del_all(socket.id)

    def _do_connect(self, socket: Socket, client: Client) -> None:
        if client.closed:
            self._forget_recovering(socket)
            return
        self._recovering.pop(socket.id, None)
        self.sockets[socket.id] = socket
        client._added(socket)
        socket._onconnect()
        client._socket_ready(socket)
        for h in self._all_handlers("connection"):
            self.server.spawn(h.fn, socket)

    def _remove(self, socket: Socket) -> None:
        if self.sockets.get(socket.id) is socket:
            del self.sockets[socket.id]

    def _on_socket_disconnect(self, socket: Socket, reason: str) -> None:
        instance = socket.instance
        if instance is not None:
            self.server.spawn(instance.on_disconnect, reason)
        for h in self._all_handlers("disconnect"):
            self.server.spawn(h.fn, socket, reason)

    def _fire_disconnecting(self, socket: Socket, reason: str) -> None:
        for h in self._all_handlers("disconnecting"):
            try:
                h.fn(socket, reason)
            except Exception:
                log.exception("disconnecting handler raised")

    def _room_event(self, event: str, *args: Any) -> None:
        handlers = self._all_handlers(event)
        for h in handlers:
            self.server.spawn(h.fn, *args)

    # -- dispatching events ------------------------------------------------------------------

    def _resolve(
        self, socket: Socket, event: str
    ) -> tuple[HandlerSpec | None, Callable[..., Any] | None]:
        """The spec to check arguments with and the callable to run."""
        instance = socket.instance
        if instance is not None:
            name = "on_" + event.replace(" ", "_")
            spec = class_handlers(type(instance)).get(name)
            if spec is not None and name not in ("on_connect", "on_disconnect"):
                return spec, getattr(instance, name)
        own = socket._handlers.get(event)
        if own:
            return own[0], own[0].fn
        handlers = self._all_handlers(event) if event not in LIFECYCLE else []
        if handlers:
            spec = handlers[0]
            return spec, partial(spec.fn, socket)  # C: no Python frame of its own
        return None, None

    def _dispatch(
        self, socket: Socket, event: str, args: list[Any], ack: Callable[..., None] | None
    ) -> Any:
        """Run middlewares, catch-alls and the handler for one event. Returns a
        coroutine when something on the way is async (the runtime runs it)."""
        spec, fn = self._resolve(socket, event)
        catch_alls = self._all_any()
        middlewares = socket._middlewares
        needs_async = (
            (spec is not None and spec.is_async)
            or (middlewares and any(m.is_async for m in middlewares))
            or (catch_alls and any(a.is_async for a in catch_alls))
        )
        if needs_async:
            return self._dispatch_async(socket, event, args, ack, spec, fn, catch_alls)
        try:
            for mw in socket._middlewares:
                mw.fn(socket, event, args)
        except Exception as exc:
            self._refused_event(socket, event, exc)
            return None
        if socket._any_in or socket.instance is not None:
            self._catch_all_listeners(socket, event, args)
        for a in catch_alls:
            try:
                a.fn(socket, event, *args)
            except Exception:
                log.exception("catch-all handler raised")
        if spec is None or fn is None:
            if ack is not None:
                log.debug("%s: no handler for %r", socket, event)
            return None
        error = spec.check(event, args)
        if error is not None:
            log.info("%s: %s", socket, error)
            socket._error(error, event=event)
            return None
        try:
            result = fn(*args)
        except Exception:
            log.exception("handler for %r on %s raised", event, self.name)
            return None
        # isawaitable is an ABC instance check: not for the plain values
        # sync handlers return
        if type(result) not in _PLAIN and inspect.isawaitable(result):
            return self._finish_async(result, ack)
        _answer(ack, result)
        return None

    async def _dispatch_async(
        self,
        socket: Socket,
        event: str,
        args: list[Any],
        ack: Callable[..., None] | None,
        spec: HandlerSpec | None,
        fn: Callable[..., Any] | None,
        catch_alls: list[HandlerSpec],
    ) -> None:
        try:
            for mw in socket._middlewares:
                r = mw.fn(socket, event, args)
                if inspect.isawaitable(r):
                    await r
        except Exception as exc:
            self._refused_event(socket, event, exc)
            return
        self._catch_all_listeners(socket, event, args)
        for a in catch_alls:
            try:
                r = a.fn(socket, event, *args)
                if inspect.isawaitable(r):
                    await r
            except Exception:
                log.exception("catch-all handler raised")
        if spec is None or fn is None:
            return
        error = spec.check(event, args)
        if error is not None:
            log.info("%s: %s", socket, error)
            socket._error(error, event=event)
            return
        try:
            result = fn(*args)
            if inspect.isawaitable(result):
                result = await result
        except Exception:
            log.exception("handler for %r on %s raised", event, self.name)
            return
        _answer(ack, result)

    async def _finish_async(self, awaitable: Any, ack: Callable[..., None] | None) -> None:
        try:
            result = await awaitable
        except Exception:
            log.exception("handler on %s raised", self.name)
            return
        _answer(ack, result)

    def _all_any(self) -> list[HandlerSpec]:
        if self.parent is not None:
            return [*self.parent._any, *self._any]
        return self._any

    def _catch_all_listeners(self, socket: Socket, event: str, args: list[Any]) -> None:
        """socket.on_any listeners and the Namespace class's on_any hook."""
        for fn in socket._any_in:
            try:
                fn(event, *args)
            except Exception:
                log.exception("on_any listener raised")
        instance = socket.instance
        if instance is not None:
            hook = class_handlers(type(instance)).get("on_any")
            if hook is not None:
                try:
                    hook.fn(instance, event, *args)
                except Exception:
                    log.exception("on_any raised")

    def _refused_event(self, socket: Socket, event: str, exc: Exception) -> None:
        if isinstance(exc, (EventRefusedError, ConnectionRefusedError)):
            socket._error(exc.message, exc.data, event)
        else:
            log.exception("middleware of %s raised", self.name)
            socket._error("Internal server error", None, event)


# what sync handlers return; never awaitable
_PLAIN = frozenset({type(None), str, int, float, bool, list, dict, tuple, bytes})


def _connect_call(spec: HandlerSpec, socket: Socket) -> Any:
    """A 'connect' handler gets ``(socket, auth)``, or ``(socket)`` if that
    is all it takes."""
    if spec.max_args == 0:
        return spec.fn(socket)
    return spec.fn(socket, socket.auth)


def _answer_server_side(
    fn: Callable[..., Any], args: list[Any], ack: Callable[[Any], None] | None
) -> Any:
    result = fn(*args)
    if inspect.isawaitable(result):

        async def finish() -> None:
            value = await result
            if ack is not None:
                ack(value)

        return finish()
    if ack is not None:
        ack(result)
    return None


def _answer(ack: Callable[..., None] | None, result: Any) -> None:
    if ack is None:
        return
    if result is None:
        ack()
    elif isinstance(result, tuple):
        ack(*result)
    else:
        ack(result)


class ParentNamespace(ServerNamespace):
    """Matches names by regex or callable; creates a child per new name.

    Handlers, middlewares and the Namespace class registered here apply to
    every child; broadcasting from here reaches every child.
    """

    def __init__(
        self, server: Server, matcher: re.Pattern[str] | Callable[[str, dict[str, Any]], bool]
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

    def _broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        for child in list(self.children):
            child._broadcast(Packet(packet.type, child.name, list(packet.data), packet.id), opts)
