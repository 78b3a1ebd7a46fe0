"""The hubbub.Server API as an application sees it, in process.

Clients are hubbub.testing.TestClient (a real Engine.IO session on a virtual
websocket) or, where the test needs to control the transport (buffered
bytes, packet identity, unanswered pings), sio_helpers.RawClient. Each test
builds its own Server and runs its coroutine with ``run`` on a fresh loop.
"""

from __future__ import annotations

import asyncio
import email.utils
import re
import time
from typing import Any, Literal, Optional, Union

import pytest
from sio_helpers import RawClient, eventually, run, settle

from hubbub import (
    AckTimeoutError,
    ConnectionRefusedError,
    EventRefusedError,
    Namespace,
    Server,
    Socket,
)
from hubbub.socketio.codec import PacketType
from hubbub.testing import NO_ACK, TestClient


def got(client: TestClient, event: str) -> list[list[Any]]:
    """The arguments of every ``event`` the client received so far."""
    return [args for name, args in client.events if name == event]


def server_socket(sio: Server, client: TestClient, nsp: str = "/") -> Socket:
    assert client.sid is not None
    return sio.of(nsp).sockets[client.sid]


# -- Namespace classes ------------------------------------------------------------


def test_namespace_class_events_acks_and_space_names() -> None:
    sio = Server()

    class Chat(Namespace):
        def initialize(self) -> None:
            self.count = 0

        def on_connect(self, auth: dict[str, Any]) -> None:
            self.emit("welcome", self.sid)

        def on_hello(self, name: str) -> str:
            self.count += 1
            return f"hi {name} #{self.count}"

        def on_a_b(self, x: int) -> int:
            return x * 2

        def on_pair(self) -> tuple[str, int]:
            return ("a", 1)

        def on_nothing(self) -> None:
            return None

        async def on_slow(self, x: int) -> int:
            await asyncio.sleep(0.01)
            return x + 1

    assert sio.register("/chat", Chat) is Chat

    async def main() -> None:
        async with TestClient(sio, "/chat") as c, TestClient(sio, "/chat") as d:
            assert await c.receive("welcome") == [c.sid]
            assert await c.call("hello", "bob") == "hi bob #1"
            assert await c.call("hello", "bob") == "hi bob #2"
            # one instance per client
            assert await d.call("hello", "ann") == "hi ann #1"
            assert await c.call("a b", 21) == 42
            assert await c.call("pair") == ("a", 1)
            assert await c.call("nothing") is None
            assert await c.call("slow", 1) == 2
            instance = server_socket(sio, c, "/chat").instance
            assert isinstance(instance, Chat)
            assert instance.socket.nsp is sio.of("/chat")

    run(main())


def test_namespace_class_refuses_connections() -> None:
    sio = Server()

    class Guarded(Namespace):
        def on_connect(self, auth: dict[str, Any]) -> Any:
            mode = auth.get("mode")
            if mode == "raise":
                raise ConnectionRefusedError("go away", {"code": 42})
            if mode == "false":
                return False
            return None

    class AsyncGuarded(Namespace):
        async def on_connect(self, auth: dict[str, Any]) -> Any:
            await asyncio.sleep(0)
            if auth.get("mode") == "raise":
                raise ConnectionRefusedError("not today")
            return auth.get("mode") != "false"

    sio.register("/g", Guarded)
    sio.register("/ag", AsyncGuarded)

    async def main() -> None:
        for nsp in ("/g", "/ag"):
            with pytest.raises(ConnectionRefusedError) as refused:
                await TestClient(sio, nsp, auth={"mode": "raise"}).connect()
            if nsp == "/g":
                assert (refused.value.message, refused.value.data) == ("go away", {"code": 42})
            else:
                assert (refused.value.message, refused.value.data) == ("not today", None)
            with pytest.raises(ConnectionRefusedError) as refused:
                await TestClient(sio, nsp, auth={"mode": "false"}).connect()
            assert refused.value.message == "Connection refused"
            assert refused.value.data is None
            assert not sio.of(nsp).sockets
            async with TestClient(sio, nsp, auth={"mode": "ok"}) as c:
                assert c.connected
                assert set(sio.of(nsp).sockets) == {c.sid}

    run(main())


def test_namespace_class_on_disconnect_reasons() -> None:
    sio = Server()
    reasons: list[str] = []

    class Tracked(Namespace):
        def on_disconnect(self, reason: str) -> None:
            reasons.append(reason)

        def on_kick(self) -> None:
            self.disconnect()

    sio.register("/", Tracked)

    async def main() -> None:
        c = TestClient(sio)
        await c.connect()
        await c.disconnect()
        await settle()
        assert reasons == ["client namespace disconnect"]
        c = TestClient(sio)
        await c.connect()
        await c.drop()
        await settle()
        assert reasons[-1] == "transport close"
        c = TestClient(sio)
        await c.connect()
        c.emit("kick")
        await settle()
        assert reasons[-1] == "server namespace disconnect"
        assert not c.connected and c.disconnect_reason == "io server disconnect"
        await c.disconnect()

    run(main())


# -- decorator handlers ---------------------------------------------------------------


