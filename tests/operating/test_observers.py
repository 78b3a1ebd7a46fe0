"""Observers of one's own: what they are told over a real session, that one
that raises changes nothing for the clients, that removing the last one
leaves the server unobserved, and that a room broadcast is reported once per
recipient whether or not it went out as a shared block."""

from __future__ import annotations

import http.client
import logging
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from typing import Any

import pytest

import hubbub
from conftest import ServerThread
from hubbub.instrumentation import (
    ObservedConnection,
    ObservedPacket,
    ObservedPart,
    ObservedSocket,
    Observer,
)


class Journal(Observer):
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.lock = threading.Lock()

    def add(self, line: str) -> None:
        with self.lock:
            self.lines.append(line)

    def connection_opened(self, connection: ObservedConnection) -> None:
        self.add(f"open {connection.session.transport}")

    def connection_upgraded(self, connection: ObservedConnection, previous: str) -> None:
        self.add(f"upgrade {previous}->{connection.session.transport}")

    def connection_closed(self, connection: ObservedConnection, reason: str) -> None:
        self.add(f"close {reason}")

    def socket_connected(self, socket: ObservedSocket) -> None:
        self.add(f"join {socket.namespace}")

    def event_received(self, socket: ObservedSocket, event: str) -> None:
        self.add(f"event {event}")

    def packet_sent(
        self,
        packet: ObservedPacket,
        connections: Sequence[ObservedConnection],
        parts: Sequence[ObservedPart],
        skipped: Sequence[ObservedConnection] | None,
    ) -> None:
        self.add(f"sent {int(packet.type)} to {len(connections)}")

    def call_handler(
        self, socket: ObservedSocket, event: str, fn: Callable[..., Any], args: list[Any]
    ) -> Any:
        self.add(f"handler {event} {args}")
        return fn(*args)


class Broken(Observer):
    def packet_sent(self, *args: Any) -> None:
        raise RuntimeError("broken observer")

    def event_received(self, socket: ObservedSocket, event: str) -> None:
        raise RuntimeError("broken observer")


@pytest.mark.parametrize("runtime", ["embedded", "gevent"])
def test_an_observer_hears_a_session_and_a_broken_one_harms_nothing(
    runtime: str, caplog: pytest.LogCaptureFixture
) -> None:
    sio = hubbub.Server()
    journal = sio.add_observer(Journal())
    assert isinstance(journal, Journal)
    sio.add_observer(Broken())
    sio.on("echo", lambda socket, value: value)
    with caplog.at_level(logging.ERROR, "hubbub.instrumentation"), \
            ServerThread(sio, gevent=runtime == "gevent") as srv:
        client = hubbub.Client()
        client.connect(srv.url, wait_timeout=10)
        try:
            assert client.call("echo", "hi", timeout=5) == "hi"
            deadline = time.monotonic() + 10
            while "upgrade polling->websocket" not in journal.lines:
                assert time.monotonic() < deadline, journal.lines
                time.sleep(0.02)
        finally:
            client.disconnect()
        deadline = time.monotonic() + 10
        while not any(line.startswith("close") for line in journal.lines):
            assert time.monotonic() < deadline, journal.lines
            time.sleep(0.02)
    lines = journal.lines
    # CONNECT goes out, then the namespace reports the join
    assert lines[:3] == ["open polling", "sent 0 to 1", "join /"]
    assert "event echo" in lines and "handler echo ['hi']" in lines
    assert lines.index("event echo") < lines.index("handler echo ['hi']")
    assert "sent 3 to 1" in lines  # the ack
    assert lines[-1] == "close transport close"
    assert any("broken observer" in r.getMessage() or r.exc_info for r in caplog.records)


def test_removing_the_last_observer_leaves_the_server_unobserved() -> None:
    sio = hubbub.Server()
    assert sio.scheduler.observer is None
    journal = sio.add_observer(Journal())
    assert sio.scheduler.observer is not None
    assert sio.observers == (journal,)
    sio.remove_observer(journal)
    assert sio.scheduler.observer is None and sio.observers == ()
    with ServerThread(sio) as srv:
        client = hubbub.Client()
        client.connect(srv.url, transports=["websocket"], wait_timeout=10)
        client.disconnect()
    assert journal.lines == []


