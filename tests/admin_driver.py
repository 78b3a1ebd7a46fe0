"""Real socket.io-client 4 sockets in one Node process (tests/js/admin_clients.mjs),
for the admin UI tests: an admin socket logs in, app sockets come and go."""

from __future__ import annotations

import itertools
import json
import queue
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from conftest import JS_DIR

SCRIPT = JS_DIR / "admin_clients.mjs"


class ClientError(AssertionError):
    pass


class NodeClients:
    def __init__(self) -> None:
        node = shutil.which("node")
        if node is None or not (JS_DIR / "node_modules" / "socket.io-client").is_dir():
            pytest.fail("node and `npm ci` in tests/js are needed (scripts/test installs them)")
        self.proc = subprocess.Popen(
            [node, str(SCRIPT)],
            cwd=JS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._ids = itertools.count(1)
        self._answers: dict[int, queue.Queue[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            answer = json.loads(line)
            with self._lock:
                box = self._answers.get(answer["id"])
            if box is not None:
                box.put(answer)

    def request(self, op: str, timeout: float = 12.0, **fields: Any) -> Any:
        ident = next(self._ids)
        box: queue.Queue[dict[str, Any]] = queue.Queue()
        with self._lock:
            self._answers[ident] = box
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"id": ident, "op": op, **fields}) + "\n")
        self.proc.stdin.flush()
        try:
            answer = box.get(timeout=timeout)
        except queue.Empty:
            raise ClientError(f"no answer to {op} {fields} in {timeout}s") from None
        finally:
            with self._lock:
                self._answers.pop(ident, None)
        if "error" in answer:
            raise ClientError(f"{op} {fields}: {answer['error']}")
        return answer["ok"]

    def connect(self, name: str, url: str, auth: Any = None, **fields: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.request("connect", name=name, url=url, auth=auth, **fields)
        return result

    def emit(self, name: str, event: str, *args: Any) -> None:
        self.request("emit", name=name, event=event, args=list(args))

    def wait(self, name: str, event: str, count: int = 1, timeout: float = 8.0) -> list[Any]:
        """The args of the first ``count`` ``event``s ``name`` got (waiting for them)."""
        result: list[Any] = self.request(
            "wait", timeout=timeout + 4, name=name, event=event, count=count,
            wait_ms=int(timeout * 1000),
        )
        return result

    def until(
        self, name: str, event: str, check: Callable[[list[Any]], bool], timeout: float = 8.0
    ) -> list[Any]:
        """The args of the first ``event`` ``name`` got for which ``check(args)`` holds."""
        deadline = time.monotonic() + timeout
        while True:
            for e in self.events(name):
                if e[0] == event and check(e[1:]):
                    return e[1:]
            if time.monotonic() > deadline:
                raise ClientError(f"no matching {event!r} on {name} in {timeout}s")
            time.sleep(0.05)

    def events(self, name: str) -> list[list[Any]]:
        result: list[list[Any]] = self.request("events", name=name)
        return result

    def state(self, name: str) -> dict[str, Any]:
        result: dict[str, Any] = self.request("state", name=name)
        return result

    def close(self, name: str) -> None:
        self.request("close", name=name)

    def shutdown(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
