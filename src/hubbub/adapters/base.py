"""The adapter interface, modelled on socket.io-adapter's.

One adapter instance per server namespace. It owns membership (rooms <->
socket ids) and carries every operation that may span processes:
broadcasts (with or without acks), fetch_sockets, sockets_join/leave,
disconnect_sockets, server_side_emit and session persistence for
connection state recovery. The in-memory adapter is the default; cluster
adapters (Redis) override the operations that cross processes.

Operations that must wait for other processes return the runtime's waitable
(``await`` it on asyncio; under gevent it is the value itself).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubbub.protocol.socketio import Packet
    from hubbub.server_namespace import ServerNamespace
    from hubbub.socket import Socket


@dataclass(frozen=True, slots=True)
class BroadcastFlags:
    local: bool = False
    volatile: bool = False
    compress: bool = True
    timeout: float | None = None


@dataclass(frozen=True, slots=True)
class BroadcastOptions:
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


class Adapter:
    """Base class: the interface and the local (single-process) behaviour."""

    def __init__(self, nsp: ServerNamespace) -> None:
        self.nsp = nsp
        self.rooms: dict[str, set[str]] = {}
        self.sids: dict[str, set[str]] = {}

    # -- lifecycle ----------------------------------------------------------

    def init(self) -> None:
        """Called once the namespace exists (cluster adapters subscribe here)."""

    def close(self) -> None:
        """Called when the server closes."""

    def server_count(self) -> int:
        return 1

    # -- membership ---------------------------------------------------------

    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        mine = self.sids.get(sid)
        if mine is None:
            mine = self.sids[sid] = set()
        for room in rooms:
            mine.add(room)
            members = self.rooms.get(room)
            if members is None:
                members = self.rooms[room] = set()
                self.on_create_room(room)
            if sid not in members:
                members.add(sid)
                self.on_join_room(room, sid)

    def delete(self, sid: str, room: str) -> None:
        mine = self.sids.get(sid)
        if mine is not None:
            mine.discard(room)
        self._del_member(room, sid)

    def del_all(self, sid: str) -> None:
        mine = self.sids.pop(sid, None)
        if mine is None:
            return
        for room in mine:
            self._del_member(room, sid)

    def _del_member(self, room: str, sid: str) -> None:
        members = self.rooms.get(room)
        if members is None or sid not in members:
            return
        members.discard(sid)
        self.on_leave_room(room, sid)
        if not members:
            del self.rooms[room]
            self.on_delete_room(room)

    # hooks for the server's room events (create-room, join-room, ...)
    def on_create_room(self, room: str) -> None:
        self.nsp._room_event("create-room", room)

    def on_delete_room(self, room: str) -> None:
        self.nsp._room_event("delete-room", room)

    def on_join_room(self, room: str, sid: str) -> None:
        self.nsp._room_event("join-room", room, sid)

    def on_leave_room(self, room: str, sid: str) -> None:
        self.nsp._room_event("leave-room", room, sid)

    def socket_rooms(self, sid: str) -> set[str] | None:
        return self.sids.get(sid)

    def sockets(self, rooms: Iterable[str] = ()) -> set[str]:
        """Ids of the local sockets in any of ``rooms`` (all when empty)."""
        return set(self._sids_for(BroadcastOptions(rooms=frozenset(rooms))))

    def _sids_for(self, opts: BroadcastOptions) -> list[str]:
        """Local socket ids an operation with these options applies to,
        without duplicates and in a stable order."""
        except_ids: set[str] = set()
        for room in opts.except_:
            members = self.rooms.get(room)
            if members:
                except_ids |= members
        if opts.rooms:
            out: list[str] = []
            seen: set[str] = set()
            for room in opts.rooms:
                members = self.rooms.get(room)
                if not members:
                    continue
                for sid in members:
                    if sid not in seen and sid not in except_ids:
                        seen.add(sid)
                        out.append(sid)
            return out
        return [sid for sid in self.sids if sid not in except_ids]

    def local_sockets(self, opts: BroadcastOptions) -> list[Socket]:
        sockets = self.nsp.sockets
        recovering = self.nsp._recovering
        out = []
        for sid in self._sids_for(opts):
            socket = sockets.get(sid) or (recovering.get(sid) if recovering else None)
            if socket is not None:
                out.append(socket)
        return out

    # -- broadcasting -----------------------------------------------------------

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Send ``packet`` to every matching socket, encoded once."""
        self.nsp._deliver(packet, opts, self.local_sockets(opts))

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        client_count: Callable[[int], None],
        ack: Callable[[list[Any]], None],
    ) -> None:
        """Like broadcast, each client's ack goes to ``ack``; ``client_count``
        learns how many answers to expect (called once per process)."""
        sockets = self.local_sockets(opts)
        self.nsp._deliver(packet, opts, sockets, ack)
        client_count(len(sockets))

    # -- operations on matching sockets -------------------------------------------

    def fetch_sockets(self, opts: BroadcastOptions, done: Callable[[list[Any]], None]) -> None:
        """``done`` gets the matching sockets (remote ones too, in a cluster)."""
        done(list(self.local_sockets(opts)))

    def add_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        for socket in self.local_sockets(opts):
            socket.join(*rooms)

    def del_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        for socket in self.local_sockets(opts):
            for room in rooms:
                socket.leave(room)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        for socket in self.local_sockets(opts):
            socket.disconnect(close)

    def server_side_emit(self, packet: list[Any], ack: Callable[..., None] | None = None) -> None:
        """Emit to the other servers of the cluster; alone, there is nobody."""
        if ack is not None:
            ack(None, [])

    # -- connection state recovery ---------------------------------------------------

    def persist_session(self, session: PersistedSession) -> None:
        pass

    def restore_session(
        self, pid: str, offset: str, done: Callable[[PersistedSession | None], None]
    ) -> None:
        done(None)

    def record_packet(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Called before delivering a recoverable packet (recovery adapters
        append the offset to ``packet.data``)."""
