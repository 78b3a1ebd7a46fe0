"""Plain values every layer shares: disconnect reasons, broadcast options,
what connection state recovery keeps. Nothing here imports the rest of
hubbub."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any


class DisconnectReason(str, enum.Enum):
    """Why a client left, with the words Node's socket.io uses (a member
    compares equal to its string, so ``reason == "transport close"`` holds)."""

    #: the client's connection broke, or it sent nonsense it could not explain
    TRANSPORT_ERROR = "transport error"
    #: the client closed its connection (or the connection went away)
    TRANSPORT_CLOSE = "transport close"
    #: the server closed the connection (Engine.IO's own reasons)
    FORCED_CLOSE = "forced close"
    #: no heartbeat in time
    PING_TIMEOUT = "ping timeout"
    #: a packet that could not be decoded
    PARSE_ERROR = "parse error"
    #: the server is stopping
    SERVER_SHUTTING_DOWN = "server shutting down"
    #: ``socket.disconnect(close=True)`` and the like
    FORCED_SERVER_CLOSE = "forced server close"
    #: the client left the namespace (``socket.disconnect()`` on the client)
    CLIENT_NAMESPACE_DISCONNECT = "client namespace disconnect"
    #: the server made the socket leave the namespace
    SERVER_NAMESPACE_DISCONNECT = "server namespace disconnect"
    #: hubbub's own: the client fell more than ``max_buffered_bytes`` behind
    SLOW_CONSUMER = "slow consumer"

    # the plain string in logs and f-strings on every Python version, and
    # the string's hash, so a member and its string find each other in sets
    def __str__(self) -> str:
        return str.__str__(self)

    def __format__(self, spec: str) -> str:
        return str.__format__(self, spec)

    __hash__ = str.__hash__


#: the reasons after which connection state recovery keeps a socket's state
#: (the client did not mean to leave)
RECOVERABLE_REASONS = frozenset(
    {
        DisconnectReason.TRANSPORT_ERROR,
        DisconnectReason.TRANSPORT_CLOSE,
        DisconnectReason.FORCED_CLOSE,
        DisconnectReason.PING_TIMEOUT,
        DisconnectReason.SERVER_SHUTTING_DOWN,
        DisconnectReason.FORCED_SERVER_CLOSE,
    }
)


@dataclass(frozen=True, slots=True)
class BroadcastFlags:
    local: bool = False
    volatile: bool = False
    compress: bool = True
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class BroadcastOptions:
    """Which sockets an operation applies to: those in any of ``rooms`` (all
    when empty) and in none of ``except_``."""

    rooms: frozenset[str] = frozenset()
    except_: frozenset[str] = frozenset()
    flags: BroadcastFlags = field(default_factory=BroadcastFlags)


@dataclass(slots=True)
class PersistedSession:
    """What connection state recovery keeps of a disconnected socket."""

    sid: str
    pid: str
    rooms: list[str]
    data: Any
    disconnected_at: float = 0.0
    missed_packets: list[list[Any]] = field(default_factory=list)


@dataclass
class RecoveryOptions:
    """Connection state recovery: a client that reconnects within
    ``max_disconnection_duration`` seconds gets its id, rooms and data back
    and every packet it missed; ``skip_middlewares`` skips the connection
    middlewares on a successful recovery."""

    max_disconnection_duration: float = 120.0
    skip_middlewares: bool = True