def test_decorator_handlers_sync_async_and_ack_values() -> None:
    sio = Server()

    @sio.on("echo")
    def echo(socket: Socket, *args: Any) -> tuple[Any, ...]:
        assert isinstance(socket, Socket)
        return args

    @sio.on("add", namespace="/math")
    async def add(socket: Socket, a: int, b: int) -> int:
        await asyncio.sleep(0)
        assert socket.nsp.name == "/math"
        return a + b

    def who(socket: Socket) -> str:
        return socket.id

    assert sio.on("who", who) is who  # the non-decorator form

    silent_calls: list[str] = []

    @sio.on("silent")
    def silent(socket: Socket) -> None:
        silent_calls.append(socket.id)

    @sio.on("connect")
    def on_connect(socket: Socket, auth: dict[str, Any]) -> None:
        socket.on("private", lambda x: x + 1)  # a per-socket handler

    async def main() -> None:
        async with TestClient(sio) as c, TestClient(sio, "/math") as m:
            assert await c.call("echo", 1, "x", [True]) == (1, "x", [True])  # tuple: several args
            assert await c.call("echo", 5) == 5
            assert await c.call("echo") is None  # empty tuple: an empty ack
            assert await c.call("who") == c.sid
            assert await c.call("silent") is None  # None: an empty ack
            assert silent_calls == [c.sid]
            assert await c.call("private", 41) == 42
            assert await m.call("add", 2, 3) == 5
            # a handler of "/" is not one of "/math"
            m.emit("echo", 1)
            with pytest.raises(AckTimeoutError):
                await m.call("echo", 1, timeout=0.05)

    run(main())


def test_reserved_event_names() -> None:
    sio = Server()
    calls: list[str] = []

    @sio.on("disconnect")
    def on_disconnect(socket: Socket, reason: str) -> None:
        calls.append(reason)

    async def main() -> None:
        async with TestClient(sio) as c:
            with pytest.raises(ValueError):
                server_socket(sio, c).emit("disconnect")
            with pytest.raises(ValueError):
                sio.emit("connect")
            # as socket.io-parser, a reserved name from a client is a
            # malformed packet: the connection goes, the handler never sees it
            c.emit("disconnect", "fake")
            await settle()
            assert calls == ["parse error"]
            assert not c.connected

    run(main())


# -- typed arguments ----------------------------------------------------------------

TYPED_OK: list[Any] = ["s", 1, 2.5, True, ["a"], {"k": 1}, None, "x", "a"]


def _typed_server() -> tuple[Server, list[Any]]:
    sio = Server()
    calls: list[Any] = []

    @sio.on("typed")
    def typed(
        socket: Socket,
        s: str,
        i: int,
        f: float,
        b: bool,
        tags: list[str],
        meta: dict[str, Any],
        maybe: Optional[int],  # noqa: UP045 - the typing form on purpose
        either: Union[int, str],  # noqa: UP007
        mode: Literal["a", "b"],
        extra: int = 3,
        *rest: Any,
    ) -> list[Any]:
        value = [s, i, f, b, tags, meta, maybe, either, mode, extra, list(rest)]
        calls.append(value)
        return value

    @sio.on("strict")
    def strict(socket: Socket, a: int) -> int:
        calls.append(a)
        return a

    class Typed(Namespace):
        def on_count(self, n: int, label: str = "x") -> str:
            calls.append(n)
            return f"{label}{n}"

    sio.register("/cls", Typed)

    @sio.on("connect", namespace="/own")
    def own(socket: Socket, auth: dict[str, Any]) -> None:
        def mine(flag: bool) -> bool:
            calls.append(flag)
            return not flag

        socket.on("mine", mine)

    return sio, calls


def test_typed_arguments_accepted() -> None:
    sio, calls = _typed_server()

    async def main() -> None:
        async with TestClient(sio) as c:
            assert await c.call("typed", *TYPED_OK) == [*TYPED_OK, 3, []]
            # an int is a float; the defaults and *args take the rest
            args = ["s", 1, 2, False, [], {}, 7, 8, "b", 9, "r1", {"r": 2}]
            assert await c.call("typed", *args) == [*args[:10], ["r1", {"r": 2}]]
            assert await c.call("strict", 4) == 4
        async with TestClient(sio, "/cls") as k:
            assert await k.call("count", 2) == "x2"
            assert await k.call("count", 2, "n") == "n2"
        async with TestClient(sio, "/own") as o:
            assert await o.call("mine", True) is False
        assert len(calls) == 6

    run(main())


@pytest.mark.parametrize(
    ("index", "value", "name", "expected"),
    [
        (0, 1, "s", "must be str, got int"),
        (1, "1", "i", "must be int, got str"),
        (1, True, "i", "must be int, got bool"),
        (1, 1.5, "i", "must be int, got float"),
        (2, "2.5", "f", "must be float, got str"),
        (3, 1, "b", "must be bool, got int"),
        (4, ["a", 1], "tags", "got list"),
        (4, "a", "tags", "got str"),
        (5, [], "meta", "must be object, got list"),
        (6, "7", "maybe", "got str"),
        (7, 1.5, "either", "got float"),
        (8, "c", "mode", "got str"),
        (8, None, "mode", "got null"),
    ],
)
def test_typed_argument_mismatch(index: int, value: Any, name: str, expected: str) -> None:
    sio, calls = _typed_server()
    args = list(TYPED_OK)
    args[index] = value

    async def main() -> None:
        async with TestClient(sio) as c:
            c.emit("typed", *args)
            (error,) = await c.receive("error")
            assert error["event"] == "typed"
            assert f"argument {name!r}" in error["message"], error
            assert expected in error["message"], error
            # with an ack the handler is not called either, and nothing answers
            with pytest.raises(AckTimeoutError):
                await c.call("typed", *args, timeout=0.05)
            assert calls == []

    run(main())


