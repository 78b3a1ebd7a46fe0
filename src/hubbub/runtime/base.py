"""What the core asks of a runtime (asyncio or gevent), and nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hubbub.session.engine import EngineSession, SessionHost


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Waiter(Protocol):
    """A value that arrives later (an ack, a cluster answer).

    ``wait(timeout)`` is the only runtime-specific call in the whole API: on
    asyncio it returns an awaitable, under gevent it blocks the calling
    greenlet and returns the value.
    """

    def resolve(self, value: Any) -> None: ...
    def reject(self, error: BaseException) -> None: ...
    @property
    def done(self) -> bool: ...
    def wait(self, timeout: float | None = None) -> Any: ...


class Runtime(Protocol):
    """The narrow interface between the sans-IO core and an event loop."""

    name: str

    def clock(self) -> float:
        """Monotonic seconds; the same clock the sessions' deadlines use."""
        ...

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run a handler. A coroutine result is scheduled as a task (asyncio);
        under gevent the call runs in its own greenlet."""
        ...

    def call_later(self, delay: float, fn: Callable[[], None]) -> TimerHandle: ...

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        """Run fn on this runtime's loop, from any OS thread (the Redis link's
        reader thread hands its messages over this way)."""
        ...

    def waiter(self) -> Waiter: ...

    def make_host(self, session: EngineSession) -> SessionHost:
        """The timer and poll-wake door for one session."""
        ...

    def check_handler(self, fn: Callable[..., Any]) -> None:
        """Raise TypeError at registration if this runtime cannot run fn."""
        ...
