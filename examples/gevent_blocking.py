"""Blocking handlers under gevent: each runs in its own greenlet.

    hubbub run --runtime gevent --monkey-patch examples.gevent_blocking:sio [--port 8000]

With the standard library monkey-patched, ``time.sleep`` and a Redis call
through redis-py block only the greenlet of the handler that made them, and
``socket.call()`` waits for the client's answer the same way: every other
client keeps being served.

Events (the ack answers): ``echo(*args)``; ``nap(seconds)``: time.sleep;
``redis_wait(url, seconds)``: a BLPOP on an empty list that times out;
``ask(value)``: asks the client 'question'(value) and acks its answer.
"""

from __future__ import annotations

import time
from typing import Any

import redis

import hubbub

sio = hubbub.Server(cors_allowed_origins="*")


@sio.on("echo")
def echo(socket: hubbub.Socket, *args: Any) -> tuple[Any, ...]:
    return args


@sio.on("nap")
def nap(socket: hubbub.Socket, seconds: float) -> float:
    start = time.monotonic()
    time.sleep(seconds)  # blocks this greenlet only (monkey-patched)
    return time.monotonic() - start


@sio.on("redis_wait")
def redis_wait(socket: hubbub.Socket, url: str, seconds: int) -> Any:
    client = redis.Redis.from_url(url)
    try:
        return client.blpop(["hubbub:nothing-comes"], timeout=seconds)  # None after the timeout
    finally:
        client.close()


@sio.on("ask")
def ask(socket: hubbub.Socket, value: Any) -> Any:
    return socket.call("question", value, timeout=10)  # waits in this greenlet
