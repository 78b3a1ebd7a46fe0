"""``hubbub.Server``: the Socket.IO server users write their apps against.

Options carry Node's names in snake_case (``ping_interval``,
``max_http_buffer_size``, ``cors_allowed_origins``, ``connect_timeout``,
``connection_state_recovery`` ...); times are in seconds.

The server owns one Engine.IO server and, for the older clients, a 0.9 and a
0.6 endpoint; its :attr:`endpoint` (all behind one router, with the client
files it serves) is what a runtime drives. It is the listener of each: every
connection becomes a :class:`Connection`.
"""

from __future__ import annotations

import logging
import re
import sys
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, overload

from hubbub import instrumentation, jsonmod
from hubbub.adapters.base import Adapter, AdapterNamespace
from hubbub.adapters.memory import InMemoryAdapter
from hubbub.engineio.options import EngineOptions
from hubbub.engineio.server import EngineIOServer
from hubbub.engineio.session import EngineSession
from hubbub.http import HttpRequest
from hubbub.instrumentation import PROTOCOL_NAMES, Observer, PacketLog, combine, log_step
from hubbub.legacy.v06.codec import encode_message as encode_v06_message
from hubbub.legacy.v06.connection import V06Connection, V06Parser
from hubbub.legacy.v06.endpoint import V06Endpoint
from hubbub.legacy.v06.options import V06Options
from hubbub.legacy.v06.session import V06Session
from hubbub.legacy.v09.codec import LegacyPacket
from hubbub.legacy.v09.codec import encode_packet as encode_legacy_packet
from hubbub.legacy.v09.connection import LegacyConnection, LegacyParser
from hubbub.legacy.v09.endpoint import LegacyEndpoint
from hubbub.legacy.v09.options import DEFAULT_MAX_HANDSHAKEN, LegacyOptions
from hubbub.legacy.v09.options import DEFAULT_TRANSPORTS as DEFAULT_LEGACY_TRANSPORTS
from hubbub.legacy.v09.session import LegacySession
from hubbub.router import Router
from hubbub.runtime.contract import Runtime, Scheduler
from hubbub.socketio.broadcast import Broadcasting, BroadcastOperator
from hubbub.socketio.codec import JsonParser, Parser
from hubbub.socketio.connection import Connection
from hubbub.socketio.handlers import HandlerT, check_namespace_class
from hubbub.socketio.server_namespace import ParentNamespace, ServerNamespace
from hubbub.static import CHANNELS_JS, ClientFiles
from hubbub.types import RecoveryOptions
from hubbub.websocket.shared import SHARED_LIMIT

if TYPE_CHECKING:
    from hubbub.admin.auth import AuthSetting
    from hubbub.admin.instrument import Instrument

log = logging.getLogger("hubbub.socketio.server")

_ENGINE_FIELDS = set(EngineOptions.__dataclass_fields__)

AdapterFactory = Callable[[AdapterNamespace], Adapter]
NamespaceMatcher = str | re.Pattern[str] | Callable[[str, dict[str, Any]], bool]


# every Server of this process (see running_servers)
_SERVERS: weakref.WeakSet[Server] = weakref.WeakSet()


def running_servers() -> list[Server]:
    """This process's servers that a runtime drives and that are not closed:
    what code outside any handler (a web view, a job) can send through."""
    return [s for s in list(_SERVERS) if s.runtime is not None and not s.closed]


