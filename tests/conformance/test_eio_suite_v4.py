"""The official Engine.IO v4 test suite (docs/engine.io-protocol/v4-test-suite
in socketio/socket.io), case by case, in Python over real sockets.

Every test runs against examples/engineio_echo.py on the embedded server,
under uvicorn and on gevent (the ``echo_url`` fixture). The polling requests
go through a NodeAgent (eio_helpers): with ``Connection: close``, over
connections kept alive unless the answer says ``close``, as node-fetch's do
over Node's agent. Where the JS suite relies on one request reaching the
server before another, the test makes that order explicit instead of hoping
for it.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator

import pytest
from eio_helpers import (
    PING_INTERVAL,
    PING_TIMEOUT,
    SLACK,
    get,
    in_thread,
    node_agent,
    open_polling,
    post,
    query,
    raw_request,
    recv,
    request,
    sid_query,
    wait_closed,
    ws_connect,
    ws_open,
    ws_refused,
)
from websockets.sync.client import ClientConnection

OPEN_KEYS = {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}


@pytest.fixture(autouse=True)
def _node_agent() -> Iterator[None]:
    """Every polling request through a NodeAgent, as node-fetch's go through
    Node's agent in the JS suite (eio_helpers.NodeAgent says why)."""
    with node_agent():
        yield


def sq(sid: str, **extra: str) -> str:
    return sid_query(4, sid, **extra)


@contextlib.contextmanager
def upgrade(url: str, sid: str) -> Iterator[ClientConnection]:
    """Probe and upgrade a polling session; yields the websocket."""
    with ws_connect(url, query(EIO=4, transport="websocket", sid=sid)) as ws:
        ws.send("2probe")
        assert recv(ws) == "3probe"
        ws.send("5")
        # the echo proves the server has processed "5" (frames are in order)
        ws.send("4ready")
        assert recv(ws) == "4ready"
        yield ws


# -- handshake ---------------------------------------------------------------


def test_handshake_polling_successfully_opens_a_session(echo_url: str) -> None:
    r = get(echo_url, query(EIO=4, transport="polling"))
    assert r.status == 200
    assert r.text.startswith("0")
    value = json.loads(r.text[1:])
    assert set(value) == OPEN_KEYS
    assert isinstance(value["sid"], str)
    assert value["upgrades"] == ["websocket"]
    assert value["pingInterval"] == 300
    assert value["pingTimeout"] == 200
    assert value["maxPayload"] == 1000000


def test_handshake_polling_fails_with_an_invalid_eio_query_parameter(echo_url: str) -> None:
    assert get(echo_url, query(transport="polling")).status == 400
    assert get(echo_url, query(EIO="abc", transport="polling")).status == 400


def test_handshake_polling_fails_with_an_invalid_transport_query_parameter(
    echo_url: str,
) -> None:
    assert get(echo_url, query(EIO=4)).status == 400
    assert get(echo_url, query(EIO=4, transport="abc")).status == 400


def test_handshake_polling_fails_with_an_invalid_request_method(echo_url: str) -> None:
    assert request(echo_url, "POST", query(EIO=4, transport="polling")).status == 400
    assert request(echo_url, "PUT", query(EIO=4, transport="polling")).status == 400


def test_handshake_websocket_successfully_opens_a_session(echo_url: str) -> None:
    with ws_open(echo_url, 4) as (_, value):
        assert set(value) == OPEN_KEYS
        assert isinstance(value["sid"], str)
        assert value["upgrades"] == []
        assert value["pingInterval"] == 300
        assert value["pingTimeout"] == 200
        assert value["maxPayload"] == 1000000


def test_handshake_websocket_fails_with_an_invalid_eio_query_parameter(echo_url: str) -> None:
    ws_refused(echo_url, query(transport="websocket"))
    ws_refused(echo_url, query(EIO="abc", transport="websocket"))


def test_handshake_websocket_fails_with_an_invalid_transport_query_parameter(
    echo_url: str,
) -> None:
    ws_refused(echo_url, query(EIO=4))
    ws_refused(echo_url, query(EIO=4, transport="abc"))


# -- message -----------------------------------------------------------------


def _roundtrip(url: str, body: str) -> None:
    sid, _ = open_polling(url, 4)
    push = post(url, sq(sid), body)
    assert push.status == 200
    assert push.text == "ok"
    poll = get(url, sq(sid))
    assert poll.status == 200
    assert poll.text == body


def test_message_polling_sends_and_receives_a_payload_containing_one_plain_text_packet(
    echo_url: str,
) -> None:
    _roundtrip(echo_url, "4hello")


def test_message_polling_sends_and_receives_a_payload_containing_several_plain_text_packets(
    echo_url: str,
) -> None:
    _roundtrip(echo_url, "4test1\x1e4test2\x1e4test3")


def test_message_polling_sends_and_receives_a_payload_containing_plain_text_and_binary_packets(
    echo_url: str,
) -> None:
    _roundtrip(echo_url, "4hello\x1ebAQIDBA==")


def test_message_polling_closes_the_session_upon_invalid_packet_format(echo_url: str) -> None:
    sid, _ = open_polling(echo_url, 4)
    push = post(echo_url, sq(sid), "abc")
    assert push.status == 400
    assert get(echo_url, sq(sid)).status == 400


