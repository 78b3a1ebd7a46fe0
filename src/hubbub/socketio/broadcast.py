"""Broadcast operators: ``to``/``in_``/``except_``/``local``/``volatile``/
``compress``/``timeout`` chained from the server, a namespace or a socket.

Every operation goes through the namespace's adapter, so the same code
broadcasts in one process (memory adapter) or across a cluster (Redis).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from hubbub.adapters.base import BroadcastOptions
from hubbub.errors import AckTimeoutError
from hubbub.socketio.codec import RESERVED_EVENTS, Packet, PacketType

if TYPE_CHECKING:
    from hubbub.socketio.server_namespace import ServerNamespace


def _rooms(rooms: str | Iterable[str]) -> frozenset[str]:
    if isinstance(rooms, str):
        return frozenset((rooms,))
    return frozenset(rooms)


def check_event(event: str) -> None:
    if not isinstance(event, str):
        raise TypeError("the event name must be a string")
    if event in RESERVED_EVENTS:
        raise ValueError(f"{event!r} is a reserved event name")


class BroadcastOperator:
    """An immutable selection of sockets plus flags; each call returns a new one."""

    __slots__ = ("_nsp", "_opts")

    def __init__(self, nsp: ServerNamespace, opts: BroadcastOptions | None = None) -> None:
        self._nsp = nsp
        self._opts = opts or BroadcastOptions()

    # -- selection ------------------------------------------------------------

    def to(self, *rooms: str | Iterable[str]) -> BroadcastOperator:
        """Target these rooms (a socket id is a room too). Chainable."""
        add: frozenset[str] = frozenset()
        for r in rooms:
            add |= _rooms(r)
        return BroadcastOperator(self._nsp, replace(self._opts, rooms=self._opts.rooms | add))

    in_ = to

    def except_(self, *rooms: str | Iterable[str]) -> BroadcastOperator:
        add: frozenset[str] = frozenset()
        for r in rooms:
            add |= _rooms(r)
        return BroadcastOperator(self._nsp, replace(self._opts, except_=self._opts.except_ | add))

    def _flag(self, **changes: Any) -> BroadcastOperator:
        return BroadcastOperator(
            self._nsp, replace(self._opts, flags=replace(self._opts.flags, **changes))
        )

    @property
    def local(self) -> BroadcastOperator:
        """Only this process's sockets, even with a cluster adapter."""
        return self._flag(local=True)

    @property
    def volatile(self) -> BroadcastOperator:
        """May be dropped for clients that are not ready to receive."""
        return self._flag(volatile=True)

    def compress(self, value: bool = True) -> BroadcastOperator:
        return self._flag(compress=value)

    def timeout(self, seconds: float) -> BroadcastOperator:
        """Collect every client's ack within ``seconds`` (see :meth:`emit`)."""
        return self._flag(timeout=seconds)

    @property
    def options(self) -> BroadcastOptions:
        return self._opts

    # -- emitting -------------------------------------------------------------------

    def emit(
        self,
        event: str,
        *args: Any,
        callback: Callable[[Exception | None, list[Any]], None] | None = None,
    ) -> None:
        """Emit to every selected client. With ``callback`` (and usually a
        ``timeout``), ``callback(err, responses)`` gets one response per
        client; ``err`` is an AckTimeoutError if some did not answer in time."""
        check_event(event)
        packet = Packet(PacketType.EVENT, self._nsp.name, [event, *args])
        if callback is None:
            self._nsp._broadcast(packet, self._opts)
            return
        self._emit_with_ack(packet, callback)

    def send(self, *args: Any) -> None:
        self.emit("message", *args)

    def call(self, event: str, *args: Any) -> Any:
        """Emit and wait for every client's ack; returns the list of
        responses (``await`` it on asyncio). Raises AckTimeoutError."""
        waiter = self._nsp.server.runtime_waiter()

        def done(err: Exception | None, responses: list[Any]) -> None:
            if err is not None:
                waiter.reject(err)
            else:
                waiter.resolve(responses)

        self.emit(event, *args, callback=done)
        return waiter.wait()

    def _emit_with_ack(
        self, packet: Packet, callback: Callable[[Exception | None, list[Any]], None]
    ) -> None:
        nsp = self._nsp
        server = nsp.server
        responses: list[Any] = []
        state = {"expected": 0, "servers": 0, "done": False}
        expected_servers = 1 if self._opts.flags.local else nsp.adapter.server_count()
        timer: Any = None

        def finish(err: Exception | None) -> None:
            if state["done"]:
                return
            state["done"] = True
            if timer is not None:
                timer.cancel()
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
                finish(AckTimeoutError(f"operation has timed out after {timeout}s"))

            timer = server.runtime_call_later(timeout, expire)
        nsp.adapter.broadcast_with_ack(packet, self._opts, client_count, on_ack)

    # -- operations on the selected sockets ------------------------------------------

    def fetch_sockets(self) -> Any:
        """The selected sockets (remote ones too in a cluster); await it on asyncio."""
        waiter = self._nsp.server.runtime_waiter()
        self._nsp.adapter.fetch_sockets(self._opts, waiter.resolve)
        return waiter.wait()

    def sockets_join(self, *rooms: str) -> None:
        self._nsp.adapter.add_sockets(self._opts, list(rooms))

    def sockets_leave(self, *rooms: str) -> None:
        self._nsp.adapter.del_sockets(self._opts, list(rooms))

    def disconnect_sockets(self, close: bool = False) -> None:
        self._nsp.adapter.disconnect_sockets(self._opts, close)
