"""Sans-IO tests of the client's Engine.IO session (hubbub.client.engine):
the handshake, heartbeats of both protocol versions, polling with batched
POSTs, the upgrade to a websocket, and every way a session ends. A fake
driver (client_fakes.py) records the requests and websockets the session
starts; the tests answer them as a server would, and move the clock.
"""

from __future__ import annotations

import json

import pytest
from client_fakes import FakeDriver, Recorder

from hubbub.client.engine import EngineClient, Target
from hubbub.client.http1 import CookieJar
from hubbub.engineio.codec import (
    Packet,
    PacketType,
    decode_payload_v3,
    decode_payload_v4,
    encode_payload_v3,
)
from hubbub.socketio.codec import JsonParser
from hubbub.socketio.codec import Packet as SioPacket
from hubbub.socketio.codec import PacketType as SioType

URL = "http://example.test:3000"


def _open(sid: str = "s1", upgrades: tuple[str, ...] = ("websocket",), interval: int = 25000,
          timeout: int = 20000, max_payload: int = 1_000_000) -> str:
    return "0" + json.dumps({"sid": sid, "upgrades": list(upgrades), "pingInterval": interval,
                             "pingTimeout": timeout, "maxPayload": max_payload})


def _engine(driver: FakeDriver, listener: Recorder, eio: int = 4,
            transports: tuple[str, ...] = ("polling", "websocket"), upgrade: bool = True,
            query: dict[str, str] | None = None, headers: list[tuple[str, str]] | None = None,
            cookies: CookieJar | None = None) -> EngineClient:
    target = Target(URL, "socket.io", dict(query or {}), list(headers or []),
                    cookies or CookieJar())
    engine = EngineClient(driver, listener, target, eio, JsonParser(5 if eio == 4 else 4),
                          list(transports), upgrade, timeout=7.0)
    engine.open()
    return engine


def _posted(driver: FakeDriver, eio: int = 4) -> list[Packet]:
    """The packets of the POST waiting for an answer (which it then gets)."""
    post = driver.request("POST")
    packets = decode_payload_v4(post.body.decode()) if eio == 4 else decode_payload_v3(post.body)
    post.answer(200, "ok")
    return packets


def _event(*args: object, nsp: str = "/") -> SioPacket:
    return SioPacket(SioType.EVENT, nsp, list(args))


# -- opening over polling -----------------------------------------------------------------


def test_polling_handshake_then_long_poll_and_probe() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _engine(driver, listener, query={"token": "t"}, headers=[("X-App", "1")])
    handshake = driver.request("GET")
    assert handshake.path == "/socket.io/"
    assert handshake.query["EIO"] == "4" and handshake.query["transport"] == "polling"
    assert handshake.query["token"] == "t" and "sid" not in handshake.query
    assert handshake.header("X-App") == "1"
    assert handshake.timeout == 7.0
    handshake.answer(200, _open("abc"))
    assert listener.events == [("open", "abc")]
    assert engine.state == "open" and engine.sid == "abc" and engine.transport == "polling"
    poll = driver.request("GET")
    assert poll.query["sid"] == "abc" and poll.timeout is None  # held by the server
    (probe,) = driver.sockets
    assert probe.url.startswith("ws://example.test:3000/socket.io/?EIO=4&transport=websocket")
    assert probe.query["sid"] == "abc" and probe.query["token"] == "t"


def test_packets_that_ride_with_the_handshake_are_delivered() -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener, upgrade=False)
    driver.request("GET").answer(200, _open() + "\x1e" + '40{"sid":"x"}')
    assert listener.of("packet") == [SioPacket(SioType.CONNECT, "/", {"sid": "x"})]


def test_no_probe_without_the_servers_offer_or_when_forbidden() -> None:
    for upgrades, transports, upgrade in (
        ((), ("polling", "websocket"), True),
        (("websocket",), ("polling",), True),
        (("websocket",), ("polling", "websocket"), False),
    ):
        driver, listener = FakeDriver(), Recorder()
        _engine(driver, listener, transports=transports, upgrade=upgrade)
        driver.request("GET").answer(200, _open(upgrades=upgrades))
        assert driver.sockets == []


