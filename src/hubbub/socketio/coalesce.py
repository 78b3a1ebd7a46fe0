"""Broadcasts batched per room and tick: who gets a room's frames, and how.

A :class:`DeliveryPlan` is what one namespace knows about the recipients of
broadcasts to one set of rooms: the connections that can take shared blocks
of frames (hubbub.websocket.shared), grouped by what they are sent (their
parser and Engine.IO generation: one frame per group), and the others
(long-polling, ASGI, in-process, 0.9 and 0.6 clients, sockets not connected
yet, sockets whose outgoing events are listened to), which get each packet
the ordinary way. A plan holds until membership or a recipient's way of
receiving changes: it is stamped with the adapter's ``epoch`` and the
namespace's own count of such changes, and rebuilt when either moved.

:func:`send_planned` writes one packet after the plan: each group's frame is
appended to the group's current block, so a burst of broadcasts to a room
costs its members one queue entry per tick rather than one per broadcast.
Only the broadcast that opens a block visits every member.

The slow-consumer check (``Connection.admit``) is kept exact: a member
enters a block only while its bound plus :data:`SHARED_LIMIT` (all a block
can hold) is under ``max_buffered_bytes``, and that much is added to its
bound; the others of the group get each packet through ``write_parts``.
Volatile packets, packets with binary attachments and frames over
:data:`MAX_SHARED_FRAME` bytes go the ordinary way.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from typing import TYPE_CHECKING

from hubbub import instrumentation
from hubbub.engineio.outgoing import OutPacket
from hubbub.socketio.connection import Connection, write_parts
from hubbub.socketio.encoded import EncodedPacket
from hubbub.socketio.handlers import class_handlers
from hubbub.websocket.shared import MAX_SHARED_FRAME, SHARED_LIMIT, SharedFrames, SharedSink

if TYPE_CHECKING:
    from hubbub.socketio.codec import Parser
    from hubbub.socketio.socket import Socket

# plans kept per namespace (one per set of rooms broadcast to)
MAX_PLANS = 64
_NONE: frozenset[SharedSink] = frozenset()


class _Group:
    """The members of a plan that get the same frame."""

    __slots__ = ("block", "members", "outsiders", "parser", "version")

    def __init__(self, parser: Parser, version: int) -> None:
        self.parser = parser
        self.version = version
        self.members: list[tuple[Connection, SharedSink]] = []
        self.block: SharedFrames | None = None
        # members the current block could not take (see the module's notes)
        self.outsiders: list[tuple[Connection, SharedSink]] = []


def takes_shared(socket: Socket) -> SharedSink | None:
    """Where ``socket``'s broadcasts can go as shared blocks, or None when
    they must go the ordinary way."""
    if not socket.connected or socket.any_out:
        return None
    instance = socket.instance
    if instance is not None and "on_any_outgoing" in class_handlers(type(instance)):
        return None
    client: Connection = socket.client  # type: ignore[assignment]  # made by the server
    if client.closed:
        return None
    return client.session.shared_sink


class DeliveryPlan:
    """The recipients of broadcasts to one set of rooms, grouped."""

    __slots__ = ("by_sid", "epoch", "groups", "others", "version")

    def __init__(self, epoch: int, version: int, sockets: Iterable[Socket]) -> None:
        self.epoch = epoch
        self.version = version
        self.others: list[Socket] = []
        self.by_sid: dict[str, tuple[_Group, SharedSink]] = {}
        groups: dict[tuple[int, int], _Group] = {}
        for socket in sockets:
            sink = takes_shared(socket)
            if sink is None:
                self.others.append(socket)
                continue
            client: Connection = socket.client  # type: ignore[assignment]
            key = (id(client.parser), client.session.version)
            group = groups.get(key)
            if group is None:
                group = groups[key] = _Group(client.parser, client.session.version)
            group.members.append((client, sink))
            self.by_sid[socket.id] = (group, sink)
        self.groups = list(groups.values())


def send_planned(plan: DeliveryPlan, encoded: EncodedPacket, skip: Sequence[str] = ()) -> None:
    """Write ``encoded`` to the plan's groups, but not to the sockets whose
    ids are in ``skip`` (the plan's ``others`` are the caller's)."""
    skipped: dict[_Group, set[SharedSink]] = {}
    for sid in skip:
        entry = plan.by_sid.get(sid)
        if entry is not None:
            skipped.setdefault(entry[0], set()).add(entry[1])
    for group in plan.groups:
        parts, size = encoded.parts_and_size(group.parser)
        if not parts:  # a packet this generation has no form for
            continue
        skip_sinks = skipped.get(group, _NONE)
        frame = None
        if len(parts) == 1 and not encoded.volatile:
            part = parts[0]
            frame = part._frames[group.version] or part.ws_frame(group.version)
            if len(frame) > MAX_SHARED_FRAME:
                frame = None
        if frame is None:
            clients = [client for client, sink in group.members if sink not in skip_sinks]
            if clients:
                write_parts(clients, parts, size, encoded.packet)
            continue
        block = group.block
        if block is None or not block.fits(len(frame)):
            block = group.block = _open_block(group)
        outsiders = group.outsiders
        if outsiders:
            clients = [client for client, sink in outsiders if sink not in skip_sinks]
            if clients:
                write_parts(clients, parts, size, encoded.packet)
        block.append(frame, skip_sinks)
        if instrumentation.observed_servers:
            _report_block(group, encoded, parts, skip_sinks)


def _report_block(
    group: _Group, encoded: EncodedPacket, parts: list[OutPacket], skip: Set[SharedSink]
) -> None:
    """Observers hear of a packet appended to a shared block as of one
    written to each member in the block (``write_parts`` reports the rest)."""
    members = group.members
    if not members:
        return
    observer = members[0][0].server.scheduler.observer
    if observer is None:
        return
    outsiders = group.outsiders
    joined = [client for client, sink in members
              if sink not in skip and not client.closed and (client, sink) not in outsiders]
    if joined:
        observer.packet_sent(encoded.packet, joined, parts, None)


def _open_block(group: _Group) -> SharedFrames:
    block = SharedFrames()
    outsiders: list[tuple[Connection, SharedSink]] = []
    members = group.members
    if members:
        limit = members[0][0].server.buffer_limit - SHARED_LIMIT
        for member in members:
            client, sink = member
            if client.closed:
                continue
            bound = client._bound
            if bound <= limit:
                client._bound = bound + SHARED_LIMIT
                sink.write_shared(block, 0)  # block.join, without the call
            else:
                outsiders.append(member)
    group.outsiders = outsiders
    return block
