"""Broadcast operators: ``to``/``in_``/``except_``/``local``/``volatile``/
``compress``/``timeout`` chained from the server, a namespace or a socket.

Every operation goes through the namespace's adapter, so the same code
broadcasts in one process (memory adapter) or across a cluster (Redis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any, Protocol

from hubbub.adapters.base import Adapter
from hubbub.errors import AckTimeoutError
from hubbub.runtime.contract import Scheduler
from hubbub.socketio.codec import Packet, PacketType, check_event
from hubbub.types import BroadcastOptions

Rooms = str | Iterable[str]
BroadcastCallback = Callable[[Exception | None, list[Any]], None]


class BroadcastTarget(Protocol):
    """What an operator needs of the namespace it broadcasts in."""

    @property
    def name(self) -> str: ...
    @property
    def adapter(self) -> Adapter: ...
    @property
    def scheduler(self) -> Scheduler: ...

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Send to every socket ``opts`` selects (recorded for recovery)."""
        ...


def _rooms(rooms: Rooms) -> frozenset[str]:
    if isinstance(rooms, str):
        return frozenset((rooms,))
    return frozenset(rooms)


def _all_rooms(rooms: tuple[Rooms, ...]) -> frozenset[str]:
    out: frozenset[str] = frozenset()
    for r in rooms:
        out |= _rooms(r)
    return out


