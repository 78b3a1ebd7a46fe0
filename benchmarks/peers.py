"""Install what the benchmarks compare hubbub with, in places of their own.

- benchmarks/.venv-peers: python-socketio 5.x, uvicorn, picows (the ceiling)
  and matplotlib for the chart, so none of it leaks into hubbub's venv;
- benchmarks/node/node_modules: socket.io 4.8 from npm (default ws engine), and
  @socket.io/sticky with @socket.io/cluster-adapter for its cluster;
- benchmarks/node09/node_modules: socket.io 0.9.17, the 0.9 protocol's server;
- benchmarks/build/loadgen: the C load generator, gcc -O2.

All of them are git-ignored and rebuilt only when missing or out of date.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
PEERS_VENV = BENCH_DIR / ".venv-peers"
PEERS_PYTHON = PEERS_VENV / "bin" / "python"
NODE_DIR = BENCH_DIR / "node"
NODE09_DIR = BENCH_DIR / "node09"
BUILD_DIR = BENCH_DIR / "build"
LOADGEN_SRC = BENCH_DIR / "loadgen" / "loadgen.c"
LOADGEN = BUILD_DIR / "loadgen"

# Ranges, not pins: the report records the versions each run actually used.
PEER_REQUIREMENTS = [
    "python-socketio>=5,<6",
    "uvicorn[standard]>=0.30",
    "uvloop>=0.19",
    "picows>=1.0",
    "matplotlib>=3.7",
]
PEER_DISTRIBUTIONS = [
    "python-socketio",
    "python-engineio",
    "uvicorn",
    "uvloop",
    "websockets",
    "httptools",
    "picows",
    "matplotlib",
]
HUBBUB_DISTRIBUTIONS = [
    "hubbub",
    "uvicorn",
    "uvloop",
    "websockets",
    "httptools",
    "orjson",
    "gevent",
]
NODE_PACKAGES = [
    "socket.io",
    "engine.io",
    "ws",
    "@socket.io/sticky",
    "@socket.io/cluster-adapter",
    "socket.io-adapter",
]


@dataclass
class Peers:
    """What is available, and why not where something is missing."""

    python: Path | None = None
    node: str | None = None
    loadgen: Path | None = None
    missing: dict[str, str] = field(default_factory=dict)


def _log(msg: str) -> None:
    print(f"benchmarks: {msg}", file=sys.stderr, flush=True)


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    _log("$ " + " ".join(cmd))
    subprocess.run(cmd, cwd=cwd, check=True)


def ensure_peers_venv() -> Path:
    stamp = PEERS_VENV / ".requirements"
    wanted = hashlib.sha256("\n".join(PEER_REQUIREMENTS).encode()).hexdigest()
    if PEERS_PYTHON.exists() and stamp.exists() and stamp.read_text() == wanted:
        return PEERS_PYTHON
    if not PEERS_PYTHON.exists():
        # the interpreter running the harness: same Python version for every
        # Python server, so the comparison is between servers, not interpreters
        _run([sys.executable, "-m", "venv", str(PEERS_VENV)])
    _run([str(PEERS_PYTHON), "-m", "pip", "install", "-q", "--upgrade", "pip"])
    _run([str(PEERS_PYTHON), "-m", "pip", "install", "-q", *PEER_REQUIREMENTS])
    stamp.write_text(wanted)
    return PEERS_PYTHON


def node_missing(folder: Path) -> list[str]:
    """The dependencies of folder/package.json not installed under it."""
    wanted: dict[str, str] = json.loads((folder / "package.json").read_text())["dependencies"]
    return [
        name for name in wanted if not (folder / "node_modules" / name / "package.json").exists()
    ]


def ensure_node() -> str:
    node = shutil.which("node")
    npm = shutil.which("npm")
    if node is None or npm is None:
        raise RuntimeError("node and npm are not installed (apt-get install nodejs npm)")
    for folder in (NODE_DIR, NODE09_DIR):
        if node_missing(folder):
            # no lockfile: nothing installed is committed, package.json pins
            # the version; 0.9's optional native builds are not needed
            _run(
                [npm, "install", "--no-audit", "--no-fund", "--no-package-lock",
                 "--ignore-scripts", "--loglevel=error"],
                cwd=folder,
            )
    return node


def ensure_loadgen() -> Path:
    gcc = shutil.which("gcc")
    if gcc is None:
        raise RuntimeError("gcc is not installed")
    if LOADGEN.exists() and LOADGEN.stat().st_mtime >= LOADGEN_SRC.stat().st_mtime:
        return LOADGEN
    BUILD_DIR.mkdir(exist_ok=True)
    _run([gcc, "-O2", "-Wall", "-Wextra", "-o", str(LOADGEN), str(LOADGEN_SRC)])
    return LOADGEN


def ensure_all(install: bool = True) -> Peers:
    peers = Peers()
    peers.loadgen = ensure_loadgen()
    try:
        peers.python = (
            ensure_peers_venv() if install else (PEERS_PYTHON if PEERS_PYTHON.exists() else None)
        )
        if peers.python is None:
            peers.missing["python-peers"] = "benchmarks/.venv-peers is missing (--no-install)"
    except (subprocess.CalledProcessError, OSError) as exc:
        peers.missing["python-peers"] = f"installing python-socketio/picows failed: {exc}"
    try:
        peers.node = ensure_node() if install else shutil.which("node")
    except (subprocess.CalledProcessError, OSError, RuntimeError) as exc:
        peers.missing["node"] = f"installing socket.io failed: {exc}"
    return peers


def _versions_here(names: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for name in names:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            found[name] = importlib.metadata.version(name)
    return found


def versions(peers: Peers) -> dict[str, dict[str, str]]:
    """Versions of everything under test, by where it runs."""
    out: dict[str, dict[str, str]] = {
        "hubbub venv": {"python": sys.version.split()[0], **_versions_here(HUBBUB_DISTRIBUTIONS)}
    }
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "describe", "--always", "--dirty"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    if commit:
        out["hubbub venv"]["hubbub commit"] = commit
    if peers.python is not None:
        script = (
            "import importlib.metadata as m, json, sys\n"
            f"names = {PEER_DISTRIBUTIONS!r}\n"
            "v = {'python': sys.version.split()[0]}\n"
            "for n in names:\n"
            "    try: v[n] = m.version(n)\n"
            "    except m.PackageNotFoundError: pass\n"
            "print(json.dumps(v))\n"
        )
        res = subprocess.run(
            [str(peers.python), "-c", script], capture_output=True, text=True, check=False
        )
        if res.returncode == 0:
            out["peers venv"] = json.loads(res.stdout)
    if peers.node is not None:
        node_v = {
            "node": subprocess.run(
                [peers.node, "--version"], capture_output=True, text=True, check=False
            ).stdout.strip()
        }
        for pkg in NODE_PACKAGES:
            manifest = NODE_DIR / "node_modules" / pkg / "package.json"
            if manifest.exists():
                node_v[pkg] = json.loads(manifest.read_text())["version"]
        manifest = NODE09_DIR / "node_modules" / "socket.io" / "package.json"
        if manifest.exists():
            node_v["socket.io (0.9 peer)"] = json.loads(manifest.read_text())["version"]
        out["node"] = node_v
    gcc = subprocess.run(["gcc", "--version"], capture_output=True, text=True, check=False)
    out["load generator"] = {"gcc": gcc.stdout.split("\n", 1)[0], "flags": "-O2"}
    return out


def env_without_venv() -> dict[str, str]:
    """The environment for a peer process: no trace of hubbub's venv, so the
    peers venv's own packages are the ones imported."""
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    env.pop("PYTHONPATH", None)
    return env
