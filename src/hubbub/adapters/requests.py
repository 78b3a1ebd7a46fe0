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
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubbub.server import Server

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
    missing: set[str] | None = None  # uids still to answer, when known


class PendingRequests:
    def __init__(self, server: Server) -> None:
        self.server = server
        self._requests: dict[str, Pending] = {}

    def __contains__(self, rid: object) -> bool:
        return rid in self._requests

    def get(self, rid: Any) -> Pending | None:
        return self._requests.get(rid) if isinstance(rid, str) else None

    def add(self, rid: str, pending: Pending, timeout: float) -> None:
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

        pending.timer = self.server.runtime_call_later(timeout, expire)

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

    def all(self) -> list[tuple[str, Pending]]:
        return list(self._requests.items())


@dataclass(slots=True)
class AckRequest:
    client_count: Callable[[int], None]
    ack: Callable[[list[Any]], None]


class AckRequests:
    """Broadcasts with acks this server started, by request id; forgotten
    after the broadcast's timeout (nobody can tell when the last ack came)."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self._requests: dict[str, AckRequest] = {}

    def __contains__(self, rid: object) -> bool:
        return rid in self._requests

    def get(self, rid: Any) -> AckRequest | None:
        return self._requests.get(rid) if isinstance(rid, str) else None

    def add(self, rid: str, request: AckRequest, keep_for: float) -> None:
        self._requests[rid] = request

        def forget() -> None:
            self._requests.pop(rid, None)

        self.server.runtime_call_later(keep_for, forget)
