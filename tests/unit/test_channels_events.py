"""The channel apps' events and the view's flow (``hubbub.channels``), with
a scripted connection standing in for the transport: decorators, the
channel regex binding, the order of events, subscriptions, the message log.
The real transports are in tests/examples/test_v06_browser.py and
tests/cluster/test_cluster_v06_channels.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from hubbub.channels import events
from hubbub.channels.channels import CHANNELS
from hubbub.channels.clients import CLIENTS
from hubbub.channels.flow import serve
from hubbub.channels.utils import format_log
from hubbub.webpy_socketio import events as webpy_events

EVENTS = [events.on_connect, events.on_message, events.on_subscribe, events.on_unsubscribe,
          events.on_error, events.on_disconnect, events.on_finish]


@pytest.fixture(autouse=True)
def own_handlers() -> Iterator[None]:
    """Each test registers its own handlers, and leaves none behind."""
    saved = [list(e.handlers) for e in EVENTS]
    for e in EVENTS:
        e.handlers = []
    try:
        yield
    finally:
        for e, handlers in zip(EVENTS, saved, strict=True):
            e.handlers = handlers


class Connection:
    """A connection that delivers ``payloads`` (a list of messages each),
    then is gone; it records what the socket sent and joined."""

    def __init__(self, *payloads: list[Any], sid: str = "s1") -> None:
        self.payloads = list(payloads)
        self.session = type("Session", (), {"session_id": sid})()
        self.sent: list[Any] = []
        self.rooms: list[str] = []
        self.to: list[tuple[list[str], Any]] = []
        self.lines: list[str] = []
        # handler.server.log.write: the message log
        self.handler = self.server = self.log = self

    def write(self, line: str) -> None:
        self.lines.append(line)

    def on_connect(self) -> bool:
        return True

    def connected(self) -> bool:
        return bool(self.payloads)

    def recv(self) -> list[Any]:
        return self.payloads.pop(0) if self.payloads else []

    def send(self, message: Any) -> None:
        self.sent.append(message)

    def broadcast(self, message: Any) -> None:
        self.sent.append(("broadcast", message))

    def join(self, channel: str) -> None:
        self.rooms.append(channel)

    def leave(self, channel: str) -> None:
        self.rooms.remove(channel)

    def to_channels(self, channels: list[str], message: Any) -> None:
        self.to.append((channels, message))


def run(conn: Connection, fmt: str | None = "%(TYPE)s %(MESSAGE)s") -> None:
    serve({"REMOTE_ADDR": "1.2.3.4"}, conn,
          lambda request, kind, message: format_log(fmt, request, kind, message))


def test_decorators_bare_or_called_return_the_handler() -> None:
    def a(*args: Any) -> None: ...
    def b(*args: Any) -> None: ...
    def c(*args: Any) -> None: ...

    assert events.on_message(a) is a
    assert events.on_message()(b) is b
    assert events.on_message(channel="^room-")(c) is c
    assert [(h.__name__, p and p.pattern) for h, p in events.on_message.handlers] == [
        ("a", None), ("b", None), ("c", "^room-")
    ]
    # webpy-socketio's names are the same objects
    assert webpy_events.on_message is events.on_message


def test_on_connect_takes_no_channel() -> None:
    with pytest.raises(events.EventError, match="on_connect event does not support channels"):
        events.on_connect(channel="^room-")
    with pytest.raises(events.EventError, match="handler f could not"):

        def f(*args: Any) -> None: ...

        events.on_connect(f, channel="x")
    assert events.on_connect.handlers == []


def test_the_channel_pattern_is_matched_from_the_start_against_any_channel() -> None:
    calls: list[tuple[str, Any]] = []
    events.on_message(channel="^room-")(lambda r, s, c, m: calls.append(("room", m)))
    events.on_message(channel="chat")(lambda r, s, c, m: calls.append(("chat", m)))
    events.on_message(lambda r, s, c, m: calls.append(("none", m)))
    run(Connection(["before"], ["__subscribe__", "my-chat"], ["1"],
                   ["__subscribe__", "room-2", "__subscribe__", "chat-x"], ["2"]))
    # no channel: the unpatterned handler; "my-chat" matches neither pattern
    # (re.match); then each matching handler once, however many channels match
    assert calls == [("none", "before"), ("room", "2"), ("chat", "2")]


def test_subscribe_events_match_their_own_channel_and_run_unpatterned() -> None:
    calls: list[tuple[str, str]] = []
    events.on_subscribe(channel="^room-")(lambda r, s, c, ch: calls.append(("room", ch)))
    events.on_subscribe(lambda r, s, c, ch: calls.append(("any", ch)))
    events.on_unsubscribe(channel="^room-")(lambda r, s, c, ch: calls.append(("left", ch)))
    run(Connection(["__subscribe__", "room-1", "__subscribe__", "lobby"],
                   ["__unsubscribe__", "lobby"]))
    assert calls == [("room", "room-1"), ("any", "room-1"), ("any", "lobby"),
                     ("left", "room-1")]  # the last as the connection ended


def test_the_order_of_events_and_the_context() -> None:
    order: list[str] = []

    @events.on_connect
    def connect(request: Any, socket: Any, context: dict[str, Any]) -> None:
        order.append("connect")
        context["n"] = 1

    @events.on_message(channel="^room-")
    def message(request: Any, socket: Any, context: dict[str, Any], message: Any) -> None:
        context["n"] += 1
        order.append(f"message {message}")
        socket.send_and_broadcast_channel({"echo": message})

    @events.on_unsubscribe(channel="^room-")
    def unsubscribe(request: Any, socket: Any, context: dict[str, Any], channel: str) -> None:
        order.append(f"unsubscribe {channel} {socket.channels}")

    @events.on_disconnect(channel="^room-")
    def disconnect(request: Any, socket: Any, context: dict[str, Any]) -> None:
        order.append("disconnect")

    @events.on_finish(channel="^room-")
    def finish(request: Any, socket: Any, context: dict[str, Any]) -> None:
        order.append(f"finish {context['n']} {request['REMOTE_ADDR']}")

    conn = Connection(["__subscribe__"], ["room-1", "hi"], ["__subscribe__", "room-2"])
    run(conn)
    assert order == [
        "connect",
        "message hi",
        "disconnect",
        # every channel still subscribed gets on_unsubscribe before on_finish
        "unsubscribe room-1 ['room-1', 'room-2']",
        "unsubscribe room-2 ['room-1', 'room-2']",
        "finish 2 1.2.3.4",
    ]
    # the pairing held across payloads; the channels are rooms
    assert conn.sent == [{"echo": "hi"}]
    assert conn.to == [(["room-1"], {"echo": "hi"})]
    assert conn.rooms == []  # left as it ended
    assert "room-1" not in CHANNELS and "s1" not in CLIENTS
    assert conn.lines == ["subscribe room-1\n", "message hi\n", "subscribe room-2\n"]


def test_arrays_arrive_as_arrays() -> None:
    got: list[Any] = []
    events.on_message(lambda r, s, c, m: got.append(m))
    # django-socketio's form (the 0.6 client joins the array with commas),
    # and hubbub's extension's, which keeps it a JSON array
    run(Connection(["__array__", "1,two"], [{"__array__": [1, "two"]}], [{"a": 1}]))
    assert got == ["1,two", [1, "two"], {"a": 1}]


def test_a_handler_that_raises_fires_on_error_then_the_connection_ends() -> None:
    order: list[Any] = []

    @events.on_message
    def boom(request: Any, socket: Any, context: dict[str, Any], message: Any) -> None:
        order.append(message)
        raise ValueError("bad")

    events.on_error(lambda r, s, c, exc: order.append(("error", str(exc))))
    events.on_disconnect(lambda r, s, c: order.append("disconnect"))
    events.on_finish(lambda r, s, c: order.append("finish"))
    conn = Connection(["one", "two"], ["three"])
    run(conn)
    assert order == ["one", ("error", "bad"), "finish"]


def test_the_message_log_format() -> None:
    conn = Connection(["hi"])
    run(conn, None)  # None: no log
    assert conn.lines == []
    line = format_log('%(REMOTE_ADDR)s - - [%(TIME)s] "Socket.IO %(TYPE)s: %(MESSAGE)s"',
                      {"REMOTE_ADDR": "1.2.3.4"}, "message", {"a": 1})
    assert line is not None
    assert line.startswith('1.2.3.4 - - [') and line.endswith('] "Socket.IO message: {\'a\': 1}"\n')
    # a key the request lacks is "-"
    assert format_log("%(HTTP_USER_AGENT)s", {}, "message", "x") == "-\n"
