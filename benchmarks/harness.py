"""Run every scenario against every server and collect the load generator's
results. ``python -m benchmarks --help`` for the options; report.py turns the
results into docs/benchmarks.md.

Two sections: the main one, one process per server, server and load
generator pinned to a core each; and "with workers", the same servers with 1
and 2 worker processes (``hubbub run --workers 2``, a Node cluster), which
cannot be pinned to one core, so every server of it runs unpinned.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import platform
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks import compiled
from benchmarks import peers as peers_mod
from benchmarks.peers import BENCH_DIR, ROOT, Peers

RESULTS_DIR = BENCH_DIR / "results"
FD_LIMIT = 20_000  # the hard per-process limit of the machines we run on
FD_HEADROOM = 100  # listening socket, epoll, pipes, libraries' own files
FANOUT_IN_FLIGHT = 80_000

# --------------------------------------------------------------------------- servers


@dataclass(frozen=True)
class ServerSpec:
    key: str
    label: str
    role: str  # "hubbub", "peer" or "ceiling"
    ws_proto: str  # what the load generator speaks to it: "sio" or "raw"
    polling: bool  # whether it serves Engine.IO long-polling
    command: Callable[[int, Peers], list[str]]
    env: Callable[[Peers], dict[str, str]]
    unavailable: Callable[[Peers], str | None]
    # the Socket.IO 0.9 protocol: served too (hubbub), or only (Node socket.io 0.9)
    v09: bool = False
    only_v09: bool = False
    # hubbub's: "pure" (the package as it is) or "compiled" (benchmarks/compiled.py)
    build: str = ""
    # the sections it takes part in: "main" (one process, pinned) and "workers"
    sections: tuple[str, ...] = ("main",)
    workers: int = 1  # worker processes serving clients
    one_worker: str | None = None  # the key of the same server with one worker
    # True once every worker serves (checked after the port listens)
    ready: Callable[[int], bool] | None = None


def _hubbub_env(_: Peers) -> dict[str, str]:
    return compiled.server_env("pure")


def _compiled_env(_: Peers) -> dict[str, str]:
    return compiled.server_env("compiled")


def _peer_env(_: Peers) -> dict[str, str]:
    return peers_mod.env_without_venv()


def _py(peers: Peers) -> str:
    return str(peers.python)


def _hubbub_has_module(name: str) -> str | None:
    try:
        __import__(name)
    except ImportError:
        return f"{name} is not installed in hubbub's venv"
    return None


HUBBUB_RUN = "-m hubbub run benchmarks.servers.hubbub_app:sio --host 127.0.0.1 --log-level warning"
BOTH = ("main", "workers")


def ipc_dir(port: int) -> Path:
    """The workers' socket directory of a hubbub server with workers on port:
    named, so the harness sees when every worker has its link socket."""
    return Path(f"/tmp/hubbub-bench-{port}")


def _hubbub_workers(runtime: str, n: int) -> Callable[[int, Peers], list[str]]:
    def command(port: int, _: Peers) -> list[str]:
        return [
            sys.executable,
            *HUBBUB_RUN.split(),
            "--runtime",
            runtime,
            "--workers",
            str(n),
            "--ipc-dir",
            str(ipc_dir(port)),
            "--port",
            str(port),
        ]

    return command


def _hubbub_workers_ready(n: int) -> Callable[[int], bool]:
    return lambda port: len(list(ipc_dir(port).glob("*.sock"))) >= n


def _node_cluster_missing(p: Peers) -> str | None:
    if p.missing.get("node"):
        return p.missing["node"]
    gone = peers_mod.node_missing(peers_mod.NODE_DIR)
    return f"not installed under benchmarks/node: {', '.join(gone)}" if gone else None


# the same uvicorn settings for hubbub's ASGIApp and for python-socketio
UVICORN = (
    "-m uvicorn --host 127.0.0.1 --log-level warning --no-access-log --loop uvloop --backlog 2048"
)

HUBBUB_SERVERS: list[ServerSpec] = [
    ServerSpec(
        "hubbub-asyncio",
        "hubbub embedded (asyncio)",
        "hubbub",
        "sio",
        True,
        lambda port, p: [sys.executable, *HUBBUB_RUN.split(), "--port", str(port)],
        _hubbub_env,
        lambda p: None,
        v09=True,
        build="pure",
        sections=BOTH,
    ),
    ServerSpec(
        "hubbub-asgi",
        "hubbub ASGIApp (uvicorn)",
        "hubbub",
        "sio",
        True,
        lambda port, p: [
            sys.executable,
            *UVICORN.split(),
            "benchmarks.servers.hubbub_app:app",
            "--port",
            str(port),
        ],
        _hubbub_env,
        lambda p: _hubbub_has_module("uvicorn") or _hubbub_has_module("uvloop"),
        v09=True,
        build="pure",
    ),
    ServerSpec(
        "hubbub-gevent",
        "hubbub gevent",
        "hubbub",
        "sio",
        True,
        lambda port, p: [
            sys.executable,
            *HUBBUB_RUN.split(),
            "--runtime",
            "gevent",
            "--port",
            str(port),
        ],
        _hubbub_env,
        lambda p: _hubbub_has_module("gevent"),
        v09=True,
        build="pure",
        sections=BOTH,
    ),
]


def _compiled(spec: ServerSpec) -> ServerSpec:
    """The same server on the compiled build of the hot modules."""

    def unavailable(p: Peers) -> str | None:
        return spec.unavailable(p) or compiled.unavailable()

    return dataclasses.replace(
        spec,
        key=f"{spec.key}-compiled",
        label=f"{spec.label}, compiled",
        env=_compiled_env,
        unavailable=unavailable,
        build="compiled",
        # the section with workers measures the pure build only
        sections=("main",),
    )


SERVERS: list[ServerSpec] = [
    # each runtime's compiled row right after its pure one
    *(spec for s in HUBBUB_SERVERS for spec in (s, _compiled(s))),
    ServerSpec(
        "node",
        "Node socket.io 4.8",
        "peer",
        "sio",
        True,
        lambda port, p: [str(p.node), str(BENCH_DIR / "node" / "server.js"), str(port)],
        _peer_env,
        lambda p: p.missing.get("node"),
        sections=BOTH,
    ),
    ServerSpec(
        "node-09",
        "Node socket.io 0.9.17",
        "peer",
        "v09",
        False,
        lambda port, p: [str(p.node), str(BENCH_DIR / "node09" / "server.js"), str(port)],
        _peer_env,
        lambda p: p.missing.get("node"),
        v09=True,
        only_v09=True,
    ),
    ServerSpec(
        "python-socketio",
        "python-socketio 5 (uvicorn)",
        "peer",
        "sio",
        True,
        lambda port, p: [
            _py(p),
            *UVICORN.split(),
            "benchmarks.servers.psio_app:app",
            "--port",
            str(port),
        ],
        _peer_env,
        lambda p: p.missing.get("python-peers"),
    ),
    ServerSpec(
        "ceiling",
        "raw websocket ceiling (picows)",
        "ceiling",
        "raw",
        False,
        lambda port, p: [_py(p), str(BENCH_DIR / "servers" / "raw_ws.py"), str(port)],
        _peer_env,
        lambda p: p.missing.get("python-peers"),
    ),
    # the section "with workers": the same servers with 2 worker processes
    ServerSpec(
        "hubbub-asyncio-w2",
        "hubbub embedded (asyncio), 2 workers",
        "hubbub",
        "sio",
        True,
        _hubbub_workers("asyncio", 2),
        _hubbub_env,
        lambda p: _hubbub_has_module("msgpack"),
        build="pure",
        sections=("workers",),
        workers=2,
        one_worker="hubbub-asyncio",
        ready=_hubbub_workers_ready(2),
    ),
    ServerSpec(
        "hubbub-gevent-w2",
        "hubbub gevent, 2 workers",
        "hubbub",
        "sio",
        True,
        _hubbub_workers("gevent", 2),
        _hubbub_env,
        lambda p: _hubbub_has_module("gevent") or _hubbub_has_module("msgpack"),
        build="pure",
        sections=("workers",),
        workers=2,
        one_worker="hubbub-gevent",
        ready=_hubbub_workers_ready(2),
    ),
    ServerSpec(
        "node-cluster",
        # the primary listens once both workers have their handlers
        "Node socket.io 4.8 cluster, 2 workers",
        "peer",
        "sio",
        True,
        lambda port, p: [str(p.node), str(BENCH_DIR / "node" / "cluster.js"), str(port), "2"],
        _peer_env,
        _node_cluster_missing,
        sections=("workers",),
        workers=2,
        one_worker="node",
    ),
]

# --------------------------------------------------------------------------- scenarios


@dataclass(frozen=True)
class Metric:
    field: str  # key in the load generator's JSON
    label: str
    higher_is_better: bool = True
    fmt: str = ",.0f"


@dataclass(frozen=True)
class Scenario:
    key: str
    title: str
    transport: str  # "ws", "polling" or "v09"
    loadgen: str  # the load generator's --scenario
    clients: int
    metrics: tuple[Metric, ...]
    idle: bool = False
    skip_reason: str | None = None
    section: str = "main"  # or "workers": run unpinned, for 1 and 2 workers
    # handshakes in flight while connecting (the load generator's --concurrency)
    connect_concurrency: int = 500


@dataclass(frozen=True)
class Config:
    quick: bool
    runs: int
    warmup: float
    duration: float
    idle_hold: float
    ping_interval: float
    ping_timeout: float
    setup_timeout: float  # connecting and joining; a server slower than this is cut short
    max_clients: int
    server_cpu: int | None
    loadgen_cpu: int | None


THROUGHPUT = Metric("server_cpu_pct", "server CPU %", fmt=".0f")
# echo with ack, over every transport
ECHO_METRICS = (
    Metric("acks_per_s", "acks/s"),
    Metric("p50_ms", "p50 ms", False, ".2f"),
    Metric("p99_ms", "p99 ms", False, ".2f"),
    THROUGHPUT,
)
FANOUT_METRICS = (Metric("deliveries_per_s", "deliveries/s"), THROUGHPUT)
LOADGEN_CPU = Metric("loadgen_cpu_pct", "loadgen CPU %", False, ".0f")
# Connecting 8 at a time in the workers section: a balancer that counts
# connections (@socket.io/sticky's least-connection) learns of each one from
# its worker after the handshake, so a burst of hundreds would all go to the
# worker that had the fewest before it; clients arriving over time do not.
WORKERS_CONNECT = 8
# at most this long to receive what is still owed after the window: the
# slowest server here delivers the in-flight 80,000 in several seconds
WORKERS_DRAIN = 20
# with workers, fan-out and many senders: every delivery owed must arrive
WORKERS_BROADCAST_METRICS = (
    Metric("deliveries_per_s", "deliveries/s"),
    Metric("delivered_pct", "delivered %", fmt=".1f"),
    THROUGHPUT,
    LOADGEN_CPU,
)

SCENARIOS: list[Scenario] = [
    Scenario(
        "echo",
        "1. Echo with ack: 100 clients, one emit outstanding each",
        "ws",
        "echo",
        100,
        ECHO_METRICS,
    ),
    Scenario(
        "fanout-1k",
        "2a. Fan-out: 1,000 clients in one room, 100-byte events",
        "ws",
        "fanout",
        1_000,
        FANOUT_METRICS,
    ),
    Scenario(
        "fanout-10k",
        "2b. Fan-out: 10,000 clients in one room, 100-byte events",
        "ws",
        "fanout",
        10_000,
        FANOUT_METRICS,
    ),
    Scenario(
        "many-1k",
        "2c. Many senders: 1,000 clients in one room take turns sending a 100-byte "
        "chat, each broadcast to the room",
        "ws",
        "chat",
        1_000,
        FANOUT_METRICS,
    ),
    Scenario(
        "idle-10k",
        "3a. Idle connections: 10,000",
        "ws",
        "idle",
        10_000,
        (
            Metric("rss_per_conn_bytes", "RSS bytes/conn", False),
            Metric("clients_ready", "connections held"),
            Metric("connects_per_s", "connects/s"),
            Metric("heartbeats_on_time_pct", "heartbeats on time %", fmt=".1f"),
            Metric("server_cpu_pct", "idle CPU %", False, ".1f"),
        ),
        idle=True,
    ),
    Scenario(
        "idle-max",
        "3b. Idle connections: as many as the machine holds",
        "ws",
        "idle",
        0,  # filled in from the open-files limit
        (
            Metric("clients_ready", "connections held"),
            Metric("rss_per_conn_bytes", "RSS bytes/conn", False),
            Metric("connects_per_s", "connects/s"),
            Metric("heartbeats_on_time_pct", "heartbeats on time %", fmt=".1f"),
        ),
        idle=True,
    ),
    Scenario(
        "polling",
        "4. Long-polling: 200 clients, echo with ack, one outstanding each",
        "polling",
        "echo",
        200,
        ECHO_METRICS,
    ),
    Scenario(
        "v09-echo",
        "5. Socket.IO 0.9 protocol: echo with ack over websocket, 100 clients",
        "v09",
        "echo",
        100,
        ECHO_METRICS,
    ),
    # with workers: each against 1 and 2 workers (and Node's cluster), unpinned
    Scenario(
        "workers-echo",
        "Echo with ack: 100 clients, one emit outstanding each",
        "ws",
        "echo",
        100,
        (
            Metric("acks_per_s", "acks/s"),
            Metric("p99_ms", "p99 ms", False, ".2f"),
            THROUGHPUT,
            LOADGEN_CPU,
        ),
        section="workers",
        connect_concurrency=WORKERS_CONNECT,
    ),
    Scenario(
        "workers-fanout",
        "Fan-out: 1,000 clients in one room, 100-byte events",
        "ws",
        "fanout",
        1_000,
        WORKERS_BROADCAST_METRICS,
        section="workers",
        connect_concurrency=WORKERS_CONNECT,
    ),
    Scenario(
        "workers-chat",
        "Many senders: 1,000 clients in one room take turns sending a 100-byte chat, "
        "each broadcast to the room",
        "ws",
        "chat",
        1_000,
        WORKERS_BROADCAST_METRICS,
        section="workers",
        connect_concurrency=WORKERS_CONNECT,
    ),
]
SECTIONS = ("main", "workers")


# --------------------------------------------------------------------------- running


@dataclass
class RunResult:
    scenario: str
    server: str
    run: int
    ok: bool
    data: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def log(msg: str) -> None:
    print(f"benchmarks: {msg}", file=sys.stderr, flush=True)


def raise_fd_limit() -> int:
    """Raise the soft open-files limit to the hard one (at most FD_LIMIT):
    children inherit it, and the 10,000-client scenarios need it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = FD_LIMIT if hard == resource.RLIM_INFINITY else min(FD_LIMIT, hard)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    """A free port outside the kernel's ephemeral range: the load generator
    takes up to 20,000 ephemeral ports per run, and a server port among them
    could be busy (or the next server's) by the time it is wanted."""
    low, high = 32768, 60999
    with contextlib.suppress(OSError, ValueError):
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    candidates = [p for p in range(10000, 65000) if not low <= p <= high]
    for _ in range(200):
        port = random.choice(candidates)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port outside the ephemeral range")


