"""Coalesced broadcasts keep every client's order exactly.

Two embedded servers run the same application, one with
``coalesce_broadcasts`` on and one with it off. The same clients of every
generation (Engine.IO 4 and 3, Socket.IO 0.9 and 0.6, raw websocket clients
over real sockets) connect to both. Hypothesis draws ticks of operations
(room broadcasts with and without ``except``, broadcasts from a socket,
unicasts, acks of events the clients sent earlier, joins and leaves, large
frames and volatile packets) and each tick runs on both servers as one loop
callback. What each client receives must be the same frames in the same
order from both servers.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

import hubbub
from conftest import ServerThread

pytestmark = pytest.mark.timeout(300)

ROOMS = ["a", "b"]
# the clients: their generations, in the order of their indexes
KINDS = ["eio4", "eio4", "eio4", "eio3", "eio3", "v09", "v09", "v06", "v06"]
ASKS = 4  # events with an ack id each client (but 0.6) sends per example
ASKED = ASKS * sum(kind != "v06" for kind in KINDS)
BIG = 17 * 1024  # over the largest frame a shared block takes


class Context:
    """One server's side: its sockets by client index, their pending acks."""

    def __init__(self) -> None:
        self.sockets: dict[int, hubbub.Socket] = {}
        self.acks: dict[int, list[Callable[..., None]]] = {}
        self.lock = threading.Lock()


def build(ctx: Context, coalesce: bool) -> hubbub.Server:
    sio = hubbub.Server(
        coalesce_broadcasts=coalesce,
        ping_interval=20.0,
        ping_timeout=20.0,
        v06={"heartbeat_interval": 20.0, "heartbeat_timeout": 20.0},
    )

    class Recorded(hubbub.Namespace):
        receives_packets = True

        def receive_packet(
            self, kind: str, event: str, args: list[Any], ack: Callable[..., None] | None
        ) -> None:
            if event == "hello" or (event == "message" and isinstance(args[0], dict)):
                index = args[0] if event == "hello" else args[0]["hello"]
                with ctx.lock:
                    ctx.sockets[int(index)] = self.socket
            elif event == "ask" and ack is not None:
                with ctx.lock:
                    index = next(k for k, s in ctx.sockets.items() if s is self.socket)
                    ctx.acks.setdefault(index, []).append(ack)

    sio.register("/", Recorded)
    return sio


# -- the clients -------------------------------------------------------------------


class Client:
    """A raw websocket client that records every frame it gets."""

    def __init__(self, kind: str, index: int, base: str) -> None:
        self.kind = kind
        self.index = index
        self.frames: list[str] = []
        self._stack = contextlib.ExitStack()
        self.ws = self._open(base)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _connect(self, url: str) -> ClientConnection:
        return self._stack.enter_context(connect(url, compression=None, open_timeout=5))

    def _open(self, base: str) -> ClientConnection:
        ws_base = "ws" + base[len("http") :]
        if self.kind in ("eio4", "eio3"):
            eio = 4 if self.kind == "eio4" else 3
            ws = self._connect(f"{ws_base}/socket.io/?EIO={eio}&transport=websocket")
            assert str(ws.recv(5)).startswith("0")
            if eio == 4:
                ws.send("40")
            assert str(ws.recv(5)).startswith("40")
            ws.send(f'42["hello",{self.index}]')
        elif self.kind == "v09":
            host, port = base[len("http://") :].split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=5)
            conn.request("GET", "/socket.io/1/")
            sid = conn.getresponse().read().decode().split(":")[0]
            conn.close()
            ws = self._connect(f"{ws_base}/socket.io/1/websocket/{sid}")
            assert str(ws.recv(5)) == "1::"
            ws.send('5:::{"name":"hello","args":[' + str(self.index) + "]}")
        else:
            ws = self._connect(f"{ws_base}/socket.io/websocket")
            assert str(ws.recv(5)).startswith("~m~")  # the session id
            body = "~j~" + json.dumps({"hello": self.index})
            ws.send(f"~m~{len(body)}~m~{body}")
        return ws

    def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            for message in self.ws:
                text = message if isinstance(message, str) else message.decode()
                if text == "2::":  # 0.9 heartbeat
                    self.ws.send("2::")
                    continue
                if text.startswith("~m~") and "~m~~h~" in text:  # 0.6 heartbeat
                    self.ws.send(text)
                    continue
                if text in ("2", "3"):  # Engine.IO ping or pong
                    continue
                self.frames.append(text)

    def ask(self, ack_id: int) -> None:
        if self.kind in ("eio4", "eio3"):
            self.ws.send(f'42{ack_id}["ask"]')
        elif self.kind == "v09":
            self.ws.send(f"5:{ack_id}+::" + '{"name":"ask","args":[]}')

    def synced(self, marker: str) -> bool:
        return any(marker in frame for frame in self.frames[-3:])

    def close(self) -> None:
        self._stack.close()


# -- the operations of one tick --------------------------------------------------------

payloads = itertools.count()


