"""The observer seam (hubbub.instrumentation) with real clients in-process
(hubbub.testing.TestClient): what an Observer is told of connections,
packets in and out (a broadcast is one call with its recipient count) and
closes; Scheduler.when_attached."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

import hubbub
from hubbub.instrumentation import (
    ObservedConnection,
    ObservedPacket,
    ObservedPart,
    Observer,
    payload_size,
)
from hubbub.runtime.contract import Scheduler
from hubbub.testing import TestClient


class Log(Observer):
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    def connection_opened(self, client: ObservedConnection) -> None:
        self.calls.append(("opened", client.session.sid, client.protocol))

    def connection_closed(self, client: ObservedConnection, reason: str) -> None:
        self.calls.append(("closed", client.session.sid, reason))

    def message_received(self, client: ObservedConnection, data: str | bytes) -> None:
        self.calls.append(("in", client.session.sid, payload_size(data)))

    def packet_sent(
        self,
        packet: ObservedPacket,
        connections: Sequence[ObservedConnection],
        parts: Sequence[ObservedPart],
        skipped: Sequence[ObservedConnection] | None,
    ) -> None:
        size = sum(payload_size(part.data) for part in parts)
        recipients = len(connections) - (len(skipped) if skipped else 0)
        self.calls.append(("out", len(parts), size, recipients))


def test_payload_size_is_utf8() -> None:
    assert payload_size("abc") == 3
    assert payload_size("hé") == 3
    assert payload_size(b"\x00\x01") == 2
    assert payload_size("\U0001f600") == 4


def test_observer_sees_connections_and_packets() -> None:
    sio = hubbub.Server()
    log = Log()
    sio.add_observer(log)

    @sio.on("shout")
    def shout(socket: hubbub.Socket, text: str) -> str:
        sio.emit("heard", text)  # one broadcast to both clients
        return "ok"

    async def scenario() -> None:
        async with TestClient(sio) as a, TestClient(sio) as b:
            assert await a.call("shout", "hé") == "ok"
            assert await b.receive("heard") == ["hé"]
            assert await a.receive("heard") == ["hé"]

    asyncio.run(scenario())
    opened = [c for c in log.calls if c[0] == "opened"]
    assert len(opened) == 2 and all(c[2] == 5 for c in opened)
    sids = {c[1] for c in opened}
    # sizes are of the Socket.IO packet an Engine.IO message carries, in
    # UTF-8: the shout with its ack id is 20["shout","hé"]
    shout_in = [c for c in log.calls if c[0] == "in" and c[2] == len('20["shout","hé"]'.encode())]
    assert len(shout_in) == 1 and shout_in[0][1] in sids
    # the broadcast: one call, one part, 2 recipients
    assert ("out", 1, len('2["heard","hé"]'.encode()), 2) in log.calls
    # the ack, to one client
    assert ("out", 1, len('30["ok"]'), 1) in log.calls
    closed = [c for c in log.calls if c[0] == "closed"]
    assert {c[1] for c in closed} == sids

    sio.remove_observer(log)
    assert sio.observers == ()


def test_when_attached_runs_once_a_runtime_attaches() -> None:
    scheduler = Scheduler()
    got: list[Any] = []
    scheduler.when_attached(got.append)
    assert got == []

    class Runtime:
        name = "fake"
        spawn = staticmethod(lambda fn, *args: fn(*args))

        def check_handler(self, fn: Any) -> None:
            pass

    runtime: Any = Runtime()
    scheduler.attach(runtime)
    assert got == [runtime]
    scheduler.when_attached(got.append)  # already attached: at once
    assert got == [runtime, runtime]
    scheduler.attach(runtime)
    assert got == [runtime, runtime]
