"""A Socket.IO 0.9 connection seen from the Socket.IO server.

:class:`LegacyConnection` is the :class:`~hubbub.socketio.connection.Connection` of a 0.9
session: it turns 0.9 packets into the calls every generation shares (so one
Namespace class serves 0.9 and 4.x clients alike), and :class:`LegacyParser`
turns hubbub's packets into 0.9 ones, once per broadcast like every parser.

The mapping:

* 0.9 message (3) and JSON message (4) packets are the event "message" with
  one argument, and the event "message" with one argument goes out as one of
  them (the 0.9 spec reserves the name "message" for those packets);
* a plain message id (``5:1::``) is acknowledged at once (``6:::1``), before
  the handler runs; an id with ``+`` gets the handler's return value; the
  other way, ``send(x, callback=)`` asks the client for the automatic ack
  (the callback gets no arguments) and ``emit(..., callback=)`` for its
  listener's answer, as socket.io 0.9's send() and emit() did;
* a refused namespace is an error packet with reason "unauthorized"
  (``7::/chat:2``), which the client reports as 'connect_failed';
* a 0.9 client sends to a namespace right after its connect packet, without
  waiting for the echo: those packets wait until the namespace's connect
  handlers have accepted it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from hubbub import jsonmod
from hubbub.engineio.codec import PacketType as EnginePacketType
from hubbub.engineio.outgoing import OutPacket
from hubbub.http import HttpRequest
from hubbub.legacy.v09.codec import LegacyPacket, LegacyType, encode_packet
from hubbub.legacy.v09.session import LegacySession
from hubbub.socketio.codec import Decoder, Packet, PacketType, SocketIODecodeError
from hubbub.socketio.connection import Connection, ConnectionServer
from hubbub.socketio.socket import Socket
from hubbub.types import DisconnectReason

log = logging.getLogger("hubbub.socketio.connection")

_EVENT_TYPES = (PacketType.EVENT, PacketType.BINARY_EVENT)
_ACK_TYPES = (PacketType.ACK, PacketType.BINARY_ACK)
_MESSAGE_KINDS = {LegacyType.MESSAGE: "message", LegacyType.JSON: "json"}


class _SessionDecodes:
    """0.9 packets are decoded by the session, not by a parser's decoder."""

    def feed(self, data: str | bytes) -> Packet | None:
        raise SocketIODecodeError("0.9 packets are decoded by their session")


class LegacyParser:
    """hubbub packets as 0.9 packets (the ``Parser`` of 0.9 clients)."""

    name = "socket.io 0.9"

    def __init__(self, dumps: Callable[[Any], str] | None = None) -> None:
        self._dumps_fn = dumps or jsonmod.dumps

    def _dumps(self, value: Any) -> str:
        try:
            text = self._dumps_fn(value)
        except TypeError:
            text = self._dumps_fn(jsonmod.jsonable(value))
        if "\u2028" in text or "\u2029" in text:
            # valid in JSON, but line terminators to the 0.9 client's
            # regular expressions (an ack's data is read with "(.*)")
            text = text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
        return text

    def decoder(self) -> Decoder:
        return _SessionDecodes()

    def encode(self, packet: Packet) -> list[str | bytes]:
        return [encode_packet(self.to_legacy(packet), self._dumps)]

    @staticmethod
    def to_legacy(packet: Packet) -> LegacyPacket:
        endpoint = "" if packet.nsp == "/" else packet.nsp
        ptype = packet.type
        if ptype in _EVENT_TYPES:
            data = packet.data
            name, args = data[0], list(data[1:])
            ack = "data" if packet.id is not None else None
            if name == "message" and len(args) == 1:
                # a message with a callback asks for the automatic ack (a plain
                # id, answered as the client receives it), as 0.9's send() does
                kind = LegacyType.MESSAGE if isinstance(args[0], str) else LegacyType.JSON
                auto = True if packet.id is not None else None
                return LegacyPacket(kind, endpoint, packet.id, auto, data=args[0])
            return LegacyPacket(LegacyType.EVENT, endpoint, packet.id, ack, name=name, args=args)
        if ptype in _ACK_TYPES:
            return LegacyPacket(
                LegacyType.ACK, endpoint, ack_id=packet.id, args=list(packet.data or ())
            )
        if ptype is PacketType.CONNECT:
            return LegacyPacket(LegacyType.CONNECT, endpoint)
        if ptype is PacketType.DISCONNECT:
            return LegacyPacket(LegacyType.DISCONNECT, endpoint)
        # CONNECT_ERROR: 0.9 has one reason for a refused namespace
        return LegacyPacket(LegacyType.ERROR, endpoint, reason="unauthorized")


