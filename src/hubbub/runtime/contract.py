"""What the core asks of a runtime (asyncio or gevent), and nothing more."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hubbub.engineio.session import SessionHost, TimedSession

log = logging.getLogger("hubbub.runtime")


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

    def make_host(self, session: TimedSession) -> SessionHost:
        """The timer and poll-wake door for one session."""
        ...

    def check_handler(self, fn: Callable[..., Any]) -> None:
        """Raise TypeError at registration if this runtime cannot run fn."""
        ...


class TimerHost:
    """One session's timer and poll-wake door, the logic both runtimes share.

    A session has one deadline at a time (next ping, ping timeout, upgrade
    timeout, close grace). The host keeps a single runtime timer at the
    earliest deadline asked for; when it fires the session re-arms for the
    next one. A runtime supplies ``_schedule`` (start a timer calling
    ``_fire``), ``_now`` and ``_deliver`` (how a held poll is answered).
    """

    __slots__ = ("_handle", "_when", "session", "waiter")

    def __init__(self, session: TimedSession) -> None:
        self.session = session
        self._handle: TimerHandle | None = None
        self._when = 0.0
        # set by the runtime while it holds a long-polling GET of this session
        self.waiter: Callable[[], None] | None = None

    def _schedule(self, deadline: float) -> TimerHandle:
        raise NotImplementedError

    def _now(self) -> float:
        raise NotImplementedError

    def _deliver(self, waiter: Callable[[], None]) -> None:
        waiter()

    def rearm(self, deadline: float | None) -> None:
        handle = self._handle
        if deadline is None:
            if handle is not None:
                handle.cancel()
                self._handle = None
            return
        if handle is not None:
            if self._when <= deadline:
                # fires first anyway; on firing the session re-arms for later
                return
            handle.cancel()
        self._when = deadline
        self._handle = self._schedule(deadline)

    def _fire(self) -> None:
        self._handle = None
        session = self.session
        try:
            session.on_timer(self._now())
        except Exception:  # pragma: no cover - a bug, but never kill the loop
            log.exception("timer of session %s failed", session.sid)
        deadline = session.deadline
        if deadline is not None and self._handle is None:
            self.rearm(deadline)

    def wake(self) -> None:
        waiter = self.waiter
        if waiter is not None:
            self.waiter = None
            self._deliver(waiter)

