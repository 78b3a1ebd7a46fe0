"""The adapter interface, modelled on socket.io-adapter's; its public
contract is documented in docs/adapters.md.

One adapter instance per server namespace. It owns membership (rooms <->
socket ids) and carries every operation that may span processes:
broadcasts (with or without acks), fetch_sockets, sockets_join/leave,
disconnect_sockets, server_side_emit and session persistence for
connection state recovery. The in-memory adapter is the default; cluster
adapters (Redis) override the operations that cross processes.

An adapter reaches its namespace only through :class:`AdapterNamespace`
(and the sockets only through :class:`AdapterSocket`): the methods there
are the whole of what a third-party adapter may call.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from enum import Enum
from typing import Any, Protocol

from hubbub.runtime.contract import Scheduler
from hubbub.socketio.codec import Packet

# an adapter's vocabulary, re-exported
from hubbub.types import BroadcastFlags as BroadcastFlags
from hubbub.types import BroadcastOptions as BroadcastOptions
from hubbub.types import PersistedSession as PersistedSession
from hubbub.types import RecoveryOptions as RecoveryOptions


class AdapterSocket(Protocol):
    """A local socket, as an adapter may use it."""

    @property
    def id(self) -> str:
        """The socket's id."""
        ...

    @property
    def rooms(self) -> set[str]:
        """The rooms the socket is in, its own included."""
        ...

    @property
    def data(self) -> Any:
        """The app's data for the socket (Node's ``socket.data``)."""
        ...

    @property
    def handshake(self) -> Any:
        """Node's ``socket.handshake``: headers, query, auth, address, time,
        issued, secure, xdomain, url."""
        ...

    def join(self, *rooms: str) -> None:
        """Join ``rooms``."""
        ...

    def leave(self, room: str) -> None:
        """Leave ``room``."""
        ...

    def disconnect(self, close: bool = False) -> None:
        """Disconnect from the namespace; ``close`` closes the connection."""
        ...


class AdapterNamespace(Protocol):
    """The server namespace an adapter serves: all an adapter may use of it."""

    @property
    def name(self) -> str:
        """The namespace's name (``"/"``, ``"/chat"``)."""
        ...

    @property
    def scheduler(self) -> Scheduler:
        """The runtime: waiters, timers, handing work over from other threads."""
        ...

    @property
    def recovery(self) -> RecoveryOptions | None:
        """Connection state recovery's options (None: off)."""
        ...

    @property
    def sockets(self) -> Mapping[str, AdapterSocket]:
        """The connected local sockets by id."""
        ...

    @property
    def recovering(self) -> Mapping[str, AdapterSocket]:
        """Recovered local sockets whose connect handlers still run: already
        in their rooms, so broadcasts meanwhile are delivered (held) to them."""
        ...

    def deliver(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        sockets: list[AdapterSocket],
        ack: Callable[[list[Any]], None] | None = None,
    ) -> None:
        """Write ``packet`` to local ``sockets`` (encoded once for all); with
        ``ack``, each client's answer goes to it."""
        ...

    def room_event(self, event: str, *args: Any) -> None:
        """Fire 'create-room', 'delete-room', 'join-room' or 'leave-room'."""
        ...

    def server_side_emit_received(
        self, args: list[Any], ack: Callable[[Any], None] | None
    ) -> None:
        """Another server's ``server_side_emit(*args)``; ``ack`` (when the
        sender wants answers) takes this server's answer."""
        ...


class _Own(Enum):
    """What Adapter._sids holds for a socket in its own room and no other."""

    ONLY = 0


def _in_own(sid: str, mine: set[str] | _Own | None) -> bool:
    """Whether a socket whose _sids entry is ``mine`` is in its own room."""
    return mine is _Own.ONLY or (mine is not None and sid in mine)


