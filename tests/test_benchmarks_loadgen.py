"""The benchmarks' C load generator builds and talks Socket.IO correctly to
hubbub's embedded server. No speed is asserted: only that acks come back with
the payload that was sent."""

from __future__ import annotations

import json
import subprocess
import sys
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