def test_typed_argument_count_and_other_handler_kinds() -> None:
    sio, calls = _typed_server()

    async def main() -> None:
        async with TestClient(sio) as c:
            c.emit("typed", "s", 1)
            (error,) = await c.receive("error")
            assert "missing argument 'f'" in error["message"]
            c.emit("strict", 1, 2)
            (error,) = await c.receive("error")
            assert error["event"] == "strict" and "takes 1 argument(s), got 2" in error["message"]
            c.emit("typed", *TYPED_OK, "not an int")
            (error,) = await c.receive("error")
            assert "argument 'extra' must be int" in error["message"]
        async with TestClient(sio, "/cls") as k:
            k.emit("count", "2")
            (error,) = await k.receive("error")
            assert error["event"] == "count" and "argument 'n' must be int" in error["message"]
            k.emit("count", 2, 3)
            (error,) = await k.receive("error")
            assert "argument 'label' must be str, got int" in error["message"]
        async with TestClient(sio, "/own") as o:
            o.emit("mine", "yes")
            (error,) = await o.receive("error")
            assert "argument 'flag' must be bool, got str" in error["message"]
        assert calls == []

    run(main())


# -- catch-all listeners -----------------------------------------------------------------


def test_catch_all_incoming_and_outgoing() -> None:
    sio = Server()
    log: list[tuple[Any, ...]] = []

    @sio.on("*")
    def any_event(socket: Socket, event: str, *args: Any) -> None:
        log.append(("*", event, *args))

    @sio.on("known")
    def known(socket: Socket, x: int) -> int:
        log.append(("known", x))
        return x

    @sio.on("connect")
    def on_connect(socket: Socket, auth: dict[str, Any]) -> None:
        socket.on_any(lambda event, *args: log.append(("on_any", event, *args)))
        socket.on_any_outgoing(lambda event, *args: log.append(("out", event, *args)))
        socket.emit("welcome", 1)  # before CONNECT went out: still seen once

    async def main() -> None:
        async with TestClient(sio) as c:
            await c.receive("welcome")
            assert log == [("out", "welcome", 1)]
            log.clear()
            assert await c.call("known", 3) == 3
            c.emit("unknown", "a", "b")
            await settle()
            assert log == [
                ("on_any", "known", 3),
                ("*", "known", 3),
                ("known", 3),
                ("on_any", "unknown", "a", "b"),
                ("*", "unknown", "a", "b"),
            ]
            log.clear()
            server_socket(sio, c).emit("direct", 1)
            sio.emit("broadcast", 2)
            assert log == [("out", "direct", 1), ("out", "broadcast", 2)]

    run(main())


def test_catch_all_with_async_handlers() -> None:
    sio = Server()
    log: list[tuple[Any, ...]] = []

    @sio.on("*")
    async def any_event(socket: Socket, event: str, *args: Any) -> None:
        await asyncio.sleep(0)
        log.append(("*", event, *args))

    @sio.on("slow")
    async def slow(socket: Socket, x: int) -> int:
        await asyncio.sleep(0)
        log.append(("slow", x))
        return x

    @sio.on("connect")
    def on_connect(socket: Socket, auth: dict[str, Any]) -> None:
        socket.on_any(lambda event, *args: log.append(("on_any", event, *args)))

    async def main() -> None:
        async with TestClient(sio) as c:
            assert await c.call("slow", 1) == 1
            c.emit("other", 2)
            await eventually(lambda: len(log) == 5)
            assert log == [
                ("on_any", "slow", 1),
                ("*", "slow", 1),
                ("slow", 1),
                ("on_any", "other", 2),
                ("*", "other", 2),
            ]

    run(main())


def test_namespace_class_catch_all_hooks() -> None:
    sio = Server()
    log: list[tuple[Any, ...]] = []

    class Spy(Namespace):
        def on_any(self, event: str, *args: Any) -> None:
            log.append(("in", event, *args))

        def on_any_outgoing(self, event: str, *args: Any) -> None:
            log.append(("out", event, *args))

        def on_ping(self) -> str:
            self.emit("pong")
            return "ok"

        async def on_later(self) -> str:
            await asyncio.sleep(0)
            return "later"

    sio.register("/", Spy)

    async def main() -> None:
        async with TestClient(sio) as c:
            assert await c.call("ping") == "ok"
            assert await c.call("later") == "later"
            sio.emit("news", 1)
            assert log == [
                ("in", "ping"),
                ("out", "pong"),
                ("in", "later"),
                ("out", "news", 1),
            ]

    run(main())


# -- middlewares ------------------------------------------------------------------------


def test_connection_middlewares() -> None:
    sio = Server()
    order: list[str] = []

    def identify(socket: Socket) -> None:
        order.append("identify")
        socket.data["user"] = socket.handshake.auth.get("user")

    async def ban(socket: Socket) -> None:
        await asyncio.sleep(0)
        order.append("ban")
        if socket.data["user"] == "mallory":
            raise ConnectionRefusedError("unauthorized", {"reason": "banned"})

    def crash(socket: Socket) -> None:
        if socket.handshake.auth.get("crash"):
            raise RuntimeError("middleware crashed")

    sio.use(identify)
    sio.use(ban)
    sio.use(crash)

    @sio.use
    def last(socket: Socket) -> None:
        order.append("last")

    def admins_only(socket: Socket) -> None:
        order.append("admins_only")
        if socket.handshake.auth.get("role") != "admin":
            raise ConnectionRefusedError("admins only")

    sio.use(admins_only, namespace="/admin")

    @sio.on("whoami")
    def whoami(socket: Socket) -> Any:
        return socket.data["user"]

    async def main() -> None:
        async with TestClient(sio, auth={"user": "alice"}) as c:
            assert order == ["identify", "ban", "last"]
            assert await c.call("whoami") == "alice"
        with pytest.raises(ConnectionRefusedError) as refused:
            await TestClient(sio, auth={"user": "mallory"}).connect()
        assert (refused.value.message, refused.value.data) == ("unauthorized", {"reason": "banned"})
        with pytest.raises(ConnectionRefusedError) as refused:
            await TestClient(sio, auth={"crash": True}).connect()
        assert refused.value.message == "Internal server error"  # the text stays in the log
        # the main namespace's middlewares do not run for /admin
        order.clear()
        with pytest.raises(ConnectionRefusedError) as refused:
            await TestClient(sio, "/admin", auth={"user": "mallory"}).connect()
        assert refused.value.message == "admins only"
        async with TestClient(sio, "/admin", auth={"role": "admin"}):
            pass
        assert order == ["admins_only", "admins_only"]
        assert set(sio.sockets.sockets) == set()

    run(main())


