"""The asyncio side of the runtime interface: clock, handler tasks, timers.

Shared by the embedded server and the ASGI app, so both run the very same
sessions with the very same timer logic.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable
from typing import Any

from hubbub.runtime.base import TimerHost
from hubbub.session.engine import TimedSession

log = logging.getLogger("hubbub.runtime")


class AsyncioHost(TimerHost):
    """One session's timer and poll-wake door on an asyncio loop."""

    __slots__ = ("loop",)

    def __init__(self, loop: asyncio.AbstractEventLoop, session: TimedSession) -> None:
        super().__init__(session)
        self.loop = loop

    def _schedule(self, deadline: float) -> asyncio.TimerHandle:
        return self.loop.call_at(deadline, self._fire)

    def _now(self) -> float:
        return self.loop.time()

    def _deliver(self, waiter: Callable[[], None]) -> None:
        # answer on the next tick so every send of this tick rides along
        self.loop.call_soon(waiter)


class AsyncioRuntime:
    """The Runtime protocol on one asyncio event loop."""

    name = "asyncio"

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.loop = loop or asyncio.get_running_loop()
        self.tasks: set[asyncio.Task[Any]] = set()

    def clock(self) -> float:
        return self.loop.time()

    def make_host(self, session: TimedSession) -> AsyncioHost:
        return AsyncioHost(self.loop, session)

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
        if inspect.isawaitable(result):
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


def runtime_for(server: Any) -> AsyncioRuntime:
    """The runtime bound to ``server`` on the running loop (one per loop)."""
    loop = asyncio.get_running_loop()
    current = getattr(server, "runtime", None)
    if isinstance(current, AsyncioRuntime) and current.loop is loop:
        return current
    runtime = AsyncioRuntime(loop)
    server.attach(runtime)
    return runtime
