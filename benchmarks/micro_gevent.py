"""Deterministic micro-benchmarks of hubbub's gevent server, for profiling.

hubbub's gevent server (runtime/gevent/server.py) listens on loopback in
this process; each client is a greenlet of the same process on a raw
socket, sending prepared bytes and scanning for the answer. Everything the
server does per message runs, kernel calls included, and a client costs
little beside it (a send, a recv, a greenlet switch): under callgrind the
instruction counts per operation repeat closely even on a busy machine,
which wall-clock benchmarks do not.

    python -m benchmarks.micro_gevent echo --n 5000           # websocket echo + ack
    python -m benchmarks.micro_gevent polling --n 2000        # long-polling echo + ack
    python -m benchmarks.micro_gevent connect --n 500         # websocket connect + CONNECT
    python -m benchmarks.micro_gevent callgrind echo          # instructions per op
    python -m benchmarks.micro_gevent profile polling         # cProfile, top functions

``--clients`` clients run side by side (one outstanding operation each), as
the harness's scenarios do. ``callgrind`` runs a scenario twice under
valgrind (a short and a long run) and divides the difference.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import gevent
from gevent import socket as gsocket

from hubbub.websocket.frames import OP_TEXT, encode_frame

MASK = b"\x12\x34\x56\x78"
PAYLOAD = "".join(chr(ord("a") + i % 26) for i in range(100))  # as the load generator's
UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
    b"Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def client_frame(text: str) -> bytes:
    return encode_frame(OP_TEXT, text.encode(), mask=MASK)


def start_server() -> Any:
    from benchmarks.servers.hubbub_app import sio
    from hubbub.runtime.gevent.server import make_server

    server = make_server(sio, "127.0.0.1", 0)
    server.start()
    return server


class Client:
    """A client socket (gevent's, so waiting for the server blocks only
    this client's greenlet) and what it has read."""

    __slots__ = ("buf", "sock")

    def __init__(self, port: int) -> None:
        self.sock = gsocket.create_connection(("127.0.0.1", port))
        self.sock.setsockopt(gsocket.IPPROTO_TCP, gsocket.TCP_NODELAY, 1)
        self.buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def until(self, marker: bytes) -> None:
        """Read until ``marker``; consume the buffer through it."""
        while True:
            i = self.buf.find(marker)
            if i >= 0:
                self.buf = self.buf[i + len(marker):]
                return
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed")
            self.buf += chunk

    def response(self) -> bytes:
        """One whole HTTP response; its body."""
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end >= 0:
                m = re.search(rb"content-length: *(\d+)", self.buf[:end].lower())
                length = int(m.group(1)) if m else 0
                if len(self.buf) >= end + 4 + length:
                    body = self.buf[end + 4:end + 4 + length]
                    self.buf = self.buf[end + 4 + length:]
                    return body
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed")
            self.buf += chunk


def _result(ops: int, elapsed: float, cpu: float) -> dict[str, Any]:
    # cpu: the process's CPU time (server and clients), which a busy
    # machine inflates far less than the wall-clock time
    return {"n": ops, "us_per_op": elapsed / ops * 1e6, "cpu_us_per_op": cpu / ops * 1e6}


def ws_connect(port: int) -> Client:
    c = Client(port)
    c.send(UPGRADE)
    c.until(b"\r\n\r\n")
    c.until(b'"sid"')
    c.buf = b""
    c.send(client_frame("40"))
    c.until(b"40{")
    c.buf = b""
    return c


def _side_by_side(clients: int, work: Callable[[int], None]) -> None:
    done = gevent.joinall([gevent.spawn(work, i) for i in range(clients)], raise_error=True,
                          timeout=3600)
    if len(done) != clients:
        raise TimeoutError("clients did not finish")


def echo(n: int, clients: int) -> dict[str, Any]:
    server = start_server()
    port = server.server_port
    conns = [ws_connect(port) for _ in range(clients)]
    frames = [client_frame(f'42{i}["echo","{PAYLOAD}"]') for i in range(10)]
    acks = [f'43{i}["{PAYLOAD}"]'.encode() for i in range(10)]
    rounds = max(n // clients, 1)

    def work(k: int) -> None:
        c = conns[k]
        for r in range(rounds):
            c.send(frames[r % 10])
            c.until(acks[r % 10])

    t0, c0 = time.perf_counter(), time.process_time()
    _side_by_side(clients, work)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    ops = rounds * clients
    return _result(ops, elapsed, cpu)


def _http(method: str, path: str, body: bytes = b"") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if method == "POST":
        head += f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(body)}\r\n"
    return (head + "\r\n").encode() + body


class Poller:
    """A long-polling client: GETs on ``get``, POSTs on ``post``."""

    def __init__(self, port: int) -> None:
        self.get = Client(port)
        self.post = Client(port)
        self.get.send(_http("GET", "/socket.io/?EIO=4&transport=polling"))
        body = self.get.response()
        self.sid = re.search(rb'"sid":"([^"]+)"', body).group(1).decode()  # type: ignore[union-attr]
        self.path = f"/socket.io/?EIO=4&transport=polling&sid={self.sid}"
        self.post.send(_http("POST", self.path, b"40"))
        self.post.response()
        self.get.send(_http("GET", self.path))
        self.get.response()  # the CONNECT answer


def polling(n: int, clients: int) -> dict[str, Any]:
    server = start_server()
    port = server.server_port
    pollers = [Poller(port) for _ in range(clients)]
    ack = f'430["{PAYLOAD}"]'.encode()
    rounds = max(n // clients, 1)

    def work(k: int) -> None:
        p = pollers[k]
        get = _http("GET", p.path)
        post = _http("POST", p.path, f'420["echo","{PAYLOAD}"]'.encode())
        for _ in range(rounds):
            p.get.send(get)  # held until the ack is queued
            p.post.send(post)
            p.post.response()
            while ack not in p.get.response():
                p.get.send(get)

    t0, c0 = time.perf_counter(), time.process_time()
    _side_by_side(clients, work)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    ops = rounds * clients
    return _result(ops, elapsed, cpu)


def connect(n: int, clients: int) -> dict[str, Any]:
    server = start_server()
    port = server.server_port
    each = max(n // clients, 1)

    def work(_: int) -> None:
        for _ in range(each):
            ws_connect(port).sock.close()

    t0, c0 = time.perf_counter(), time.process_time()
    _side_by_side(clients, work)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    ops = each * clients
    return _result(ops, elapsed, cpu)


SCENARIOS: dict[str, Callable[[argparse.Namespace], dict[str, Any]]] = {
    "echo": lambda a: echo(a.n, a.clients),
    "polling": lambda a: polling(a.n, a.clients),
    "connect": lambda a: connect(a.n, a.clients),
}


def _callgrind_ir(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               sys.executable, "-m", "benchmarks.micro_gevent", *argv]
        env = {**os.environ, "PYTHONHASHSEED": "0", "BENCH_PING_INTERVAL": "3600"}
        res = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
        m = re.search(r"Collected : (\d+)", res.stderr)
        if res.returncode != 0 or m is None:
            raise RuntimeError(res.stderr[-2000:])
        return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.micro_gevent")
    p.add_argument("mode", nargs="?", default="run", choices=["run", "callgrind", "profile"])
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--n", type=int, default=0, help="operations (default per scenario)")
    p.add_argument("--clients", type=int, default=10)
    args = p.parse_args(argv)
    if not args.n:
        args.n = {"echo": 5000, "polling": 2000, "connect": 500}[args.scenario]
    if args.mode == "run":
        print(SCENARIOS[args.scenario](args))
    elif args.mode == "profile":
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        print(SCENARIOS[args.scenario](args))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
    else:
        base = ["run", args.scenario, "--clients", str(args.clients)]
        small = max(args.n // 5, args.clients)
        ir_small = _callgrind_ir([*base, "--n", str(small)])
        ir_big = _callgrind_ir([*base, "--n", str(args.n)])
        print(f"{args.scenario}: {(ir_big - ir_small) / (args.n - small):,.0f} instructions "
              f"per op ({small} vs {args.n} ops; totals {ir_small:,} / {ir_big:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
