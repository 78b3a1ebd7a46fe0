"""``RedisStreamsAdapter``: the cluster protocol over a Redis stream, as
@socket.io/redis-streams-adapter 0.3 does it, with connection state
recovery across servers.

    sio = hubbub.Server(
        adapter=RedisStreamsAdapter.factory("redis://localhost:6379/0"),
        connection_state_recovery=True,
    )

Broadcasts and room operations are appended to the stream ``socket.io``
(XADD, trimmed to about ``max_len`` entries); every server reads it with
XREAD BLOCK. The stream entry id is the broadcast's offset: clients get it
as the packet's last argument, and a client that reconnects, to this server
or another one, with its session id and last offset gets its rooms and data
back (kept under ``sio:session:<pid>`` for the recovery window) plus every
broadcast after that offset its rooms would have received (XRANGE).
Messages nobody replays (broadcasts with acks, fetch_sockets,
server_side_emit) and responses go over plain pub/sub, on
``socket.io#<nsp>#`` and ``socket.io#<nsp>#<uid>#``; the subscriber count of
the first is the server count.

Because the offset comes from Redis, a broadcast reaches this process's
sockets once its XADD is done (if Redis is unreachable: at once, without an
offset; if Redis does not answer within ``local_delay`` seconds, as when the
network silently drops packets: then, without an offset). Emits to a single
socket are not stored: a client misses none of them unless its transport
dies with them in flight.
"""

from __future__ import annotations

import base64
import logging
import re
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from hubbub.adapters.base import Adapter, AdapterNamespace, BroadcastOptions, PersistedSession
from hubbub.adapters.cluster import ClusterAdapter
from hubbub.adapters.memory import included
from hubbub.adapters.redis.link import RedisLink, as_text
from hubbub.adapters.wire.broadcast import (
    ClusterDecodeError,
    opts_from_wire,
    opts_to_wire,
    packet_to_wire,
)
from hubbub.adapters.wire.cluster import (
    MessageType,
    decode_message,
    decode_stream_entry,
    encode_msgpack,
    encode_stream_entry,
    is_ephemeral,
    next_stream_id,
    parse_stream_id,
)
from hubbub.adapters.wire.notepack import pack, unpack
from hubbub.socketio.codec import Packet, PacketType

if TYPE_CHECKING:
    import redis


log = logging.getLogger("hubbub.redis")

_OFFSET = re.compile(r"^[0-9]+-[0-9]+$")
_MAX_XRANGE_CALLS = 100
_RECENT_SECONDS = 30.0  # how long delivered stream broadcasts are kept for restores


class _Unsent:
    """A broadcast of this process waiting for its XADD to give it an offset."""

    __slots__ = ("delivered", "opts", "packet", "since")

    def __init__(self, packet: Packet, opts: BroadcastOptions, since: float) -> None:
        self.packet = packet
        self.opts = opts
        self.since = since
        self.delivered = False


def _recoverable(packet: Packet, opts: BroadcastOptions) -> bool:
    """Whether a broadcast gets an offset (as the memory adapter's record_packet)."""
    return packet.type is PacketType.EVENT and packet.id is None and not opts.flags.volatile


class RedisStreamsAdapterFactory:
    """One adapter per namespace; one link and one stream reader for all."""

    def __init__(self, link: RedisLink, stream: str, options: dict[str, Any]) -> None:
        self.link = link
        self.stream = stream
        self.options = options
        self._adapters: dict[str, RedisStreamsAdapter] = {}

    def __call__(self, nsp: AdapterNamespace) -> Adapter:
        self.link.attach(nsp.scheduler)
        adapter = RedisStreamsAdapter(
            nsp, self.link, stream_name=self.stream, on_close=self._forget, **self.options
        )
        self._adapters[nsp.name] = adapter
        self.link.read_stream(self.stream, self._on_entries)
        return adapter

    def close(self) -> None:
        """Stop the link's threads and connections (the server is closing)."""
        self.link.close()

    def _forget(self, adapter: RedisStreamsAdapter) -> None:
        # a freed dynamic namespace's child: without this, every name a
        # client ever asked for would keep its closed adapter here
        if self._adapters.get(adapter.nsp.name) is adapter:
            del self._adapters[adapter.nsp.name]

    def _on_entries(self, entries: list[tuple[str, dict[bytes, bytes]]]) -> None:
        for entry_id, fields in entries:
            nsp = fields.get(b"nsp")
            adapter = self._adapters.get(nsp.decode(errors="replace")) if nsp else None
            if adapter is None:
                continue
            try:
                message = decode_stream_entry(fields)
            except ClusterDecodeError as exc:
                log.debug("ignored stream entry %s: %s", entry_id, exc)
                self.link.report_error("decode")
                continue
            adapter._on_message(message, entry_id)


