"""The asyncio side of the runtime interface: clock, handler tasks, timers.

Shared by the embedded server and the ASGI app, so both run the very same
sessions with the very same timer logic.
"""

from __future__ import annotations

import asyncio
import heapq
import inspect
import logging
import math
from collections.abc import Callable
from typing import Any

from hubbub.runtime.contract import Endpoint, TimedSession, TimerHost

log = logging.getLogger("hubbub.runtime")


# A loop timer may fire a hair before its time (libuv counts milliseconds);
# entries due within this are run then, rather than spinning on a timer
# re-armed for a few microseconds. Below the sessions' own EPSILON, so a
# session treats its deadline as reached.
_EARLY = 0.001


# Session deadlines are kept in buckets of this width (seconds; a power of
# two, so bucket times are exact). A host fires at the end of its deadline's
# bucket, never before the deadline; the sessions' heartbeats are seconds
# apart, so a few milliseconds late is nothing to them.
_RESOLUTION = 1 / 64


def _bucket_of(when: float) -> int:
    return math.ceil(when / _RESOLUTION)


class TimerQueue:
    """Every session timer of one loop, on a single loop timer.

    A loop timer per session (an asyncio or uvloop TimerHandle and its libuv
    timer) would be kept by every idle connection for its next heartbeat, as
    would a heap entry per session. Here a session's host is one slot in the
    list of its deadline's bucket; the heap holds one number per bucket.
    A host moved earlier (or cancelled) leaves a stale slot behind, skipped
    when its bucket comes: its current deadline is in another bucket.
    """

    __slots__ = ("_at", "_buckets", "_handle", "_keys", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._buckets: dict[int, list[AsyncioHost]] = {}
        self._keys: list[int] = []  # a heap of the buckets' keys
        self._handle: asyncio.TimerHandle | None = None
        self._at = math.inf  # when the loop timer fires

    def add(self, when: float, host: AsyncioHost) -> None:
        key = _bucket_of(when)
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.append(host)
            return
        self._buckets[key] = [host]
        heapq.heappush(self._keys, key)
        at = key * _RESOLUTION
        if at < self._at:
            if self._handle is not None:
                self._handle.cancel()
            self._at = at
            self._handle = self.loop.call_at(at, self._run)

    def _run(self) -> None:
        self._handle = None
        keys = self._keys
        buckets = self._buckets
        due = _bucket_of(self.loop.time() + _EARLY)
        fired: list[tuple[int, list[AsyncioHost]]] = []
        while keys and keys[0] <= due:
            key = heapq.heappop(keys)
            fired.append((key, buckets.pop(key)))
        # fired after the buckets are taken: a host one of them re-arms,
        # however early, waits for the next loop timer (no busy loop in here)
        for key, hosts in fired:
            for host in hosts:
                # else cancelled or moved to another bucket meanwhile
                if host._handle is not None and _bucket_of(host._when) == key:
                    host._fire()
        # the next loop timer, unless a _fire above already set an earlier one
        if self._handle is None:
            if keys:
                self._at = keys[0] * _RESOLUTION
                self._handle = self.loop.call_at(self._at, self._run)
            else:
                self._at = math.inf

    def __len__(self) -> int:
        """Slots held, stale ones included."""
        return sum(len(hosts) for hosts in self._buckets.values())


class AsyncioHost(TimerHost):
    """One session's timer and poll-wake door on an asyncio loop; its own
    timer handle (see TimerQueue)."""

    __slots__ = ("timers",)

    def __init__(self, timers: TimerQueue, session: TimedSession) -> None:
        super().__init__(session)
        self.timers = timers

    def _schedule(self, deadline: float) -> AsyncioHost:
        self.timers.add(deadline, self)
        return self

    def cancel(self) -> None:
        pass  # the slot left in the queue is skipped (TimerHost drops its handle)

    def _now(self) -> float:
        return self.timers.loop.time()

    def _deliver(self, waiter: Callable[[], None]) -> None:
        # answer on the next tick so every send of this tick rides along
        self.timers.loop.call_soon(waiter)


class AsyncioRuntime:
    """The Runtime protocol on one asyncio event loop."""

    name = "asyncio"

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop or asyncio.get_running_loop()
        self.tasks: set[asyncio.Task[Any]] = set()
        self.timers = TimerQueue(self.loop)

    def clock(self) -> float:
        return self.loop.time()

    def make_host(self, session: TimedSession) -> AsyncioHost:
        return AsyncioHost(self.timers, session)

    def call_later(self, delay: float, fn: Callable[[], None]) -> asyncio.TimerHandle:
        return self.loop.call_later(delay, fn)

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        self.loop.call_soon_threadsafe(fn)

    def waiter(self) -> AsyncioWaiter:
        return AsyncioWaiter(self.loop)

    def check_handler(self, fn: Callable[..., Any]) -> None:
        pass  # asyncio runs plain and async def handlers alike

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            result = fn(*args)
        except Exception:
            log.exception("handler %s raised", getattr(fn, "__qualname__", fn))
            return
        # a sync handler (and the whole sync dispatch chain) returns None:
        # skip inspect.isawaitable, whose ABC instance check is costly
        if result is not None and inspect.isawaitable(result):
            task = self.loop.create_task(_guard(result, fn))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)


class AsyncioWaiter:
    """A future with a timeout; ``await waiter.wait(5)``."""

    __slots__ = ("future",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.future: asyncio.Future[Any] = loop.create_future()

    def resolve(self, value: Any) -> None:
        if not self.future.done():
            self.future.set_result(value)

    def reject(self, error: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(error)

    @property
    def done(self) -> bool:
        return self.future.done()

    async def wait(self, timeout: float | None = None) -> Any:
        if timeout is None:
            return await self.future
        return await asyncio.wait_for(asyncio.shield(self.future), timeout)


async def _guard(awaitable: Any, fn: Callable[..., Any]) -> None:
    try:
        await awaitable
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("handler %s raised", getattr(fn, "__qualname__", fn))


def runtime_for(endpoint: Endpoint) -> AsyncioRuntime:
    """The runtime bound to ``endpoint`` on the running loop (one per loop)."""
    loop = asyncio.get_running_loop()
    current = endpoint.runtime
    if isinstance(current, AsyncioRuntime) and current.loop is loop:
        return current
    runtime = AsyncioRuntime(loop)
    endpoint.attach(runtime)
    return runtime
