"""Sans-IO tests of Socket.IO 0.9: the packet codec and payload framing
(protocol/legacy.py), the session (session/legacy.py) and the request
routing (legacy_server.py). No socket, no event loop: a fake host records
timers and wake-ups, a fake listener what reaches the Socket.IO layer, and
time moves only when a test passes a new ``now``.
"""

from __future__ import annotations

from typing import Any

import pytest

from hubbub.engineio.codec import PacketType
from hubbub.engineio.options import EngineOptions
from hubbub.engineio.outgoing import LEGACY_VERSION, OutPacket
from hubbub.engineio.server import EngineIOServer
from hubbub.http import HttpRequest, HttpResponse
from hubbub.legacy.v09.codec import (
    LegacyDecodeError,
    LegacyPacket,
    LegacyType,
    decode_packet,
    decode_payload,
    encode_packet,
    encode_payload,
    utf16_len,
)
from hubbub.legacy.v09.endpoint import LegacyEndpoint
from hubbub.legacy.v09.options import LegacyOptions
from hubbub.legacy.v09.session import LegacySession, State
from hubbub.router import Router
from hubbub.runtime.contract import PollHold, StreamHold, WebSocketAccept

# --------------------------------------------------------------------------- the codec


@pytest.mark.parametrize(
    ("text", "fields"),
    [
        ("0::", {"type": LegacyType.DISCONNECT, "endpoint": ""}),
        ("0::/test", {"type": LegacyType.DISCONNECT, "endpoint": "/test"}),
        ("1::/test?my=param", {"type": LegacyType.CONNECT, "endpoint": "/test",
                               "query": "my=param"}),
        ("2::", {"type": LegacyType.HEARTBEAT}),
        ("3:1::blabla", {"type": LegacyType.MESSAGE, "id": 1, "ack": True, "data": "blabla"}),
        ("3:::a:b:c", {"type": LegacyType.MESSAGE, "data": "a:b:c"}),
        ('4:1+::{"a":"b"}', {"type": LegacyType.JSON, "id": 1, "ack": "data",
                             "data": {"a": "b"}}),
        ('5:::{"name":"ev","args":[1,"x"]}', {"type": LegacyType.EVENT, "name": "ev",
                                              "args": [1, "x"]}),
        ('5:7+:/chat:{"name":"ev"}', {"type": LegacyType.EVENT, "id": 7, "ack": "data",
                                      "endpoint": "/chat", "name": "ev", "args": []}),
        ("6:::4", {"type": LegacyType.ACK, "ack_id": 4, "args": []}),
        ('6:::4+["A","B"]', {"type": LegacyType.ACK, "ack_id": 4, "args": ["A", "B"]}),
        ("7::/chat:2+0", {"type": LegacyType.ERROR, "endpoint": "/chat",
                          "reason": "unauthorized", "advice": "reconnect"}),
        ("7:::1", {"type": LegacyType.ERROR, "reason": "client not handshaken", "advice": ""}),
        ("8::", {"type": LegacyType.NOOP}),
    ],
)
def test_decode_and_encode_each_type(text: str, fields: dict[str, Any]) -> None:
    packet = decode_packet(text)
    for name, value in fields.items():
        assert getattr(packet, name) == value, name
    assert encode_packet(packet) == text


def test_the_spec_examples_encode_as_written() -> None:
    assert encode_packet(LegacyPacket(LegacyType.DISCONNECT)) == "0::"
    assert encode_packet(LegacyPacket(LegacyType.CONNECT, "/test", query="my=param")) == (
        "1::/test?my=param"
    )
    assert encode_packet(LegacyPacket(LegacyType.ACK, ack_id=4, args=["A", "B"])) == (
        '6:::4+["A","B"]'
    )
    # error packets: '7::' [endpoint] ':' [reason] '+' [advice], reasons by index
    error = LegacyPacket(LegacyType.ERROR, "/chat", reason="unauthorized", advice="reconnect")
    assert encode_packet(error) == "7::/chat:2+0"
    assert encode_packet(LegacyPacket(LegacyType.ERROR, reason="unauthorized")) == "7:::2"


