"""A fake ClientDriver for sans-IO tests of the client: no socket, no loop,
no thread. Time moves only when a test calls ``advance``; every HTTP request
and websocket the client starts is recorded for the test to answer; handlers
the client spawns wait in ``jobs`` until the test runs them (``run_jobs``),
so a test sees what the core does inline and what it leaves to handlers.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from hubbub.runtime.contract import ClientResponse, ClientSocketListener, HttpDone


class FakeTimer:
    def __init__(self, when: float, fn: Callable[[], None]) -> None:
        self.when = when
        self.fn = fn
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class FakeWaiter:
    def __init__(self) -> None:
        self.done = False
        self.value: Any = None
        self.error: BaseException | None = None

    def resolve(self, value: Any) -> None:
        if not self.done:
            self.done, self.value = True, value

    def reject(self, error: BaseException) -> None:
        if not self.done:
            self.done, self.error = True, error

    def wait(self, timeout: float | None = None) -> Any:
        return self


class FakeRuntime:
    name = "fake"

    def __init__(self) -> None:
        self.now = 0.0
        self._timers: list[tuple[float, int, FakeTimer]] = []
        self._order = itertools.count()
        self.jobs: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []

    def clock(self) -> float:
        return self.now

    def call_later(self, delay: float, fn: Callable[[], None]) -> FakeTimer:
        timer = FakeTimer(self.now + delay, fn)
        heapq.heappush(self._timers, (timer.when, next(self._order), timer))
        return timer

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        self.call_later(0, fn)

    def pending(self) -> list[float]:
        """The times of the live timers, earliest first."""
        return sorted(t.when for _, _, t in self._timers if not t.cancelled)

    def advance(self, seconds: float = 0.0) -> None:
        """Move the clock, firing every timer due on the way, in order."""
        until = self.now + seconds
        while self._timers and self._timers[0][0] <= until:
            when, _, timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self.now = max(self.now, when)
            timer.fn()
        self.now = until

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        self.jobs.append((fn, args))

    def run_jobs(self) -> None:
        while self.jobs:
            fn, args = self.jobs.pop(0)
            fn(*args)

    def waiter(self) -> FakeWaiter:
        return FakeWaiter()

    def make_host(self, session: Any) -> Any:
        raise NotImplementedError

    def check_handler(self, fn: Callable[..., Any]) -> None:
        pass


class FakeRequest:
    def __init__(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes,
                 timeout: float | None, done: HttpDone) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.done = done
        self.cancelled = False
        self.answered = False

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}

    @property
    def path(self) -> str:
        return urlsplit(self.url).path

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def cancel(self) -> None:
        self.cancelled = True

    def answer(self, status: int = 200, body: str | bytes = b"",
               headers: list[tuple[str, str]] | None = None) -> None:
        assert not self.cancelled and not self.answered, "answering a finished request"
        self.answered = True
        data = body.encode() if isinstance(body, str) else body
        self.done(ClientResponse(status, headers or [], data))

    def fail(self, reason: str = "connection refused") -> None:
        assert not self.cancelled and not self.answered
        self.answered = True
        self.done(reason)


class FakeSocket:
    def __init__(self, url: str, headers: list[tuple[str, str]],
                 listener: ClientSocketListener) -> None:
        self.url = url
        self.headers = headers
        self.listener = listener
        self.sent: list[str | bytes] = []
        self.closed = False

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.url).query).items()}

    def send(self, data: str | bytes) -> None:
        assert not self.closed, "sending on a closed websocket"
        self.sent.append(data)

    def close(self) -> None:
        self.closed = True

    def take(self) -> list[str | bytes]:
        sent, self.sent = self.sent, []
        return sent

    # what the server does
    def open(self, headers: list[tuple[str, str]] | None = None) -> None:
        self.listener.ws_opened(headers or [])

    def message(self, data: str | bytes) -> None:
        self.listener.ws_message(data)

    def drop(self, error: str | None = "connection reset") -> None:
        self.closed = True
        self.listener.ws_closed(error)

    def gone(self) -> None:
        """The connection the client closed is over (what a driver reports)."""
        assert self.closed, "the client did not close this websocket"
        self.listener.ws_closed(None)


class FakeDriver:
    def __init__(self) -> None:
        self.runtime = FakeRuntime()
        self.requests: list[FakeRequest] = []
        self.sockets: list[FakeSocket] = []
        self.forgotten = 0

    def current(self) -> bool:
        return True

    def http(self, method: str, url: str, headers: list[tuple[str, str]], body: bytes,
             timeout: float | None, done: HttpDone) -> FakeRequest:
        request = FakeRequest(method, url, headers, body, timeout, done)
        self.requests.append(request)
        return request

    def websocket(self, url: str, headers: list[tuple[str, str]],
                  listener: ClientSocketListener, timeout: float | None) -> FakeSocket:
        ws = FakeSocket(url, headers, listener)
        self.sockets.append(ws)
        return ws

    def open_requests(self, method: str | None = None) -> list[FakeRequest]:
        return [r for r in self.requests if not r.answered and not r.cancelled
                and (method is None or r.method == method)]

    def request(self, method: str) -> FakeRequest:
        """The one request of ``method`` waiting for an answer."""
        waiting = self.open_requests(method)
        assert len(waiting) == 1, [(r.method, r.url) for r in waiting]
        return waiting[0]

    def forget(self) -> None:
        self.forgotten += 1

    def wait(self, waiter: Any, timeout: float | None) -> Any:
        return waiter

    def ready(self, value: Any) -> Any:
        return value

    def sleep(self, seconds: float) -> None:
        self.runtime.advance(seconds)

    def locked(self) -> contextlib.nullcontext[None]:
        return contextlib.nullcontext()


class Recorder:
    """A LinkListener that writes down what a session reports."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []

    def link_open(self, sid: str) -> None:
        self.events.append(("open", sid))

    def link_packet(self, packet: Any) -> None:
        self.events.append(("packet", packet))

    def link_failed(self, error: Any) -> None:
        self.events.append(("failed", error))

    def link_closed(self, reason: str) -> None:
        self.events.append(("closed", reason))

    def of(self, kind: str) -> list[Any]:
        return [value for k, value in self.events if k == kind]
