"""The python-socketio 5 server the hubbub client's interop tests talk to:

    python tests/interop/client_peer_psio.py --port P [--serializer msgpack]

The events of ``tests/js/client_peer4.js`` (see its header) on
python-socketio's AsyncServer under uvicorn; python-socketio has no
connection state recovery ('drop' closes the transport all the same).
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

import socketio  # type: ignore[import-untyped, unused-ignore]
import uvicorn


def build(serializer: str) -> Any:
    sio = socketio.AsyncServer(
        async_mode="asgi", ping_interval=1, ping_timeout=1,
        serializer="msgpack" if serializer == "msgpack" else "default",
    )
    tasks: set[Any] = set()

    for nsp in ("/", "/chat"):
        def handlers(nsp: str) -> None:
            @sio.on("connect", namespace=nsp)
            async def connect(sid: str, environ: Any, auth: Any) -> None:
                if isinstance(auth, dict) and auth.get("token") == "bad":
                    raise socketio.exceptions.ConnectionRefusedError(
                        "unauthorized", {"code": 4001}
                    )
                welcome = {"auth": auth, "nsp": nsp, "header": environ.get("HTTP_X_CLIENT_TEST")}
                await sio.emit("welcome", welcome, to=sid, namespace=nsp)

            @sio.on("echo", namespace=nsp)
            async def echo(sid: str, *args: Any) -> Any:
                return args

            @sio.on("ask", namespace=nsp)
            async def ask(sid: str, value: Any) -> Any:
                try:
                    answer = await sio.call("question", value, to=sid, namespace=nsp, timeout=5)
                except socketio.exceptions.TimeoutError:
                    return {"timeout": True}
                return {"answer": list(answer) if isinstance(answer, tuple) else [answer]}

            @sio.on("push_binary", namespace=nsp)
            async def push_binary(sid: str) -> None:
                await sio.emit("binary", (b"\x01\x02\x03", {"nested": b"\xff\x00"}), to=sid,
                               namespace=nsp)

            @sio.on("start_ticker", namespace=nsp)
            async def start_ticker(sid: str, count: int, seconds: float) -> None:
                async def tick() -> None:
                    for i in range(count):
                        await asyncio.sleep(seconds)
                        await sio.emit("tick", i, to=sid, namespace=nsp)

                task = asyncio.get_running_loop().create_task(tick())
                tasks.add(task)
                task.add_done_callback(tasks.discard)

            @sio.on("drop", namespace=nsp)
            async def drop(sid: str) -> None:
                await sio.eio.disconnect(sio.manager.eio_sid_from_sid(sid, nsp))

            @sio.on("kick", namespace=nsp)
            async def kick(sid: str) -> None:
                await sio.disconnect(sid, namespace=nsp)

        handlers(nsp)
    return sio


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--serializer", choices=["default", "msgpack"], default="default")
    args = parser.parse_args()
    app = socketio.ASGIApp(build(args.serializer))
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
