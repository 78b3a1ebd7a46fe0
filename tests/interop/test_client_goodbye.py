"""How a session ends, as the server sees it, with hubbub's clients over
real sockets to hubbub on its three runtimes (embedded, uvicorn, gevent):
``disconnect()`` right after an emit still delivers the emit and then the
DISCONNECT (the server's reason is "client namespace disconnect", not a
lost transport), on long-polling (where a POST may be in flight) and on
the websocket; and a finished client keeps no connection open.
"""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

import hubbub
from conftest import ServerThread, free_port  # noqa: F401 - free_port for ServerThread users

pytestmark = pytest.mark.timeout(60)


def _server() -> tuple[hubbub.Server, list[tuple[str, Any]]]:
    sio = hubbub.Server()
    seen: list[tuple[str, Any]] = []
    lock = threading.Lock()

    def note(socket: hubbub.Socket, *args: Any) -> None:
        with lock:
            seen.append(("note", args))

    def disconnect(socket: hubbub.Socket, reason: str) -> None:
        with lock:
            seen.append(("disconnect", (socket.namespace, reason)))

    for nsp in ("/", "/chat"):
        sio.on("note", note, namespace=nsp)
        sio.on("disconnect", disconnect, namespace=nsp)
    return sio, seen


def _until(condition: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


@pytest.mark.parametrize("transport", ["polling", "websocket"])
@pytest.mark.parametrize("mode", ["async", "threads"])
def test_disconnect_after_emits_is_a_goodbye(runtime: str, mode: str, transport: str) -> None:
    sio, seen = _server()
    with ServerThread(sio, uvicorn=runtime == "uvicorn", gevent=runtime == "gevent") as server:
        kwargs: dict[str, Any] = {"transports": [transport], "namespaces": ["/", "/chat"]}
        if mode == "async":
            async def main() -> None:
                client = hubbub.AsyncClient()
                await client.connect(server.url, **kwargs)
                for i in range(5):
                    await client.emit("note", i, namespace="/chat")
                await client.disconnect()

            asyncio.run(asyncio.wait_for(main(), 20))
        else:
            client = hubbub.Client()
            client.connect(server.url, **kwargs)
            for i in range(5):
                client.emit("note", i, namespace="/chat")
            client.disconnect()
        _until(lambda: sum(kind == "disconnect" for kind, _ in seen) == 2)
    notes = [args for kind, args in seen if kind == "note"]
    assert notes == [(i,) for i in range(5)], seen
    reasons = sorted(args for kind, args in seen if kind == "disconnect")
    assert reasons == [("/", "client namespace disconnect"),
                       ("/chat", "client namespace disconnect")], seen
