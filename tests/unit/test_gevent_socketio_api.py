"""hubbub.gevent_socketio: gevent-socketio 0.3's API on hubbub.

Sans-IO parts (packet dicts, ACLs, dispatch rules, option mapping) are
checked directly; the rest drives real hubbub servers in-process under
gevent: a framework-style WSGI view calls ``socketio_manage`` and Socket.IO
clients (a v5 client and a 0.9 client, on virtual websockets) talk to it.
"""

from __future__ import annotations

import decimal
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import gevent
import pytest

import hubbub
from hubbub.engineio.codec import PacketType as EnginePacketType
from hubbub.engineio.outgoing import OutPacket
from hubbub.gevent_socketio import socketio_manage
from hubbub.gevent_socketio.mixins import BroadcastMixin, RoomsMixin
from hubbub.gevent_socketio.namespace import BaseNamespace
from hubbub.gevent_socketio.packet import decode, encode
from hubbub.gevent_socketio.virtsocket import Socket as VirtualSocket
from hubbub.http import HttpRequest, HttpResponse
from hubbub.legacy.v09.codec import LegacyDecodeError
from hubbub.runtime.contract import WebSocketAccept
from hubbub.runtime.gevent.paste import server_options
from hubbub.runtime.gevent.wsgi import WSGIApp
from hubbub.socketio.codec import JsonParser, Packet, PacketType

pytestmark = pytest.mark.timeout(20)


# -- packet dicts -------------------------------------------------------------------------------

ROUND_TRIPS: list[tuple[dict[str, Any], str]] = [
    ({"type": "disconnect", "endpoint": "/woot"}, "0::/woot"),
    ({"type": "disconnect", "endpoint": ""}, "0::"),
    ({"type": "connect", "endpoint": "/tobi", "qs": ""}, "1::/tobi"),
    ({"type": "connect", "endpoint": "/test", "qs": "?test=1"}, "1::/test?test=1"),
    ({"type": "heartbeat", "endpoint": ""}, "2::"),
    ({"type": "message", "endpoint": "", "data": "woot"}, "3:::woot"),
    ({"type": "message", "endpoint": "/tobi", "id": 5, "ack": True, "data": ""}, "3:5:/tobi"),
    ({"type": "message", "endpoint": "", "data": "a:b\nc"}, "3:::a:b\nc"),
    ({"type": "json", "endpoint": "", "data": "2"}, '4:::"2"'),
    (
        {"type": "json", "endpoint": "", "id": 1, "ack": "data", "data": {"a": "b"}},
        '4:1+::{"a":"b"}',
    ),
    ({"type": "event", "endpoint": "", "name": "woot", "args": []}, '5:::{"name":"woot"}'),
    (
        {"type": "event", "endpoint": "", "id": 1, "ack": "data", "name": "tobi", "args": [1, "x"]},
        '5:1+::{"args":[1,"x"],"name":"tobi"}',
    ),
    ({"type": "ack", "endpoint": "", "ackId": 140, "args": []}, "6:::140"),
    ({"type": "ack", "endpoint": "", "ackId": 12, "args": ["woot", "wa"]}, '6:::12+["woot","wa"]'),
    ({"type": "error", "endpoint": "", "reason": "", "advice": ""}, "7::"),
    (
        {"type": "error", "endpoint": "", "reason": "transport not supported", "advice": ""},
        "7:::0",
    ),
    (
        {"type": "error", "endpoint": "", "reason": "unauthorized", "advice": "reconnect"},
        "7:::2+0",
    ),
    # the spec's layout, endpoint before the reason (gevent-socketio wrote it last)
    (
        {"type": "error", "endpoint": "/woot", "reason": "unauthorized", "advice": ""},
        "7::/woot:2",
    ),
    ({"type": "noop", "endpoint": ""}, "8::"),
]


@pytest.mark.parametrize(("pkt", "wire"), ROUND_TRIPS, ids=[w for _, w in ROUND_TRIPS])
def test_packet_dicts_encode_and_decode_per_type(pkt: dict[str, Any], wire: str) -> None:
    assert encode(pkt) == wire
    assert decode(wire) == pkt
    assert decode(wire.encode("utf-8")) == pkt


def test_packet_decode_reads_nodes_connect_query_form_and_keeps_colons_in_data() -> None:
    assert decode("1::/test:?test=1") == {"type": "connect", "endpoint": "/test", "qs": "?test=1"}
    assert decode("5:::" + json.dumps({"name": "a:b", "args": ["c:d"]}))["args"] == ["c:d"]


def test_packet_encode_uses_the_given_json_dumps_and_decode_the_given_loads() -> None:
    pkt = {"type": "json", "endpoint": "", "data": {"price": decimal.Decimal("1.5")}}
    assert encode(pkt) == '4:::{"price":1.5}'  # gevent-socketio's default: Decimal as a number
    assert encode(pkt, json_dumps=lambda v: "CUSTOM") == "4:::CUSTOM"
    loaded = decode('4:::{"price":1.5}', json_loads=lambda s: json.loads(s, parse_float=str))
    assert loaded["data"] == {"price": "1.5"}


def test_packet_encode_ignores_ids_where_the_protocol_has_none() -> None:
    assert encode({"type": "ack", "endpoint": "", "ackId": 3, "id": 9, "args": []}) == "6:::3"


@pytest.mark.parametrize("bad", ["9:::", "5:::not json", '5:::{"args":[]}', "6:::x", "x:::"])
def test_packet_decode_refuses_malformed_input_with_one_error(bad: str) -> None:
    with pytest.raises(LegacyDecodeError):
        decode(bad)


