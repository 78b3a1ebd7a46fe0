"""``ClusterAdapter``: socket.io-adapter's cluster protocol, whatever carries it.

The behaviour of Node's ``ClusterAdapter`` (messages ``{uid, nsp, type,
data}``, responses to the requester only) on top of two primitives a
subclass provides: :meth:`_do_publish` (to every server) and
:meth:`_do_publish_response` (to one). The sharded Redis adapter and the
Redis streams adapter are such subclasses. Broadcasts are delivered to this
process's sockets directly; the other servers get one message each.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from hubbub.adapters.base import Adapter, AdapterNamespace, BroadcastOptions
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
)
from hubbub.adapters.wire.cluster import RESPONSE_TYPES, MessageType
from hubbub.socketio.codec import Packet

log = logging.getLogger("hubbub.redis")

DEFAULT_TIMEOUT = 5.0


class ClusterAdapter(Adapter):
    requests_timeout = DEFAULT_TIMEOUT

    def __init__(self, nsp: AdapterNamespace) -> None:
        super().__init__(nsp)
        self.uid = secrets.token_hex(8)
        self._requests = PendingRequests(nsp.scheduler)
        self._acks = AckRequests(nsp.scheduler)

    # -- what a transport provides ------------------------------------------------------

    def _do_publish(self, message: dict[str, Any]) -> None:
        raise NotImplementedError

    def _do_publish_response(self, requester: str, response: dict[str, Any]) -> None:
        raise NotImplementedError

    def _fresh_server_count(self, then: Callable[[int], None]) -> None:
        then(self.server_count())

    # -- publishing ------------------------------------------------------------------------

    def _message(self, mtype: MessageType, data: dict[str, Any] | None = None) -> dict[str, Any]:
        message: dict[str, Any] = {"type": int(mtype), "uid": self.uid, "nsp": self.nsp.name}
        if data is not None:
            message["data"] = data
        return message

    def _publish(self, mtype: MessageType, data: dict[str, Any] | None = None) -> None:
        self._do_publish(self._message(mtype, data))

    def _respond(self, requester: str, mtype: MessageType, data: dict[str, Any]) -> None:
        self._do_publish_response(
            requester, {"type": int(mtype), "data": data, "uid": self.uid, "nsp": self.nsp.name}
        )

    # -- broadcasting -------------------------------------------------------------------------

    def broadcast(self, packet: Packet, opts: BroadcastOptions) -> None:
        if not opts.flags.local:
            self._publish(
                MessageType.BROADCAST,
                {"packet": packet_to_wire(packet), "opts": opts_to_wire(opts)},
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
            self._publish(
                MessageType.BROADCAST,
                {
                    "packet": packet_to_wire(packet, with_id=False),
                    "requestId": rid,
                    "opts": opts_to_wire(opts),
                },
            )
        super().broadcast_with_ack(packet, opts, client_count, ack)

    def _deliver_remote(self, packet: Packet, opts: BroadcastOptions, offset: str | None) -> None:
        """A broadcast from another server, to this process's sockets."""
        Adapter.broadcast(self, packet, opts)

    # -- operations on matching sockets --------------------------------------------------------

    def add_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        if not opts.flags.local:
            self._publish(
                MessageType.SOCKETS_JOIN, {"opts": opts_to_wire(opts), "rooms": list(rooms)}
            )
        super().add_sockets(opts, rooms)

    def del_sockets(self, opts: BroadcastOptions, rooms: list[str]) -> None:
        if not opts.flags.local:
            self._publish(
                MessageType.SOCKETS_LEAVE, {"opts": opts_to_wire(opts), "rooms": list(rooms)}
            )
        super().del_sockets(opts, rooms)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        if not opts.flags.local:
            self._publish(
                MessageType.DISCONNECT_SOCKETS, {"opts": opts_to_wire(opts), "close": close}
            )
        super().disconnect_sockets(opts, close)

    def fetch_sockets(self, opts: BroadcastOptions, done: Callable[[list[Any]], None]) -> None:
        local: list[Any] = list(self.local_sockets(opts))
        if opts.flags.local:
            done(local)
            return

        def send(rid: str) -> None:
            self._publish(MessageType.FETCH_SOCKETS, {"opts": opts_to_wire(opts), "requestId": rid})

        def with_count(count: int) -> None:
            pending = Pending(
                MessageType.FETCH_SOCKETS, count - 1, lambda p, _t: done(p.items), local
            )
            self._requests.ask(pending, opts.flags.timeout or self.requests_timeout, send)

        self._fresh_server_count(with_count)

    def server_side_emit(self, packet: list[Any], ack: Callable[..., None] | None = None) -> None:
        if ack is None:
            self._publish(MessageType.SERVER_SIDE_EMIT, {"packet": packet})
            return
        finish = reply_with_items(ack)

        def send(rid: str) -> None:
            self._publish(MessageType.SERVER_SIDE_EMIT, {"requestId": rid, "packet": packet})

        def with_count(count: int) -> None:
            pending = Pending(MessageType.SERVER_SIDE_EMIT, count - 1, finish)
            self._requests.ask(pending, self.requests_timeout, send)

        self._fresh_server_count(with_count)

    # -- messages from the other servers --------------------------------------------------------

    def _on_message(self, message: dict[str, Any], offset: str | None = None) -> None:
        """Handle a decoded message; malformed parts are dropped with a debug line."""
        if message.get("uid") == self.uid or message.get("nsp") != self.nsp.name:
            return
        self._received()
        try:
            self._handle(message, offset)
        except ClusterDecodeError as exc:
            log.debug("ignored a cluster message: %s", exc)
            self._decode_failed()

    def _received(self) -> None:
        """A message from another server is being handled (for observers)."""

    def _decode_failed(self) -> None:
        """A message from another server was malformed (for observers)."""

    def _handle(self, message: dict[str, Any], offset: str | None) -> None:
        mtype = message.get("type")
        data = message.get("data") or {}
        sender = str(message.get("uid"))
        if mtype in RESPONSE_TYPES:
            self._on_response(message)
        elif mtype == MessageType.BROADCAST:
            packet = packet_from_wire(data.get("packet"), self.nsp.name)
            opts = opts_from_wire(data.get("opts"))
            rid = data.get("requestId")
            if rid is None:
                self._deliver_remote(packet, opts, offset)
            else:
                self._remote_broadcast_with_ack(sender, rid, packet, opts)
        elif mtype == MessageType.SOCKETS_JOIN:
            Adapter.add_sockets(self, opts_from_wire(data.get("opts")), _rooms(data))
        elif mtype == MessageType.SOCKETS_LEAVE:
            Adapter.del_sockets(self, opts_from_wire(data.get("opts")), _rooms(data))
        elif mtype == MessageType.DISCONNECT_SOCKETS:
            Adapter.disconnect_sockets(
                self, opts_from_wire(data.get("opts")), bool(data.get("close"))
            )
        elif mtype == MessageType.FETCH_SOCKETS:
            opts = opts_from_wire(data.get("opts"))
            sockets = [describe_socket(s) for s in Adapter.local_sockets(self, opts)]
            self._respond(
                sender,
                MessageType.FETCH_SOCKETS_RESPONSE,
                {"requestId": data.get("requestId"), "sockets": sockets},
            )
        elif mtype == MessageType.SERVER_SIDE_EMIT:
            args = data.get("packet")
            if not isinstance(args, list):
                raise ClusterDecodeError("server-side emit without a packet")
            self.nsp.server_side_emit_received(args, self._server_side_ack(sender, data))

    def _server_side_ack(self, sender: str, data: dict[str, Any]) -> Callable[[Any], None] | None:
        rid = data.get("requestId")
        if rid is None:
            return None
        called = False

        def ack(value: Any) -> None:
            nonlocal called
            if not called:  # one answer per server, as in Node
                called = True
                self._respond(
                    sender,
                    MessageType.SERVER_SIDE_EMIT_RESPONSE,
                    {"requestId": rid, "packet": value},
                )

        return ack

    def _remote_broadcast_with_ack(
        self, sender: str, rid: Any, packet: Packet, opts: BroadcastOptions
    ) -> None:
        def client_count(n: int) -> None:
            self._respond(
                sender, MessageType.BROADCAST_CLIENT_COUNT, {"requestId": rid, "clientCount": n}
            )

        def ack(args: list[Any]) -> None:
            self._respond(
                sender,
                MessageType.BROADCAST_ACK,
                {"requestId": rid, "packet": args[0] if args else None},
            )

        Adapter.broadcast_with_ack(self, packet, opts, client_count, ack)

    def _on_response(self, response: dict[str, Any]) -> None:
        if response.get("uid") == self.uid:
            return
        data = response.get("data") or {}
        rid = data.get("requestId")
        mtype = response.get("type")
        if mtype == MessageType.BROADCAST_CLIENT_COUNT:
            request = self._acks.get(rid)
            count = data.get("clientCount")
            if request is not None and isinstance(count, int):
                request.client_count(count)
        elif mtype == MessageType.BROADCAST_ACK:
            request = self._acks.get(rid)
            if request is not None:
                request.ack([data.get("packet")])
        elif mtype == MessageType.FETCH_SOCKETS_RESPONSE:
            pending = self._requests.get(rid)
            sockets = data.get("sockets")
            if pending is None or not isinstance(sockets, list):
                return
            pending.items.extend(RemoteSocket(self, s) for s in sockets if isinstance(s, dict))
            self._requests.answered(rid, pending)
        elif mtype == MessageType.SERVER_SIDE_EMIT_RESPONSE:
            pending = self._requests.get(rid)
            if pending is None:
                return
            pending.items.append(data.get("packet"))
            self._requests.answered(rid, pending)


def _rooms(data: dict[str, Any]) -> list[str]:
    rooms = data.get("rooms")
    if not isinstance(rooms, list):
        raise ClusterDecodeError("rooms are not a list")
    return [str(r) for r in rooms]