def test_connect_query_in_both_forms() -> None:
    # the spec's "1::/ns?q" and Node 0.9's encoder form "1::/ns:?q"
    assert decode_packet("1::/ns?a=1&b=2").query == "a=1&b=2"
    spec = decode_packet("1::/ns:?a=1")
    assert (spec.endpoint, spec.query) == ("/ns", "a=1")
    assert decode_packet("1::/ns").query == ""


def test_a_bare_type_digit_is_a_packet() -> None:
    assert decode_packet("0").type is LegacyType.DISCONNECT


@pytest.mark.parametrize(
    "text",
    ["9::", "x::", "", "5:::", "5:::{}", '5:::{"name":1}', '5:::{"name":"a","args":3}',
     "5:::not json", "4:::", "6:::x", '6:::1+{"a":1}', "3:abc::x", "3:1", "3:99999999999999999::x"],
)
def test_malformed_packets_raise_the_codec_error(text: str) -> None:
    with pytest.raises(LegacyDecodeError):
        decode_packet(text)


def test_frame_lengths_count_utf16_code_units() -> None:
    # a character outside the BMP is two UTF-16 code units, as JavaScript counts
    assert utf16_len("3:::\U0001f600") == 6
    payload = encode_payload(["3:::a\U0001f600b", "3:::x", "3:::é"])
    assert payload == "\ufffd8\ufffd3:::a\U0001f600b\ufffd5\ufffd3:::x\ufffd5\ufffd3:::é"
    assert decode_payload(payload) == ["3:::a\U0001f600b", "3:::x", "3:::é"]
    assert encode_payload(["3:::one"]) == "3:::one"  # one packet is not framed
    assert decode_payload("3:::one") == ["3:::one"]
    assert decode_payload("") == []


@pytest.mark.parametrize(
    "text",
    ["\ufffd5\ufffd3:::", "\ufffdx\ufffd3:::x", "\ufffd5", "\ufffd5\ufffd3:::xy",
     "\ufffd5\ufffd3:::a\U0001f600", "\ufffd1234567890123\ufffd"],
)
def test_bad_framing_raises(text: str) -> None:
    with pytest.raises(LegacyDecodeError):
        decode_payload(text)


# --------------------------------------------------------------------------- fakes


class FakeHost:
    def __init__(self, session: LegacySession) -> None:
        self.session = session
        self.armed: float | None = None
        self.wakes = 0

    def rearm(self, deadline: float | None) -> None:
        self.armed = deadline

    def wake(self) -> None:
        self.wakes += 1

    def fire(self, now: float) -> None:
        self.session.on_timer(now)


class Listener:
    """Records what a session hands the Socket.IO layer."""

    def __init__(self) -> None:
        self.opened: list[tuple[str, HttpRequest]] = []
        self.packets: list[tuple[str, str]] = []
        self.closed: list[tuple[str, str]] = []

    def on_legacy_open(self, session: LegacySession, request: HttpRequest) -> None:
        self.opened.append((session.sid, request))

    def on_legacy_packet(self, session: LegacySession, packet: LegacyPacket) -> None:
        self.packets.append((session.sid, encode_packet(packet)))

    def on_legacy_close(self, session: LegacySession, reason: str) -> None:
        self.closed.append((session.sid, reason))


class Peer:
    sink = None  # every packet through send, to be recorded
    shared_sink = None

    def __init__(self) -> None:
        self.sent: list[str | bytes] = []
        self.closed: int | None = None

    def send(self, packet: OutPacket) -> None:
        self.sent.append(packet.ws_message(LEGACY_VERSION))

    def close(self, code: int = 1000) -> None:
        self.closed = code

    def buffered_bytes(self) -> int:
        return 0


