"""The Socket.IO server the socket.io-client interop tests drive.

    python tests/interop/sio_app.py [--host 127.0.0.1] [--port 3000] [--asgi]
        [--serializer default|msgpack] [--recovery]
        [--ping-interval 1.0] [--ping-timeout 1.0]

Three kinds of namespaces, all serving the same events:

* ``/``: a :class:`hubbub.Namespace` class for connect/disconnect plus
  decorator handlers (``@sio.on("echo")``) for the events;
* ``/chat``: a static namespace served by a Namespace class only (its
  ``on_connect`` is async);
* ``/dyn-<word>``: a dynamic namespace (regex) with decorator handlers on
  the parent.

Connecting with ``auth={"token": "bad"}`` (or ``?token=bad`` in the query,
for clients 2.x) is refused with ConnectionRefusedError("unauthorized",
{"code": 4001, ...}). Every accepted socket gets a 'welcome' event with its
sid, namespace, auth, query and whether it was recovered. The disconnect
reason of every socket is kept and answered by 'disconnect_reason' (sid).

Events (the ack answers with the return value):

* ``echo(*args)``: acks its arguments; ``describe(*args)``: acks them with
  bytes replaced by ``{"$bytes": hex}`` (what the server received);
* ``join(room)``, ``leave(room)``: ack the socket's rooms (without its own);
* ``to_room(room, payload)``: 'room_message'(payload, sender sid) to the
  room except the sender; ``to_all(room, payload)``: to the room, sender
  included;
* ``ask(mode, value, timeout)``: asks the client 'question'(value) with an
  ack, by ``socket.call`` (mode "call") or ``socket.timeout(t).emit`` (mode
  "timeout_emit"); acks {"answer": [...]} or {"timeout": true};
* ``slow(seconds)``: acks "late" after sleeping;
* ``poll_room(room, mode, timeout)``: a broadcast with acks,
  'poll'(room) to the room with ``timeout(t)``; mode "call" awaits
  ``.call`` (every answer or a timeout), mode "emit" uses the callback and
  acks {"timeout": bool, "responses": [...]} either way;
* ``push_binary()``: emits 'binary' with bytes at the top level and nested;
* ``kick_me()``: the server disconnects the socket (``socket.disconnect()``);
* ``start_ticker(room, count, interval)``: joins the room, then a
  background task broadcasts 'tick'(i) to it every ``interval`` seconds and
  'tick_done'(count) at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
from typing import Any

import hubbub

log = logging.getLogger("sio_app")

DISCONNECTS: dict[str, str] = {}  # sid -> the server's disconnect reason
TASKS: set[asyncio.Task[None]] = set()  # background tasks, kept referenced


def describe(value: Any) -> Any:
    """``value`` as JSON, bytes marked as such."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, dict):
        return {k: describe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [describe(v) for v in value]
    return value


def check_auth(auth: Any, query: dict[str, str]) -> None:
    token = auth.get("token") if isinstance(auth, dict) else None
    token = token or query.get("token")
    if token == "bad":
        raise hubbub.ConnectionRefusedError(
            "unauthorized", {"code": 4001, "reason": "bad token", "token": token}
        )


def welcome(socket: hubbub.Socket) -> None:
    socket.emit(
        "welcome",
        {
            "sid": socket.id,
            "nsp": socket.namespace,
            "auth": socket.handshake.auth,
            "query": socket.handshake.query,
            "recovered": socket.recovered,
        },
    )


def gevent_waiting_handlers() -> tuple[Any, Any, Any, Any]:
    """ask, slow, poll_room and start_ticker for the gevent runtime: plain
    functions; socket.call() and friends block only their own greenlet."""
    import gevent
    import gevent.event

    def ask(socket: hubbub.Socket, mode: str, value: Any, timeout: float) -> Any:
        if mode == "call":
            try:
                answer = socket.call("question", value, timeout=timeout)
            except hubbub.AckTimeoutError as exc:
                return {"timeout": True, "error": str(exc)}
            if answer is None:
                return {"answer": []}
            return {"answer": list(answer) if isinstance(answer, tuple) else [answer]}
        result = gevent.event.AsyncResult()

        def callback(err: Exception | None, *values: Any) -> None:
            if not result.ready():
                answer = {"answer": list(values)}
                result.set({"timeout": True, "error": str(err)} if err else answer)

        socket.timeout(timeout).emit("question", value, callback=callback)
        return result.get()

    def slow(socket: hubbub.Socket, seconds: float) -> str:
        gevent.sleep(seconds)
        return "late"

    def poll_room(socket: hubbub.Socket, room: str, mode: str, timeout: float) -> Any:
        operator = socket.nsp.to(room).timeout(timeout)
        if mode == "call":
            try:
                responses = operator.call("poll", room)
            except hubbub.AckTimeoutError:
                return {"timeout": True, "responses": None}
            return {"timeout": False, "responses": responses}
        result = gevent.event.AsyncResult()

        def callback(err: Exception | None, responses: list[Any]) -> None:
            if not result.ready():
                result.set({"timeout": err is not None, "responses": responses})

        operator.emit("poll", room, callback=callback)
        return result.get()

    def start_ticker(socket: hubbub.Socket, room: str, count: int, interval: float) -> bool:
        socket.join(room)
        target = socket.nsp.to(room)

        def tick() -> None:
            for i in range(count):
                target.emit("tick", i)
                gevent.sleep(interval)
            target.emit("tick_done", count)

        gevent.spawn(tick)
        return True

    return ask, slow, poll_room, start_ticker


def build(
    serializer: str = "default",
    recovery: bool = False,
    ping_interval: float = 1.0,
    ping_timeout: float = 1.0,
    runtime: str = "asyncio",
) -> hubbub.Server:
    sio = hubbub.Server(
        serializer=serializer,
        connection_state_recovery={"max_disconnection_duration": 30.0} if recovery else None,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        cors_allowed_origins="*",
    )

    # -- the shared event handlers: handler(socket, *args) ---------------------------

    def echo(socket: hubbub.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    def describe_args(socket: hubbub.Socket, *args: Any) -> list[Any]:
        return [describe(a) for a in args]

    def join(socket: hubbub.Socket, room: str) -> list[str]:
        socket.join(room)
        return sorted(r for r in socket.rooms if r != socket.id)

    def leave(socket: hubbub.Socket, room: str) -> list[str]:
        socket.leave(room)
        return sorted(r for r in socket.rooms if r != socket.id)

    def to_room(socket: hubbub.Socket, room: str, payload: Any) -> bool:
        socket.to(room).emit("room_message", payload, socket.id)
        return True

    def to_all(socket: hubbub.Socket, room: str, payload: Any) -> bool:
        socket.nsp.to(room).emit("room_message", payload, socket.id)
        return True

    async def ask(socket: hubbub.Socket, mode: str, value: Any, timeout: float) -> Any:
        if mode == "call":
            try:
                answer = await socket.call("question", value, timeout=timeout)
            except hubbub.AckTimeoutError as exc:
                return {"timeout": True, "error": str(exc)}
            if answer is None:
                return {"answer": []}
            return {"answer": list(answer) if isinstance(answer, tuple) else [answer]}
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def callback(err: Exception | None, *values: Any) -> None:
            if not future.done():
                future.set_result(
                    {"timeout": True, "error": str(err)} if err else {"answer": list(values)}
                )

        socket.timeout(timeout).emit("question", value, callback=callback)
        return await future

    async def slow(socket: hubbub.Socket, seconds: float) -> str:
        await asyncio.sleep(seconds)
        return "late"

    async def poll_room(socket: hubbub.Socket, room: str, mode: str, timeout: float) -> Any:
        operator = socket.nsp.to(room).timeout(timeout)
        if mode == "call":
            try:
                responses = await operator.call("poll", room)
            except hubbub.AckTimeoutError:
                return {"timeout": True, "responses": None}
            return {"timeout": False, "responses": responses}
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def callback(err: Exception | None, responses: list[Any]) -> None:
            if not future.done():
                future.set_result({"timeout": err is not None, "responses": responses})

        operator.emit("poll", room, callback=callback)
        return await future

    def push_binary(socket: hubbub.Socket) -> bool:
        socket.emit(
            "binary",
            b"\x00\x01\x02\xfe\xff",
            {"nested": b"nested bytes", "list": [b"", 1, "text"], "plain": "no bytes"},
        )
        return True

    def kick_me(socket: hubbub.Socket) -> None:
        socket.disconnect()

    def disconnect_reason(socket: hubbub.Socket, sid: str) -> str | None:
        return DISCONNECTS.get(sid)

    async def start_ticker(socket: hubbub.Socket, room: str, count: int, interval: float) -> bool:
        socket.join(room)
        target = socket.nsp.to(room)

        async def tick() -> None:
            try:
                for i in range(count):
                    log.debug("tick %d to %s", i, room)
                    target.emit("tick", i)
                    await asyncio.sleep(interval)
                target.emit("tick_done", count)
            except Exception:
                log.exception("the ticker failed")
                raise

        task = asyncio.create_task(tick())
        TASKS.add(task)
        task.add_done_callback(TASKS.discard)
        return True

    if runtime == "gevent":
        # the same four behaviours as plain functions that block their greenlet
        ask, slow, poll_room, start_ticker = gevent_waiting_handlers()  # type: ignore[assignment]

    handlers: dict[str, Any] = {
        "echo": echo,
        "describe": describe_args,
        "join": join,
        "leave": leave,
        "to_room": to_room,
        "to_all": to_all,
        "ask": ask,
        "slow": slow,
        "poll_room": poll_room,
        "push_binary": push_binary,
        "kick_me": kick_me,
        "disconnect_reason": disconnect_reason,
        "start_ticker": start_ticker,
    }

    # -- "/": a Namespace class for the lifecycle, decorators for the events ------------

    class Main(hubbub.Namespace):
        def on_connect(self, auth: dict[str, Any]) -> None:
            check_auth(auth, self.handshake.query)
            self.socket.data["auth"] = auth
            welcome(self.socket)  # queued until the client is told it is connected

        def on_disconnect(self, reason: str) -> None:
            DISCONNECTS[self.sid] = reason

    sio.register("/", Main)

    @sio.on("echo")
    def main_echo(socket: hubbub.Socket, *args: Any) -> tuple[Any, ...]:
        return echo(socket, *args)

    for event, fn in handlers.items():
        if event != "echo":
            sio.on(event, fn)

    # -- "/chat": a static namespace, a Namespace class only ---------------------------

    class Chat(hubbub.Namespace):
        def on_disconnect(self, reason: str) -> None:
            DISCONNECTS[self.sid] = reason

        def on_echo(self, *args: Any) -> tuple[Any, ...]:
            return echo(self.socket, *args)

        def on_describe(self, *args: Any) -> list[Any]:
            return describe_args(self.socket, *args)

        def on_join(self, room: str) -> list[str]:
            return join(self.socket, room)

        def on_leave(self, room: str) -> list[str]:
            return leave(self.socket, room)

        def on_to_room(self, room: str, payload: Any) -> bool:
            return to_room(self.socket, room, payload)

        def on_to_all(self, room: str, payload: Any) -> bool:
            return to_all(self.socket, room, payload)

        def on_push_binary(self) -> bool:
            return push_binary(self.socket)

        def on_kick_me(self) -> None:
            kick_me(self.socket)

        def on_disconnect_reason(self, sid: str) -> str | None:
            return disconnect_reason(self.socket, sid)

    if runtime == "gevent":

        class GeventChat(Chat):
            def on_connect(self, auth: dict[str, Any]) -> None:
                check_auth(auth, self.handshake.query)
                welcome(self.socket)

            def on_ask(self, mode: str, value: Any, timeout: float) -> Any:
                return ask(self.socket, mode, value, timeout)

            def on_slow(self, seconds: float) -> str:
                return slow(self.socket, seconds)  # type: ignore[no-any-return]

            def on_poll_room(self, room: str, mode: str, timeout: float) -> Any:
                return poll_room(self.socket, room, mode, timeout)

            def on_start_ticker(self, room: str, count: int, interval: float) -> bool:
                return start_ticker(self.socket, room, count, interval)  # type: ignore[no-any-return]

        sio.register("/chat", GeventChat)
    else:

        class AsyncChat(Chat):
            async def on_connect(self, auth: dict[str, Any]) -> None:
                await asyncio.sleep(0)  # an async connect handler (hubbub awaits it)
                check_auth(auth, self.handshake.query)
                welcome(self.socket)

            async def on_ask(self, mode: str, value: Any, timeout: float) -> Any:
                return await ask(self.socket, mode, value, timeout)

            async def on_slow(self, seconds: float) -> str:
                return await slow(self.socket, seconds)

            async def on_poll_room(self, room: str, mode: str, timeout: float) -> Any:
                return await poll_room(self.socket, room, mode, timeout)

            async def on_start_ticker(self, room: str, count: int, interval: float) -> bool:
                return await start_ticker(self.socket, room, count, interval)

        sio.register("/chat", AsyncChat)


    # -- "/dyn-<word>": a dynamic namespace, decorator handlers on the parent --------------

    dyn = sio.of(re.compile(r"^/dyn-[a-z0-9]+$"))

    @dyn.on("connect")
    def dyn_connect(socket: hubbub.Socket, auth: dict[str, Any]) -> None:
        check_auth(auth, socket.handshake.query)

    @dyn.on("connection")
    def dyn_connection(socket: hubbub.Socket) -> None:
        welcome(socket)

    @dyn.on("disconnect")
    def dyn_disconnect(socket: hubbub.Socket, reason: str) -> None:
        DISCONNECTS[socket.id] = reason

    for event, fn in handlers.items():
        dyn.on(event, fn)

    return sio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--asgi", action="store_true", help="serve hubbub.ASGIApp on uvicorn")
    parser.add_argument("--runtime", choices=["asyncio", "gevent"], default="asyncio")
    parser.add_argument("--serializer", choices=["default", "msgpack"], default="default")
    parser.add_argument("--recovery", action="store_true", help="connection state recovery")
    parser.add_argument("--ping-interval", type=float, default=1.0)
    parser.add_argument("--ping-timeout", type=float, default=1.0)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sio = build(
        args.serializer, args.recovery, args.ping_interval, args.ping_timeout, args.runtime
    )
    if args.runtime == "gevent":
        hubbub.run(sio, args.host, args.port, runtime="gevent")
    elif args.asgi:
        import uvicorn

        uvicorn.run(hubbub.ASGIApp(sio), host=args.host, port=args.port, log_level="warning")
    else:
        hubbub.run(sio, args.host, args.port)


if __name__ == "__main__":
    main()
