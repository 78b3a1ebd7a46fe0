"""The memory adapter's membership, sans-IO: a socket's own room is implicit
(not stored) yet behaves as the stored room it used to be."""

from __future__ import annotations

import random
from collections.abc import Iterable
from typing import Any

import pytest

from hubbub.adapters.base import Adapter, BroadcastOptions


class FakeNamespace:
    def __init__(self) -> None:
        self.events: list[tuple[Any, ...]] = []
        self.sockets: dict[str, Any] = {}
        self.recovering: dict[str, Any] = {}

    def room_event(self, event: str, *args: Any) -> None:
        self.events.append((event, *args))


class ReferenceAdapter:
    """Every room stored, as the adapter did before its own rooms were implicit."""

    def __init__(self) -> None:
        self.rooms: dict[str, set[str]] = {}
        self.sids: dict[str, set[str]] = {}
        self.events: list[tuple[Any, ...]] = []

    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        mine = self.sids.setdefault(sid, set())
        for room in rooms:
            mine.add(room)
            members = self.rooms.get(room)
            if members is None:
                members = self.rooms[room] = set()
                self.events.append(("create-room", room))
            if sid not in members:
                members.add(sid)
                self.events.append(("join-room", room, sid))

    def delete(self, sid: str, room: str) -> None:
        mine = self.sids.get(sid)
        if mine is not None:
            mine.discard(room)
        self._del_member(room, sid)

    def del_all(self, sid: str) -> None:
        for room in self.sids.pop(sid, set()):
            self._del_member(room, sid)

    def _del_member(self, room: str, sid: str) -> None:
        members = self.rooms.get(room)
        if members is None or sid not in members:
            return
        members.discard(sid)
        self.events.append(("leave-room", room, sid))
        if not members:
            del self.rooms[room]
            self.events.append(("delete-room", room))

    def selected(self, rooms: Iterable[str], except_: Iterable[str]) -> set[str]:
        excluded = set().union(*(self.rooms.get(r, set()) for r in except_))
        chosen = set().union(*(self.rooms.get(r, set()) for r in rooms)) if rooms else self.sids
        return {sid for sid in chosen if sid not in excluded}


def adapter() -> tuple[Adapter, FakeNamespace]:
    nsp = FakeNamespace()
    return Adapter(nsp), nsp  # type: ignore[arg-type]


def test_own_room_is_not_stored_but_behaves_as_a_room() -> None:
    a, nsp = adapter()
    a.add_all("s1", ["s1"])
    a.add_all("s2", ["s2"])
    assert nsp.events == [
        ("create-room", "s1"),
        ("join-room", "s1", "s1"),
        ("create-room", "s2"),
        ("join-room", "s2", "s2"),
    ]
    assert a._rooms == {}  # nothing stored for the connected sockets' own rooms
    assert a.rooms == {"s1": {"s1"}, "s2": {"s2"}}
    assert a.sids == {"s1": {"s1"}, "s2": {"s2"}}
    assert a.socket_rooms("s1") == {"s1"} and a.socket_rooms("nobody") is None
    assert a.has_room("s1") and not a.has_room("lobby")
    assert a.room_names() == {"s1", "s2"}
    assert a.sockets(["s1"]) == {"s1"}
    assert a.sockets() == {"s1", "s2"}
    assert a._sids_for(BroadcastOptions(except_=frozenset({"s1"}))) == ["s2"]


def test_another_socket_joining_ones_own_room() -> None:
    a, nsp = adapter()
    a.add_all("s1", ["s1"])
    a.add_all("s2", ["s2"])
    nsp.events.clear()
    a.add_all("s2", ["s1"])  # the room exists already: no create-room
    assert nsp.events == [("join-room", "s1", "s2")]
    assert a.sockets(["s1"]) == {"s1", "s2"}
    a.delete("s2", "s1")
    assert nsp.events[-1] == ("leave-room", "s1", "s2")
    assert a._rooms == {}  # implicit again
    assert a.sockets(["s1"]) == {"s1"}
    a.add_all("s2", ["s1"])
    nsp.events.clear()
    a.del_all("s1")  # its owner leaves: the room lives on with s2
    assert nsp.events == [("leave-room", "s1", "s1")]
    assert a.rooms == {"s1": {"s2"}, "s2": {"s2"}}
    a.del_all("s2")
    assert a.rooms == {} and a.sids == {}


def test_leaving_ones_own_room() -> None:
    a, nsp = adapter()
    a.add_all("s1", ["s1"])
    a.delete("s1", "lobby")  # not in it: nothing happens
    nsp.events.clear()
    a.delete("s1", "s1")
    assert nsp.events == [("leave-room", "s1", "s1"), ("delete-room", "s1")]
    assert a.sockets(["s1"]) == set() and a.sids == {"s1": set()}
    a.add_all("s1", ["lobby", "s1"])
    assert a.socket_rooms("s1") == {"lobby", "s1"}
    nsp.events.clear()
    a.del_all("s1")
    assert sorted(nsp.events) == [
        ("delete-room", "lobby"),
        ("delete-room", "s1"),
        ("leave-room", "lobby", "s1"),
        ("leave-room", "s1", "s1"),
    ]


@pytest.mark.parametrize("seed", range(20))
def test_same_behaviour_as_storing_every_room(seed: int) -> None:
    rnd = random.Random(seed)
    sids = ["a", "b", "c", "d"]
    names = [*sids, "x", "y"]
    a, nsp = adapter()
    ref = ReferenceAdapter()
    for _ in range(300):
        sid = rnd.choice(sids)
        op = rnd.random()
        if op < 0.45:
            rooms = rnd.sample(names, rnd.randint(0, 3))
            a.add_all(sid, rooms)
            ref.add_all(sid, rooms)
        elif op < 0.85:
            room = rnd.choice(names)
            a.delete(sid, room)
            ref.delete(sid, room)
        else:
            a.del_all(sid)
            ref.del_all(sid)
        assert sorted(nsp.events) == sorted(ref.events)
        nsp.events.clear()
        ref.events.clear()
        assert a.rooms == ref.rooms
        assert a.sids == ref.sids
        assert a.room_names() == set(ref.rooms)
        for name in names:
            assert a.socket_rooms(name) == ref.sids.get(name)
            assert a.has_room(name) == (name in ref.rooms)
        for _ in range(3):
            rooms = rnd.sample(names, rnd.randint(0, 2))
            except_ = rnd.sample(names, rnd.randint(0, 2))
            opts = BroadcastOptions(rooms=frozenset(rooms), except_=frozenset(except_))
            chosen = a._sids_for(opts)
            assert len(chosen) == len(set(chosen))
            assert set(chosen) == ref.selected(rooms, except_)