INTERVAL, TIMEOUT, CLOSE, POLL = 25.0, 60.0, 60.0, 20.0


def make(**engine: Any) -> tuple[LegacyEndpoint, Listener]:
    eio = EngineIOServer(EngineOptions(path="/socket.io/", **engine))
    listener = Listener()
    options = eio.options
    endpoint = LegacyEndpoint(
        LegacyOptions("/socket.io", ("websocket", "htmlfile", "xhr-polling", "jsonp-polling"),
                      INTERVAL, TIMEOUT, CLOSE, POLL, allow_request=options.allow_request,
                      websocket="websocket" in options.transports,
                      polling="polling" in options.transports),
        listener,
        cors=eio.cors,
        scheduler=eio.scheduler,
    )
    # the requests go through the router, as a server's do
    endpoint.router = Router(eio, [endpoint])  # type: ignore[attr-defined]
    return endpoint, listener


def req(path: str, query: str = "", method: str = "GET", body: bytes = b"",
        **headers: str) -> HttpRequest:
    return HttpRequest(method, path, query, {k.replace("_", "-"): v for k, v in headers.items()},
                       body)


def handshake(endpoint: LegacyEndpoint, now: float = 0.0) -> tuple[LegacySession, FakeHost]:
    answer = endpoint.router.handle_request(req("/socket.io/1/", "t=1"), now)
    assert isinstance(answer, HttpResponse) and answer.status == 200
    sid = answer.body.decode().split(":")[0]
    session = endpoint.sessions[sid]
    host = FakeHost(session)
    session.host = host
    return session, host


def poll(endpoint: LegacyEndpoint, sid: str, now: float, transport: str = "xhr-polling",
         query: str = "") -> HttpResponse | PollHold | StreamHold | WebSocketAccept:
    return endpoint.router.handle_request(req(f"/socket.io/1/{transport}/{sid}", query), now)


def post(endpoint: LegacyEndpoint, sid: str, body: str | bytes, now: float,
         transport: str = "xhr-polling") -> HttpResponse:
    data = body.encode() if isinstance(body, str) else body
    answer = endpoint.router.handle_request(
        req(f"/socket.io/1/{transport}/{sid}", method="POST", body=data), now)
    assert isinstance(answer, HttpResponse)
    return answer


# --------------------------------------------------------------------------- handshake


def test_handshake_answers_sid_heartbeat_close_and_transports() -> None:
    endpoint, _ = make()
    answer = endpoint.router.handle_request(req("/socket.io/1/"), 0.0)
    assert isinstance(answer, HttpResponse)
    sid, heartbeat, close, transports = answer.body.decode().split(":")
    assert len(sid) >= 20 and sid in endpoint.sessions
    assert (heartbeat, close) == ("60", "60")
    assert transports == "websocket,htmlfile,xhr-polling,jsonp-polling"
    # POST works too (the spec's form) and gives another, unpredictable id
    again = endpoint.router.handle_request(req("/socket.io/1/", method="POST"), 0.0)
    assert isinstance(again, HttpResponse) and again.body.split(b":")[0] != sid.encode()


def test_handshake_jsonp_and_refusals() -> None:
    endpoint, _ = make(cors_allowed_origins=["http://good"])
    answer = endpoint.router.handle_request(req("/socket.io/1/", "jsonp=3"), 0.0)
    assert isinstance(answer, HttpResponse)
    body = answer.body.decode()
    assert body.startswith('io.j[3]("') and body.endswith('");')
    bad = endpoint.router.handle_request(req("/socket.io/1/", origin="http://evil"), 0.0)
    assert isinstance(bad, HttpResponse)
    assert (bad.status, bad.body) == (403, b"handshake bad origin")
    bad_jsonp = endpoint.router.handle_request(
        req("/socket.io/1/", "jsonp=2", origin="http://evil"), 0.0)
    assert isinstance(bad_jsonp, HttpResponse) and bad_jsonp.status == 200
    assert bad_jsonp.body == b'io.j[2](new Error("handshake bad origin"));'
    version = endpoint.router.handle_request(req("/socket.io/2/"), 0.0)
    assert isinstance(version, HttpResponse)
    assert (version.status, version.body) == (500, b"Protocol version not supported.")


