"""The hubbub server the Python client's interop tests talk to:

    python tests/interop/client_peer_hubbub.py --port P [--asgi | --runtime gevent]
        [--serializer msgpack]

The events of ``tests/js/client_peer4.js`` (see its header), with
connection state recovery on.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import hubbub


def build(runtime: str, serializer: str) -> hubbub.Server:
    sio = hubbub.Server(
        serializer=serializer,
        ping_interval=1.0,
        ping_timeout=1.0,
        connection_state_recovery={"max_disconnection_duration": 30, "skip_middlewares": True},
    )

    def check(socket: hubbub.Socket, auth: Any) -> None:
        if isinstance(auth, dict) and auth.get("token") == "bad":
            raise hubbub.ConnectionRefusedError("unauthorized", {"code": 4001})
        if not socket.recovered:
            header = socket.handshake.headers.get("x-client-test")
            socket.emit("welcome", {"auth": auth, "nsp": socket.namespace, "header": header})

    def echo(socket: hubbub.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    def push_binary(socket: hubbub.Socket) -> None:
        socket.emit("binary", b"\x01\x02\x03", {"nested": b"\xff\x00"})

    def drop(socket: hubbub.Socket) -> None:
        socket.conn.close("forced server close", sio.scheduler.clock())

    def kick(socket: hubbub.Socket) -> None:
        socket.disconnect()

    if runtime == "gevent":
        import gevent

        def ask(socket: hubbub.Socket, value: Any) -> Any:
            try:
                answer = socket.call("question", value, timeout=5)
            except hubbub.AckTimeoutError:
                return {"timeout": True}
            return {"answer": list(answer) if isinstance(answer, tuple) else [answer]}

        def start_ticker(socket: hubbub.Socket, count: int, seconds: float) -> None:
            nsp = socket.namespace

            def tick() -> None:
                for i in range(count):
                    gevent.sleep(seconds)
                    sio.emit("tick", i, namespace=nsp)

            gevent.spawn(tick)
    else:
        import asyncio

        tasks: set[Any] = set()

        async def ask(socket: hubbub.Socket, value: Any) -> Any:  # type: ignore[misc]
            try:
                answer = await socket.call("question", value, timeout=5)
            except hubbub.AckTimeoutError:
                return {"timeout": True}
            return {"answer": list(answer) if isinstance(answer, tuple) else [answer]}

        def start_ticker(socket: hubbub.Socket, count: int, seconds: float) -> None:
            nsp = socket.namespace

            async def tick() -> None:
                for i in range(count):
                    await asyncio.sleep(seconds)
                    sio.emit("tick", i, namespace=nsp)

            task = asyncio.get_running_loop().create_task(tick())
            tasks.add(task)
            task.add_done_callback(tasks.discard)

    for nsp in ("/", "/chat"):
        sio.on("connect", check, namespace=nsp)
        for name, fn in [("echo", echo), ("ask", ask), ("push_binary", push_binary),
                         ("start_ticker", start_ticker), ("drop", drop), ("kick", kick)]:
            sio.on(name, fn, namespace=nsp)
    return sio


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--asgi", action="store_true")
    parser.add_argument("--runtime", choices=["asyncio", "gevent"], default="asyncio")
    parser.add_argument("--serializer", choices=["default", "msgpack"], default="default")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    sio = build(args.runtime, args.serializer)
    if args.runtime == "gevent":
        hubbub.run(sio, args.host, args.port, runtime="gevent")
    elif args.asgi:
        import uvicorn

        uvicorn.run(hubbub.ASGIApp(sio), host=args.host, port=args.port, log_level="warning")
    else:
        hubbub.run(sio, args.host, args.port)


if __name__ == "__main__":
    main()
