"""gevent-socketio's ``BaseNamespace`` (``socketio.namespace``) on hubbub.

::

    class ChatNamespace(BaseNamespace, RoomsMixin, BroadcastMixin):
        def initialize(self):              # called once per class in the MRO
            self.nick = None

        def get_initial_acl(self):
            return ["recv_connect", "on_login"]

        def on_login(self, nick):          # the event 'login'
            self.nick = nick
            self.lift_acl_restrictions()
            return True                    # answers the client's ack

        def on_chat(self, packet):         # one parameter named packet: the dict
            self.emit_to_room("lobby", "chat", self.nick, packet["args"][0])

A client event named ``"user message"`` is handled by ``on_user_message``
(names must match ``[A-Za-z][A-Za-z0-9_ ]*``); 0.9 ``send()`` messages reach
``recv_message``, ``json.send()`` ones ``recv_json``. Everything a namespace
sends goes through hubbub's Socket of its namespace, so 0.9 and 4.x clients
are served alike and broadcasts cross the cluster.

On a BaseNamespace, ``on_connect``, ``on_disconnect``, ``on_any`` and
``on_any_outgoing`` are handlers of the events so named, as in
gevent-socketio; the hooks hubbub calls by those names are kept apart.
"""

from __future__ import annotations

import inspect
import logging
import re
import types
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar, cast
from urllib.parse import urlencode

from hubbub.errors import ConnectionRefusedError
from hubbub.gevent_socketio import virtsocket
from hubbub.runtime.gevent.greenlets import Greenlet, kill_jobs, spawn
from hubbub.socketio.connection import Connection
from hubbub.socketio.namespace import Namespace
from hubbub.socketio.socket import Socket as HubbubSocket

if TYPE_CHECKING:
    from collections.abc import Iterable

__all__ = ["BaseNamespace", "allowed_event_name_regex"]

log = logging.getLogger("hubbub.gevent_socketio")

#: gevent-socketio's rule for event names (the method is ``on_`` + the name,
#: spaces made underscores)
allowed_event_name_regex = re.compile(r"[A-Za-z][A-Za-z0-9_ ]*")

# names hubbub calls as hooks on a Namespace instance, which on a
# BaseNamespace are handlers of the client events so named
_HOOK_NAMES = ("on_connect", "on_disconnect", "on_any", "on_any_outgoing")


class _NamespaceType(type):
    """hubbub builds a namespace instance as ``cls(socket)``; gevent-socketio
    as ``cls(environ, ns_name, request=request)``, and apps override
    ``__init__`` with that signature. This metaclass turns the first call
    into the second."""

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and not kwargs and isinstance(args[0], HubbubSocket):
            return cls._for_hubbub_socket(args[0])  # type: ignore[attr-defined]
        return super().__call__(*args, **kwargs)