def test_handshake_allow_request() -> None:
    def allow(request: HttpRequest) -> bool:
        if request.query.get("token") == "boom":
            raise RuntimeError("broken check")
        return request.query.get("token") == "ok"

    endpoint, _ = make(allow_request=allow)
    ok = endpoint.router.handle_request(req("/socket.io/1/", "token=ok"), 0.0)
    no = endpoint.router.handle_request(req("/socket.io/1/", "token=no"), 0.0)
    boom = endpoint.router.handle_request(req("/socket.io/1/", "token=boom"), 0.0)
    assert isinstance(ok, HttpResponse) and ok.status == 200
    assert isinstance(no, HttpResponse) and (no.status, no.body) == (
        403, b"handshake unauthorized")
    assert isinstance(boom, HttpResponse) and (boom.status, boom.body) == (
        500, b"handshake error")


def test_engineio_requests_are_not_claimed() -> None:
    endpoint, _ = make()
    assert not endpoint.claims(req("/socket.io/", "EIO=4&transport=polling"))
    assert not endpoint.claims(req("/socket.io/1/", "EIO=4&transport=polling"))
    assert endpoint.claims(req("/socket.io/1/xhr-polling/abc"))
    assert not endpoint.claims(req("/socket.io/socket.io.js"))


def test_a_handshaken_client_that_never_connects_is_freed() -> None:
    endpoint, listener = make()
    session, host = handshake(endpoint)
    assert host.armed is None or host.armed <= CLOSE
    host.fire(CLOSE + 0.01)
    assert session.sid not in endpoint.sessions
    assert listener.opened == [] and listener.closed == []


# --------------------------------------------------------------------------- polling


def test_polling_connects_holds_and_answers() -> None:
    endpoint, listener = make()
    session, host = handshake(endpoint)
    first = poll(endpoint, session.sid, 1.0)
    assert isinstance(first, PollHold)
    assert [sid for sid, _ in listener.opened] == [session.sid]
    assert session.state is State.OPEN
    session.send_packet(OutPacket(PacketType.MESSAGE, "1::"))
    session.send_packet(OutPacket(PacketType.MESSAGE, "3:::hi"))
    assert host.wakes >= 1
    body, ctype = session.collect_poll(1.5)
    assert body.decode() == "\ufffd3\ufffd1::\ufffd6\ufffd3:::hi"
    assert ctype.startswith("text/plain")
    # the polling duration ends a quiet poll with a noop
    second = poll(endpoint, session.sid, 2.0)
    assert isinstance(second, PollHold)
    wakes = host.wakes
    host.fire(2.0 + POLL)
    assert host.wakes == wakes + 1
    assert session.collect_poll(2.0 + POLL) == (b"8::", "text/plain; charset=UTF-8")


def test_close_timeout_after_the_last_poll() -> None:
    endpoint, listener = make()
    session, host = handshake(endpoint)
    assert isinstance(poll(endpoint, session.sid, 1.0), PollHold)
    session.send_packet(OutPacket(PacketType.MESSAGE, "3:::x"))
    session.collect_poll(1.0)
    host.fire(1.0 + CLOSE - 1)
    assert session.state is State.OPEN
    host.fire(1.0 + CLOSE + 0.01)
    assert session.state is State.CLOSED
    assert listener.closed == [(session.sid, "transport close")]
    assert session.sid not in endpoint.sessions


