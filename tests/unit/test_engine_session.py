"""Sans-IO tests of EngineSession and EngineIOServer: no socket, no event loop.

A fake runtime supplies the clock, runs handlers inline and hands every
session a fake host that records its timer deadlines and poll wake-ups; a
fake websocket peer records what a session sends and how it closes. Time
only moves when a test passes a new ``now``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from hubbub.engineio.codec import PacketType
from hubbub.engineio.outgoing import OutPacket
from hubbub.engineio.server import (
    BAD_REQUEST,
    FORBIDDEN,
    UNKNOWN_SID,
    UNSUPPORTED_PROTOCOL_VERSION,
    EngineIOServer,
)
from hubbub.engineio.session import EngineSession, State
from hubbub.http import HttpRequest, HttpResponse
from hubbub.runtime.contract import PollHold, WebSocketAccept

INTERVAL = 25.0
TIMEOUT = 20.0
UPGRADE_TIMEOUT = 10.0

# --------------------------------------------------------------------------- fakes


class FakeHost:
    """Records what the session asks for; keeps one timer the way the
    asyncio host does (a later deadline never postpones an armed timer: it
    fires early and the session re-arms)."""

    def __init__(self, session: EngineSession) -> None:
        self.session = session
        self.rearms: list[float | None] = []
        self.armed: float | None = None
        self.wakes = 0
        self.fired = 0

    def rearm(self, deadline: float | None) -> None:
        self.rearms.append(deadline)
        if deadline is None or self.armed is None or deadline < self.armed:
            self.armed = deadline

    def wake(self) -> None:
        self.wakes += 1

    def fire(self, now: float) -> None:
        self.fired += 1
        self.armed = None
        self.session.on_timer(now)
        deadline = self.session.deadline
        if deadline is not None and self.armed is None:
            self.rearm(deadline)


class FakeRuntime:
    name = "fake"

    def __init__(self) -> None:
        self.now = 0.0
        self.hosts: dict[str, FakeHost] = {}
        self.spawned: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def clock(self) -> float:
        return self.now

    def check_handler(self, fn: Callable[..., Any]) -> None:
        pass

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        self.spawned.append((fn, args))
        fn(*args)

    def make_host(self, session: EngineSession) -> FakeHost:
        host = FakeHost(session)
        self.hosts[session.sid] = host
        return host


class FakePeer:
    """A websocket connection as the session sees it."""

    sink = None  # every packet through send, to be recorded
    shared_sink = None

    def __init__(self) -> None:
        self.sent: list[OutPacket] = []
        self.closes: list[int] = []

    def send(self, packet: OutPacket) -> None:
        self.sent.append(packet)

    def close(self, code: int = 1000) -> None:
        self.closes.append(code)

    @property
    def messages(self) -> list[str | bytes]:
        """What the client would read, one websocket message per packet (EIO4)."""
        return [p.ws_message(4) for p in self.sent]


class Harness:
    """An EngineIOServer on the fake runtime, with recorded callbacks."""

    def __init__(self, **options: Any) -> None:
        options.setdefault("ping_interval", INTERVAL)
        options.setdefault("ping_timeout", TIMEOUT)
        options.setdefault("upgrade_timeout", UPGRADE_TIMEOUT)
        self.eio = EngineIOServer(**options)
        self.runtime = FakeRuntime()
        self.eio.attach(self.runtime)
        self.connects: list[str] = []
        self.messages: list[tuple[str, str | bytes]] = []
        self.disconnects: list[tuple[str, str]] = []
        self.upgrades: list[str] = []
        self.eio.on("connect", lambda sid, req: self.connects.append(sid))
        self.eio.on("message", lambda sid, data: self.messages.append((sid, data)))
        self.eio.on("disconnect", self._on_disconnect)
        self.eio.on("upgrade", lambda sid: self.upgrades.append(sid))

    def _on_disconnect(self, sid: str, reason: str) -> None:
        assert sid not in {s for s, _ in self.disconnects}, f"{sid} disconnected twice"
        assert sid in self.connects
        self.disconnects.append((sid, reason))

    # -- requests

    def request(
        self,
        method: str,
        query: str,
        now: float,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
    ) -> Any:
        self.runtime.now = now
        req = HttpRequest(method, "/engine.io/", query, headers or {}, body)
        return self.eio.handle_request(req, now)

    def get(self, sid: str, now: float, version: int = 4) -> Any:
        return self.request("GET", f"EIO={version}&transport=polling&sid={sid}", now)

    def post(self, sid: str, body: str | bytes, now: float, version: int = 4) -> HttpResponse:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        result = self.request("POST", f"EIO={version}&transport=polling&sid={sid}", now, raw)
        assert isinstance(result, HttpResponse)
        return result

    def open(self, version: int = 4, now: float = 0.0) -> str:
        """A new polling session; returns its sid."""
        result = self.request("GET", f"EIO={version}&transport=polling", now)
        assert isinstance(result, HttpResponse)
        assert result.status == 200
        return str(handshake_info(result.body, version)["sid"])

    def ws_request(self, version: int = 4, sid: str | None = None) -> HttpRequest:
        query = f"EIO={version}&transport=websocket" + (f"&sid={sid}" if sid else "")
        headers = {"upgrade": "websocket", "connection": "Upgrade"}
        return HttpRequest("GET", "/engine.io/", query, headers)

    def open_ws(self, peer: FakePeer, version: int = 4, now: float = 0.0) -> EngineSession:
        """A new session that starts on websocket."""
        self.runtime.now = now
        accept = self.eio.handle_request(self.ws_request(version), now)
        assert isinstance(accept, WebSocketAccept)
        assert accept.target is None
        session = accept.open(peer, now)
        assert session is not None
        return session

    def probe(self, sid: str, peer: FakePeer, now: float, version: int = 4) -> EngineSession | None:
        """A websocket arriving for an existing polling session."""
        self.runtime.now = now
        accept = self.eio.handle_request(self.ws_request(version, sid), now)
        assert isinstance(accept, WebSocketAccept)
        return accept.open(peer, now)

    def finish(self, hold: PollHold, now: float) -> str:
        self.runtime.now = now
        response = hold.finish(now)
        assert response.status == 200
        return response.body.decode("utf-8")

    # -- state

    def session(self, sid: str) -> EngineSession:
        return self.eio.sessions[sid]

    def host(self, sid: str) -> FakeHost:
        return self.runtime.hosts[sid]

    def advance(self, now: float) -> None:
        """Let time pass until ``now``: every armed timer that comes due
        fires at its own time, as an event loop would fire it."""
        for _ in range(1000):
            due = [h for h in self.runtime.hosts.values() if h.armed is not None]
            due = [h for h in due if h.armed is not None and h.armed <= now]
            if not due:
                break
            host = min(due, key=lambda h: h.armed or 0.0)
            assert host.armed is not None
            self.runtime.now = host.armed
            host.fire(host.armed)
        else:
            pytest.fail("a session timer keeps firing without time passing")
        self.runtime.now = now
        for host in self.runtime.hosts.values():
            # a host never sleeps past a deadline of its session
            deadline = host.session.deadline
            if deadline is not None:
                assert host.armed is not None and host.armed <= deadline
            if host.session.state is State.CLOSED:
                assert host.armed is None


def handshake_info(body: bytes, version: int) -> dict[str, Any]:
    text = body.decode("utf-8")
    if version == 3:
        length, _, text = text.partition(":")
        assert int(length) == len(text)
    assert text[0] == "0"
    info: dict[str, Any] = json.loads(text[1:])
    return info


def error_of(result: Any) -> tuple[int, int]:
    """(HTTP status, Engine.IO error code) of an error answer."""
    assert isinstance(result, HttpResponse), result
    return result.status, json.loads(result.body)["code"]


# --------------------------------------------------------------------------- handshake


def test_handshake_v4_fields() -> None:
    h = Harness(max_http_buffer_size=12_345)
    result = h.request("GET", "EIO=4&transport=polling", 0.0)
    assert isinstance(result, HttpResponse)
    assert result.status == 200
    assert ("Content-Type", "text/plain; charset=UTF-8") in result.headers
    info = handshake_info(result.body, 4)
    assert info == {
        "sid": info["sid"],
        "upgrades": ["websocket"],
        "pingInterval": 25000,
        "pingTimeout": 20000,
        "maxPayload": 12_345,
    }
    sid = info["sid"]
    assert h.connects == [sid]
    session = h.session(sid)
    assert (session.version, session.transport, session.state) == (4, "polling", State.OPEN)
    # the first deadline is the first ping
    assert h.host(sid).session.deadline == INTERVAL


def test_handshake_v3_fields() -> None:
    h = Harness()
    result = h.request("GET", "EIO=3&transport=polling", 0.0)
    assert isinstance(result, HttpResponse)
    assert result.status == 200
    info = handshake_info(result.body, 3)
    assert set(info) == {"sid", "upgrades", "pingInterval", "pingTimeout"}
    assert info["upgrades"] == ["websocket"]
    assert (info["pingInterval"], info["pingTimeout"]) == (25000, 20000)
    assert h.session(info["sid"]).version == 3


def test_handshake_without_upgrades() -> None:
    h = Harness(allow_upgrades=False)
    result = h.request("GET", "EIO=4&transport=polling", 0.0)
    assert handshake_info(result.body, 4)["upgrades"] == []


def test_sids_are_random_and_unique() -> None:
    h = Harness()
    sids = {h.open(now=float(i)) for i in range(200)}
    assert len(sids) == 200
    assert set(h.eio.sessions) == sids
    for sid in sids:
        assert len(sid) == 20  # 15 random bytes, URL-safe base64
        assert sid.replace("-", "").replace("_", "").isalnum()


def test_sid_collision_draws_again(monkeypatch: pytest.MonkeyPatch) -> None:
    import hubbub.sessionids as mod

    drawn = iter(["same", "same", "other"])
    monkeypatch.setattr(mod.secrets, "token_urlsafe", lambda n: next(drawn))
    h = Harness()
    assert h.open() == "same"
    assert h.open() == "other"


def test_handshake_must_be_get() -> None:
    h = Harness()
    assert error_of(h.request("POST", "EIO=4&transport=polling", 0.0, b"4x")) == (400, 2)
    assert not h.eio.sessions


# --------------------------------------------------------------------------- heartbeat, v4


def test_v4_ping_at_interval_then_timeout() -> None:
    h = Harness()
    sid = h.open()
    host = h.host(sid)
    hold = h.get(sid, 1.0)
    assert isinstance(hold, PollHold)
    # nothing happens before the interval
    h.advance(INTERVAL - 1)
    assert host.wakes == 0
    h.advance(INTERVAL)
    assert host.wakes == 1
    assert h.finish(hold, INTERVAL) == "2"
    assert host.session.deadline == INTERVAL + TIMEOUT
    # the client never answers
    h.advance(INTERVAL + TIMEOUT - 1)
    assert h.disconnects == []
    h.advance(INTERVAL + TIMEOUT)
    assert h.disconnects == [(sid, "ping timeout")]
    assert sid not in h.eio.sessions
    assert host.session.deadline is None
    assert host.armed is None
    assert error_of(h.get(sid, 50.0)) == (400, UNKNOWN_SID)
    assert h.disconnects == [(sid, "ping timeout")]


def test_v4_pong_resets_the_heartbeat() -> None:
    h = Harness()
    sid = h.open()
    host = h.host(sid)
    h.advance(INTERVAL)
    assert h.get(sid, INTERVAL).body == b"2"
    assert h.post(sid, "3", 30.0).status == 200
    # the next ping is an interval after the pong
    assert host.session.deadline == 30.0 + INTERVAL
    h.advance(INTERVAL + TIMEOUT)  # the old pong deadline is gone
    assert h.disconnects == []
    assert h.session(sid).state is State.OPEN
    h.advance(30.0 + INTERVAL)
    assert h.get(sid, 56.0).body == b"2"
    assert h.post(sid, "3", 57.0).status == 200
    h.advance(57.0 + INTERVAL + TIMEOUT - 1)
    assert h.disconnects == []


def test_v4_client_ping_is_the_wrong_direction() -> None:
    h = Harness()
    sid = h.open()
    assert h.post(sid, "2", 1.0).status == 200
    assert h.disconnects == [(sid, "transport error")]
    assert sid not in h.eio.sessions


# --------------------------------------------------------------------------- heartbeat, v3


def test_v3_timeout_is_interval_plus_timeout() -> None:
    h = Harness()
    sid = h.open(version=3)
    host = h.host(sid)
    assert host.session.deadline == INTERVAL + TIMEOUT
    # the server never pings in v3
    h.advance(INTERVAL)
    assert host.wakes == 0
    hold = h.get(sid, INTERVAL, version=3)
    assert isinstance(hold, PollHold)
    h.advance(INTERVAL + TIMEOUT - 0.1)
    assert h.disconnects == []
    h.advance(INTERVAL + TIMEOUT)
    assert h.disconnects == [(sid, "ping timeout")]
    # the held GET learns about it
    assert host.wakes == 1
    assert h.finish(hold, INTERVAL + TIMEOUT) == "1:1"
    assert sid not in h.eio.sessions


def test_v3_client_ping_answered_with_pong() -> None:
    h = Harness()
    sid = h.open(version=3)
    assert h.post(sid, "1:2", 10.0, version=3).status == 200
    assert h.get(sid, 10.0, version=3).body == b"1:3"
    assert h.host(sid).session.deadline == 10.0 + INTERVAL + TIMEOUT
    assert h.post(sid, "6:2probe", 20.0, version=3).status == 200
    assert h.get(sid, 20.0, version=3).body == b"6:3probe"
    h.advance(10.0 + INTERVAL + TIMEOUT)  # the earlier deadline no longer counts
    assert h.disconnects == []
    h.advance(20.0 + INTERVAL + TIMEOUT)
    assert h.disconnects == [(sid, "ping timeout")]


def test_v3_client_pong_is_the_wrong_direction() -> None:
    h = Harness()
    sid = h.open(version=3)
    assert h.post(sid, "1:3", 1.0, version=3).status == 200
    assert h.disconnects == [(sid, "transport error")]


# --------------------------------------------------------------------------- long polling


def test_held_get_woken_by_send() -> None:
    h = Harness()
    sid = h.open()
    host = h.host(sid)
    hold = h.get(sid, 1.0)
    assert isinstance(hold, PollHold)
    assert h.session(sid).poll_held
    assert h.eio.send(sid, "hello")
    assert host.wakes == 1
    assert h.eio.send(sid, b"\x01\x02")
    assert host.wakes == 2
    assert h.finish(hold, 1.5) == "4hello\x1ebAQI="
    assert not h.session(sid).poll_held
    # a GET with something queued is answered at once
    h.eio.send(sid, "again")
    assert host.wakes == 2
    answer = h.get(sid, 2.0)
    assert isinstance(answer, HttpResponse)
    assert answer.body == b"4again"
    assert h.eio.send("nobody", "x") is False


def test_post_messages_reach_the_handler() -> None:
    h = Harness()
    sid = h.open()
    response = h.post(sid, "4one\x1ebAQI=\x1e4two", 1.0)
    assert (response.status, response.body) == (200, b"ok")
    assert h.messages == [(sid, "one"), (sid, b"\x01\x02"), (sid, "two")]


def test_overlapping_get_is_refused_and_closes() -> None:
    h = Harness()
    sid = h.open()
    host = h.host(sid)
    hold = h.get(sid, 1.0)
    assert isinstance(hold, PollHold)
    assert error_of(h.get(sid, 2.0)) == (400, BAD_REQUEST)
    assert host.wakes == 1
    assert h.disconnects == [(sid, "transport error")]
    assert h.finish(hold, 2.0) == "1"
    assert sid not in h.eio.sessions
    assert error_of(h.get(sid, 3.0)) == (400, UNKNOWN_SID)
    assert h.disconnects == [(sid, "transport error")]


def test_poll_aborted_closes() -> None:
    h = Harness()
    sid = h.open()
    hold = h.get(sid, 1.0)
    assert isinstance(hold, PollHold)
    h.session(sid).poll_aborted(2.0)
    assert h.disconnects == [(sid, "transport close")]
    assert sid not in h.eio.sessions
    assert h.host(sid).session.deadline is None
    # a second report changes nothing
    hold.session.poll_aborted(3.0)
    assert h.disconnects == [(sid, "transport close")]


def test_client_close_packet_answers_held_get_with_noop() -> None:
    h = Harness()
    sid = h.open()
    hold = h.get(sid, 1.0)
    assert isinstance(hold, PollHold)
    assert h.post(sid, "1", 2.0).status == 200
    assert h.host(sid).wakes == 1
    assert h.disconnects == [(sid, "transport close")]
    assert h.finish(hold, 2.0) == "6"
    assert sid not in h.eio.sessions
    assert h.disconnects == [(sid, "transport close")]


def test_client_close_packet_without_held_get() -> None:
    h = Harness()
    sid = h.open()
    assert h.post(sid, "4bye\x1e1\x1e4lost", 1.0).status == 200
    assert h.messages == [(sid, "bye")]
    assert h.disconnects == [(sid, "transport close")]
    assert sid not in h.eio.sessions


def test_bad_payload_closes_with_parse_error() -> None:
    h = Harness()
    sid = h.open()
    assert error_of(h.post(sid, "abc", 1.0)) == (400, BAD_REQUEST)
    assert h.disconnects == [(sid, "parse error")]
    assert sid not in h.eio.sessions


def test_oversized_post_is_refused() -> None:
    h = Harness(max_http_buffer_size=10)
    sid = h.open()
    h.runtime.now = 1.0
    req = HttpRequest("POST", "/engine.io/", f"EIO=4&transport=polling&sid={sid}")
    req.body_too_large = True
    result = h.eio.handle_request(req, 1.0)
    assert isinstance(result, HttpResponse)
    assert result.status == 413
    assert h.disconnects == [(sid, "transport error")]
    assert error_of(h.get(sid, 2.0)) == (400, UNKNOWN_SID)
    assert h.messages == []


# --------------------------------------------------------------------------- upgrade


def test_upgrade_probe_then_upgrade_flushes_queue_in_order() -> None:
    h = Harness()
    sid = h.open()
    host = h.host(sid)
    hold = h.get(sid, 1.0)
    assert isinstance(hold, PollHold)
    peer = FakePeer()
    session = h.probe(sid, peer, 2.0)
    assert session is h.session(sid)
    assert host.session.deadline == 2.0 + UPGRADE_TIMEOUT
    session.on_ws_message(peer, "2probe", 2.1)
    assert peer.messages == ["3probe"]
    # the pending GET is ended with a noop so the client can pause polling
    assert host.wakes == 1
    assert h.finish(hold, 2.1) == "6"
    # messages sent meanwhile wait for the websocket, in order
    for text in ("a", "b", "c"):
        h.eio.send(sid, text)
    assert peer.messages == ["3probe"]
    session.on_ws_message(peer, "5", 2.2)
    assert session.transport == "websocket"
    assert session.upgraded
    assert h.upgrades == [sid]
    assert peer.messages == ["3probe", "4a", "4b", "4c"]
    assert session.queued_bytes == 0
    # from now on everything goes straight to the websocket, both ways
    h.eio.send(sid, "d")
    assert peer.messages[-1] == "4d"
    session.on_ws_message(peer, "4up", 2.3)
    assert h.messages == [(sid, "up")]
    # the upgrade deadline is gone; the heartbeat goes on over the websocket
    assert host.session.deadline == INTERVAL
    h.advance(INTERVAL)
    assert peer.messages[-1] == "2"
    session.on_ws_message(peer, "3", INTERVAL + 1)
    assert host.session.deadline == INTERVAL + 1 + INTERVAL
    assert h.disconnects == []
    assert peer.closes == []


def test_upgrade_with_held_get_answers_it_with_noop() -> None:
    h = Harness()
    sid = h.open()
    peer = FakePeer()
    session = h.probe(sid, peer, 1.0)
    assert session is not None
    session.on_ws_message(peer, "2probe", 1.0)
    # the client polls once more (the probe's noop came before this GET)
    answer = h.get(sid, 1.1)
    assert isinstance(answer, HttpResponse)
    assert answer.body == b"6"
    hold = h.get(sid, 1.2)
    assert isinstance(hold, PollHold)
    h.eio.send(sid, "queued")
    assert h.host(sid).wakes == 1
    session.on_ws_message(peer, "5", 1.3)
    assert h.host(sid).wakes == 2
    assert h.finish(hold, 1.3) == "6"
    assert peer.messages == ["3probe", "4queued"]


def test_upgrade_v3() -> None:
    h = Harness()
    sid = h.open(version=3)
    peer = FakePeer()
    session = h.probe(sid, peer, 1.0, version=3)
    assert session is not None
    session.on_ws_message(peer, "2probe", 1.1)
    assert [p.ws_message(3) for p in peer.sent] == ["3probe"]
    assert h.get(sid, 1.2, version=3).body == b"1:6"
    h.eio.send(sid, b"\x01")
    session.on_ws_message(peer, "5", 1.3)
    assert [p.ws_message(3) for p in peer.sent] == ["3probe", b"\x04\x01"]
    session.on_ws_message(peer, "2", 2.0)
    assert peer.sent[-1].type is PacketType.PONG
    assert h.disconnects == []


def test_second_websocket_is_refused() -> None:
    h = Harness()
    sid = h.open()
    first = FakePeer()
    session = h.probe(sid, first, 1.0)
    assert session is not None
    # a second probe while the first is pending
    assert h.probe(sid, FakePeer(), 1.1) is None
    session.on_ws_message(first, "2probe", 1.2)
    session.on_ws_message(first, "5", 1.3)
    assert session.upgraded
    # and another one after the upgrade
    late = FakePeer()
    assert h.probe(sid, late, 1.4) is None
    assert late.sent == []
    # the refused sockets changed nothing
    h.eio.send(sid, "x")
    assert first.messages == ["3probe", "4x"]
    assert h.disconnects == []


def test_polling_after_upgrade_is_refused() -> None:
    h = Harness()
    sid = h.open()
    peer = FakePeer()
    session = h.probe(sid, peer, 1.0)
    assert session is not None
    session.on_ws_message(peer, "2probe", 1.1)
    session.on_ws_message(peer, "5", 1.2)
    assert error_of(h.get(sid, 1.3)) == (400, BAD_REQUEST)
    assert error_of(h.post(sid, "4late", 1.4)) == (400, BAD_REQUEST)
    assert h.messages == []
    assert session.state is State.OPEN
    assert h.disconnects == []


def test_upgrade_timeout_drops_the_probe() -> None:
    h = Harness()
    sid = h.open()
    peer = FakePeer()
    session = h.probe(sid, peer, 1.0)
    assert session is not None
    session.on_ws_message(peer, "2probe", 1.5)
    h.advance(1.0 + UPGRADE_TIMEOUT - 1)
    assert peer.closes == []
    h.advance(1.0 + UPGRADE_TIMEOUT)
    assert peer.closes == [1000]
    assert h.host(sid).session.deadline == INTERVAL
    # the session stays on polling, and the dropped probe can no longer upgrade
    session.on_ws_message(peer, "5", 12.0)
    assert session.transport == "polling"
    assert not session.upgraded
    h.eio.send(sid, "still polling")
    assert h.get(sid, 12.5).body == b"4still polling"
    assert h.disconnects == []
    # a new probe may try again
    assert h.probe(sid, FakePeer(), 13.0) is session


def test_bad_probe_is_dropped() -> None:
    h = Harness()
    sid = h.open()
    peer = FakePeer()
    session = h.probe(sid, peer, 1.0)
    assert session is not None
    session.on_ws_message(peer, "5", 1.1)  # upgrade before the probe
    assert peer.closes == [1002]
    assert session.transport == "polling"
    assert session.state is State.OPEN
    assert h.disconnects == []


def test_probe_socket_closing_keeps_polling() -> None:
    h = Harness()
    sid = h.open()
    peer = FakePeer()
    session = h.probe(sid, peer, 1.0)
    assert session is not None
    session.on_ws_message(peer, "2probe", 1.1)
    session.on_ws_closed(peer, 1.2)
    assert session.state is State.OPEN
    assert h.host(sid).session.deadline == INTERVAL
    h.eio.send(sid, "x")
    assert h.get(sid, 1.3).body == b"4x"
    assert h.disconnects == []


# --------------------------------------------------------------------------- websocket sessions


def test_websocket_session_open_message_close() -> None:
    h = Harness()
    peer = FakePeer()
    session = h.open_ws(peer, version=4, now=0.0)
    sid = session.sid
    assert h.connects == [sid]
    assert len(peer.sent) == 1
    assert peer.sent[0].type is PacketType.OPEN
    info = json.loads(peer.sent[0].data)
    assert info["sid"] == sid
    assert info["upgrades"] == []
    session.on_ws_message(peer, "4hi", 1.0)
    session.on_ws_message(peer, b"\x00\xff", 1.1)
    assert h.messages == [(sid, "hi"), (sid, b"\x00\xff")]
    # polling on a websocket session is refused
    assert error_of(h.get(sid, 1.2)) == (400, BAD_REQUEST)
    session.on_ws_closed(peer, 2.0)
    assert h.disconnects == [(sid, "transport close")]
    assert sid not in h.eio.sessions


def test_websocket_bad_packet_closes_with_1002() -> None:
    h = Harness()
    peer = FakePeer()
    session = h.open_ws(peer)
    session.on_ws_message(peer, "abc", 1.0)
    assert peer.closes and set(peer.closes) == {1002}
    assert h.disconnects == [(session.sid, "parse error")]
    assert session.sid not in h.eio.sessions
    # the socket's own close report afterwards changes nothing
    session.on_ws_closed(peer, 1.1)
    assert h.disconnects == [(session.sid, "parse error")]


def test_websocket_client_close_packet() -> None:
    h = Harness()
    peer = FakePeer()
    session = h.open_ws(peer)
    session.on_ws_message(peer, "1", 1.0)
    assert peer.closes and set(peer.closes) == {1000}
    assert h.disconnects == [(session.sid, "transport close")]
    session.on_ws_closed(peer, 1.1)
    assert h.disconnects == [(session.sid, "transport close")]


def test_websocket_heartbeat() -> None:
    h = Harness()
    peer = FakePeer()
    session = h.open_ws(peer)
    sid = session.sid
    h.advance(INTERVAL)
    assert peer.messages[-1] == "2"
    h.advance(INTERVAL + TIMEOUT)
    assert h.disconnects == [(sid, "ping timeout")]
    assert peer.closes == [1000]


def test_websocket_v3_binary_and_ping() -> None:
    h = Harness()
    peer = FakePeer()
    session = h.open_ws(peer, version=3)
    session.on_ws_message(peer, b"\x04\x01\x02", 1.0)
    assert h.messages == [(session.sid, b"\x01\x02")]
    session.on_ws_message(peer, "2", 2.0)
    assert peer.sent[-1].type is PacketType.PONG
    assert h.host(session.sid).session.deadline == 2.0 + INTERVAL + TIMEOUT


# --------------------------------------------------------------------------- server close


def test_server_close_on_polling() -> None:
    h = Harness()
    sid = h.open()
    h.eio.send(sid, "last words")
    h.runtime.now = 1.0
    h.eio.disconnect(sid)
    assert h.disconnects == [(sid, "forced close")]
    # the close packet rides on the next GET, after what was queued
    answer = h.get(sid, 2.0)
    assert isinstance(answer, HttpResponse)
    assert answer.body == b"4last words\x1e1"
    assert error_of(h.get(sid, 3.0)) == (400, UNKNOWN_SID)
    h.eio.disconnect(sid)
    assert h.disconnects == [(sid, "forced close")]


def test_server_close_on_polling_wakes_held_get() -> None:
    h = Harness()
    sid = h.open()
    hold = h.get(sid, 1.0)
    assert isinstance(hold, PollHold)
    h.runtime.now = 2.0
    h.eio.disconnect(sid)
    assert h.host(sid).wakes == 1
    assert h.finish(hold, 2.0) == "1"
    assert sid not in h.eio.sessions
    assert h.disconnects == [(sid, "forced close")]


def test_server_close_then_poll_aborted() -> None:
    h = Harness()
    sid = h.open()
    hold = h.get(sid, 1.0)
    assert isinstance(hold, PollHold)
    h.runtime.now = 2.0
    h.eio.disconnect(sid)
    # the client goes away before the runtime could answer the held GET
    hold.session.poll_aborted(2.1)
    assert sid not in h.eio.sessions
    assert h.disconnects == [(sid, "forced close")]
    h.advance(100.0)
    assert h.host(sid).armed is None


def test_timeout_while_upgrading_closes_the_probe() -> None:
    h = Harness(upgrade_timeout=60.0)
    sid = h.open()
    peer = FakePeer()
    session = h.probe(sid, peer, 1.0)
    assert session is not None
    session.on_ws_message(peer, "2probe", 1.1)
    h.advance(INTERVAL + TIMEOUT)  # the ping goes unanswered
    assert h.disconnects == [(sid, "ping timeout")]
    assert peer.closes == [1000]
    assert sid not in h.eio.sessions
    session.on_ws_message(peer, "5", INTERVAL + TIMEOUT + 1)
    assert not session.upgraded
    h.advance(200.0)
    assert h.host(sid).armed is None


def test_server_close_on_polling_expires_without_get() -> None:
    h = Harness()
    sid = h.open()
    h.runtime.now = 1.0
    h.eio.disconnect(sid)
    session = h.eio.sessions[sid]
    assert session.state is State.CLOSING
    # a POST after the close is refused; the session stays closing
    assert error_of(h.post(sid, "4x", 1.5)) == (400, BAD_REQUEST)
    deadline = h.host(sid).session.deadline
    assert deadline == 1.0 + INTERVAL + TIMEOUT
    h.advance(deadline)
    assert sid not in h.eio.sessions
    assert h.host(sid).session.deadline is None
    assert h.disconnects == [(sid, "forced close")]


def test_server_close_on_websocket() -> None:
    h = Harness()
    peer = FakePeer()
    session = h.open_ws(peer)
    sid = session.sid
    h.eio.disconnect(sid)
    assert peer.sent[-1].type is PacketType.CLOSE
    assert peer.closes == [1000]
    assert sid not in h.eio.sessions
    assert h.host(sid).session.deadline is None
    assert h.disconnects == [(sid, "forced close")]
    session.on_ws_closed(peer, 1.0)
    h.eio.send(sid, "nothing")
    assert peer.sent[-1].type is PacketType.CLOSE
    assert h.disconnects == [(sid, "forced close")]


def test_server_close_during_probe() -> None:
    h = Harness()
    sid = h.open()
    peer = FakePeer()
    session = h.probe(sid, peer, 1.0)
    assert session is not None
    h.runtime.now = 1.5
    h.eio.close_all()
    assert peer.closes == [1000]
    assert h.disconnects == [(sid, "server shutting down")]
    assert h.get(sid, 2.0).body == b"1"


# --------------------------------------------------------------------------- routing


def test_eio_version_narrowing() -> None:
    h = Harness(eio_versions=(4,))
    for query in ("EIO=3&transport=polling", "EIO=5&transport=polling", "transport=polling"):
        result = h.request("GET", query, 0.0)
        assert error_of(result) == (400, UNSUPPORTED_PROTOCOL_VERSION)
        assert b"EIO=4" in result.body
    assert h.open(version=4)
    h3 = Harness(eio_versions=(3,))
    assert error_of(h3.request("GET", "EIO=4&transport=polling", 0.0)) == (
        400,
        UNSUPPORTED_PROTOCOL_VERSION,
    )
    assert h3.open(version=3)


def test_version_mismatch_for_a_sid() -> None:
    h = Harness()
    sid = h.open(version=4)
    assert error_of(h.get(sid, 1.0, version=3)) == (400, BAD_REQUEST)


def test_unknown_transport_and_sid() -> None:
    h = Harness()
    assert error_of(h.request("GET", "EIO=4&transport=carrier-pigeon", 0.0)) == (400, 0)
    assert error_of(h.get("nope", 0.0)) == (400, UNKNOWN_SID)
    h2 = Harness(transports=("websocket",))
    assert error_of(h2.request("GET", "EIO=4&transport=polling", 0.0)) == (400, 0)
    # a websocket transport without the upgrade headers
    assert error_of(h.request("GET", "EIO=4&transport=websocket", 0.0)) == (400, BAD_REQUEST)


@pytest.mark.parametrize(
    ("verdict", "status", "message"),
    [
        (True, 200, None),
        (False, 403, "Forbidden"),
        (None, 403, "Forbidden"),
        ("go away", 403, "go away"),
        (RuntimeError("boom"), 403, "Forbidden"),
    ],
)
def test_allow_request(verdict: Any, status: int, message: str | None) -> None:
    seen: list[HttpRequest] = []

    def allow(req: HttpRequest) -> Any:
        seen.append(req)
        if isinstance(verdict, Exception):
            raise verdict
        return verdict

    h = Harness(allow_request=allow)
    result = h.request("GET", "EIO=4&transport=polling&token=t", 0.0)
    assert isinstance(result, HttpResponse)
    assert result.status == status
    assert len(seen) == 1
    assert seen[0].query["token"] == "t"
    if message is None:
        assert len(h.eio.sessions) == 1
    else:
        assert json.loads(result.body) == {"code": FORBIDDEN, "message": message}
        assert not h.eio.sessions
        assert h.connects == []


def test_allow_request_only_for_new_sessions() -> None:
    calls: list[str] = []
    h = Harness(allow_request=lambda req: calls.append(req.method) or True)
    sid = h.open()
    h.post(sid, "4x", 1.0)
    h.get(sid, 1.0)
    assert calls == ["GET"]


def test_handlers_run_through_the_runtime() -> None:
    h = Harness()
    sid = h.open()
    h.post(sid, "4x", 1.0)
    names = [args for _, args in h.runtime.spawned]
    assert names[0][0] == sid
    assert names[1] == (sid, "x")


def test_get_held_after_the_probe_gets_a_noop_soon() -> None:
    # the client sent this GET before it saw 3probe; it switches only once
    # the GET returns, so the server ends it with a noop within 100 ms
    h = Harness()
    sid = h.open()
    peer = FakePeer()
    session = h.probe(sid, peer, 1.0)
    assert session is not None
    session.on_ws_message(peer, "2probe", 1.0)
    assert h.get(sid, 1.01).body == b"6"  # the noop owed by the probe
    hold = h.get(sid, 1.02)
    assert isinstance(hold, PollHold)
    assert session.deadline is not None and session.deadline <= 1.02 + 0.1 + 1e-9
    wakes = h.host(sid).wakes
    h.advance(1.13)
    assert h.host(sid).wakes == wakes + 1
    assert h.finish(hold, 1.13) == "6"
