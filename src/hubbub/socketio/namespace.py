"""Class-based namespaces: one instance per connected client.

::

    class Chat(hubbub.Namespace):
        def on_connect(self, auth): ...
        def on_join(self, room: str):
            self.join(room)
        def on_message(self, room: str, text: str):
            self.to(room).emit("message", text)   # everyone in the room but me
            return "ok"                            # answers the client's ack

An event named ``"a b"`` is handled by ``on_a_b``. Arguments are checked
against the method's type hints; a mismatch answers the client with an
'error' event that names the argument, and the method is not called.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any, ClassVar, cast

from hubbub.socketio.broadcast import BroadcastOperator
from hubbub.socketio.server import Server
from hubbub.socketio.server_namespace import ServerNamespace
from hubbub.socketio.socket import Handshake, Socket


class Namespace:
    """Subclass it and register it: ``sio.register("/chat", Chat)``."""

    #: True in a subclass that takes every client event as
    #: ``receive_packet(kind, event, args, ack)`` instead of the on_* dispatch
    #: (hubbub.gevent_socketio.BaseNamespace does, for gevent-socketio's rules).
    receives_packets: ClassVar[bool] = False

    def __init__(self, socket: Socket) -> None:
        # the methods below use _socket, so a subclass may rebind ``socket``
        # (gevent-socketio's namespaces have a connection-level socket there)
        self._socket = socket
        self.socket = socket
        self.initialize()

    def initialize(self) -> None:
        """Set up per-client state here (called once per client)."""

    # -- hooks -------------------------------------------------------------------

    def on_connect(self, auth: dict[str, Any]) -> Any:
        """The client asks to join. Raise hubbub.ConnectionRefusedError (or
        return False) to refuse."""
        return None

    def on_disconnect(self, reason: str) -> Any:
        """The client left: a reason from Node's list ("client namespace
        disconnect", "transport close", "ping timeout", ...)."""
        return None

    def receive_packet(
        self, kind: str, event: str, args: list[Any], ack: Callable[..., None] | None
    ) -> Any:
        """Every client event, when the class sets ``receives_packets``:
        ``kind`` is "event", "message" or "json" (a 0.9 client's message and
        JSON packets; for newer clients, the event "message" with one str or
        other argument), or "error" for a 0.9 client's error packet (``args``
        is ``[reason, advice]``). ``ack`` answers the client, when it asked."""
        return None

    # -- who am I ------------------------------------------------------------------

    @property
    def sid(self) -> str:
        """This client's socket id in this namespace (also ``self.id``)."""
        return self._socket.id

    id = sid

    @property
    def server(self) -> Server:
        """The ``Server`` this namespace belongs to."""
        # a socket knows its server and namespace by what it needs of them;
        # a Namespace's are hubbub's own
        return cast(Server, self._socket.server)

    @property
    def namespace(self) -> ServerNamespace:
        """The server's namespace object (``sio.of(name)``): broadcast to the
        whole namespace through it."""
        return cast(ServerNamespace, self._socket.nsp)

    @property
    def handshake(self) -> Handshake:
        """What the client sent when it connected: headers, query, auth, address."""
        return self._socket.handshake

    @property
    def data(self) -> Any:
        """The app's own data for this client (Node's ``socket.data``), ``{}``
        unless set; ``fetch_sockets`` shows it across the cluster."""
        return self._socket.data

    @property
    def rooms(self) -> set[str]:
        """The rooms this client is in, its own room (its id) included."""
        return self._socket.rooms

    @property
    def recovered(self) -> bool:
        """True when the connection was restored by connection state recovery
        (same id, rooms and data; missed packets replayed)."""
        return self._socket.recovered

    @property
    def request(self) -> Any:
        """The request object a framework view passed to socketio_manage."""
        view = self._socket.client.view
        return view.request if view is not None else None

    @property
    def environ(self) -> dict[str, Any] | None:
        """The WSGI environ of the request that opened this connection
        (under WSGIApp), else None."""
        native = self._socket.client.request.native
        return native if isinstance(native, dict) else None

    # -- acting -----------------------------------------------------------------------

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Send ``event`` to this client; ``callback(*args)`` gets its ack."""
        self._socket.emit(event, *args, callback=callback)

    def send(self, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """``emit("message", *args)``, the event a 0.9 or 0.6 client's ``send`` gets."""
        self._socket.send(*args, callback=callback)

    def call(self, event: str, *args: Any, timeout: float | None = None) -> Any:
        """Emit ``event`` and wait for the client's ack: its value (a tuple for
        several, None for none). ``await`` it on asyncio; it blocks the handler's
        greenlet under gevent. Raises ``AckTimeoutError`` after ``timeout``
        seconds, ``DisconnectedError`` if the client leaves first."""
        return self._socket.call(event, *args, timeout=timeout)

    def join(self, *rooms: str | Iterable[str]) -> None:
        """Join rooms: each argument is a room name or an iterable of names."""
        self._socket.join(*rooms)

    def leave(self, room: str) -> None:
        """Leave ``room``."""
        self._socket.leave(room)

    def to(self, *rooms: str | Iterable[str]) -> BroadcastOperator:
        """Everyone in these rooms but me."""
        return self._socket.to(*rooms)

    in_ = to

    def except_(self, *rooms: str | Iterable[str]) -> BroadcastOperator:
        """Everyone in the namespace but me and the sockets in these rooms."""
        return self._socket.except_(*rooms)

    @property
    def broadcast(self) -> BroadcastOperator:
        """Everyone in this namespace but me."""
        return self._socket.broadcast

    def disconnect(self, close: bool = False) -> None:
        """Disconnect this client from the namespace (``on_disconnect`` gets
        "server namespace disconnect"); ``close=True`` closes the whole
        connection, every namespace of it."""
        self._socket.disconnect(close)
