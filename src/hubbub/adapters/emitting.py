"""What every emitter does, whatever carries its messages.

An emitter reaches the clients of a cluster from a process that runs no
server (a job, a web view, a script). Its calls are the same over Redis
(``adapters.redis.emitter``) and over the IPC links of ``hubbub run
--workers N`` (``runtime.ipc_emitter``); only the :class:`Selection` that
writes the messages differs. :class:`Emitting` is the public face they share.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import Field, replace
from typing import Any, ClassVar, Protocol, TypeVar

from hubbub.types import BroadcastOptions

__all__ = ["Emitting", "Selecting", "Selection", "namespace_name", "room_names"]

_E = TypeVar("_E", bound="Emitting")
_S = TypeVar("_S", bound="Selecting")


def namespace_name(nsp: str) -> str:
    """``nsp`` with its leading slash."""
    return nsp if nsp.startswith("/") else "/" + nsp


def room_names(rooms: tuple[str | Iterable[str], ...]) -> frozenset[str]:
    """Rooms given one by one or as iterables, as one set."""
    out: set[str] = set()
    for r in rooms:
        out.update((r,) if isinstance(r, str) else r)
    return frozenset(out)


class Selection(Protocol):
    """Rooms and flags of one namespace, and the calls that act on the
    sockets they select. Each selecting call returns a new selection; each
    acting call returns how many servers (or workers) took the message."""

    @property
    def nsp(self) -> str: ...

    def of(self, nsp: str) -> Selection:
        """Every socket of namespace ``nsp``, on the same cluster."""
        ...

    def to(self, *rooms: str | Iterable[str]) -> Selection: ...
    def in_(self, *rooms: str | Iterable[str]) -> Selection: ...
    def except_(self, *rooms: str | Iterable[str]) -> Selection: ...
    @property
    def volatile(self) -> Selection: ...
    def compress(self, value: bool = True) -> Selection: ...
    def emit(self, event: str, *args: Any) -> int: ...
    def sockets_join(self, *rooms: str) -> int: ...
    def sockets_leave(self, *rooms: str) -> int: ...
    def disconnect_sockets(self, close: bool = False) -> int: ...
    def server_side_emit(self, event: str, *args: Any) -> int: ...


class Selecting:
    """The selecting calls of a :class:`Selection`, for a frozen dataclass
    with an ``opts`` field: each returns a copy with other options."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]
    opts: BroadcastOptions

    def to(self: _S, *rooms: str | Iterable[str]) -> _S:
        """Also select the sockets in any of ``rooms``."""
        return replace(self, opts=replace(self.opts, rooms=self.opts.rooms | room_names(rooms)))

    in_ = to

    def except_(self: _S, *rooms: str | Iterable[str]) -> _S:
        """Leave out the sockets in any of ``rooms``."""
        return replace(
            self, opts=replace(self.opts, except_=self.opts.except_ | room_names(rooms))
        )

    @property
    def volatile(self: _S) -> _S:
        """Emits that clients not ready for them may miss."""
        return replace(self, opts=replace(self.opts, flags=replace(self.opts.flags, volatile=True)))

    def compress(self: _S, value: bool = True) -> _S:
        """Whether the servers compress the packets."""
        return replace(
            self, opts=replace(self.opts, flags=replace(self.opts.flags, compress=value))
        )


class Emitting:
    """Emits into one namespace of a cluster through ``_selection``, a
    selection of the whole namespace (no rooms, no flags)."""

    _selection: Selection

    @property
    def nsp(self) -> str:
        """The namespace this emitter emits into."""
        return self._selection.nsp

    def of(self: _E, nsp: str) -> _E:
        """An emitter for namespace ``nsp``, sharing this one's connection."""
        other = copy.copy(self)
        other._selection = self._selection.of(nsp)
        return other

    def emit(self, event: str, *args: Any) -> int:
        """Emit ``event`` to every client of the namespace, on every server;
        returns how many servers (workers) took it."""
        return self._selection.emit(event, *args)

    def to(self, *rooms: str | Iterable[str]) -> Selection:
        """Only the clients in any of these rooms (a socket id is a room too). Chainable."""
        return self._selection.to(*rooms)

    def in_(self, *rooms: str | Iterable[str]) -> Selection:
        """The same as :meth:`to`."""
        return self._selection.to(*rooms)

    def except_(self, *rooms: str | Iterable[str]) -> Selection:
        """Leave out the clients in any of these rooms. Chainable."""
        return self._selection.except_(*rooms)

    @property
    def volatile(self) -> Selection:
        """Emits that clients not ready to receive may miss."""
        return self._selection.volatile

    def compress(self, value: bool = True) -> Selection:
        """Whether the servers compress the packets."""
        return self._selection.compress(value)

    def sockets_join(self, *rooms: str) -> int:
        """Every socket of the namespace, on every server, joins ``rooms``."""
        return self._selection.sockets_join(*rooms)

    def sockets_leave(self, *rooms: str) -> int:
        """Every socket of the namespace, on every server, leaves ``rooms``."""
        return self._selection.sockets_leave(*rooms)

    def disconnect_sockets(self, close: bool = False) -> int:
        """Disconnect every socket of the namespace, on every server;
        ``close`` closes their whole connections."""
        return self._selection.disconnect_sockets(close)

    def server_side_emit(self, event: str, *args: Any) -> int:
        """Every server's ``@sio.on_server_side_emit(event)`` handlers get
        ``args`` (no acknowledgements from an emitter, as in Node)."""
        return self._selection.server_side_emit(event, *args)

    def close(self) -> None:
        """Let the connection go (a no-op where there is none to keep)."""
