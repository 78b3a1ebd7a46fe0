"""Deterministic micro-benchmarks of hubbub's hot paths, for profiling.

The embedded server's :class:`HttpProtocol` is driven in-process with a fake
transport: raw masked websocket frames go in through ``data_received`` and
the bytes it writes are counted. No sockets, no other process, so the same
work is done on every run: under callgrind the instruction counts repeat to
a fraction of a percent even on a busy machine, which wall-clock benchmarks
on a shared machine do not.

    python -m benchmarks.micro echo --n 20000          # time per echo + ack
    python -m benchmarks.micro fanout --clients 1000   # time per delivery
    python -m benchmarks.micro fanout --burst 80       # 80 broadcasts per trigger
    python -m benchmarks.micro fanout --no-coalesce    # each recipient its own copy
    python -m benchmarks.micro idle --clients 2000     # bytes per idle connection
    python -m benchmarks.micro callgrind echo          # instructions per echo
    python -m benchmarks.micro profile echo            # cProfile, top functions

``callgrind`` runs the scenario twice under valgrind (a short and a long run)
and divides the difference, so start-up and imports cancel out.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import re
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

from hubbub.runtime.asyncio.server import EmbeddedServer, HttpProtocol
from hubbub.websocket.frames import OP_TEXT, encode_frame

MASK = b"\x12\x34\x56\x78"
PAYLOAD = "".join(chr(ord("a") + i % 26) for i in range(100))  # as the load generator's


def client_frame(text: str) -> bytes:
    return encode_frame(OP_TEXT, text.encode(), mask=MASK)


UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
    b"Host: 127.0.0.1:8000\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
    b"Sec-WebSocket-Version: 13\r\n"
    b"\r\n"
)


class FakeTransport:
    """Stands in for the loop's transport: counts what is written."""

    __slots__ = ("bytes", "closed", "keep_last", "last", "port", "protocol", "writes")

    def __init__(self, port: int, keep_last: bool = True) -> None:
        self.protocol: asyncio.Protocol | None = None
        self.port = port
        self.writes = 0
        self.bytes = 0
        self.last = b""
        self.closed = False
        self.keep_last = keep_last  # off when measuring memory

    def write(self, data: bytes) -> None:
        self.writes += 1
        self.bytes += len(data)
        if self.keep_last:
            self.last = data

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.bytes += len(chunk)
            self.last = chunk
        self.writes += 1

    def get_write_buffer_size(self) -> int:
        return 0

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        if name == "peername":
            return ("127.0.0.1", self.port)
        return default

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def set_protocol(self, protocol: asyncio.Protocol) -> None:
        # after the websocket upgrade HttpProtocol hands the connection over
        self.protocol = protocol

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _server(coalesce: bool = True) -> EmbeddedServer:
    """The benchmark app's embedded server, attached to the loop as
    EmbeddedServer.start attaches it, without listening."""
    from benchmarks.servers.hubbub_app import sio

    sio.coalesce_broadcasts = coalesce
    server = EmbeddedServer(sio)
    server.attach_loop()
    return server


def connect(
    server: EmbeddedServer, port: int, keep_last: bool = True
) -> tuple[asyncio.Protocol, FakeTransport]:
    """One websocket client connected to '/' (handshake, upgrade, CONNECT).
    The protocol returned is the one the transport has after the upgrade."""
    http = HttpProtocol(server)
    transport = FakeTransport(port, keep_last)
    transport.protocol = http
    http.connection_made(transport)  # type: ignore[arg-type]
    http.data_received(UPGRADE)
    proto = transport.protocol
    proto.data_received(client_frame("40"))
    return proto, transport


async def _tick() -> None:
    # let call_soon callbacks (batched writes among them) run
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def echo(n: int) -> dict[str, Any]:
    server = await _server()
    proto, transport = connect(server, 10000)
    frames = [client_frame(f'42{i}["echo","{PAYLOAD}"]') for i in range(10)]
    await _tick()
    before = transport.bytes
    t0 = time.perf_counter()
    for i in range(n):
        proto.data_received(frames[i % 10])
        if i % 100 == 99:
            await _tick()
    await _tick()
    elapsed = time.perf_counter() - t0
    expect = f'43{(n - 1) % 10}["{PAYLOAD}"]'.encode()
    assert transport.last.endswith(expect), transport.last[-120:]
    return {"n": n, "us_per_op": elapsed / max(n, 1) * 1e6, "bytes": transport.bytes - before}


