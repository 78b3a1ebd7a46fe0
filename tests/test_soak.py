"""The soak command (benchmarks/soak, not part of this suite at full length)
runs end to end: a few whole sessions per runtime and transport, one JSON
report per run with its samples and verdict. No speed is asserted."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import ROOT

pytestmark = pytest.mark.timeout(240)

CYCLES = 60
SAMPLES = 3
FIELDS = {
    "runtime", "transport", "cycles_wanted", "clients", "cycles", "elapsed_s", "cycles_per_s",
    "failures", "server_log_errors", "samples", "rss_kb", "fds", "rss_growth_pct",
    "fd_growth_pct", "verdict", "error", "chunk_rates",
}  # fmt: skip


def test_soak_command_reports_every_run() -> None:
    args = [sys.executable, "-m", "benchmarks.soak", "--cycles", str(CYCLES)]
    args += ["--samples", str(SAMPLES), "--clients", "4", "--settle", "0.1", "--nice", "0"]
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=220)
    runs = [json.loads(line) for line in done.stdout.splitlines()]
    assert [(r["runtime"], r["transport"]) for r in runs] == [
        (runtime, transport)
        for runtime in ("embedded", "uvicorn", "gevent")
        for transport in ("websocket", "polling")
    ], done.stderr
    for run in runs:
        assert set(run) == FIELDS
        where = f"{run['runtime']}/{run['transport']}: {run}"
        assert run["error"] is None, where
        assert run["cycles"] == run["cycles_wanted"] == CYCLES, where
        assert run["failures"] == 0 and run["server_log_errors"] == 0, where
        # a baseline, then one sample per chunk, each [cycles, rss_kb, fds]
        assert [s[0] for s in run["samples"]] == [0, 20, 40, 60], where
        assert all(s[1] > 0 and s[2] > 0 for s in run["samples"]), where
        assert len(run["chunk_rates"]) == SAMPLES and all(r > 0 for r in run["chunk_rates"])
        assert run["rss_kb"]["final"] == run["samples"][-1][1]
        assert run["fds"]["final"] == run["samples"][-1][2]
        # the first sample at or after 20% of the cycles is the warm-up mark
        assert run["rss_kb"]["warm"] == run["samples"][1][1]
        flat = run["rss_growth_pct"] < 5 and run["fd_growth_pct"] < 5
        assert run["verdict"] == ("flat" if flat else "growing"), where
    assert done.returncode == (0 if all(r["verdict"] == "flat" for r in runs) else 1)
    assert "| runtime | transport | cycles |" in done.stderr
