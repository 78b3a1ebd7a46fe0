"""The benchmark app on hubbub: 'echo' answered by ack, 'join' a room,
'fanout' that broadcasts a 100-byte event to a room ``count`` times, and
'chat' that broadcasts the text it gets to the room (many senders).

One module serves every hubbub runtime the harness measures:

    python -m hubbub run benchmarks.servers.hubbub_app:sio --port P        # embedded
    python -m uvicorn benchmarks.servers.hubbub_app:app --port P           # ASGIApp
    python -m hubbub run benchmarks.servers.hubbub_app:sio --runtime gevent --port P

Heartbeat timing comes from the environment (BENCH_PING_INTERVAL and
BENCH_PING_TIMEOUT, in seconds) because the command lines above are the
runtimes' own and take no app options; so does BENCH_COALESCE=0, which turns
coalesce_broadcasts off for a comparison. The harness names the build it
means to measure in BENCH_HUBBUB_BUILD ("pure" or "compiled"), and the server
stops at start if it imported the other one.
"""

from __future__ import annotations

import os

import hubbub
from benchmarks.compiled import check_build

check_build()

PAYLOAD = "x" * 100

sio = hubbub.Server(
    cors_allowed_origins="*",
    ping_interval=float(os.environ.get("BENCH_PING_INTERVAL", "25")),
    ping_timeout=float(os.environ.get("BENCH_PING_TIMEOUT", "20")),
    coalesce_broadcasts=os.environ.get("BENCH_COALESCE", "1") != "0",
)


@sio.on("echo")
def echo(socket: hubbub.Socket, data: str) -> str:
    return data


@sio.on("join")
def join(socket: hubbub.Socket, room: str) -> str:
    socket.join(room)
    return "ok"


@sio.on("fanout")
def fanout(socket: hubbub.Socket, room: str, count: int) -> None:
    # the whole room, sender included: every client counts deliveries
    for _ in range(count):
        sio.to(room).emit("msg", PAYLOAD)


@sio.on("chat")
def chat(socket: hubbub.Socket, room: str, text: str) -> None:
    # the whole room, sender included, as 'fanout' does
    sio.to(room).emit("msg", text)


app = hubbub.ASGIApp(sio)