class LegacyConnection(Connection):
    session: LegacySession

    def __init__(
        self, server: ConnectionServer, session: LegacySession, request: HttpRequest
    ) -> None:
        super().__init__(server, session, request)
        # namespaces whose connect is running, and the packets that wait for it
        self._waiting: dict[str, list[LegacyPacket]] = {}

    def start(self) -> None:
        # the main namespace is connected as the transport opens ("1::")
        self._when_settled(lambda: self._connect("/", ""))

    def _connect(self, name: str, query: str) -> None:
        if self.socket_in(name) is not None:
            return
        merged = dict(self.request.query)
        merged.update(parse_qsl(query, keep_blank_values=True))
        self._waiting[name] = []
        self.connect(name, {}, merged)

    # -- incoming -------------------------------------------------------------------

    def on_data(self, data: str | bytes) -> None:  # pragma: no cover - not an Engine.IO client
        raise TypeError("a 0.9 client takes packets from its session")

    def on_packet(self, packet: LegacyPacket) -> None:
        view = self.view
        if view is not None and not view.settled:
            view.held.append(lambda: self.on_packet(packet))
            return
        name = packet.endpoint or "/"
        ptype = packet.type
        if ptype is LegacyType.CONNECT:
            self._connect(name, packet.query)
            return
        waiting = self._waiting.get(name)
        if waiting is not None:
            waiting.append(packet)
            return
        socket = self.socket_in(name)
        if socket is None:
            log.debug("%s: 0.9 packet for %s, not connected there", self, name)
            return
        if ptype is LegacyType.EVENT or ptype in _MESSAGE_KINDS:
            if packet.ack is True and packet.id is not None:
                # a plain id: acknowledged by the server itself, at once
                self._send(LegacyPacket(LegacyType.ACK, packet.endpoint, ack_id=packet.id))
            ack = (
                socket.ack_sender(packet.id)
                if packet.ack == "data" and packet.id is not None
                else None
            )
            if ptype is LegacyType.EVENT:
                socket.receive_event(packet.name, packet.args, ack, "event")
            else:
                socket.receive_event("message", [packet.data], ack, _MESSAGE_KINDS[ptype])
        elif ptype is LegacyType.ACK:
            socket.receive(Packet(PacketType.ACK, name, packet.args, packet.ack_id))
        elif ptype is LegacyType.DISCONNECT:
            socket.receive(Packet(PacketType.DISCONNECT, name))
        elif ptype is LegacyType.ERROR:
            self._error_from_client(socket, packet)

    def _error_from_client(self, socket: Socket, packet: LegacyPacket) -> None:
        instance = socket.instance
        if instance is not None and instance.receives_packets:
            self.server.scheduler.spawn(
                instance.receive_packet, "error", "", [packet.reason, packet.advice], None
            )
        else:
            log.info("%s: error packet from the client on %s: %s %s", self, socket.nsp.name,
                     packet.reason, packet.advice)

    def _send(self, packet: LegacyPacket) -> None:
        if not self.closed:
            self.session.send_packet(OutPacket(EnginePacketType.MESSAGE, encode_packet(packet)))

    # -- the connect flow's hooks ------------------------------------------------------------

    def socket_ready(self, socket: Socket) -> None:
        """The namespace accepted the socket and its connect packet is out:
        what the client sent meanwhile is handled now, in order."""
        held = self._waiting.pop(socket.nsp.name, None)
        for packet in held or ():
            self.on_packet(packet)

    def connect_error(self, name: str, message: str, data: Any = None) -> None:
        self._waiting.pop(name, None)
        super().connect_error(name, message, data)

    # -- outgoing --------------------------------------------------------------------------

    def send_packet(self, packet: Packet, volatile: bool = False) -> None:
        if packet.type is PacketType.DISCONNECT and packet.nsp == "/":
            # "0::" ends the whole 0.9 connection: the session sends it and closes
            self._close_session(DisconnectReason.SERVER_NAMESPACE_DISCONNECT)
            return
        super().send_packet(packet, volatile)

