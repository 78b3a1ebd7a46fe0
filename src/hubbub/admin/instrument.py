"""``sio.instrument(...)``: a server the Socket.IO admin UI
(@socket.io/admin-ui 0.5, at admin.socket.io or self-hosted) can watch and
act on, speaking the protocol of that package's own Node ``instrument``.

The UI connects to the admin namespace ("/admin") with its credentials and
gets:

* ``config``: the features this server offers (the actions, unless
  ``read_only``; the aggregated counts; the event log in development mode);
* ``server_stats`` every ``server_stats_interval`` seconds, from every
  server of the cluster: a broadcast on the admin namespace, which the
  adapter carries to the UIs connected to the other servers;
* in development mode, ``all_sockets`` (fetched across the cluster) on
  connect, then one event per socket connected, upgraded or gone, per room
  joined or left, per event received or sent.

The actions (``join``, ``leave``, ``_disconnect``, ``emit``) go through the
adapter too, so they reach sockets on any server.
"""

from __future__ import annotations

import logging
import os
import platform
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any, Protocol

from hubbub.adapters.remote_socket import RemoteSocket
from hubbub.admin.auth import AuthSetting, Check, SessionStore, credentials_check
from hubbub.admin.describe import ADMIN_KEY, describe_local, describe_remote, now_iso
from hubbub.admin.events import EventCounts
from hubbub.errors import ConnectionRefusedError
from hubbub.instrumentation import (
    ObservedConnection,
    ObservedPacket,
    ObservedPart,
    Observer,
    payload_size,
)
from hubbub.runtime.contract import Runtime, Scheduler
from hubbub.socketio.connection import Connection
from hubbub.socketio.server_namespace import ServerNamespace
from hubbub.socketio.socket import Socket
from hubbub.types import BroadcastOptions

log = logging.getLogger("hubbub.admin")

MODES = ("development", "production")
# the features that announce the UI's actions (emit, join, leave, _disconnect)
ACTION_FEATURES = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"]
READ_ONLY = "read-only: this server refuses the admin UI's actions"


class InstrumentedServer(Protocol):
    """What the admin UI needs of a ``hubbub.Server``."""

    @property
    def scheduler(self) -> Scheduler: ...
    @property
    def closed(self) -> bool: ...
    @property
    def clients(self) -> Mapping[str, Connection]: ...
    @property
    def namespaces(self) -> Mapping[str, ServerNamespace]: ...

    def of(self, name: str) -> ServerNamespace: ...
    def add_observer(self, observer: Observer) -> Observer: ...
    def on_new_namespace(
        self, fn: Callable[[ServerNamespace], Any]
    ) -> Callable[[ServerNamespace], Any]: ...


def default_server_id() -> str:
    """The host and the process: each process of a machine is a server of its own."""
    return f"{platform.node()}#{os.getpid()}"


def _transport(client: Any) -> str:
    return str(client.session.transport)


def _client_id(client: Any) -> str:
    return str(client.session.sid)[:12]