def test_packet_encode_of_an_unknown_type_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        encode({"type": "carrier-pigeon", "endpoint": ""})


# -- namespaces on a detached socket (gevent-socketio's own unit-test setup) ---------------------


class RecordingSocket(VirtualSocket):
    """A detached virtual socket that keeps the errors and packets."""

    def __init__(self) -> None:
        super().__init__(None, {})
        self.errors: list[tuple[str, str, dict[str, Any]]] = []
        self.sent: list[dict[str, Any]] = []

    def error(  # type: ignore[override]
        self, error_name: str, error_message: str, **kwargs: Any
    ) -> None:
        self.errors.append((error_name, error_message, kwargs))

    def send_packet(self, pkt: Any) -> None:
        self.sent.append(dict(pkt))


class GlobalNamespace(BaseNamespace):
    def on_woot(self) -> str:
        return "woot!"

    def on_user_message(self, text: str, extra: int = 0) -> tuple[str, int]:
        return text, extra

    def on_whole(self, packet: dict[str, Any]) -> dict[str, Any]:
        return packet

    def on_baz(foo, bar, baz):  # type: ignore[no-untyped-def]
        return "never"


class ChatNamespace(BaseNamespace):
    def __init__(self, acl: Any, *args: Any, **kwargs: Any) -> None:
        self.acl = acl
        super().__init__(*args, **kwargs)

    def get_initial_acl(self) -> Any:
        return self.acl

    def on_foo(self) -> str:
        return "a"

    def on_bar(self) -> str:
        return "b"


def make_ns(cls: type[BaseNamespace], *args: Any, endpoint: str = "/chat") -> Any:
    socket = RecordingSocket()
    return cls(*args, {"socketio": socket}, endpoint)


def event(name: str, *args: Any, endpoint: str = "/chat") -> dict[str, Any]:
    return {"type": "event", "name": name, "args": list(args), "endpoint": endpoint}


def test_events_reach_on_methods_and_return_their_value() -> None:
    ns = make_ns(GlobalNamespace)
    assert ns.process_packet(event("woot")) == "woot!"
    # a space in the name is an underscore in the method's
    assert ns.process_packet(event("user message", "hi", 2)) == ("hi", 2)
    assert ns.socket.errors == []


def test_a_handler_whose_one_parameter_is_packet_gets_the_packet_dict() -> None:
    ns = make_ns(GlobalNamespace)
    pkt = event("whole", 1, 2)
    assert ns.process_packet(pkt) is pkt


@pytest.mark.parametrize("name", ["$foo", "1abc", "a-b", "", "foo\n", "__class__"])
def test_event_names_outside_the_rule_are_refused(name: str) -> None:
    ns = make_ns(GlobalNamespace, endpoint="/woot")
    assert ns.process_packet(event(name)) is None
    assert ns.socket.errors == [
        (
            "unallowed_event_name",
            "name must only contains alpha numerical characters",
            {"endpoint": "/woot", "msg_id": None, "quiet": False},
        )
    ]


def test_an_event_without_a_method_is_no_such_method() -> None:
    ns = make_ns(GlobalNamespace, endpoint="/woot")
    ns.process_packet(event("foo"))
    assert ns.socket.errors == [
        (
            "no_such_method",
            'The method "on_foo" was not found',
            {"endpoint": "/woot", "msg_id": None, "quiet": False},
        )
    ]


def test_a_method_without_self_first_is_invalid_method_args() -> None:
    ns = make_ns(GlobalNamespace)
    ns.process_packet(event("baz"))
    assert [e[0] for e in ns.socket.errors] == ["invalid_method_args"]


@pytest.mark.parametrize("acl", [["on_foo"], {"on_foo"}])
def test_acl_allows_the_initial_methods_and_denies_the_rest(acl: Any) -> None:
    ns = make_ns(ChatNamespace, acl)
    assert ns.process_packet(event("foo")) == "a"
    assert ns.socket.errors == []
    assert ns.process_packet(event("bar")) is None
    assert ns.socket.errors == [
        (
            "method_access_denied",
            'You do not have access to method "on_bar"',
            {"endpoint": "/chat", "msg_id": None, "quiet": False},
        )
    ]


@pytest.mark.parametrize("acl", [["on_foo"], {"on_foo"}])
def test_acl_add_allows_and_keeps_what_was_allowed(acl: Any) -> None:
    ns = make_ns(ChatNamespace, acl)
    ns.add_acl_method("on_bar")
    assert ns.process_packet(event("bar")) == "b"
    # gevent-socketio dropped a list's entries here; hubbub keeps them
    assert ns.process_packet(event("foo")) == "a"
    assert ns.socket.errors == []


def test_acl_add_on_an_open_namespace_starts_restricting() -> None:
    ns = make_ns(GlobalNamespace)
    ns.add_acl_method("on_woot")
    assert ns.is_method_allowed("on_woot")
    assert not ns.is_method_allowed("on_whole")


def test_acl_del_denies_and_lift_reopens_and_reset_restores() -> None:
    ns = make_ns(ChatNamespace, ["on_foo"])
    ns.del_acl_method("on_foo")
    ns.process_packet(event("foo"))
    assert [e[0] for e in ns.socket.errors] == ["method_access_denied"]
    ns.lift_acl_restrictions()
    assert ns.allowed_methods is None
    assert ns.process_packet(event("foo")) == "a"
    assert ns.process_packet(event("bar")) == "b"
    ns.reset_acl()
    assert ns.allowed_methods == ["on_foo"]
    assert not ns.is_method_allowed("on_bar")


