"""hubbub's own client (hubbub.AsyncClient, and the blocking hubbub.Client in
threads and under gevent) against real servers over real sockets: Node
socket.io 4.8, 2.x (Engine.IO 3) and 0.9.17, python-socketio 5, and hubbub
on the embedded server, uvicorn and gevent (``client_scenarios.PEERS``).

Every scenario of ``client_scenarios.py`` that a peer supports runs with
each client: connect with auth, refusal with data, acks both ways with a
timeout, binary both ways, msgpack, forced transports and the upgrade, a
server restart and the reconnection, recovery with no missed and no
duplicated event, a server-side disconnect.

AsyncClient and the blocking Client in threads run against every peer. The
blocking Client under gevent (one subprocess per peer, ``client_runner.py``:
gevent must patch first) is the threads client on patched threads and
sockets, so it runs every scenario against one peer per server generation
and parser (``GEVENT_PEERS``): hubbub's uvicorn and gevent runtimes, and the
other msgpack servers, would only repeat, at a subprocess each, what the
async and threads runs already check against them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import free_port

sys.path.insert(0, str(Path(__file__).resolve().parent))

import client_scenarios
from client_scenarios import PEERS, Peer, applicable

RUNNER = Path(__file__).with_name("client_runner.py")

pytestmark = pytest.mark.timeout(60)

CASES = [(kind, name) for kind in PEERS for name in applicable(kind)]
GEVENT_PEERS = ("node4", "node4-msgpack", "node2", "node09", "psio", "hubbub-embedded")
GEVENT_CASES = [(kind, name) for kind in GEVENT_PEERS for name in applicable(kind)]


@pytest.fixture(scope="module")
def peers() -> Iterator[dict[str, Peer]]:
    started: dict[str, Peer] = {}
    yield started
    for peer in started.values():
        peer.stop()


def _peer(peers: dict[str, Peer], kind: str) -> Peer:
    peer = peers.get(kind)
    if peer is None:
        peer = peers[kind] = Peer(kind, free_port())
        peer.start()
    return peer


@pytest.mark.parametrize(("kind", "scenario"), CASES, ids=[f"{k}-{n}" for k, n in CASES])
@pytest.mark.parametrize("mode", ["async", "threads"])
def test_client(peers: dict[str, Peer], kind: str, scenario: str, mode: str) -> None:
    client_scenarios.run(_peer(peers, kind), scenario, mode)


_GEVENT: dict[str, dict[str, Any]] = {}


def _gevent_results(kind: str) -> dict[str, Any]:
    if kind not in _GEVENT:
        proc = subprocess.run(
            [sys.executable, str(RUNNER), kind, str(free_port())],
            capture_output=True, text=True, timeout=240,
        )
        results = {}
        for line in proc.stdout.splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                results[row["scenario"]] = row
        if not results:
            results["*"] = {"ok": False, "error": proc.stdout + proc.stderr}
        _GEVENT[kind] = results
    return _GEVENT[kind]


@pytest.mark.timeout(250)
@pytest.mark.parametrize(("kind", "scenario"), GEVENT_CASES,
                         ids=[f"{k}-{n}" for k, n in GEVENT_CASES])
def test_client_under_gevent(kind: str, scenario: str) -> None:
    results = _gevent_results(kind)
    row = results.get(scenario) or results.get("*")
    assert row is not None, f"{scenario} did not run"
    assert row["ok"], row["error"]
