"""``IpcAdapter``: the workers of one machine as a cluster, without a broker.

The workers of ``hubbub run --workers N`` (the CLI installs this adapter
when the app uses the default in-memory one) send each other
socket.io-adapter's cluster messages (:class:`ClusterAdapter`) over Unix
sockets: every operation the Redis adapters offer (broadcasts with any
operator, broadcast acks, fetch_sockets and remote sockets, sockets_join,
sockets_leave, disconnect_sockets, server_side_emit with acks,
server_count) works across the workers. The runtime provides the
:class:`IpcBus` that carries the messages.

Connection state recovery works across the workers: every worker keeps the
recoverable packets of the whole cluster (its own, and the others' as they
arrive, each with the offset its sender gave it) and the sessions of its
own disconnected sockets; a client that reconnects to another worker gets
its session from the worker that kept it (two messages of hubbub's own,
beyond Node's types) and the packets it missed from the new one.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, Protocol

from hubbub.adapters.base import Adapter, AdapterNamespace, BroadcastOptions, PersistedSession
from hubbub.adapters.cluster import ClusterAdapter
from hubbub.adapters.memory import InMemoryAdapter
from hubbub.adapters.requests import Pending
from hubbub.adapters.wire.broadcast import ClusterDecodeError
from hubbub.socketio.codec import Packet, PacketType

# hubbub's own message types, beyond socket.io-adapter's (1-13)
RESTORE_SESSION = 101
RESTORE_SESSION_RESPONSE = 102
# how long a reconnecting client waits for the other workers' answer
RESTORE_TIMEOUT = 2.0


class IpcBus(Protocol):
    """The links between this worker and the others (provided by a runtime)."""

    @property
    def index(self) -> int:
        """This worker's index."""
        ...

    def peers(self) -> int:
        """How many other workers are connected now."""
        ...

    def publish(self, message: dict[str, Any]) -> None:
        """Send an adapter message to every other worker."""
        ...

    def send(self, worker: int, message: dict[str, Any]) -> None:
        """Send an adapter message to one worker (dropped if it is gone)."""
        ...

    def register(self, adapter: IpcAdapter) -> None:
        """Hand the adapter every message for its namespace."""
        ...

    def unregister(self, adapter: IpcAdapter) -> None: ...


class IpcAdapter(ClusterAdapter, InMemoryAdapter):
    def __init__(self, nsp: AdapterNamespace, bus: IpcBus, requests_timeout: float = 5.0) -> None:
        super().__init__(nsp)
        self.bus = bus
        self.requests_timeout = requests_timeout
        # the worker's index leads the uid: responses go to that worker only
        self.uid = f"{bus.index}-{secrets.token_hex(8)}"

    @classmethod
    def factory(cls, bus: IpcBus, **options: Any) -> Callable[[AdapterNamespace], Adapter]:
        def make(nsp: AdapterNamespace) -> Adapter:
            return cls(nsp, bus, **options)

        return make

    def init(self) -> None:
        self.bus.register(self)

    def close(self) -> None:
        self.bus.unregister(self)

    def server_count(self) -> int:
        return self.bus.peers() + 1

    def _do_publish(self, message: dict[str, Any]) -> None:
        self.bus.publish(message)

    def _do_publish_response(self, requester: str, response: dict[str, Any]) -> None:
        worker, sep, _ = requester.partition("-")
        if sep and worker.isdigit():
            self.bus.send(int(worker), response)

    def receive(self, message: dict[str, Any]) -> None:
        """A message from another worker for this namespace."""
        self._on_message(message)

    # -- connection state recovery across the workers -------------------------------------

    def _deliver_remote(self, packet: Packet, opts: BroadcastOptions, offset: str | None) -> None:
        data = packet.data
        if (
            self.recovery
            and packet.type is PacketType.EVENT
            and packet.id is None
            and not opts.flags.volatile
            and isinstance(data, list)
            and data
            and isinstance(data[-1], str)
        ):
            # the sender appended its offset: the packet is kept under it here too
            self._store(data[-1], opts, data)
        super()._deliver_remote(packet, opts, offset)

    def restore_session(
        self, pid: str, offset: str, done: Callable[[PersistedSession | None], None]
    ) -> None:
        local = self._restore(pid, offset)
        if local is not None or not self.recovery or self.server_count() < 2:
            done(local)
            return

        def finish(pending: Pending, timed_out: bool) -> None:
            found = next((s for s in pending.items if s is not None), None)
            done(None if found is None else self._with_missed(found, offset))

        def send(rid: str) -> None:
            self._do_publish(
                {
                    "type": RESTORE_SESSION,
                    "uid": self.uid,
                    "nsp": self.nsp.name,
                    "data": {"requestId": rid, "pid": pid},
                }
            )

        pending = Pending(RESTORE_SESSION, self.server_count() - 1, finish)
        self._requests.ask(pending, RESTORE_TIMEOUT, send)

    def _handle(self, message: dict[str, Any], offset: str | None) -> None:
        mtype = message.get("type")
        data = message.get("data") or {}
        if mtype == RESTORE_SESSION:
            pid = data.get("pid")
            session = self._sessions.pop(pid, None) if isinstance(pid, str) else None
            self._do_publish_response(
                str(message.get("uid")),
                {
                    "type": RESTORE_SESSION_RESPONSE,
                    "uid": self.uid,
                    "nsp": self.nsp.name,
                    "data": {
                        "requestId": data.get("requestId"),
                        "session": _session_to_wire(session),
                    },
                },
            )
        elif mtype == RESTORE_SESSION_RESPONSE:
            rid = data.get("requestId")
            pending = self._requests.get(rid)
            if pending is None:
                return
            session = _session_from_wire(data.get("session"))
            pending.items.append(session)
            if session is not None:
                self._requests.complete(rid, pending)  # the one worker that had it
            else:
                self._requests.answered(rid, pending)
        else:
            super()._handle(message, offset)


def _session_to_wire(session: PersistedSession | None) -> dict[str, Any] | None:
    if session is None:
        return None
    return {
        "sid": session.sid,
        "pid": session.pid,
        "rooms": list(session.rooms),
        "data": session.data,
        "disconnectedAt": session.disconnected_at,
    }


def _session_from_wire(value: Any) -> PersistedSession | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ClusterDecodeError("a persisted session is not a map")
    sid, pid, rooms = value.get("sid"), value.get("pid"), value.get("rooms")
    at = value.get("disconnectedAt")
    if not (isinstance(sid, str) and isinstance(pid, str) and isinstance(rooms, list)):
        raise ClusterDecodeError("a persisted session without sid, pid or rooms")
    if isinstance(at, bool) or not isinstance(at, (int, float)):
        raise ClusterDecodeError("a persisted session without its time")
    return PersistedSession(
        sid=sid,
        pid=pid,
        rooms=[str(r) for r in rooms],
        data=value.get("data"),
        disconnected_at=float(at),
    )