def test_message_polling_closes_the_session_upon_duplicate_poll_requests(echo_url: str) -> None:
    sid, _ = open_polling(echo_url, 4)
    first = in_thread(lambda: get(echo_url, sq(sid)))
    time.sleep(0.05)  # the first GET is held by now
    second = get(echo_url, sq(sid, t="burst"))
    r1 = first.result(5)
    assert r1.status == 200
    assert r1.text == "1"
    assert second.status in (400, 500)
    assert get(echo_url, sq(sid)).status == 400


def test_message_polling_closes_the_session_upon_cancelled_polling_request(
    echo_url: str,
) -> None:
    sid, _ = open_polling(echo_url, 4)
    sock = raw_request(echo_url, "GET", sq(sid))
    time.sleep(0.05)  # the GET is held by now
    sock.close()  # the client aborts it
    assert get(echo_url, sq(sid)).status == 400


def test_message_websocket_sends_and_receives_a_plain_text_packet(echo_url: str) -> None:
    with ws_open(echo_url, 4) as (ws, _):
        ws.send("4hello")
        assert recv(ws) == "4hello"


def test_message_websocket_sends_and_receives_a_binary_packet(echo_url: str) -> None:
    with ws_open(echo_url, 4) as (ws, _):
        ws.send(bytes([1, 2, 3, 4]))
        assert recv(ws) == bytes([1, 2, 3, 4])


def test_message_websocket_closes_the_session_upon_invalid_packet_format(echo_url: str) -> None:
    with ws_open(echo_url, 4) as (ws, _):
        ws.send("abc")
        got = wait_closed(ws)
        assert all(m == "2" for m in got), got


# -- heartbeat -----------------------------------------------------------------


def test_heartbeat_polling_sends_ping_pong_packets(echo_url: str) -> None:
    sid, _ = open_polling(echo_url, 4)
    for _ in range(3):
        start = time.monotonic()
        poll = get(echo_url, sq(sid))
        assert poll.status == 200
        assert poll.text == "2"
        # the ping comes after pingInterval, not at once
        assert time.monotonic() - start > PING_INTERVAL - SLACK
        assert post(echo_url, sq(sid), "3").status == 200


def test_heartbeat_polling_closes_the_session_upon_ping_timeout(echo_url: str) -> None:
    sid, _ = open_polling(echo_url, 4)
    time.sleep(PING_INTERVAL + PING_TIMEOUT + SLACK)
    assert get(echo_url, sq(sid)).status == 400


def test_heartbeat_websocket_sends_ping_pong_packets(echo_url: str) -> None:
    with ws_open(echo_url, 4) as (ws, _):
        for _ in range(3):
            assert ws.recv(timeout=2) == "2"
            ws.send("3")


def test_heartbeat_websocket_closes_the_session_upon_ping_timeout(echo_url: str) -> None:
    with ws_open(echo_url, 4) as (ws, _):
        start = time.monotonic()
        got = wait_closed(ws, timeout=PING_INTERVAL + PING_TIMEOUT + 2)
        assert got == ["2"]
        assert time.monotonic() - start > PING_INTERVAL + PING_TIMEOUT - SLACK


# -- close -------------------------------------------------------------------------


def test_close_polling_forcefully_closes_the_session(echo_url: str) -> None:
    sid, _ = open_polling(echo_url, 4)
    poll = in_thread(lambda: get(echo_url, sq(sid)))
    time.sleep(0.05)  # the GET is held when the close packet arrives
    assert post(echo_url, sq(sid), "1").status == 200
    r = poll.result(5)
    assert r.status == 200
    assert r.text == "6"
    assert get(echo_url, sq(sid)).status == 400


def test_close_websocket_forcefully_closes_the_session(echo_url: str) -> None:
    with ws_open(echo_url, 4) as (ws, _):
        ws.send("1")
        wait_closed(ws)


# -- upgrade ----------------------------------------------------------------------


def test_upgrade_successfully_upgrades_from_http_long_polling_to_websocket(
    echo_url: str,
) -> None:
    sid, _ = open_polling(echo_url, 4)
    with ws_connect(echo_url, query(EIO=4, transport="websocket", sid=sid)) as ws:
        ws.send("2probe")
        assert recv(ws) == "3probe"
        poll = get(echo_url, sq(sid))
        assert poll.status == 200
        assert poll.text == "6"  # noop: cleanly ends the long-polling cycle
        ws.send("5")
        ws.send("4hello")
        assert recv(ws) == "4hello"


def test_upgrade_ignores_http_requests_with_same_sid_after_upgrade(echo_url: str) -> None:
    sid, _ = open_polling(echo_url, 4)
    with upgrade(echo_url, sid) as ws:
        assert get(echo_url, sq(sid)).status == 400
        ws.send("4hello")
        assert recv(ws) == "4hello"


def test_upgrade_ignores_websocket_connection_with_same_sid_after_upgrade(
    echo_url: str,
) -> None:
    sid, _ = open_polling(echo_url, 4)
    with upgrade(echo_url, sid) as ws:
        ws_refused(echo_url, query(EIO=4, transport="websocket", sid=sid))
        ws.send("4hello")
        assert recv(ws) == "4hello"
