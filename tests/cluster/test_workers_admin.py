"""The admin UI across the workers of one machine: a UI connected to one
worker hears every worker's server stats, each under its own server id,
through the workers' IPC adapter (as across a Redis cluster)."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from cluster_fixtures import Process

import hubbub
from conftest import free_port

pytestmark = pytest.mark.timeout(90)

APP = Path(__file__).with_name("admin_workers_app.py")


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
def test_the_admin_ui_sees_every_worker(runtime: str, tmp_path: Path) -> None:
    port = free_port()
    proc = Process("admin", [sys.executable, str(APP), str(port), runtime], port,
                   tmp_path / "admin.log")
    client = hubbub.Client()
    seen: dict[str, dict[str, Any]] = {}
    both = threading.Event()

    def on_stats(stats: dict[str, Any]) -> None:
        seen[stats["serverId"]] = stats
        if len(seen) >= 2:
            both.set()

    client.on("server_stats", on_stats, namespace="/admin")
    try:
        proc.wait_ready(30)
        deadline = time.monotonic() + 30
        while True:  # until both workers have started (the supervisor logs each)
            try:
                client.connect(proc.url, namespaces=["/admin"], transports=["websocket"])
                break
            except hubbub.ClientConnectionError:
                assert time.monotonic() < deadline, proc.log()
                time.sleep(0.2)
        assert both.wait(30), (seen, proc.log())
        pids = {stats["pid"] for stats in seen.values()}
        assert len(pids) == 2 and proc.proc.pid not in pids, seen
        assert all("/admin" in {n["name"] for n in s["namespaces"]} for s in seen.values())
    finally:
        client.disconnect()
        proc.stop()
