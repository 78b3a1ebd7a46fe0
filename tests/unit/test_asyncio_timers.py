"""The asyncio runtime's TimerQueue: every session timer of a loop on one
loop timer. Order, cancellation, re-arming from inside a firing timer."""

from __future__ import annotations

import asyncio
from typing import cast

from hubbub.runtime.asyncio.core import AsyncioHost, TimerQueue


class _Session:
    """A TimedSession that records when it fired and re-arms as told."""

    def __init__(self, name: str, log: list[str], queue: TimerQueue) -> None:
        self.sid = name
        self.log = log
        self.queue = queue
        self.then: float | None = None  # the deadline after the next firing
        self.host = AsyncioHost(queue, self)

    @property
    def deadline(self) -> float | None:
        return self.then

    def on_timer(self, now: float) -> None:
        self.log.append(self.sid)
        then, self.then = self.then, None
        if then is not None:
            self.host.rearm(then)


def test_timers_fire_in_deadline_order_on_one_loop_timer() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        queue = TimerQueue(loop)
        log: list[str] = []
        now = loop.time()
        sessions = {n: _Session(n, log, queue) for n in "abcd"}
        sessions["c"].host.rearm(now + 0.03)
        sessions["a"].host.rearm(now + 0.01)
        sessions["d"].host.rearm(now + 0.03)  # a tie with c
        sessions["b"].host.rearm(now + 0.02)
        await asyncio.sleep(0.08)
        assert len(queue) == 0
        return log

    log = asyncio.run(main())
    assert log[:2] == ["a", "b"] and sorted(log[2:]) == ["c", "d"]


def test_cancel_and_move_earlier() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        queue = TimerQueue(loop)
        log: list[str] = []
        now = loop.time()
        a, b = _Session("a", log, queue), _Session("b", log, queue)
        a.host.rearm(now + 0.05)
        a.host.rearm(now + 0.01)  # earlier: the first entry is left dead
        a.host.rearm(now + 0.04)  # later: ignored, the earlier one stands
        b.host.rearm(now + 0.02)
        b.host.rearm(None)  # cancelled
        await asyncio.sleep(0.08)
        return log

    assert asyncio.run(main()) == ["a"]


def test_rearm_from_inside_a_firing_timer_and_past_deadlines() -> None:
    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        queue = TimerQueue(loop)
        log: list[str] = []
        now = loop.time()
        a = _Session("a", log, queue)
        a.then = now - 1.0  # re-arms for a time already past: fires next tick
        a.host.rearm(now + 0.01)
        b = _Session("b", log, queue)
        b.then = now + 0.03
        b.host.rearm(now + 0.01)
        await asyncio.sleep(0.08)
        return log

    log = asyncio.run(main())
    assert sorted(log) == ["a", "a", "b", "b"]
    assert log.index("b") < len(log) - 1  # b's second firing came last
    assert log[-1] == "b"


def test_cancelled_timers_are_swept_while_live_ones_fire() -> None:
    async def main() -> tuple[int, list[str]]:
        loop = asyncio.get_running_loop()
        queue = TimerQueue(loop)
        log: list[str] = []
        now = loop.time()
        keep = [_Session(f"k{i}", log, queue) for i in range(10)]
        for i, s in enumerate(keep):
            s.host.rearm(now + 0.05 + i * 0.001)
        # many sessions come and go long before their heartbeat is due
        for i in range(5000):
            gone = _Session(f"g{i}", log, queue)
            gone.host.rearm(now + 30.0)
            gone.host.rearm(None)
        size = len(queue)
        await asyncio.sleep(0.15)
        return size, log

    size, log = asyncio.run(main())
    assert size < 600  # at most about twice the sweep threshold, not 5010
    assert log == [f"k{i}" for i in range(10)]


class _RecordedLoop:
    """The two calls TimerQueue makes of its loop, with a clock the test
    sets: what is under test is where the queue asks to be woken."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.wakes: list[float] = []

    def time(self) -> float:
        return self.now

    def call_at(self, when: float, callback: object) -> _Handle:
        self.wakes.append(when)
        return _Handle()


class _Handle:
    def cancel(self) -> None:
        pass


def test_a_deadline_is_woken_for_never_early_and_late_by_at_most_1_1024_of_its_delay() -> None:
    # A client that polls right at pingInterval + pingTimeout must find its
    # session closed, as with Node's millisecond timers: the buckets that
    # share a loop timer may not make short heartbeats late by more than
    # about the loop's own precision.
    for start in (1000.0, 12_345.678, 98_765.4321):
        for delay in (0.001, 0.2, 0.3, 0.5, 1.0, 5.0, 25.0, 45.0):
            loop = _RecordedLoop(start)
            queue = TimerQueue(cast(asyncio.AbstractEventLoop, loop))
            host = AsyncioHost(queue, _Session("s", [], queue))
            host.rearm(start + delay)
            (wake,) = loop.wakes
            assert start + delay <= wake <= start + delay + max(delay / 1024, 2.0**-12), (
                start, delay, wake - start - delay)
