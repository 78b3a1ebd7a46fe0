"""A Socket.IO 0.6 connection seen from the Socket.IO server.

:class:`V06Connection` is the :class:`~hubbub.socketio.connection.Connection`
of a 0.6 session and :class:`V06Parser` the parser of 0.6 clients, so one
Namespace class serves 0.6, 0.9 and 4.x clients alike and a broadcast is
encoded once per generation.

0.6 has no namespaces, events, acks or disconnect messages. The mapping:

* a 0.6 client is in the main namespace ("/") from the moment it has its
  session id;
* each message it sends (a string, or a JSON value sent as ``~j~``) is the
  event "message" with that one argument;
* the event "message" goes out as one 0.6 message per argument: a str as it
  is, any other value as JSON (so a Python list or number reaches the page
  as a value); every other event has no 0.6 form and is not sent to 0.6
  clients, and neither are acks (a callback asked of a 0.6 client is never
  called);
* the server disconnecting the socket closes the session (the client sees
  its transport end).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hubbub import jsonmod
from hubbub.http import HttpRequest
from hubbub.legacy.v06.codec import encode_message, frame
from hubbub.legacy.v06.session import V06Session
from hubbub.socketio.codec import Decoder, Packet, PacketType, SocketIODecodeError
from hubbub.socketio.connection import Connection, ConnectionServer
from hubbub.socketio.socket import Socket
from hubbub.types import DisconnectReason

log = logging.getLogger("hubbub.socketio.connection")

_EVENT_TYPES = (PacketType.EVENT, PacketType.BINARY_EVENT)


class _SessionDecodes:
    """0.6 messages are decoded by the session, not by a parser's decoder."""

    def feed(self, data: str | bytes) -> Packet | None:
        raise SocketIODecodeError("0.6 messages are decoded by their session")


class V06Parser:
    """hubbub packets as 0.6 payloads (the ``Parser`` of 0.6 clients)."""

    name = "socket.io 0.6"

    def __init__(self, dumps: Callable[[Any], str] | None = None) -> None:
        self._dumps_fn = dumps or jsonmod.dumps

    def _dumps(self, value: Any) -> str:
        try:
            return self._dumps_fn(value)
        except TypeError:
            return self._dumps_fn(jsonmod.jsonable(value))

    def decoder(self) -> Decoder:
        return _SessionDecodes()

    def encode(self, packet: Packet) -> list[str | bytes]:
        """One framed payload for the event "message" (a frame per
        argument); nothing for what 0.6 cannot carry."""
        if packet.type in _EVENT_TYPES and packet.nsp == "/":
            data = packet.data
            if data and data[0] == "message" and len(data) > 1:
                return ["".join(frame(encode_message(v, self._dumps)) for v in data[1:])]
        return []


class V06Connection(Connection):
    session: V06Session

    def __init__(
        self, server: ConnectionServer, session: V06Session, request: HttpRequest
    ) -> None:
        super().__init__(server, session, request)
        # messages that arrive while the main namespace's connect runs wait for it
        self._waiting: list[tuple[Any, str]] | None = None

    def start(self) -> None:
        self._when_settled(self._connect)

    def _connect(self) -> None:
        self._waiting = []
        self.connect("/", {}, dict(self.request.query))

    # -- incoming -------------------------------------------------------------------

    def on_data(self, data: str | bytes) -> None:  # pragma: no cover - not an Engine.IO client
        raise TypeError("a 0.6 client takes messages from its session")

    def on_message(self, value: Any, kind: str) -> None:
        """One message from the client ("text" or "json")."""
        view = self.view
        if view is not None and not view.settled:
            view.held.append(lambda: self.on_message(value, kind))
            return
        if self._waiting is not None:
            self._waiting.append((value, kind))
            return
        socket = self.socket_in("/")
        if socket is None:
            log.debug("%s: 0.6 message while not connected", self)
            return
        socket.receive_event("message", [value], None, "message" if kind == "text" else "json")

    # -- the connect flow's hooks ------------------------------------------------------------

    def socket_ready(self, socket: Socket) -> None:
        """The main namespace accepted the client: what it sent meanwhile
        is handled now, in order."""
        held, self._waiting = self._waiting or [], None
        for value, kind in held:
            self.on_message(value, kind)

    def connect_error(self, name: str, message: str, data: Any = None) -> None:
        # 0.6 cannot be told: its session ends
        log.info("%s: connection refused (%s); closing the 0.6 session", self, message)
        self._waiting = None
        self._close_session(DisconnectReason.SERVER_NAMESPACE_DISCONNECT)

    # -- outgoing --------------------------------------------------------------------------

    def send_packet(self, packet: Packet, volatile: bool = False) -> None:
        if packet.type is PacketType.DISCONNECT:
            # no disconnect message in 0.6: the session ends
            self._close_session(DisconnectReason.SERVER_NAMESPACE_DISCONNECT)
            return
        super().send_packet(packet, volatile)
