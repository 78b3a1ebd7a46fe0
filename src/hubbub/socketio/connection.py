"""One Engine.IO connection seen from Socket.IO: it multiplexes namespaces.

It decodes packets (v5 for clients 3.x/4.x, v4 for 2.x), routes them to the
sockets, writes encoded packets to the session, and bounds what a slow
client may leave queued.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import parse_qsl

from hubbub.engineio.codec import PacketType as EnginePacketType
from hubbub.engineio.outgoing import OutPacket
from hubbub.socketio.codec import Packet, PacketType, SocketIODecodeError
from hubbub.socketio.encoded import EncodedPacket, packet_bytes, wire_bound

if TYPE_CHECKING:
    from hubbub.http import HttpRequest
    from hubbub.socketio.server import Server
    from hubbub.socketio.server_namespace import ServerNamespace
    from hubbub.socketio.socket import Socket
    from hubbub.socketio.views import ViewBinding

log = logging.getLogger("hubbub.socketio.connection")


class Connection(Protocol):
    """What a client needs of its session (Engine.IO or Socket.IO 0.9)."""

    sid: str
    version: int
    transport: str

    @property
    def buffered_bytes(self) -> int: ...
    def send_packet(self, packet: OutPacket) -> None: ...
    def close(self, reason: str = ..., *, notify: bool = ...) -> None: ...


class Client:
    # slotted: one per connection, and an idle one should cost little
    __slots__ = ("_bound", "_timer", "closed", "decoder", "extra", "parser", "protocol",
                 "request", "server", "session", "sockets", "view")

    def __init__(self, server: Server, session: Connection, request: HttpRequest) -> None:
        self.server = server
        self.session = session
        self.request = request
        # Socket.IO protocol: 5 (clients 3.x/4.x), 4 (2.x) or 1 (0.9)
        version = session.version
        self.protocol = 5 if version >= 4 else (4 if version == 3 else 1)
        self.parser = server.parser_for(self.protocol)
        self.decoder = self.parser.decoder()
        self.sockets: dict[str, Socket] = {}
        self.closed = False
        # An upper bound of what the session holds unsent: the last measured
        # buffered_bytes plus the wire_bound of every packet written since.
        # The buffer only grows through writes, so while the bound is under a
        # limit the real figure is too, and the slow-consumer check needs no
        # measurement (four calls down to the transport) per packet; see
        # _admit. (Engine.IO's own pings and pongs, a few bytes each, are not
        # counted.)
        self._bound = 0
        self._timer: Any = None
        # set when a framework view decides this connection's namespaces
        self.view: ViewBinding | None = None
        # per-connection storage for integrations (hubbub.gevent_socketio's
        # virtsocket lives here)
        self.extra: dict[str, Any] = {}

    def start(self) -> None:
        if self.protocol >= 5:
            timeout = self.server.connect_timeout
            if timeout and self.server.runtime is not None:
                self._timer = self.server.runtime.call_later(timeout, self._connect_timeout)
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
        return f"<Client {self.session.sid}>"

    # -- incoming -----------------------------------------------------------------

    def on_data(self, data: str | bytes) -> None:
        view = self.view
        if view is not None and not view.settled:
            view.held.append(lambda: self.on_data(data))
            return
        try:
            packet = self.decoder.feed(data)
        except SocketIODecodeError as exc:
            log.info("%s: invalid Socket.IO packet (%s); closing", self, exc)
            self.session.close("parse error")  # the session's close reaches on_close
            return
        if packet is None:
            return
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
        socket = self.sockets.get(nsp)
        if socket is None:
            log.debug("%s: packet for %s, not connected there", self, nsp)
            return
        socket._on_packet(packet)

    def connect(self, name: str, auth: dict[str, Any], query: dict[str, str] | None = None) -> None:
        if name in self.sockets:
            log.info("%s: already connected to %s", self, name)
            return
        view = self.view
        nsp: ServerNamespace | None
        if view is not None and view.namespaces is not None:
            # the view's socketio_manage said which namespaces this connection may use
            nsp = self.server.of(name) if name in view.namespaces else None
        else:
            nsp = self.server._namespace_for(name, auth)
        if nsp is None:
            self.connect_error(name, "Invalid namespace")
            return
        # the socket's own handshake query (clients 2.x may add to it per
        # namespace); the connection's request stays as it came
        nsp._add(self, auth, query or None)

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
        if not self.sockets and not self.closed:
            log.info("%s: no namespace joined within connect_timeout; closing", self)
            self.session.close("forced close")

    def _added(self, socket: Socket) -> None:
        self.sockets[socket.nsp.name] = socket
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _socket_ready(self, socket: Socket) -> None:
        """A socket's CONNECT went out (LegacyClient releases what waited)."""

    def _remove(self, socket: Socket) -> None:
        if self.sockets.get(socket.nsp.name) is socket:
            del self.sockets[socket.nsp.name]

    # -- outgoing -----------------------------------------------------------------------

    def send_packet(self, packet: Packet, volatile: bool = False) -> None:
        """One packet for this client only: encoded straight to the session."""
        if self.closed:
            return
        encoded = self.parser.encode(packet)
        if len(encoded) == 1:  # no binary attachments: the common case, kept short
            part = encoded[0]
            if self._admit(volatile, wire_bound(part)):
                self.session.send_packet(OutPacket(EnginePacketType.MESSAGE, part, volatile))
            return
        parts = [OutPacket(EnginePacketType.MESSAGE, part, volatile) for part in encoded]
        if self._admit(volatile, packet_bytes(parts)):
            session = self.session
            for out in parts:
                session.send_packet(out)

    def write(self, encoded: EncodedPacket) -> None:
        """A packet shared with other clients (a broadcast), encoded once.
        (ServerNamespace._deliver inlines this for many clients.)"""
        parts, size = encoded.parts_and_size(self.parser)
        if not self._admit(encoded.volatile, size):
            return
        session = self.session
        for part in parts:
            session.send_packet(part)

    def _admit(self, volatile: bool, size: int) -> bool:
        """False when a packet of ``size`` bytes must not be queued: the
        connection is closed, or the client is falling behind (volatile
        packets are dropped first; past max_buffered_bytes the client is
        disconnected)."""
        if self.closed:
            return False
        server = self.server
        bound = self._bound
        # max_buffered_bytes 0: no limit (_deliver computes the same limit)
        if bound <= (
            server.volatile_threshold if volatile else server.max_buffered_bytes or sys.maxsize
        ):
            self._bound = bound + size
            return True
        return self._admit_measured(volatile, size)

    def _admit_measured(self, volatile: bool, size: int) -> bool:
        """_admit once the bound passed a limit: measure what is really queued."""
        server = self.server
        limit = server.max_buffered_bytes
        buffered = self.session.buffered_bytes
        self._bound = buffered
        if volatile and buffered > server.volatile_threshold:
            return False
        if limit and buffered > limit:
            log.warning(
                "%s: %d bytes queued (over max_buffered_bytes); disconnecting a slow consumer",
                self,
                buffered,
            )
            self.session.close("slow consumer")
            return False
        self._bound = buffered + size
        return True

    # -- closing --------------------------------------------------------------------------

    def disconnect(self) -> None:
        """Leave every namespace, then close the connection."""
        for socket in list(self.sockets.values()):
            socket.disconnect()
        self.session.close("forced server close")

    def on_close(self, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for socket in list(self.sockets.values()):
            socket._onclose(reason)
        self.sockets.clear()
        if self.view is not None:
            self.view.closed()
