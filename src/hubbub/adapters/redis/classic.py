"""``RedisAdapter``: a cluster over Redis pub/sub, wire-compatible with Node's
@socket.io/redis-adapter 8.x, so hubbub and Node socket.io servers (and
@socket.io/redis-emitter) form one cluster.

    sio = hubbub.Server(adapter=RedisAdapter.factory("redis://localhost:6379/0"))

As in Node, a broadcast is delivered to this process's sockets directly and
published once for the others (one room: on the room's own channel, which
only servers having that room act on); an emit to one socket of this
process never touches Redis; messages this process published come back
from Redis and are ignored by uid. Requests (fetch_sockets,
server_side_emit, broadcasts with acks) are answered by every server
subscribed to the request channel, whose subscriber count is the server
count. The formats are in :mod:`hubbub.adapters.wire.redis`; the
Redis I/O in :mod:`hubbub.adapters.redis.link`.

Connection state recovery across servers needs the streams adapter; with
this one, as with Node's, nothing is kept for recovery.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from hubbub.adapters.base import Adapter, AdapterNamespace, BroadcastOptions
from hubbub.adapters.redis.link import RedisLink
from hubbub.adapters.remote_socket import RemoteSocket, describe_socket
from hubbub.adapters.requests import (
    AckRequests,
    Pending,
    PendingRequests,
    reply_with_items,
)
from hubbub.adapters.wire.broadcast import (
    ClusterDecodeError,
    opts_from_wire,
    opts_to_wire,
    packet_from_wire,
    packet_to_wire,
    rooms_from_wire,
)
from hubbub.adapters.wire.redis import (
    Channels,
    RequestType,
    decode_broadcast,
    decode_request,
    encode_broadcast,
    encode_request,
)
from hubbub.socketio.codec import Packet

log = logging.getLogger("hubbub.redis")


class RedisAdapterFactory:
    """Makes one adapter per namespace, all sharing one :class:`RedisLink`."""

    def __init__(self, link: RedisLink, adapter_class: type[Any], options: dict[str, Any]) -> None:
        self.link = link
        self.adapter_class = adapter_class
        self.options = options

    def __call__(self, nsp: AdapterNamespace) -> Adapter:
        self.link.attach(nsp.scheduler)
        adapter: Adapter = self.adapter_class(nsp, self.link, **self.options)
        return adapter

    def close(self) -> None:
        """Stop the link's threads and connections (the server is closing)."""
        self.link.close()