def test_per_packet_middlewares() -> None:
    sio = Server()
    called: list[str] = []

    def guard(socket: Socket, event: str, args: list[Any]) -> None:
        if event == "forbidden":
            raise EventRefusedError("not allowed", {"event": event})
        if event == "boom":
            raise RuntimeError("kaboom")
        args.append("tagged")  # a middleware may rewrite the arguments

    async def async_guard(socket: Socket, event: str, args: list[Any]) -> None:
        await asyncio.sleep(0)
        if args and args[0] == "secret":
            raise EventRefusedError("no secrets")

    @sio.on("connect")
    def on_connect(socket: Socket, auth: dict[str, Any]) -> None:
        socket.use(guard)
        if auth.get("async"):
            socket.use(async_guard)

    @sio.on("echo")
    def echo(socket: Socket, *args: Any) -> tuple[Any, ...]:
        called.append("echo")
        return args

    @sio.on("forbidden")
    def forbidden(socket: Socket) -> None:
        called.append("forbidden")

    @sio.on("boom")
    def boom(socket: Socket) -> None:
        called.append("boom")

    async def main() -> None:
        for auth in ({}, {"async": True}):
            called.clear()
            async with TestClient(sio, auth=auth) as c:
                assert await c.call("echo", 1) == (1, "tagged")
                c.emit("forbidden")
                (error,) = await c.receive("error")
                assert error == {
                    "message": "not allowed",
                    "data": {"event": "forbidden"},
                    "event": "forbidden",
                }
                c.emit("boom")
                (error,) = await c.receive("error")
                assert error == {
                    "message": "Internal server error",
                    "event": "boom",
                }  # no internals
                if auth:
                    c.emit("echo", "secret")
                    (error,) = await c.receive("error")
                    assert error == {"message": "no secrets", "event": "echo"}
                assert called == ["echo"]

    run(main())


# -- dynamic namespaces -------------------------------------------------------------------


def test_dynamic_namespaces() -> None:
    sio = Server()
    created: list[str] = []
    sio.on_new_namespace(lambda nsp: created.append(nsp.name))
    rooms = sio.of(re.compile(r"^/room-\d+$"))
    teams = sio.of(lambda name, auth: name.startswith("/team-") and auth.get("ok") is True)
    mw_log: list[str] = []

    @rooms.on("where")
    def where(socket: Socket) -> str:
        return socket.nsp.name

    @rooms.use
    def parent_mw(socket: Socket) -> None:
        mw_log.append(socket.nsp.name)

    class Team(Namespace):
        def on_name(self) -> str:
            return self.namespace.name

    teams.register(Team)

    async def main() -> None:
        sio.of("/static")
        await settle()
        assert created == ["/static"]
        async with TestClient(sio, "/room-1") as r1, TestClient(sio, "/room-22") as r2:
            await settle()
            assert created == ["/static", "/room-1", "/room-22"]
            assert mw_log == ["/room-1", "/room-22"]
            assert await r1.call("where") == "/room-1"
            assert await r2.call("where") == "/room-22"
            child = sio.of("/room-1")
            assert child.parent is rooms and child in rooms.children
            # broadcasting from the parent reaches every child
            rooms.emit("news", "all rooms")
            assert await r1.receive("news") == ["all rooms"]
            assert await r2.receive("news") == ["all rooms"]
            # broadcasting from a child stays in that child
            child.emit("local-news")
            assert got(r1, "local-news") == [[]] and got(r2, "local-news") == []
            with pytest.raises(ConnectionRefusedError) as refused:
                await TestClient(sio, "/room-x").connect()
            assert refused.value.message == "Invalid namespace"
            # a second client of an existing child creates nothing
            async with TestClient(sio, "/room-1") as again:
                assert await again.call("where") == "/room-1"
            assert created.count("/room-1") == 1
        async with TestClient(sio, "/team-a", auth={"ok": True}) as t:
            assert await t.call("name") == "/team-a"
        with pytest.raises(ConnectionRefusedError):
            await TestClient(sio, "/team-b", auth={"ok": False}).connect()
        assert "/team-b" not in created

    run(main())


def test_dynamic_namespace_async_catch_all_on_parent() -> None:
    sio = Server()
    log: list[tuple[str, str]] = []
    parent = sio.of(re.compile(r"^/dyn-\w+$"))

    @parent.on("*")
    async def any_event(socket: Socket, event: str, *args: Any) -> None:
        await asyncio.sleep(0)
        log.append((socket.nsp.name, event))

    @parent.on("sync")
    def sync_handler(socket: Socket) -> str:
        return "done"

    async def main() -> None:
        async with TestClient(sio, "/dyn-a") as c:
            assert await c.call("sync") == "done"
            c.emit("other")
            await eventually(lambda: len(log) == 2)
            assert log == [("/dyn-a", "sync"), ("/dyn-a", "other")]

    run(main())


# -- rooms and broadcasting -----------------------------------------------------------------


