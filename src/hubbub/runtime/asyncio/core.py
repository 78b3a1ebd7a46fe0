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


# Session deadlines are kept in buckets, each fired at its end: never before
# a deadline, and late by at most 1/1024 of the delay it was armed with (a
# heartbeat 25 s away by 16 ms, a 300 ms one by a quarter of a millisecond,
# about the loop's own precision), so idle sessions armed about the same
# time share a bucket. Coarser buckets would save little (a bucket is a
# list and a heap entry) and would make short heartbeats late enough for a
# client that polls right at its deadline to find its session still open,
# where Node's timers (millisecond precision) have closed it. Widths are
# powers of two (bucket ends are exact floats) between these bounds, in
# seconds.
_MIN_WIDTH_LOG2 = -12
_MAX_WIDTH_LOG2 = 0
_WIDTH_SHIFT = 10  # width <= delay / 2**_WIDTH_SHIFT


def _bucket_end(when: float, delay: float) -> float:
    exp = _MIN_WIDTH_LOG2
    if delay > 0.0:
        exp = min(max(math.floor(math.log2(delay)) - _WIDTH_SHIFT, _MIN_WIDTH_LOG2),
                  _MAX_WIDTH_LOG2)
    width = 2.0**exp
    return math.ceil(when / width) * width


# Stale slots are swept out once they are more than half of all slots (and
# at least this many): a closed session's host would otherwise stay in its
# bucket until the bucket's end, so memory would follow the rate of new
# sessions times the ping interval rather than the sessions alive.
_SWEEP_MIN = 256


def _first(item: tuple[float, AsyncioHost]) -> float:
    return item[0]


class TimerQueue:
    """Every session timer of one loop, on a single loop timer.

    A loop timer per session (an asyncio or uvloop TimerHandle and its libuv
    timer) would be kept by every idle connection for its next heartbeat, as
    would a heap entry per session. Here a session's host is one slot in the
    list of its deadline's bucket; the heap holds one time per bucket.
    A host moved earlier (or cancelled) leaves a stale slot behind in a
    bucket that ends no earlier, skipped when it comes: the host's deadline
    is no longer the one it was put there for. A host's live slot is the
    one in the earliest bucket that ends at or after its deadline.
    """

    __slots__ = ("_at", "_buckets", "_ends", "_handle", "_slots", "_stale", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._buckets: dict[float, list[AsyncioHost]] = {}
        self._ends: list[float] = []  # a heap of the buckets' ends
        self._handle: asyncio.TimerHandle | None = None
        self._at = math.inf  # when the loop timer fires
        self._slots = 0  # in all buckets, stale ones included
        # stale slots, about: a cancel after its slot fired counts too,
        # until the next sweep recounts
        self._stale = 0

    def add(self, when: float, host: AsyncioHost) -> None:
        end = _bucket_end(when, when - self.loop.time())
        self._slots += 1
        bucket = self._buckets.get(end)
        if bucket is not None:
            bucket.append(host)
            return
        self._buckets[end] = [host]
        heapq.heappush(self._ends, end)
        if end < self._at:
            if self._handle is not None:
                self._handle.cancel()
            self._at = end
            self._handle = self.loop.call_at(end, self._run)

    def slot_left(self) -> None:
        """A host's timer was cancelled or moved: its slot is stale."""
        self._stale += 1
        if self._stale >= _SWEEP_MIN and self._stale * 2 > self._slots:
            self._sweep()

    def _sweep(self) -> None:
        placed: set[int] = set()
        slots = 0
        for end in sorted(self._buckets):
            bucket = self._buckets[end]
            live = []
            for host in bucket:
                if host._handle is not None and host._when <= end and id(host) not in placed:
                    placed.add(id(host))
                    live.append(host)
            # the same list: _run may be iterating over a bucket it took
            bucket[:] = live
            slots += len(live)
        # empty buckets stay until their end (their time is in the heap)
        self._slots = slots
        self._stale = 0

    def _run(self) -> None:
        self._handle = None
        ends = self._ends
        buckets = self._buckets
        due = self.loop.time() + _EARLY
        fired: list[tuple[float, AsyncioHost]] = []
        while ends and ends[0] <= due:
            bucket = buckets.pop(heapq.heappop(ends))
            self._slots -= len(bucket)
            for host in bucket:
                fired.append((host._when, host))
        # in deadline order, as one timer per session would fire them
        fired.sort(key=_first)
        # fired after the buckets are taken: a host one of them re-arms,
        # however early, waits for the next loop timer (no busy loop in here)
        for when, host in fired:
            # else cancelled, or fired and re-armed, meanwhile
            if host._handle is not None and host._when == when:
                host._fire()
        # the next loop timer, unless a _fire above already set an earlier one
        if self._handle is None:
            if ends:
                self._at = ends[0]
                self._handle = self.loop.call_at(self._at, self._run)
            else:
                self._at = math.inf

    def __len__(self) -> int:
        """Slots held, stale ones included."""
        return self._slots


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
        # the slot left in the queue is skipped (TimerHost drops its handle)
        self.timers.slot_left()

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
