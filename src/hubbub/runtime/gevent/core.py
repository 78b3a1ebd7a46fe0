"""The gevent side of the runtime interface: clock, greenlets, timers.

Handlers run in their own greenlet, so a handler that blocks (time.sleep
under monkey patching, a database call through a gevent-friendly driver,
``socket.call()``) stalls nobody else. Session timers run as libev timer
callbacks in the hub: they only queue bytes and wake greenlets, and
anything that calls user code is spawned.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.event

from hubbub.handlers import is_coroutine_handler
from hubbub.runtime.base import TimerHost
from hubbub.session.engine import TimedSession

log = logging.getLogger("hubbub.runtime")


class _LoopTimer:
    """A libev timer with the ``cancel()`` the core expects."""

    __slots__ = ("_watcher",)

    def __init__(self, hub: Any, delay: float, fn: Callable[[], None]) -> None:
        self._watcher = hub.loop.timer(max(delay, 0.0), 0)
        self._watcher.start(self._run, fn)

    def _run(self, fn: Callable[[], None]) -> None:
        self._watcher.close()
        fn()

    def cancel(self) -> None:
        self._watcher.stop()
        self._watcher.close()


class GeventHost(TimerHost):
    """One session's timer and poll-wake door on the gevent hub."""

    __slots__ = ("hub",)

    def __init__(self, hub: Any, session: TimedSession) -> None:
        super().__init__(session)
        self.hub = hub

    def _schedule(self, deadline: float) -> _LoopTimer:
        return _LoopTimer(self.hub, deadline - time.monotonic(), self._fire)

    def _now(self) -> float:
        return time.monotonic()

    # _deliver: the waiter is an Event.set, which already wakes its greenlet
    # on the hub's next turn, after every send of this turn


class GeventGreenletTimer:
    """``call_later`` for user-level callbacks: they run in a greenlet of
    their own, so an ack-timeout callback may block."""

    __slots__ = ("_greenlet",)

    def __init__(self, delay: float, fn: Callable[[], None]) -> None:
        self._greenlet = gevent.spawn_later(delay, _guarded, fn)

    def cancel(self) -> None:
        self._greenlet.kill(block=False)


class GeventRuntime:
    """The Runtime protocol on the gevent hub of the thread that makes it."""

    name = "gevent"

    def __init__(self) -> None:
        self.hub = gevent.get_hub()

    def clock(self) -> float:
        return time.monotonic()

    def make_host(self, session: TimedSession) -> GeventHost:
        return GeventHost(self.hub, session)

    def call_later(self, delay: float, fn: Callable[[], None]) -> GeventGreenletTimer:
        return GeventGreenletTimer(delay, fn)

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        self.hub.loop.run_callback_threadsafe(gevent.spawn, _guarded, fn)

    def waiter(self) -> GeventWaiter:
        return GeventWaiter()

    def check_handler(self, fn: Callable[..., Any]) -> None:
        if is_coroutine_handler(fn):
            name = getattr(fn, "__qualname__", repr(fn))
            raise TypeError(
                f"{name} is an `async def` handler, and this server runs on gevent, which "
                "runs plain functions only. Make it a plain `def` (blocking calls are fine: "
                "every handler runs in its own greenlet), or serve on asyncio "
                "(hubbub.run or hubbub.ASGIApp)."
            )

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        gevent.spawn(_guarded, fn, *args)


class GeventWaiter:
    """``waiter.wait(timeout)`` blocks the calling greenlet for the value."""

    __slots__ = ("result",)

    def __init__(self) -> None:
        self.result: gevent.event.AsyncResult = gevent.event.AsyncResult()

    def resolve(self, value: Any) -> None:
        if not self.result.ready():
            self.result.set(value)

    def reject(self, error: BaseException) -> None:
        if not self.result.ready():
            self.result.set_exception(error)

    @property
    def done(self) -> bool:
        return bool(self.result.ready())

    def wait(self, timeout: float | None = None) -> Any:
        try:
            return self.result.get(timeout=timeout)
        except gevent.Timeout:
            raise TimeoutError(f"no answer within {timeout}s") from None


def _guarded(fn: Callable[..., Any], *args: Any) -> None:
    # no coroutine can come back: check_handler refused them at registration
    try:
        fn(*args)
    except Exception:
        log.exception("handler %s raised", getattr(fn, "__qualname__", fn))


def runtime_for(server: Any) -> GeventRuntime:
    """The gevent runtime bound to ``server`` (one per hub, made on first use)."""
    current = getattr(server, "runtime", None)
    hub = gevent.get_hub()
    if isinstance(current, GeventRuntime) and current.hub is hub:
        return current
    runtime = GeventRuntime()
    server.attach(runtime)
    return runtime
