"""The benchmark app on python-socketio 5.x (ASGI, served by uvicorn):

    python -m uvicorn benchmarks.servers.psio_app:app --port P

Same events as hubbub_app: 'echo' answered by ack, 'join', 'fanout', 'chat'. Runs in
the peers venv (benchmarks/.venv-peers), never in hubbub's.
"""

from __future__ import annotations

import os

import socketio  # type: ignore[import-not-found, import-untyped, unused-ignore]

PAYLOAD = "x" * 100

sio = socketio.AsyncServer(
    async_mode="asgi",
    cors_allowed_origins="*",
    ping_interval=float(os.environ.get("BENCH_PING_INTERVAL", "25")),
    ping_timeout=float(os.environ.get("BENCH_PING_TIMEOUT", "20")),
)


@sio.on("echo")  # type: ignore[misc, untyped-decorator, unused-ignore]
async def echo(sid: str, data: str) -> str:
    return data


@sio.on("join")  # type: ignore[misc, untyped-decorator, unused-ignore]
async def join(sid: str, room: str) -> str:
    await sio.enter_room(sid, room)
    return "ok"


@sio.on("fanout")  # type: ignore[misc, untyped-decorator, unused-ignore]
async def fanout(sid: str, room: str, count: int) -> None:
    for _ in range(count):
        await sio.emit("msg", PAYLOAD, room=room)


@sio.on("chat")  # type: ignore[misc, untyped-decorator, unused-ignore]
async def chat(sid: str, room: str, text: str) -> None:
    await sio.emit("msg", text, room=room)


app = socketio.ASGIApp(sio)