class Instrument(Observer):
    """The admin UI's view of one server; made by :func:`instrument`."""

    def __init__(
        self,
        server: InstrumentedServer,
        *,
        check: Check | None,
        mode: str,
        namespace: str,
        read_only: bool,
        server_id: str | None,
        server_stats_interval: float,
    ) -> None:
        self.server = server
        self.check = check
        self.development = mode == "development"
        self.read_only = read_only
        self.server_id = server_id or default_server_id()
        self.interval = server_stats_interval
        self.sessions = SessionStore()
        self.counts = EventCounts()
        self.started = time.monotonic()
        self.nsp = server.of(namespace)
        self.features = [] if read_only else list(ACTION_FEATURES)
        self.features.append("AGGREGATED_EVENTS")
        if self.development:
            self.features.append("ALL_EVENTS")
        self._watched: weakref.WeakSet[ServerNamespace] = weakref.WeakSet()
        self._timer: Any = None

    # -- set-up ------------------------------------------------------------------------

    def install(self) -> None:
        nsp = self.nsp
        nsp.use(self._authenticate)
        nsp.on("connection", self._admin_connected)
        actions: dict[str, Callable[..., None]] = {
            "emit": self._emit, "join": self._join, "leave": self._leave,
            "_disconnect": self._disconnect,
        }
        for action, handler in actions.items():
            nsp.on(action, self._refusal(action) if self.read_only else handler)
        if self.development:
            for each in list(self.server.namespaces.values()):
                self.watch(each)
            self.server.on_new_namespace(self.watch)
        self.server.add_observer(self)
        self.server.scheduler.when_attached(self._start_reports)

    def watch(self, nsp: ServerNamespace) -> None:
        """Report what happens in ``nsp`` (development mode)."""
        if nsp in self._watched:
            return
        self._watched.add(nsp)
        name = nsp.name
        emit = self.nsp.emit

        def connected(socket: Socket) -> None:
            client = socket.client
            data = socket.data
            if isinstance(data, dict):
                data[ADMIN_KEY] = {"clientId": _client_id(client), "transport": _transport(client)}
            emit("socket_connected", self.describe(socket), now_iso())
            if nsp is self.nsp:
                return
            sid = socket.id

            def received(event: str, *args: Any) -> None:
                emit("event_received", name, sid, [event, *args], now_iso())

            def sent(event: str, *args: Any) -> None:
                emit("event_sent", name, sid, [event, *args], now_iso())

            socket.on_any(received)
            socket.on_any_outgoing(sent)

        def disconnected(socket: Socket, reason: str) -> None:
            emit("socket_disconnected", name, socket.id, str(reason), now_iso())

        def joined(room: str, sid: str) -> None:
            emit("room_joined", name, room, sid, now_iso())

        def left(room: str, sid: str) -> None:
            emit("room_left", name, room, sid, now_iso())

        nsp.on("connection", connected)
        nsp.on("disconnect", disconnected)
        nsp.on("join-room", joined)
        nsp.on("leave-room", left)

    # -- the admin namespace ------------------------------------------------------------

    def _authenticate(self, socket: Socket) -> None:
        check = self.check
        if check is None:
            return
        auth = socket.auth if isinstance(socket.auth, dict) else {}
        if self.sessions.valid(auth.get("sessionId")):
            return
        if not check(auth):
            log.info("admin UI: invalid credentials from %s", socket.handshake.address)
            raise ConnectionRefusedError("invalid credentials")
        # sent right after CONNECT: the UI keeps it for its next connection
        socket.emit("session", self.sessions.new())

    def _admin_connected(self, socket: Socket) -> None:
        socket.emit("config", {"supportedFeatures": list(self.features)})
        if self.development:
            self.fetch_all(lambda sockets: socket.emit("all_sockets", sockets))

    def fetch_all(self, done: Callable[[list[dict[str, Any]]], None]) -> None:
        """Every socket of every namespace, on every server of the cluster."""
        namespaces = list(self.server.namespaces.values())
        found: list[dict[str, Any]] = []
        waiting = len(namespaces)
        if not waiting:
            done(found)
            return

        def add(nsp: ServerNamespace, sockets: list[Any]) -> None:
            nonlocal waiting
            for socket in sockets:
                if isinstance(socket, RemoteSocket):
                    found.append(describe_remote(socket, nsp.name))
                else:
                    found.append(self.describe(socket))
            waiting -= 1
            if waiting == 0:
                done(found)

        for nsp in namespaces:
            nsp.adapter.fetch_sockets(BroadcastOptions(), partial(add, nsp))

    def describe(self, socket: Socket) -> dict[str, Any]:
        client = socket.client
        return describe_local(socket, _client_id(client), _transport(client))

    # -- actions ----------------------------------------------------------------------------

    def _target(self, socket: Socket, action: str, nsp: Any) -> ServerNamespace | None:
        target = self.server.namespaces.get(nsp) if isinstance(nsp, str) else None
        if target is None:
            socket.send_error(f"no namespace {nsp!r}", event=action)
        return target

    def _emit(self, socket: Socket, nsp: Any = None, room: Any = None, event: Any = None,
              *args: Any) -> None:
        target = self._target(socket, "emit", nsp)
        if target is None:
            return
        if not isinstance(event, str):
            socket.send_error("the event name must be a string", event="emit")
            return
        try:
            (target.to(room) if isinstance(room, str) and room else target).emit(event, *args)
        except ValueError as exc:  # a reserved event name
            socket.send_error(str(exc), event="emit")

    def _join(self, socket: Socket, nsp: Any = None, room: Any = None, sid: Any = None) -> None:
        target = self._target(socket, "join", nsp)
        if target is None:
            return
        if not isinstance(room, str) or not room:
            socket.send_error("the room must be a non-empty string", event="join")
            return
        (target.in_(sid) if isinstance(sid, str) and sid else target).sockets_join(room)

    def _leave(self, socket: Socket, nsp: Any = None, room: Any = None, sid: Any = None) -> None:
        target = self._target(socket, "leave", nsp)
        if target is None:
            return
        if not isinstance(room, str) or not room:
            socket.send_error("the room must be a non-empty string", event="leave")
            return
        (target.in_(sid) if isinstance(sid, str) and sid else target).sockets_leave(room)

    def _disconnect(
        self, socket: Socket, nsp: Any = None, close: Any = False, sid: Any = None
    ) -> None:
        target = self._target(socket, "_disconnect", nsp)
        if target is None:
            return
        selected = target.in_(sid) if isinstance(sid, str) and sid else target
        selected.disconnect_sockets(close is True)

    @staticmethod
    def _refusal(action: str) -> Callable[..., None]:
        def refuse(socket: Socket, *args: Any) -> None:
            log.info("admin UI: refused %r (read-only)", action)
            socket.send_error(READ_ONLY, event=action)

        return refuse

    # -- server stats --------------------------------------------------------------------------

    def _start_reports(self, runtime: Runtime) -> None:
        if self._timer is None:
            self._timer = runtime.call_later(0, lambda: self._report(runtime))

    def _report(self, runtime: Runtime) -> None:
        if self.server.closed:
            self._timer = None
            return
        try:
            self.nsp.emit("server_stats", self.stats())
        except Exception:
            log.exception("admin UI: server_stats failed")
        self._timer = runtime.call_later(self.interval, lambda: self._report(runtime))

    def stop(self) -> None:
        """No more server_stats reports (the admin namespace stays)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def stats(self) -> dict[str, Any]:
        clients = list(self.server.clients.values())
        polling = sum(1 for c in clients if _transport(c) not in ("websocket", "flashsocket"))
        return {
            "serverId": self.server_id,
            "hostname": platform.node(),
            "pid": os.getpid(),
            "uptime": round(time.monotonic() - self.started, 3),
            "clientsCount": len(clients),
            "pollingClientsCount": polling,
            "aggregatedEvents": self.counts.drain(),
            "namespaces": [
                {"name": nsp.name, "socketsCount": len(nsp.sockets)}
                for nsp in list(self.server.namespaces.values())
            ],
        }

    # -- Observer ----------------------------------------------------------------------------

    def connection_opened(self, client: ObservedConnection) -> None:
        self.counts.add("rawConnection")

    def connection_closed(self, client: ObservedConnection, reason: str) -> None:
        self.counts.add("rawDisconnection", sub_type=str(reason))

    def connection_upgraded(self, client: ObservedConnection, previous: str) -> None:
        if not self.development:
            return
        connection = self.server.clients.get(client.session.sid)
        if connection is None:
            return
        transport = client.session.transport
        for socket in list(connection.sockets.values()):
            data = socket.data
            admin = data.get(ADMIN_KEY) if isinstance(data, dict) else None
            if isinstance(admin, dict):
                admin["transport"] = transport
            self.nsp.emit(
                "socket_updated", {"id": socket.id, "nsp": socket.nsp.name, "transport": transport}
            )

    def message_received(self, client: ObservedConnection, data: str | bytes) -> None:
        counts = self.counts
        counts.add("packetsIn")
        counts.add("bytesIn", payload_size(data))

    def packet_sent(
        self,
        packet: ObservedPacket,
        connections: Sequence[ObservedConnection],
        parts: Sequence[ObservedPart],
        skipped: Sequence[ObservedConnection] | None,
    ) -> None:
        # each recipient is sent every Engine.IO message of the packet
        recipients = len(connections) - (len(skipped) if skipped else 0)
        if recipients <= 0:
            return
        size = sum([payload_size(part.data) for part in parts])
        counts = self.counts
        counts.add("packetsOut", len(parts) * recipients)
        counts.add("bytesOut", size * recipients)


def instrument(
    server: InstrumentedServer,
    *,
    auth: AuthSetting,
    mode: str = "development",
    namespace: str = "/admin",
    read_only: bool = False,
    server_id: str | None = None,
    server_stats_interval: float = 2.0,
) -> Instrument:
    """Serve the admin UI on ``namespace`` of ``server``.

    ``auth``: False, ``{"username", "password"}`` (a bcrypt hash or the plain
    password), a list of those, or a callable ``(auth) -> bool``
    (:mod:`hubbub.admin.auth`). ``mode``: "development" adds the socket list
    and the live event log (each socket's ``data`` then carries the UI's
    ``_admin`` entry, as with Node); "production" sends only the server stats.
    ``read_only``: the UI shows no actions and the server refuses them.
    ``server_id``: this server's name in the UI (default ``host#pid``).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be 'development' or 'production', not {mode!r}")
    if server_stats_interval <= 0:
        raise ValueError("server_stats_interval must be positive")
    if not namespace.startswith("/"):
        namespace = "/" + namespace
    inst = Instrument(
        server,
        check=credentials_check(auth),
        mode=mode,
        namespace=namespace,
        read_only=read_only,
        server_id=server_id,
        server_stats_interval=server_stats_interval,
    )
    inst.install()
    return inst