def test_rooms_and_broadcast_selection() -> None:
    sio = Server()

    @sio.on("join")
    def join(socket: Socket, *rooms: str) -> list[str]:
        socket.join(*rooms)
        return sorted(socket.rooms)

    @sio.on("leave")
    def leave(socket: Socket, room: str) -> None:
        socket.leave(room)

    @sio.on("shout")
    def shout(socket: Socket, room: str, msg: str) -> None:
        socket.to(room).emit("msg", msg)

    @sio.on("everyone")
    def everyone(socket: Socket, msg: str) -> None:
        socket.broadcast.emit("msg", msg)

    async def main() -> None:
        async with TestClient(sio) as a, TestClient(sio) as b, TestClient(sio) as c:
            clients = {"a": a, "b": b, "c": c}

            def check(event: str, *expected: str) -> None:
                for name, client in clients.items():
                    n = len(got(client, event))
                    assert n == (1 if name in expected else 0), (event, name, n)

            assert await a.call("join", "r1", "r2") == sorted([a.sid or "", "r1", "r2"])
            await b.call("join", "r1")
            await c.call("join", "r2")
            assert server_socket(sio, a).rooms == {a.sid, "r1", "r2"}

            await a.call("shout", "r1", "hi")  # socket.to(): not the sender
            check("msg", "b")
            await a.call("everyone", "all")  # socket.broadcast: all but me
            assert got(c, "msg") == [["all"]] and len(got(b, "msg")) == 2 and not got(a, "msg")

            sio.to("r1").emit("to-r1")  # the server: everyone in the room
            check("to-r1", "a", "b")
            sio.in_("r2").emit("in-r2")
            check("in-r2", "a", "c")
            sio.to("r1", "r2").emit("both")  # union, once each
            check("both", "a", "b", "c")
            sio.to(["r1"]).to("r2").emit("chained")
            check("chained", "a", "b", "c")
            sio.to("r2").except_("r1").emit("r2-not-r1")
            check("r2-not-r1", "c")
            sio.except_("r1").emit("not-r1")
            check("not-r1", "c")
            sio.to(b.sid or "").emit("private")  # a socket id is a room
            check("private", "b")
            sio.to("nobody").emit("void")
            check("void")
            sio.local.emit("local")
            check("local", "a", "b", "c")
            sio.volatile.emit("volatile")
            check("volatile", "a", "b", "c")
            server_socket(sio, a).volatile.emit("volatile-direct")
            check("volatile-direct", "a")
            sio.compress(False).emit("uncompressed")
            check("uncompressed", "a", "b", "c")
            sio.of("/").to("r1").emit("via-namespace")
            check("via-namespace", "a", "b")

            await a.call("leave", "r1")
            sio.to("r1").emit("after-leave")
            check("after-leave", "b")

    run(main())


def test_fetch_sockets_join_leave_and_disconnect_sockets() -> None:
    sio = Server()
    reasons: dict[str, str] = {}

    @sio.on("disconnect")
    def on_disconnect(socket: Socket, reason: str) -> None:
        reasons[socket.id] = reason

    async def main() -> None:
        a, b, c = TestClient(sio), TestClient(sio), TestClient(sio)
        for client in (a, b, c):
            await client.connect()
        server_socket(sio, a).join(["r1", "r2"])
        server_socket(sio, b).join("r1")
        server_socket(sio, c).join("r2")

        every = await sio.fetch_sockets()
        assert {s.id for s in every} == {a.sid, b.sid, c.sid}
        assert all(isinstance(s, Socket) for s in every)
        in_r2 = await sio.in_("r2").fetch_sockets()
        assert {s.id for s in in_r2} == {a.sid, c.sid}
        assert {s.id for s in await sio.to("r1").except_("r2").fetch_sockets()} == {b.sid}

        sio.in_("r1").sockets_join("r3", "r4")
        assert {s.id for s in await sio.in_("r3").fetch_sockets()} == {a.sid, b.sid}
        assert "r4" in server_socket(sio, b).rooms
        sio.in_("r2").sockets_leave("r3")
        assert {s.id for s in await sio.in_("r3").fetch_sockets()} == {b.sid}
        sio.sockets_join("all")
        assert len(await sio.in_("all").fetch_sockets()) == 3
        sio.sockets_leave("all")
        assert await sio.in_("all").fetch_sockets() == []

        # close=False: leave the namespace, keep the connection
        sio.in_("r2").except_("r1").disconnect_sockets()
        await settle()
        assert not c.connected and c.disconnect_reason == "io server disconnect"
        # with no namespace left the client closes its connection itself, as
        # socket.io-client does; the server's reason stays the namespace's
        assert reasons == {c.sid: "server namespace disconnect"}
        assert a.connected and b.connected
        # close=True: the whole connection goes
        sio.in_("r1").disconnect_sockets(close=True)
        await settle()
        assert not a.connected and not b.connected
        assert a._peer is not None and a._peer.closed
        assert reasons[a.sid or ""] == reasons[b.sid or ""] == "server namespace disconnect"
        assert sio.sockets.sockets == {}
        # c had left its only namespace: it closed its connection too
        await c.disconnect()
        assert sio.clients == {}

    run(main())


def test_room_lifecycle_events() -> None:
    sio = Server()
    log: list[tuple[str, ...]] = []
    for event in ("create-room", "join-room", "leave-room", "delete-room"):
        sio.on(event, lambda *args, _e=event: log.append((_e, *args)))

    async def main() -> None:
        async with TestClient(sio) as c:
            sid = c.sid or ""
            s = server_socket(sio, c)
            log.clear()
            s.join("lobby")
            s.leave("lobby")
            await settle()
            assert log == [
                ("create-room", "lobby"),
                ("join-room", "lobby", sid),
                ("leave-room", "lobby", sid),
                ("delete-room", "lobby"),
            ]

    run(main())


