"""What runs the application: the handlers registered on a namespace, and
the two chains through them, one client event's and one connect's.

Each chain is written once for sync and async handlers alike: it is a
generator that yields every awaitable a handler (or middleware) returns and
gets its result back. :func:`drive` runs it inline; it returns None when
nothing on the way was awaitable (every sync handler, every handler under
gevent), or a coroutine that finishes the chain for the runtime to run.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Coroutine, Generator, Iterator
from functools import partial
from typing import Any

from hubbub import instrumentation
from hubbub.errors import ConnectionRefusedError, EventRefusedError
from hubbub.socketio.handlers import HandlerSpec, class_handlers
from hubbub.socketio.socket import NamespaceInstance, Socket

log = logging.getLogger("hubbub.socketio.namespace")

# a chain: yields awaitables, is sent their results
Steps = Generator[Any, Any, None]

# events a namespace-level handler may listen to besides client events
LIFECYCLE = frozenset(
    {
        "connect",
        "connection",
        "disconnect",
        "disconnecting",
        "create-room",
        "delete-room",
        "join-room",
        "leave-room",
    }
)
ROOM_EVENTS = frozenset({"create-room", "delete-room", "join-room", "leave-room"})

# what sync handlers return: never awaitable, so no (costly) ABC check
_PLAIN = frozenset({type(None), str, int, float, bool, list, dict, tuple, bytes})

NamespaceClass = Callable[[Socket], NamespaceInstance]


def _awaitable(value: Any) -> bool:
    return type(value) not in _PLAIN and inspect.isawaitable(value)


def drive(steps: Steps) -> Coroutine[Any, Any, None] | None:
    """Run a chain until its first awaitable: None if it finished, else the
    coroutine that runs the rest."""
    # a for loop ends a finished generator without raising StopIteration
    for awaitable in steps:
        return _finish(steps, awaitable)
    return None


async def _finish(steps: Steps, awaitable: Any) -> None:
    while True:
        try:
            value = await awaitable
        except BaseException as exc:  # the chain decides (CancelledError passes through)
            try:
                awaitable = steps.throw(exc)
            except StopIteration:
                return
        else:
            try:
                awaitable = steps.send(value)
            except StopIteration:
                return


class HandlerRegistry:
    """The handlers, middlewares, catch-alls and Namespace class registered
    on one namespace; a dynamic namespace's child also runs its parent's
    (the parent's first)."""

    __slots__ = ("_any", "_handlers", "_middlewares", "name", "namespace_class", "parent")

    def __init__(self, name: str, parent: HandlerRegistry | None = None) -> None:
        self.name = name
        self.parent = parent
        self._handlers: dict[str, list[HandlerSpec]] = {}
        self._middlewares: list[HandlerSpec] = []
        self._any: list[HandlerSpec] = []
        self.namespace_class: NamespaceClass | None = None

    # -- registering -------------------------------------------------------------

    def add(self, event: str, fn: Callable[..., Any]) -> None:
        if event == "*":
            self._any.append(HandlerSpec(fn, skip=2))
        else:
            # room events get (room[, sid]); the others the socket first
            skip = 0 if event in ROOM_EVENTS else 1
            self._handlers.setdefault(event, []).append(HandlerSpec(fn, skip=skip))

    def use(self, middleware: Callable[..., Any]) -> None:
        self._middlewares.append(HandlerSpec(middleware))

    def registered(self) -> Iterator[Callable[..., Any]]:
        for spec in self._middlewares:
            yield spec.fn
        for specs in self._handlers.values():
            for spec in specs:
                yield spec.fn
        for spec in self._any:
            yield spec.fn
        cls = self.namespace_class
        if isinstance(cls, type):
            for spec in class_handlers(cls).values():
                yield spec.fn
            initialize = getattr(cls, "initialize", None)
            if initialize is not None:
                yield initialize

    # -- looking up ----------------------------------------------------------------

    def handlers(self, event: str) -> list[HandlerSpec]:
        own = self._handlers.get(event, [])
        if self.parent is not None:
            return [*self.parent.handlers(event), *own]
        return own

    def middlewares(self) -> list[HandlerSpec]:
        if self.parent is not None:
            return [*self.parent.middlewares(), *self._middlewares]
        return self._middlewares

    def catch_alls(self) -> list[HandlerSpec]:
        if self.parent is not None:
            return [*self.parent.catch_alls(), *self._any]
        return self._any

    def class_(self) -> NamespaceClass | None:
        if self.namespace_class is None and self.parent is not None:
            return self.parent.class_()
        return self.namespace_class

    def connect_is_async(self) -> bool:
        cls = self.class_()
        if isinstance(cls, type):
            spec = class_handlers(cls).get("on_connect")
            if spec is not None and spec.is_async:
                return True
        return any(h.is_async for h in self.handlers("connect"))

    def resolve(
        self, socket: Socket, event: str
    ) -> tuple[HandlerSpec | None, Callable[..., Any] | None]:
        """The spec to check an event's arguments with and the callable to
        run: the Namespace instance's ``on_<event>``, a handler of the
        socket's own, or one of the namespace's."""
        instance = socket.instance
        if instance is not None:
            name = "on_" + event.replace(" ", "_")
            spec = class_handlers(type(instance)).get(name)
            if spec is not None and name not in _HOOKS:
                return spec, getattr(instance, name)
        own = socket.handlers.get(event)
        if own:
            return own[0], own[0].fn
        handlers = self.handlers(event) if event not in LIFECYCLE else []
        if handlers:
            spec = handlers[0]
            return spec, partial(spec.fn, socket)  # C: no Python frame of its own
        return None, None


# a Namespace class's methods the server calls itself: never client events
_HOOKS = frozenset({"on_connect", "on_disconnect", "on_any", "on_any_outgoing"})


# -- one client event ----------------------------------------------------------------


def run_event(
    registry: HandlerRegistry,
    socket: Socket,
    event: str,
    args: list[Any],
    ack: Callable[..., None] | None,
) -> Coroutine[Any, Any, None] | None:
    """Run one client event through the chain (what the runtime spawns)."""
    steps = _event_steps(registry, socket, event, args, ack)
    for awaitable in steps:  # drive(), inlined: this runs once per event
        return _finish(steps, awaitable)
    return None


def _event_steps(
    registry: HandlerRegistry,
    socket: Socket,
    event: str,
    args: list[Any],
    ack: Callable[..., None] | None,
) -> Steps:
    """Per-packet middlewares, catch-all listeners, the handler, its answer."""
    spec, fn = registry.resolve(socket, event)
    try:
        for mw in socket.middlewares:
            result = mw.fn(socket, event, args)
            if _awaitable(result):
                yield result
    except Exception as exc:
        _refused_event(registry, socket, event, exc)
        return
    if socket.any_in or socket.instance is not None:
        _catch_all_listeners(socket, event, args)
    for catch_all in registry.catch_alls():
        try:
            result = catch_all.fn(socket, event, *args)
            if _awaitable(result):
                yield result
        except Exception:
            log.exception("catch-all handler raised")
    if spec is None or fn is None:
        if ack is not None:
            log.debug("%s: no handler for %r", socket, event)
        return
    error = spec.check(event, args)
    if error is not None:
        log.info("%s: %s", socket, error)
        socket.send_error(error, event=event)
        return
    observer = socket.server.scheduler.observer if instrumentation.observed_servers else None
    try:
        result = fn(*args) if observer is None else observer.call_handler(socket, event, fn, args)
        if _awaitable(result):
            result = yield result
    except Exception:
        log.exception("handler for %r on %s raised", event, registry.name)
        return
    answer(ack, result)


def _catch_all_listeners(socket: Socket, event: str, args: list[Any]) -> None:
    """socket.on_any listeners and the Namespace class's on_any hook."""
    for fn in socket.any_in:
        try:
            fn(event, *args)
        except Exception:
            log.exception("on_any listener raised")
    instance = socket.instance
    if instance is not None:
        hook = class_handlers(type(instance)).get("on_any")
        if hook is not None:
            try:
                hook.fn(instance, event, *args)
            except Exception:
                log.exception("on_any raised")


def _refused_event(registry: HandlerRegistry, socket: Socket, event: str, exc: Exception) -> None:
    if isinstance(exc, (EventRefusedError, ConnectionRefusedError)):
        socket.send_error(exc.message, exc.data, event)
    else:
        log.exception("middleware of %s raised", registry.name)
        socket.send_error("Internal server error", None, event)


def answer(ack: Callable[..., None] | None, result: Any) -> None:
    """Answer the client's ack with a handler's return value (a tuple gives
    several arguments; None none)."""
    if ack is None:
        return
    if result is None:
        ack()
    elif isinstance(result, tuple):
        ack(*result)
    else:
        ack(result)


# -- one connect -----------------------------------------------------------------------


def connect_steps(
    registry: HandlerRegistry,
    socket: Socket,
    chain: list[HandlerSpec],
    cls: NamespaceClass | None,
    accept: Callable[[Socket], None],
    refuse: Callable[[Socket, Exception], None],
) -> Steps:
    """The connection middlewares (``chain``), the Namespace instance's
    ``on_connect(auth)``, the 'connect' handlers; any of them may refuse (by
    raising, or returning False). Ends with ``accept`` or ``refuse``."""
    try:
        for mw in chain:
            result = mw.fn(socket)
            if _awaitable(result):
                yield result
        if cls is not None:
            instance = cls(socket)
            socket.instance = instance
            result = instance.on_connect(socket.auth)
            if _awaitable(result):
                result = yield result
            if result is False:
                raise ConnectionRefusedError()
        for handler in registry.handlers("connect"):
            # (socket, auth), or (socket) if that is all it takes
            result = handler.fn(socket) if handler.max_args == 0 else handler.fn(
                socket, socket.auth
            )
            if _awaitable(result):
                result = yield result
            if result is False:
                raise ConnectionRefusedError()
    except Exception as exc:
        refuse(socket, exc)
        return
    accept(socket)


# -- another server's server_side_emit ----------------------------------------------------


def server_side_steps(
    fn: Callable[..., Any], args: list[Any], ack: Callable[[Any], None] | None
) -> Steps:
    result = fn(*args)
    if _awaitable(result):
        result = yield result
    if ack is not None:
        ack(result)


def run_server_side(
    fn: Callable[..., Any], args: list[Any], ack: Callable[[Any], None] | None
) -> Coroutine[Any, Any, None] | None:
    return drive(server_side_steps(fn, args, ack))