def pinned(cmd: list[str], cpu: int | None) -> list[str]:
    return ["taskset", "-c", str(cpu), *cmd] if cpu is not None else cmd


def wait_listening(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before listening")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {timeout:.0f}s")


def descendants(pid: int) -> list[int]:
    """Every process under pid (its workers, theirs), from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            text = stat.read_text()
            # the command name, in parentheses, may hold spaces: the fields follow the last ')'
            ppid = int(text[text.rindex(")") + 2 :].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def wait_workers(spec: ServerSpec, port: int, proc: subprocess.Popen[bytes]) -> None:
    """Wait until every worker of a server with workers serves: the processes
    are there and, where the spec can tell, each has its link socket. Clients
    that came before a worker was up would all land on the others."""
    deadline = time.monotonic() + 30.0
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} before its workers ran")
        if len(descendants(proc.pid)) >= spec.workers and (spec.ready is None or spec.ready(port)):
            # then a settle, for every server with workers: a hubbub worker
            # retries linking to the others at least once a second, and a
            # broadcast sent before the link is up misses the other's clients
            time.sleep(1.5)
            return
        time.sleep(0.05)
    raise RuntimeError(f"the server's {spec.workers} workers did not start within 30s")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL: the load generator has already reset every
    connection, so a slow graceful shutdown would only cost time. Workers
    still there after their parent are killed too."""
    if proc.poll() is not None:
        return
    workers = descendants(proc.pid)
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=3)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for pid in workers:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)