@pytest.mark.parametrize(
    ("status", "body", "data"),
    [
        (400, '{"code":5,"message":"Unsupported protocol version"}',
         {"code": 5, "message": "Unsupported protocol version"}),
        (403, "Forbidden", "Forbidden"),
        (502, "", None),
    ],
)
def test_a_refused_handshake_fails_with_what_the_server_said(status: int, body: str,
                                                             data: object) -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _engine(driver, listener)
    driver.request("GET").answer(status, body)
    (error,) = listener.of("failed")
    assert str(error) == f"HTTP {status}" and error.data == data
    assert engine.state == "closed" and driver.open_requests() == []


@pytest.mark.parametrize("body", ["", "4hello", "0not json", '0{"upgrades":[]}', "\xff"])
def test_a_malformed_handshake_fails(body: str) -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener)
    driver.request("GET").answer(200, body)
    assert len(listener.of("failed")) == 1 and listener.of("open") == []


def test_an_unreachable_server_fails() -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener)
    driver.request("GET").fail("connection refused")
    (error,) = listener.of("failed")
    assert "connection refused" in str(error)


def test_cookies_set_by_the_server_go_back_on_every_request() -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener)
    driver.request("GET").answer(200, _open(), [("set-cookie", "lb=node2; Path=/; HttpOnly")])
    assert driver.request("GET").header("Cookie") == "lb=node2"
    assert ("Cookie", "lb=node2") in driver.sockets[0].headers


# -- polling ----------------------------------------------------------------------------------


def test_messages_from_polls_reach_the_listener_and_the_poll_goes_on() -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener, upgrade=False)
    driver.request("GET").answer(200, _open())
    driver.request("GET").answer(200, '42["a",1]\x1e6\x1e42["b"]')
    assert listener.of("packet") == [_event("a", 1), _event("b")]
    assert len(driver.open_requests("GET")) == 1


def test_one_post_at_a_time_and_what_waits_goes_in_the_next() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _engine(driver, listener, upgrade=False)
    driver.request("GET").answer(200, _open())
    engine.send(_event("one"))
    engine.send(_event("two"))
    engine.send(_event("three"))
    post = driver.request("POST")
    assert post.header("Content-Type") == "text/plain;charset=UTF-8"
    assert _posted(driver) == [Packet(PacketType.MESSAGE, '2["one"]')]
    assert _posted(driver) == [Packet(PacketType.MESSAGE, '2["two"]'),
                               Packet(PacketType.MESSAGE, '2["three"]')]
    assert driver.open_requests("POST") == []


def test_a_post_stays_under_the_servers_max_payload() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _engine(driver, listener, upgrade=False)
    driver.request("GET").answer(200, _open(max_payload=200))
    engine.send(_event("first"))
    for i in range(10):
        engine.send(_event("x" * 40, i))
    _posted(driver)
    sizes = []
    while driver.open_requests("POST"):
        post = driver.request("POST")
        sizes.append(len(post.body))
        assert len(post.body) <= 200
        post.answer(200, "ok")
    assert len(sizes) > 1


def test_binary_is_base64_in_a_v4_post() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _engine(driver, listener, upgrade=False)
    driver.request("GET").answer(200, _open())
    engine.send(_event("bin", b"\x00\xff"))
    posted = _posted(driver)
    assert posted[0].data.startswith('51-["bin",{"_placeholder":true')
    assert posted[1] == Packet(PacketType.MESSAGE, b"\x00\xff")


def test_a_failed_poll_or_post_loses_the_session() -> None:
    for method in ("GET", "POST"):
        driver, listener = FakeDriver(), Recorder()
        engine = _engine(driver, listener, upgrade=False)
        driver.request("GET").answer(200, _open())
        engine.send(_event("x"))
        driver.request(method).answer(400, '{"code":1,"message":"Session ID unknown"}')
        assert listener.of("closed") == ["transport error"]
        assert driver.open_requests() == []


def test_a_bad_payload_or_packet_loses_the_session() -> None:
    for body, reason in (("zzz", "transport error"), ('4{"not a socket.io packet', "parse error")):
        driver, listener = FakeDriver(), Recorder()
        _engine(driver, listener, upgrade=False)
        driver.request("GET").answer(200, _open())
        driver.request("GET").answer(200, body)
        assert listener.of("closed") == [reason]


def test_the_servers_close_packet_ends_the_session() -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener, upgrade=False)
    driver.request("GET").answer(200, _open())
    driver.request("GET").answer(200, "1")
    assert listener.of("closed") == ["transport close"]
    assert driver.open_requests() == []


