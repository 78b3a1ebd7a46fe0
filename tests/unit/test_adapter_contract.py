"""The adapter contract (docs/adapters.md), run against the memory adapter
and against :class:`DictAdapter`, an adapter written here from scratch as a
third party would: it subclasses nothing, keeps membership in plain dicts,
and uses only the public names of hubbub (``AdapterNamespace``,
``BroadcastOptions``, ``PersistedSession``, ``Packet``). Both run under a
real :class:`hubbub.Server` with in-process clients.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from sio_helpers import RawClient, eventually, run, settle

import hubbub
from hubbub.adapters import AdapterNamespace, BroadcastOptions, InMemoryAdapter, PersistedSession
from hubbub.socketio.codec import Packet, PacketType


class DictAdapter:
    """A complete single-process adapter on the public contract only."""

    def __init__(self, nsp: AdapterNamespace) -> None:
        self.nsp = nsp
        self.members: dict[str, set[str]] = {}  # room -> socket ids
        self.joined: dict[str, set[str]] = {}  # socket id -> rooms
        self.sessions: dict[str, PersistedSession] = {}
        self.log: list[tuple[str, BroadcastOptions, list[Any]]] = []  # (offset, opts, data)
        self.calls: list[str] = []

    # lifecycle
    def init(self) -> None:
        self.calls.append("init")

    def close(self) -> None:
        self.calls.append("close")

    def server_count(self) -> int:
        return 1

    # membership
    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        mine = self.joined.setdefault(sid, set())
        for room in rooms:
            members = self.members.get(room)
            if members is None:
                members = self.members[room] = set()
                self.nsp.room_event("create-room", room)
            if sid not in members:
                members.add(sid)
                mine.add(room)
                self.nsp.room_event("join-room", room, sid)

    def delete(self, sid: str, room: str) -> None:
        self.joined.get(sid, set()).discard(room)
        members = self.members.get(room)
        if members is None or sid not in members:
            return
        members.discard(sid)
        self.nsp.room_event("leave-room", room, sid)
        if not members:
            del self.members[room]
            self.nsp.room_event("delete-room", room)

    def del_all(self, sid: str) -> None:
        for room in sorted(self.joined.get(sid, ())):
            self.delete(sid, room)
        self.joined.pop(sid, None)

    def socket_rooms(self, sid: str) -> set[str] | None:
        return self.joined.get(sid)

    @property
    def rooms(self) -> dict[str, set[str]]:
        return {room: set(members) for room, members in self.members.items()}

    @property
    def sids(self) -> dict[str, set[str]]:
        return {sid: set(rooms) for sid, rooms in self.joined.items()}

    def sockets(self, rooms: Iterable[str] = ()) -> set[str]:
        return {s.id for s in self._local(BroadcastOptions(rooms=frozenset(rooms)))}

    def _local(self, opts: BroadcastOptions) -> list[Any]:
        excluded: set[str] = set()
        for room in opts.except_:
            excluded |= self.members.get(room, set())
        if opts.rooms:
            ids: set[str] = set()
            for room in opts.rooms:
                ids |= self.members.get(room, set())
        else:
            ids = set(self.joined)
        out = []
        for sid in sorted(ids - excluded):
            socket = self.nsp.sockets.get(sid) or self.nsp.recovering.get(sid)
            if socket is not None:
                out.append(socket)
        return out

    # broadcasting
    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        self.nsp.deliver(packet, opts, self._local(opts))

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        client_count: Callable[[int], None],
        ack: Callable[[list[Any]], None],
    ) -> None:
        sockets = self._local(opts)
        self.nsp.deliver(packet, opts, sockets, ack)
        client_count(len(sockets))

    # operations on selected sockets
    def fetch_sockets(self, opts: BroadcastOptions, done: Callable[[list[Any]], None]) -> None:
        done(self._local(opts))

    def add_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        for socket in self._local(opts):
            socket.join(*rooms)

    def del_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        for socket in self._local(opts):
            for room in rooms:
                socket.leave(room)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        for socket in self._local(opts):
            socket.disconnect(close)

    def server_side_emit(self, packet: list[Any], ack: Callable[..., None] | None = None) -> None:
        if ack is not None:
            ack(None, [])  # alone: nobody to answer

    # connection state recovery
    def record_packet(self, packet: Packet, opts: BroadcastOptions) -> None:
        recovery = self.nsp.recovery
        if recovery is None or packet.type is not PacketType.EVENT or packet.id is not None:
            return
        if opts.flags.volatile:
            return
        offset = secrets.token_hex(6)
        packet.data.append(offset)
        self.log.append((offset, opts, packet.data))

    def persist_session(self, session: PersistedSession) -> None:
        if self.nsp.recovery is not None:
            self.sessions[session.pid] = session

    def restore_session(
        self, pid: str, offset: str, done: Callable[[PersistedSession | None], None]
    ) -> None:
        session = self.sessions.pop(pid, None)
        offsets = [entry[0] for entry in self.log]
        if session is None or offset not in offsets:
            done(None)
            return
        for _, opts, data in self.log[offsets.index(offset) + 1 :]:
            rooms = set(session.rooms)
            if (not opts.rooms or rooms & opts.rooms) and not rooms & opts.except_:
                session.missed_packets.append(data)
        done(session)


ADAPTERS = {"memory": InMemoryAdapter, "dict": DictAdapter}


@pytest.fixture(params=sorted(ADAPTERS))
def make_server(request: pytest.FixtureRequest) -> Callable[..., hubbub.Server]:
    factory = ADAPTERS[request.param]

    def make(**options: Any) -> hubbub.Server:
        return hubbub.Server(adapter=factory, **options)

    return make


def _connected(sio: hubbub.Server, n: int) -> list[RawClient]:
    clients = [RawClient(sio) for _ in range(n)]
    for c in clients:
        c.connect("/")
    return clients


def _ids(sio: hubbub.Server) -> list[str]:
    return sorted(sio.sockets.sockets)


def _events(client: RawClient, name: str) -> list[list[Any]]:
    return [e[1:] for e in client.events() if e[0] == name]


def _socket_of(sio: hubbub.Server, client: RawClient) -> hubbub.Socket:
    return sio.clients[client.session.sid].sockets["/"]


def test_room_broadcasts_reach_members_only(make_server: Callable[..., hubbub.Server]) -> None:
    async def scenario() -> None:
        sio = make_server()
        a, b, c = _connected(sio, 3)
        await settle()
        sa, sb = _socket_of(sio, a), _socket_of(sio, b)
        for s in (sa, sb):
            s.join("room")
        sio.to("room").emit("news", 1)
        sio.to("room").except_(sa.id).emit("news", 2)
        sio.to(sb.id).emit("news", 3)  # a socket's own room
        sio.emit("news", 4, skip_sid=[sa.id, sb.id])
        await settle()
        assert _events(a, "news") == [[1]]
        assert _events(b, "news") == [[1], [2], [3]]
        assert _events(c, "news") == [[4]]

    run(scenario())


def test_membership_and_room_events(make_server: Callable[..., hubbub.Server]) -> None:
    async def scenario() -> None:
        sio = make_server()
        events: list[tuple[Any, ...]] = []
        for name in ("create-room", "join-room", "leave-room", "delete-room"):
            sio.on(name, lambda *args, name=name: events.append((name, *args)))
        (client,) = _connected(sio, 1)
        await settle()
        socket = next(iter(sio.sockets.sockets.values()))
        socket.join("a", "b")
        await settle()
        assert socket.rooms == {socket.id, "a", "b"}
        assert sio.sockets.adapter.socket_rooms(socket.id) == {socket.id, "a", "b"}
        assert sio.sockets.adapter.sockets(["a"]) == {socket.id}
        socket.leave("a")
        await settle()
        assert ("create-room", "a") in events and ("join-room", "a", socket.id) in events
        assert ("leave-room", "a", socket.id) in events and ("delete-room", "a") in events
        client.send(Packet(PacketType.DISCONNECT, "/"))
        await settle()
        assert not sio.sockets.adapter.socket_rooms(socket.id)
        assert ("delete-room", "b") in events

    run(scenario())


def test_broadcast_acks_collect_one_answer_per_client(
    make_server: Callable[..., hubbub.Server],
) -> None:
    async def scenario() -> None:
        sio = make_server()
        clients = _connected(sio, 3)
        await settle()
        results: list[tuple[Any, list[Any]]] = []
        sio.timeout(2).emit("q", 1, callback=lambda err, res: results.append((err, res)))
        await settle()
        for i, client in enumerate(clients):
            (asked,) = [p for p in client.packets() if p.type is PacketType.EVENT]
            client.send(Packet(PacketType.ACK, "/", [f"r{i}"], asked.id))
        await eventually(lambda: bool(results))
        err, responses = results[0]
        assert err is None and sorted(responses) == ["r0", "r1", "r2"]

    run(scenario())


def test_fetch_join_leave_and_disconnect_the_selected_sockets(
    make_server: Callable[..., hubbub.Server],
) -> None:
    async def scenario() -> None:
        sio = make_server()
        _connected(sio, 3)
        await settle()
        first, *others = (sio.sockets.sockets[i] for i in _ids(sio))
        first.join("x")
        fetched = await sio.in_("x").fetch_sockets()
        assert [s.id for s in fetched] == [first.id]
        sio.except_("x").sockets_join("y")
        assert sio.sockets.adapter.sockets(["y"]) == {s.id for s in others}
        sio.in_("y").sockets_leave("y")
        assert sio.sockets.adapter.sockets(["y"]) == set()
        sio.in_("x").disconnect_sockets()
        await settle()
        assert first.id not in sio.sockets.sockets and len(sio.sockets.sockets) == 2

    run(scenario())


def test_server_side_emit_alone_gets_no_answers(
    make_server: Callable[..., hubbub.Server],
) -> None:
    async def scenario() -> None:
        sio = make_server()
        answers: list[Any] = []
        sio.server_side_emit("hello", 1, callback=lambda err, res: answers.append((err, res)))
        assert answers == [(None, [])]

    run(scenario())


def test_recovery_replays_what_a_dropped_client_missed(
    make_server: Callable[..., hubbub.Server],
) -> None:
    async def scenario() -> None:
        sio = make_server(connection_state_recovery=True)
        (old,) = _connected(sio, 1)
        await settle()
        socket = next(iter(sio.sockets.sockets.values()))
        socket.join("r")
        sio.to("r").emit("tick", 1)
        await settle()
        (connect,) = [p for p in old.packets() if p.type is PacketType.CONNECT]
        pid = connect.data["pid"]
        offset = _events(old, "tick")[0][-1]
        old.session.on_ws_closed(old.peer, 0.0)  # the transport drops
        await settle()
        sio.to("r").emit("tick", 2)
        sio.emit("tick", 3)
        new = RawClient(sio)
        new.send(Packet(PacketType.CONNECT, "/", {"pid": pid, "offset": offset}))
        await eventually(lambda: len(_events(new, "tick")) == 2)
        assert [e[0] for e in _events(new, "tick")] == [2, 3]
        assert next(iter(sio.sockets.sockets.values())).id == socket.id

    run(scenario())


def test_the_server_starts_and_closes_its_adapters() -> None:
    sio = hubbub.Server(adapter=DictAdapter)
    chat = sio.of("/chat")
    adapters = [sio.sockets.adapter, chat.adapter]
    sio.close()
    assert [a.calls for a in adapters] == [["init", "close"], ["init", "close"]]


class ClosingFactory:
    """A factory holding something of its own, as the Redis factories do."""

    def __init__(self) -> None:
        self.closed = 0

    def __call__(self, nsp: AdapterNamespace) -> DictAdapter:
        return DictAdapter(nsp)

    def close(self) -> None:
        self.closed += 1


def test_the_server_closes_a_factory_that_can_be_closed() -> None:
    factory = ClosingFactory()
    sio = hubbub.Server(adapter=factory)
    sio.close()
    assert factory.closed == 1
    # an adapter class as the factory (the default) has nothing to close:
    # its unbound close() must not be called
    for adapter in (DictAdapter, InMemoryAdapter, None):
        plain = hubbub.Server() if adapter is None else hubbub.Server(adapter=adapter)
        plain.close()
        assert plain.closed