def server_pid(proc: subprocess.Popen[bytes]) -> int:
    """taskset execs the server, so the pid is the server's own (its RSS)."""
    return proc.pid


def scenario_clients(sc: Scenario, cfg: Config) -> int:
    """The clients a scenario opens: idle-max's come from the open-files limit."""
    return cfg.max_clients if sc.key == "idle-max" else sc.clients


def loadgen_args(sc: Scenario, spec: ServerSpec, cfg: Config, port: int) -> list[str]:
    proto = {"ws": spec.ws_proto, "polling": "polling", "v09": "v09"}[sc.transport]
    clients = scenario_clients(sc, cfg)
    duration = cfg.idle_hold if sc.idle else cfg.duration
    args = (
        f"--port {port} --proto {proto} --scenario {sc.loadgen} --clients {clients} --quiet "
        f"--warmup {cfg.warmup} --duration {duration} --concurrency {sc.connect_concurrency} "
        f"--setup-timeout {cfg.setup_timeout}"
    ).split()
    if sc.loadgen in ("fanout", "chat"):
        # One event per trigger, and about 80,000 deliveries in flight whatever
        # the room size: enough to keep every server busy (several triggers
        # per loop tick, if it batches), little enough that none is measured
        # by its buffers, or a slow one by a backlog it never gets through.
        window = max(2, FANOUT_IN_FLIGHT // clients)
        args += ["--batch", "1", "--window", str(window)]
        # with workers, wait at the end for every delivery owed (a broadcast
        # must reach the other workers' clients too); the main section does not
        args += ["--drain", str(WORKERS_DRAIN if sc.section == "workers" else 0)]
    if clients > 10_000:
        args += ["--source-ips", "8"]
    if sc.idle:
        args += f"--settle 1 --ping-interval {cfg.ping_interval} --ping-slack 0.5".split()
    return args


def takes_part(sc: Scenario, spec: ServerSpec) -> bool:
    """Whether the scenario runs against the server."""
    if sc.section not in spec.sections:
        return False
    if sc.transport == "polling" and not spec.polling:
        return False
    return spec.v09 if sc.transport == "v09" else not spec.only_v09


def per_worker(data: dict[str, Any], spec: ServerSpec) -> dict[str, Any]:
    """From the load generator's per-process lists (the server's process tree,
    root first): the clients each serving process gained and the share of the
    busiest, for a server with workers (its root only routes or supervises)."""
    sockets = data.get("server_proc_new_sockets") or []
    serving = sockets[1:] if spec.workers > 1 else sockets[:1]
    if len(serving) < spec.workers or min(serving) < 0 or not sum(serving):
        return {}
    return {"busiest_worker_clients_pct": 100.0 * max(serving) / sum(serving)}


def run_one(
    sc: Scenario, spec: ServerSpec, cfg: Config, peers: Peers, run: int, logs: Path
) -> RunResult:
    port = free_port()
    # a server with workers spans the cores: the whole section runs unpinned
    server_cpu, loadgen_cpu = (
        (cfg.server_cpu, cfg.loadgen_cpu) if sc.section == "main" else (None, None)
    )
    env = spec.env(peers)
    if sc.idle:
        env["BENCH_PING_INTERVAL"] = str(cfg.ping_interval)
        env["BENCH_PING_TIMEOUT"] = str(cfg.ping_timeout)
    log_path = logs / f"{sc.key}.{spec.key}.{run}.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen(
            pinned(spec.command(port, peers), server_cpu),
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            wait_listening(port, proc)
            if spec.workers > 1:
                wait_workers(spec, port, proc)
            time.sleep(0.3)  # let start-up settle before the baseline RSS is read
            cmd = pinned(
                [
                    str(peers.loadgen),
                    *loadgen_args(sc, spec, cfg, port),
                    "--server-pid",
                    str(server_pid(proc)),
                ],
                loadgen_cpu,
            )
            limit = 180 + cfg.warmup + cfg.duration + cfg.idle_hold
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=limit, check=False)
            if res.returncode != 0 or not res.stdout.strip():
                raise RuntimeError(
                    f"load generator exited with {res.returncode}: {res.stderr.strip()[-500:]}"
                )
            data: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
            alive = proc.poll() is None
        except (RuntimeError, subprocess.TimeoutExpired, json.JSONDecodeError) as exc:
            error = str(exc)
            if proc.poll() is not None:
                # a server that stopped says why in its last line (the wrong build, say)
                last = log_path.read_text(errors="replace").strip().splitlines()[-1:]
                error += "".join(f": {line}" for line in last)
            return RunResult(sc.key, spec.key, run, False, error=error)
        finally:
            stop(proc)
            shutil.rmtree(ipc_dir(port), ignore_errors=True)
    data.update(per_worker(data, spec))
    wanted = data["clients"]
    problems = []
    if not alive:
        problems.append("the server died during the run")
    ready = data.get("clients_ready", 0)
    if ready < wanted and not sc.idle:
        # idle scenarios report how many the server held instead
        problems.append(
            f"only {ready} of {wanted} clients connected (stalled: {data.get('stalled')})"
        )
    if ready and not sc.idle and not data.get(sc.metrics[0].field):
        problems.append(f"no {sc.metrics[0].label} in the measuring window")
    if data.get("bad_payloads", 0):
        problems.append(f"{data['bad_payloads']} acks with a wrong payload")
    owed = data.get("deliveries_expected", 0)
    if sc.section == "workers" and owed and data.get("deliveries_total", 0) < owed:
        # every event must reach every member of the room, whichever worker holds it
        problems.append(
            f"{data['deliveries_total']:,} of {owed:,} deliveries arrived "
            f"({data.get('delivered_pct', 0):.2f}%)"
        )
    if problems:
        return RunResult(sc.key, spec.key, run, False, data, "; ".join(problems))
    return RunResult(sc.key, spec.key, run, True, data)