class Server(Broadcasting):
    """The Socket.IO server: namespaces, their handlers, rooms and broadcasts,
    for every client generation at once.

    ```python
    sio = hubbub.Server(cors_allowed_origins=["https://example.com"])
    sio.register("/chat", Chat)        # a Namespace class
    sio.on("ping", lambda socket, data: data)
    hubbub.run(sio, port=8000)         # or hubbub.ASGIApp(sio, app)
    ```

    Broadcasting methods (``emit``, ``send``, ``to``, ``in_``, ``except_``,
    ``timeout``, ``fetch_sockets``, ``sockets_join`` ...) act on the main
    namespace ``/``; ``sio.of(name)`` gives another. Option names are Node's
    in snake_case, and times are in seconds.

    :param path: where clients connect (socket.io-client's ``path``).
    :param serializer: ``"default"`` (JSON) or ``"msgpack"`` (socket.io-msgpack-parser's
        format, ``pip install hubbub[msgpack]``), or a parser object; for 3.x/4.x clients.
    :param adapter: a factory ``adapter(namespace) -> Adapter`` for each namespace's
        adapter: ``RedisAdapter.factory(url)``, ``adapter_from_url(url)``; the
        in-memory adapter by default.
    :param connect_timeout: how long a new connection may take to join a namespace
        before it is closed.
    :param attachment_timeout: how long a binary packet may wait for its attachments.
    :param connection_state_recovery: ``True``, a ``RecoveryOptions`` or its fields as
        a dict: a client that reconnects in time gets its id, rooms, data and the
        packets it missed.
    :param max_buffered_bytes: bytes queued for one client past which it is
        disconnected as a slow consumer (0: no limit).
    :param volatile_threshold: bytes queued for one client past which volatile
        packets to it are dropped.
    :param json: an object with ``dumps`` and ``loads`` used for every JSON payload
        (``orjson`` is used when installed and this is not given).
    :param legacy: serve Socket.IO 0.9 clients at ``<path>1/``.
    :param legacy_transports: the transports offered to 0.9 clients; add
        ``"flashsocket"`` to offer it.
    :param close_timeout: how long a 0.9 session waits for its polling client to
        come back.
    :param polling_duration: how long a 0.9 long-poll is held open.
    :param max_handshaken: the most 0.9 sessions handshaken whose client has not
        connected yet (each waits ``close_timeout``); a handshake past it is
        refused (503 "handshake error").
    :param cleanup_empty_child_namespaces: free a dynamic namespace's child when
        its last socket leaves.
    :param max_child_namespaces: the most children all dynamic namespaces may have
        at once; a client asking for one more is refused.
    :param max_event_rate: events a second one socket may send (None: no limit);
        past it, its events are refused.
    :param v06: serve Socket.IO 0.6 clients (``False`` turns them off; a dict of
        ``V06Options`` fields sets their timers and transports).
    :param coalesce_broadcasts: broadcasts to a room during one loop tick share
        one block of frames, written to each member once (every client's order
        of packets stays exact); ``False`` queues each frame for each recipient.
    :param engine_options: the Engine.IO options of ``EngineOptions``:
        ``cors_allowed_origins``, ``ping_interval``, ``ping_timeout``,
        ``max_http_buffer_size``, ``transports``, ``allow_request``, ``cookie``,
        ``eio_versions``, ``websocket_compression``, ``max_sessions_per_address`` ...
    :raises TypeError: for an option that does not exist."""
    def __init__(
        self,
        *,
        path: str = "/socket.io/",
        serializer: str | Parser = "default",
        adapter: AdapterFactory | None = None,
        connect_timeout: float = 45.0,
        attachment_timeout: float = 30.0,
        connection_state_recovery: bool | RecoveryOptions | dict[str, Any] | None = None,
        max_buffered_bytes: int = 16 * 1024 * 1024,
        volatile_threshold: int = 64 * 1024,
        json: Any = None,
        legacy: bool = True,
        legacy_transports: Sequence[str] = DEFAULT_LEGACY_TRANSPORTS,
        close_timeout: float = 60.0,
        polling_duration: float = 20.0,
        max_handshaken: int = DEFAULT_MAX_HANDSHAKEN,
        cleanup_empty_child_namespaces: bool = False,
        max_child_namespaces: int = 10_000,
        max_event_rate: float | None = None,
        v06: bool | V06Options | dict[str, Any] = True,
        coalesce_broadcasts: bool = True,
        log_packets: bool = False,
        **engine_options: Any,
    ) -> None:
        unknown = set(engine_options) - _ENGINE_FIELDS
        if unknown:
            raise TypeError(f"unknown Server option(s): {', '.join(sorted(unknown))}")
        # the runtime, shared by every layer of this server once one attaches
        self.scheduler = Scheduler(self.registered_handlers)
        self.engine = EngineIOServer(
            EngineOptions(path=path, **engine_options), scheduler=self.scheduler
        )
        self.engine.listener = self
        self.connect_timeout = connect_timeout
        # how long a binary packet may wait for its attachments
        self.attachment_timeout = attachment_timeout
        # Socket.IO 0.9's close timeout: how long a 0.9 session waits for a
        # polling client to come back (Engine.IO sessions use ping_timeout)
        self.close_timeout = close_timeout
        self.max_buffered_bytes = max_buffered_bytes  # sets buffer_limit too
        # a dynamic namespace's children: freed when their last socket leaves
        # (Node's cleanupEmptyChildNamespaces), and never more than this many
        # at once, since every child holds an adapter (Redis subscriptions)
        self.cleanup_empty_child_namespaces = cleanup_empty_child_namespaces
        self.max_child_namespaces = max_child_namespaces
        self._children = 0
        # production limit (None: none): events a second one socket may send
        self.max_event_rate = max_event_rate
        self.volatile_threshold = volatile_threshold
        # broadcasts to a room in one tick share one block of frames
        # (hubbub.socketio.coalesce); off: each recipient gets its own copy
        self.coalesce_broadcasts = coalesce_broadcasts
        if connection_state_recovery is True:
            self.recovery: RecoveryOptions | None = RecoveryOptions()
        elif isinstance(connection_state_recovery, dict):
            self.recovery = RecoveryOptions(**connection_state_recovery)
        elif isinstance(connection_state_recovery, RecoveryOptions):
            self.recovery = connection_state_recovery
        else:
            self.recovery = None
        dumps = getattr(json, "dumps", None)
        loads = getattr(json, "loads", None)
        self._parsers: dict[int, Parser] = {4: JsonParser(4, dumps, loads)}
        if serializer in ("default", "json"):
            self._parsers[5] = JsonParser(5, dumps, loads)
        elif serializer == "msgpack":
            from hubbub.socketio.msgpack import MsgpackParser

            self._parsers[5] = MsgpackParser()
        elif isinstance(serializer, str):
            raise ValueError(f"unknown serializer {serializer!r}: use 'default' or 'msgpack'")
        else:
            self._parsers[5] = serializer
        self._parsers[1] = LegacyParser(dumps)
        self._parsers[0] = V06Parser(dumps)
        eio = self.engine.options
        resource = eio.path.rstrip("/")
        #: the browser clients and scripts served under ``path``
        self.files = ClientFiles(resource)
        self.files.add("channels.js", CHANNELS_JS)
        self.legacy: LegacyEndpoint | None = None
        if legacy:
            # Socket.IO 0.9 clients at /<resource>/1/: the heartbeat interval is
            # the ping interval, and a heartbeat unanswered after the ping
            # timeout ends the session, as for Engine.IO clients
            self.legacy = LegacyEndpoint(
                LegacyOptions(
                    resource=resource,
                    transports=tuple(legacy_transports),
                    heartbeat_interval=eio.ping_interval,
                    heartbeat_timeout=eio.ping_interval + eio.ping_timeout,
                    close_timeout=close_timeout,
                    polling_duration=polling_duration,
                    max_handshaken=max_handshaken,
                    allow_request=eio.allow_request,
                    websocket="websocket" in eio.transports,
                    polling="polling" in eio.transports,
                ),
                self,
                cors=self.engine.cors,
                scheduler=self.scheduler,
                admission=self.engine.admission,
                loads=loads or jsonmod.loads,
            )
        self.v06: V06Endpoint | None = None
        if v06 is not False:
            # Socket.IO 0.6 clients (new io.Socket()) at /<resource>/<transport>/
            v06_options = _v06_options(v06, resource, eio.transports)
            self.v06 = V06Endpoint(
                v06_options,
                self,
                cors=self.engine.cors,
                scheduler=self.scheduler,
                loads=loads or jsonmod.loads,
                allow_request=eio.allow_request,
                admission=self.engine.admission,
            )
            client = v06_options.find_client()
            if client is not None:
                self.files.add("socket.io.js", client)
            else:
                self.files.add_missing(
                    "socket.io.js",
                    "no Socket.IO 0.6 client found: install the npm package socket.io@0.6.18 "
                    "(node_modules/socket.io/support/socket.io-client/socket.io.js), or name "
                    "the file in $HUBBUB_V06_CLIENT or Server(v06={'client_js': ...})",
                )
        generations: list[Any] = [self.files]
        if self.v06 is not None:
            generations.append(self.v06)
        if self.legacy is not None:
            generations.append(self.legacy)
        #: what a runtime drives: every protocol generation under ``path``
        self.endpoint = Router(self.engine, generations)
        self.adapter_factory: AdapterFactory = adapter or InMemoryAdapter
        self._nsps: dict[str, ServerNamespace] = {}
        self._parents: list[ParentNamespace] = []
        self._new_namespace_hooks: list[Callable[[ServerNamespace], Any]] = []
        self.clients: dict[str, Connection] = {}
        # a runtime's say in each new connection before it starts (WSGIApp's
        # views mode binds the connection to a framework view here)
        self.client_hook: Callable[[Connection], None] | None = None
        self.sockets = self.of("/")
        #: set by :meth:`close`
        self.closed = False
        self._observers: list[Observer] = []
        if log_packets:
            self.add_observer(PacketLog())
        _SERVERS.add(self)

    # -- observers ------------------------------------------------------------------------

    @property
    def observers(self) -> tuple[Observer, ...]:
        """The observers registered (hubbub.instrumentation), in order."""
        return tuple(self._observers)

    def add_observer(self, observer: Observer) -> Observer:
        """Report this server's work to ``observer`` (metrics, traces, logs)."""
        if not self._observers:
            instrumentation.observed_servers += 1
        self._observers.append(observer)
        self.scheduler.observer = combine(self._observers)
        return observer

    def remove_observer(self, observer: Observer) -> None:
        """Stop reporting to ``observer`` (no error if it was not added)."""
        if observer not in self._observers:
            return
        self._observers.remove(observer)
        if not self._observers:
            instrumentation.observed_servers -= 1
        self.scheduler.observer = combine(self._observers)

    # -- runtime ------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime | None:
        """The runtime that drives this server once one attached (a server is
        attached when it is served), else None."""
        return self.scheduler.runtime

    @property
    def shared_reserve(self) -> int:
        """What an open shared block may add to a client's buffer unseen."""
        return SHARED_LIMIT if self.coalesce_broadcasts else 0

    @property
    def max_buffered_bytes(self) -> int:
        """Past this many bytes queued for one client, it is disconnected as
        a slow consumer (0: no limit)."""
        return self._max_buffered_bytes

    @max_buffered_bytes.setter
    def max_buffered_bytes(self, value: int) -> None:
        self._max_buffered_bytes = value
        # what the slow-consumer check compares with, before every packet
        self.buffer_limit = value or sys.maxsize

    def check_namespace_class(self, namespace_class: Any) -> None:
        """Refuse a class that cannot serve a namespace: not a Namespace, a
        method whose signature cannot fit the calls it would get, or one the
        runtime cannot run."""
        check_namespace_class(namespace_class, self.scheduler.check_handler)

    def registered_handlers(self) -> Iterator[Callable[..., Any]]:
        """Every function registered so far (checked when a runtime attaches)."""
        yield from self._new_namespace_hooks
        for nsp in [*self._nsps.values(), *self._parents]:
            yield from nsp.registered_handlers()

    def parser_for(self, protocol: int) -> Parser:
        """The Socket.IO parser for clients of ``protocol`` (5: 3.x/4.x, 4: 2.x,
        1: 0.9, 0: 0.6)."""
        return self._parsers[5 if protocol >= 5 else protocol]

    # -- namespaces -------------------------------------------------------------------

    def of(self, name: NamespaceMatcher) -> ServerNamespace:
        """The namespace ``name`` (created on first use). A compiled regex or
        a callable ``(name, auth) -> bool`` makes a dynamic namespace whose
        children are created as clients connect."""
        if isinstance(name, str):
            if not name.startswith("/"):
                name = "/" + name
            nsp = self._nsps.get(name)
            if nsp is None:
                nsp = self._nsps[name] = ServerNamespace(self, name)
                self._fire_new_namespace(nsp)
            return nsp
        parent = ParentNamespace(self, name)
        self._parents.append(parent)
        return parent

    @property
    def namespaces(self) -> Mapping[str, ServerNamespace]:
        """Every namespace by name (a dynamic namespace's children, not the
        parent), read-only."""
        return MappingProxyType(self._nsps)

    def on_new_namespace(
        self, fn: Callable[[ServerNamespace], Any]
    ) -> Callable[[ServerNamespace], Any]:
        """``fn(namespace)`` whenever a namespace is created (static or a
        dynamic namespace's child)."""
        self._new_namespace_hooks.append(fn)
        return fn

    def _fire_new_namespace(self, nsp: ServerNamespace) -> None:
        for fn in self._new_namespace_hooks:
            self.scheduler.spawn(fn, nsp)

    def namespace_for(
        self, name: str, auth: dict[str, Any], allowed: Any = None
    ) -> ServerNamespace | None:
        """The namespace a client asks for: an existing one, or the child of a
        dynamic one that matches; None if there is none. ``allowed`` (the
        names a framework view permits), when given, is the only choice."""
        if allowed is not None:
            return self.of(name) if name in allowed else None
        nsp = self._nsps.get(name)
        if nsp is not None:
            return nsp
        for parent in self._parents:
            if parent.matches(name, auth):
                if self._children >= self.max_child_namespaces:
                    log.warning(
                        "refused the namespace %r: %d dynamic namespaces exist "
                        "(max_child_namespaces)", name, self._children
                    )
                    return None
                child = parent.create_child(name)
                self._children += 1
                self._nsps[name] = child
                self._fire_new_namespace(child)
                return child
        return None

    def child_emptied(self, child: ServerNamespace) -> None:
        """A dynamic namespace's child lost its last socket."""
        if not self.cleanup_empty_child_namespaces or child.parent is None:
            return
        if self._nsps.get(child.name) is child:
            del self._nsps[child.name]
            self._children -= 1
        child.parent.children.discard(child)
        child.adapter.close()

    def register(self, namespace: str, namespace_class: type[Any]) -> type[Any]:
        """Serve ``namespace`` with a Namespace class, one instance per client."""
        return self.of(namespace).register(namespace_class)

    @overload
    def on(self, event: str, handler: HandlerT, namespace: str = "/") -> HandlerT: ...
    @overload
    def on(
        self, event: str, handler: None = None, namespace: str = "/"
    ) -> Callable[[HandlerT], HandlerT]: ...
    def on(
        self, event: str, handler: Callable[..., Any] | None = None, namespace: str = "/"
    ) -> Any:
        """Decorator for function handlers: ``handler(socket, *args)``."""
        return self.of(namespace).on(event, handler)

    def event(self, handler: HandlerT) -> HandlerT:
        """``@sio.event``: a handler named after its event, on the main namespace."""
        return self.of("/").on(handler.__name__, handler)

    def use(self, middleware: Callable[..., Any], namespace: str = "/") -> Callable[..., Any]:
        """A connection middleware on ``namespace`` (the main one by default)."""
        return self.of(namespace).use(middleware)

    # -- broadcasting (on the main namespace unless ``namespace`` says) ----------------------

    def _op(self, namespace: str | None = None) -> BroadcastOperator:
        return self.of(namespace or "/")._op()

    def call(
        self, event: str, *args: Any, to: str, namespace: str = "/", timeout: float | None = 60
    ) -> Any:
        """python-socketio's ``call``: emit to the socket ``to`` (a socket id
        of this process) and wait for its ack (``await`` it on asyncio)."""
        socket = self.of(namespace).sockets.get(to)
        if socket is None:
            raise KeyError(f"no socket {to!r} in namespace {namespace!r} on this server")
        return socket.call(event, *args, timeout=timeout)

    def server_side_emit(
        self, event: str, *args: Any, callback: Callable[..., None] | None = None
    ) -> None:
        """Send ``event`` to the other servers of the cluster (through the adapter),
        where ``on_server_side_emit`` handlers receive it; ``callback(responses)``,
        when given, gets their answers. Not to clients."""
        self.sockets.server_side_emit(event, *args, callback=callback)

    def on_server_side_emit(
        self, event: str, handler: Callable[..., Any] | None = None, namespace: str = "/"
    ) -> Any:
        """``handler(*args)`` for another server's ``server_side_emit``; see
        :meth:`ServerNamespace.on_server_side_emit`."""
        return self.of(namespace).on_server_side_emit(event, handler)

    def instrument(
        self,
        *,
        auth: AuthSetting,
        mode: str = "development",
        namespace: str = "/admin",
        read_only: bool = False,
        server_id: str | None = None,
        server_stats_interval: float = 2.0,
    ) -> Instrument:
        """Serve the Socket.IO admin UI (@socket.io/admin-ui 0.5) on
        ``namespace``; see :func:`hubbub.admin.instrument` for the options
        (docs/operating.md). Returns the :class:`hubbub.admin.Instrument`."""
        from hubbub.admin.instrument import instrument

        return instrument(
            self,
            auth=auth,
            mode=mode,
            namespace=namespace,
            read_only=read_only,
            server_id=server_id,
            server_stats_interval=server_stats_interval,
        )

    def use_adapter(self, adapter: AdapterFactory) -> None:
        """Give every namespace an adapter from ``adapter``, before serving
        (a runtime that makes a cluster of worker processes calls it)."""
        self.adapter_factory = adapter
        for nsp in [*self._nsps.values(), *self._parents]:
            nsp.adapter.close()
            nsp.adapter = adapter(nsp)
            nsp.adapter.init()

    def close(self) -> None:
        """Disconnect every client ("server shutting down") and close adapters,
        and what their factory holds (a Redis link's threads and connections)."""
        self.closed = True
        self.endpoint.close_all("server shutting down")
        for nsp in [*self._nsps.values(), *self._parents]:
            nsp.adapter.close()
        factory = self.adapter_factory
        # a factory that is an adapter class (the default) holds nothing itself
        close_factory = None if isinstance(factory, type) else getattr(factory, "close", None)
        if callable(close_factory):
            close_factory()

    # -- the Engine.IO listener ------------------------------------------------------------

    def on_connect(self, session: EngineSession, request: HttpRequest) -> None:
        """Engine.IO listener: a new Engine.IO session. Called by the server's
        endpoint, not by applications (the ``"connection"`` event is theirs)."""
        self._start_client(Connection(self, session, request))

    def _start_client(self, client: Connection) -> None:
        session = client.session
        self.clients[session.sid] = client
        log_step(
            "connection open", session.sid, transport=session.transport,
            protocol=PROTOCOL_NAMES.get(client.protocol, client.protocol),
            remote=client.request.remote_addr,
        )
        observer = self.scheduler.observer
        if observer is not None:
            observer.connection_opened(client)
        if self.client_hook is not None:
            self.client_hook(client)
        client.start()

    def on_message(self, session: EngineSession, data: str | bytes) -> None:
        """Engine.IO listener: a message arrived on ``session``."""
        client = self.clients.get(session.sid)
        if client is not None:
            client.on_data(data)

    def on_disconnect(
        self, session: EngineSession | LegacySession | V06Session, reason: str
    ) -> None:
        """Engine.IO listener (and 0.9 and 0.6): ``session`` closed for ``reason``."""
        client = self.clients.pop(session.sid, None)
        if client is not None:
            client.session_closed(reason)
            log_step("connection closed", session.sid, reason=reason)
            observer = self.scheduler.observer
            if observer is not None:
                observer.connection_closed(client, reason)

    def on_upgrade(self, session: EngineSession) -> None:
        """Engine.IO listener: ``session`` moved to websocket: broadcasts may
        now reach it as shared blocks (delivery plans are stale); observers
        hear of it."""
        client = self.clients.get(session.sid)
        if client is not None:
            for socket in client.sockets.values():
                socket.nsp.forget_plans()
            log_step("connection upgraded", session.sid, transport=session.transport)
            observer = self.scheduler.observer
            if observer is not None:
                observer.connection_upgraded(client, "polling")

    # -- the Socket.IO 0.9 listener ------------------------------------------------------------

    def on_legacy_open(self, session: LegacySession, request: HttpRequest) -> None:
        """Socket.IO 0.9 listener: a new 0.9 session."""
        self._start_client(LegacyConnection(self, session, request))

    def on_legacy_packet(self, session: LegacySession, packet: LegacyPacket) -> None:
        """Socket.IO 0.9 listener: a packet arrived on ``session``."""
        client = self.clients.get(session.sid)
        if isinstance(client, LegacyConnection):
            observer = self.scheduler.observer if instrumentation.observed_servers else None
            if observer is not None:
                # observers count what clients send per message, as for
                # Engine.IO's; the session kept no copy: it is encoded again
                observer.message_received(client, encode_legacy_packet(packet))
            client.on_packet(packet)

    # a 0.9 session ends as an Engine.IO one does
    on_legacy_close = on_disconnect

    # -- the Socket.IO 0.6 listener ------------------------------------------------------------

    def on_v06_open(self, session: V06Session, request: HttpRequest) -> None:
        """Socket.IO 0.6 listener: a new 0.6 session."""
        self._start_client(V06Connection(self, session, request))

    def on_v06_message(self, session: V06Session, value: Any, kind: str) -> None:
        """Socket.IO 0.6 listener: a message arrived on ``session``."""
        client = self.clients.get(session.sid)
        if isinstance(client, V06Connection):
            observer = self.scheduler.observer if instrumentation.observed_servers else None
            if observer is not None:  # as for a 0.9 packet
                observer.message_received(client, encode_v06_message(value))
            client.on_message(value, kind)

    on_v06_close = on_disconnect


def _v06_options(
    setting: bool | V06Options | dict[str, Any], resource: str, transports: Sequence[str]
) -> V06Options:
    """The 0.6 endpoint's options: ``True`` for the defaults, a dict of
    :class:`V06Options` fields, or the options themselves."""
    if isinstance(setting, V06Options):
        options = setting
    else:
        options = V06Options(**(setting if isinstance(setting, dict) else {}))
    options.resource = resource
    options.websocket = "websocket" in transports
    options.polling = "polling" in transports
    return options