def test_our_close_posts_a_close_packet_and_reports_nothing() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _engine(driver, listener, upgrade=False)
    driver.request("GET").answer(200, _open())
    engine.close()
    assert driver.request("POST").header("Connection") == "close"  # the last request
    assert _posted(driver) == [Packet(PacketType.CLOSE)]
    assert listener.of("closed") == [] and engine.state == "closed"
    assert driver.open_requests() == []


def test_our_close_sends_what_is_queued_first_after_the_post_in_flight() -> None:
    # the DISCONNECTs a client sends right before closing reach the server
    driver, listener = FakeDriver(), Recorder()
    engine = _engine(driver, listener, upgrade=False)
    driver.request("GET").answer(200, _open())
    engine.send(_event("in flight"))
    engine.send(SioPacket(SioType.DISCONNECT, "/"))
    engine.close()
    assert engine.state == "closing"
    assert _posted(driver) == [Packet(PacketType.MESSAGE, '2["in flight"]')]
    assert _posted(driver) == [Packet(PacketType.MESSAGE, "1"), Packet(PacketType.CLOSE)]
    assert engine.state == "closed" and listener.of("closed") == []
    assert driver.open_requests() == []


def test_our_close_is_bounded_when_the_server_does_not_answer() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _engine(driver, listener, upgrade=False)
    driver.request("GET").answer(200, _open())
    engine.close()
    driver.runtime.advance(7.0)  # the request timeout
    assert engine.state == "closed" and driver.open_requests() == []
    assert listener.of("closed") == []


def test_our_close_during_an_upgrade_gives_it_up_and_posts() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _probing(driver, listener)
    probe = driver.sockets[0]
    probe.message("3probe")
    engine.send(SioPacket(SioType.DISCONNECT, "/"))
    engine.close()
    assert probe.closed and probe.take() == []
    assert _posted(driver) == [Packet(PacketType.MESSAGE, "1"), Packet(PacketType.CLOSE)]
    assert engine.state == "closed" and listener.of("closed") == []


# -- heartbeats -------------------------------------------------------------------------------


def test_v4_answers_pings_and_times_out_without_them() -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener, upgrade=False)
    driver.request("GET").answer(200, _open(interval=1000, timeout=500))
    driver.runtime.advance(1.0)
    driver.request("GET").answer(200, "2")
    assert _posted(driver) == [Packet(PacketType.PONG)]
    driver.runtime.advance(1.4)  # within interval + timeout of the ping
    assert listener.of("closed") == []
    driver.runtime.advance(0.2)
    assert listener.of("closed") == ["ping timeout"]
    assert driver.open_requests() == []


def test_v3_pings_and_times_out_without_a_pong() -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener, eio=3, upgrade=False)
    handshake = driver.request("GET")
    assert handshake.query["EIO"] == "3"
    handshake.answer(200, encode_payload_v3([Packet(PacketType.OPEN, _open()[1:])], False))
    driver.runtime.advance(25.0)
    assert _posted(driver, eio=3) == [Packet(PacketType.PING)]
    driver.request("GET").answer(200, encode_payload_v3([Packet(PacketType.PONG)], False))
    driver.runtime.advance(25.0)
    assert listener.of("closed") == []
    assert _posted(driver, eio=3) == [Packet(PacketType.PING)]  # the next one, at 50 s
    driver.runtime.advance(19.9)
    assert listener.of("closed") == []
    driver.runtime.advance(0.1)
    assert listener.of("closed") == ["ping timeout"]


def test_v3_binary_payloads_from_the_server_are_read() -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener, eio=3, upgrade=False)
    driver.request("GET").answer(200, encode_payload_v3([Packet(PacketType.OPEN, _open()[1:])],
                                                        False))
    body = encode_payload_v3([Packet(PacketType.MESSAGE, '51-["b",{"_placeholder":true,"num":0}]'),
                              Packet(PacketType.MESSAGE, b"\x01\x02")], True)
    assert isinstance(body, bytes)
    driver.request("GET").answer(200, body)
    assert listener.of("packet") == [_event("b", b"\x01\x02")]


# -- websocket only ---------------------------------------------------------------------------


