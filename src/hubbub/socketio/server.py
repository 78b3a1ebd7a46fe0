"""``hubbub.Server``: the Socket.IO server users write their apps against.

Options carry Node's names in snake_case (``ping_interval``,
``max_http_buffer_size``, ``cors_allowed_origins``, ``connect_timeout``,
``connection_state_recovery`` ...); times are in seconds.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from hubbub import jsonmod
from hubbub.adapters.base import Adapter
from hubbub.adapters.memory import InMemoryAdapter
from hubbub.engineio.server import EngineIOServer, EngineOptions
from hubbub.legacy.v09.connection import LegacyClient, LegacyParser
from hubbub.legacy.v09.endpoint import DEFAULT_TRANSPORTS as DEFAULT_LEGACY_TRANSPORTS
from hubbub.legacy.v09.endpoint import LegacyEndpoint, LegacyOptions
from hubbub.socketio.broadcast import BroadcastOperator
from hubbub.socketio.codec import JsonParser, Parser
from hubbub.socketio.connection import Client
from hubbub.socketio.handlers import HandlerT, class_handlers
from hubbub.socketio.server_namespace import ParentNamespace, ServerNamespace

if TYPE_CHECKING:
    from hubbub.engineio.session import EngineSession
    from hubbub.http import HttpRequest
    from hubbub.legacy.v09.codec import LegacyPacket
    from hubbub.legacy.v09.session import LegacySession
    from hubbub.runtime.contract import Runtime, TimerHandle, Waiter
    from hubbub.socketio.namespace import Namespace

log = logging.getLogger("hubbub.socketio.server")

_ENGINE_FIELDS = set(EngineOptions.__dataclass_fields__)


@dataclass
class RecoveryOptions:
    """Connection state recovery: a client that reconnects within
    ``max_disconnection_duration`` seconds gets its id, rooms and data back
    and every packet it missed; ``skip_middlewares`` skips the connection
    middlewares on a successful recovery."""

    max_disconnection_duration: float = 120.0
    skip_middlewares: bool = True


AdapterFactory = Callable[[ServerNamespace], Adapter]


class Server:
    def __init__(
        self,
        *,
        path: str = "/socket.io/",
        serializer: str | Parser = "default",
        adapter: AdapterFactory | None = None,
        connect_timeout: float = 45.0,
        connection_state_recovery: bool | RecoveryOptions | dict[str, Any] | None = None,
        max_buffered_bytes: int = 16 * 1024 * 1024,
        volatile_threshold: int = 64 * 1024,
        json: Any = None,
        legacy: bool = True,
        legacy_transports: Sequence[str] = DEFAULT_LEGACY_TRANSPORTS,
        close_timeout: float = 60.0,
        polling_duration: float = 20.0,
        **engine_options: Any,
    ) -> None:
        unknown = set(engine_options) - _ENGINE_FIELDS
        if unknown:
            raise TypeError(f"unknown Server option(s): {', '.join(sorted(unknown))}")
        self.engine = EngineIOServer(EngineOptions(path=path, **engine_options))
        self.engine.listener = self
        self.connect_timeout = connect_timeout
        # Socket.IO 0.9's close timeout: how long a 0.9 session waits for a
        # polling client to come back (Engine.IO sessions use ping_timeout)
        self.close_timeout = close_timeout
        self.max_buffered_bytes = max_buffered_bytes
        self.volatile_threshold = volatile_threshold
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
        if legacy:
            # Socket.IO 0.9 clients at /<resource>/1/: the heartbeat interval is
            # the ping interval, and a heartbeat unanswered after the ping
            # timeout ends the session, as for Engine.IO clients
            eio = self.engine.options
            self.engine.legacy = LegacyEndpoint(
                self.engine,
                LegacyOptions(
                    resource=eio.path.rstrip("/"),
                    transports=tuple(legacy_transports),
                    heartbeat_interval=eio.ping_interval,
                    heartbeat_timeout=eio.ping_interval + eio.ping_timeout,
                    close_timeout=close_timeout,
                    polling_duration=polling_duration,
                ),
                self,
                loads or jsonmod.loads,
            )
        self.adapter_factory: AdapterFactory = adapter or InMemoryAdapter
        self._nsps: dict[str, ServerNamespace] = {}
        self._parents: list[ParentNamespace] = []
        self._new_namespace_hooks: list[Callable[[ServerNamespace], Any]] = []
        self.clients: dict[str, Client] = {}
        # a runtime's say in each new connection before it starts (WSGIApp's
        # views mode binds the connection to a framework view here)
        self.client_hook: Callable[[Client], None] | None = None
        self.sockets = self.of("/")

    # -- runtime ------------------------------------------------------------------

    @property
    def runtime(self) -> Runtime | None:
        return self.engine.runtime

    def _need_runtime(self) -> Runtime:
        runtime = self.engine.runtime
        if runtime is None:
            raise RuntimeError("this needs a running server (hubbub.run, ASGIApp or WSGIApp)")
        return runtime

    def runtime_waiter(self) -> Waiter:
        return self._need_runtime().waiter()

    def runtime_call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle:
        return self._need_runtime().call_later(delay, fn)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        self.engine.call_handler(fn, *args)

    def check_handler(self, fn: Callable[..., Any]) -> None:
        runtime = self.engine.runtime
        if runtime is not None:
            runtime.check_handler(fn)

    def check_namespace_class(self, namespace_class: type[Namespace]) -> None:
        """check_handler for every method a Namespace class serves."""
        for spec in class_handlers(namespace_class).values():
            self.check_handler(spec.fn)
        self.check_handler(namespace_class.initialize)

    def registered_handlers(self) -> Iterator[Callable[..., Any]]:
        """Every function registered so far (checked when a runtime attaches)."""
        yield from self._new_namespace_hooks
        for nsp in [*self._nsps.values(), *self._parents]:
            yield from nsp.registered_handlers()

    def parser_for(self, protocol: int) -> Parser:
        return self._parsers[5 if protocol >= 5 else protocol]

    # -- namespaces -------------------------------------------------------------------

    def of(
        self, name: str | re.Pattern[str] | Callable[[str, dict[str, Any]], bool]
    ) -> ServerNamespace:
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

    def on_new_namespace(
        self, fn: Callable[[ServerNamespace], Any]
    ) -> Callable[[ServerNamespace], Any]:
        """``fn(namespace)`` whenever a namespace is created (static or a
        dynamic namespace's child)."""
        self._new_namespace_hooks.append(fn)
        return fn

    def _fire_new_namespace(self, nsp: ServerNamespace) -> None:
        for fn in self._new_namespace_hooks:
            self.spawn(fn, nsp)

    def _namespace_for(self, name: str, auth: dict[str, Any]) -> ServerNamespace | None:
        nsp = self._nsps.get(name)
        if nsp is not None:
            return nsp
        for parent in self._parents:
            if parent.matches(name, auth):
                child = parent.create_child(name)
                self._nsps[name] = child
                self._fire_new_namespace(child)
                return child
        return None

    def register(self, namespace: str, namespace_class: type[Namespace]) -> type[Namespace]:
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

    def use(self, middleware: Callable[..., Any], namespace: str = "/") -> Callable[..., Any]:
        """A connection middleware on ``namespace`` (the main one by default)."""
        return self.of(namespace).use(middleware)

    # -- broadcasting on the main namespace ----------------------------------------------

    def emit(
        self,
        event: str,
        *args: Any,
        namespace: str = "/",
        callback: Callable[..., None] | None = None,
    ) -> None:
        self.of(namespace).emit(event, *args, callback=callback)

    def send(self, *args: Any, namespace: str = "/") -> None:
        self.of(namespace).emit("message", *args)

    def to(self, *rooms: str | Iterable[str]) -> BroadcastOperator:
        return self.sockets.to(*rooms)

    in_ = to

    def except_(self, *rooms: str | Iterable[str]) -> BroadcastOperator:
        return self.sockets.except_(*rooms)

    @property
    def local(self) -> BroadcastOperator:
        return self.sockets.local

    @property
    def volatile(self) -> BroadcastOperator:
        return self.sockets.volatile

    def compress(self, value: bool = True) -> BroadcastOperator:
        return self.sockets.compress(value)

    def timeout(self, seconds: float) -> BroadcastOperator:
        return self.sockets.timeout(seconds)

    def fetch_sockets(self) -> Any:
        return self.sockets.fetch_sockets()

    def sockets_join(self, *rooms: str) -> None:
        self.sockets.sockets_join(*rooms)

    def sockets_leave(self, *rooms: str) -> None:
        self.sockets.sockets_leave(*rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        self.sockets.disconnect_sockets(close)

    def server_side_emit(
        self, event: str, *args: Any, callback: Callable[..., None] | None = None
    ) -> None:
        self.sockets.server_side_emit(event, *args, callback=callback)

    def on_server_side_emit(
        self, event: str, handler: Callable[..., Any] | None = None, namespace: str = "/"
    ) -> Any:
        """``handler(*args)`` for another server's ``server_side_emit``; see
        :meth:`ServerNamespace.on_server_side_emit`."""
        return self.of(namespace).on_server_side_emit(event, handler)

    def close(self) -> None:
        """Disconnect every client ("server shutting down") and close adapters."""
        self.engine.close_all("server shutting down")
        for nsp in list(self._nsps.values()):
            nsp.adapter.close()

    # -- the Engine.IO listener ------------------------------------------------------------

    def on_connect(self, session: EngineSession, request: HttpRequest) -> None:
        self._start_client(Client(self, session, request))

    def _start_client(self, client: Client) -> None:
        self.clients[client.session.sid] = client
        if self.client_hook is not None:
            self.client_hook(client)
        client.start()

    def on_message(self, session: EngineSession, data: str | bytes) -> None:
        client = self.clients.get(session.sid)
        if client is not None:
            client.on_data(data)

    def on_disconnect(self, session: EngineSession | LegacySession, reason: str) -> None:
        client = self.clients.pop(session.sid, None)
        if client is not None:
            client.on_close(reason)

    def on_upgrade(self, session: EngineSession) -> None:
        pass

    # -- the Socket.IO 0.9 listener ------------------------------------------------------------

    def on_legacy_open(self, session: LegacySession, request: HttpRequest) -> None:
        self._start_client(LegacyClient(self, session, request))

    def on_legacy_packet(self, session: LegacySession, packet: LegacyPacket) -> None:
        client = self.clients.get(session.sid)
        if isinstance(client, LegacyClient):
            client.on_packet(packet)

    # a 0.9 session ends as an Engine.IO one does
    on_legacy_close = on_disconnect