def summarise(results: list[RunResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per scenario and server: the median of every numeric field over the
    runs that succeeded, their count, and the errors of those that did not."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for r in results:
        cell = out.setdefault(r.scenario, {}).setdefault(
            r.server, {"runs": 0, "ok_runs": 0, "errors": [], "samples": {}}
        )
        cell["runs"] += 1
        if r.ok:
            cell["ok_runs"] += 1
            for k, v in r.data.items():
                if isinstance(v, (int, float)):
                    cell["samples"].setdefault(k, []).append(v)
        elif r.error:
            cell["errors"].append(r.error)
    for per_server in out.values():
        for cell in per_server.values():
            cell["median"] = {k: statistics.median(v) for k, v in cell["samples"].items()}
    return out


def machine_info(cfg: Config, nofile: int) -> dict[str, Any]:
    cpu = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kb = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kb = int(Path("/proc/meminfo").read_text().split("\n")[0].split()[1])
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gb": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "os": platform.platform(),
        "loadavg_at_start": os.getloadavg(),
        "open_files_limit": nofile,
        "server_cpu": cfg.server_cpu,
        "loadgen_cpu": cfg.loadgen_cpu,
    }


def ipc_cost(cfg: Config) -> dict[str, Any] | None:
    """The IPC adapter's CPU cost per broadcast per other worker
    (benchmarks/ipc_cost.py): a few seconds, no clients."""
    n = 20_000 if cfg.quick else 50_000
    cmd = [sys.executable, "-m", "benchmarks.ipc_cost", "--n", str(n), "--json"]
    try:
        res = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired:
        log("ipc_cost: timed out")
        return None
    if res.returncode != 0 or not res.stdout.strip():
        log(f"ipc_cost failed: {res.stderr.strip()[-300:]}")
        return None
    found: dict[str, Any] = json.loads(res.stdout.strip().splitlines()[-1])
    log(f"ipc_cost: {found['per_other_worker_us']:.1f} us per broadcast per other worker")
    return found


def build_config(args: argparse.Namespace, nofile: int) -> Config:
    ncpu = os.cpu_count() or 1
    server_cpu: int | None = args.server_cpu
    loadgen_cpu: int | None = args.loadgen_cpu
    if ncpu < 2:
        server_cpu = loadgen_cpu = None  # nothing to pin apart; the report says so
    quick = bool(args.quick)
    return Config(
        quick=quick,
        runs=args.runs if args.runs else (1 if quick else 3),
        warmup=0.5 if quick else 1.0,
        duration=2.0 if quick else 4.0,
        # Every client must see at least one ping gap (its connection to its
        # first ping) after the last one connected: hold an interval and a bit.
        # 8 s is 3 times Node's default rate, short enough to fit the run,
        # long enough that the heartbeats do not become the load themselves.
        idle_hold=6.0 if quick else 9.0,
        ping_interval=5.0 if quick else 8.0,
        ping_timeout=20.0,
        setup_timeout=30.0 if quick else 45.0,
        max_clients=nofile - FD_HEADROOM,
        server_cpu=server_cpu,
        loadgen_cpu=loadgen_cpu,
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="hubbub side by side with Node socket.io, python-socketio and a raw "
        "websocket ceiling; writes docs/benchmarks.md and docs/benchmarks.png",
    )
    p.add_argument("--quick", action="store_true", help="short runs, one each: a smoke check")
    p.add_argument("--runs", type=int, default=0, help="runs per cell (default 3, quick 1)")
    p.add_argument(
        "--servers",
        default="",
        help="comma-separated subset of: " + ", ".join(s.key for s in SERVERS),
    )
    p.add_argument(
        "--scenarios",
        default="",
        help="comma-separated subset of: "
        + ", ".join(s.key for s in SCENARIOS)
        + "; or a section: main, workers (the section with 1 and 2 workers)",
    )
    p.add_argument(
        "--out",
        type=Path,
        default=None,
        help="report path (default docs/benchmarks.md; with --quick "
        "benchmarks/results/quick.md, so a smoke check never replaces the report)",
    )
    p.add_argument("--server-cpu", type=int, default=0)
    p.add_argument("--loadgen-cpu", type=int, default=1)
    p.add_argument(
        "--note", default="", help="a line printed at the top of the report (e.g. 'shared machine')"
    )
    p.add_argument("--no-install", action="store_true", help="use the peers already installed")
    p.add_argument(
        "--report-only",
        type=Path,
        default=None,
        metavar="RESULTS_JSON",
        help="rewrite the report from a results file, run nothing",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from benchmarks import report

    args = parse_args(argv)
    if args.report_only is not None:
        saved: dict[str, Any] = json.loads(args.report_only.read_text())
        if args.note:
            saved["note"] = args.note
        peers_python = saved.get("peers_python")
        report.write(
            saved, args.out or Path(saved["out"]), Path(peers_python) if peers_python else None
        )
        return 0

    nofile = raise_fd_limit()
    cfg = build_config(args, nofile)
    peers = peers_mod.ensure_all(install=not args.no_install)
    wanted_servers = {s for s in args.servers.split(",") if s}
    wanted_scenarios = {s for s in args.scenarios.split(",") if s}
    unknown = wanted_scenarios - {s.key for s in SCENARIOS} - set(SECTIONS)
    unknown |= wanted_servers - {s.key for s in SERVERS}
    if unknown:
        log(f"unknown scenario or server: {', '.join(sorted(unknown))} (see --help)")
        return 2
    scenarios = [
        s
        for s in SCENARIOS
        if not wanted_scenarios or s.key in wanted_scenarios or s.section in wanted_scenarios
    ]
    servers = [
        s
        for s in SERVERS
        if (not wanted_servers or s.key in wanted_servers)
        and any(sc.section in s.sections for sc in scenarios)
    ]
    skipped_servers = {s.key: why for s in servers if (why := s.unavailable(peers))}
    compiled_build: dict[str, object] | None = None
    if any(s.build == "compiled" and s.key not in skipped_servers for s in servers):
        try:
            compiled.ensure_compiled()
            compiled_build = compiled.describe()
        except (RuntimeError, OSError, subprocess.CalledProcessError) as exc:
            for s in servers:
                if s.build == "compiled":
                    skipped_servers.setdefault(s.key, f"no compiled build: {exc}")
    live = [s for s in servers if s.key not in skipped_servers]
    for key, why in skipped_servers.items():
        log(f"skipping {key}: {why}")

    stamp = time.strftime("%Y%m%d-%H%M%S")
    logs = RESULTS_DIR / "logs" / stamp
    logs.mkdir(parents=True, exist_ok=True)
    info = machine_info(cfg, nofile)
    results: list[RunResult] = []
    taken = time.strftime("%Y-%m-%d %H:%M %Z")
    started = time.monotonic()
    for sc in scenarios:
        if sc.skip_reason:
            log(f"{sc.key}: skipped ({sc.skip_reason})")
            continue
        # runs interleaved: run 1 of every server, then run 2 of every
        # server, ...: a drift of the machine (another tenant, thermal) hits
        # every server of the scenario alike instead of one server's runs
        taking_part = [spec for spec in live if takes_part(sc, spec)]
        for run in range(1, cfg.runs + 1):
            for spec in taking_part:
                t0 = time.monotonic()
                r = run_one(sc, spec, cfg, peers, run, logs)
                results.append(r)
                headline = sc.metrics[0].field
                value = r.data.get(headline, "-")
                status = "ok" if r.ok else f"FAILED: {r.error}"
                log(
                    f"{sc.key:<14} {spec.key:<24} run {run}: {headline}={value} "
                    f"({time.monotonic() - t0:.0f}s) {status}"
                )

    ipc = ipc_cost(cfg) if any(sc.section == "workers" for sc in scenarios) else None
    out = args.out or (RESULTS_DIR / "quick.md" if cfg.quick else ROOT / "docs" / "benchmarks.md")
    doc: dict[str, Any] = {
        "taken": taken,
        "note": args.note,
        "elapsed_s": round(time.monotonic() - started),
        "config": {**cfg.__dict__, "interleaved": True},
        "machine": info,
        "versions": peers_mod.versions(peers),
        "servers": [
            {
                "key": s.key,
                "label": s.label,
                "role": s.role,
                "polling": s.polling,
                "build": s.build,
                "sections": list(s.sections),
                "workers": s.workers,
                "one_worker": s.one_worker,
            }
            for s in servers
        ],
        "compiled_build": compiled_build,
        "skipped_servers": skipped_servers,
        "scenarios": [
            {
                "key": s.key,
                "title": s.title,
                "clients": scenario_clients(s, cfg),
                "transport": s.transport,
                "skip_reason": s.skip_reason,
                "section": s.section,
                "connect_concurrency": s.connect_concurrency,
                "metrics": [m.__dict__ for m in s.metrics],
            }
            for s in scenarios
        ],
        "runs": [r.__dict__ for r in results],
        "summary": summarise(results),
        "ipc_cost": ipc,
        "out": str(out),
        "peers_python": str(peers.python) if peers.python else None,
    }
    RESULTS_DIR.mkdir(exist_ok=True)
    results_path = RESULTS_DIR / f"results-{stamp}.json"
    results_path.write_text(json.dumps(doc, indent=1))
    (RESULTS_DIR / "latest.json").write_text(json.dumps(doc, indent=1))
    report.write(doc, out, peers.python)
    log(f"results: {results_path.relative_to(ROOT)}; report: {out}")
    return 0
