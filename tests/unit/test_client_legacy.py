"""Sans-IO tests of the client's Socket.IO 0.9 session (hubbub.client.legacy):
the handshake and the choice of transport, 0.9 packets mapped to and from
the Socket.IO packets the client core speaks, heartbeats and the silence
watchdog, and how a session ends. The fake driver of client_fakes.py
stands for the network.
"""

from __future__ import annotations

import pytest
from client_fakes import FakeDriver, Recorder

from hubbub.client.engine import Target
from hubbub.client.http1 import CookieJar
from hubbub.client.legacy import LegacyClient
from hubbub.legacy.v09.codec import decode_payload, encode_payload
from hubbub.socketio.codec import Packet, PacketType

URL = "http://example.test:8080"


def _client(driver: FakeDriver, listener: Recorder,
            transports: tuple[str, ...] = ("websocket", "polling"),
            query: dict[str, str] | None = None) -> LegacyClient:
    target = Target(URL, "socket.io", dict(query or {}), [], CookieJar())
    link = LegacyClient(driver, listener, target, list(transports), timeout=5.0)
    link.open()
    return link


def _handshake(driver: FakeDriver, offered: str = "websocket,xhr-polling",
               heartbeat: str = "15") -> None:
    request = driver.request("GET")
    assert request.path == "/socket.io/1/"
    request.answer(200, f"sid9:{heartbeat}:25:{offered}")


def _ws_open(driver: FakeDriver, listener: Recorder) -> LegacyClient:
    link = _client(driver, listener)
    _handshake(driver)
    ws = driver.sockets[0]
    ws.open()
    ws.message("1::")
    return link


def test_handshake_then_websocket_at_the_sessions_path() -> None:
    driver, listener = FakeDriver(), Recorder()
    link = _client(driver, listener, query={"token": "t"})
    assert driver.request("GET").query["token"] == "t"
    _handshake(driver)
    (ws,) = driver.sockets
    assert ws.url.startswith("ws://example.test:8080/socket.io/1/websocket/sid9?")
    assert ws.query["token"] == "t"
    assert link.transport == "websocket" and link.state == "opening"
    ws.open()
    ws.message("1::")
    assert listener.events == [("open", "sid9")] and link.state == "open"


def test_the_first_transport_of_ours_the_server_offers_is_used() -> None:
    driver, listener = FakeDriver(), Recorder()
    link = _client(driver, listener, transports=("websocket", "polling"))
    _handshake(driver, offered="xhr-polling,jsonp-polling")
    assert link.transport == "xhr-polling" and driver.sockets == []
    poll = driver.request("GET")
    assert poll.path == "/socket.io/1/xhr-polling/sid9" and poll.timeout is None


def test_no_common_transport_fails() -> None:
    driver, listener = FakeDriver(), Recorder()
    _client(driver, listener, transports=("polling",))
    _handshake(driver, offered="websocket,flashsocket")
    (error,) = listener.of("failed")
    assert "no common transport" in str(error)


@pytest.mark.parametrize(("status", "body"), [(403, "handshake unauthorized"), (500, "")])
def test_a_refused_handshake_fails_with_its_text(status: int, body: str) -> None:
    driver, listener = FakeDriver(), Recorder()
    _client(driver, listener)
    driver.request("GET").answer(status, body)
    (error,) = listener.of("failed")
    assert error.data == (body or None)


def test_a_malformed_handshake_fails() -> None:
    driver, listener = FakeDriver(), Recorder()
    _client(driver, listener)
    driver.request("GET").answer(200, "nonsense")
    assert "malformed" in str(listener.of("failed")[0])


@pytest.mark.parametrize("heartbeat", ["²5", "٣"])
def test_a_heartbeat_timeout_of_other_digits_is_ignored(heartbeat: str) -> None:
    # digits to str.isdigit(), not ASCII's: the default timeout stays
    driver, listener = FakeDriver(), Recorder()
    link = _client(driver, listener)
    _handshake(driver, heartbeat=heartbeat)
    assert link.heartbeat_timeout == 60.0 and link.transport == "websocket"