# -- acknowledgements from clients ------------------------------------------------------------


def test_server_emit_with_callback_call_and_timeouts() -> None:
    sio = Server()

    async def main() -> None:
        async with TestClient(sio) as c:
            c.on("question", lambda x: x * 2)
            c.on("pair", lambda: ("a", "b"))
            c.on("silent", lambda *a: NO_ACK)
            s = server_socket(sio, c)
            answers: list[tuple[Any, ...]] = []
            s.emit("question", 21, callback=lambda *a: answers.append(a))
            s.emit("pair", callback=lambda *a: answers.append(a))
            s.emit("no-handler", callback=lambda *a: answers.append(a))
            await eventually(lambda: len(answers) == 3)
            assert answers == [(42,), ("a", "b"), ()]

            assert await s.call("question", 5, timeout=1) == 10
            assert await s.call("pair") == ("a", "b")
            assert await s.call("no-handler") is None
            started = time.monotonic()
            with pytest.raises(AckTimeoutError):
                await s.call("silent", timeout=0.05)
            assert time.monotonic() - started < 1
            assert s.acks == {}  # the expired ack is forgotten

            timed: list[tuple[Any, ...]] = []
            s.timeout(1).emit("question", 1, callback=lambda *a: timed.append(a))
            s.timeout(0.05).emit("silent", callback=lambda *a: timed.append(a))
            await eventually(lambda: len(timed) == 2)
            assert timed[0] == (None, 2)
            assert len(timed[1]) == 1 and isinstance(timed[1][0], AckTimeoutError)
            assert await s.timeout(1).call("question", 3) == 6
            with pytest.raises(AckTimeoutError):
                await s.timeout(0.05).call("silent")
            assert [e for e, _ in c.events].count("silent") == 3

    run(main())


def test_broadcast_with_acks() -> None:
    sio = Server()

    async def main() -> None:
        async with TestClient(sio) as a, TestClient(sio) as b, TestClient(sio) as c:
            a.on("poll", lambda: "a")
            b.on("poll", lambda: ("b", "ignored"))  # one response per client: the first
            c.on("poll", lambda: NO_ACK)
            for client in (a, b):
                server_socket(sio, client).join("answering")

            responses = await sio.to("answering").timeout(1).call("poll")
            assert sorted(responses) == ["a", "b"]
            assert await sio.to("nobody").timeout(1).call("poll") == []

            started = time.monotonic()
            with pytest.raises(AckTimeoutError):
                await sio.timeout(0.1).call("poll")
            assert time.monotonic() - started < 1

            results: list[tuple[Any, list[Any]]] = []
            sio.timeout(0.1).emit("poll", callback=lambda err, r: results.append((err, r)))
            sio.to("answering").timeout(1).emit(
                "poll", callback=lambda e, r: results.append((e, r))
            )
            await eventually(lambda: len(results) == 2)
            (ok_err, ok), (late_err, partial) = results
            assert ok_err is None and sorted(ok) == ["a", "b"]
            assert isinstance(late_err, AckTimeoutError) and sorted(partial) == ["a", "b"]

            # from a namespace and from a socket (everyone but the sender)
            assert sorted(await sio.of("/").to("answering").timeout(1).call("poll")) == ["a", "b"]
            sender = server_socket(sio, a)
            assert await sender.to("answering").timeout(1).call("poll") == ["b"]

    run(main())


# -- disconnect reasons -----------------------------------------------------------------------


def test_disconnect_reasons() -> None:
    sio = Server(ping_interval=0.05, ping_timeout=0.05)
    reasons: list[str] = []
    rooms_when_disconnecting: list[set[str]] = []

    @sio.on("disconnecting")
    def disconnecting(socket: Socket, reason: str) -> None:
        rooms_when_disconnecting.append(set(socket.rooms))

    @sio.on("disconnect")
    def on_disconnect(socket: Socket, reason: str) -> None:
        assert not socket.connected and socket.rooms == set()
        reasons.append(reason)

    async def connected() -> tuple[TestClient, Socket]:
        c = TestClient(sio)
        await c.connect()
        s = server_socket(sio, c)
        s.join("room")
        return c, s

    async def main() -> None:
        c, _ = await connected()
        await c.disconnect()
        await settle()
        assert reasons.pop() == "client namespace disconnect"
        assert rooms_when_disconnecting.pop() == {c.sid, "room"}

        c, _ = await connected()
        await c.drop()
        await settle()
        assert reasons.pop() == "transport close"

        c, s = await connected()
        s.disconnect()
        await settle()
        assert reasons.pop() == "server namespace disconnect"
        assert c.disconnect_reason == "io server disconnect"
        await c.disconnect()

        c, s = await connected()
        s.disconnect(close=True)
        await settle()
        assert reasons.pop() == "server namespace disconnect"
        assert c._peer is not None and c._peer.closed

        raw = RawClient(sio)
        raw.connect()
        raw.session.on_ws_message(raw.peer, "4abc", raw.runtime.clock())  # not Socket.IO
        await settle()
        assert reasons.pop() == "parse error"
        assert raw.peer.closed

        raw = RawClient(sio)  # never answers pings
        raw.connect()
        await eventually(lambda: bool(reasons), timeout=2)
        assert reasons.pop() == "ping timeout"

        c, _ = await connected()
        sio.close()
        await settle()
        assert reasons.pop() == "server shutting down"
        assert not c.connected
        assert reasons == []

    run(main())