class BaseNamespace(Namespace, metaclass=_NamespaceType):
    """One instance per client per namespace, as in gevent-socketio."""

    receives_packets: ClassVar[bool] = True

    # gevent-socketio's attributes; ``socket`` is the connection's virtual
    # socket (hubbub's own Socket of this namespace is ``_socket``)
    socket: virtsocket.Socket  # type: ignore[assignment]
    environ: dict[str, Any] = None  # type: ignore[assignment]
    request: Any = None
    session: dict[str, Any]
    ns_name: str
    allowed_methods: set[str] | list[str] | None
    jobs: list[Greenlet]
    _ended: bool = False  # recv_disconnect was called, or disconnect()

    # the relocated handlers of events named as hubbub's hooks, per class
    _gs_events: ClassVar[dict[str, Callable[..., Any]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        table: dict[str, Callable[..., Any]] = {}
        for klass in reversed(cls.__mro__[1:]):
            table.update(klass.__dict__.get("_gs_events", {}))
        for name in _HOOK_NAMES:
            placeholder = BaseNamespace.__dict__.get(name)
            owners = (k for k in cls.__mro__ if k not in (BaseNamespace, Namespace))
            owner = next((k for k in owners if name in k.__dict__), None)
            if owner is None or owner.__dict__[name] is placeholder:
                continue  # nothing of the app's, or relocated in a base already
            found = owner.__dict__[name]
            # an app's handler of the event `name`: keep it for dispatch, and
            # put hubbub's hook (or nothing) back where hubbub looks
            table[name] = found
            setattr(cls, name, placeholder)
        cls._gs_events = table

    @classmethod
    def _for_hubbub_socket(cls, hub: HubbubSocket) -> BaseNamespace:
        virt = virtsocket.socket_for(cast("Connection", hub.client))
        ns_name = "" if hub.nsp.name == "/" else hub.nsp.name
        virt._hub[ns_name] = hub
        instance = cls.__new__(cls)
        instance._socket = hub
        try:
            instance.__init__(virt.environ, ns_name, request=virt.request)  # type: ignore[misc]
            instance._initialize_mro()
        except BaseException:
            virt._hub.pop(ns_name, None)
            raise
        virt.active_ns[ns_name] = instance
        return instance

    def __init__(self, environ: dict[str, Any], ns_name: str, request: Any = None) -> None:
        self.environ = environ
        self.socket = environ["socketio"]
        self.session = self.socket.session
        self.request = request
        self.ns_name = ns_name
        #: the ACL: None allows every method; a list or set allows those
        self.allowed_methods = None
        self.jobs = []
        self.reset_acl()
        # not hubbub.Namespace.__init__ (it takes the socket and calls
        # initialize): the classes after it in the MRO, the mixins, as
        # gevent-socketio's super().__init__() reached them
        super(Namespace, self).__init__()

    def _initialize_mro(self) -> None:
        """gevent-socketio calls ``initialize`` on every class of the MRO
        that has one, so mixins need no super() call; each distinct
        function runs once, most derived first."""
        done: set[Any] = set()
        for klass in type(self).__mro__:
            fn = getattr(klass, "initialize", None)
            if fn is None or fn in done:
                continue
            done.add(fn)
            fn(self)

    def initialize(self) -> None:
        """Per-client setup; called after ``__init__``, on every class of the MRO."""

    # -- ACLs -------------------------------------------------------------------------------

    def is_method_allowed(self, method_name: str) -> bool:
        """Whether the ACL lets a client reach ``method_name`` (always, without
        restrictions)."""
        if self.allowed_methods is None:
            return True
        return method_name in self.allowed_methods

    def add_acl_method(self, method_name: str) -> None:
        """Allow ``method_name``. On a namespace without restrictions, this
        starts them: only the methods added are allowed from then on."""
        if isinstance(self.allowed_methods, set):
            self.allowed_methods.add(method_name)
        elif self.allowed_methods is None:
            self.allowed_methods = {method_name}
        else:  # a list from get_initial_acl: keep what it allowed
            self.allowed_methods = {*self.allowed_methods, method_name}

    def del_acl_method(self, method_name: str) -> None:
        """Forbid ``method_name`` again; ValueError on a namespace without
        restrictions."""
        if self.allowed_methods is None:
            raise ValueError(
                "Trying to delete an ACL method, but none were"
                " defined yet! Or: No ACL restrictions yet, why would you"
                " delete one?"
            )
        self.allowed_methods.remove(method_name)

    def lift_acl_restrictions(self) -> None:
        """Allow every method from now on."""
        self.allowed_methods = None

    def get_initial_acl(self) -> Iterable[str] | None:
        """The methods a client may reach at first (``recv_connect``,
        ``on_*``...); None for all of them."""
        return None

    def reset_acl(self) -> None:
        """Back to the methods ``get_initial_acl`` allows."""
        initial = self.get_initial_acl()
        # a copy: add/del must not change a list or set the class shares
        if initial is None:
            self.allowed_methods = None
        else:
            self.allowed_methods = list(initial) if isinstance(initial, list) else set(initial)

    # -- incoming ---------------------------------------------------------------------------

    def receive_packet(
        self, kind: str, event: str, args: list[Any], ack: Callable[..., None] | None
    ) -> None:
        """hubbub's door: a client event becomes gevent-socketio's packet
        dict, handled in order with the connection's other packets."""
        socket = self.socket
        args = socket._incoming(args)
        pkt: dict[str, Any] = {"endpoint": self.ns_name}
        if kind == "event":
            pkt.update(type="event", name=event, args=args)
        elif kind in ("message", "json"):
            pkt.update(type=kind, data=args[0] if args else None)
        elif kind == "error":
            pkt.update(
                type="error",
                reason=args[0] if args else "",
                advice=args[1] if len(args) > 1 else "",
            )
        else:
            log.info("%s: unknown packet kind %r", self, kind)
            return
        if ack is not None:
            pkt["ack"] = "data"
            pkt["id"] = socket._expect_answer(ack)
        socket._enqueue(self._handle_packet, pkt)

    def _handle_packet(self, pkt: dict[str, Any]) -> None:
        msg_id = pkt.get("id")
        try:
            retval = self.process_packet(pkt)
        except BaseException:
            if msg_id is not None:
                self.socket._forget_answer(msg_id)
            raise
        if msg_id is not None:
            # the return value answers the client (a tuple: several values)
            self.socket._answer(msg_id, list(retval) if isinstance(retval, tuple) else [retval])

    def process_packet(self, packet: dict[str, Any]) -> Any:
        """Dispatch one packet dict; override to take over everything."""
        packet_type = packet["type"]
        if packet_type == "event":
            return self.process_event(packet)
        if packet_type == "message":
            return self.call_method_with_acl("recv_message", packet, packet["data"])
        if packet_type == "json":
            return self.call_method_with_acl("recv_json", packet, packet["data"])
        if packet_type == "connect":
            self.socket.send_packet(packet)
            return self.call_method_with_acl("recv_connect", packet)
        if packet_type == "error":
            return self.call_method_with_acl("recv_error", packet)
        if packet_type == "ack":
            callback = self.socket._pop_ack_callback(packet["ackId"])
            if not callback:
                log.info("%s: no callback for ack %s", self, packet["ackId"])
                return None
            return callback(*packet["args"])
        if packet_type == "disconnect":
            return self.call_method_with_acl("recv_disconnect", packet)
        log.info("%s: unprocessed packet %r", self, packet)
        return None

    def process_event(self, packet: dict[str, Any]) -> Any:
        """Call ``on_<name>`` (spaces made underscores) with the event's
        arguments; its return value answers the client's ack."""
        args = packet["args"]
        name = packet["name"]
        if not isinstance(name, str) or not allowed_event_name_regex.fullmatch(name):
            self.error("unallowed_event_name", "name must only contains alpha numerical characters")
            return None
        method_name = "on_" + name.replace(" ", "_")
        return self.call_method_with_acl(method_name, packet, *args)

    def call_method_with_acl(self, method_name: str, packet: dict[str, Any], *args: Any) -> Any:
        """Call ``method_name`` if the ACL allows it; otherwise send the client the
        "method_access_denied" error."""
        if not self.is_method_allowed(method_name):
            self.error("method_access_denied", f'You do not have access to method "{method_name}"')
            return None
        return self.call_method(method_name, packet, *args)

    def call_method(self, method_name: str, packet: dict[str, Any], *args: Any) -> Any:
        """Call a handler: with the packet dict when its one parameter
        (after self) is named ``packet``, else with ``*args``; through
        ``exception_handler_decorator`` when the class defines one."""
        method = self._method(method_name)
        if method is None:
            self.error("no_such_method", f'The method "{method_name}" was not found')
            return None
        params = _positional_params(method)
        if params is not None and (not params or params[0] != "self"):
            self.error(
                "invalid_method_args",
                "The server-side method is invalid, as it doesn't "
                "have 'self' as its first argument",
            )
            return None
        decorator = getattr(self, "exception_handler_decorator", None)
        if decorator is not None:
            method = decorator(method)
        if params is not None and len(params) == 2 and params[1] == "packet":
            return method(packet)
        return method(*args)

    def _method(self, method_name: str) -> Callable[..., Any] | None:
        if method_name in _HOOK_NAMES:
            fn = type(self)._gs_events.get(method_name)
            return fn.__get__(self, type(self)) if fn is not None else None
        method = getattr(self, method_name, None)
        return method if callable(method) else None

    # -- gevent-socketio's hooks --------------------------------------------------------------

    def recv_message(self, data: Any) -> Any:
        """A 0.9 ``send()`` message (for newer clients: the event "message"
        with one string). Its return value answers the client's ack."""
        return data

    def recv_json(self, data: Any) -> Any:
        """A 0.9 ``json.send()`` message (newer clients: the event "message"
        with one non-string value)."""
        return data

    def recv_disconnect(self) -> None:
        """The client left this namespace or the connection ended; the
        default forgets the namespace and kills its jobs."""
        self.disconnect(silent=True)

    def recv_connect(self) -> None:
        """A client joined this namespace (never called for the global one,
        which a 0.9 client joins without a connect packet)."""

    def recv_error(self, packet: dict[str, Any]) -> None:
        """A 0.9 client's error packet (``packet["reason"]``, ``["advice"]``)."""

    # -- hubbub's hooks -------------------------------------------------------------------------

    def on_connect(self, auth: dict[str, Any]) -> Any:
        return self._hubbub_connect(auth)

    def on_disconnect(self, reason: str) -> Any:
        return self._hubbub_disconnect(reason)

    def _hubbub_connect(self, auth: dict[str, Any]) -> None:
        if self.ns_name == "":
            return  # gevent-socketio never saw a connect packet for ""
        query = self._socket.handshake.query
        qs = "?" + urlencode(query) if query else ""
        pkt = {"type": "connect", "endpoint": self.ns_name, "qs": qs}
        try:
            self.process_packet(pkt)
        except BaseException:
            self._end()
            raise

    def _hubbub_disconnect(self, reason: str) -> None:
        socket = self.socket
        client = self._socket.client
        if reason == "client namespace disconnect" and not client.closed:
            # the client's disconnect packet, after what it sent before
            socket._enqueue(self._client_left, must_run=True)
        else:
            self._connection_lost()
        if client.closed:
            socket._connection_closed()

    def _client_left(self) -> None:
        if self._ended:
            return
        self._ended = True
        try:
            self.process_packet({"type": "disconnect", "endpoint": self.ns_name})
        finally:
            self._end()

    def _connection_lost(self) -> None:
        if self._ended:
            self._end()
            return
        self._ended = True
        try:
            self.recv_disconnect()
        finally:
            self._end()

    def _end(self) -> None:
        socket = self.socket
        if socket.active_ns.get(self.ns_name) is self:
            socket.remove_namespace(self.ns_name)
        elif socket._hub.get(self.ns_name) is self._socket:
            del socket._hub[self.ns_name]
        self.kill_local_jobs()

    # -- sending ----------------------------------------------------------------------------------

    def error(
        self, error_name: str, error_message: str, msg_id: int | None = None, quiet: bool = False
    ) -> None:
        """Report an error through the connection's error handler (by
        default an 'error' event ``[error_name, error_message]``)."""
        self.socket.error(
            error_name, error_message, endpoint=self.ns_name, msg_id=msg_id, quiet=quiet
        )

    def send(  # type: ignore[override]
        self, message: Any, json: bool = False, callback: Callable[..., Any] | None = None
    ) -> None:
        """A 0.9 message (``json=True``: a JSON message); for newer clients
        the event "message". ``callback()`` runs when the client acknowledges."""
        pkt = {"type": "json" if json else "message", "data": message, "endpoint": self.ns_name}
        self._send_packet(pkt, callback, True)

    def emit(self, event: str, *args: Any, **kwargs: Any) -> None:
        """Send the event to this client; ``callback=fn`` gets the client's
        ack arguments."""
        callback = kwargs.pop("callback", None)
        if kwargs:
            raise ValueError(
                "emit() only supports positional argument, to stay "
                "compatible with the Socket.IO protocol. You can "
                "however pass in a dictionary as the first argument"
            )
        # the args tuple itself, as gevent-socketio put it in the packet: apps'
        # tests that mock send_packet compare against ``'args': (...,)``
        pkt = {"type": "event", "name": event, "args": args, "endpoint": self.ns_name}
        self._send_packet(pkt, callback, "data")

    def _send_packet(
        self, pkt: dict[str, Any], callback: Callable[..., Any] | None, ack: bool | str
    ) -> None:
        """Send ``pkt``; ``callback`` gets the client's ack (``ack``: True
        for a plain id, "data" for one answered with values)."""
        socket = self.socket
        if callback:
            pkt["ack"] = ack
            pkt["id"] = msgid = socket._get_next_msgid()
            socket._save_ack_callback(msgid, callback)
        socket.send_packet(pkt)

    # -- rooms (RoomsMixin's, here so that the mixin's place in the bases does not matter) ------

    def _get_room_name(self, room: str) -> str:
        return self.ns_name + "_" + room

    def join(self, room: str) -> None:  # type: ignore[override]
        """Join a room of this namespace (cluster-wide, a hubbub room)."""
        self.session.setdefault("rooms", set()).add(self._get_room_name(room))
        self._socket.join(room)

    def leave(self, room: str) -> None:
        """Leave a room (KeyError if not in it, as in gevent-socketio)."""
        self.session.setdefault("rooms", set()).remove(self._get_room_name(room))
        self._socket.leave(room)

    # -- greenlets and ending ------------------------------------------------------------------

    def spawn(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Greenlet:
        """A greenlet killed when this namespace ends."""
        decorator = getattr(self, "exception_handler_decorator", None)
        if decorator is not None:
            fn = decorator(fn)
        job = spawn(fn, *args, **kwargs)
        self.jobs.append(job)
        return job

    def disconnect(self, silent: bool = False) -> None:
        """Leave this namespace: the client is told (unless ``silent``), and
        the namespace's jobs are killed. On the global namespace this ends
        the connection."""
        self._ended = True
        if not silent:
            self.socket.send_packet({"type": "disconnect", "endpoint": self.ns_name})
        try:
            self.socket.remove_namespace(self.ns_name)
        finally:
            self.kill_local_jobs()

    def kill_local_jobs(self) -> None:
        """Kill the greenlets of :meth:`spawn` (a job that calls this ends too)."""
        jobs, self.jobs = self.jobs, []
        kill_jobs(jobs)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.ns_name or '(global)'}>"


class _Settable:
    """A value hubbub.Namespace offers as a read-only property, which a
    gevent-socketio namespace may assign over (``self.rooms = set()`` in
    initialize): a non-data descriptor, so the instance's own value wins."""

    def __init__(self, getter: Callable[[Any], Any]) -> None:
        self.getter = getter

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        return self if obj is None else self.getter(obj)


for _name, _value in list(vars(Namespace).items()):
    if isinstance(_value, property) and _value.fget and _name not in vars(BaseNamespace):
        setattr(BaseNamespace, _name, _Settable(_value.fget))


# function -> its _positional_params: getfullargspec (~9 us) costs more than
# the rest of an event's dispatch
_params_of: weakref.WeakKeyDictionary[Callable[..., Any], tuple[str, ...] | None] = (
    weakref.WeakKeyDictionary()
)


def _positional_params(method: Callable[..., Any]) -> tuple[str, ...] | None:
    """The positional parameter names, ``self`` included for a bound method,
    as gevent-socketio's ``getargspec`` read them; None when there is
    nothing to check (no signature, or ``*args`` only)."""
    fn = getattr(method, "__func__", method)
    if not isinstance(fn, types.FunctionType):
        return _read_params(method)
    try:
        return _params_of[fn]
    except KeyError:
        # a bound method's spec is its function's (getfullargspec keeps self)
        params = _params_of[fn] = _read_params(fn)
        return params


def _read_params(method: Callable[..., Any]) -> tuple[str, ...] | None:
    try:
        spec = inspect.getfullargspec(method)
    except TypeError:
        return None
    if not spec.args and spec.varargs is not None:
        return None
    return tuple(spec.args)


class _GlobalPlaceholder(BaseNamespace):
    """The global namespace when socketio_manage names none: 0.9 and 2.x
    clients are in it from the start, so it must accept them; what they
    send there gets gevent-socketio's 'no_such_namespace' error. Clients
    3.x/4.x, which ask for it, are refused."""

    def _hubbub_connect(self, auth: dict[str, Any]) -> None:
        if self._socket.client.protocol >= 5:
            raise ConnectionRefusedError("Invalid namespace")

    def process_packet(self, packet: dict[str, Any]) -> Any:
        if packet.get("type") == "disconnect":
            return super().process_packet(packet)
        self.error(
            "no_such_namespace",
            f"The endpoint you tried to connect to doesn't exist: {self.ns_name}",
        )
        return None