class Fanout(Observer):
    """Tallies the recipients of one event's packets and of broadcasts."""

    def __init__(self, event: str) -> None:
        self.event = event
        self.recipients = 0
        self.sizes: list[int] = []
        self.delivered: list[int] = []
        self.lock = threading.Lock()

    def packet_sent(
        self,
        packet: ObservedPacket,
        connections: Sequence[ObservedConnection],
        parts: Sequence[ObservedPart],
        skipped: Sequence[ObservedConnection] | None,
    ) -> None:
        if isinstance(packet.data, list) and packet.data[:1] == [self.event]:
            with self.lock:
                self.recipients += len(connections) - (len(skipped) if skipped else 0)
                self.sizes.extend(len(part.data) for part in parts)

    def broadcast_delivered(self, namespace: str, recipients: int) -> None:
        with self.lock:
            self.delivered.append(recipients)


@pytest.mark.parametrize("coalesce", [True, False])
def test_a_room_broadcast_to_websocket_clients_is_reported_per_recipient(
    coalesce: bool,
) -> None:
    sio = hubbub.Server(coalesce_broadcasts=coalesce)
    fanout = sio.add_observer(Fanout("news"))
    assert isinstance(fanout, Fanout)

    @sio.on("join")
    def join(socket: hubbub.Socket) -> str:
        socket.join("room")
        return "joined"

    @sio.on("shout")
    def shout(socket: hubbub.Socket) -> str:
        sio.to("room").emit("news", "hello")
        return "shouted"

    members = 3
    with ServerThread(sio) as srv:
        clients = []
        heard = threading.Semaphore(0)
        try:
            for _ in range(members):
                client = hubbub.Client()
                client.on("news", lambda *args: heard.release())
                client.connect(srv.url, transports=["websocket"], wait_timeout=10)
                assert client.call("join", timeout=5) == "joined"
                clients.append(client)
            outsider = hubbub.Client()  # not in the room: not a recipient
            outsider.connect(srv.url, transports=["websocket"], wait_timeout=10)
            clients.append(outsider)
            assert outsider.call("shout", timeout=5) == "shouted"
            for _ in range(members):
                assert heard.acquire(timeout=10)
            plans = sio.of("/")._plans
            # the coalescing server sent the broadcast as a shared block
            assert any(plan.groups for plan in plans.values()) == coalesce
        finally:
            for client in clients:
                client.disconnect()
    assert fanout.recipients == members
    assert fanout.sizes and all(size == len('2["news","hello"]') for size in fanout.sizes)
    assert members in fanout.delivered


class Incoming(Observer):
    """What clients send, message by message, as observers see it."""

    def __init__(self) -> None:
        self.messages: list[str | bytes] = []
        self.events: list[str] = []
        self.lock = threading.Lock()

    def message_received(self, connection: ObservedConnection, data: str | bytes) -> None:
        with self.lock:
            self.messages.append(data)

    def event_received(self, socket: ObservedSocket, event: str) -> None:
        with self.lock:
            self.events.append(event)


@pytest.mark.parametrize("runtime", ["embedded", "gevent"])
def test_messages_of_0_9_and_0_6_clients_are_observed(runtime: str) -> None:
    """The admin UI's packetsIn/bytesIn and the metrics' received bytes
    count the messages of every generation: a 0.9 client's packets and a
    0.6 client's messages reach ``message_received`` as Engine.IO's do."""
    sio = hubbub.Server(v06=True)
    incoming = sio.add_observer(Incoming())
    sio.on("echo", lambda socket, value: value)
    sio.on("message", lambda socket, value: socket.send(value))
    with ServerThread(sio, gevent=runtime == "gevent") as srv:
        client = hubbub.Client(protocol="0.9")
        client.connect(srv.url, transports=["polling"], wait_timeout=10)
        try:
            assert client.call("echo", "from 0.9", timeout=5) == "from 0.9"
        finally:
            client.disconnect()
        # a 0.6 xhr-polling session: the first GET opens it, a POST sends
        base = srv.url.replace("http://", "")
        host, _, port = base.partition(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        try:
            conn.request("GET", f"/socket.io/xhr-polling//{int(time.time() * 1000)}")
            opened = conn.getresponse().read().decode()
            sid = re.match(r"~m~\d+~m~(\d+)", opened)
            assert sid is not None, opened
            body = "data=" + urllib.parse.quote("~m~8~m~from 0.6", safe="~")
            conn.request(
                "POST",
                f"/socket.io/xhr-polling/{sid.group(1)}/send",
                body,
                {"Content-Type": "application/x-www-form-urlencoded"},
            )
            response = conn.getresponse()
            response.read()
            assert response.status == 200
        finally:
            conn.close()
        deadline = time.monotonic() + 10
        while incoming.events.count("message") < 1:
            assert time.monotonic() < deadline, incoming.events
            time.sleep(0.02)
    texts = [m for m in incoming.messages if isinstance(m, str)]
    assert any('"name":"echo"' in m and "from 0.9" in m for m in texts), texts
    assert "from 0.6" in texts, texts
