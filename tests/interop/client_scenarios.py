"""The hubbub client's interop scenarios, written once for every client.

Each scenario is an ``async def scenario(ctx)``. With ``hubbub.AsyncClient``
it runs on asyncio; with the blocking ``hubbub.Client`` (in threads, or
under gevent in ``client_runner.py``) every call is wrapped in an awaitable
that is already done (:class:`Blocking`), so the same coroutine runs to its
end without a loop (:func:`run_blocking`): the blocking calls really block.

The peers (``PEERS``) are real servers in subprocesses: Node socket.io 4.8
(``tests/js/client_peer4.js``), 2.x (``client_peer2.js``, Engine.IO 3),
0.9.17 (``client_peer09.js``), python-socketio 5 (``client_peer_psio.py``)
and hubbub on its three runtimes (``client_peer_hubbub.py``), all serving
the same events (see client_peer4.js).
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Generator
from pathlib import Path
from typing import Any

import hubbub

ROOT = Path(__file__).resolve().parents[2]
JS = ROOT / "tests" / "js"
HERE = Path(__file__).resolve().parent

# -- peers ------------------------------------------------------------------------------

# kind -> (command for a port, protocol, what it has)
PEERS: dict[str, tuple[Callable[[int], list[str]], int, frozenset[str]]] = {
    "node4": (lambda p: ["node", str(JS / "client_peer4.js"), str(p)], 5,
              frozenset({"binary", "upgrade", "recovery", "data"})),
    "node2": (lambda p: ["node", str(JS / "client_peer2.js"), str(p)], 4,
              frozenset({"binary", "upgrade", "data"})),
    "node09": (lambda p: ["node", str(JS / "client_peer09.js"), str(p)], 1, frozenset()),
    "psio": (lambda p: [sys.executable, str(HERE / "client_peer_psio.py"), "--port", str(p)], 5,
             frozenset({"binary", "upgrade", "data"})),
    "hubbub-embedded": (
        lambda p: [sys.executable, str(HERE / "client_peer_hubbub.py"), "--port", str(p)], 5,
        frozenset({"binary", "upgrade", "recovery", "data"}),
    ),
    "hubbub-uvicorn": (
        lambda p: [sys.executable, str(HERE / "client_peer_hubbub.py"), "--port", str(p),
                   "--asgi"], 5,
        frozenset({"binary", "upgrade", "recovery", "data"}),
    ),
    "hubbub-gevent": (
        lambda p: [sys.executable, str(HERE / "client_peer_hubbub.py"), "--port", str(p),
                   "--runtime", "gevent"], 5,
        frozenset({"binary", "upgrade", "recovery", "data"}),
    ),
    "node4-msgpack": (lambda p: ["node", str(JS / "client_peer4.js"), str(p), "msgpack"], 5,
                      frozenset({"msgpack"})),
    "psio-msgpack": (
        lambda p: [sys.executable, str(HERE / "client_peer_psio.py"), "--port", str(p),
                   "--serializer", "msgpack"], 5, frozenset({"msgpack"}),
    ),
    "hubbub-msgpack": (
        lambda p: [sys.executable, str(HERE / "client_peer_hubbub.py"), "--port", str(p),
                   "--serializer", "msgpack"], 5, frozenset({"msgpack"}),
    ),
}


def _wait_port(port: int, proc: subprocess.Popen[bytes], timeout: float = 20) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"peer exited with {proc.returncode}:\n{out}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"the peer does not listen on {port}")


class Peer:
    """One peer server process on a fixed port; ``restart()`` stops it and
    starts it again on the same port."""

    def __init__(self, kind: str, port: int) -> None:
        self.kind = kind
        self.port = port
        command, self.protocol, self.has = PEERS[kind]
        self.command = command(port)
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(self.command, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        _wait_port(self.port, self.proc)

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stdout:
            proc.stdout.close()

    def restart(self) -> None:
        self.stop()
        self.start()


# -- running one scenario with either client ---------------------------------------------


class Done:
    """An awaitable already done: what a blocking call returned."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, Any]:
        return self.value
        yield  # pragma: no cover - makes this a generator


class Blocking:
    """A blocking hubbub.Client whose calls the scenarios can ``await``."""

    def __init__(self, client: hubbub.Client) -> None:
        self._client = client
        self.unwrapped = client

    WAITING = frozenset({"connect", "disconnect", "emit", "send", "call", "wait", "sleep"})

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._client, name)
        if name not in self.WAITING:
            return value

        def call(*args: Any, **kwargs: Any) -> Done:
            return Done(value(*args, **kwargs))

        return call