def test_post_payload_reaches_the_listener_in_order() -> None:
    endpoint, listener = make()
    session, _ = handshake(endpoint)
    poll(endpoint, session.sid, 1.0)
    body = encode_payload(["3:::a", "2::", "bogus", '5:1+::{"name":"e","args":[1]}', "8::"])
    answer = post(endpoint, session.sid, body, 1.1)
    assert (answer.status, answer.body) == (200, b"1")
    # heartbeats and noops stay in the session; a bad packet is dropped, logged
    assert [p for _, p in listener.packets] == ["3:::a", '5:1+::{"name":"e","args":[1]}']
    broken = post(endpoint, session.sid, "\ufffd9\ufffd3:::a", 1.2)
    assert broken.status == 400
    assert session.state is State.OPEN


def test_jsonp_polling_form_post_and_wrapped_answer() -> None:
    endpoint, listener = make()
    session, _ = handshake(endpoint)
    held = poll(endpoint, session.sid, 1.0, "jsonp-polling", "t=1&i=4")
    assert isinstance(held, PollHold)
    # the client JSON-stringifies the payload into the d field of a form
    answer = post(endpoint, session.sid, b'd=%223%3A%3A%3Ahi%20%E2%80%A8%3C%2Fscript%3E%22', 1.1,
                  "jsonp-polling")
    assert answer.status == 200
    assert listener.packets == [(session.sid, "3:::hi \u2028</script>")]
    session.send_packet(OutPacket(PacketType.MESSAGE, "3:::\u2028</script>"))
    body, ctype = session.collect_poll(1.2)
    assert ctype.startswith("text/javascript")
    assert body.decode() == 'io.j[4]("3:::\\u2028\\u003c/script>");'
    bad = post(endpoint, session.sid, b"x=1", 1.3, "jsonp-polling")
    assert bad.status == 400


def test_a_newer_get_replaces_a_held_one() -> None:
    endpoint, _ = make()
    session, host = handshake(endpoint)
    assert isinstance(poll(endpoint, session.sid, 1.0), PollHold)
    assert isinstance(poll(endpoint, session.sid, 2.0), PollHold)
    assert host.wakes == 1  # the old GET is answered...
    assert session.collect_poll(2.0)[0] == b"8::"  # ...with a noop
    session.send_packet(OutPacket(PacketType.MESSAGE, "3:::x"))
    assert session.collect_poll(2.1)[0] == b"3:::x"


def test_unknown_sid_tells_the_client_to_reconnect() -> None:
    endpoint, _ = make()
    answer = poll(endpoint, "nope", 0.0)
    assert isinstance(answer, HttpResponse) and answer.body == b"7:::1+0"
    jsonp = poll(endpoint, "nope", 0.0, "jsonp-polling", "i=2")
    assert isinstance(jsonp, HttpResponse) and jsonp.body == b'io.j[2]("7:::1+0");'
    assert post(endpoint, "nope", "3:::x", 0.0).status == 400
    unknown = poll(endpoint, "nope", 0.0, "xhr-multipart")
    assert isinstance(unknown, HttpResponse) and unknown.status == 400


@pytest.mark.parametrize(
    ("path", "query"),
    [("/socket.io/1/xhr-polling/{sid}", "disconnect"), ("/socket.io/1//{sid}/", "disconnect=1")],
)
def test_forced_disconnect_urls(path: str, query: str) -> None:
    endpoint, listener = make()
    session, host = handshake(endpoint)
    assert isinstance(poll(endpoint, session.sid, 1.0), PollHold)
    wakes = host.wakes
    answer = endpoint.router.handle_request(req(path.format(sid=session.sid), query), 1.5)
    assert isinstance(answer, HttpResponse) and answer.status == 200
    assert session.state is State.CLOSED
    assert listener.closed == [(session.sid, "client namespace disconnect")]
    # the held GET is answered with the farewell, so the client stays down
    assert host.wakes > wakes
    assert session.collect_poll(1.5)[0] == b"0::"
    # a websocket session is told the same before its connection closes
    other, _ = handshake(endpoint)
    peer = open_ws(endpoint, other, 2.0)
    endpoint.router.handle_request(req(path.format(sid=other.sid), query), 2.5)
    assert peer.sent[-1] == "0::" and peer.closed == 1000


