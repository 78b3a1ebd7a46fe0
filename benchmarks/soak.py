"""The soak: whole Socket.IO sessions, one after another, against one server
process per runtime and transport, while the server's memory and open files
are sampled. ``benchmarks/soak --help`` for the options.

Each session is what a short-lived socket.io-client does: open (websocket, or
HTTP long-polling), connect to '/', one 'echo' emit answered by ack, leave the
namespace and close the Engine.IO session. The C load generator
(``benchmarks/loadgen``, scenario ``cycle``) runs them, ``--clients`` at a
time, in ``--samples`` chunks; after each chunk the server's VmRSS and the
number of entries in /proc/PID/fd are read.

Verdict: the first 20% of the cycles are warm-up (allocator arenas, caches,
interned strings); a run is "flat" when RSS and open fds each grew by less
than 5% from the first sample after warm-up to the last, and no session
failed. One JSON object per run is printed on stdout; progress and a summary
table go to stderr. The exit status is 0 only when every run is flat.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from benchmarks.harness import free_port, raise_fd_limit, stop, wait_listening
from benchmarks.peers import ROOT, ensure_loadgen

WARMUP_SHARE = 0.2
FLAT_LIMIT_PCT = 5.0
RUNTIMES = ("embedded", "uvicorn", "gevent")
TRANSPORTS = ("websocket", "polling")
LOADGEN_PROTO = {"websocket": "sio", "polling": "polling"}
APP = "benchmarks.servers.hubbub_app"


def server_command(runtime: str, port: int) -> list[str]:
    common = ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    if runtime == "uvicorn":
        return [sys.executable, "-m", "uvicorn", f"{APP}:app", "--no-access-log", *common]
    run = [sys.executable, "-m", "hubbub", "run", f"{APP}:sio", *common]
    return [*run, "--runtime", "gevent"] if runtime == "gevent" else run


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def growth_pct(before: int, after: int) -> float:
    return 100.0 * (after - before) / before if before else 0.0


@dataclass
class Run:
    runtime: str
    transport: str
    cycles_wanted: int
    clients: int
    cycles: int = 0
    elapsed_s: float = 0.0
    cycles_per_s: float = 0.0
    failures: int = 0  # sessions that did not complete, and protocol errors
    server_log_errors: int = 0  # ERROR lines and tracebacks in the server's log
    samples: list[list[int]] = field(default_factory=list)  # [cycles, rss_kb, fds]
    # sessions per second of each chunk, one per sample after the first: a step
    # in RSS can then be matched against a change of rate (allocator high water)
    chunk_rates: list[float] = field(default_factory=list)
    rss_kb: dict[str, int] = field(default_factory=dict)
    fds: dict[str, int] = field(default_factory=dict)
    rss_growth_pct: float = 0.0
    fd_growth_pct: float = 0.0
    verdict: str = "failed"
    error: str | None = None

    def judge(self) -> None:
        warm_at = WARMUP_SHARE * self.cycles_wanted
        warm = next((s for s in self.samples if s[0] >= warm_at), self.samples[-1])
        last = self.samples[-1]
        for key, idx in (("rss_kb", 1), ("fds", 2)):
            getattr(self, key).update(
                start=self.samples[0][idx],
                warm=warm[idx],
                final=last[idx],
                peak=max(s[idx] for s in self.samples),
            )
        self.rss_growth_pct = round(growth_pct(warm[1], last[1]), 2)
        self.fd_growth_pct = round(growth_pct(warm[2], last[2]), 2)
        complete = self.error is None and self.cycles == self.cycles_wanted
        if not complete or self.failures or self.server_log_errors:
            self.verdict = "failed"
        elif self.rss_growth_pct < FLAT_LIMIT_PCT and self.fd_growth_pct < FLAT_LIMIT_PCT:
            self.verdict = "flat"
        else:
            self.verdict = "growing"


def log(msg: str) -> None:
    print(f"soak: {msg}", file=sys.stderr, flush=True)


def count_log_errors(path: Path) -> int:
    text = path.read_text(errors="replace")
    return sum(1 for line in text.splitlines() if "Traceback" in line or " ERROR " in line)


def soak_one(
    runtime: str, transport: str, args: argparse.Namespace, loadgen: Path, logs: Path
) -> Run:
    run = Run(runtime, transport, args.cycles, args.clients)
    port = free_port()
    nice = ["nice", "-n", str(args.nice)] if args.nice else []
    log_path = logs / f"{runtime}-{transport}.log"
    chunks = [args.cycles // args.samples] * args.samples
    chunks[-1] += args.cycles - sum(chunks)
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            [*nice, *server_command(runtime, port)],
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_listening(port, proc)
        time.sleep(args.settle)
        run.samples.append([0, rss_kb(proc.pid), open_fds(proc.pid)])
        started = time.monotonic()
        for chunk in filter(None, chunks):
            cmd = [*nice, str(loadgen), "--port", str(port), "--proto"]
            cmd += [LOADGEN_PROTO[transport], "--scenario", "cycle", "--cycles", str(chunk)]
            cmd += ["--clients", str(args.clients), "--setup-timeout", str(args.stall), "--quiet"]
            chunk_started = time.monotonic()
            done = subprocess.run(
                cmd, capture_output=True, text=True, timeout=args.stall + chunk, check=False
            )
            chunk_s = time.monotonic() - chunk_started
            if done.returncode != 0 or not done.stdout.strip():
                raise RuntimeError(f"loadgen exited {done.returncode}: {done.stderr[-500:]}")
            result = json.loads(done.stdout)
            cycles = int(result["cycles"])
            run.cycles += cycles
            run.chunk_rates.append(round(cycles / chunk_s, 1) if chunk_s else 0.0)
            run.failures += sum(
                int(result[k])
                for k in ("errors", "proto_errors", "bad_payloads", "connect_failures")
            )
            if result["stalled"]:
                raise RuntimeError(f"sessions stalled: {result}")
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
            time.sleep(args.settle)
            run.samples.append([run.cycles, rss_kb(proc.pid), open_fds(proc.pid)])
            log(
                f"{runtime}/{transport}: {run.cycles} cycles, rss {run.samples[-1][1]} kB, "
                f"fds {run.samples[-1][2]}, {run.chunk_rates[-1]:,.0f} cycles/s"
            )
        run.elapsed_s = round(time.monotonic() - started, 2)
        run.cycles_per_s = round(run.cycles / run.elapsed_s, 1) if run.elapsed_s else 0.0
    except (RuntimeError, OSError, subprocess.TimeoutExpired, ValueError) as exc:
        run.error = str(exc)
    finally:
        stop(proc)
    run.server_log_errors = count_log_errors(log_path)
    if not run.samples:
        run.samples.append([0, 0, 0])
    run.judge()
    return run


def summary(runs: list[Run]) -> str:
    head = (
        "| runtime | transport | cycles | cycles/s | RSS warm -> final (kB) | RSS growth "
        "| fds warm -> final | verdict |\n|---|---|---:|---:|---|---:|---|---|"
    )
    rows = [
        f"| {r.runtime} | {r.transport} | {r.cycles:,} | {r.cycles_per_s:,.0f} "
        f"| {r.rss_kb['warm']:,} -> {r.rss_kb['final']:,} | {r.rss_growth_pct:+.2f}% "
        f"| {r.fds['warm']} -> {r.fds['final']} | {r.verdict} |"
        for r in runs
    ]
    return "\n".join([head, *rows])


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="benchmarks/soak", description=__doc__.split("\n\n")[0] if __doc__ else None
    )
    parser.add_argument("--cycles", type=int, default=1_000_000, help="sessions per run")
    parser.add_argument("--samples", type=int, default=50, help="RSS/fd samples per run")
    parser.add_argument("--clients", type=int, default=8, help="sessions at a time")
    parser.add_argument("--runtimes", default=",".join(RUNTIMES))
    parser.add_argument("--transports", default=",".join(TRANSPORTS))
    parser.add_argument("--settle", type=float, default=0.3, help="seconds before a sample")
    parser.add_argument("--stall", type=float, default=30.0, help="fail after S s without one")
    parser.add_argument("--nice", type=int, default=10, help="niceness of server and loadgen")
    parser.add_argument("--logs", type=Path, help="keep the servers' logs here")
    args = parser.parse_args(argv)
    runtimes = args.runtimes.split(",")
    transports = args.transports.split(",")
    if not set(runtimes) <= set(RUNTIMES) or not set(transports) <= set(TRANSPORTS):
        parser.error(f"runtimes are {RUNTIMES}, transports {TRANSPORTS}")
    if args.cycles < 1 or args.samples < 2 or args.clients < 1:
        parser.error("--cycles must be positive, --samples at least 2, --clients positive")
    args.samples = min(args.samples, args.cycles)
    args.runtimes, args.transports = runtimes, transports
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_fd_limit()
    loadgen = ensure_loadgen()
    runs: list[Run] = []
    with contextlib.ExitStack() as stack:
        logs = args.logs or Path(stack.enter_context(tempfile.TemporaryDirectory()))
        logs.mkdir(parents=True, exist_ok=True)
        for runtime in args.runtimes:
            for transport in args.transports:
                log(f"{runtime}/{transport}: {args.cycles:,} cycles, {args.clients} at a time")
                run = soak_one(runtime, transport, args, loadgen, logs)
                runs.append(run)
                print(json.dumps(asdict(run)), flush=True)
                if run.error:
                    log(f"{runtime}/{transport}: {run.error}")
    print(summary(runs), file=sys.stderr)
    return 0 if all(r.verdict == "flat" for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
