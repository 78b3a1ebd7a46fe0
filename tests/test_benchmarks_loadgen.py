"""The benchmarks' C load generator builds and talks Socket.IO correctly to
hubbub's embedded server. No speed is asserted: only that acks come back with
the payload that was sent."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, free_port, run_process

LOADGEN_SRC = ROOT / "benchmarks" / "loadgen" / "loadgen.c"


@pytest.mark.parametrize("proto", ["sio", "v09"])
def test_loadgen_echo_against_embedded_server(tmp_path: Path, proto: str) -> None:
    exe = tmp_path / "loadgen"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(LOADGEN_SRC)], check=True)
    port = free_port()
    server = [sys.executable, "-m", "hubbub", "run", "benchmarks.servers.hubbub_app:sio"]
    server += ["--port", str(port), "--log-level", "warning"]
    with run_process(server, port):
        args = (
            f"--port {port} --proto {proto} --scenario echo --clients 10 --warmup 0.2 "
            "--duration 1 --quiet"
        )
        res = subprocess.run(
            [str(exe), *args.split()], capture_output=True, text=True, timeout=30, check=True
        )
    result = json.loads(res.stdout)
    assert result["clients_ready"] == 10
    assert result["acks"] > 0
    assert result["bad_payloads"] == 0
    assert result["errors"] == 0 and result["proto_errors"] == 0


@pytest.mark.parametrize("proto", ["sio", "v09"])
def test_loadgen_many_senders_chat_against_embedded_server(tmp_path: Path, proto: str) -> None:
    """The 'chat' scenario: clients take turns sending, each chat is broadcast
    to the room, and every delivery the generator counts is a 'msg' event."""
    exe = tmp_path / "loadgen"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(LOADGEN_SRC)], check=True)
    port = free_port()
    server = [sys.executable, "-m", "hubbub", "run", "benchmarks.servers.hubbub_app:sio"]
    server += ["--port", str(port), "--log-level", "warning"]
    with run_process(server, port):
        args = (
            f"--port {port} --proto {proto} --scenario chat --clients 10 --warmup 0.2 "
            "--duration 1 --batch 2 --window 2 --quiet"
        )
        res = subprocess.run(
            [str(exe), *args.split()], capture_output=True, text=True, timeout=30, check=True
        )
    result = json.loads(res.stdout)
    assert result["scenario"] == "chat"
    assert result["clients_ready"] == 10
    assert result["deliveries"] > 0
    # every chat reaches the whole room at most once per member
    assert result["deliveries"] <= result["triggers"] * 10
    assert result["errors"] == 0 and result["proto_errors"] == 0


@pytest.mark.parametrize("scenario", ["fanout", "chat"])
def test_loadgen_counts_a_server_with_workers(tmp_path: Path, scenario: str) -> None:
    """Against ``hubbub run --workers 2``: the server's CPU is summed over the
    supervisor and its workers, the clients are the workers' sockets, and
    after the window the generator waits for every delivery owed, so a
    broadcast that missed the other worker's clients would show."""
    exe = tmp_path / "loadgen"
    subprocess.run(["gcc", "-O2", "-o", str(exe), str(LOADGEN_SRC)], check=True)
    port = free_port()
    ipc = tmp_path / "ipc"
    server = [sys.executable, "-m", "hubbub", "run", "benchmarks.servers.hubbub_app:sio"]
    server += ["--port", str(port), "--log-level", "warning", "--workers", "2"]
    server += ["--ipc-dir", str(ipc)]
    with run_process(server, port) as proc:
        deadline = time.monotonic() + 20
        while len(list(ipc.glob("*.sock"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        # a worker retries linking to the others at least once a second, and
        # broadcasts sent before the link is up do not reach the other worker
        time.sleep(1.5)
        args = (
            f"--port {port} --proto sio --scenario {scenario} --clients 20 --concurrency 2 "
            "--warmup 0.2 --duration 1 --batch 1 --window 4 --drain 10 --quiet "
            f"--server-pid {proc.pid}"
        )
        res = subprocess.run(
            [str(exe), *args.split()], capture_output=True, text=True, timeout=60, check=True
        )
    result = json.loads(res.stdout)
    assert result["clients_ready"] == 20, result
    assert result["deliveries_expected"] > 0
    assert result["deliveries_total"] == result["deliveries_expected"]
    assert result["server_procs"] == 3
    # the supervisor gained no socket; the workers hold every client
    sockets = result["server_proc_new_sockets"]
    assert sockets[0] == 0 and sum(sockets[1:]) >= 20
    # the server's CPU is the whole tree's
    assert result["server_cpu_pct"] == pytest.approx(sum(result["server_proc_cpu_pct"]), abs=1)
    assert result["errors"] == 0 and result["proto_errors"] == 0
