"""OpenTelemetry traces, collected with the SDK's in-memory exporter.

hubbub's own client connects with a ``traceparent`` header over a real
socket (a websocket, and long-polling) to the embedded server and to the
gevent server; the spans the session makes and their parents are checked.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import hubbub
from conftest import ServerThread
from hubbub.tracing import OpenTelemetryTracing

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def traced_server(runtime: str) -> tuple[hubbub.Server, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    sio = hubbub.Server()
    sio.add_observer(OpenTelemetryTracing(tracer_provider=provider))

    @sio.on("echo")
    def echo(socket: hubbub.Socket, value: Any) -> Any:
        return value

    @sio.on("shout")
    def shout(socket: hubbub.Socket, text: str) -> None:
        sio.emit("news", text)

    @sio.on("fail")
    def fail(socket: hubbub.Socket) -> None:
        raise ValueError("on purpose")

    if runtime == "gevent":

        @sio.on("count")
        def count(socket: hubbub.Socket) -> int:
            return len(sio.fetch_sockets())

    else:

        @sio.on("count")
        async def count_async(socket: hubbub.Socket) -> int:
            sockets = await sio.fetch_sockets()
            return len(sockets)

    return sio, exporter


def finished(exporter: InMemorySpanExporter, name: str, count: int) -> list[ReadableSpan]:
    deadline = time.monotonic() + 10
    while True:
        spans = [s for s in exporter.get_finished_spans() if s.name == name]
        if len(spans) >= count or time.monotonic() > deadline:
            return spans
        time.sleep(0.02)


@pytest.mark.parametrize("runtime", ["embedded", "gevent"])
@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_spans_and_parentage(runtime: str, transport: str) -> None:
    sio, exporter = traced_server(runtime)
    server = ServerThread(sio, gevent=runtime == "gevent")
    with server as srv:
        client = hubbub.Client()
        news: list[str] = []
        client.on("news", news.append)
        client.connect(srv.url, transports=[transport], headers={"traceparent": TRACEPARENT},
                       wait_timeout=10)
        sid = client.get_sid()
        try:
            assert client.call("echo", "hi", timeout=5) == "hi"
            client.call("shout", "hello", timeout=5)
            assert client.call("count", timeout=5) == 1
            client.emit("fail")
            assert finished(exporter, "event fail", 1)
        finally:
            client.disconnect()
        (connection,) = finished(exporter, "socket.io connection", 1)
    assert news == ["hello"]

    # the connection continues the trace of the handshake's headers
    assert connection.context.trace_id == int(TRACE_ID, 16)
    assert connection.parent is not None and connection.parent.span_id == int(PARENT_ID, 16)
    assert connection.parent.is_remote
    assert connection.kind is SpanKind.SERVER
    assert connection.attributes is not None
    assert connection.attributes["socketio.transport"] == transport
    assert connection.attributes["socketio.protocol"] == "5"
    assert connection.attributes["socketio.disconnect_reason"] == "transport close"
    events = [(e.name, dict(e.attributes or {})) for e in connection.events]
    assert ("namespace connect", {"socketio.namespace": "/", "socketio.socket_id": sid}) in events
    assert ("namespace disconnect", {"socketio.namespace": "/", "socketio.socket_id": sid,
                                     "socketio.disconnect_reason": "client namespace disconnect"}
            ) in events

    # each handler: a child of the connection, namespace and event as attributes
    handlers = {}
    for name in ("echo", "shout", "count", "fail"):
        (span,) = finished(exporter, f"event {name}", 1)
        assert span.parent is not None and span.parent.span_id == connection.context.span_id
        assert span.context.trace_id == connection.context.trace_id
        assert span.attributes is not None
        assert span.attributes["socketio.namespace"] == "/"
        assert span.attributes["socketio.event"] == name
        assert span.kind is SpanKind.CONSUMER
        handlers[name] = span
    assert handlers["echo"].status.status_code is StatusCode.UNSET
    assert handlers["fail"].status.status_code is StatusCode.ERROR
    assert [e.name for e in handlers["fail"].events] == ["exception"]

    # a broadcast made by a handler is the handler's child
    (broadcast,) = finished(exporter, "broadcast news", 1)
    assert broadcast.parent is not None
    assert broadcast.parent.span_id == handlers["shout"].context.span_id
    assert broadcast.attributes is not None
    assert broadcast.attributes["socketio.recipients"] == 1
    assert broadcast.kind is SpanKind.PRODUCER

    # fetch_sockets from a handler (awaited in an async one on asyncio)
    (request,) = finished(exporter, "adapter fetch_sockets", 1)
    assert request.parent is not None
    assert request.parent.span_id == handlers["count"].context.span_id
    assert request.end_time is not None and handlers["count"].end_time is not None
    assert request.end_time <= handlers["count"].end_time


def test_no_headers_start_a_trace_of_its_own() -> None:
    sio, exporter = traced_server("embedded")
    with ServerThread(sio) as srv:
        client = hubbub.Client()
        client.connect(srv.url, transports=["websocket"], wait_timeout=10)
        try:
            assert client.call("echo", "hi", timeout=5) == "hi"
        finally:
            client.disconnect()
        (connection,) = finished(exporter, "socket.io connection", 1)
    assert connection.parent is None
    (echo,) = finished(exporter, "event echo", 1)
    assert echo.parent is not None and echo.parent.span_id == connection.context.span_id
