"""What the core asks of a runtime (asyncio or gevent), and nothing more."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from hubbub.session.engine import EngineSession, SessionHost


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

    def make_host(self, session: EngineSession) -> SessionHost:
        """The timer and poll-wake door for one session."""
        ...