async def fanout(n: int, clients: int, burst: int = 1, coalesce: bool = True) -> dict[str, Any]:
    server = await _server(coalesce)
    conns = [connect(server, 10000 + i) for i in range(clients)]
    join = client_frame('420["join","bench"]')
    for proto, _ in conns:
        proto.data_received(join)
    await _tick()
    trigger = client_frame(f'42["fanout","bench",{burst}]')
    sender = conns[0][0]
    before = sum(t.bytes for _, t in conns)
    t0 = time.perf_counter()
    for _ in range(n):
        sender.data_received(trigger)
        await _tick()
    elapsed = time.perf_counter() - t0
    delivered = sum(t.bytes for _, t in conns) - before
    deliveries = n * clients * burst
    return {
        "n": n,
        "clients": clients,
        "us_per_op": elapsed / max(deliveries, 1) * 1e6,
        "bytes_per_delivery": delivered / max(deliveries, 1),
        "writes": sum(t.writes for _, t in conns),
    }


async def idle(clients: int) -> dict[str, Any]:
    server = await _server()
    keep: list[Any] = [connect(server, 9000 + i) for i in range(20)]  # warm caches
    await _tick()
    gc.collect()
    tracemalloc.start(25)
    snap0 = tracemalloc.take_snapshot()
    for i in range(clients):
        keep.append(connect(server, 10000 + i, keep_last=False))
        if i % 100 == 99:
            await _tick()  # as connections arrive over time, not all in one tick
    await _tick()
    gc.collect()
    snap1 = tracemalloc.take_snapshot()
    tracemalloc.stop()
    stats = snap1.compare_to(snap0, "lineno")
    total = sum(s.size_diff for s in stats)
    top = [
        (f"{s.traceback[0].filename.split('src/')[-1]}:{s.traceback[0].lineno}",
         round(s.size_diff / clients), round(s.count_diff / clients, 2))
        for s in stats[:25]
    ]
    return {"clients": clients, "bytes_per_conn": total / clients, "top": top}


SCENARIOS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "echo": lambda a: echo(a.n),
    "fanout": lambda a: fanout(a.n, a.clients, a.burst, not a.no_coalesce),
    "idle": lambda a: idle(a.clients),
}


def run_scenario(args: argparse.Namespace) -> dict[str, Any]:
    if args.loop == "uvloop":
        import uvloop

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    result: dict[str, Any] = asyncio.run(SCENARIOS[args.scenario](args))
    return result


def _callgrind_ir(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
               sys.executable, "-m", "benchmarks.micro", *argv]
        # the same dict layouts every run; no heartbeat due during a run that
        # valgrind (on a busy machine) stretches past the ping interval
        env = {**os.environ, "PYTHONHASHSEED": "0", "BENCH_PING_INTERVAL": "3600"}
        res = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
        m = re.search(r"Collected : (\d+)", res.stderr)
        if res.returncode != 0 or m is None:
            raise RuntimeError(res.stderr[-2000:])
        return int(m.group(1))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.micro")
    p.add_argument("mode", nargs="?", default="run", choices=["run", "callgrind", "profile"])
    p.add_argument("scenario", choices=sorted(SCENARIOS))
    p.add_argument("--n", type=int, default=0, help="operations (default per scenario)")
    p.add_argument("--clients", type=int, default=1000)
    p.add_argument("--loop", choices=["uvloop", "asyncio"], default="uvloop")
    p.add_argument("--burst", type=int, default=1, help="fanout: broadcasts per trigger")
    p.add_argument("--no-coalesce", action="store_true",
                   help="fanout: Server(coalesce_broadcasts=False)")
    args = p.parse_args(argv)
    if not args.n:
        args.n = {"echo": 20000, "fanout": 20, "idle": 0}[args.scenario]
    if args.mode == "run":
        print(run_scenario(args))
    elif args.mode == "profile":
        import cProfile
        import pstats

        prof = cProfile.Profile()
        prof.enable()
        print(run_scenario(args))
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(30)
    else:
        base = ["run", args.scenario, "--clients", str(args.clients), "--loop", args.loop,
                "--burst", str(args.burst), *(["--no-coalesce"] if args.no_coalesce else [])]
        small = max(args.n // 5, 1)
        ir_small = _callgrind_ir([*base, "--n", str(small)])
        ir_big = _callgrind_ir([*base, "--n", str(args.n)])
        ops = (args.n - small) * (args.clients * args.burst if args.scenario == "fanout" else 1)
        print(f"{args.scenario}: {(ir_big - ir_small) / ops:,.0f} instructions per "
              f"{'delivery' if args.scenario == 'fanout' else 'op'} "
              f"({small} vs {args.n} runs; totals {ir_small:,} / {ir_big:,})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