# -- connection state recovery ---------------------------------------------------------------


def _recovery_server(**options: Any) -> tuple[Server, list[tuple[str, bool]], list[str]]:
    sio = Server(connection_state_recovery=options or True)
    connections: list[tuple[str, bool]] = []
    middleware_runs: list[str] = []

    @sio.use
    def count(socket: Socket) -> None:
        middleware_runs.append(socket.id)

    @sio.on("connection")
    def on_connection(socket: Socket) -> None:
        connections.append((socket.id, socket.recovered))

    return sio, connections, middleware_runs


async def _drop_and_miss(sio: Server, c: TestClient) -> Socket:
    """Connect, join a room, get one event, drop; three events are missed."""
    await c.connect()
    s = server_socket(sio, c)
    s.join("news")
    s.data["user"] = "ann"
    sio.to("news").emit("tick", 0)
    (zero, offset) = await c.receive("tick")
    assert zero == 0 and c.offset == offset and isinstance(offset, str)
    await c.drop()
    await settle()
    assert c.sid not in sio.sockets.sockets
    sio.to("news").emit("tick", 1)
    sio.emit("tick", 2)
    sio.to("other").emit("tick", 99)  # not for this client
    sio.volatile.emit("tick", "volatile")  # volatile packets are not kept
    sio.to(c.sid or "").emit("tick", 3)  # what was meant for it alone
    return s


def test_connection_state_recovery_restores_the_session() -> None:
    sio, connections, middleware_runs = _recovery_server(max_disconnection_duration=60)

    async def main() -> None:
        c = TestClient(sio, auth={"token": "t"})
        await _drop_and_miss(sio, c)
        sid, pid = c.sid, c.pid
        assert pid is not None
        await c.connect()
        assert c.recovered and c.sid == sid and c.pid == pid
        s = server_socket(sio, c)
        assert s.recovered
        assert s.rooms == {sid, "news"}
        assert s.data == {"user": "ann"}
        assert s.handshake.auth == {"token": "t"}  # pid and offset are not the app's
        missed = [args[:-1] for args in got(c, "tick")][1:]
        assert missed == [[1], [2], [3]]
        # and they carry offsets, so a second drop recovers from the last one
        assert c.offset == got(c, "tick")[-1][-1]
        assert connections == [(sid, False), (sid, True)]
        assert middleware_runs == [sid]  # skip_middlewares is on by default
        # the restored rooms work for broadcasts
        sio.to("news").emit("tick", 4)
        assert got(c, "tick")[-1][:-1] == [4]

    run(main())


def test_connection_state_recovery_runs_middlewares_unless_skipped() -> None:
    sio, _, middleware_runs = _recovery_server(skip_middlewares=False)

    async def main() -> None:
        c = TestClient(sio)
        await _drop_and_miss(sio, c)
        await c.connect()
        assert c.recovered
        assert middleware_runs == [c.sid, c.sid]

    run(main())


def test_connection_state_recovery_expired_session() -> None:
    sio, connections, _ = _recovery_server(max_disconnection_duration=0.05)

    async def main() -> None:
        c = TestClient(sio)
        await _drop_and_miss(sio, c)
        old_sid, old_pid = c.sid, c.pid
        await asyncio.sleep(0.1)
        await c.connect()
        assert not c.recovered and c.sid != old_sid and c.pid not in (None, old_pid)
        s = server_socket(sio, c)
        assert not s.recovered and s.rooms == {c.sid} and s.data == {}
        assert len(got(c, "tick")) == 1  # nothing replayed
        assert connections[-1] == (c.sid, False)

    run(main())


@pytest.mark.parametrize("case", ["unknown-offset", "unknown-pid", "client-disconnect"])
def test_connection_state_recovery_fresh_session(case: str) -> None:
    sio, _, _ = _recovery_server()

    async def main() -> None:
        c = TestClient(sio)
        if case == "client-disconnect":
            await c.connect()
            sio.emit("tick", 0)
            await c.receive("tick")
            await c.disconnect()  # a deliberate disconnect is not recoverable
        else:
            await _drop_and_miss(sio, c)
            if case == "unknown-offset":
                c.offset = "bogus"
            else:
                c.pid = "bogus"
        old_sid = c.sid
        await c.connect()
        assert not c.recovered and c.sid != old_sid
        assert not server_socket(sio, c).recovered
        assert len(got(c, "tick")) == 1

    run(main())


def test_connection_state_recovery_off_ignores_pid() -> None:
    sio = Server()

    async def main() -> None:
        async with TestClient(sio) as c:
            assert c.pid is None
            sio.emit("tick", 1)
            assert await c.receive("tick") == [1]  # no offset appended
        c = TestClient(sio, auth={"pid": "x", "offset": "y"})
        await c.connect()
        assert server_socket(sio, c).handshake.auth == {"pid": "x", "offset": "y"}
        await c.disconnect()

    run(main())


# -- slow consumers ------------------------------------------------------------------------