def run_blocking(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run a scenario whose awaits are all on :class:`Done`: it never suspends."""
    try:
        coro.send(None)
    except StopIteration as stop:
        return stop.value
    coro.close()
    raise RuntimeError("a blocking scenario awaited something that is not done")


class Context:
    """What a scenario gets: the peer, a client factory, sleeping and waiting."""

    def __init__(self, peer: Peer, blocking: bool) -> None:
        self.peer = peer
        self.blocking = blocking
        self.clients: list[Any] = []

    def client(self, **options: Any) -> Any:
        options.setdefault("reconnection_delay", 0.2)
        options.setdefault("reconnection_delay_max", 0.5)
        options.setdefault("protocol", self.peer.protocol)
        client: Any = hubbub.Client(**options) if self.blocking else hubbub.AsyncClient(**options)
        self.clients.append(client)
        return Blocking(client) if self.blocking else client

    def sleep(self, seconds: float) -> Awaitable[Any]:
        if self.blocking:
            time.sleep(seconds)
            return Done(None)
        return asyncio.sleep(seconds)

    async def until(self, condition: Callable[[], Any], timeout: float = 8.0) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for a condition")
            await self.sleep(0.02)

    async def close(self) -> None:
        for client in self.clients:
            result = client.disconnect()
            if not self.blocking:
                await result


# -- the scenarios ---------------------------------------------------------------------------


def _events(client: Any, *names: str, namespace: str = "/") -> dict[str, list[Any]]:
    got: dict[str, list[Any]] = {name: [] for name in names}
    for name in names:
        client.on(name, lambda *args, n=name: got[n].append(list(args)), namespace=namespace)
    return got


async def connect_auth(ctx: Context) -> None:
    c = ctx.client()
    root = _events(c, "welcome")
    chat = _events(c, "welcome", namespace="/chat")
    await c.connect(ctx.peer.url, auth={"token": "good"}, namespaces=["/", "/chat"],
                    headers={"X-Client-Test": "extra header"})
    assert c.connected and c.sid
    assert c.get_sid("/chat")
    await ctx.until(lambda: root["welcome"] and chat["welcome"])
    for got, nsp in ((root, "/"), (chat, "/chat")):
        welcome = got["welcome"][0][0]
        assert welcome["nsp"] == nsp, welcome
        assert welcome["auth"]["token"] == "good", welcome
        assert welcome["header"] == "extra header", welcome


async def refused(ctx: Context) -> None:
    c = ctx.client(reconnection=False)
    errors: list[Any] = []
    c.on("connect_error", lambda data: errors.append(data))
    try:
        await c.connect(ctx.peer.url, auth={"token": "bad"})
    except hubbub.ClientConnectionError as exc:
        assert "unauthorized" in str(exc), exc
        if "data" in ctx.peer.has:
            assert exc.data == {"code": 4001}, exc.data
    else:
        raise AssertionError("the connection was not refused")
    assert not c.connected
    await ctx.until(lambda: errors)


async def acks(ctx: Context) -> None:
    c = ctx.client()
    # the server's question is answered with what the handler asks the
    # server in turn: a blocking handler blocks the handler thread in call()
    if ctx.blocking:
        client = c.unwrapped

        def question(value: int) -> Any:
            return ("answer", client.call("echo", value * 2))
    else:
        async def question(value: int) -> Any:  # type: ignore[misc]
            return ("answer", await c.call("echo", value * 2))

    c.on("question", question)
    answers: list[Any] = []
    await c.connect(ctx.peer.url)
    assert await c.call("echo", "a", 1, {"b": [True, None]}) == ("a", 1, {"b": [True, None]})
    assert await c.call("echo", "one") == "one"
    await c.emit("echo", "cb", callback=lambda *args: answers.append(args))
    await ctx.until(lambda: answers)
    assert answers == [("cb",)]
    assert await c.call("ask", 21) == {"answer": ["answer", 42]}
    try:
        await c.call("never_answered", timeout=0.3)
    except hubbub.AckTimeoutError:
        pass
    else:
        raise AssertionError("no timeout")


async def binary(ctx: Context) -> None:
    c = ctx.client()
    got = _events(c, "binary")
    await c.connect(ctx.peer.url)
    sent = (b"\x00\x01\xff", {"nested": [b"", b"abc"]})
    assert await c.call("echo", *sent) == sent
    await c.emit("push_binary")
    await ctx.until(lambda: got["binary"])
    assert got["binary"][0] == [b"\x01\x02\x03", {"nested": b"\xff\x00"}]


async def msgpack(ctx: Context) -> None:
    c = ctx.client(serializer="msgpack")
    got = _events(c, "binary")
    await c.connect(ctx.peer.url)
    assert await c.call("echo", "x", b"\x00\x02", {"n": 1.5}) == ("x", b"\x00\x02", {"n": 1.5})
    await c.emit("push_binary")
    await ctx.until(lambda: got["binary"])
    assert got["binary"][0] == [b"\x01\x02\x03", {"nested": b"\xff\x00"}]


async def polling_only(ctx: Context) -> None:
    c = ctx.client()
    await c.connect(ctx.peer.url, transports=["polling"])
    assert await c.call("echo", "p") == "p"
    await ctx.sleep(0.3)
    assert c.transport() in ("polling", "xhr-polling")


async def websocket_only(ctx: Context) -> None:
    c = ctx.client()
    await c.connect(ctx.peer.url, transports=["websocket"])
    assert c.transport() == "websocket"
    assert await c.call("echo", "w") == "w"


async def upgrade(ctx: Context) -> None:
    c = ctx.client()
    await c.connect(ctx.peer.url)
    await ctx.until(lambda: c.transport() == "websocket")
    assert await c.call("echo", "after upgrade") == "after upgrade"


async def restart(ctx: Context) -> None:
    c = ctx.client()
    events: list[Any] = []
    c.on("reconnect", lambda n: events.append(("reconnect", n)))
    c.on("disconnect", lambda reason: events.append(("disconnect", reason)))
    c.on("connect", lambda: events.append(("connect", "/chat")), namespace="/chat")
    await c.connect(ctx.peer.url, namespaces=["/", "/chat"])
    ctx.peer.restart()
    await ctx.until(lambda: any(e[0] == "reconnect" for e in events), timeout=15)
    await ctx.until(lambda: c.get_sid("/chat") is not None)
    assert await c.call("echo", "back", namespace="/chat") == "back"
    connects = [i for i, e in enumerate(events) if e == ("connect", "/chat")]
    lost = [i for i, e in enumerate(events) if e[0] == "disconnect"]
    assert len(connects) == 2 and connects[0] < lost[0] < connects[1], events


async def recovery(ctx: Context) -> None:
    c = ctx.client()
    ticks: list[int] = []
    c.on("tick", lambda i: ticks.append(i))
    reasons: list[str] = []
    c.on("disconnect", lambda reason: reasons.append(reason))
    await c.connect(ctx.peer.url)
    await c.emit("start_ticker", 15, 0.1)
    await ctx.until(lambda: len(ticks) >= 2)
    await c.emit("drop")
    await ctx.until(lambda: reasons)
    await ctx.until(lambda: c.connected)
    await ctx.until(lambda: 14 in ticks)
    assert c.is_recovered(), "the session was not recovered"
    assert ticks == list(range(15)), ticks  # none missed, none twice


async def kick(ctx: Context) -> None:
    c = ctx.client()
    reasons: list[str] = []
    c.on("disconnect", lambda reason: reasons.append(reason))
    # A 0.9 server ends a polling session without a word when no poll is
    # held at that moment (Transport#onForcedDisconnect writes the
    # DISCONNECT only to an open request): the client, Node's 0.9 client
    # too, then sees a lost session and reconnects. Only the websocket
    # always carries the DISCONNECT.
    transports = ["websocket"] if ctx.peer.protocol == 1 else None
    await c.connect(ctx.peer.url, transports=transports)
    await c.emit("kick")
    await c.wait()  # the server ended it: no reconnection to wait for
    await ctx.until(lambda: reasons)
    assert reasons == ["io server disconnect"], reasons
    assert not c.connected


SCENARIOS: dict[str, tuple[Callable[[Context], Coroutine[Any, Any, None]], str | None]] = {
    # name -> (scenario, what the peer must have; None: every peer but msgpack ones)
    "connect_auth": (connect_auth, None),
    "refused": (refused, None),
    "acks": (acks, None),
    "binary": (binary, "binary"),
    "msgpack": (msgpack, "msgpack"),
    "polling_only": (polling_only, None),
    "websocket_only": (websocket_only, None),
    "upgrade": (upgrade, "upgrade"),
    "restart": (restart, None),
    "recovery": (recovery, "recovery"),
    "kick": (kick, None),
}


def applicable(kind: str) -> list[str]:
    has = PEERS[kind][2]
    out = []
    for name, (_, needs) in SCENARIOS.items():
        if (needs is None and "msgpack" not in has) or (needs is not None and needs in has):
            out.append(name)
    return out


def run(peer: Peer, name: str, mode: str) -> None:
    """Run one scenario with the AsyncClient ("async") or the blocking client."""
    scenario = SCENARIOS[name][0]
    ctx = Context(peer, blocking=mode != "async")

    async def main() -> None:
        try:
            await scenario(ctx)
        finally:
            await ctx.close()

    if mode == "async":
        asyncio.run(asyncio.wait_for(main(), 40))
    else:
        run_blocking(main())
