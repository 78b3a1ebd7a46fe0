"""OpenTelemetry traces of a hubbub server (``pip install hubbub[otel]``).

::

    from hubbub.tracing import OpenTelemetryTracing
    sio.add_observer(OpenTelemetryTracing())   # the global tracer provider, or tracer_provider=

Off unless registered. The spans:

* ``socket.io connection``: one per client connection, from its first
  request to its end; its parent is the trace context of the handshake's
  HTTP headers (``traceparent``, or whatever the configured propagator
  reads), so a connection joins the trace of the page or service that
  opened it. Namespace connects, refusals, disconnects and the upgrade are
  events on it.
* ``event <name>``: each event handler's run, a child of its connection's
  span, with the namespace and the event name as attributes. While the
  handler runs (an ``async def`` one too) its span is the current one, so
  spans the handler starts, hubbub's included, are its children.
* ``broadcast <event>``: a broadcast, the adapter's publishing included,
  with the number of local recipients.
* ``adapter <operation>``: a request to every server of a cluster
  (``fetch_sockets``, ``server_side_emit``, ``broadcast_with_ack``), from
  the request to its last answer.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.propagators.textmap import TextMapPropagator
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from hubbub.instrumentation import (
    PROTOCOL_NAMES,
    Finish,
    ObservedConnection,
    ObservedSocket,
    Observer,
)

# attribute names, under one prefix
NAMESPACE = "socketio.namespace"
EVENT = "socketio.event"
SID = "socketio.sid"
SOCKET_ID = "socketio.socket_id"
TRANSPORT = "socketio.transport"
PROTOCOL = "socketio.protocol"
REASON = "socketio.disconnect_reason"
RECIPIENTS = "socketio.recipients"
OPERATION = "socketio.adapter.operation"


class OpenTelemetryTracing(Observer):
    """An observer that makes OpenTelemetry spans of one server's work."""

    def __init__(
        self,
        tracer_provider: trace.TracerProvider | None = None,
        propagator: TextMapPropagator | None = None,
    ) -> None:
        from hubbub import __version__

        self.tracer = trace.get_tracer("hubbub", __version__, tracer_provider=tracer_provider)
        self.propagator = propagator
        # each open connection's span and the context it is current in
        self._connections: dict[str, tuple[Span, Context]] = {}
        # the broadcasts under way (nested when a handler broadcasts from
        # another's recipients' listeners): the innermost gets the count
        self._broadcasts: list[Span] = []

    def _extract(self, headers: dict[str, str]) -> Context:
        if self.propagator is not None:
            return self.propagator.extract(headers)
        return propagate.extract(headers)

    def _connection_context(self, connection: ObservedConnection) -> Context | None:
        entry = self._connections.get(connection.session.sid)
        return entry[1] if entry is not None else None

    def _connection_span(self, connection: ObservedConnection) -> Span | None:
        entry = self._connections.get(connection.session.sid)
        return entry[0] if entry is not None else None

    # -- connections ------------------------------------------------------------------------

    def connection_opened(self, connection: ObservedConnection) -> None:
        parent = self._extract(connection.request.headers)
        session = connection.session
        span = self.tracer.start_span(
            "socket.io connection",
            context=parent,
            kind=SpanKind.SERVER,
            attributes={
                SID: session.sid,
                TRANSPORT: session.transport,
                PROTOCOL: PROTOCOL_NAMES.get(connection.protocol, str(connection.protocol)),
            },
        )
        self._connections[session.sid] = (span, trace.set_span_in_context(span, parent))

    def connection_upgraded(self, connection: ObservedConnection, previous: str) -> None:
        span = self._connection_span(connection)
        if span is not None:
            span.set_attribute(TRANSPORT, connection.session.transport)
            span.add_event("upgrade", {TRANSPORT: connection.session.transport})

    def connection_closed(self, connection: ObservedConnection, reason: str) -> None:
        entry = self._connections.pop(connection.session.sid, None)
        if entry is not None:
            span = entry[0]
            span.set_attribute(REASON, str(reason))
            span.end()

    def socket_connected(self, socket: ObservedSocket) -> None:
        span = self._connection_span(socket.client)
        if span is not None:
            span.add_event("namespace connect", {NAMESPACE: socket.namespace, SOCKET_ID: socket.id})

    def socket_refused(self, connection: ObservedConnection, namespace: str, message: str) -> None:
        span = self._connection_span(connection)
        if span is not None:
            span.add_event("namespace refused", {NAMESPACE: namespace, "message": message})

    def socket_disconnected(self, socket: ObservedSocket, reason: str) -> None:
        span = self._connection_span(socket.client)
        if span is not None:
            span.add_event(
                "namespace disconnect",
                {NAMESPACE: socket.namespace, SOCKET_ID: socket.id, REASON: str(reason)},
            )

    # -- handlers ----------------------------------------------------------------------------

    def call_handler(
        self, socket: ObservedSocket, event: str, fn: Callable[..., Any], args: list[Any]
    ) -> Any:
        parent = self._connection_context(socket.client)
        span = self.tracer.start_span(
            f"event {event}",
            context=parent,
            kind=SpanKind.CONSUMER,
            attributes={
                NAMESPACE: socket.namespace,
                EVENT: event,
                SID: socket.client.session.sid,
                SOCKET_ID: socket.id,
            },
        )
        current = trace.set_span_in_context(span, parent)
        token = otel_context.attach(current)
        try:
            result = fn(*args)
        except BaseException as exc:
            _failed(span, exc)
            span.end()
            raise
        finally:
            otel_context.detach(token)
        if inspect.isawaitable(result):
            # the rest runs later, in a task: the span is current there too
            return _traced(result, span, current)
        span.end()
        return result

    # -- broadcasts and the adapter ------------------------------------------------------------

    @contextlib.contextmanager
    def broadcast(self, namespace: str, event: str | None) -> Iterator[None]:
        attributes = {NAMESPACE: namespace}
        if event is not None:
            attributes[EVENT] = event
        with self.tracer.start_as_current_span(
            f"broadcast {event}" if event is not None else "broadcast",
            kind=SpanKind.PRODUCER,
            attributes=attributes,
        ) as span:
            self._broadcasts.append(span)
            try:
                yield
            finally:
                self._broadcasts.pop()

    def broadcast_delivered(self, namespace: str, recipients: int) -> None:
        if self._broadcasts:
            self._broadcasts[-1].set_attribute(RECIPIENTS, recipients)

    def adapter_request(self, namespace: str, operation: str) -> Finish | None:
        span = self.tracer.start_span(
            f"adapter {operation}",
            kind=SpanKind.CLIENT,
            attributes={NAMESPACE: namespace, OPERATION: operation},
        )

        def finish(error: BaseException | None) -> None:
            if error is not None:
                _failed(span, error)
            span.end()

        return finish


def _failed(span: Span, error: BaseException) -> None:
    span.record_exception(error)
    span.set_status(Status(StatusCode.ERROR, f"{type(error).__name__}: {error}"))


async def _traced(awaitable: Awaitable[Any], span: Span, current: Context) -> Any:
    token = otel_context.attach(current)
    try:
        return await awaitable
    except BaseException as exc:
        _failed(span, exc)
        raise
    finally:
        otel_context.detach(token)
        span.end()