def test_acl_changes_do_not_leak_into_a_shared_initial_set() -> None:
    shared = {"on_foo"}
    first, second = make_ns(ChatNamespace, shared), make_ns(ChatNamespace, shared)
    first.add_acl_method("on_bar")
    assert not second.is_method_allowed("on_bar") and shared == {"on_foo"}


def test_acl_del_without_restrictions_raises() -> None:
    ns = make_ns(GlobalNamespace)
    with pytest.raises(ValueError, match="No ACL restrictions yet"):
        ns.del_acl_method("on_woot")


def test_acl_guards_the_recv_methods_too() -> None:
    ns = make_ns(ChatNamespace, ["on_foo"])
    assert ns.process_packet({"type": "message", "endpoint": "/chat", "data": "x"}) is None
    assert ns.socket.errors[0][:2] == (
        "method_access_denied",
        'You do not have access to method "recv_message"',
    )


def test_process_packet_per_type() -> None:
    seen: list[Any] = []

    class Ns(BaseNamespace):
        def recv_connect(self) -> None:
            seen.append("connect")

        def recv_error(self, packet: dict[str, Any]) -> None:
            seen.append(("error", packet["reason"], packet["advice"]))

        def recv_disconnect(self) -> None:
            seen.append("disconnect")

    ns = make_ns(Ns)
    assert ns.process_packet({"type": "message", "endpoint": "/chat", "data": "\n"}) == "\n"
    assert ns.process_packet({"type": "json", "endpoint": "/chat", "data": {"a": "b"}}) == {
        "a": "b"
    }
    connect = {"type": "connect", "endpoint": "/chat", "qs": "?test=1"}
    ns.process_packet(connect)
    ns.process_packet(
        {"type": "error", "endpoint": "/chat", "reason": "unauthorized", "advice": "reconnect"}
    )
    ns.process_packet({"type": "disconnect", "endpoint": "/chat"})
    assert seen == ["connect", ("error", "unauthorized", "reconnect"), "disconnect"]
    assert ns.socket.sent == [connect]  # the connect packet is echoed, as gevent-socketio did
    called: list[tuple[Any, ...]] = []
    ns.socket._save_ack_callback(140, lambda *a: called.append(a))
    ns.process_packet({"type": "ack", "endpoint": "/chat", "ackId": 140, "args": [1, 2]})
    ns.process_packet({"type": "ack", "endpoint": "/chat", "ackId": 140, "args": [1, 2]})
    assert called == [(1, 2)]
    assert ns.socket.errors == []


def test_initialize_runs_once_per_distinct_method_over_the_mro() -> None:
    order: list[str] = []

    class Mixin:
        def initialize(self) -> None:
            order.append("mixin")

    class Base(BaseNamespace, Mixin):
        def initialize(self) -> None:
            order.append("base")

    class Child(Base):  # inherits Base.initialize: it still runs once
        pass

    class Own(Child):
        def initialize(self) -> None:
            order.append("own")

    sio = hubbub.Server()
    hub = _fake_hub_socket(sio)
    ns = Own(hub)
    assert order == ["own", "base", "mixin"]
    assert isinstance(ns.socket, VirtualSocket) and ns.socket["/chat"] is ns
    assert ns._socket is hub


def _fake_hub_socket(sio: hubbub.Server, name: str = "/chat") -> hubbub.Socket:
    """A hubbub Socket on a connection that never opened (enough to build
    a namespace instance the way hubbub does)."""
    from hubbub.socketio.connection import Connection

    class _Session:
        sid = "s1"
        version = 4
        transport = "websocket"
        buffered_bytes = 0

        def send_packet(self, packet: OutPacket) -> None: ...

        def close(self, reason: str = "", now: float = 0.0, *, notify: bool = True) -> None: ...

    client = Connection(sio, _Session(), HttpRequest(method="GET", path="/socket.io/"))
    return hubbub.Socket(sio.of(name), client, {})


def test_hook_named_methods_stay_event_handlers() -> None:
    class Ns(BaseNamespace):
        def on_connect(self) -> str:  # type: ignore[override]
            return "the event 'connect'"

        def on_any(self, x: int) -> int:
            return x * 2

    class Sub(Ns):
        pass

    ns = make_ns(Sub)
    assert ns.process_packet(event("connect")) == "the event 'connect'"
    assert ns.process_packet(event("any", 21)) == 42
    # hubbub's hooks are where hubbub looks for them
    assert Sub.on_connect is BaseNamespace.on_connect
    assert Sub.on_any is None
    # and a namespace without such handlers does not expose the hooks as events
    plain = make_ns(GlobalNamespace)
    plain.process_packet(event("disconnect"))
    assert plain.socket.errors[0][0] == "no_such_method"


def test_exception_handler_decorator_wraps_handlers_and_jobs() -> None:
    caught: list[str] = []

    class Ns(BaseNamespace):
        def exception_handler_decorator(self, fn: Callable[..., Any]) -> Callable[..., Any]:
            def wrapped(*args: Any) -> Any:
                try:
                    return fn(*args)
                except RuntimeError as exc:
                    caught.append(str(exc))
                    return "handled"

            return wrapped

        def on_boom(self) -> None:
            raise RuntimeError("boom")

    ns = make_ns(Ns)
    assert ns.process_packet(event("boom")) == "handled"

    def job() -> None:
        raise RuntimeError("job boom")

    assert ns.spawn(job).get(timeout=2) == "handled"
    assert caught == ["boom", "job boom"]


