"""Structured logging: a line per lifecycle step at INFO on
``hubbub.connections``, a line per packet at DEBUG on ``hubbub.packets``,
each with the session id, so one client can be followed.

In process (records and their attributes) on the embedded and gevent
servers, and through ``hubbub run --log-packets --metrics-path``.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from typing import Any

import pytest

import hubbub
from conftest import ServerThread, free_port, run_process, sample, scrape


class Records(logging.Handler):
    """Keeps the records of the hubbub.connections and hubbub.packets loggers
    (they may be emitted on the server's thread)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self.guard = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self.guard:
            self.records.append(record)

    def of(self, sid: str) -> list[logging.LogRecord]:
        with self.guard:
            return [r for r in self.records if getattr(r, "sid", None) == sid]


@pytest.fixture
def records() -> Any:
    handler = Records()
    loggers = [logging.getLogger("hubbub.connections"), logging.getLogger("hubbub.packets")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)


@pytest.mark.parametrize("runtime", ["embedded", "gevent"])
def test_one_client_can_be_followed(runtime: str, records: Records) -> None:
    sio = hubbub.Server(log_packets=True)
    sio.on("echo", lambda socket, value: value)

    @sio.on("connect", namespace="/private")
    def refuse(socket: hubbub.Socket, auth: Any) -> None:
        raise hubbub.ConnectionRefusedError("not for you")

    with ServerThread(sio, gevent=runtime == "gevent") as srv:
        client = hubbub.Client()
        client.connect(srv.url, transports=["polling", "websocket"], wait_timeout=10)
        sid = client.sid
        assert sid is not None
        try:
            assert client.call("echo", "hi", timeout=5) == "hi"
        finally:
            client.disconnect()
        other = hubbub.Client()
        with pytest.raises(hubbub.ClientConnectionError, match="not for you"):
            other.connect(srv.url, namespaces=["/private"], transports=["websocket"],
                          wait_timeout=10)
        other.disconnect()
        engine_sid = next(
            r.sid for r in list(records.records)  # type: ignore[attr-defined]
            if getattr(r, "step", None) == "namespace connect" and r.socket == sid  # type: ignore[attr-defined]
        )
        pause = threading.Event()
        for _ in range(200):
            if any(getattr(r, "step", None) == "connection closed" for r in records.of(engine_sid)):
                break
            pause.wait(0.05)
    mine = records.of(engine_sid)
    steps = [r.step for r in mine if r.name == "hubbub.connections"]  # type: ignore[attr-defined]
    assert steps[0] == "connection open"
    assert steps[-1] == "connection closed"
    assert "namespace connect" in steps and "namespace disconnect" in steps
    (refusal,) = [r for r in records.records if getattr(r, "step", None) == "namespace refused"]
    assert refusal.getMessage() == (
        f"namespace refused sid={refusal.sid} nsp=/private error='not for you'"  # type: ignore[attr-defined]
    )
    assert refusal.sid != engine_sid  # type: ignore[attr-defined]
    assert all(r.levelno == logging.INFO for r in mine if r.name == "hubbub.connections")
    opened = mine[0]
    assert opened.getMessage() == (
        f"connection open sid={engine_sid} transport=polling protocol=5 remote=127.0.0.1"
    )
    closed = next(r for r in mine if getattr(r, "step", None) == "connection closed")
    assert closed.reason == "transport close"  # type: ignore[attr-defined]
    packets = [r for r in mine if r.name == "hubbub.packets"]
    assert all(r.levelno == logging.DEBUG for r in packets)
    lines = [r.getMessage() for r in packets]
    assert f"packet in sid={engine_sid} type=EVENT nsp=/ event=echo id=0" in lines
    assert f"packet out sid={engine_sid} type=ACK nsp=/ id=0" in lines
    assert f"packet in sid={engine_sid} type=CONNECT nsp=/" in lines
    assert any(line.startswith(f"packet out sid={engine_sid} type=CONNECT nsp=/") for line in lines)
    echo_in = next(r for r in packets if getattr(r, "event", None) == "echo")
    assert (echo_in.direction, echo_in.packet_type, echo_in.namespace) == (  # type: ignore[attr-defined]
        "in", "EVENT", "/"
    )


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
def test_hubbub_run_logs_packets_and_serves_metrics(runtime: str) -> None:
    port = free_port()
    args = [sys.executable, "-m", "hubbub", "run", "examples.conformance_server:sio",
            "--port", str(port), "--runtime", runtime, "--log-packets", "--metrics-path",
            "/metrics"]
    with run_process(args, port) as proc:
        url = f"http://127.0.0.1:{port}"
        client = hubbub.Client()
        client.connect(url, transports=["websocket"], wait_timeout=10)
        try:
            assert client.call("message-with-ack", 1, "two", timeout=5) == (1, "two")
            m = scrape(url)
            assert sample(m, "hubbub_connected_clients", transport="websocket", protocol="5") == 1
            assert sample(m, "hubbub_events_received_total", namespace="/") == 1
        finally:
            client.disconnect()
        proc.terminate()
        proc.wait(10)
        assert proc.stdout is not None
        output = proc.stdout.read().decode()
    opened = re.search(r"INFO hubbub.connections: connection open sid=(\S+) "
                       r"transport=websocket protocol=5", output)
    assert opened, output
    sid = opened.group(1)
    assert f"DEBUG hubbub.packets: packet in sid={sid} type=EVENT nsp=/ " \
           f"event=message-with-ack id=0" in output
    assert f"DEBUG hubbub.packets: packet out sid={sid} type=ACK nsp=/ id=0" in output
    assert f"INFO hubbub.connections: connection closed sid={sid} reason=" in output
