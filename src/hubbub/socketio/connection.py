"""One Engine.IO connection seen from Socket.IO: it multiplexes namespaces.

It decodes packets (v5 for clients 3.x/4.x, v4 for 2.x), routes them to the
sockets, writes encoded packets to the session, and bounds what a slow
client may leave queued.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol
from urllib.parse import parse_qsl

from hubbub import instrumentation
from hubbub.engineio.codec import PacketType as EnginePacketType
from hubbub.engineio.outgoing import OutPacket
from hubbub.http import HttpRequest
from hubbub.runtime.contract import Scheduler
from hubbub.socketio.codec import Packet, PacketType, Parser, SocketIODecodeError
from hubbub.socketio.encoded import EncodedPacket, packet_bytes, wire_bound
from hubbub.socketio.socket import NamespaceInstance, Socket, TransportSession
from hubbub.types import DisconnectReason

log = logging.getLogger("hubbub.socketio.connection")


class ConnectionNamespace(Protocol):
    """A namespace a connection may join."""

    @property
    def name(self) -> str: ...
    def connect(
        self, connection: Connection, auth: dict[str, Any], query: dict[str, str] | None
    ) -> None:
        """Run the connect flow for ``connection`` (CONNECT or CONNECT_ERROR
        follows, maybe later)."""
        ...


class ConnectionServer(Protocol):
    """What a connection needs of its server."""

    @property
    def scheduler(self) -> Scheduler: ...
    @property
    def connect_timeout(self) -> float: ...
    @property
    def attachment_timeout(self) -> float: ...
    @property
    def volatile_threshold(self) -> int: ...
    @property
    def buffer_limit(self) -> int:
        """max_buffered_bytes, or no limit (sys.maxsize) when that is 0."""
        ...

    @property
    def shared_reserve(self) -> int:
        """What an open shared block may still add to a client's buffer
        unseen (hubbub.socketio.coalesce): kept in the bound after a
        measurement. 0 when broadcasts are not coalesced."""
        ...

    def parser_for(self, protocol: int) -> Parser: ...
    def namespace_for(
        self, name: str, auth: dict[str, Any], allowed: Any = None
    ) -> ConnectionNamespace | None:
        """The namespace ``name`` (created when a dynamic one matches), or
        None; ``allowed``, when given, is the only names a view permits."""
        ...


class ConnectionView(Protocol):
    """A framework view's say in one connection (hubbub.socketio.views)."""

    @property
    def settled(self) -> bool:
        """Whether the view has spoken; until then packets wait in ``held``."""
        ...

    @property
    def held(self) -> list[Callable[[], None]]: ...
    @property
    def namespaces(self) -> dict[str, Any] | None: ...
    @property
    def request(self) -> Any: ...
    def class_for(self, name: str) -> Callable[[Socket], NamespaceInstance] | None: ...
    def closed(self) -> None: ...


