"""Prometheus metrics of a hubbub server (``pip install hubbub[metrics]``).

::

    metrics = hubbub.metrics.instrument(sio)        # the server's PrometheusMetrics
    hubbub.run(sio, metrics_path="/metrics")         # or serve them on the same port
    app = metrics.asgi_app()                         # or as an app of their own
    app = metrics.wsgi_app()

Every name is prefixed ``hubbub_``; docs/operating.md lists them. The
metrics live in a registry of their own unless one is given
(``PrometheusMetrics(registry=prometheus_client.REGISTRY)``), so several
servers in one process never clash.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    make_asgi_app,
    make_wsgi_app,
)

from hubbub.instrumentation import (
    ACK,
    BINARY_ACK,
    BINARY_EVENT,
    EVENT,
    PROTOCOL_NAMES,
    ObservedConnection,
    ObservedPacket,
    ObservedPart,
    ObservedSocket,
    Observer,
    payload_size,
)

# broadcast recipients on this server: from one socket to a big room
FAN_OUT_BUCKETS = (0, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 25000)
# handler durations: a quick handler to one that waits on a database
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
                    2.5, 5.0, 10.0)

_ATTRIBUTE = "_hubbub_metrics"


def _protocol(connection: ObservedConnection) -> str:
    return PROTOCOL_NAMES.get(connection.protocol, str(connection.protocol))


class PrometheusMetrics(Observer):
    """An observer that keeps Prometheus metrics of one server."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.connected_clients = Gauge(
            "hubbub_connected_clients", "Clients connected now, by transport and protocol",
            ["transport", "protocol"], registry=r)
        self.connects = Counter(
            "hubbub_connects", "Client connections opened", ["transport", "protocol"], registry=r)
        self.disconnects = Counter(
            "hubbub_disconnects", "Client connections closed, by reason", ["reason"], registry=r)
        self.namespace_connects = Counter(
            "hubbub_namespace_connects", "Namespace connects, accepted or refused",
            ["namespace", "outcome"], registry=r)
        self.namespace_disconnects = Counter(
            "hubbub_namespace_disconnects", "Namespace disconnects, by reason",
            ["namespace", "reason"], registry=r)
        self.events_received = Counter(
            "hubbub_events_received", "Events received from clients", ["namespace"], registry=r)
        self.events_sent = Counter(
            "hubbub_events_sent", "Events queued for clients (one per recipient)",
            ["namespace"], registry=r)
        self.received_bytes = Counter(
            "hubbub_received_bytes", "Bytes of Socket.IO packets received", registry=r)
        self.sent_bytes = Counter(
            "hubbub_sent_bytes", "Bytes of Socket.IO packets queued for clients", registry=r)
        self.acks_sent = Counter(
            "hubbub_acks_sent", "Acks sent to clients", ["namespace"], registry=r)
        self.acks_received = Counter(
            "hubbub_acks_received", "Acks received from clients", ["namespace"], registry=r)
        self.acks_timed_out = Counter(
            "hubbub_acks_timed_out", "Acks the server waited for in vain", ["namespace"],
            registry=r)
        self.slow_consumer_drops = Counter(
            "hubbub_slow_consumer_drops",
            "Packets not queued for a slow client: volatile ones dropped, or the client "
            "disconnected", ["action"], registry=r)
        self.broadcast_recipients = Histogram(
            "hubbub_broadcast_recipients", "Sockets of this server one broadcast reached",
            buckets=FAN_OUT_BUCKETS, registry=r)
        self.adapter_published_total = Counter(
            "hubbub_adapter_published", "Messages published to the other servers",
            ["adapter"], registry=r)
        self.adapter_received_total = Counter(
            "hubbub_adapter_received", "Messages received from the other servers",
            ["adapter"], registry=r)
        self.adapter_errors = Counter(
            "hubbub_adapter_errors", "Adapter messages that failed", ["adapter", "operation"],
            registry=r)
        self.handler_duration = Histogram(
            "hubbub_handler_duration_seconds", "Time event handlers took",
            ["namespace", "event"], buckets=DURATION_BUCKETS, registry=r)
        # the (transport, protocol) each open connection is counted under
        self._counted: dict[str, tuple[str, str]] = {}

    # -- serving ------------------------------------------------------------------------

    def asgi_app(self) -> Callable[..., Awaitable[None]]:
        """An ASGI app answering with these metrics (Prometheus text format)."""
        app: Callable[..., Awaitable[None]] = make_asgi_app(self.registry)
        return app

    def wsgi_app(self) -> Callable[..., Any]:
        """A WSGI app answering with these metrics."""
        app: Callable[..., Any] = make_wsgi_app(self.registry)
        return app

    # -- connections ------------------------------------------------------------------------

    def connection_opened(self, connection: ObservedConnection) -> None:
        labels = (connection.session.transport or "unknown", _protocol(connection))
        self._counted[connection.session.sid] = labels
        self.connected_clients.labels(*labels).inc()
        self.connects.labels(*labels).inc()

    def connection_upgraded(self, connection: ObservedConnection, previous: str) -> None:
        sid = connection.session.sid
        old = self._counted.get(sid)
        if old is None:
            return
        new = (connection.session.transport, old[1])
        self._counted[sid] = new
        self.connected_clients.labels(*old).dec()
        self.connected_clients.labels(*new).inc()

    def connection_closed(self, connection: ObservedConnection, reason: str) -> None:
        labels = self._counted.pop(connection.session.sid, None)
        if labels is not None:
            self.connected_clients.labels(*labels).dec()
        self.disconnects.labels(str(reason)).inc()

    def socket_connected(self, socket: ObservedSocket) -> None:
        self.namespace_connects.labels(socket.namespace, "accepted").inc()

    def socket_refused(self, connection: ObservedConnection, namespace: str, message: str) -> None:
        self.namespace_connects.labels(namespace, "refused").inc()

    def socket_disconnected(self, socket: ObservedSocket, reason: str) -> None:
        self.namespace_disconnects.labels(socket.namespace, str(reason)).inc()

    # -- packets ------------------------------------------------------------------------------

    def message_received(self, connection: ObservedConnection, data: str | bytes) -> None:
        self.received_bytes.inc(payload_size(data))

    def event_received(self, socket: ObservedSocket, event: str) -> None:
        self.events_received.labels(socket.namespace).inc()

    def ack_received(self, socket: ObservedSocket) -> None:
        self.acks_received.labels(socket.namespace).inc()

    def packet_sent(
        self,
        packet: ObservedPacket,
        connections: Sequence[ObservedConnection],
        parts: Sequence[ObservedPart],
        skipped: Sequence[ObservedConnection] | None,
    ) -> None:
        count = len(connections) - (len(skipped) if skipped else 0)
        if count <= 0:
            return
        ptype = packet.type
        if ptype in (EVENT, BINARY_EVENT):
            self.events_sent.labels(packet.nsp).inc(count)
        elif ptype in (ACK, BINARY_ACK):
            self.acks_sent.labels(packet.nsp).inc(count)
        self.sent_bytes.inc(count * sum(payload_size(part.data) for part in parts))

    def packet_dropped(self, connection: ObservedConnection, reason: str) -> None:
        action = "volatile_dropped" if reason == "volatile" else "disconnected"
        self.slow_consumer_drops.labels(action).inc()

    def ack_timed_out(self, namespace: str) -> None:
        self.acks_timed_out.labels(namespace).inc()

    # -- handlers and broadcasts ------------------------------------------------------------

    def call_handler(
        self, socket: ObservedSocket, event: str, fn: Callable[..., Any], args: list[Any]
    ) -> Any:
        histogram = self.handler_duration.labels(socket.namespace, event)
        start = time.perf_counter()
        try:
            result = fn(*args)
        except BaseException:
            histogram.observe(time.perf_counter() - start)
            raise
        if inspect.isawaitable(result):
            return _timed(result, histogram, start)
        histogram.observe(time.perf_counter() - start)
        return result

    def broadcast_delivered(self, namespace: str, recipients: int) -> None:
        self.broadcast_recipients.observe(recipients)

    # -- the adapter ------------------------------------------------------------------------

    def adapter_published(self, adapter: str, error: BaseException | None) -> None:
        if error is None:
            self.adapter_published_total.labels(adapter).inc()
        else:
            self.adapter_errors.labels(adapter, "publish").inc()

    def adapter_received(self, adapter: str) -> None:
        self.adapter_received_total.labels(adapter).inc()

    def adapter_error(self, adapter: str, operation: str) -> None:
        self.adapter_errors.labels(adapter, operation).inc()