def test_emit_and_send_build_gevent_socketio_packets() -> None:
    ns = make_ns(GlobalNamespace)
    ns.emit("news", {"a": 1}, 2)
    ns.send("text")
    ns.send({"j": 1}, json=True)
    ns.emit("asked", callback=lambda *a: None)
    ns.error("oops", "it broke", quiet=True)
    with pytest.raises(ValueError, match="only supports positional"):
        ns.emit("news", room="x")
    assert ns.socket.sent == [
        # emit's args as the tuple it got, as gevent-socketio built the packet
        {"type": "event", "name": "news", "args": ({"a": 1}, 2), "endpoint": "/chat"},
        {"type": "message", "data": "text", "endpoint": "/chat"},
        {"type": "json", "data": {"j": 1}, "endpoint": "/chat"},
        {"type": "event", "name": "asked", "args": (), "endpoint": "/chat", "ack": "data", "id": 1},
    ]
    assert ns.socket.errors == [("oops", "it broke", {"endpoint": "/chat", "msg_id": None,
                                                      "quiet": True})]


def test_namespace_attributes_apps_assign_are_theirs() -> None:
    class Ns(BaseNamespace):
        def initialize(self) -> None:
            self.rooms = ["mine"]  # a read-only property on hubbub.Namespace
            self.data = 42

    ns = make_ns(Ns)
    ns._initialize_mro()
    assert (ns.rooms, ns.data) == (["mine"], 42)


def test_kill_local_jobs_kills_the_spawned_greenlets() -> None:
    ns = make_ns(GlobalNamespace)
    job = ns.spawn(gevent.sleep, 30)
    gevent.sleep(0)
    ns.kill_local_jobs()
    assert job.dead and ns.jobs == []


def test_a_job_that_disconnects_its_namespace_ends_there() -> None:
    ns = make_ns(GlobalNamespace)
    after: list[str] = []

    def job() -> None:
        ns.disconnect()
        after.append("still running")

    ns.spawn(job).join(timeout=2)
    assert after == []
    assert ns.socket.sent == [{"type": "disconnect", "endpoint": "/chat"}]


# -- option mapping ------------------------------------------------------------------------------


def test_server_options_map_gevent_socketio_options() -> None:
    options = server_options(
        {
            "transports": "websocket, flashsocket, xhr-polling, jsonp-polling",
            "heartbeat_interval": "10",
            "heartbeat_timeout": "60",
            "close_timeout": 30,
        }
    )
    assert options == {
        "transports": ("websocket", "polling"),
        "legacy_transports": ("websocket", "flashsocket", "xhr-polling", "jsonp-polling"),
        "ping_interval": 10.0,
        "ping_timeout": 50.0,  # 0.9 clients are told 10 + 50 = 60
        "close_timeout": 30.0,
    }
    server = hubbub.Server(**options)
    assert server.legacy is not None
    assert server.legacy.options.heartbeat_timeout == 60.0
    assert server_options({"transports": ["xhr-polling"]})["transports"] == ("polling",)
    assert server_options({"legacy": "false"}) == {"legacy": False}


def test_server_options_drop_xhr_multipart_and_refuse_unknown_names() -> None:
    assert server_options({"transports": "xhr-multipart,websocket"})["legacy_transports"] == (
        "websocket",
    )
    with pytest.raises(ValueError, match="xhr-multipart"):
        server_options({"transports": "xhr-multipart"})
    with pytest.raises(ValueError, match="smoke-signals"):
        server_options({"transports": "smoke-signals"})


def test_a_heartbeat_timeout_shorter_than_the_interval_stays_usable() -> None:
    options = server_options({"heartbeat_interval": 25, "heartbeat_timeout": 20})
    assert options["ping_timeout"] == 20.0


# -- through hubbub: a view calls socketio_manage, clients connect ---------------------------------


def wait_until(cond: Callable[[], bool], timeout: float = 3.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        gevent.sleep(0.005)


class Peer:
    """The server end of a virtual websocket: keeps what it is sent."""

    sink = None  # every packet through send, to be recorded
    shared_sink = None

    def __init__(self) -> None:
        self.sent: list[OutPacket] = []
        self.closed = False

    def send(self, packet: OutPacket) -> None:
        if not self.closed:
            self.sent.append(packet)

    def close(self, code: int = 1000) -> None:
        self.closed = True

    def buffered_bytes(self) -> int:
        return 0


def _request(app: WSGIApp, path: str, query: str = "", upgrade: bool = False) -> HttpRequest:
    headers = {"upgrade": "websocket", "connection": "Upgrade"} if upgrade else {}
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query}
    return HttpRequest(method="GET", path=path, query_string=query, headers=headers,
                       remote_addr="127.0.0.1", native=environ)