class BroadcastOperator:
    """An immutable selection of sockets plus flags; each call returns a new one."""

    __slots__ = ("_nsp", "_opts")

    def __init__(self, nsp: BroadcastTarget, opts: BroadcastOptions | None = None) -> None:
        self._nsp = nsp
        self._opts = opts or BroadcastOptions()

    # -- selection ------------------------------------------------------------

    def to(self, *rooms: Rooms) -> BroadcastOperator:
        """Target these rooms (a socket id is a room too). Chainable."""
        opts = self._opts
        return BroadcastOperator(self._nsp, replace(opts, rooms=opts.rooms | _all_rooms(rooms)))

    in_ = to

    def except_(self, *rooms: Rooms) -> BroadcastOperator:
        """Leave out the sockets in these rooms (a socket id is a room too). Chainable."""
        opts = self._opts
        return BroadcastOperator(
            self._nsp, replace(opts, except_=opts.except_ | _all_rooms(rooms))
        )

    def select(
        self, to: Rooms | None = None, room: Rooms | None = None, skip_sid: Rooms | None = None
    ) -> BroadcastOperator:
        """python-socketio's keywords: ``to`` / ``room`` (rooms or socket ids)
        and ``skip_sid`` (the socket ids left out)."""
        op = self
        for rooms in (to, room):
            if rooms is not None:
                op = op.to(rooms)
        if skip_sid is not None:
            op = op.except_(skip_sid)
        return op

    def _flag(self, **changes: Any) -> BroadcastOperator:
        opts = self._opts
        return BroadcastOperator(self._nsp, replace(opts, flags=replace(opts.flags, **changes)))

    @property
    def local(self) -> BroadcastOperator:
        """Only this process's sockets, even with a cluster adapter."""
        return self._flag(local=True)

    @property
    def volatile(self) -> BroadcastOperator:
        """May be dropped for clients that are not ready to receive."""
        return self._flag(volatile=True)

    def compress(self, value: bool = True) -> BroadcastOperator:
        """Whether to compress the packets (with permessage-deflate, when the
        client's websocket negotiated it). Chainable."""
        return self._flag(compress=value)

    def timeout(self, seconds: float) -> BroadcastOperator:
        """Collect every client's ack within ``seconds`` (see :meth:`emit`)."""
        return self._flag(timeout=seconds)

    @property
    def options(self) -> BroadcastOptions:
        """The selection and flags so far (rooms, exceptions, local, volatile,
        timeout), as adapters get them."""
        return self._opts

    # -- emitting -------------------------------------------------------------------

    def emit(self, event: str, *args: Any, callback: BroadcastCallback | None = None) -> None:
        """Emit to every selected client. With ``callback`` (and usually a
        ``timeout``), ``callback(err, responses)`` gets one response per
        client; ``err`` is an AckTimeoutError if some did not answer in time."""
        check_event(event)
        nsp = self._nsp
        packet = Packet(PacketType.EVENT, nsp.name, [event, *args])
        observer = nsp.scheduler.observer
        if observer is not None:
            with observer.broadcast(nsp.name, event):
                if callback is None:
                    nsp.broadcast(packet, self._opts)
                else:
                    self._emit_with_ack(packet, callback)
            return
        if callback is None:
            nsp.broadcast(packet, self._opts)
            return
        self._emit_with_ack(packet, callback)

    def send(self, *args: Any, callback: BroadcastCallback | None = None) -> None:
        """``emit("message", *args)``: the event 0.9 and 0.6 clients' ``send`` gets."""
        self.emit("message", *args, callback=callback)

    def call(self, event: str, *args: Any) -> Any:
        """Emit and wait for every client's ack; returns the list of
        responses (``await`` it on asyncio). Raises AckTimeoutError."""
        waiter = self._nsp.scheduler.need().waiter()

        def done(err: Exception | None, responses: list[Any]) -> None:
            if err is not None:
                waiter.reject(err)
            else:
                waiter.resolve(responses)

        self.emit(event, *args, callback=done)
        return waiter.wait()

    def _emit_with_ack(self, packet: Packet, callback: BroadcastCallback) -> None:
        nsp = self._nsp
        responses: list[Any] = []
        # clients expected so far, servers that said how many, finished
        state = {"expected": 0, "servers": 0, "done": False}
        expected_servers = 1 if self._opts.flags.local else nsp.adapter.server_count()
        timer: Any = None
        observer = nsp.scheduler.observer
        request = (
            observer.adapter_request(nsp.name, "broadcast_with_ack")
            if observer is not None
            else None
        )

        def finish(err: Exception | None) -> None:
            if state["done"]:
                return
            state["done"] = True
            if timer is not None:
                timer.cancel()
            if request is not None:
                request(err)
            callback(err, list(responses))

        def check() -> None:
            if state["servers"] >= expected_servers and len(responses) >= state["expected"]:
                finish(None)

        def client_count(n: int) -> None:
            state["expected"] += n
            state["servers"] += 1
            check()

        def on_ack(args: list[Any]) -> None:
            responses.append(args[0] if args else None)
            check()

        timeout = self._opts.flags.timeout
        if timeout is not None:

            def expire() -> None:
                if not state["done"] and observer is not None:
                    observer.ack_timed_out(nsp.name)
                finish(AckTimeoutError(f"operation has timed out after {timeout}s"))

            timer = nsp.scheduler.need().call_later(timeout, expire)
        nsp.adapter.broadcast_with_ack(packet, self._opts, client_count, on_ack)

    # -- operations on the selected sockets ------------------------------------------

    def fetch_sockets(self) -> Any:
        """The selected sockets (remote ones too in a cluster); await it on asyncio."""
        nsp = self._nsp
        waiter = nsp.scheduler.need().waiter()
        observer = nsp.scheduler.observer
        request = observer.adapter_request(nsp.name, "fetch_sockets") if observer else None
        if request is None:
            nsp.adapter.fetch_sockets(self._opts, waiter.resolve)
        else:

            def done(sockets: list[Any]) -> None:
                request(None)
                waiter.resolve(sockets)

            nsp.adapter.fetch_sockets(self._opts, done)
        return waiter.wait()

    def sockets_join(self, *rooms: str) -> None:
        """Make the selected sockets (across the cluster) join ``rooms``."""
        self._nsp.adapter.add_sockets(self._opts, list(rooms))

    def sockets_leave(self, *rooms: str) -> None:
        """Make the selected sockets (across the cluster) leave ``rooms``."""
        self._nsp.adapter.del_sockets(self._opts, list(rooms))

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the selected sockets (across the cluster) from their
        namespace; ``close=True`` closes their whole connections."""
        self._nsp.adapter.disconnect_sockets(self._opts, close)


class Broadcasting(Protocol):
    """Node's namespace-level broadcasting API (and python-socketio's
    keywords), implemented for whatever makes the operator to start from:
    a namespace, or the server (for the namespace it is given, "/" by
    default)."""

    def _op(self, namespace: str | None = None) -> BroadcastOperator:
        """A fresh operator on ``namespace`` (this one when None)."""
        ...

    def to(self, *rooms: Rooms) -> BroadcastOperator:
        """Target these rooms (a socket id is a room too): ``sio.to("lobby").emit(...)``."""
        return self._op().to(*rooms)

    def in_(self, *rooms: Rooms) -> BroadcastOperator:
        """The same as ``to`` (Node's ``in``)."""
        return self._op().to(*rooms)

    def except_(self, *rooms: Rooms) -> BroadcastOperator:
        """Every socket but those in these rooms (Node's ``except``)."""
        return self._op().except_(*rooms)

    @property
    def local(self) -> BroadcastOperator:
        """Only this process's sockets, even with a cluster adapter."""
        return self._op().local

    @property
    def volatile(self) -> BroadcastOperator:
        """May be dropped for clients that are not ready to receive."""
        return self._op().volatile

    def compress(self, value: bool = True) -> BroadcastOperator:
        """Whether to compress the packets (with permessage-deflate, when the
        client's websocket negotiated it)."""
        return self._op().compress(value)

    def timeout(self, seconds: float) -> BroadcastOperator:
        """Collect every client's ack within ``seconds``: ``await
        sio.timeout(5).call("x")`` or ``sio.timeout(5).emit("x", callback=cb)``."""
        return self._op().timeout(seconds)

    def emit(
        self,
        event: str,
        *args: Any,
        to: Rooms | None = None,
        room: Rooms | None = None,
        skip_sid: Rooms | None = None,
        namespace: str | None = None,
        callback: BroadcastCallback | None = None,
    ) -> None:
        """Emit to every socket (``to``/``room``: only those rooms or socket
        ids; ``skip_sid``: not those sockets); see BroadcastOperator.emit."""
        self._op(namespace).select(to, room, skip_sid).emit(event, *args, callback=callback)

    def send(self, *args: Any, **options: Any) -> None:
        """The event "message" (``options``: emit's keywords)."""
        self.emit("message", *args, **options)

    def fetch_sockets(self) -> Any:
        """Every socket of the namespace (remote ones too in a cluster): objects
        with ``id``, ``handshake``, ``rooms``, ``data``, ``emit``, ``join``,
        ``leave`` and ``disconnect``. ``await`` it on asyncio."""
        return self._op().fetch_sockets()

    def sockets_join(self, *rooms: str) -> None:
        """Make every socket of the namespace (across the cluster) join ``rooms``."""
        self._op().sockets_join(*rooms)

    def sockets_leave(self, *rooms: str) -> None:
        """Make every socket of the namespace (across the cluster) leave ``rooms``."""
        self._op().sockets_leave(*rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect every socket of the namespace (across the cluster);
        ``close=True`` closes their whole connections."""
        self._op().disconnect_sockets(close)
