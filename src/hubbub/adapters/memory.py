"""The in-memory adapter: the embedded default, one process.

With connection state recovery on, it also keeps the recent broadcast
packets (with their offsets) and the sessions of disconnected sockets, as
socket.io-adapter's SessionAwareAdapter does.
"""

from __future__ import annotations

import secrets
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from hubbub.adapters.base import Adapter, AdapterNamespace, BroadcastOptions, PersistedSession
from hubbub.socketio.codec import Packet, PacketType


class _Stored:
    __slots__ = ("data", "emitted_at", "id", "opts")

    def __init__(self, id: str, opts: BroadcastOptions, data: list[Any], emitted_at: float) -> None:
        self.id = id
        self.opts = opts
        self.data = data
        self.emitted_at = emitted_at


def included(rooms: list[str], opts: BroadcastOptions) -> bool:
    included = not opts.rooms or any(r in opts.rooms for r in rooms)
    return included and not any(r in opts.except_ for r in rooms)


class InMemoryAdapter(Adapter):
    """The default adapter: one process's rooms, in memory. With connection
    state recovery on, it keeps the sessions of disconnected sockets and the
    packets broadcast since, for ``max_disconnection_duration`` seconds."""
    def __init__(self, nsp: AdapterNamespace) -> None:
        super().__init__(nsp)
        recovery = nsp.recovery
        self.recovery = recovery is not None
        self.max_disconnection = recovery.max_disconnection_duration if recovery else 0.0
        self._sessions: dict[str, PersistedSession] = {}
        self._packets: deque[_Stored] = deque()
        self._index: dict[str, int] = {}
        self._base = 0  # absolute position of _packets[0]

    @staticmethod
    def _now() -> float:
        # wall-clock: recovery windows are minutes long and survive no restart
        return time.time()

    def _prune(self, now: float) -> None:
        threshold = now - self.max_disconnection
        for pid in [p for p, s in self._sessions.items() if s.disconnected_at < threshold]:
            del self._sessions[pid]
        packets = self._packets
        while packets and packets[0].emitted_at < threshold:
            old = packets.popleft()
            self._index.pop(old.id, None)
            self._base += 1

    def record_packet(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Keep a broadcast event (with connection state recovery on) so that a
        socket that reconnects in time gets it; tags it with its offset."""
        if not self.recovery or packet.type is not PacketType.EVENT or packet.id is not None:
            return
        if opts.flags.volatile:
            return
        offset = secrets.token_urlsafe(9)
        data: list[Any] = packet.data
        data.append(offset)
        self._store(offset, opts, data)

    def _store(self, offset: str, opts: BroadcastOptions, data: list[Any]) -> None:
        """Keep a recoverable packet's data (its offset last) for the window."""
        now = self._now()
        self._index[offset] = self._base + len(self._packets)
        self._packets.append(_Stored(offset, opts, data, now))
        if len(self._packets) % 256 == 0:
            self._prune(now)

    def persist_session(self, session: PersistedSession) -> None:
        """Keep a disconnected socket's session until ``max_disconnection_duration``
        passes (with connection state recovery on)."""
        if not self.recovery:
            return
        now = self._now()
        session.disconnected_at = now
        self._sessions[session.pid] = session
        self._prune(now)

    def restore_session(
        self, pid: str, offset: str, done: Callable[[PersistedSession | None], None]
    ) -> None:
        done(self._restore(pid, offset))

    def _restore(self, pid: str, offset: str) -> PersistedSession | None:
        if not self.recovery:
            return None
        session = self._sessions.pop(pid, None)
        if session is None:
            return None
        return self._with_missed(session, offset)

    def _with_missed(self, session: PersistedSession, offset: str) -> PersistedSession | None:
        """The session with the packets after ``offset`` its rooms would have
        received; None when it expired or the offset is not known (any more)."""
        now = self._now()
        if session.disconnected_at + self.max_disconnection < now:
            return None
        position = self._index.get(offset)
        if position is None:
            return None  # the offset is unknown or too old: a fresh session
        missed = []
        start = position - self._base + 1
        for i in range(max(start, 0), len(self._packets)):
            stored = self._packets[i]
            if included(session.rooms, stored.opts):
                missed.append(stored.data)
        session.missed_packets = missed
        return session