class V5Client:
    """A Socket.IO v5 client (socket.io-client 4.x) on a virtual websocket."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.peer = Peer()
        req = _request(app, "/socket.io/", "EIO=4&transport=websocket", upgrade=True)
        accept = app.endpoint.handle_request(req, app.runtime.clock())
        assert isinstance(accept, WebSocketAccept)
        session = accept.open(self.peer, app.runtime.clock())
        assert session is not None
        self.session = session
        self.parser = JsonParser(5)

    def send(self, packet: Packet) -> None:
        for part in self.parser.encode(packet):
            self.session.on_ws_message(self.peer, "4" + str(part), self.app.runtime.clock())

    def packets(self) -> list[Packet]:
        decoder = self.parser.decoder()
        out = []
        for p in self.peer.sent:
            if p.type is EnginePacketType.MESSAGE:
                decoded = decoder.feed(p.data)
                if decoded is not None:
                    out.append(decoded)
        return out

    def events(self, nsp: str = "/chat") -> list[list[Any]]:
        return [list(p.data) for p in self.packets() if p.type is PacketType.EVENT and p.nsp == nsp]

    def connect(self, nsp: str = "/chat") -> None:
        self.send(Packet(PacketType.CONNECT, nsp, {}))
        wait_until(lambda: any(p.type in (PacketType.CONNECT, PacketType.CONNECT_ERROR)
                               and p.nsp == nsp for p in self.packets()))

    def emit(self, event: str, *args: Any, nsp: str = "/chat", ack: int | None = None) -> None:
        self.send(Packet(PacketType.EVENT, nsp, [event, *args], ack))

    def acks(self) -> dict[int | None, list[Any]]:
        return {p.id: list(p.data) for p in self.packets() if p.type is PacketType.ACK}

    def close(self) -> None:
        self.peer.closed = True
        self.session.on_ws_closed(self.peer, self.app.runtime.clock())


class LegacyClient:
    """A Socket.IO 0.9 client (socket.io-client 0.9.16) on a virtual websocket."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app
        self.peer = Peer()
        clock = app.runtime.clock
        answer = app.endpoint.handle_request(_request(app, "/socket.io/1/"), clock())
        assert isinstance(answer, HttpResponse) and answer.status == 200, answer
        self.sid = answer.body.decode().split(":")[0]
        req = _request(app, f"/socket.io/1/websocket/{self.sid}", upgrade=True)
        accept = app.endpoint.handle_request(req, clock())
        assert isinstance(accept, WebSocketAccept)
        session = accept.open(self.peer, clock())
        assert session is not None
        self.session = session

    def send(self, text: str) -> None:
        self.session.on_ws_message(self.peer, text, self.app.runtime.clock())

    def received(self) -> list[str]:
        return [p.data for p in self.peer.sent if isinstance(p.data, str)]

    def decoded(self) -> list[dict[str, Any]]:
        return [decode(text) for text in self.received()]

    def events(self, endpoint: str = "/chat") -> list[tuple[str, list[Any]]]:
        return [(p["name"], p["args"]) for p in self.decoded()
                if p["type"] == "event" and p["endpoint"] == endpoint]

    def close(self) -> None:
        self.peer.closed = True
        self.session.on_ws_closed(self.peer, self.app.runtime.clock())


# what the namespaces below saw, by test
LOG: list[Any] = []


class Chat(BaseNamespace, RoomsMixin, BroadcastMixin):
    def initialize(self) -> None:
        self.nick: str | None = None
        LOG.append(("initialize", self.ns_name))

    def get_initial_acl(self) -> list[str]:
        return ["recv_connect", "on_login", "recv_message", "recv_json"]

    def recv_connect(self) -> None:
        LOG.append(("recv_connect", self.request))
        self.emit("welcome", self.socket.sessid == self.socket.sessid)

    def on_login(self, nick: str) -> tuple[str, bool]:
        self.nick = nick
        self.session["nick"] = nick
        self.lift_acl_restrictions()
        return nick, True

    def on_join(self, room: str) -> None:
        self.join(room)

    def on_leave(self, room: str) -> None:
        self.leave(room)

    def on_say(self, room: str, text: str) -> None:
        self.emit_to_room(room, "said", self.nick, text)

    def on_shout(self, text: str) -> None:
        self.broadcast_event("shouted", self.nick, text)

    def on_whisper(self, text: str) -> None:
        self.broadcast_event_not_me("whispered", self.nick, text)

    def on_slow(self, n: int) -> int:
        gevent.sleep(0.05)
        LOG.append(("slow", n))
        return n

    def on_fast(self, n: int) -> int:
        LOG.append(("fast", n))
        return n

    def on_price(self) -> decimal.Decimal:
        return decimal.Decimal("9.5")

    def on_ask(self) -> None:
        self.emit("question", "why?", callback=lambda *a: LOG.append(("answered", a)))

    def on_later(self, packet: dict[str, Any]) -> str:
        # answer the ack by hand, with the packet's id (the return value
        # then goes nowhere, as the client has its answer)
        gevent.sleep(0.01)
        self.socket.send_packet({"type": "ack", "ackId": packet["id"], "args": ["by hand"]})
        return "too late"

    def on_work(self) -> None:
        self.spawn(gevent.sleep, 30)

    def on_bye(self) -> None:
        self.disconnect()

    def on_kick(self, how: str) -> None:
        if how == "kill":
            self.socket.kill(detach=True)
        else:
            self.socket.disconnect()

    def recv_message(self, data: str) -> str:
        LOG.append(("message", data))
        return data.upper()

    def recv_json(self, data: Any) -> Any:
        LOG.append(("json", data))
        return data

    def recv_disconnect(self) -> None:
        LOG.append(("recv_disconnect", self.ns_name, len(self.jobs)))
        super().recv_disconnect()


class Main(BaseNamespace):
    def on_hello(self) -> str:
        return "hello from the global namespace"


