"""Shared fixtures: real servers on free ports, in a subprocess or a thread."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
JS_DIR = ROOT / "tests" / "js"
# the checkout's own packages beside src/ (benchmarks: its report and build
# helpers have tests)
if str(ROOT) not in sys.path:
    sys.path.append(str(ROOT))


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


_LOW, _HIGH = _ephemeral_range()
_PORTS = [p for p in range(10000, 65000) if not _LOW <= p <= _HIGH]


def free_port() -> int:
    """A free port outside the kernel's ephemeral range.

    A client that keeps reconnecting to a stopped server on localhost can,
    when the kernel gives its socket the server's port as its own, connect
    to itself (TCP simultaneous open) and hold the port, so the restarted
    server cannot bind it. Ports the kernel never hands to clients avoid that.
    """
    for _ in range(200):
        port = random.choice(_PORTS)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port outside the ephemeral range")


def wait_for_port(
    port: int, timeout: float = 15.0, proc: subprocess.Popen[bytes] | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
            raise RuntimeError(f"server exited with {proc.returncode}:\n{out}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port} after {timeout}s")


@contextlib.contextmanager
def run_process(
    args: list[str], port: int, env: dict[str, str] | None = None, timeout: float = 15.0
) -> Iterator[subprocess.Popen[bytes]]:
    """Start a server process, wait (up to ``timeout``) for its port, stop it afterwards."""
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    proc = subprocess.Popen(
        args, cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_for_port(port, timeout, proc=proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        if proc.stdout:
            proc.stdout.close()


@contextlib.contextmanager
def run_example(
    name: str, *extra: str, port: int | None = None, timeout: float = 15.0
) -> Iterator[str]:
    """Run ``examples/<name>`` on a free port; yields its base URL."""
    port = port or free_port()
    args = [
        sys.executable,
        str(EXAMPLES / name),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        *extra,
    ]
    with run_process(args, port, timeout=timeout):
        yield f"http://127.0.0.1:{port}"


RUNTIMES = ["embedded", "uvicorn", "gevent"]


def runtime_flags(runtime: str) -> tuple[str, ...]:
    """The command-line flags of the examples and test apps for ``runtime``."""
    return {"uvicorn": ("--asgi",), "gevent": ("--runtime", "gevent")}.get(runtime, ())


@pytest.fixture(scope="module", params=RUNTIMES)
def echo_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """examples/engineio_echo.py on the embedded server, under uvicorn and on gevent."""
    with run_example("engineio_echo.py", *runtime_flags(request.param)) as url:
        yield url


class ServerThread:
    """An embedded hubbub server with any options, on its own loop in a thread.

    For tests that need a configuration the examples do not have. The
    clients still talk to it over real sockets.
    """

    def __init__(
        self,
        app: Any,
        asgi_app: Any = None,
        limits: Any = None,
        uvicorn: bool = False,
        gevent: bool = False,
        wsgi_app: Any = None,
    ) -> None:
        self.app = app
        self.asgi_app = asgi_app
        # under gevent, the other WSGI app: the WSGIApp is made on the
        # server's thread, whose hub its runtime then uses
        self.wsgi_app = wsgi_app
        self.limits = limits
        self.uvicorn = uvicorn
        self.gevent = gevent
        self._hub: Any = None
        self.port = free_port()
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self) -> None:
        if self.gevent:
            self._run_gevent()
            return
        asyncio.set_event_loop(self.loop)
        try:
            self.loop.run_until_complete(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        import hubbub

        self._stop = asyncio.Event()
        if self.uvicorn:
            import uvicorn

            body_timeout = self.limits.body_timeout if self.limits is not None else 60.0
            config = uvicorn.Config(
                hubbub.ASGIApp(self.app, self.asgi_app, body_timeout=body_timeout),
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                lifespan="off",
            )
            server = uvicorn.Server(config)
            task = asyncio.create_task(server.serve())
            while not server.started:
                await asyncio.sleep(0.01)
            self._ready.set()
            await self._stop.wait()
            server.should_exit = True
            await task
            self._close_app()
            return
        embedded = hubbub.EmbeddedServer(self.app, asgi_app=self.asgi_app, limits=self.limits)
        await embedded.start("127.0.0.1", self.port)
        self._ready.set()
        await self._stop.wait()
        await embedded.shutdown(grace=0.5)
        self._close_app()

    def _close_app(self) -> None:
        """Close the hubbub server too, on its own thread: its adapters' links
        (a RedisAdapter's threads) would outlive the test otherwise."""
        import hubbub

        if isinstance(self.app, hubbub.Server):
            self.app.close()

    def _run_gevent(self) -> None:
        """hubbub's gevent server on this thread's own hub (no monkey patching)."""
        import gevent
        import gevent.event

        from hubbub.runtime.gevent.server import make_server

        try:
            options = {} if self.wsgi_app is None else {"wsgi_app": self.wsgi_app}
            server = make_server(self.app, "127.0.0.1", self.port, limits=self.limits, **options)
            server.start()
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._hub = gevent.get_hub()
        stop = self._gevent_stop = gevent.event.Event()
        self._ready.set()
        stop.wait()
        server.close()
        server.application.endpoint.close_all("server shutting down")
        gevent.sleep(0.1)
        server.stop(timeout=0.5)
        self._close_app()

    def call(self, fn: Callable[[], Any]) -> None:
        """Run ``fn`` on the server's loop (e.g. to send from the server)."""
        if self.gevent:
            self._hub.loop.run_callback_threadsafe(fn)
            return
        self.loop.call_soon_threadsafe(fn)

    def __enter__(self) -> ServerThread:
        self._thread.start()
        self._ready.wait(15)
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self.gevent:
            if self._hub is not None:
                self._hub.loop.run_callback_threadsafe(self._gevent_stop.set)
            self._thread.join(15)
            return
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(15)


# Prometheus samples by (name, labels)
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(url: str, path: str = "/metrics") -> Samples:
    """GET a server's Prometheus metrics over HTTP, parsed."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url + path, timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        text = response.read().decode()
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def sample(samples: Samples, name: str, **labels: str) -> float:
    """One sample's value (0 when absent, as a counter never incremented)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.fixture(params=RUNTIMES)
def runtime(request: pytest.FixtureRequest) -> str:
    """The server (embedded, uvicorn or gevent) a ``ServerThread``-based test runs on."""
    return str(request.param)