class RedisStreamsAdapter(ClusterAdapter):
    """The cluster over a Redis stream, wire-compatible with Node's
    ``@socket.io/redis-streams-adapter``: broadcasts go through a Redis
    stream, so connection state recovery works across servers (a client
    that comes back, even to another server, gets the events it missed).

    ```python
    sio = hubbub.Server(
        adapter=RedisStreamsAdapter.factory("redis://localhost:6379/0"),
        connection_state_recovery=True,
    )
    ```

    ``factory`` options: ``stream_name`` (``"socket.io"``), ``channel_prefix``,
    ``max_len`` (the stream's approximate length cap), ``session_key_prefix``
    (where persisted sessions are kept), ``requests_timeout`` (seconds)."""
    def __init__(
        self,
        nsp: AdapterNamespace,
        link: RedisLink,
        *,
        stream_name: str = "socket.io",
        channel_prefix: str = "socket.io",
        max_len: int = 10_000,
        session_key_prefix: str = "sio:session:",
        requests_timeout: float = 5.0,
        local_delay: float = 1.0,
        # the factory's: forgets this adapter once its namespace is freed
        on_close: Callable[[RedisStreamsAdapter], None] | None = None,
    ) -> None:
        super().__init__(nsp)
        self.link = link
        self._on_close = on_close
        self.stream = stream_name
        self.max_len = max_len
        self.session_prefix = session_key_prefix
        self.requests_timeout = requests_timeout
        self.local_delay = local_delay
        # this process's broadcasts whose XADD is under way, oldest first (the
        # link runs commands in order); past local_delay they are delivered here
        self._unsent: deque[_Unsent] = deque()
        self._unsent_timer: Any = None
        self.public_channel = f"{channel_prefix}#{nsp.name}#"
        self.private_channel = f"{self.public_channel}{self.uid}#"
        recovery = nsp.recovery
        self.recovery = recovery is not None
        self.max_disconnection = recovery.max_disconnection_duration if recovery else 0.0
        # broadcasts delivered here lately, for restores racing with the reader
        self._recent: deque[tuple[tuple[int, int], str, list[Any], BroadcastOptions, float]] = (
            deque()
        )
        # restored socket id -> the last stream entry its missed packets covered
        # and when (oldest first, so that pruning stops at the first fresh one)
        self._covered: OrderedDict[str, tuple[tuple[int, int], float]] = OrderedDict()

    @classmethod
    def factory(
        cls,
        url: str = "redis://localhost:6379/0",
        *,
        stream_name: str = "socket.io",
        **options: Any,
    ) -> RedisStreamsAdapterFactory:
        """``Server(adapter=RedisStreamsAdapter.factory(url, stream_name=..., max_len=...))``;
        every namespace of the process shares one reader of the stream."""
        return RedisStreamsAdapterFactory(RedisLink(url, name="streams"), stream_name, options)

    def init(self) -> None:
        self.link.subscribe(self.public_channel, self._on_pubsub)
        self.link.subscribe(self.private_channel, self._on_pubsub)
        self.link.track_count(self.public_channel)

    def close(self) -> None:
        self.link.unsubscribe(self.public_channel)
        self.link.unsubscribe(self.private_channel)
        self.link.untrack_count(self.public_channel)
        if self._on_close is not None:
            self._on_close(self)

    def server_count(self) -> int:
        """The servers subscribed to this namespace's public channel (at least 1),
        as last counted."""
        return max(1, self.link.cached_count(self.public_channel))

    def _fresh_server_count(self, then: Callable[[int], None]) -> None:
        self.link.count_subscribers(self.public_channel, lambda n: then(max(1, n)))

    # -- transport ---------------------------------------------------------------------------

    def _xadd(self, message: dict[str, Any]) -> Callable[[redis.Redis], Any]:
        fields = encode_stream_entry(message)
        stream, max_len = self.stream, self.max_len
        return lambda r: r.xadd(stream, fields, maxlen=max_len, approximate=True)  # type: ignore[arg-type]

    def _do_publish(self, message: dict[str, Any]) -> None:
        if is_ephemeral(message):
            self.link.publish(self.public_channel, encode_msgpack(message))
        else:
            self.link.execute(self._xadd(message), publishes=True)

    def _do_publish_response(self, requester: str, response: dict[str, Any]) -> None:
        self.link.publish(f"{self.public_channel}{requester}#", encode_msgpack(response))

    def _on_pubsub(self, channel: str, data: bytes) -> None:
        try:
            message = decode_message(data)
        except ClusterDecodeError as exc:
            log.debug("ignored a message on %s: %s", channel, exc)
            self.link.report_error("decode")
            return
        self._on_message(message)

    def _received(self) -> None:
        self.link.report_received()

    def _decode_failed(self) -> None:
        self.link.report_error("decode")

    # -- broadcasting with offsets --------------------------------------------------------------

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        if opts.flags.local:
            Adapter.broadcast(self, packet, opts)
            return
        message = self._message(
            MessageType.BROADCAST, {"packet": packet_to_wire(packet), "opts": opts_to_wire(opts)}
        )

        unsent = _Unsent(packet, opts, self.nsp.scheduler.clock())
        self._unsent.append(unsent)
        if self._unsent_timer is None:
            self._arm_unsent(self.local_delay)

        def added(entry_id: Any, error: Exception | None) -> None:
            if self._unsent and self._unsent[0] is unsent:
                self._unsent.popleft()
            if unsent.delivered:
                return  # delivered here already, without an offset
            unsent.delivered = True
            if error is not None:
                # Redis is away: this process's clients still get it
                Adapter.broadcast(self, packet, opts)
                return
            self._deliver_remote(packet, opts, as_text(entry_id))

        self.link.execute(self._xadd(message), added, publishes=True)

    def _arm_unsent(self, delay: float) -> None:
        runtime = self.nsp.scheduler.runtime
        if runtime is not None:  # else no socket is here to deliver to yet
            self._unsent_timer = runtime.call_later(delay, self._unsent_due)

    def _unsent_due(self) -> None:
        """Redis has not answered in time: this process's clients get the
        broadcasts that wait for it now, in order, without offsets."""
        self._unsent_timer = None
        now = self.nsp.scheduler.clock()
        unsent = self._unsent
        while unsent and (unsent[0].delivered or now - unsent[0].since >= self.local_delay):
            first = unsent.popleft()
            if not first.delivered:
                first.delivered = True
                Adapter.broadcast(self, first.packet, first.opts)
        if unsent:
            self._arm_unsent(unsent[0].since + self.local_delay - now)

    def _deliver_remote(self, packet: Packet, opts: BroadcastOptions, offset: str | None) -> None:
        if offset is None:
            Adapter.broadcast(self, packet, opts)
            return
        if self.recovery and _recoverable(packet, opts):
            packet.data.append(offset)
        try:
            position = parse_stream_id(offset)
        except ValueError:
            Adapter.broadcast(self, packet, opts)
            return
        if self.recovery:
            self._remember(position, offset, packet, opts, time.monotonic())
        sockets = self.local_sockets(opts)
        if self._covered:
            covered = self._covered
            sockets = [s for s in sockets if s.id not in covered or covered[s.id][0] < position]
        self.nsp.deliver(packet, opts, sockets)

    def _remember(
        self,
        position: tuple[int, int],
        offset: str,
        packet: Packet,
        opts: BroadcastOptions,
        now: float,
    ) -> None:
        recent = self._recent
        recent.append((position, offset, packet.data, opts, now))
        while recent and (recent[0][4] < now - _RECENT_SECONDS or len(recent) > 10_000):
            recent.popleft()
        covered = self._covered
        while covered and next(iter(covered.values()))[1] < now - _RECENT_SECONDS:
            covered.popitem(last=False)

    # -- connection state recovery -----------------------------------------------------------------

    def record_packet(self, packet: Packet, opts: BroadcastOptions) -> None:
        """Offsets come from the stream (see :meth:`broadcast`), not from here."""

    def persist_session(self, session: PersistedSession) -> None:
        """Keep a disconnected socket's session in Redis (expiring after
        ``max_disconnection_duration``), so any server can restore it."""
        if not self.recovery:
            return
        key = self.session_prefix + session.pid
        try:
            encoded = base64.b64encode(
                pack(
                    {
                        "sid": session.sid,
                        "pid": session.pid,
                        "rooms": list(session.rooms),
                        "data": session.data,
                    }
                )
            ).decode("ascii")
        except (TypeError, ValueError) as exc:
            log.warning("cannot keep the session of %s for recovery: %s", session.sid, exc)
            return
        ttl_ms = max(1, round(self.max_disconnection * 1000))
        self.link.execute(lambda r: r.set(key, encoded, px=ttl_ms))

    def restore_session(
        self, pid: str, offset: str, done: Callable[[PersistedSession | None], None]
    ) -> None:
        """Read the persisted session ``pid`` from Redis and the stream entries
        after ``offset`` that were meant for it; ``done`` gets the session, or
        None when it expired or the offset is too old."""
        if not self.recovery or not _OFFSET.match(offset):
            done(None)
            return
        key = self.session_prefix + pid
        stream = self.stream

        def fetch(r: redis.Redis) -> tuple[Any, bool, list[Any]]:
            pipe = r.pipeline(transaction=True)
            pipe.get(key)
            pipe.delete(key)
            raw, _deleted = pipe.execute()
            exists = bool(r.xrange(stream, offset, offset))
            entries: list[Any] = []
            if raw is None or not exists:
                return raw, exists, entries
            start = offset
            for _ in range(_MAX_XRANGE_CALLS):
                batch = r.xrange(stream, next_stream_id(start), "+", count=1000)
                if not batch:
                    break
                entries.extend(batch)
                start = as_text(batch[-1][0])
            return raw, exists, entries

        def fetched(value: Any, error: Exception | None) -> None:
            if error is not None:
                log.warning("cannot restore session %s: %s", pid, error)
                done(None)
                return
            raw, exists, entries = value
            done(self._restored(raw, exists, entries, offset))

        self.link.execute(fetch, fetched)

    def _restored(
        self, raw: Any, exists: bool, entries: list[Any], offset: str
    ) -> PersistedSession | None:
        if raw is None or not exists:
            return None
        try:
            stored = unpack(base64.b64decode(raw))
            sid, pid, rooms = stored["sid"], stored["pid"], stored["rooms"]
            if not isinstance(sid, str) or not isinstance(pid, str) or not isinstance(rooms, list):
                raise ValueError("bad session fields")
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("ignored a malformed stored session: %s", exc)
            return None
        session = PersistedSession(
            sid=sid, pid=pid, rooms=[str(r) for r in rooms], data=stored.get("data")
        )
        last = parse_stream_id(offset)
        missed: list[list[Any]] = []
        for entry_id, fields in entries:
            entry_offset = as_text(entry_id)
            last = max(last, parse_stream_id(entry_offset))
            if fields.get(b"nsp") != self.nsp.name.encode() or fields.get(b"type") != b"3":
                continue
            try:
                data = decode_stream_entry(fields).get("data") or {}
                packet, opts = data["packet"], opts_from_wire(data.get("opts"))
                args = packet["data"]
            except (ClusterDecodeError, KeyError, TypeError) as exc:
                log.debug("skipped stream entry %s: %s", entry_offset, exc)
                continue
            if included(session.rooms, opts) and isinstance(args, list):
                missed.append([*args, entry_offset])
        # broadcasts handed to this loop after the XRANGE ran but before now:
        # the socket was in no room yet, so they are missed packets too
        later = sorted(
            (item for item in self._recent if item[0] > last and included(session.rooms, item[3])),
            key=lambda item: item[0],
        )
        missed.extend(list(item[2]) for item in later)
        if later:
            last = max(last, later[-1][0])
        # entries up to ``last`` still on their way here are in ``missed``: the
        # live delivery skips this socket for them
        self._covered[session.sid] = (last, time.monotonic())
        self._covered.move_to_end(session.sid)
        session.missed_packets = missed
        return session
