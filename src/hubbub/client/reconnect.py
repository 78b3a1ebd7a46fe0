"""Reconnection as socket.io-client does it, as a pure state machine.

After a connection is lost (or a reconnection attempt fails) the client
waits ``delay * 2**attempts``, capped at ``delay_max``, moved up or down by
up to ``randomization_factor`` of itself (engine.io-client's ``Backoff``),
then tries again; after ``attempts`` failed tries it gives up. A success
resets the count. It takes ``now`` and a random number in [0, 1) for each
decision and never reads a clock or a random source itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = ["Backoff", "Reconnection"]


@dataclass(frozen=True, slots=True)
class Backoff:
    delay: float = 1.0
    delay_max: float = 5.0
    randomization_factor: float = 0.5

    def duration(self, attempt: int, rand: float) -> float:
        """How long to wait before try number ``attempt`` (0 for the first)."""
        base = self.delay * 2.0 ** min(attempt, 64)
        if self.randomization_factor:
            deviation = math.floor(rand * self.randomization_factor * base * 1000) / 1000
            base = base - deviation if math.floor(rand * 10) & 1 == 0 else base + deviation
        return max(0.0, min(base, self.delay_max))


class Reconnection:
    """When to try again, and when to give up."""

    def __init__(self, backoff: Backoff, attempts: float = math.inf) -> None:
        self.backoff = backoff
        self.attempts = attempts
        self.attempt = 0  # tries made since the last success

    def next_try(self, now: float, rand: float) -> float | None:
        """The time of the next try, or None once every try was spent."""
        if self.attempt >= self.attempts:
            return None
        when = now + self.backoff.duration(self.attempt, rand)
        self.attempt += 1
        return when

    def succeeded(self) -> None:
        self.attempt = 0
