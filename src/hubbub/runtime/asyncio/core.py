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


# Dead entries are swept out of the heap once they are more than half of it
# (and at least this many): a closed session's timer would otherwise stay
# until its deadline, so memory would follow the rate of new sessions times
# the ping interval rather than the sessions alive.
_SWEEP_MIN = 256


class _Entry:
    """One scheduled session timer in a :class:`TimerQueue`; ``cancel()``
    leaves it in the heap, dead, until its time comes or a sweep."""

    __slots__ = ("host", "queue")

    def __init__(self, host: AsyncioHost, queue: TimerQueue) -> None:
        self.host: AsyncioHost | None = host
        self.queue = queue

    def cancel(self) -> None:
        if self.host is not None:
            self.host = None
            self.queue.entry_cancelled()

    def __lt__(self, other: _Entry) -> bool:
        return False  # only consulted for equal deadlines: any order will do


class TimerQueue:
    """Every session timer of one loop, on a single loop timer.

    A loop timer per session (an asyncio or uvloop TimerHandle and its libuv
    timer) would be kept by every idle connection for its next heartbeat; an
    entry here is only a tuple and a one-slot object.
    """

    __slots__ = ("_at", "_dead", "_handle", "_heap", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._heap: list[tuple[float, _Entry]] = []
        self._handle: asyncio.TimerHandle | None = None
        self._at = math.inf  # when the loop timer fires
        # cancelled entries, about: one cancelled after it left the heap
        # counts too, until the next sweep recounts
        self._dead = 0

    def entry_cancelled(self) -> None:
        self._dead += 1
        heap = self._heap
        if self._dead >= _SWEEP_MIN and self._dead * 2 > len(heap):
            live = [item for item in heap if item[1].host is not None]
            heapq.heapify(live)
            heap[:] = live  # the same list: _run may be iterating over it
            self._dead = 0

    def add(self, when: float, host: AsyncioHost) -> _Entry:
        entry = _Entry(host, self)
        heapq.heappush(self._heap, (when, entry))
        if when < self._at:
            if self._handle is not None:
                self._handle.cancel()
            self._at = when
            self._handle = self.loop.call_at(when, self._run)
        return entry

    def _run(self) -> None:
        self._handle = None
        heap = self._heap
        due = self.loop.time() + _EARLY
        fired: list[_Entry] = []
        while heap and heap[0][0] <= due:
            entry = heapq.heappop(heap)[1]
            if entry.host is None:
                self._dead = max(0, self._dead - 1)
            fired.append(entry)
        # fired after the heap is read: an entry one of them adds, however
        # early, waits for the next loop timer (no busy loop in here)
        for entry in fired:
            host = entry.host
            if host is not None:  # else cancelled meanwhile
                host._fire()
        # the next loop timer, unless a _fire above already set an earlier one
        if self._handle is None:
            if heap:
                self._at = heap[0][0]
                self._handle = self.loop.call_at(self._at, self._run)
            else:
                self._at = math.inf

    def __len__(self) -> int:
        return len(self._heap)


class AsyncioHost(TimerHost):
    """One session's timer and poll-wake door on an asyncio loop."""

    __slots__ = ("timers",)

    def __init__(self, timers: TimerQueue, session: TimedSession) -> None:
        super().__init__(session)
        self.timers = timers

    def _schedule(self, deadline: float) -> _Entry:
        return self.timers.add(deadline, self)

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