def test_namespaces_connect_in_nodes_form_and_are_refused_with_the_reason() -> None:
    driver, listener = FakeDriver(), Recorder()
    link = _ws_open(driver, listener)
    ws = driver.sockets[0]
    link.send(Packet(PacketType.CONNECT, "/"))  # the main endpoint: connected already
    link.send(Packet(PacketType.CONNECT, "/chat", {"token": "a b"}))
    link.send(Packet(PacketType.CONNECT, "/admin"))
    assert ws.take() == ["1::/chat:?token=a+b", "1::/admin"]
    ws.message("1::/chat")
    ws.message("7::/admin:2+0")
    assert listener.of("packet") == [
        Packet(PacketType.CONNECT, "/", {"sid": "sid9"}),
        Packet(PacketType.CONNECT, "/chat", {"sid": "sid9"}),
        Packet(PacketType.CONNECT_ERROR, "/admin", {"message": "unauthorized"}),
    ]


def test_events_acks_and_messages_both_ways() -> None:
    driver, listener = FakeDriver(), Recorder()
    link = _ws_open(driver, listener)
    ws = driver.sockets[0]
    ws.message('5:3+::{"name":"ask","args":[1,"two"]}')  # wants the handler's answer
    ws.message('5:4::{"name":"fyi","args":[]}')  # acknowledged at once, by the link
    ws.message("3::/chat:plain text")
    ws.message('4:::{"a":1}')
    ws.message('6:::7+["x",2]')
    assert ws.take() == ["6:::4"]
    assert listener.of("packet") == [
        Packet(PacketType.EVENT, "/", ["ask", 1, "two"], 3),
        Packet(PacketType.EVENT, "/", ["fyi"]),
        Packet(PacketType.EVENT, "/chat", ["message", "plain text"]),
        Packet(PacketType.EVENT, "/", ["message", {"a": 1}]),
        Packet(PacketType.ACK, "/", ["x", 2], 7),
    ]
    link.send(Packet(PacketType.EVENT, "/chat", ["hi", {"b": None}], 5))
    link.send(Packet(PacketType.EVENT, "/", ["plain"]))
    link.send(Packet(PacketType.ACK, "/", ["answer"], 3))
    link.send(Packet(PacketType.DISCONNECT, "/chat"))
    assert ws.take() == [
        '5:5+:/chat:{"name":"hi","args":[{"b":null}]}',
        '5:::{"name":"plain"}',
        '6:::3+["answer"]',
        "0::/chat",
    ]


def test_heartbeats_are_echoed_and_silence_loses_the_session() -> None:
    driver, listener = FakeDriver(), Recorder()
    _ws_open(driver, listener)
    ws = driver.sockets[0]
    driver.runtime.advance(10.0)
    ws.message("2::")
    assert ws.take() == ["2::"]
    driver.runtime.advance(14.9)  # 15 s heartbeat timeout, from the last word
    assert listener.of("closed") == []
    driver.runtime.advance(0.1)
    assert listener.of("closed") == ["ping timeout"] and ws.closed


def test_silence_loses_a_polling_session_too() -> None:
    driver, listener = FakeDriver(), Recorder()
    _client(driver, listener, transports=("polling",))
    _handshake(driver, offered="xhr-polling")
    driver.request("GET").answer(200, "1::")
    assert listener.of("open") == ["sid9"]
    driver.runtime.advance(10.0)
    driver.request("GET").answer(200, encode_payload(["8::"]))  # the server's noop
    driver.runtime.advance(14.9)
    assert listener.of("closed") == []
    driver.runtime.advance(0.1)
    assert listener.of("closed") == ["ping timeout"]
    assert driver.open_requests() == []  # the held poll is given up


def test_a_server_that_never_connects_fails_the_session() -> None:
    driver, listener = FakeDriver(), Recorder()
    _client(driver, listener)
    _handshake(driver)
    driver.sockets[0].open()
    driver.runtime.advance(15.0)
    assert len(listener.of("failed")) == 1


