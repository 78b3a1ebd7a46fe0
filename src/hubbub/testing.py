"""Testing an app: :class:`TestClient` talks to your real :class:`hubbub.Server`
in-process (no HTTP server, no network)::

    import hubbub.testing

    async def test_join_and_chat():
        async with hubbub.testing.TestClient(sio, "/chat", auth={"token": "t"}) as alice, \\
                   hubbub.testing.TestClient(sio, "/chat", auth={"token": "t"}) as bob:
            await alice.call("join", "lobby")
            await bob.call("join", "lobby")
            assert await alice.call("message", "lobby", "hi") == "ok"
            assert await bob.receive("message") == ["hi"]

It is the Socket.IO client (:class:`hubbub.client.core.ClientBase`) on a
virtual websocket (:mod:`hubbub.runtime.inprocess`), on the server's own
runtime: on asyncio (pytest-asyncio, anyio, ``asyncio.run``) the calls that
wait are awaited; under gevent (a server used through ``WSGIApp``) they
block the calling greenlet, and ``with TestClient(...)`` replaces ``async
with``.

With connection state recovery on, the client keeps the session's ``pid``
and the ``offset`` of the last event it got, and :meth:`TestClient.connect`
sends them back: after :meth:`TestClient.drop` a reconnect is recovered.
``events`` and :meth:`TestClient.receive` give every event's arguments as
they came, the offset recovery appends included.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from hubbub.client.core import NO_ACK, ClientBase
from hubbub.errors import AckTimeoutError, ClientConnectionError, ConnectionRefusedError
from hubbub.runtime.contract import Waiter, endpoint_of
from hubbub.runtime.inprocess import InProcessDriver

__all__ = ["NO_ACK", "TestClient"]


def _answer_nothing(*args: Any) -> None:
    return None


class TestClient(ClientBase):
    """A Socket.IO v5 client of ``server``'s ``namespace``, in this process."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        server: Any,
        namespace: str = "/",
        auth: Any = None,
        *,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> None:
        super().__init__(reconnection=False)
        self.server = server
        self.namespace = namespace
        self.auth = auth
        self.headers = headers or {}
        self.query = query
        self.events: list[tuple[str, list[Any]]] = []
        self.disconnect_reason: str | None = None
        self._inbox: deque[tuple[str, list[Any]]] = deque()
        self._watching: list[tuple[str | None, Waiter]] = []
        self._last_sid: str | None = None

    def _make_driver(self) -> InProcessDriver:
        return InProcessDriver(endpoint_of(self.server), self.headers)

    # -- connecting ---------------------------------------------------------------------

    def connect(self, timeout: float = 5.0) -> Any:  # type: ignore[override]
        """Connect to the namespace; raises ConnectionRefusedError when refused."""
        self.disconnect_reason = None
        path = endpoint_of(self.server).path
        url = "http://testserver" + ("?" + self.query if self.query else "")
        result = super().connect(url, auth=self.auth, transports=["websocket"],
                                 namespaces=[self.namespace], socketio_path=path,
                                 wait_timeout=timeout)
        if self.driver.ready(None) is None:  # gevent: it already happened
            return None
        return self._refusal(result)

    async def _refusal(self, waiting: Any) -> None:
        try:
            await waiting
        except ClientConnectionError as exc:
            raise ConnectionRefusedError(exc.message, exc.data) from None

    def _fail_connect(self, error: ClientConnectionError) -> None:
        if self.driver.ready(None) is None:  # gevent raises where it waits
            error = ConnectionRefusedError(error.message, error.data)  # type: ignore[assignment]
        super()._fail_connect(error)

    async def __aenter__(self) -> TestClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    def __enter__(self) -> TestClient:
        self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    def drop(self) -> Any:
        """Lose the connection without saying goodbye (no DISCONNECT): the
        server sees "transport close", a reason recovery keeps the session for."""
        link = self._link
        if link is not None:
            self.link_closed("transport close")
            link.close()
        return self.driver.sleep(0)

    # -- state -----------------------------------------------------------------------------

    @property
    def sid(self) -> str | None:
        """The client's socket id in its namespace, once connected (else None)."""
        state = self._nsps.get(self.namespace)
        return state.sid if state is not None else None

    @property
    def recovered(self) -> bool:
        """Whether the last connect was recovered (connection state recovery)."""
        return self.is_recovered(self.namespace)

    @property
    def pid(self) -> str | None:
        """The session id that connection state recovery restores (from the
        server's CONNECT), sent back on the next connect."""
        state = self._nsps.get(self.namespace)
        return state.pid if state is not None else None

    @pid.setter
    def pid(self, value: str | None) -> None:
        self._nsps[self.namespace].pid = value

    @property
    def offset(self) -> str | None:
        """The offset of the last event received, sent back on the next connect
        so that the server replays only what came after it."""
        state = self._nsps.get(self.namespace)
        return state.offset if state is not None else None

    @offset.setter
    def offset(self, value: str | None) -> None:
        self._nsps[self.namespace].offset = value

    # -- sending -------------------------------------------------------------------------

    def emit(self, event: str, *args: Any, namespace: str | None = None,  # type: ignore[override]
             callback: Any = None) -> Any:
        """Send ``event`` as given: a test may send what a real client would
        not (a reserved name, to see the server refuse it)."""
        self._emit_event(self._state(namespace or self.namespace), [event, *args], callback)
        return self.driver.ready(None)

    @property
    def _peer(self) -> Any:
        """The latest virtual websocket (``closed`` tells whether it ended)."""
        driver = self._driver
        return driver.last if isinstance(driver, InProcessDriver) else None

    def call(self, event: str, *args: Any, timeout: float = 5.0,  # type: ignore[override]
             namespace: str | None = None) -> Any:
        """Emit with an ack and return the server's answer: one value, a
        tuple for several, None for none."""
        return super().call(event, *args, namespace=namespace or self.namespace,
                            timeout=timeout)

    def on(self, event: str, handler: Any = None, namespace: str | None = None) -> Any:
        """Answer the server's acks: ``handler(*args)``'s return value is sent
        back (a tuple as several arguments; :data:`NO_ACK` sends nothing).
        Events without a handler get an empty ack."""
        return super().on(event, handler, namespace or self.namespace)

    # -- receiving -----------------------------------------------------------------------

    def receive(self, event: str | None = None, timeout: float = 5.0) -> Any:
        """The arguments of the next event (named ``event`` if given) the
        server sent; waits up to ``timeout`` seconds."""
        for i, (name, args) in enumerate(self._inbox):
            if event is None or name == event:
                del self._inbox[i]
                return self.driver.ready(args)
        runtime = self.driver.runtime
        waiter = runtime.waiter()
        entry = (event, waiter)
        self._watching.append(entry)

        def expire() -> None:
            if entry in self._watching:
                self._watching.remove(entry)
                waiter.reject(AckTimeoutError(f"no {event or 'event'!r} within {timeout}s"))

        runtime.call_later(timeout, expire)
        return self.driver.wait(waiter, None)

    def _received(self, nsp: str, event: str, args: list[Any]) -> None:
        self.events.append((event, args))
        for entry in self._watching:
            if entry[0] is None or entry[0] == event:
                self._watching.remove(entry)
                entry[1].resolve(args)
                return
        self._inbox.append((event, args))

    def _handler(self, nsp: str, event: str) -> tuple[Any, bool]:
        fn, catch_all = super()._handler(nsp, event)
        if fn is None and event not in ("connect", "disconnect", "connect_error"):
            return _answer_nothing, False
        return fn, catch_all

    def _fire(self, nsp: str, event: str, args: list[Any]) -> None:
        if event == "disconnect" and nsp == self.namespace:
            self.disconnect_reason = str(args[0]) if args else None
        super()._fire(nsp, event, args)