def test_server_close_reaches_a_polling_client() -> None:
    endpoint, listener = make()
    session, host = handshake(endpoint)
    poll(endpoint, session.sid, 1.0)
    session.collect_poll(1.0)  # between two polls
    session.close("forced server close", 1.0)
    assert listener.closed == [(session.sid, "forced server close")]
    answer = poll(endpoint, session.sid, 1.5)
    assert isinstance(answer, HttpResponse) and answer.body == b"0::"
    host.fire(1.5)
    assert session.sid not in endpoint.sessions


# --------------------------------------------------------------------------- websocket, htmlfile


def open_ws(endpoint: LegacyEndpoint, session: LegacySession, now: float,
            transport: str = "websocket") -> Peer:
    accept = endpoint.router.handle_request(
        req(f"/socket.io/1/{transport}/{session.sid}", upgrade="websocket"), now)
    assert isinstance(accept, WebSocketAccept) and accept.version == LEGACY_VERSION
    assert accept.target == transport
    peer = Peer()
    assert accept.open(peer, now) is session
    return peer


@pytest.mark.parametrize("transport", ["websocket", "flashsocket"])
def test_websocket_heartbeats(transport: str) -> None:
    endpoint, listener = make()
    endpoint.options.transports = (*endpoint.options.transports, "flashsocket")
    session, host = handshake(endpoint)
    session.send_packet(OutPacket(PacketType.MESSAGE, "3:::queued before"))
    peer = open_ws(endpoint, session, 1.0, transport)
    assert peer.sent == ["3:::queued before"]
    host.fire(1.0 + INTERVAL)
    assert peer.sent[-1] == "2::"
    session.on_ws_message(peer, "2::", 1.0 + INTERVAL + 1)
    answered = 1.0 + INTERVAL + 1
    host.fire(answered + INTERVAL)  # answered: the next heartbeat, one interval later
    assert session.state is State.OPEN
    assert peer.sent.count("2::") == 2
    host.fire(answered + INTERVAL + TIMEOUT - 1)
    assert session.state is State.OPEN
    host.fire(answered + INTERVAL + TIMEOUT + 0.01)  # this one is not answered
    assert session.state is State.CLOSED
    assert listener.closed == [(session.sid, "ping timeout")]
    assert peer.closed == 1000


def test_websocket_for_an_unknown_session_gets_the_error_then_closes() -> None:
    endpoint, _ = make()
    accept = endpoint.router.handle_request(
        req("/socket.io/1/websocket/nope", upgrade="websocket"), 0.0)
    assert isinstance(accept, WebSocketAccept)
    peer = Peer()
    assert accept.open(peer, 0.0) is None
    assert peer.sent == ["7:::1+0"]
    plain_get = endpoint.router.handle_request(req("/socket.io/1/websocket/nope"), 0.0)
    assert isinstance(plain_get, HttpResponse) and plain_get.status == 400


def test_websocket_close_and_client_disconnect() -> None:
    endpoint, listener = make()
    session, _ = handshake(endpoint)
    peer = open_ws(endpoint, session, 1.0)
    session.on_ws_message(peer, "3:::a", 1.1)
    session.on_ws_message(peer, "0::", 1.2)
    assert listener.packets == [(session.sid, "3:::a")]
    assert listener.closed == [(session.sid, "client namespace disconnect")]
    other, _ = handshake(endpoint)
    peer2 = open_ws(endpoint, other, 2.0)
    other.on_ws_closed(peer2, 2.5)
    assert listener.closed[-1] == (other.sid, "transport close")


