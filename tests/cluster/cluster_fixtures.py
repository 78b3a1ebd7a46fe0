"""Helpers and fixtures of the cluster tests, imported by the test modules: a
real redis-server, hubbub and Node socket.io processes, and real
socket.io-client 4 sockets hosted by one Node process."""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import JS_DIR, ROOT, free_port, wait_for_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
NODE = shutil.which("node")
APP = Path(__file__).with_name("cluster_app.py")
HAS_GEVENT_RUNTIME = (ROOT / "src" / "hubbub" / "runtime" / "gevent" / "server.py").is_file()

if not Path(REDIS_SERVER).is_file():
    pytest.fail("redis-server is needed for tests/cluster", pytrace=False)
if NODE is None or not (JS_DIR / "node_modules" / "@socket.io" / "redis-adapter").is_dir():
    pytest.fail("node and `npm ci` in tests/js are needed for tests/cluster", pytrace=False)


class RedisServer:
    """A redis-server on a free port, without persistence; restartable on that port."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.starts += 1
        log = open(self.log_dir / f"redis-{self.port}-{self.starts}.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                REDIS_SERVER,
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--bind",
                "127.0.0.1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        wait_for_port(self.port, 10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.proc = None

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def module_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


class Process:
    """A server process whose output goes to a file (read it with :meth:`log`)."""

    def __init__(self, name: str, args: list[str], port: int, log_path: Path) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        env["PYTHONPATH"] = os.pathsep.join(
            [str(ROOT / "src"), *filter(None, [env.get("PYTHONPATH")])]
        )
        with open(log_path, "wb") as out:
            self.proc = subprocess.Popen(
                args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )

    def wait_ready(self, timeout: float = 15.0) -> None:
        try:
            wait_for_port(self.port, timeout, proc=None)
        except TimeoutError:
            raise RuntimeError(f"{self.name} did not start:\n{self.log()}") from None
        if self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} exited:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(5)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def hub(
    name: str,
    adapter: str,
    log_dir: Path,
    runtime: str = "asyncio",
    recovery: bool = False,
    children: str | None = None,
) -> Process:
    """``children``: "keep" or "cleanup" serves cluster_app's dynamic namespace."""
    port = free_port()
    args = [sys.executable, str(APP), "--port", str(port), "--adapter", adapter, "--name", name]
    args += ["--runtime", runtime]  # asyncio, gevent or uvicorn (ASGIApp)
    if recovery:
        args.append("--recovery")
    if children is not None:
        args += ["--children", children]
    return Process(name, args, port, log_dir / f"{name}.log")


def node_server(
    name: str, redis_url: str, kind: str, log_dir: Path, recovery: bool = False
) -> Process:
    assert NODE is not None
    port = free_port()
    args = [NODE, str(JS_DIR / "cluster_node_server.mjs"), str(port), redis_url, kind, name]
    if recovery:
        args.append("--recovery")
    return Process(name, args, port, log_dir / f"{name}.log")


@contextlib.contextmanager
def running(*procs: Process) -> Iterator[tuple[Process, ...]]:
    try:
        for p in procs:
            p.wait_ready()
        yield procs
    finally:
        for p in procs:
            p.stop()


def wait_until(check: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def wait_subscribers(
    redis: RedisServer, channel: str, count: int, sharded: bool = False, timeout: float = 10.0
) -> None:
    client = redis.client()
    try:

        def check() -> bool:
            if sharded:
                return int(client.pubsub_shardnumsub(channel)[0][1]) == count
            return int(client.pubsub_numsub(channel)[0][1]) == count

        wait_until(check, timeout, f"{count} subscribers of {channel}")
    finally:
        client.close()


# what the client scripts give an operation when told nothing
NODE_TIMEOUT_MS = 8000


class ClientError(AssertionError):
    pass


class Clients:
    """socket.io-client 4 sockets in one Node process (tests/js/cluster_clients.mjs),
    or the clients of another script that answers the same commands."""

    def __init__(self, script: str = "cluster_clients.mjs", log: Path | None = None) -> None:
        assert NODE is not None
        self.log_path = log
        with open(log or os.devnull, "wb") as err:
            self.proc = subprocess.Popen(
                [NODE, str(JS_DIR / script)],
                cwd=JS_DIR,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        self._ids = itertools.count()
        self._answers: dict[int, queue.SimpleQueue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if not line.startswith("{"):
                continue
            answer = json.loads(line)
            with self._lock:
                box = self._answers.get(answer.get("id"))
            if box is not None:
                box.put(answer)

    def request(self, op: str, timeout: int | None = None, **fields: Any) -> Any:
        """``timeout``: milliseconds the Node side gives the operation (its
        default when None); the answer is awaited a little longer, so that
        Node's own timeout error, which says what was waited for, comes first."""
        if timeout is not None:
            fields["timeout"] = timeout
        within = (timeout or NODE_TIMEOUT_MS) / 1000 + 2.0
        rid = next(self._ids)
        box: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
        with self._lock:
            self._answers[rid] = box
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"id": rid, "op": op, **fields}) + "\n")
        self.proc.stdin.flush()
        try:
            answer = box.get(timeout=within)
        except queue.Empty:
            raise ClientError(f"no answer to {op} {fields} within {within}s") from None
        finally:
            with self._lock:
                self._answers.pop(rid, None)
        if "error" in answer:
            raise ClientError(f"{op} {fields}: {answer['error']}")
        return answer["ok"]

    # shorthands
    def connect(self, name: str, url: str, **options: Any) -> dict[str, Any]:
        """options: transports, ack_delay (ms before answering 'poll'), reconnection."""
        if "ack_delay" in options:
            options["ackDelay"] = options.pop("ack_delay")
        result: dict[str, Any] = self.request("connect", name=name, url=url, **options)
        return result

    def send(self, name: str, event: str, *args: Any) -> None:
        self.request("send", name=name, event=event, args=list(args))

    def emit(self, name: str, event: str, *args: Any, timeout: int = 8000) -> Any:
        return self.request("emit", name=name, event=event, args=list(args), timeout=timeout)

    def call(self, name: str, event: str, *args: Any, timeout: int = 8000) -> Any:
        return self.request("call", name=name, event=event, args=list(args), timeout=timeout)

    def wait(self, name: str, event: str, count: int = 1, timeout: int = 8000) -> list[Any]:
        result: list[Any] = self.request(
            "wait", name=name, event=event, count=count, timeout=timeout
        )
        return result

    def events(self, name: str, clear: bool = False) -> list[list[Any]]:
        result: list[list[Any]] = self.request("events", name=name, clear=clear)
        return result

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


@pytest.fixture
def clients() -> Iterator[Clients]:
    c = Clients()
    try:
        yield c
    finally:
        c.close()
