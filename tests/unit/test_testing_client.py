"""hubbub.testing.TestClient on both runtimes a server runs on: the same
scenario with ``async with`` on asyncio and with plain ``with`` under gevent
(a server on its gevent runtime, as ``WSGIApp`` makes it; the calls that
wait block the greenlet). Connect with auth, a refusal, acks both ways,
events the server pushes, a server-side disconnect, and a dropped
connection recovered with the events it missed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import gevent
import pytest

import hubbub
from hubbub.testing import TestClient


def _server() -> hubbub.Server:
    sio = hubbub.Server(connection_state_recovery={"max_disconnection_duration": 30})

    class Chat(hubbub.Namespace):
        def on_connect(self, auth: Any) -> None:
            if not isinstance(auth, dict) or auth.get("nick") in (None, "mallory"):
                raise hubbub.ConnectionRefusedError("who are you?", {"hint": "nick"})
            self.data["nick"] = auth["nick"]
            self.join("room")

        def on_say(self, text: str) -> str:
            self.to("room").emit("said", self.data["nick"], text)
            return "ok"

        def on_kick_me(self) -> None:
            self.disconnect()

    sio.register("/chat", Chat)
    return sio


class Steps:
    """The scenario, written once: ``step(x)`` awaits x on asyncio and
    returns x as it is under gevent (where the call already blocked)."""

    def __init__(self, on_asyncio: bool) -> None:
        self.on_asyncio = on_asyncio

    async def __call__(self, value: Any) -> Any:
        return await value if self.on_asyncio else value


async def scenario(sio: hubbub.Server, step: Steps) -> None:
    refused = TestClient(sio, "/chat", auth={"nick": "mallory"})
    with pytest.raises(hubbub.ConnectionRefusedError) as info:
        await step(refused.connect())
    assert info.value.data == {"hint": "nick"}

    ann = TestClient(sio, "/chat", auth={"nick": "ann"})
    bob = TestClient(sio, "/chat", auth={"nick": "bob"})
    await step(ann.connect())
    await step(bob.connect())
    assert ann.sid and ann.sid != bob.sid
    assert await step(ann.call("say", "hi")) == "ok"
    assert await step(bob.receive("said")) == ["ann", "hi", bob.offset]

    # the server asks the client, which answers through its handler
    bob.on("question", lambda n: n + 1)
    server_bob = sio.of("/chat").sockets[bob.sid]
    answer = server_bob.call("question", 41, timeout=2)
    assert await step(answer) == 42

    # a dropped connection comes back recovered, with what it missed
    await step(bob.drop())
    assert await step(ann.call("say", "while you were away")) == "ok"
    await step(bob.connect())
    assert bob.recovered
    assert (await step(bob.receive("said")))[:2] == ["ann", "while you were away"]

    await step(bob.emit("kick_me"))
    for _ in range(100):
        if bob.disconnect_reason is not None:
            break
        await step(bob.driver.sleep(0.01))
    assert bob.disconnect_reason == "io server disconnect" and not bob.connected
    await step(ann.disconnect())
    assert sio.of("/chat").sockets == {}


def test_test_client_on_asyncio() -> None:
    sio = _server()
    asyncio.run(asyncio.wait_for(scenario(sio, Steps(on_asyncio=True)), 20))


def test_test_client_under_gevent() -> None:
    sio = _server()
    hubbub.WSGIApp(sio)  # the server runs on gevent, as under a WSGI server
    coro = scenario(sio, Steps(on_asyncio=False))

    def run() -> None:
        try:
            coro.send(None)  # every await is on a finished value: it never suspends
        except StopIteration:
            return
        raise AssertionError("the gevent scenario suspended")

    with gevent.Timeout(20):
        gevent.spawn(run).get()


def test_test_client_with_blocks_under_gevent() -> None:
    sio = _server()
    hubbub.WSGIApp(sio)

    def run() -> list[Any]:
        with TestClient(sio, "/chat", auth={"nick": "ann"}) as ann, \
                TestClient(sio, "/chat", auth={"nick": "bob"}) as bob:
            assert ann.call("say", "hello") == "ok"
            return list(bob.receive("said"))

    with gevent.Timeout(20):
        said = gevent.spawn(run).get()
    assert said[:2] == ["ann", "hello"]
