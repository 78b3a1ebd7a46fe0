"""``environ["socketio"]``: the object a channel app's view gets for its
connection, as gevent-socketio 0.2.1 gave one (``on_connect()``,
``connected()``, a blocking ``recv()``, ``send()``, ``broadcast()``,
``session.session_id``, ``handler.server.log``), on a hubbub connection.

hubbub's WSGIApp (views mode) calls the app once per connection with that
connection's environ, in a greenlet of its own; the app routes it to its
Socket.IO view (django-socketio's ``socketio`` view, webpy-socketio's
``socketio`` class), which finds this object through :func:`for_environ`
and loops on ``recv()`` until the connection ends. The connection's main
namespace is served by :class:`Feed`, which hands the object what the client
sends: each message, and ``["__subscribe__", channel]`` /
``["__unsubscribe__", channel]`` for the channel extension's events.

It needs a runtime that can block a view (gevent).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from typing import Any, cast

from hubbub.runtime.contract import Waiter
from hubbub.socketio.connection import Connection
from hubbub.socketio.namespace import Namespace
from hubbub.socketio.socket import Socket
from hubbub.socketio.views import ENVIRON_KEY as VIEW_KEY
from hubbub.socketio.views import ViewBinding

log = logging.getLogger("hubbub.channels")

ENVIRON_KEY = "socketio"
# where a connection keeps its protocol object (Connection.extra)
_EXTRA_KEY = "hubbub.channels"
#: the channel extension's events (for socket.io-client 0.9 and 4.x)
SUBSCRIBE = "__subscribe__"
UNSUBSCRIBE = "__unsubscribe__"


class _Session:
    __slots__ = ("session_id",)

    def __init__(self) -> None:
        self.session_id = ""


class MessageLog:
    """Where a view writes its message log lines (gevent's server log was
    stderr)."""

    def write(self, text: str) -> None:
        sys.stderr.write(text)
        sys.stderr.flush()


class _Server:
    __slots__ = ("log",)

    def __init__(self) -> None:
        self.log = MessageLog()


class _Handler:
    __slots__ = ("server",)

    def __init__(self) -> None:
        self.server = _Server()


_HANDLER = _Handler()
# how often a waiting view looks whether its connection ended unannounced
_CHECK_EVERY = 1.0


class SocketIOProtocol:
    """One connection, as a view reads and writes it."""

    def __init__(self, client: Connection, ready: Waiter) -> None:
        self._client = client
        self._ready = ready
        self._messages: list[Any] = []
        self._waiter: Waiter | None = None
        self._asked = False
        self._open = False
        self._over = False
        self.socket: Socket | None = None
        self.session = _Session()
        self.handler = _HANDLER

    def __repr__(self) -> str:
        return f"<SocketIOProtocol {self.session.session_id or '(connecting)'}>"

    # -- what the Feed namespace tells it -------------------------------------------

    def opened(self, socket: Socket) -> None:
        self.socket = socket
        self.session.session_id = socket.id
        self._open = True
        self._ready.resolve(True)

    def received(self, messages: Iterable[Any]) -> None:
        self._messages.extend(messages)
        self._wake()

    def closed(self) -> None:
        self._open = False
        self._over = True
        self._ready.resolve(False)
        self._wake()

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None:
            waiter.resolve(None)

    # -- gevent-socketio 0.2.1's API ----------------------------------------------------

    def on_connect(self) -> bool:
        """True once: for the connection's first call (after the client is
        connected to the main namespace); False after, or if it never was."""
        if self._asked:
            return False
        self._asked = True
        self._wait(self._ready)
        return self._open

    def connected(self) -> bool:
        return self._open

    def recv(self) -> list[Any]:
        """What the client sent since the last call (waits for it); ``[]``
        once the connection is over."""
        while not self._messages and not self._over:
            waiter = self._client.server.scheduler.need().waiter()
            self._waiter = waiter
            self._wait(waiter)
        messages, self._messages = self._messages, []
        return messages

    def _wait(self, waiter: Waiter) -> None:
        """Block the view until ``waiter`` is resolved, or the connection
        ended without its namespace telling (it closed before it connected)."""
        while not waiter.done:
            try:
                waiter.wait(_CHECK_EVERY)
            except TimeoutError:
                if self._client.closed and not self._over:
                    self.closed()

    def send(self, message: Any, destination: Any = None) -> None:
        """To this client (or to the session id ``destination``)."""
        if destination is not None and destination != self.session.session_id:
            self._socket().nsp.to(str(destination)).send(message)
            return
        self._socket().send(message)

    def broadcast(self, message: Any, exceptions: Any = None) -> None:
        """To every other client (but the session ids in ``exceptions``)."""
        op = self._socket().broadcast
        if exceptions:
            op = op.except_([str(e) for e in exceptions])
        op.send(message)

    # -- channels (hubbub's rooms) ----------------------------------------------------------

    def join(self, channel: str) -> None:
        self._socket().join(channel)

    def leave(self, channel: str) -> None:
        if self.socket is not None and self.socket.connected:
            self.socket.leave(channel)

    def to_channels(self, channels: list[str], message: Any) -> None:
        """To every other client in any of ``channels`` (once each)."""
        self._socket().to(channels).send(message)

    def finish(self) -> None:
        """The view is done with the connection: close it if it is open."""
        socket = self.socket
        if socket is not None and socket.connected:
            socket.disconnect(close=True)
        elif not self._over:
            self._client.disconnect()

    def _socket(self) -> Socket:
        socket = self.socket
        if socket is None:
            raise RuntimeError("the connection is not connected (yet)")
        return socket


class Feed(Namespace):
    """The main namespace of a channel app's connection: hands the
    connection's protocol object what the client sends."""

    receives_packets = True

    def initialize(self) -> None:
        client = cast(Connection, self._socket.client)
        self.protocol: SocketIOProtocol = client.extra[_EXTRA_KEY]

    def on_connect(self, auth: dict[str, Any]) -> None:
        self.protocol.opened(self._socket)

    def on_disconnect(self, reason: str) -> None:
        self.protocol.closed()

    def receive_packet(
        self, kind: str, event: str, args: list[Any], ack: Callable[..., None] | None
    ) -> None:
        if event == "message" and len(args) == 1:
            self.protocol.received(args)
        elif event in (SUBSCRIBE, UNSUBSCRIBE) and len(args) == 1 and isinstance(args[0], str):
            self.protocol.received([event, args[0]])
        else:
            log.info("%s: event %r is not part of the channel protocol; ignored", self.sid, event)
            return
        if ack is not None:
            ack()


def for_environ(environ: dict[str, Any], request: Any) -> Any:
    """``environ["socketio"]`` of a view's request: the object already there
    (gevent-socketio's, a test's stand-in), or the protocol object of the
    hubbub connection the view serves, bound to ``request``. None when the
    request is no Socket.IO connection."""
    existing = environ.get(ENVIRON_KEY)
    if existing is not None:
        return existing
    binding = environ.get(VIEW_KEY)
    if not isinstance(binding, ViewBinding):
        return None
    client = binding.client
    protocol = client.extra.get(_EXTRA_KEY)
    if protocol is None:
        ready = client.server.scheduler.need().waiter()
        protocol = client.extra[_EXTRA_KEY] = SocketIOProtocol(client, ready)
        environ[ENVIRON_KEY] = protocol
        binding.bind({"": Feed}, request)
    return protocol
