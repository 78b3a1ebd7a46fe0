"""gevent-socketio's virtual socket (``socketio.virtsocket``): one per
connection, shared by the connection's namespaces.

It keeps what gevent-socketio apps touch: the ``session`` dict, ``sessid``,
``socket['/chat']`` (this connection's namespace instances), the error
handler, ``send_packet()`` for packet dicts, ``spawn``, ``kill`` and
``disconnect``. The connection itself is hubbub's: ``send_packet``
translates each packet into a call on the namespace's hubbub
:class:`~hubbub.socketio.socket.Socket`, so the same code reaches 0.9 and 4.x
clients, and heartbeats, transports and acks are hubbub's business.

As in gevent-socketio, one connection's packets are handled one at a time,
in order, by a receiver greenlet; other connections are not held up.
"""

from __future__ import annotations

import logging
import secrets
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, Protocol, cast

from hubbub import jsonmod
from hubbub.gevent_socketio.defaultjson import default_json_dumps, default_json_loads
from hubbub.gevent_socketio.packet import decode
from hubbub.runtime.gevent.greenlets import Greenlet, GreenletExit, Queue, kill_jobs, spawn
from hubbub.types import DisconnectReason

if TYPE_CHECKING:
    from hubbub.socketio.connection import Connection
    from hubbub.socketio.server import Server
    from hubbub.socketio.socket import Socket as HubbubSocket

__all__ = ["Socket", "default_error_handler", "socket_for"]

log = logging.getLogger("hubbub.gevent_socketio")

#: where a connection's virtual socket lives in ``Connection.extra``
EXTRA_KEY = "gevent_socketio.socket"

ErrorHandler = Callable[["Socket", str, str, "str | None", "int | None", bool], Any]


def default_error_handler(
    socket: Socket,
    error_name: str,
    error_message: str,
    endpoint: str | None,
    msg_id: int | None,
    quiet: bool,
) -> None:
    """Send the client an 'error' event ``[error_name, error_message]`` on
    ``endpoint`` (unless ``quiet``), and log it. Pass another function with
    this signature as socketio_manage's ``error_handler`` to change that."""
    if not quiet:
        socket.send_packet(
            {
                "type": "event",
                "name": "error",
                "args": [error_name, error_message],
                "endpoint": endpoint or "",
            }
        )
    log.error(
        "default_error_handler: %s, %s (endpoint=%s, msg_id=%s)",
        error_name,
        error_message,
        endpoint,
        msg_id,
    )


# -- the server's sockets ----------------------------------------------------------------

# sessid -> virtual socket, per hubbub Server; weak so that a connection that
# ended without saying so (a refused connect) leaves nothing behind
_registries: weakref.WeakKeyDictionary[Server, weakref.WeakValueDictionary[str, Socket]] = (
    weakref.WeakKeyDictionary()
)
# the SocketIOServer serving a hubbub Server, when there is one
_socketio_servers: weakref.WeakKeyDictionary[Server, Any] = weakref.WeakKeyDictionary()


def sockets_of(server: Server) -> weakref.WeakValueDictionary[str, Socket]:
    """This process's virtual sockets on ``server``, by sessid (gevent-socketio's
    ``server.sockets``)."""
    registry = _registries.get(server)
    if registry is None:
        registry = _registries[server] = weakref.WeakValueDictionary()
    return registry


class ServerView:
    """``socket.server`` when no SocketIOServer runs the hubbub Server (the
    gunicorn worker, the paste runner, ``hubbub run``): the part of
    gevent-socketio's server that apps read."""

    def __init__(self, server: Server) -> None:
        self.hubbub = server

    @property
    def sockets(self) -> Mapping[str, Socket]:
        return sockets_of(self.hubbub)

    def get_socket(self, sessid: str = "") -> Socket | None:
        return sockets_of(self.hubbub).get(sessid)

    @property
    def config(self) -> dict[str, float]:
        return _config_of(self.hubbub)


def _config_of(server: Server) -> dict[str, float]:
    opts = server.engine.options
    return {
        "heartbeat_interval": opts.ping_interval,
        "heartbeat_timeout": opts.ping_interval + opts.ping_timeout,
        "close_timeout": server.close_timeout,
    }