def test_htmlfile_streams_script_tags() -> None:
    endpoint, listener = make()
    session, host = handshake(endpoint)
    session.send_packet(OutPacket(PacketType.MESSAGE, "1::"))
    hold = poll(endpoint, session.sid, 1.0, "htmlfile")
    assert isinstance(hold, StreamHold)
    first = hold.head.body.decode()
    assert first.startswith("<html><body><script>var _ = function (msg) {")
    assert first.endswith('<script>_("1::");</script>')
    assert ("Content-Type", "text/html; charset=UTF-8") in hold.head.headers
    session.send_packet(OutPacket(PacketType.MESSAGE, '3:::</script><b>"x"'))
    session.send_packet(OutPacket(PacketType.MESSAGE, "3:::y"))
    chunk, done = hold.more(1.5)
    assert not done
    assert chunk.decode() == (
        '<script>_("\ufffd19\ufffd3:::\\u003c/script>\\u003cb>\\"x\\"\ufffd5\ufffd3:::y");</script>'
    )
    host.fire(1.0 + INTERVAL)  # heartbeats ride the stream
    assert hold.more(1.0 + INTERVAL)[0] == (
        b'<script>_("2::");</script>'
    )
    # a second htmlfile connection replaces the first, which ends
    newer = poll(endpoint, session.sid, 30.0, "htmlfile")
    assert isinstance(newer, StreamHold)
    assert hold.more(30.0) == (b"", True)
    hold.aborted(30.1)  # the old one's drop changes nothing
    assert session.state is State.OPEN
    newer.aborted(31.0)
    assert listener.closed == [(session.sid, "transport close")]


# --------------------------------------------------------------------------- hubbub packets as 0.9


def test_legacy_parser_maps_hubbub_packets() -> None:
    from hubbub.legacy.v09.connection import LegacyParser
    from hubbub.socketio.codec import Packet
    from hubbub.socketio.codec import PacketType as P

    parser = LegacyParser()

    def enc(packet: Packet) -> str | bytes:
        (text,) = parser.encode(packet)
        return text

    assert enc(Packet(P.CONNECT, "/")) == "1::"
    assert enc(Packet(P.CONNECT, "/chat")) == "1::/chat"
    assert enc(Packet(P.DISCONNECT, "/chat")) == "0::/chat"
    assert enc(Packet(P.EVENT, "/", ["news", 1, {"a": "b"}])) == (
        '5:::{"name":"news","args":[1,{"a":"b"}]}'
    )
    # emit with a callback: the client's listener answers ("+")
    assert enc(Packet(P.EVENT, "/chat", ["q"], 3)) == '5:3+:/chat:{"name":"q"}'
    # the event "message" with one argument is a message or JSON packet; with a
    # callback, the automatic ack is asked for (a plain id), as 0.9's send() did
    assert enc(Packet(P.EVENT, "/", ["message", "hi"])) == "3:::hi"
    assert enc(Packet(P.EVENT, "/", ["message", {"a": 1}], 4)) == '4:4::{"a":1}'
    assert enc(Packet(P.EVENT, "/", ["message", "hi"], 5)) == "3:5::hi"
    assert enc(Packet(P.EVENT, "/", ["message", "a", "b"])) == (
        '5:::{"name":"message","args":["a","b"]}'
    )
    assert enc(Packet(P.ACK, "/chat", ["ok", 2], 7)) == '6::/chat:7+["ok",2]'
    assert enc(Packet(P.ACK, "/", [], 7)) == "6:::7"
    assert enc(Packet(P.CONNECT_ERROR, "/chat", {"message": "no"})) == "7::/chat:2"
    # U+2028/9 are escaped: the 0.9 client reads an ack's data with "(.*)"
    assert enc(Packet(P.ACK, "/", ["a\u2028b\u2029"], 1)) == '6:::1+["a\\u2028b\\u2029"]'

    # JSON has no bytes: Node's JSON form of a Buffer
    assert enc(Packet(P.EVENT, "/", ["bin", b"\x01\x02"])) == (
        '5:::{"name":"bin","args":[{"type":"Buffer","data":[1,2]}]}'
    )
