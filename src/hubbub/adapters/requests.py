"""Bookkeeping for requests that wait for other servers' answers (loop side).

fetch_sockets, server_side_emit with an ack and the classic adapter's
room queries send one request and collect one answer per other server,
until they have them all or a timeout fires. Broadcasts with acks are
different (each server reports its client count, then each client's ack
comes on its own) and are kept in :class:`AckRequests`.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from hubbub.runtime.contract import Scheduler

log = logging.getLogger("hubbub.redis")


def request_id() -> str:
    return secrets.token_hex(8)


@dataclass(slots=True)
class Pending:
    """One request: answers are collected in ``items`` until ``expected``."""

    kind: int
    expected: int
    finish: Callable[[Pending, bool], None]  # (request, timed_out)
    items: list[Any] = field(default_factory=list)
    received: int = 0
    timer: Any = None


def reply_with_items(reply: Callable[..., None]) -> Callable[[Pending, bool], None]:
    """A ``finish`` calling ``reply(error, items)``: a TimeoutError when the
    request timed out before every answer came, else None."""

    def finish(pending: Pending, timed_out: bool) -> None:
        error = None
        if timed_out:
            error = TimeoutError(
                f"timeout reached: only {pending.received} responses received "
                f"out of {pending.expected}"
            )
        reply(error, pending.items)

    return finish


T = TypeVar("T")


class _ById(Generic[T]):
    """Requests this server started, by request id."""

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self._requests: dict[str, T] = {}

    def __contains__(self, rid: object) -> bool:
        return rid in self._requests

    def get(self, rid: Any) -> T | None:
        return self._requests.get(rid) if isinstance(rid, str) else None


class PendingRequests(_ById[Pending]):
    def ask(self, pending: Pending, timeout: float, send: Callable[[str], None]) -> None:
        """Send the request (``send(request_id)``) and collect its answers in
        ``pending``; with none to wait for (no other server), finish at once."""
        if pending.received >= pending.expected:
            pending.finish(pending, False)
            return
        rid = request_id()
        self._requests[rid] = pending

        def expire() -> None:
            if self._requests.pop(rid, None) is pending:
                log.warning(
                    "cluster request %s timed out: %d of %d servers answered",
                    rid,
                    pending.received,
                    pending.expected,
                )
                pending.finish(pending, True)

        pending.timer = self.scheduler.need().call_later(timeout, expire)
        send(rid)

    def answered(self, rid: object, pending: Pending) -> None:
        """One more answer; finishes the request when it has them all."""
        pending.received += 1
        if pending.received >= pending.expected:
            self.complete(rid, pending)

    def complete(self, rid: object, pending: Pending) -> None:
        if not isinstance(rid, str) or self._requests.pop(rid, None) is not pending:
            return
        if pending.timer is not None:
            pending.timer.cancel()
        pending.finish(pending, False)


@dataclass(slots=True)
class AckRequest:
    client_count: Callable[[int], None]
    ack: Callable[[list[Any]], None]


class AckRequests(_ById[AckRequest]):
    """Broadcasts with acks this server started, by request id; forgotten
    after the broadcast's timeout (nobody can tell when the last ack came)."""

    def start(
        self,
        client_count: Callable[[int], None],
        ack: Callable[[list[Any]], None],
        keep_for: float,
    ) -> str:
        """Register a broadcast with acks; returns its new request id."""
        rid = request_id()
        self._requests[rid] = AckRequest(client_count, ack)

        def forget() -> None:
            self._requests.pop(rid, None)

        self.scheduler.need().call_later(keep_for, forget)
        return rid
