"""A runtime of plain threads: the blocking client's clock, timers, handler
worker and waiters.

Written on the standard library only (threading, queue, time), so gevent's
monkey-patching turns every thread here into a greenlet and every wait into
a cooperative one: the same code serves threads and gevent, and importing it
never imports gevent.

Every callback into the client core (a timer, an answer, a message) runs
with the client's lock held, so the core sees one call at a time. Handlers
run outside it, one after another on a worker thread, in the order their
events arrived.
"""

from __future__ import annotations

import heapq
import inspect
import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

from hubbub.runtime.contract import SessionHost, TimedSession

log = logging.getLogger("hubbub.client")

__all__ = ["ThreadRuntime", "ThreadWaiter"]


class _Timer:
    __slots__ = ("cancelled", "fn")

    def __init__(self, fn: Callable[[], None]) -> None:
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class ThreadWaiter:
    """A value that arrives later; ``wait`` blocks the calling thread."""

    __slots__ = ("_error", "_event", "_value")

    def __init__(self) -> None:
        self._event = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None

    def resolve(self, value: Any) -> None:
        if not self._event.is_set():
            self._value = value
            self._event.set()

    def reject(self, error: BaseException) -> None:
        if not self._event.is_set():
            self._error = error
            self._event.set()

    @property
    def done(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float | None = None) -> Any:
        if not self._event.wait(timeout):
            raise TimeoutError(f"nothing within {timeout}s")
        if self._error is not None:
            raise self._error
        return self._value


class ThreadRuntime:
    """The Runtime protocol on threads (or greenlets, once monkey-patched).

    ``lock`` is held around every timer callback. The timer and the handler
    worker are daemon threads started on first use.
    """

    name = "threads"

    def __init__(self, lock: threading.RLock) -> None:
        self.lock = lock
        self._heap: list[tuple[float, int, _Timer]] = []
        self._order = itertools.count()
        self._wake = threading.Condition(threading.Lock())
        self._timer_thread: threading.Thread | None = None
        self._jobs: queue.SimpleQueue[tuple[Callable[..., Any], tuple[Any, ...]]] = (
            queue.SimpleQueue()
        )
        self._worker: threading.Thread | None = None

    def clock(self) -> float:
        return time.monotonic()

    def call_later(self, delay: float, fn: Callable[[], None]) -> _Timer:
        timer = _Timer(fn)
        with self._wake:
            heapq.heappush(self._heap, (time.monotonic() + delay, next(self._order), timer))
            if self._timer_thread is None:
                self._timer_thread = threading.Thread(
                    target=self._run_timers, name="hubbub-client-timers", daemon=True
                )
                self._timer_thread.start()
            self._wake.notify()
        return timer

    def _run_timers(self) -> None:
        while True:
            with self._wake:
                while True:
                    now = time.monotonic()
                    if self._heap and self._heap[0][0] <= now:
                        timer = heapq.heappop(self._heap)[2]
                        break
                    self._wake.wait(self._heap[0][0] - now if self._heap else None)
            if timer.cancelled:
                continue
            try:
                with self.lock:
                    if not timer.cancelled:
                        timer.fn()
            except Exception:
                log.exception("a client timer failed")

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        self.call_later(0, fn)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        self._jobs.put((fn, args))
        if self._worker is None:
            self._worker = threading.Thread(
                target=self._run_jobs, name="hubbub-client-handlers", daemon=True
            )
            self._worker.start()

    def _run_jobs(self) -> None:
        while True:
            fn, args = self._jobs.get()
            try:
                result = fn(*args)
                if inspect.iscoroutine(result):
                    result.close()
                    log.error("%s is a coroutine function: the blocking client cannot run it",
                              getattr(fn, "__qualname__", fn))
            except Exception:
                log.exception("handler %s raised", getattr(fn, "__qualname__", fn))

    def waiter(self) -> ThreadWaiter:
        return ThreadWaiter()

    def make_host(self, session: TimedSession) -> SessionHost:
        raise NotImplementedError("the blocking client runtime hosts no server sessions")

    def check_handler(self, fn: Callable[..., Any]) -> None:
        if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(
            getattr(fn, "__call__", None)  # noqa: B004 - a callable object's own method
        ):
            raise TypeError(
                f"{getattr(fn, '__qualname__', fn)} is async: the blocking hubbub.Client runs "
                "plain functions (use hubbub.AsyncClient for async def handlers)"
            )