async def _timed(awaitable: Awaitable[Any], histogram: Any, start: float) -> Any:
    try:
        return await awaitable
    finally:
        histogram.observe(time.perf_counter() - start)


def instrument(server: Any, registry: CollectorRegistry | None = None) -> PrometheusMetrics:
    """The :class:`PrometheusMetrics` of ``server`` (a hubbub.Server),
    registered on first call; later calls return the same one."""
    metrics: PrometheusMetrics | None = getattr(server, _ATTRIBUTE, None)
    if metrics is None:
        metrics = PrometheusMetrics(registry)
        server.add_observer(metrics)
        setattr(server, _ATTRIBUTE, metrics)
    return metrics


# -- serving the metrics on a path beside another app --------------------------------------


def asgi_with_metrics(path: str, metrics: PrometheusMetrics, app: Any = None) -> Any:
    """An ASGI app: ``path`` answers with ``metrics``, the rest goes to ``app``
    (404 without one)."""
    exposition = metrics.asgi_app()

    async def dispatch(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope.get("path") == path:
            await exposition(scope, receive, send)
        elif app is not None:
            await app(scope, receive, send)
        elif scope["type"] == "http":
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.body", "body": b"Not Found"})

    return dispatch


def wsgi_with_metrics(path: str, metrics: PrometheusMetrics, app: Any = None) -> Any:
    """A WSGI app: ``path`` answers with ``metrics``, the rest goes to ``app``
    (404 without one)."""
    exposition = metrics.wsgi_app()

    def dispatch(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == path:
            return exposition(environ, start_response)
        if app is not None:
            return app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]

    return dispatch