class Connection:
    """One Engine.IO (or 0.9) connection, its sockets in every namespace."""

    # slotted: one per connection, and an idle one should cost little
    __slots__ = ("_bound", "_extra", "_first", "_first_name", "_more", "_parts_timer", "_timer",
                 "closed", "decoder", "parser", "protocol", "request", "server", "session", "view")

    def __init__(
        self, server: ConnectionServer, session: TransportSession, request: HttpRequest
    ) -> None:
        self.server = server
        self.session = session
        self.request = request
        # Socket.IO protocol: 5 (clients 3.x/4.x), 4 (2.x), 1 (0.9) or 0 (0.6)
        version = session.version
        self.protocol = 5 if version >= 4 else (4 if version == 3 else version)
        self.parser = server.parser_for(self.protocol)
        self.decoder = self.parser.decoder()
        # the sockets by namespace: the first in two slots (most connections
        # never have another, and a one-entry dict costs more than a socket's
        # own slots), the others in a dict made for them
        self._first_name: str | None = None
        self._first: Socket | None = None
        self._more: dict[str, Socket] | None = None
        self.closed = False
        # an upper bound of what the session holds unsent (see admit)
        self._bound = 0
        self._timer: Any = None
        # armed while a binary packet waits for its attachments
        self._parts_timer: Any = None
        # set when a framework view decides this connection's namespaces
        self.view: ConnectionView | None = None
        # per-connection storage for integrations, made on first use (see extra)
        self._extra: dict[str, Any] | None = None

    @property
    def sockets(self) -> dict[str, Socket]:
        """The connection's sockets by namespace name, in the order they
        joined (a new dict: the connection's own table is changed only as
        sockets join and leave)."""
        out: dict[str, Socket] = {}
        if self._first_name is not None and self._first is not None:
            out[self._first_name] = self._first
        if self._more:
            out.update(self._more)
        return out

    def socket_in(self, name: str) -> Socket | None:
        """The connection's socket in namespace ``name``, if any."""
        if name == self._first_name:
            return self._first
        more = self._more
        return more.get(name) if more is not None else None

    @property
    def extra(self) -> dict[str, Any]:
        """Per-connection storage for integrations (hubbub.gevent_socketio's
        virtsocket lives here)."""
        extra = self._extra
        if extra is None:
            extra = self._extra = {}
        return extra

    def start(self) -> None:
        if self.protocol >= 5:
            timeout = self.server.connect_timeout
            runtime = self.server.scheduler.runtime
            if timeout and runtime is not None:
                self._timer = runtime.call_later(timeout, self._connect_timeout)
        else:
            # clients 2.x are connected to the main namespace implicitly
            self._when_settled(lambda: self.connect("/", {}, dict(self.request.query)))

    def _when_settled(self, step: Callable[[], None]) -> None:
        view = self.view
        if view is not None and not view.settled:
            view.held.append(step)
        else:
            step()

    def __repr__(self) -> str:
        # log lines name a client by its session id, as the sessions' do
        return f"sid={self.session.sid}"

    # -- incoming -----------------------------------------------------------------

    def on_data(self, data: str | bytes) -> None:
        view = self.view
        if view is not None and not view.settled:
            view.held.append(lambda: self.on_data(data))
            return
        observer = self.server.scheduler.observer if instrumentation.observed_servers else None
        if observer is not None:
            observer.message_received(self, data)
        try:
            packet = self.decoder.feed(data)
        except SocketIODecodeError as exc:
            log.info("%s: invalid Socket.IO packet (%s); closing", self, exc)
            # the session's close reaches closed()
            self._close_session(DisconnectReason.PARSE_ERROR)
            return
        if packet is None:
            # a binary packet whose attachments are still to come: they have
            # attachment_timeout to arrive (else its state is held for ever)
            if self._parts_timer is None:
                runtime = self.server.scheduler.runtime
                if runtime is not None:
                    self._parts_timer = runtime.call_later(
                        self.server.attachment_timeout, self._attachments_late
                    )
            return
        if self._parts_timer is not None:
            self._parts_timer.cancel()
            self._parts_timer = None
        if observer is not None:
            observer.packet_received(self, packet)
        nsp = packet.nsp
        query: dict[str, str] = {}
        if self.protocol < 5 and "?" in nsp:
            nsp, _, qs = nsp.partition("?")
            query = dict(parse_qsl(qs, keep_blank_values=True))
        if packet.type is PacketType.CONNECT:
            auth = packet.data if isinstance(packet.data, dict) else {}
            if self.protocol < 5:
                if nsp == "/":
                    return  # already connected implicitly
                query = {**dict(self.request.query), **query}
            self.connect(nsp, auth, query)
            return
        socket = self._first if nsp == self._first_name else self.socket_in(nsp)
        if socket is None:
            log.debug("%s: packet for %s, not connected there", self, nsp)
            return
        socket.receive(packet)

    def connect(self, name: str, auth: dict[str, Any], query: dict[str, str] | None = None) -> None:
        if self.socket_in(name) is not None:
            log.info("%s: already connected to %s", self, name)
            return
        view = self.view
        # the view's socketio_manage, if any, said which namespaces this
        # connection may use
        allowed = view.namespaces if view is not None else None
        nsp = self.server.namespace_for(name, auth, allowed)
        if nsp is None:
            self.connect_error(name, "Invalid namespace")
            return
        # the socket's own handshake query (clients 2.x may add to it per
        # namespace); the connection's request stays as it came
        nsp.connect(self, auth, query or None)

    def connect_error(self, name: str, message: str, data: Any = None) -> None:
        if self.protocol >= 5:
            payload: Any = {"message": message}
            if data is not None:
                payload["data"] = data
        else:
            payload = message
        self.send_packet(Packet(PacketType.CONNECT_ERROR, name, payload))

    def _connect_timeout(self) -> None:
        self._timer = None
        if self._first is None and not self._more and not self.closed:
            log.info("%s: no namespace joined within connect_timeout; closing", self)
            self._close_session(DisconnectReason.FORCED_CLOSE)

    def _attachments_late(self) -> None:
        self._parts_timer = None
        if not self.closed:
            log.info("%s: binary attachments not complete in time; closing", self)
            self._close_session(DisconnectReason.PARSE_ERROR)

    def _close_session(self, reason: DisconnectReason) -> None:
        self.session.close(reason, self.server.scheduler.clock())

    def socket_joined(self, socket: Socket) -> None:
        """A namespace accepted one of this connection's sockets."""
        name = socket.nsp.name
        if name == self._first_name or (self._first is None and not self._more):
            # the first slot only while it keeps the order of joining
            self._first_name = name
            self._first = socket
        else:
            if self._more is None:
                self._more = {}
            self._more[name] = socket
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def socket_ready(self, socket: Socket) -> None:
        """A socket's CONNECT went out (a 0.9 connection releases what the
        client sent meanwhile)."""

    def socket_left(self, socket: Socket) -> None:
        name = socket.nsp.name
        if name == self._first_name:
            if self._first is socket:
                self._first_name = None
                self._first = None
        elif self._more is not None and self._more.get(name) is socket:
            del self._more[name]

    # -- outgoing -----------------------------------------------------------------------

    def send_packet(self, packet: Packet, volatile: bool = False) -> None:
        """One packet for this client only: encoded straight to the session."""
        if self.closed:
            return
        encoded = self.parser.encode(packet)
        if len(encoded) == 1:  # no binary attachments: the common case, kept short
            part = encoded[0]
            write_parts(
                (self,),
                [OutPacket(EnginePacketType.MESSAGE, part, volatile)],
                wire_bound(part),
                packet,
            )
            return
        parts = [OutPacket(EnginePacketType.MESSAGE, part, volatile) for part in encoded]
        write_parts((self,), parts, packet_bytes(parts), packet)

    def write(self, encoded: EncodedPacket) -> None:
        """A packet encoded for several clients (a broadcast)."""
        write_parts((self,), *encoded.parts_and_size(self.parser), encoded.packet)

    def _admit_measured(self, volatile: bool, size: int) -> bool:
        """The slow-consumer check once the bound passed a limit: measure
        what the session really holds."""
        server = self.server
        buffered = self.session.buffered_bytes
        self._bound = buffered
        if volatile and buffered > server.volatile_threshold:
            observer = server.scheduler.observer
            if observer is not None:
                observer.packet_dropped(self, "volatile")
            return False
        if buffered > server.buffer_limit:
            observer = server.scheduler.observer
            if observer is not None:
                observer.packet_dropped(self, DisconnectReason.SLOW_CONSUMER)
            log.warning(
                "%s: %d bytes queued (over max_buffered_bytes); disconnecting a slow consumer",
                self,
                buffered,
            )
            self._close_session(DisconnectReason.SLOW_CONSUMER)
            return False
        self._bound = buffered + size + server.shared_reserve
        return True

    # -- closing --------------------------------------------------------------------------

    def disconnect(self) -> None:
        """Leave every namespace, then close the connection."""
        for socket in list(self.sockets.values()):
            socket.disconnect()
        self._close_session(DisconnectReason.FORCED_SERVER_CLOSE)

    def session_closed(self, reason: str) -> None:
        """The session ended: every socket of the connection leaves."""
        if self.closed:
            return
        self.closed = True
        for timer in (self._timer, self._parts_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._parts_timer = None
        for socket in list(self.sockets.values()):
            socket.closed(reason)
        self._first_name = None
        self._first = None
        self._more = None
        if self.view is not None:
            self.view.closed()


def write_parts(
    clients: Sequence[Connection], parts: list[OutPacket], size: int, packet: Packet
) -> None:
    """Queue the Engine.IO ``parts`` of one Socket.IO ``packet`` (``size``:
    their ``wire_bound``) for each of ``clients``, which share a parser, after
    the slow-consumer check: how a packet reaches a session, but for the
    frames of a coalesced broadcast (hubbub.socketio.coalesce).

    The check: nothing is queued for a closed connection, nor for a client
    falling behind (volatile packets are dropped past ``volatile_threshold``
    bytes queued; past ``max_buffered_bytes`` the client is disconnected).
    Invariant: a connection's ``_bound`` is at least what its session holds
    unsent (the last measured ``buffered_bytes`` plus the size of every
    packet queued since; the buffer only grows through writes). So while the
    bound is under the limit, so is the buffer, and nothing is measured down
    to the transport. (Engine.IO's own pings and pongs, a few bytes each, are
    not counted.)"""
    if not parts:  # a packet the clients' generation has no form for
        return
    volatile = parts[0].volatile
    single = parts[0] if len(parts) == 1 else None
    server = clients[0].server  # one server's clients
    limit = server.volatile_threshold if volatile else server.buffer_limit
    # the clients not written to (rare: only then is the list made)
    skipped: list[Connection] | None = None
    for client in clients:
        if client.closed:
            if skipped is None:
                skipped = []
            skipped.append(client)
            continue
        bound = client._bound
        if bound <= limit:
            client._bound = bound + size
        elif not client._admit_measured(volatile, size):
            if skipped is None:
                skipped = []
            skipped.append(client)
            continue
        if single is not None:
            client.session.send_packet(single)
        else:
            session = client.session
            for part in parts:
                session.send_packet(part)
    if instrumentation.observed_servers:
        observer = server.scheduler.observer
        if observer is not None:
            observer.packet_sent(packet, clients, parts, skipped)