def test_websocket_only_opens_on_the_first_message() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _engine(driver, listener, transports=("websocket",))
    assert driver.requests == []
    (ws,) = driver.sockets
    assert ws.query == {"EIO": "4", "transport": "websocket"}
    ws.open()
    assert listener.events == []
    ws.message(_open("w1"))
    assert listener.events == [("open", "w1")] and engine.transport == "websocket"
    engine.send(_event("hi"))
    ws.message("2")
    assert ws.take() == ['42["hi"]', "3"]
    ws.message('451-["b",{"_placeholder":true,"num":0}]')
    ws.message(b"\x03")
    assert listener.of("packet") == [_event("b", b"\x03")]


def test_a_websocket_that_fails_before_open_fails_the_session() -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener, transports=("websocket",))
    driver.sockets[0].drop("HTTP 400")
    (error,) = listener.of("failed")
    assert "HTTP 400" in str(error)


def test_a_websocket_first_message_other_than_open_fails_the_session() -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener, transports=("websocket",))
    driver.sockets[0].message("4hello")
    assert len(listener.of("failed")) == 1 and driver.sockets[0].closed


@pytest.mark.parametrize(("error", "reason"), [(None, "transport close"),
                                               ("reset", "transport error")])
def test_a_lost_websocket_loses_the_session(error: str | None, reason: str) -> None:
    driver, listener = FakeDriver(), Recorder()
    _engine(driver, listener, transports=("websocket",))
    ws = driver.sockets[0]
    ws.message(_open())
    ws.drop(error)
    assert listener.of("closed") == [reason]


def test_our_close_on_a_websocket_sends_the_close_packet() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _engine(driver, listener, transports=("websocket",))
    ws = driver.sockets[0]
    ws.message(_open())
    done: list[bool] = []
    engine.close(lambda: done.append(True))
    assert ws.take() == ["1"] and ws.closed and listener.of("closed") == []
    assert engine.state == "closing" and not done
    ws.gone()
    assert engine.state == "closed" and done == [True] and listener.of("closed") == []


# -- the upgrade --------------------------------------------------------------------------------


def _probing(driver: FakeDriver, listener: Recorder) -> EngineClient:
    engine = _engine(driver, listener)
    driver.request("GET").answer(200, _open())
    probe = driver.sockets[0]
    probe.open()
    assert probe.take() == ["2probe"]
    return engine


def test_upgrade_waits_for_the_poll_in_flight_then_switches_in_order() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _probing(driver, listener)
    probe = driver.sockets[0]
    engine.send(_event("before"))  # still polling: a POST
    post = driver.request("POST")
    probe.message("3probe")
    engine.send(_event("during"))  # waits for the switch
    assert probe.take() == [] and engine.transport == "polling"
    post.answer(200, "ok")
    assert engine.transport == "polling"  # the GET is still held
    driver.request("GET").answer(200, "6")  # the server's noop releases it
    assert engine.transport == "websocket"
    assert probe.take() == ["5", '42["during"]']
    assert driver.open_requests() == []  # no more polls
    engine.send(_event("after"))
    probe.message("2")
    assert probe.take() == ['42["after"]', "3"]
    assert engine.writable


def test_a_failed_probe_leaves_the_session_on_polling() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _probing(driver, listener)
    driver.sockets[0].message("3nope")
    assert driver.sockets[0].closed and engine.transport == "polling"
    engine.send(_event("x"))
    assert _posted(driver) == [Packet(PacketType.MESSAGE, '2["x"]')]
    assert listener.of("closed") == []


def test_a_probe_that_closes_leaves_the_session_on_polling() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _engine(driver, listener)
    driver.request("GET").answer(200, _open())
    driver.sockets[0].drop("HTTP 400")
    assert engine.transport == "polling" and listener.of("closed") == []
    driver.request("GET").answer(200, '42["still"]')
    assert listener.of("packet") == [_event("still")]


def test_a_probe_dropped_while_upgrading_resumes_polling() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _probing(driver, listener)
    probe = driver.sockets[0]
    probe.message("3probe")
    engine.send(_event("queued"))
    probe.drop("reset")
    assert engine.transport == "polling" and listener.of("closed") == []
    assert _posted(driver) == [Packet(PacketType.MESSAGE, '2["queued"]')]


def test_writable_only_when_a_packet_goes_out_at_once() -> None:
    driver, listener = FakeDriver(), Recorder()
    engine = _probing(driver, listener)
    assert engine.writable
    engine.send(_event("x"))
    assert not engine.writable  # a POST is in flight
    driver.request("POST").answer(200, "ok")
    assert engine.writable
    driver.sockets[0].message("3probe")
    assert not engine.writable  # upgrading