class ActiveNamespace(Protocol):
    """A namespace instance of this connection (a BaseNamespace), as the
    virtual socket ends it."""

    _ended: bool

    def recv_disconnect(self) -> Any: ...


def _server_of(client: Connection) -> Server:
    # a connection knows its server by what it needs of it; under this API
    # the server is always a hubbub.Server
    return cast("Server", client.server)


def socket_for(client: Connection) -> Socket:
    """The virtual socket of a hubbub connection (made on first use)."""
    socket = client.extra.get(EXTRA_KEY)
    if socket is None:
        socket = client.extra[EXTRA_KEY] = Socket(client=client)
    assert isinstance(socket, Socket)
    return socket


# JSON values hubbub encodes as they are (bytes too: binary for 4.x clients)
_PLAIN = (str, int, float, bool, type(None), bytes)


def _is_plain(value: Any) -> bool:
    if isinstance(value, _PLAIN):
        return True
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False


class Socket:
    """One connection's state, as gevent-socketio's namespaces see it."""

    STATE_CONNECTING = "CONNECTING"
    STATE_CONNECTED = "CONNECTED"
    STATE_DISCONNECTING = "DISCONNECTING"
    STATE_DISCONNECTED = "DISCONNECTED"

    GLOBAL_NS = ""
    """The global namespace's endpoint (``""``, hubbub's ``"/"``)."""

    json_loads: Callable[[str], Any] = staticmethod(default_json_loads)
    json_dumps: Callable[[Any], str] = staticmethod(default_json_dumps)

    def __init__(
        self,
        server: Any = None,
        config: Mapping[str, Any] | None = None,
        error_handler: ErrorHandler | None = None,
        *,
        client: Connection | None = None,
    ) -> None:
        """hubbub makes one per connection (``client``). ``Socket(server,
        config)`` without a client, gevent-socketio's form, makes a detached
        socket for an application's own tests: it sends nothing."""
        self.client = client
        self._server = server
        self._config = dict(config) if config is not None else None
        if client is not None and client.protocol == 1:
            # a 0.9 client's session id, which hubbub also uses as its socket
            # id (and room) in every namespace, as gevent-socketio's sessid
            self.sessid: str = client.session.sid
        else:
            # never the Engine.IO sid: knowing that lets anyone post packets
            # into a polling session, and apps pass sessids around
            self.sessid = secrets.token_urlsafe(15)
        self.session: dict[str, Any] = {}
        self.namespaces: Mapping[str, type] = {}
        self.active_ns: dict[str, ActiveNamespace] = {}
        self.request: Any = None
        native = client.request.native if client is not None else None
        self.environ: dict[str, Any] = dict(native) if isinstance(native, dict) else {}
        self.environ["socketio"] = self
        self.error_handler: ErrorHandler = error_handler or default_error_handler
        self.jobs: list[Greenlet] = []
        self.ack_callbacks: dict[int, Callable[..., Any]] = {}
        self.ack_counter = 0
        self.state = self.STATE_CONNECTED
        # endpoint -> hubbub socket, from the moment a namespace instance is
        # built, so what it sends while connecting (initialize, recv_connect) goes out
        self._hub: dict[str, HubbubSocket] = {}
        # ids shown to handlers as packet["id"] -> the ack still to answer
        self._answers: dict[int, Callable[..., None]] = {}
        self._answer_ids = 0
        self._queue: Queue | None = None
        self._closed = False
        if client is not None:
            sockets_of(_server_of(client))[self.sessid] = self

    def __repr__(self) -> str:
        return f"<virtsocket sessid={self.sessid} {self.state.lower()}>"

    # -- the server, namespaces, state ---------------------------------------------------------

    @property
    def server(self) -> Any:
        """The SocketIOServer (or a view of the hubbub server with the same
        ``sockets`` mapping)."""
        if self._server is not None or self.client is None:
            return self._server
        hub = _server_of(self.client)
        return _socketio_servers.get(hub) or ServerView(hub)

    @property
    def config(self) -> dict[str, Any]:
        """The server's configuration, as gevent-socketio's ``socket.config``."""
        if self._config is not None or self.client is None:
            return self._config or {}
        return _config_of(_server_of(self.client))

    def __getitem__(self, key: str) -> ActiveNamespace:
        """``socket['/chat']``: this connection's namespace instance."""
        return self.active_ns[key]

    def __contains__(self, key: object) -> bool:
        return key in self.active_ns

    def __iter__(self) -> Iterator[str]:
        return iter(self.active_ns)

    @property
    def connected(self) -> bool:
        """Whether the connection is still open."""
        if self.client is not None and self.client.closed:
            return False
        return self.state == self.STATE_CONNECTED

    # -- acks the server asks for --------------------------------------------------------------

    def _get_next_msgid(self) -> int:
        self.ack_counter += 1
        return self.ack_counter

    def _save_ack_callback(self, msgid: int, callback: Callable[..., Any]) -> bool:
        if msgid in self.ack_callbacks:
            return False
        self.ack_callbacks[msgid] = callback
        return True

    def _pop_ack_callback(self, msgid: int) -> Callable[..., Any] | None:
        return self.ack_callbacks.pop(msgid, None)

    # -- acks the client asks for --------------------------------------------------------------

    def _expect_answer(self, ack: Callable[..., None]) -> int:
        """An id for a packet whose sender waits for an answer: the handler
        returns it, or sends ``{"type": "ack", "ackId": id, "args": [...]}``."""
        self._answer_ids += 1
        self._answers[self._answer_ids] = ack
        return self._answer_ids

    def _answer(self, msg_id: Any, args: Iterable[Any]) -> bool:
        ack = self._answers.pop(msg_id, None) if isinstance(msg_id, int) else None
        if ack is None:
            return False
        ack(*self._outgoing(args))
        return True

    def _forget_answer(self, msg_id: int) -> None:
        self._answers.pop(msg_id, None)

    # -- errors -----------------------------------------------------------------------------------

    def error(
        self,
        error_name: str,
        error_message: str,
        endpoint: str | None = None,
        msg_id: int | None = None,
        quiet: bool = False,
    ) -> Any:
        """Report an error through the connection's error handler."""
        return self.error_handler(self, error_name, error_message, endpoint, msg_id, quiet)

    # -- sending ----------------------------------------------------------------------------------

    def _hub_socket(self, endpoint: str) -> HubbubSocket | None:
        hub = self._hub.get(endpoint)
        if hub is None and self.client is not None:
            hub = self.client.sockets.get(endpoint or "/")
        return hub

    def _outgoing(self, args: Iterable[Any]) -> list[Any]:
        """Values as the connection's json_dumps writes them: a Decimal
        becomes a number, as gevent-socketio's default encoder made it, and
        a custom ``json_dumps`` decides for every value."""
        values = list(args)
        if self.json_dumps is not default_json_dumps or not _is_plain(values):
            values = jsonmod.loads(self.json_dumps(values))
        return values

    def _incoming(self, args: list[Any]) -> list[Any]:
        """Values as a custom ``json_loads`` would have read them."""
        if self.json_loads is default_json_loads:
            return args
        loaded = self.json_loads(jsonmod.dumps(args))
        return list(loaded) if isinstance(loaded, (list, tuple)) else args

    def send_packet(self, pkt: Mapping[str, Any]) -> None:
        """Send a gevent-socketio packet dict through hubbub."""
        ptype = pkt.get("type")
        endpoint = pkt.get("endpoint") or ""
        if ptype == "ack":  # the answer to a client's packet["id"]
            if not self._answer(pkt.get("ackId"), pkt.get("args") or ()):
                log.debug("%s: ack %r answers nothing pending", self, pkt.get("ackId"))
            return
        if ptype in ("connect", "heartbeat", "noop"):
            return  # hubbub confirms namespaces and keeps the connection alive itself
        if self.client is None:
            log.debug("%s: detached; not sent: %r", self, pkt)
            return
        hub = self._hub_socket(endpoint)
        if hub is None:
            log.debug("%s: not connected to %r; not sent: %r", self, endpoint, ptype)
            return
        callback = None
        if pkt.get("id") is not None:
            callback = self._pop_ack_callback(pkt["id"])
        if ptype == "event":
            hub.emit(pkt["name"], *self._outgoing(pkt.get("args") or ()), callback=callback)
        elif ptype in ("message", "json"):
            data = pkt.get("data")
            if ptype == "message" and not isinstance(data, str):
                data = "" if data is None else str(data)
            hub.send(*self._outgoing([data]), callback=callback)
        elif ptype == "disconnect":
            # the global namespace stands for the whole connection
            hub.disconnect(close=endpoint == "")
        elif ptype == "error":
            # hubbub's one error a client gets on a namespace is a refused
            # connect (0.9: "7::/chat:2", which the client calls 'connect_failed')
            self.client.connect_error(hub.nsp.name, str(pkt.get("reason") or "unauthorized"))
            hub.closed("server namespace disconnect")
        else:
            raise ValueError(f"unknown packet type {ptype!r}")

    def put_client_msg(self, msg: str | bytes) -> None:
        """An encoded 0.9 packet for the client (decoded, then sent as
        :meth:`send_packet` would)."""
        self.send_packet(decode(msg, self.json_loads))

    # -- greenlets -------------------------------------------------------------------------------

    def spawn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Greenlet:
        """A greenlet killed when the connection ends."""
        job = spawn(fn, *args, **kwargs)
        self.jobs.append(job)
        return job

    def _enqueue(self, fn: Callable[..., Any], *args: Any, must_run: bool = False) -> None:
        """Run ``fn(*args)`` in the receiver greenlet, after what came before.
        A ``must_run`` step still runs if the connection closes first."""
        if self._closed:
            if must_run:
                fn(*args)
            return
        queue = self._queue
        if queue is None:
            queue = self._queue = Queue()
            self.spawn(self._receiver_loop, queue)
        queue.put((fn, args, must_run))

    def _receiver_loop(self, queue: Queue) -> None:
        while True:
            fn, args, _ = queue.get()
            try:
                fn(*args)
            except Exception:
                log.exception("%s: handler raised", self)

    # -- ending --------------------------------------------------------------------------------

    def remove_namespace(self, namespace: str) -> None:
        """Forget a namespace instance; hubbub forgets the client's place in
        it too, without telling the client."""
        self.active_ns.pop(namespace, None)
        hub = self._hub.pop(namespace, None)
        if hub is not None and hub.connected:
            hub.closed("server namespace disconnect")

    def disconnect(self, silent: bool = False) -> None:
        """Call every active namespace's recv_disconnect, then close the
        connection (``silent``: without telling the client first)."""
        ended_here = False
        for ns in list(self.active_ns.values()):
            if not ns._ended:
                ns._ended = True
                try:
                    ns.recv_disconnect()
                except GreenletExit:
                    # called from a job of that namespace, which its end
                    # kills: finish the others first
                    ended_here = True
        if self.client is not None and not self.client.closed:
            if silent:
                client = self.client
                client.session.close(
                    DisconnectReason.FORCED_SERVER_CLOSE, client.server.scheduler.clock()
                )
            else:
                self.client.disconnect()
        if ended_here:
            raise GreenletExit

    def kill(self, detach: bool = False) -> None:
        """Shut the connection down: every namespace is told
        (recv_disconnect) and this socket's greenlets are killed."""
        self.ack_callbacks = {}
        if self.connected:
            self.state = self.STATE_DISCONNECTING
            if self.client is not None:
                self.client.disconnect()
            else:
                self.disconnect()
        if detach:
            self.detach()
        self._kill_jobs()

    def detach(self) -> None:
        """Leave the server's ``sockets``."""
        if self.client is not None:
            registry = sockets_of(_server_of(self.client))
            if registry.get(self.sessid) is self:
                del registry[self.sessid]

    def _kill_jobs(self) -> None:
        jobs, self.jobs = self.jobs, []
        kill_jobs(jobs)

    def _connection_closed(self) -> None:
        """The connection is gone: stop the receiver (running the
        recv_disconnects still queued) and every greenlet of this socket."""
        if self._closed:
            return
        self._closed = True
        self.state = self.STATE_DISCONNECTED
        self.ack_callbacks = {}
        self._answers.clear()
        left: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        queue = self._queue
        while queue is not None and not queue.empty():
            fn, args, must_run = queue.get_nowait()
            if must_run:
                left.append((fn, args))
        self.detach()
        try:
            self._kill_jobs()
        finally:
            for fn, args in left:
                try:
                    fn(*args)
                except Exception:
                    log.exception("%s: recv_disconnect raised", self)