def test_slow_consumer_loses_volatile_packets_then_the_connection() -> None:
    sio = Server(max_buffered_bytes=10_000, volatile_threshold=1_000)
    reasons: list[str] = []

    @sio.on("disconnect")
    def on_disconnect(socket: Socket, reason: str) -> None:
        reasons.append(reason)

    async def main() -> None:
        async with TestClient(sio) as healthy:
            slow = RawClient(sio)
            slow.connect()
            assert slow.packets()[0].type is PacketType.CONNECT
            (slow_socket,) = [s for s in sio.sockets.sockets.values() if s.id != healthy.sid]

            slow.peer.reading = False  # from here on, what it is sent stays buffered
            sio.volatile.emit("v", 1)  # under both limits
            sio.emit("n", "x" * 2_000)  # delivered; now over the volatile threshold
            sio.volatile.emit("v", 2)
            slow_socket.volatile.emit("v", 3)
            sio.emit("n", 2)
            slow_socket.emit("n", 3)
            assert not slow.peer.closed
            assert 1_000 < slow.peer.buffered < 10_000
            sio.emit("n", "y" * 9_000)  # delivered: it was under max_buffered_bytes before
            assert not slow.peer.closed
            assert slow.peer.buffered > 10_000
            sio.emit("n", 4)
            await settle()
            assert slow.events() == [
                ["v", 1], ["n", "x" * 2_000], ["n", 2], ["n", 3], ["n", "y" * 9_000]
            ]
            assert slow.peer.closed
            assert slow.session.close_reason == "slow consumer"
            assert reasons == ["slow consumer"]
            # the others are not held back
            assert [e for e in healthy.events if e[0] in ("v", "n")] == [
                ("v", [1]),
                ("n", ["x" * 2_000]),
                ("v", [2]),
                ("n", [2]),
                ("n", ["y" * 9_000]),
                ("n", [4]),
            ]
            assert healthy.connected

    run(main())


# -- encode once --------------------------------------------------------------------------------


def test_broadcast_hands_the_same_packets_to_every_recipient() -> None:
    sio = Server()

    async def main() -> None:
        raws = [RawClient(sio) for _ in range(3)]
        for raw in raws:
            raw.connect()
        marks = [len(raw.peer.sent) for raw in raws]

        def new_packets() -> list[list[Any]]:
            out = [raw.peer.sent[mark:] for raw, mark in zip(raws, marks, strict=True)]
            marks[:] = [len(raw.peer.sent) for raw in raws]
            return out

        sio.emit("news", {"a": 1})
        first, second, third = new_packets()
        assert len(first) == 1
        assert first[0] is second[0] is third[0]
        assert raws[0].events()[-1] == ["news", {"a": 1}]

        sio.emit("binary", b"\x01\x02", {"b": b"\x03"})  # a text part and two attachments
        first, second, third = new_packets()
        assert len(first) == 3
        for i in range(3):
            assert first[i] is second[i] is third[i]
        assert raws[2].events()[-1] == ["binary", b"\x01\x02", {"b": b"\x03"}]

        # rooms and socket broadcasts too; direct emits are per socket
        sockets = list(sio.sockets.sockets.values())
        sockets[0].join("r")
        sockets[1].join("r")
        sockets[2].to("r").emit("room")
        first, second, third = new_packets()
        assert len(first) == len(second) == 1 and third == []
        assert first[0] is second[0]
        sockets[0].emit("direct")
        assert [len(p) for p in new_packets()] == [1, 0, 0]

    run(main())


# -- the handshake ---------------------------------------------------------------------------


def test_handshake_fields() -> None:
    sio = Server()
    seen: list[Any] = []

    @sio.on("connect", namespace="/h")
    def on_connect(socket: Socket, auth: dict[str, Any]) -> None:
        seen.append(socket.handshake)

    async def main() -> None:
        before = time.time()
        async with TestClient(
            sio,
            "/h",
            auth={"token": "t"},
            headers={"X-Custom": "yes", "User-Agent": "pytest"},
            query="room=lobby&lang=fr",
        ):
            pass
        after = time.time()
        async with TestClient(sio, "/h"):
            pass
        (h, bare) = seen
        assert h.headers["x-custom"] == "yes" and h.headers["user-agent"] == "pytest"
        assert h.query == {"EIO": "4", "transport": "websocket", "room": "lobby", "lang": "fr"}
        assert h.auth == {"token": "t"}
        assert bare.auth == {}
        assert h.address == "127.0.0.1"
        assert h.secure is False
        assert h.xdomain is False  # no Origin header
        assert h.url == "/socket.io/?EIO=4&transport=websocket&room=lobby&lang=fr"
        assert h.time.endswith("GMT")
        stamp = email.utils.parsedate_to_datetime(h.time).timestamp()
        assert before - 1 <= stamp <= after + 1
        assert isinstance(h.issued, int)
        assert before * 1000 - 1 <= h.issued <= after * 1000 + 1

    run(main())


def test_connect_handler_may_take_only_the_socket() -> None:
    sio = Server()
    seen: list[str] = []

    @sio.on("connect")
    def connect(socket: Socket) -> None:
        seen.append(socket.id)

    async def main() -> None:
        async with TestClient(sio) as c:
            assert seen == [c.sid]

    run(main())


def test_recovery_keeps_broadcasts_made_while_an_async_on_connect_runs() -> None:
    sio = Server(connection_state_recovery={"max_disconnection_duration": 60})
    entered = asyncio.Event()
    release = asyncio.Event()

    class Slow(Namespace):
        async def on_connect(self, auth: dict[str, Any]) -> None:
            self.join("news")
            if self.recovered:
                entered.set()
                await release.wait()

    sio.register("/slow", Slow)

    async def main() -> None:
        c = TestClient(sio, "/slow")
        await c.connect()
        sio.of("/slow").to("news").emit("tick", 0)
        await c.receive("tick")
        await c.drop()
        sio.of("/slow").to("news").emit("tick", 1)  # missed while away
        reconnect = asyncio.ensure_future(c.connect())
        await entered.wait()
        sio.of("/slow").to("news").emit("tick", 2)  # while on_connect awaits
        release.set()
        await reconnect
        assert c.recovered
        await c.receive("tick")
        await c.receive("tick")
        assert [args[0] for name, args in c.events if name == "tick"] == [0, 1, 2]

    run(main())