def test_polling_sends_one_post_at_a_time_in_payloads() -> None:
    driver, listener = FakeDriver(), Recorder()
    link = _client(driver, listener, transports=("polling",))
    _handshake(driver, offered="xhr-polling")
    driver.request("GET").answer(200, "1::")
    link.send(Packet(PacketType.EVENT, "/", ["a"]))
    link.send(Packet(PacketType.EVENT, "/", ["b"]))
    link.send(Packet(PacketType.EVENT, "/", ["c"]))
    first = driver.request("POST")
    assert first.path == "/socket.io/1/xhr-polling/sid9"
    assert decode_payload(first.body.decode()) == ['5:::{"name":"a"}']
    first.answer(200, "1")
    second = driver.request("POST")
    assert decode_payload(second.body.decode()) == [
        '5:::{"name":"b"}', '5:::{"name":"c"}'
    ]


@pytest.mark.parametrize(("payload", "reason"), [
    ("0::", "io server disconnect"),
    ("7:::1+0", "transport close"),  # "client not handshaken", advice reconnect
])
def test_how_the_server_ends_a_session(payload: str, reason: str) -> None:
    driver, listener = FakeDriver(), Recorder()
    _ws_open(driver, listener)
    driver.sockets[0].message(payload)
    assert listener.of("closed") == [reason] and driver.sockets[0].closed


def test_a_namespace_disconnect_is_reported_as_a_packet() -> None:
    driver, listener = FakeDriver(), Recorder()
    _ws_open(driver, listener)
    driver.sockets[0].message("0::/chat")
    assert listener.of("packet") == [Packet(PacketType.DISCONNECT, "/chat")]
    assert listener.of("closed") == []


def test_our_close_says_disconnect() -> None:
    driver, listener = FakeDriver(), Recorder()
    link = _ws_open(driver, listener)
    ws = driver.sockets[0]
    done: list[bool] = []
    link.close(lambda: done.append(True))
    assert ws.take() == ["0::"] and ws.closed and not done
    ws.gone()
    assert done == [True] and link.state == "closed" and listener.of("closed") == []


def test_our_close_on_polling_posts_disconnect_before_going() -> None:
    driver, listener = FakeDriver(), Recorder()
    link = _client(driver, listener, transports=("polling",))
    _handshake(driver, offered="xhr-polling")
    driver.request("GET").answer(200, "1::")
    link.close()
    post = driver.request("POST")
    assert decode_payload(post.body.decode()) == ["0::"]
    post.answer(200, "1")
    driver.runtime.advance(1.0)
    assert link.state == "closed" and driver.open_requests() == []
    assert listener.of("closed") == []


def test_our_close_on_polling_waits_for_the_post_in_flight() -> None:
    driver, listener = FakeDriver(), Recorder()
    link = _client(driver, listener, transports=("polling",))
    _handshake(driver, offered="xhr-polling")
    driver.request("GET").answer(200, "1::")
    link.send(Packet(PacketType.EVENT, "/", ["a"]))
    link.send(Packet(PacketType.DISCONNECT, "/chat"))
    link.close()
    first = driver.request("POST")
    assert decode_payload(first.body.decode()) == ['5:::{"name":"a"}']
    first.answer(200, "1")
    last = driver.request("POST")
    assert last.header("Connection") == "close"
    assert decode_payload(last.body.decode()) == ["0::/chat", "0::"]
    last.answer(200, "1")
    assert link.state == "closed" and listener.of("closed") == []
    assert driver.open_requests() == []


def test_a_bad_payload_is_a_transport_error() -> None:
    driver, listener = FakeDriver(), Recorder()
    _client(driver, listener, transports=("polling",))
    _handshake(driver, offered="xhr-polling")
    driver.request("GET").answer(200, "1::")
    driver.request("GET").answer(200, "\ufffd12\ufffdshort")
    assert listener.of("closed") == ["transport error"]