def make_app(namespaces: dict[str, type[BaseNamespace]], **manage: Any) -> WSGIApp:
    def view(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        if environ["PATH_INFO"].startswith("/socket.io"):
            socketio_manage(environ, namespaces, request="the request", **manage)
        start_response("200 OK", [])
        return [b""]

    return WSGIApp(None, view)


@pytest.fixture
def app() -> Iterator[WSGIApp]:
    LOG.clear()
    application = make_app({"": Main, "/chat": Chat})
    yield application
    application.endpoint.close_all("server shutting down")
    gevent.sleep(0.01)


def test_v5_client_connects_and_recv_connect_runs_with_the_request(app: WSGIApp) -> None:
    client = V5Client(app)
    client.connect()
    wait_until(lambda: client.events() == [["welcome", True]])
    assert ("initialize", "/chat") in LOG and ("recv_connect", "the request") in LOG
    kinds = [p.type for p in client.packets()]
    assert kinds[:2] == [PacketType.CONNECT, PacketType.EVENT]  # welcome after CONNECT


def test_acl_denial_reaches_a_v5_client_as_an_error_event(app: WSGIApp) -> None:
    client = V5Client(app)
    client.connect()
    client.emit("join", "lobby")
    wait_until(lambda: ["error", "method_access_denied",
                        'You do not have access to method "on_join"'] in client.events())
    client.emit("login", "ann", ack=1)
    wait_until(lambda: client.acks() == {1: ["ann", True]})
    client.emit("join", "lobby")
    client.emit("nope")
    wait_until(lambda: ["error", "no_such_method", 'The method "on_nope" was not found']
               in client.events())


def test_packets_of_one_connection_are_handled_in_order(app: WSGIApp) -> None:
    client = V5Client(app)
    client.connect()
    client.emit("login", "ann")
    client.emit("slow", 1, ack=1)
    client.emit("fast", 2, ack=2)
    wait_until(lambda: len(client.acks()) == 2)
    assert [e for e in LOG if e[0] in ("slow", "fast")] == [("slow", 1), ("fast", 2)]
    assert client.acks() == {1: [1], 2: [2]}


def test_rooms_and_broadcasts_between_v5_clients(app: WSGIApp) -> None:
    ann, bob, cid = V5Client(app), V5Client(app), V5Client(app)
    for client, nick in ((ann, "ann"), (bob, "bob"), (cid, "cid")):
        client.connect()
        client.emit("login", nick, ack=1)
        wait_until(lambda c=client: 1 in c.acks())  # type: ignore[misc]
    ann.emit("join", "lobby")
    bob.emit("join", "lobby", ack=2)
    wait_until(lambda: 2 in bob.acks())
    ann.emit("say", "lobby", "hi all")
    wait_until(lambda: ["said", "ann", "hi all"] in bob.events())
    ann.emit("shout", "HEY")
    wait_until(lambda: ["shouted", "ann", "HEY"] in cid.events())
    wait_until(lambda: ["shouted", "ann", "HEY"] in ann.events())
    ann.emit("whisper", "psst", ack=3)
    wait_until(lambda: ["whispered", "ann", "psst"] in bob.events() and 3 in ann.acks())
    gevent.sleep(0.02)
    assert ["said", "ann", "hi all"] not in ann.events()  # not the sender
    assert ["said", "ann", "hi all"] not in cid.events()  # not outside the room
    assert ["whispered", "ann", "psst"] not in ann.events()
    sessions = list(app.server.clients.values())
    virtual = [c.extra["gevent_socketio.socket"] for c in sessions]
    assert {"/chat_lobby"} in [v.session.get("rooms") for v in virtual]
    bob.emit("leave", "lobby", ack=4)
    wait_until(lambda: 4 in bob.acks())
    ann.emit("say", "lobby", "anyone?", ack=5)
    wait_until(lambda: 5 in ann.acks())
    gevent.sleep(0.02)
    assert ["said", "ann", "anyone?"] not in bob.events()


def test_acks_both_ways_and_values_as_gevent_socketio_wrote_them(app: WSGIApp) -> None:
    client = V5Client(app)
    client.connect()
    client.emit("login", "ann", ack=1)
    client.emit("price", ack=2)
    client.emit("later", ack=3)
    client.emit("ask")
    wait_until(lambda: 2 in client.acks() and 3 in client.acks())
    assert client.acks()[2] == [9.5]  # a Decimal, written as a number
    assert client.acks()[3] == ["by hand"]
    question = next(p for p in client.packets() if p.type is PacketType.EVENT
                    and p.data[0] == "question")
    client.send(Packet(PacketType.ACK, "/chat", ["because"], question.id))
    wait_until(lambda: ("answered", ("because",)) in LOG)


def test_messages_from_a_v5_client_reach_recv_message_and_recv_json(app: WSGIApp) -> None:
    client = V5Client(app)
    client.connect()
    client.emit("message", "hi", ack=1)
    client.emit("message", {"k": 1}, ack=2)
    wait_until(lambda: len(client.acks()) == 2)
    assert client.acks() == {1: ["HI"], 2: [{"k": 1}]}
    assert ("message", "hi") in LOG and ("json", {"k": 1}) in LOG


def test_namespace_disconnect_and_connection_close_call_recv_disconnect(app: WSGIApp) -> None:
    client = V5Client(app)
    client.connect()
    client.emit("login", "ann")
    client.emit("work", ack=1)
    wait_until(lambda: 1 in client.acks())
    client.send(Packet(PacketType.DISCONNECT, "/chat"))
    wait_until(lambda: ("recv_disconnect", "/chat", 1) in LOG)
    virtual = next(iter(app.server.clients.values())).extra["gevent_socketio.socket"]
    assert "/chat" not in virtual
    client.connect()
    client.close()
    wait_until(lambda: LOG.count(("recv_disconnect", "/chat", 0)) == 1)
    wait_until(lambda: not virtual.connected and virtual.sessid not in virtual.server.sockets)


def test_server_side_disconnect_tells_the_client_and_skips_recv_disconnect(app: WSGIApp) -> None:
    client = V5Client(app)
    client.connect()
    client.emit("login", "ann")
    client.emit("bye")
    wait_until(lambda: any(p.type is PacketType.DISCONNECT for p in client.packets()))
    gevent.sleep(0.02)
    assert not [e for e in LOG if e[0] == "recv_disconnect"]


@pytest.mark.parametrize("how", ["disconnect", "kill"])
def test_the_virtual_socket_ends_every_namespace_and_the_connection(
    app: WSGIApp, how: str
) -> None:
    client = V5Client(app)
    client.connect()
    client.connect("/")
    client.emit("login", "ann")
    client.emit("work")
    client.emit("kick", how)
    wait_until(lambda: client.peer.closed)
    wait_until(lambda: ("recv_disconnect", "/chat", 1) in LOG)
    gevent.sleep(0.02)
    assert [e for e in LOG if e[0] == "recv_disconnect"] == [("recv_disconnect", "/chat", 1)]
    assert not app.server.clients


def test_socket_lookup_sessions_and_servers_sockets(app: WSGIApp) -> None:
    client = V5Client(app)
    client.connect()
    client.connect("/")
    client.emit("hello", nsp="/", ack=7)
    wait_until(lambda: 7 in client.acks())
    assert client.acks()[7] == ["hello from the global namespace"]
    virtual = next(iter(app.server.clients.values())).extra["gevent_socketio.socket"]
    assert isinstance(virtual["/chat"], Chat) and isinstance(virtual[""], Main)
    assert virtual.server.sockets[virtual.sessid] is virtual
    assert virtual.GLOBAL_NS == "" and virtual.connected
    assert virtual.sessid != client.session.sid  # a v5 client's engine sid stays private


def test_custom_error_handler_and_json_hooks() -> None:
    LOG.clear()
    errors: list[tuple[Any, ...]] = []

    def handler(socket: VirtualSocket, name: str, message: str, endpoint: str | None,
                msg_id: int | None, quiet: bool) -> None:
        errors.append((name, endpoint))

    app = make_app(
        {"/chat": Chat},
        error_handler=handler,
        json_dumps=lambda v: json.dumps(v, default=lambda o: f"<{type(o).__name__}>"),
        json_loads=lambda s: json.loads(s, parse_int=str),
    )
    client = V5Client(app)
    client.connect()
    client.emit("join", "lobby")
    client.emit("message", {"n": 5}, ack=1)
    wait_until(lambda: 1 in client.acks())
    assert errors == [("method_access_denied", "/chat")]
    assert ("json", {"n": "5"}) in LOG  # read by the custom json_loads
    client.emit("login", "x")
    client.emit("price", ack=2)
    wait_until(lambda: 2 in client.acks())
    assert client.acks()[2] == ["<Decimal>"]  # written by the custom json_dumps
    app.endpoint.close_all("server shutting down")


def test_a_v5_client_asking_for_an_unnamed_global_namespace_is_refused() -> None:
    app = make_app({"/chat": Chat})
    client = V5Client(app)
    client.connect("/")
    assert [p.type for p in client.packets()] == [PacketType.CONNECT_ERROR]
    client.connect("/chat")
    assert (PacketType.CONNECT, "/chat") in [(p.type, p.nsp) for p in client.packets()]
    app.endpoint.close_all("server shutting down")


# -- a 0.9 client and a v5 client on the same namespace --------------------------------------------


def test_a_09_client_speaks_to_the_same_namespace(app: WSGIApp) -> None:
    old = LegacyClient(app)
    old.send("1::/chat")
    wait_until(lambda: ("welcome", [True]) in old.events())
    assert "1::/chat" in old.received()
    old.send('5:1+:/chat:{"name":"login","args":["old"]}')
    wait_until(lambda: '6::/chat:1+["old",true]' in old.received())
    old.send("3:2:/chat:hello")  # a plain id: acknowledged by the server itself
    wait_until(lambda: "6::/chat:2" in old.received() and ("message", "hello") in LOG)
    old.send('4:3+:/chat:{"a":1}')
    wait_until(lambda: '6::/chat:3+[{"a":1}]' in old.received())
    old.send('5::/chat:{"name":"join","args":["lobby"]}')

    new = V5Client(app)
    new.connect()
    new.emit("login", "new")
    new.emit("join", "lobby", ack=1)
    wait_until(lambda: 1 in new.acks())
    new.emit("say", "lobby", "hi old")
    wait_until(lambda: ("said", ["new", "hi old"]) in old.events())
    old.send('5::/chat:{"name":"say","args":["lobby","hi new"]}')
    wait_until(lambda: ["said", "old", "hi new"] in new.events())
    old.send('5::/chat:{"name":"shout","args":["ALL"]}')
    wait_until(lambda: ["shouted", "old", "ALL"] in new.events()
               and ("shouted", ["old", "ALL"]) in old.events())

    old.send('5::/chat:{"name":"ask"}')
    wait_until(lambda: any(p.get("name") == "question" for p in old.decoded()))
    question = next(p for p in old.decoded() if p.get("name") == "question")
    assert question["ack"] == "data"  # the client's listener answers
    old.send(f'6::/chat:{question["id"]}+["because"]')
    wait_until(lambda: ("answered", ("because",)) in LOG)

    virtual = next(c for c in app.server.clients.values() if c.protocol == 1).extra[
        "gevent_socketio.socket"
    ]
    assert virtual.sessid == old.sid  # a 0.9 client's sessid is its session id


def test_a_09_clients_error_packet_reaches_recv_error() -> None:
    LOG.clear()
    seen: list[tuple[str, str]] = []

    class Ns(BaseNamespace):
        def recv_error(self, packet: dict[str, Any]) -> None:
            seen.append((packet["reason"], packet["advice"]))

    app = make_app({"": Ns})
    old = LegacyClient(app)
    old.send("7:::2+0")
    wait_until(lambda: seen == [("unauthorized", "reconnect")])
    old.send('5:::{"name":"nothing"}')
    wait_until(lambda: ("error", ["no_such_method", 'The method "on_nothing" was not found'])
               in old.events(""))
    app.endpoint.close_all("server shutting down")


def test_a_09_client_in_a_global_namespace_the_view_did_not_name() -> None:
    LOG.clear()
    app = make_app({"/chat": Chat})
    old = LegacyClient(app)
    old.send('5:::{"name":"anything"}')
    wait_until(lambda: any(name == "error" and args[0] == "no_such_namespace"
                           for name, args in old.events("")))
    old.send("1::/chat")
    wait_until(lambda: ("welcome", [True]) in old.events())
    old.send("1::/other")  # a namespace the view did not name: refused, as Node's 0.9 did
    wait_until(lambda: "7::/other:2" in old.received())
    app.endpoint.close_all("server shutting down")


# -- without socketio_manage, and the servers ------------------------------------------------------


def test_a_base_namespace_registered_on_a_hubbub_server() -> None:
    LOG.clear()
    sio = hubbub.Server()
    sio.register("/chat", Chat)
    app = WSGIApp(sio)
    client = V5Client(app)
    client.connect()
    client.emit("login", "ann", ack=1)
    wait_until(lambda: client.acks() == {1: ["ann", True]})
    assert ["welcome", True] in client.events()
    assert ("recv_connect", None) in LOG  # no view, no request
    client.close()
    wait_until(lambda: ("recv_disconnect", "/chat", 0) in LOG)
    app.endpoint.close_all("server shutting down")


def _http(port: int, request: bytes) -> bytes:
    from gevent import socket as gsocket

    with gsocket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(request)
        chunks = []
        while True:
            data = conn.recv(65536)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks)


