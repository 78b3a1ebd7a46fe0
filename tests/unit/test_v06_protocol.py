"""Socket.IO 0.6, sans-IO: the ``~m~`` codec, the session's timers and
transports, and the endpoint's routing, with a fake host and clock.

What is expected is what socket.io 0.6.18 and its client do (traces in the
research notes): frame lengths in UTF-16 code units, the session id as the
first body, ``~h~<n>`` heartbeats echoed by the client, ``io.JSONP[i]._()``
wrappers, and the 0.6.18 quirks hubbub does not copy (a heartbeat no longer
swallows the rest of its payload; an unknown session gets 404).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubbub.engineio.codec import PacketType as EnginePacketType
from hubbub.engineio.cors import CorsPolicy
from hubbub.engineio.outgoing import V06_VERSION, OutPacket
from hubbub.http import HttpRequest, HttpResponse
from hubbub.legacy.v06.codec import (
    V06DecodeError,
    decode_body,
    decode_payload,
    encode_message,
    frame,
    heartbeat,
)
from hubbub.legacy.v06.connection import V06Parser
from hubbub.legacy.v06.endpoint import V06Endpoint
from hubbub.legacy.v06.options import V06Options
from hubbub.legacy.v06.session import State, V06Session
from hubbub.runtime.contract import PollHold, Scheduler, StreamHold, WebSocketAccept
from hubbub.socketio.codec import Packet, PacketType

# -- the codec -----------------------------------------------------------------------------


def test_frame_lengths_count_utf16_code_units() -> None:
    # socket.io 0.6.18 framed these exactly so (research traces)
    assert frame("emoji 😀 x") == "~m~10~m~emoji 😀 x"
    assert frame('~j~{"x":"é😀"}') == '~m~14~m~~j~{"x":"é😀"}'
    assert frame("") == "~m~0~m~"
    assert frame("a~m~b") == "~m~5~m~a~m~b"


def test_decode_reads_every_frame_of_a_payload() -> None:
    payload = "~m~7~m~welcome~m~26~m~~j~{\"hello\":\"world\",\"n\":1}~m~0~m~~m~10~m~emoji 😀 x"
    assert decode_payload(payload) == (
        ["welcome", '~j~{"hello":"world","n":1}', "", "emoji 😀 x"], ""
    )


@pytest.mark.parametrize(
    ("payload", "bodies", "rest"),
    [
        ("garbage", [], "garbage"),
        ("", [], ""),
        # a too-short length: the body is cut and the rest is left over
        ("~m~3~m~abcdef~m~2~m~xy", ["abc"], "def~m~2~m~xy"),
        # a too-long length: nothing of that frame
        ("~m~2~m~ok~m~9~m~short", ["ok"], "~m~9~m~short"),
        ("~m~x~m~a", [], "~m~x~m~a"),
        ("~m~~m~", [], "~m~~m~"),
        ("~m~1234567890~m~a", [], "~m~1234567890~m~a"),
        # non-ASCII digits are no length
        ("~m~\u0661~m~a", [], "~m~\u0661~m~a"),
        # a length that cuts a character outside the BMP in two
        ("~m~1~m~😀", [], "~m~1~m~😀"),
    ],
)
def test_decode_stops_at_what_is_not_a_whole_frame(
    payload: str, bodies: list[str], rest: str
) -> None:
    assert decode_payload(payload) == (bodies, rest)


@given(st.lists(st.text(), max_size=6))
def test_frames_round_trip(bodies: list[str]) -> None:
    assert decode_payload("".join(frame(b) for b in bodies)) == (bodies, "")


def test_bodies_are_text_json_or_heartbeats() -> None:
    assert decode_body("hello").kind == "text"
    assert decode_body("").value == ""
    body = decode_body('~j~{"a":[1,"ü"]}')
    assert (body.kind, body.value) == ("json", {"a": [1, "ü"]})
    assert (decode_body("~h~3").kind, decode_body("~h~3").value) == ("heartbeat", "3")
    with pytest.raises(V06DecodeError):
        decode_body("~j~{nope")


def test_server_messages_a_str_as_it_is_anything_else_as_json() -> None:
    # gevent-socketio's rule, which Python apps of the time relied on
    assert encode_message("hi") == "hi"
    assert encode_message({"a": 1}) == '~j~{"a":1}'
    assert encode_message([1, "x"]) == '~j~[1,"x"]'
    assert encode_message(7) == "~j~7"
    assert encode_message(None) == "~j~null"
    assert heartbeat(2) == "~h~2"


def test_the_parser_sends_only_the_message_event() -> None:
    parser = V06Parser()
    packet = Packet(PacketType.EVENT, "/", ["message", "hi", {"a": 1}])
    assert parser.encode(packet) == ['~m~2~m~hi~m~10~m~~j~{"a":1}']
    assert parser.encode(Packet(PacketType.EVENT, "/", ["message", b"\x01"])) == [
        '~m~31~m~~j~{"type":"Buffer","data":[1]}'
    ]
    # no events, acks, namespaces or connect packets in 0.6
    assert parser.encode(Packet(PacketType.EVENT, "/", ["chat", "hi"])) == []
    assert parser.encode(Packet(PacketType.EVENT, "/chat", ["message", "hi"])) == []
    assert parser.encode(Packet(PacketType.ACK, "/", [1], 3)) == []
    assert parser.encode(Packet(PacketType.CONNECT, "/")) == []


# -- the session ------------------------------------------------------------------------------


class FakeHost:
    def __init__(self) -> None:
        self.armed: float | None = None
        self.wakes = 0

    def rearm(self, deadline: float | None) -> None:
        self.armed = deadline

    def wake(self) -> None:
        self.wakes += 1


class Listener:
    def __init__(self) -> None:
        self.opened: list[str] = []
        self.messages: list[tuple[Any, str]] = []
        self.closed: list[str] = []
        self.gone: list[str] = []
        self.on_open: Any = None

    def session_opened(self, session: V06Session, request: HttpRequest) -> None:
        self.opened.append(session.sid)
        if self.on_open is not None:
            self.on_open(session)

    def session_message(self, session: V06Session, value: Any, kind: str) -> None:
        self.messages.append((value, kind))

    def session_closed(self, session: V06Session, reason: str) -> None:
        self.closed.append(reason)

    def session_gone(self, session: V06Session) -> None:
        self.gone.append(session.sid)


class Peer:
    sink = None
    shared_sink = None

    def __init__(self) -> None:
        self.sent: list[str | bytes] = []
        self.closed: int | None = None

    def send(self, packet: OutPacket) -> None:
        self.sent.append(packet.ws_message(V06_VERSION))

    def close(self, code: int = 1000) -> None:
        self.closed = code

    def buffered_bytes(self) -> int:
        return 0


OPTIONS = V06Options(heartbeat_interval=10, heartbeat_timeout=8, close_timeout=8,
                     polling_duration=20)


def session(transport: str) -> tuple[V06Session, Listener, FakeHost]:
    listener = Listener()
    s = V06Session(listener, OPTIONS, "0123", transport, HttpRequest("GET", "/"), 0.0)
    host = FakeHost()
    s.host = host
    return s, listener, host


def out(text: str) -> OutPacket:
    return OutPacket(EnginePacketType.MESSAGE, frame(text))


def test_a_polling_session_answers_its_first_get_with_the_id_then_what_was_sent() -> None:
    s, listener, host = session("xhr-polling")
    listener.on_open = lambda sess: sess.send_packet(out("welcome"))
    body, ctype = s.open_polling(None, 0.0)
    assert body == b"~m~4~m~0123~m~7~m~welcome"
    assert ctype.startswith("text/plain")
    assert listener.opened == ["0123"]
    # the close timeout runs until the next GET
    assert host.armed == 8.0


def test_a_poll_is_held_until_there_is_something_or_the_duration_ends() -> None:
    s, _, host = session("xhr-polling")
    s.open_polling(None, 0.0)
    assert s.on_poll(None, 1.0) is None
    assert host.armed == 21.0  # the polling duration, no close timeout while held
    s.send_packet(out("a"))
    s.send_packet(out("b"))
    assert host.wakes == 2
    assert s.collect_poll(1.5) == (b"~m~1~m~a~m~1~m~b", "text/plain; charset=UTF-8")
    assert host.armed == 9.5
    assert s.on_poll(None, 2.0) is None
    s.on_timer(22.0)
    assert s.collect_poll(22.0) == (b"", "text/plain; charset=UTF-8")  # empty on timeout


def test_jsonp_polling_wraps_for_the_page_callback() -> None:
    s, _, _ = session("jsonp-polling")
    body, ctype = s.open_polling("1", 0.0)
    assert body == b'io.JSONP[1]._("~m~4~m~0123");'
    assert ctype.startswith("text/javascript")
    s.send_packet(out('say "</script>"\u2028'))
    body, _ = s.on_poll("1", 1.0) or (b"", "")
    text = body.decode()
    assert text.startswith('io.JSONP[1]._("') and "</script>" not in text
    assert "\u2028" not in text
    literal = re.fullmatch(r"io\.JSONP\[1\]\._\((.*)\);", text, re.S)
    assert literal is not None
    assert json.loads(literal.group(1)) == frame('say "</script>"\u2028')


def test_no_get_within_the_close_timeout_ends_a_polling_session() -> None:
    s, listener, host = session("xhr-polling")
    s.open_polling(None, 0.0)
    s.on_timer(7.9)
    assert s.state is State.OPEN
    s.on_timer(8.0)
    assert s.state is State.CLOSED
    assert listener.closed == ["transport close"]
    assert listener.gone == ["0123"]
    assert host.armed is None


def test_a_dropped_poll_starts_the_close_timeout() -> None:
    s, listener, host = session("xhr-polling")
    s.open_polling(None, 0.0)
    assert s.on_poll(None, 1.0) is None
    s.poll_aborted(2.0)
    assert host.armed == 10.0
    s.on_timer(10.0)
    assert listener.closed == ["transport close"]


def test_posts_carry_form_encoded_payloads_with_heartbeat_echoes_among_them() -> None:
    s, listener, _ = session("xhr-polling")
    s.open_polling(None, 0.0)
    # 0.6.18 dropped what followed a heartbeat in the same payload: not here
    assert s.on_post(b"data=%7Em%7E4%7Em%7E~h~0~m~5~m~after~m~6~m~~j~%5B1%5D", 1.0)
    assert listener.messages == [("after", "text"), ([1], "json")]
    assert not s.on_post(b"nothing=here", 1.0)
    assert not s.on_post(b"\xff\xfe", 1.0)
    # invalid JSON is dropped with a log line, the rest goes on
    assert s.on_post(b"data=~m~4~m~~j~%7B~m~2~m~ok", 1.0)
    assert listener.messages[-1] == ("ok", "text")


def test_jsonp_form_posts_get_their_newlines_back() -> None:
    # a form turns the page's LF into CRLF after the client counted lengths
    s, listener, _ = session("jsonp-polling")
    s.open_polling("0", 0.0)
    assert s.on_post(b"data=%7Em%7E4%7Em%7Enl%0D%0Ax%7Em%7E2%7Em%7Eok", 1.0)
    assert listener.messages == [("nl\nx", "text"), ("ok", "text")]
    # a CRLF the page really sent stays
    assert s.on_post(b"data=%7Em%7E2%7Em%7E%0D%0A", 1.0)
    assert listener.messages[-1] == ("\r\n", "text")


def test_streaming_sessions_heartbeat_and_close_without_an_echo() -> None:
    s, listener, host = session("websocket")
    peer = Peer()
    s.attach_websocket(peer, 0.0)
    assert peer.sent == ["~m~4~m~0123"]
    assert host.armed == 10.0
    s.on_timer(10.0)
    assert peer.sent[-1] == "~m~4~m~~h~1"
    assert host.armed == 18.0
    s.on_ws_message(peer, "~m~4~m~~h~0", 11.0)  # a wrong number changes nothing
    assert host.armed == 18.0
    s.on_ws_message(peer, "~m~4~m~~h~1", 12.0)
    assert host.armed == 22.0
    s.on_timer(22.0)
    assert peer.sent[-1] == "~m~4~m~~h~2"
    s.on_timer(30.0)
    assert s.state is State.CLOSED
    assert listener.closed == ["ping timeout"]
    assert peer.closed == 1000


def test_a_websocket_message_frames_any_number_of_messages() -> None:
    s, listener, _ = session("websocket")
    peer = Peer()
    s.attach_websocket(peer, 0.0)
    s.on_ws_message(peer, "~m~13~m~__subscribe__~m~6~m~room-1", 1.0)
    assert listener.messages == [("__subscribe__", "text"), ("room-1", "text")]
    s.on_ws_closed(peer, 2.0)
    assert listener.closed == ["transport close"]


@pytest.mark.parametrize("transport", ["htmlfile", "xhr-multipart"])
def test_stream_sessions_write_envelopes(transport: str) -> None:
    s, listener, host = session(transport)
    listener.on_open = lambda sess: sess.send_packet(out("hi"))
    head = s.open_stream(0.0).decode()
    assert host.armed == 10.0  # heartbeats
    wakes = host.wakes
    s.send_packet(out("</script>"))
    assert host.wakes == wakes + 1
    chunk, ended = s.collect_stream(0, 1.0)
    assert not ended
    if transport == "htmlfile":
        assert head.startswith("<html><body>" + " " * 244)
        assert len(head.split("<script>")[0]) == 256
        assert '<script>parent.s._("~m~4~m~0123", document);</script>' in head
        assert '<script>parent.s._("~m~2~m~hi", document);</script>' in head
        assert b"</script>\", document" not in chunk
        assert chunk.startswith(b"<script>parent.s._(") and chunk.endswith(b"</script>")
    else:
        assert head == (
            "--socketio\nContent-Type: text/plain\n\n~m~4~m~0123\n--socketio\n"
            "Content-Type: text/plain\n\n~m~2~m~hi\n--socketio\n"
        )
        assert chunk == b"Content-Type: text/plain\n\n~m~9~m~</script>\n--socketio\n"
    s.stream_aborted(0, 2.0)
    assert listener.closed == ["transport close"]


def test_a_server_close_lets_a_polling_client_fetch_what_is_queued_first() -> None:
    s, listener, _host = session("xhr-polling")
    s.open_polling(None, 0.0)
    s.send_packet(out("bye"))
    s.close("server namespace disconnect", 1.0)
    assert listener.closed == ["server namespace disconnect"]
    assert s.state is State.CLOSING
    assert s.on_poll(None, 2.0) == (b"~m~3~m~bye", "text/plain; charset=UTF-8")
    assert s.state is State.CLOSED
    assert listener.gone == ["0123"]


def test_a_server_close_answers_a_held_poll() -> None:
    s, _listener, host = session("xhr-polling")
    s.open_polling(None, 0.0)
    assert s.on_poll(None, 1.0) is None
    wakes = host.wakes
    s.close("server shutting down", 2.0)
    assert host.wakes == wakes + 1
    assert s.collect_poll(2.0) == (b"", "text/plain; charset=UTF-8")
    assert s.state is State.CLOSED


# -- the endpoint ----------------------------------------------------------------------------


class EndpointListener:
    def __init__(self) -> None:
        self.opened: list[str] = []
        self.messages: list[Any] = []
        self.closed: list[str] = []

    def on_v06_open(self, session: V06Session, request: HttpRequest) -> None:
        self.opened.append(session.sid)

    def on_v06_message(self, session: V06Session, value: Any, kind: str) -> None:
        self.messages.append(value)

    def on_v06_close(self, session: V06Session, reason: str) -> None:
        self.closed.append(reason)


def endpoint(**options: Any) -> tuple[V06Endpoint, EndpointListener]:
    listener = EndpointListener()
    ep = V06Endpoint(V06Options(**options), listener, cors=CorsPolicy(None),
                     scheduler=Scheduler())
    return ep, listener


def get(path: str, **headers: str) -> HttpRequest:
    return HttpRequest("GET", path, headers={"host": "h:1", **headers})


def test_claims_only_its_transports_never_engineio_or_09() -> None:
    ep, _ = endpoint()
    assert ep.claims(get("/socket.io/xhr-polling//1"))
    assert ep.claims(get("/socket.io/websocket"))
    assert ep.claims(get("/socket.io/flashsocket"))
    assert not ep.claims(get("/socket.io/1/xhr-polling/abc"))  # 0.9
    assert not ep.claims(HttpRequest("GET", "/socket.io/", "EIO=4&transport=polling"))
    assert not ep.claims(HttpRequest("GET", "/socket.io/websocket", "EIO=4"))
    assert not ep.claims(get("/socket.io/nosuch/"))
    assert not ep.claims(get("/elsewhere/xhr-polling//1"))


def test_new_sessions_have_digit_ids_and_unknown_ones_get_404() -> None:
    ep, listener = endpoint()
    r = ep.handle_request(get("/socket.io/xhr-polling//123"), 0.0)
    assert isinstance(r, HttpResponse) and r.status == 200
    sid = r.body.decode().split("~m~")[2]
    assert re.fullmatch(r"[0-9]{20}", sid)
    assert listener.opened == [sid]
    assert isinstance(ep.handle_request(get(f"/socket.io/xhr-polling/{sid}/124"), 0.0), PollHold)
    r = ep.handle_request(get("/socket.io/xhr-polling/99999/124"), 0.0)
    assert isinstance(r, HttpResponse) and r.status == 404
    # a session is on one transport
    r = ep.handle_request(get(f"/socket.io/jsonp-polling/{sid}/1/0"), 0.0)
    assert isinstance(r, HttpResponse) and r.status == 400


def test_jsonp_takes_the_last_numeric_segment_as_the_callback_index() -> None:
    ep, _ = endpoint()
    r = ep.handle_request(get("/socket.io/jsonp-polling//1700000000000/2"), 0.0)
    assert isinstance(r, HttpResponse)
    assert r.body.startswith(b'io.JSONP[2]._("~m~20~m~')


def test_stream_and_websocket_requests() -> None:
    ep, _ = endpoint()
    r = ep.handle_request(get("/socket.io/htmlfile//1"), 0.0)
    assert isinstance(r, StreamHold)
    assert ("Content-Type", "text/html; charset=UTF-8") in r.head.headers
    r = ep.handle_request(get("/socket.io/xhr-multipart/"), 0.0)
    assert isinstance(r, StreamHold)
    assert r.head.body.startswith(b"--socketio\n")
    upgrade = get("/socket.io/websocket", upgrade="websocket", connection="Upgrade")
    r = ep.handle_request(upgrade, 0.0)
    assert isinstance(r, WebSocketAccept) and r.version == V06_VERSION
    r = ep.handle_request(get("/socket.io/websocket"), 0.0)  # no upgrade
    assert isinstance(r, HttpResponse) and r.status == 400


def test_a_foreign_origin_is_refused_on_every_request() -> None:
    ep, listener = endpoint()
    for path in ("/socket.io/xhr-polling//1", "/socket.io/jsonp-polling//1/0",
                 "/socket.io/htmlfile//1", "/socket.io/websocket"):
        r = ep.handle_request(
            get(path, origin="http://evil.example", upgrade="websocket"), 0.0
        )
        assert isinstance(r, HttpResponse) and r.status == 403, path
    # a script tag sends no Origin, but its Referer tells
    r = ep.handle_request(get("/socket.io/jsonp-polling//1/0", referer="http://evil.example/"),
                          0.0)
    assert isinstance(r, HttpResponse) and r.status == 403
    assert listener.opened == []
    # the page's own origin is fine
    r = ep.handle_request(get("/socket.io/xhr-polling//1", origin="http://h:1"), 0.0)
    assert isinstance(r, HttpResponse) and r.status == 200


def test_transports_not_offered_are_refused() -> None:
    ep, _ = endpoint(transports=("websocket", "xhr-polling"))
    r = ep.handle_request(get("/socket.io/jsonp-polling//1/0"), 0.0)
    assert isinstance(r, HttpResponse) and r.status == 400
    ep.options.polling = False
    r = ep.handle_request(get("/socket.io/xhr-polling//1"), 0.0)
    assert isinstance(r, HttpResponse) and r.status == 400