class Adapter:
    """Base class: the interface and the local (single-process) behaviour."""

    def __init__(self, nsp: AdapterNamespace) -> None:
        self.nsp = nsp
        # Membership, both ways. A socket's own room (named by its id, joined
        # at connect) is implicit while the socket is its only member: it is
        # in neither map, and _sids holds _Own.ONLY for a socket in no other
        # room. Stored, it would cost every idle connection two one-member
        # sets. ``rooms`` and ``sids`` show it as stored.
        self._rooms: dict[str, set[str]] = {}
        self._sids: dict[str, set[str] | _Own] = {}

    # -- lifecycle ----------------------------------------------------------

    def init(self) -> None:
        """Called once the namespace exists (cluster adapters subscribe here)."""

    def close(self) -> None:
        """Called when the server closes."""

    def server_count(self) -> int:
        """How many servers share this namespace (1 without a cluster)."""
        return 1

    # -- membership ---------------------------------------------------------

    @property
    def rooms(self) -> dict[str, set[str]]:
        """Every local room and its members, the sockets' own rooms included
        (a copy: change membership with add_all and delete)."""
        out = {room: set(members) for room, members in self._rooms.items()}
        for sid, mine in self._sids.items():
            if sid not in out and _in_own(sid, mine):
                out[sid] = {sid}
        return out

    @property
    def sids(self) -> dict[str, set[str]]:
        """Every local socket and its rooms (a copy, as ``rooms``)."""
        return {
            sid: {sid} if mine is _Own.ONLY else set(mine) for sid, mine in self._sids.items()
        }

    def room_names(self) -> set[str]:
        """The names of every local room (``rooms`` without the members)."""
        names = set(self._rooms)
        names.update(sid for sid, mine in self._sids.items() if _in_own(sid, mine))
        return names

    def has_room(self, room: str) -> bool:
        """Whether a local socket is in ``room``."""
        return room in self._rooms or self._in_own_room(room)

    def _in_own_room(self, sid: str) -> bool:
        return _in_own(sid, self._sids.get(sid))

    def _members(self, room: str) -> Collection[str] | None:
        members = self._rooms.get(room)
        if members is None and self._in_own_room(room):
            return (room,)  # implicit: the socket alone in its own room
        return members

    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        """Socket ``sid`` joins ``rooms`` (firing create-room and join-room)."""
        sids = self._sids
        stored = self._rooms
        mine = sids.get(sid)
        for room in rooms:
            if room == sid and room not in stored:
                # its own room, implicit (see __init__)
                if _in_own(sid, mine):
                    continue
                if isinstance(mine, set) and mine:
                    mine.add(sid)
                else:  # in no other room yet: the common case, at connect
                    mine = _Own.ONLY
                sids[sid] = mine
                self.on_create_room(room)
                self.on_join_room(room, sid)
                continue
            if mine is None:
                mine = sids[sid] = set()
            elif mine is _Own.ONLY:
                mine = sids[sid] = {sid}
            mine.add(room)
            members = stored.get(room)
            if members is None:
                if self._in_own_room(room):
                    # another socket joins one's own room: stored from now on,
                    # and the room existed already (no create-room)
                    members = stored[room] = {room}
                else:
                    members = stored[room] = set()
                    self.on_create_room(room)
            if sid not in members:
                members.add(sid)
                self.on_join_room(room, sid)
        if mine is None:
            sids[sid] = set()

    def delete(self, sid: str, room: str) -> None:
        """Socket ``sid`` leaves ``room`` (firing leave-room, delete-room)."""
        mine = self._sids.get(sid)
        if mine is _Own.ONLY:
            if room != sid:
                return
            mine = self._sids[sid] = set()
            if room not in self._rooms:
                self._implicit_gone(sid)
                return
        elif mine is not None:
            if room == sid and room not in self._rooms:
                if sid in mine:
                    mine.discard(sid)
                    self._implicit_gone(sid)
                return
            mine.discard(room)
        self._del_member(room, sid)

    def del_all(self, sid: str) -> None:
        """Socket ``sid`` leaves every room (it is disconnecting)."""
        mine = self._sids.pop(sid, None)
        if mine is None:
            return
        for room in (sid,) if mine is _Own.ONLY else mine:
            if room == sid and room not in self._rooms:
                self._implicit_gone(sid)
            else:
                self._del_member(room, sid)

    def _implicit_gone(self, sid: str) -> None:
        # a socket left its own room, which it was alone in
        self.on_leave_room(sid, sid)
        self.on_delete_room(sid)

    def _del_member(self, room: str, sid: str) -> None:
        members = self._rooms.get(room)
        if members is None or sid not in members:
            return
        members.discard(sid)
        self.on_leave_room(room, sid)
        if not members:
            del self._rooms[room]
            self.on_delete_room(room)
        elif len(members) == 1 and room in members and self._in_own_room(room):
            # the others left a socket's own room: it is implicit again
            del self._rooms[room]

    # hooks for the server's room events (create-room, join-room, ...)
    def on_create_room(self, room: str) -> None:
        """A local room got its first member."""
        self.nsp.room_event("create-room", room)

    def on_delete_room(self, room: str) -> None:
        """A local room lost its last member."""
        self.nsp.room_event("delete-room", room)

    def on_join_room(self, room: str, sid: str) -> None:
        """Socket ``sid`` joined ``room``."""
        self.nsp.room_event("join-room", room, sid)

    def on_leave_room(self, room: str, sid: str) -> None:
        """Socket ``sid`` left ``room``."""
        self.nsp.room_event("leave-room", room, sid)

    def socket_rooms(self, sid: str) -> set[str] | None:
        """The rooms of local socket ``sid``; None for an unknown socket."""
        mine = self._sids.get(sid)
        return {sid} if mine is _Own.ONLY else mine

    def sockets(self, rooms: Iterable[str] = ()) -> set[str]:
        """Ids of the local sockets in any of ``rooms`` (all when empty)."""
        return set(self._sids_for(BroadcastOptions(rooms=frozenset(rooms))))

    def _sids_for(self, opts: BroadcastOptions) -> list[str]:
        """Local socket ids an operation with these options applies to,
        without duplicates and in a stable order."""
        except_ids: set[str] = set()
        for room in opts.except_:
            members = self._members(room)
            if members:
                except_ids.update(members)
        if opts.rooms:
            out: list[str] = []
            seen: set[str] = set()
            for room in opts.rooms:
                members = self._members(room)
                if not members:
                    continue
                for sid in members:
                    if sid not in seen and sid not in except_ids:
                        seen.add(sid)
                        out.append(sid)
            return out
        return [sid for sid in self._sids if sid not in except_ids]

    def local_sockets(self, opts: BroadcastOptions) -> list[AdapterSocket]:
        """The local sockets ``opts`` selects."""
        sockets = self.nsp.sockets
        recovering = self.nsp.recovering
        out = []
        for sid in self._sids_for(opts):
            socket = sockets.get(sid) or (recovering.get(sid) if recovering else None)
            if socket is not None:
                out.append(socket)
        return out

    # -- broadcasting -----------------------------------------------------------

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Send ``packet`` to every matching socket, encoded once."""
        self.nsp.deliver(packet, opts, self.local_sockets(opts))

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
        self.nsp.deliver(packet, opts, sockets, ack)
        client_count(len(sockets))

    # -- operations on matching sockets -------------------------------------------

    def fetch_sockets(self, opts: BroadcastOptions, done: Callable[[list[Any]], None]) -> None:
        """``done`` gets the matching sockets (remote ones too, in a cluster)."""
        done(list(self.local_sockets(opts)))

    def add_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """The sockets ``opts`` selects join ``rooms`` (``sockets_join``)."""
        for socket in self.local_sockets(opts):
            socket.join(*rooms)

    def del_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        """The sockets ``opts`` selects leave ``rooms`` (``sockets_leave``)."""
        for socket in self.local_sockets(opts):
            for room in rooms:
                socket.leave(room)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        """The sockets ``opts`` selects disconnect (``close``: their connections)."""
        for socket in self.local_sockets(opts):
            socket.disconnect(close)

    def server_side_emit(self, packet: list[Any], ack: Callable[..., None] | None = None) -> None:
        """Emit to the other servers of the cluster; alone, there is nobody."""
        if ack is not None:
            ack(None, [])

    # -- connection state recovery ---------------------------------------------------

    def persist_session(self, session: PersistedSession) -> None:
        """Keep a disconnected socket's session for connection state recovery
        (this base keeps nothing)."""

    def restore_session(
        self, pid: str, offset: str, done: Callable[[PersistedSession | None], None]
    ) -> None:
        """Look up the session ``pid`` persisted, with the packets sent after
        ``offset``; ``done(session)`` gets it, or None when it cannot be restored."""
        done(None)

    def record_packet(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Called before delivering a recoverable packet (recovery adapters
        append the offset to ``packet.data``)."""
