"""``IpcAdapter``: the workers of one machine as a cluster, without a broker.

The workers of ``hubbub run --workers N`` (the CLI installs this adapter
when the app uses the default in-memory one) send each other
socket.io-adapter's cluster messages (:class:`ClusterAdapter`) over Unix
sockets: every operation the Redis adapters offer (broadcasts with any
operator, broadcast acks, fetch_sockets and remote sockets, sockets_join,
sockets_leave, disconnect_sockets, server_side_emit with acks,
server_count) works across the workers. The runtime provides the
:class:`IpcBus` that carries the messages.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, Protocol

from hubbub.adapters.base import Adapter, AdapterNamespace
from hubbub.adapters.cluster import ClusterAdapter


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


class IpcAdapter(ClusterAdapter):
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