def test_socketio_servers_policy_server_listens_where_its_web_server_does_for_its_port() -> None:
    # gevent-socketio's default (a policy server on 10843 of the web
    # listener's host), without its allow-every-port policy; off on request
    from hubbub.gevent_socketio.server import SocketIOServer
    from hubbub.runtime.gevent.policy import policy_for

    def view(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b""]

    for host in ("127.0.0.1", "0.0.0.0"):
        policy = SocketIOServer((host, 18765), view, resource="socket.io").policy_server
        assert policy is not None
        assert policy.address == (host, 10843)
        assert policy.policy == policy_for([18765])
        assert b'to-ports="18765"' in policy.policy
    server = SocketIOServer(("127.0.0.1", 18765), view, policy_server=False)
    assert server.policy_server is None


def test_socketio_server_serves_both_generations_and_the_policy() -> None:
    from hubbub.gevent_socketio.server import SocketIOServer

    def view(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"the app"]

    server = SocketIOServer(
        ("127.0.0.1", 0),
        view,
        resource="socket.io",
        transports=["websocket", "xhr-polling"],
        heartbeat_interval=5,
        heartbeat_timeout=15,
        close_timeout=20,
        policy_listener=("127.0.0.1", 0),
        cors_allowed_origins=["http://allowed.example"],  # a hubbub.Server option, passed on
    )
    server.start()
    try:
        port = server.server_port
        answer = _http(port, b"GET /socket.io/1/ HTTP/1.0\r\n\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.split(b" ")[1] == b"200"
        sid, heartbeat, close, transports = body.decode().split(":")
        assert (heartbeat, close, transports) == ("15", "20", "websocket,xhr-polling")
        assert len(sid) >= 20  # from secrets, not random.random()
        for origin, status in (("http://allowed.example", b"200"), ("http://evil.example", b"403")):
            request = f"GET /socket.io/1/ HTTP/1.0\r\nOrigin: {origin}\r\n\r\n"
            assert _http(port, request.encode()).split(b" ")[1] == status
        eio = _http(port, b"GET /socket.io/?EIO=4&transport=polling HTTP/1.0\r\n\r\n")
        assert b'"pingInterval":5000' in eio and b'"pingTimeout":10000' in eio
        assert _http(port, b"GET / HTTP/1.0\r\n\r\n").endswith(b"the app")
        assert server.policy_server is not None
        policy = _http(server.policy_server.server_port, b"<policy-file-request/>\0")
        assert b"<cross-domain-policy>" in policy and policy.endswith(b"\0")
        assert dict(server.sockets) == {}
    finally:
        server.stop(timeout=1)


def test_the_gunicorn_workers_keep_gevent_socketios_class_options() -> None:
    from hubbub.gevent_socketio.sgunicorn import (
        GeventSocketIOWorker,
        NginxGeventSocketIOWorker,
    )
    from hubbub.runtime.gevent.worker import GeventWorker

    assert issubclass(GeventSocketIOWorker, GeventWorker)
    assert (GeventSocketIOWorker.resource, GeventSocketIOWorker.policy_server) == (
        "socket.io",
        True,
    )
    assert server_options({"transports": NginxGeventSocketIOWorker.transports}) == {
        "transports": ("polling",),
        "legacy_transports": ("xhr-polling",),
    }