class RedisAdapter(Adapter):
    """A cluster over Redis pub/sub, wire-compatible with Node's
    ``@socket.io/redis-adapter`` (``createAdapter``) and
    ``@socket.io/redis-emitter``: hubbub and Node servers share one cluster.

    ```python
    sio = hubbub.Server(adapter=RedisAdapter.factory("redis://localhost:6379/0"))
    ```

    ``factory`` options: ``key`` (the channel prefix, ``"socket.io"`` as in
    Node), ``requests_timeout`` (seconds a cluster request such as
    ``fetch_sockets`` waits for the other servers), and
    ``publish_on_specific_response_channel``. Keeps nothing for connection
    state recovery: use ``RedisStreamsAdapter`` for that. Needs ``pip install
    hubbub[redis]``."""
    def __init__(
        self,
        nsp: AdapterNamespace,
        link: RedisLink,
        *,
        key: str = "socket.io",
        requests_timeout: float = 5.0,
        publish_on_specific_response_channel: bool = False,
    ) -> None:
        super().__init__(nsp)
        self.link = link
        self.uid = secrets.token_hex(6)
        self.requests_timeout = requests_timeout
        self.specific_responses = publish_on_specific_response_channel
        self.channels = Channels.of(nsp.name, self.uid, key)
        self._requests = PendingRequests(nsp.scheduler)
        self._acks = AckRequests(nsp.scheduler)

    @classmethod
    def factory(cls, url: str = "redis://localhost:6379/0", **options: Any) -> RedisAdapterFactory:
        """``hubbub.Server(adapter=RedisAdapter.factory(url, key=..., requests_timeout=...))``."""
        return RedisAdapterFactory(RedisLink(url), cls, options)

    # -- lifecycle ------------------------------------------------------------------------

    def init(self) -> None:
        ch = self.channels
        self.link.subscribe(ch.pattern, self._on_broadcast, pattern=True)
        for channel in (ch.request, ch.response, ch.specific_response):
            self.link.subscribe(channel, self._on_request)
        self.link.track_count(ch.request)

    def close(self) -> None:
        ch = self.channels
        self.link.unsubscribe(ch.pattern, pattern=True)
        for channel in (ch.request, ch.response, ch.specific_response):
            self.link.unsubscribe(channel)
        self.link.untrack_count(ch.request)

    def server_count(self) -> int:
        """The servers subscribed to this namespace's request channel (at least 1),
        as last counted (the count is refreshed every second)."""
        # the count the link refreshes every second: the sync API cannot wait
        return max(1, self.link.cached_count(self.channels.request))

    def _fresh_server_count(self, then: Callable[[int], None]) -> None:
        self.link.count_subscribers(self.channels.request, lambda n: then(max(1, n)))

    # -- broadcasting -----------------------------------------------------------------------

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        if not opts.flags.local:
            self.link.publish(
                self.channels.for_rooms(opts.rooms), encode_broadcast(self.uid, packet, opts)
            )
        super().broadcast(packet, opts)

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: BroadcastOptions,
        client_count: Callable[[int], None],
        ack: Callable[[list[Any]], None],
    ) -> None:
        if not opts.flags.local:
            rid = self._acks.start(client_count, ack, opts.flags.timeout or self.requests_timeout)
            self._publish_request(
                {
                    "uid": self.uid,
                    "requestId": rid,
                    "type": RequestType.BROADCAST,
                    "packet": packet_to_wire(packet, with_id=False),
                    "opts": opts_to_wire(opts),
                }
            )
        super().broadcast_with_ack(packet, opts, client_count, ack)

    def _on_broadcast(self, channel: str, data: bytes) -> None:
        room = self.channels.room_of(channel)
        if room is None or (room and not self.has_room(room)):
            return  # a room nobody here is in: nothing to deliver
        try:
            uid, packet, opts = decode_broadcast(data, self.nsp.name)
        except ClusterDecodeError as exc:
            log.debug("ignored a broadcast on %s: %s", channel, exc)
            self.link.report_error("decode")
            return
        if uid == self.uid:
            return
        self.link.report_received()
        Adapter.broadcast(self, packet, opts)

    # -- operations on matching sockets ---------------------------------------------------------

    def _publish_request(self, request: dict[str, Any]) -> None:
        self.link.publish(self.channels.request, encode_request(request))

    def _publish_rooms_request(
        self, rtype: RequestType, opts: BroadcastOptions, rooms: list[str]
    ) -> None:
        if not opts.flags.local:
            self._publish_request(
                {
                    "uid": self.uid,
                    "type": rtype,
                    "opts": opts_to_wire(opts, with_flags=False),
                    "rooms": list(rooms),
                }
            )

    def add_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        # applied here at once (Node waits for its own request to come back)
        super().add_sockets(opts, rooms)
        self._publish_rooms_request(RequestType.REMOTE_JOIN, opts, rooms)

    def del_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        super().del_sockets(opts, rooms)
        self._publish_rooms_request(RequestType.REMOTE_LEAVE, opts, rooms)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        if not opts.flags.local:
            self._publish_request(
                {
                    "uid": self.uid,
                    "type": RequestType.REMOTE_DISCONNECT,
                    "opts": opts_to_wire(opts, with_flags=False),
                    "close": close,
                }
            )
        super().disconnect_sockets(opts, close)

    def fetch_sockets(self, opts: BroadcastOptions, done: Callable[[list[Any]], None]) -> None:
        local: list[Any] = list(self.local_sockets(opts))
        if opts.flags.local:
            done(local)
            return

        def send(rid: str) -> None:
            self._publish_request(
                {
                    "uid": self.uid,
                    "requestId": rid,
                    "type": RequestType.REMOTE_FETCH,
                    "opts": opts_to_wire(opts, with_flags=False),
                }
            )

        def with_count(count: int) -> None:
            # this server is one of the answers already, as in Node
            pending = Pending(
                RequestType.REMOTE_FETCH, count, lambda p, _t: done(p.items), local, received=1
            )
            self._requests.ask(pending, opts.flags.timeout or self.requests_timeout, send)

        self._fresh_server_count(with_count)

    def server_side_emit(self, packet: list[Any], ack: Callable[..., None] | None = None) -> None:
        if ack is None:
            self._publish_request(
                {"uid": self.uid, "type": RequestType.SERVER_SIDE_EMIT, "data": packet}
            )
            return
        finish = reply_with_items(ack)

        def send(rid: str) -> None:
            self._publish_request(
                {
                    "uid": self.uid,
                    "requestId": rid,
                    "type": RequestType.SERVER_SIDE_EMIT,
                    "data": packet,
                }
            )

        def with_count(count: int) -> None:
            pending = Pending(RequestType.SERVER_SIDE_EMIT, count - 1, finish)
            self._requests.ask(pending, self.requests_timeout, send)

        self._fresh_server_count(with_count)

    # -- requests from the other servers ---------------------------------------------------------

    def _on_request(self, channel: str, data: bytes) -> None:
        try:
            request = decode_request(data)
        except ClusterDecodeError as exc:
            log.debug("ignored a message on %s: %s", channel, exc)
            self.link.report_error("decode")
            return
        if request.get("uid") != self.uid:
            self.link.report_received()
        try:
            if channel == self.channels.request:
                self._handle_request(request)
            else:
                self._handle_response(request)
        except ClusterDecodeError as exc:
            log.debug("ignored a malformed request on %s: %s", channel, exc)
            self.link.report_error("decode")

    def _respond(self, request: dict[str, Any], response: dict[str, Any]) -> None:
        channel = self.channels.response
        if self.specific_responses and isinstance(request.get("uid"), str):
            channel = f"{channel}{request['uid']}#"
        self.link.publish(channel, encode_request(response))

    def _handle_request(self, request: dict[str, Any]) -> None:
        rtype = request.get("type")
        rid = request.get("requestId")
        mine = request.get("uid") == self.uid
        if rtype == RequestType.SOCKETS:
            if rid in self._requests:
                return
            rooms = rooms_from_wire(request.get("rooms"))
            self._respond(request, {"requestId": rid, "sockets": sorted(self.sockets(rooms))})
        elif rtype == RequestType.ALL_ROOMS:
            if rid in self._requests:
                return
            self._respond(request, {"requestId": rid, "rooms": sorted(self.room_names())})
        elif rtype in (
            RequestType.REMOTE_JOIN,
            RequestType.REMOTE_LEAVE,
            RequestType.REMOTE_DISCONNECT,
        ):
            if not mine:
                self._remote_operation(request)
        elif rtype == RequestType.REMOTE_FETCH:
            if rid in self._requests:
                return
            opts = opts_from_wire(request.get("opts"))
            sockets = [describe_socket(s) for s in Adapter.local_sockets(self, opts)]
            self._respond(request, {"requestId": rid, "sockets": sockets})
        elif rtype == RequestType.SERVER_SIDE_EMIT:
            if mine:
                return
            args = request.get("data")
            if not isinstance(args, list):
                raise ClusterDecodeError("server-side emit without data")
            self.nsp.server_side_emit_received(args, self._server_side_ack(request, rid))
        elif rtype == RequestType.BROADCAST:
            if rid in self._acks or mine:
                return
            self._remote_broadcast_with_ack(request, rid)

    def _remote_operation(self, request: dict[str, Any]) -> None:
        rtype = request.get("type")
        if request.get("opts") is not None:
            opts = opts_from_wire(request["opts"])
            if rtype == RequestType.REMOTE_DISCONNECT:
                Adapter.disconnect_sockets(self, opts, bool(request.get("close")))
                return
            rooms = sorted(rooms_from_wire(request.get("rooms")))
            if rtype == RequestType.REMOTE_JOIN:
                Adapter.add_sockets(self, opts, rooms)
            else:
                Adapter.del_sockets(self, opts, rooms)
            return
        # the older form: one socket id and one room, answered
        socket = self.nsp.sockets.get(str(request.get("sid")))
        if socket is None:
            return
        if rtype == RequestType.REMOTE_JOIN:
            socket.join(str(request.get("room")))
        elif rtype == RequestType.REMOTE_LEAVE:
            socket.leave(str(request.get("room")))
        else:
            socket.disconnect(bool(request.get("close")))
        self._respond(request, {"requestId": request.get("requestId")})

    def _server_side_ack(self, request: dict[str, Any], rid: Any) -> Callable[[Any], None] | None:
        if rid is None:
            return None
        called = False

        def ack(value: Any) -> None:
            nonlocal called
            if called:
                return  # one answer per server, as in Node
            called = True
            # always on the shared response channel, as Node does for this type
            self.link.publish(
                self.channels.response,
                encode_request(
                    {"type": RequestType.SERVER_SIDE_EMIT, "requestId": rid, "data": value}
                ),
            )

        return ack

    def _remote_broadcast_with_ack(self, request: dict[str, Any], rid: Any) -> None:
        packet = packet_from_wire(request.get("packet"), self.nsp.name)
        opts = opts_from_wire(request.get("opts"))

        def client_count(n: int) -> None:
            self._respond(
                request,
                {"type": RequestType.BROADCAST_CLIENT_COUNT, "requestId": rid, "clientCount": n},
            )

        def ack(args: list[Any]) -> None:
            self._respond(
                request,
                {
                    "type": RequestType.BROADCAST_ACK,
                    "requestId": rid,
                    "packet": args[0] if args else None,
                },
            )

        Adapter.broadcast_with_ack(self, packet, opts, client_count, ack)

    def _handle_response(self, response: dict[str, Any]) -> None:
        rid = response.get("requestId")
        ack_request = self._acks.get(rid)
        if ack_request is not None:
            rtype = response.get("type")
            if rtype == RequestType.BROADCAST_CLIENT_COUNT:
                count = response.get("clientCount")
                if isinstance(count, int):
                    ack_request.client_count(count)
            elif rtype == RequestType.BROADCAST_ACK:
                ack_request.ack([response.get("packet")])
            return
        pending = self._requests.get(rid)
        if pending is None:
            return
        if pending.kind == RequestType.REMOTE_FETCH:
            sockets = response.get("sockets")
            if not isinstance(sockets, list):
                return
            pending.items.extend(RemoteSocket(self, s) for s in sockets if isinstance(s, dict))
            self._requests.answered(rid, pending)
        elif pending.kind == RequestType.SERVER_SIDE_EMIT:
            pending.items.append(response.get("data"))
            self._requests.answered(rid, pending)