def run_ops(ctx: Context, sio: hubbub.Server, ops: list[tuple[Any, ...]]) -> None:
    """One tick's operations, on the server's loop."""
    socks = ctx.sockets
    for op in ops:
        kind = op[0]
        if kind == "join":
            socks[op[1]].join(op[2])
        elif kind == "leave":
            socks[op[1]].leave(op[2])
        elif kind == "room":
            _, rooms, excepts, payload, volatile = op
            target = sio.to(*rooms) if rooms else sio.except_()
            if excepts:
                target = target.except_(*[socks[k].id for k in excepts])
            if volatile:
                target = target.volatile
            target.emit("message", payload)
        elif kind == "from":
            _, k, room, payload = op
            socks[k].to(room).emit("message", payload)
        elif kind == "own":
            _, k, payload = op
            sio.to(socks[k].id).emit("message", payload)
        elif kind == "send":
            _, k, payload = op
            socks[k].send(payload)
        elif kind == "ack":
            _, k, payload = op
            pending = ctx.acks.get(k)
            if pending:
                pending.pop(0)(payload)
        elif kind == "reset":
            for socket in socks.values():
                for room in ROOMS:
                    socket.leave(room)


def _payload(size: str) -> str:
    n = next(payloads)
    return f"p{n}" if size == "small" else f"p{n}" + "x" * BIG


clients_st = st.integers(0, len(KINDS) - 1)
rooms_st = st.sampled_from(ROOMS)
size_st = st.sampled_from(["small", "small", "small", "small", "big"])
op_st = st.one_of(
    st.tuples(st.just("join"), clients_st, rooms_st),
    st.tuples(st.just("leave"), clients_st, rooms_st),
    st.tuples(
        st.just("room"),
        st.lists(rooms_st, max_size=2, unique=True).map(tuple),
        st.lists(clients_st, max_size=3, unique=True).map(tuple),
        size_st,
        st.just(False),
    ),
    st.tuples(st.just("room"), st.lists(rooms_st, max_size=2, unique=True).map(tuple),
              st.just(()), size_st, st.booleans()),
    st.tuples(st.just("room"), st.just(()), st.just(()), size_st, st.booleans()),
    st.tuples(st.just("from"), clients_st, rooms_st, size_st),
    st.tuples(st.just("own"), clients_st, size_st),
    st.tuples(st.just("send"), clients_st, size_st),
    st.tuples(st.just("ack"), clients_st, size_st),
)
ticks_st = st.lists(st.lists(op_st, min_size=1, max_size=25), min_size=1, max_size=4)


def _materialize(ticks: list[list[tuple[Any, ...]]]) -> list[list[tuple[Any, ...]]]:
    """Payloads drawn once, so both servers send the same."""
    out = []
    for ops in ticks:
        tick = []
        for op in ops:
            if op[0] == "room":
                tick.append((op[0], op[1], op[2], _payload(op[3]), op[4]))
            elif op[0] == "from":
                tick.append((op[0], op[1], op[2], _payload(op[3])))
            elif op[0] in ("own", "send", "ack"):
                tick.append((op[0], op[1], _payload(op[2])))
            else:
                tick.append(op)
        out.append(tick)
    return out


# -- the two servers ------------------------------------------------------------------


class Side:
    def __init__(self, coalesce: bool, runtime: str) -> None:
        self.ctx = Context()
        self.sio = build(self.ctx, coalesce)
        self.thread = ServerThread(self.sio, gevent=runtime == "gevent")
        self.clients: list[Client] = []

    def start(self) -> None:
        self.thread.__enter__()
        for index, kind in enumerate(KINDS):
            self.clients.append(Client(kind, index, self.thread.url))
        _wait(lambda: len(self.ctx.sockets) == len(KINDS), "every client said hello")

    def stop(self) -> None:
        for client in self.clients:
            with contextlib.suppress(Exception):
                client.close()
        self.thread.__exit__(None, None, None)

    def tick(self, ops: list[tuple[Any, ...]]) -> None:
        self.thread.call(lambda: run_ops(self.ctx, self.sio, ops))

    def sync(self, marker: str) -> None:
        self.thread.call(lambda: [s.send(marker) for s in self.ctx.sockets.values()])
        _wait(lambda: all(c.synced(marker) for c in self.clients), f"{marker} everywhere")


def _wait(cond: Callable[[], bool], what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.005)


@pytest.fixture(scope="module", params=["embedded", "gevent"])
def sides(request: pytest.FixtureRequest) -> Iterator[tuple[Side, Side]]:
    coalesced, plain = Side(True, request.param), Side(False, request.param)
    try:
        coalesced.start()
        plain.start()
        yield coalesced, plain
    finally:
        coalesced.stop()
        plain.stop()


markers = itertools.count()


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ticks=ticks_st)
def test_each_client_gets_the_same_frames_in_the_same_order(
    sides: tuple[Side, Side], ticks: list[list[tuple[Any, ...]]]
) -> None:
    ticks = _materialize(ticks)
    begin = f"begin-{next(markers)}"
    for side in sides:
        side.tick([("reset",)])
        with side.ctx.lock:
            side.ctx.acks.clear()
        for ack_id in range(ASKS):
            for client in side.clients:
                client.ask(ack_id)
        _wait(lambda s=side: sum(map(len, s.ctx.acks.values())) == ASKED, "the asks")
        side.sync(begin)
    starts = [[len(c.frames) for c in side.clients] for side in sides]
    for ops in ticks:
        for side in sides:
            side.tick(ops)
    end = f"end-{next(markers)}"
    for side in sides:
        side.sync(end)
    got = [
        [client.frames[start:] for client, start in zip(side.clients, side_starts, strict=True)]
        for side, side_starts in zip(sides, starts, strict=True)
    ]
    for index, kind in enumerate(KINDS):
        assert got[0][index] == got[1][index], (kind, index, ticks)
