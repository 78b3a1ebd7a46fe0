"""An in-process Socket.IO test client for application tests.

It talks to your real :class:`hubbub.Server` (sessions, namespaces,
middlewares, handlers, rooms, acks) through a virtual websocket, with no
HTTP server and no network, on the running asyncio loop::

    import hubbub.testing

    async def test_join_and_chat():
        async with hubbub.testing.TestClient(sio, "/chat", auth={"token": "t"}) as alice, \\
                   hubbub.testing.TestClient(sio, "/chat", auth={"token": "t"}) as bob:
            await alice.call("join", "lobby")
            await bob.call("join", "lobby")
            assert await alice.call("message", "lobby", "hi") == "ok"
            assert await bob.receive("message") == ["hi"]

Works with pytest-asyncio, anyio or a plain ``asyncio.run``.

With connection state recovery on, the client keeps the session's ``pid``
and the ``offset`` of the last event it got (as socket.io-client does; the
offset is the last argument of those events), and :meth:`TestClient.connect`
sends them back: after :meth:`TestClient.drop` a reconnect is recovered.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from hubbub.engineio.codec import PacketType as EnginePacketType
from hubbub.engineio.outgoing import OutPacket
from hubbub.errors import AckTimeoutError, ConnectionRefusedError
from hubbub.http import HttpRequest
from hubbub.runtime.asyncio.core import runtime_for
from hubbub.runtime.contract import WebSocketAccept, WebSocketSession, endpoint_of
from hubbub.socketio.codec import JsonParser, Packet, PacketType

NO_ACK: Any = object()
"""Return it from a :meth:`TestClient.on` handler to leave the server's ack
unanswered (to test timeouts)."""


class _VirtualPeer:
    """The server-side end of the virtual websocket."""

    sink = None  # no frames: packets go through send

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.closed = False

    def send(self, packet: OutPacket) -> None:
        if not self.closed:
            self.client._from_server(packet)

    def close(self, code: int = 1000) -> None:
        self.closed = True
        self.client._closed()

    def buffered_bytes(self) -> int:
        return 0


class TestClient:
    """A Socket.IO v5 client connected in-process to ``server``."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        server: Any,
        namespace: str = "/",
        auth: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> None:
        self.server = server
        self.namespace = namespace
        self.auth = auth
        self.headers = headers or {}
        self.query = query
        self.sid: str | None = None
        self.pid: str | None = None
        self.offset: str | None = None
        self.recovered = False
        self.connected = False
        self.events: list[tuple[str, list[Any]]] = []
        self.disconnect_reason: str | None = None
        self._parser = JsonParser(5)
        self._decoder = self._parser.decoder()
        self._inbox: deque[tuple[str, list[Any]]] = deque()
        self._changed = asyncio.Event()
        self._acks: dict[int, asyncio.Future[list[Any]]] = {}
        self._next_ack = 0
        self._session: WebSocketSession | None = None
        self._peer: _VirtualPeer | None = None
        self._connect_result: asyncio.Future[None] | None = None
        self.handlers: dict[str, Any] = {}

    # -- connecting -------------------------------------------------------------------

    async def connect(self, timeout: float = 5.0) -> None:
        """Connect to the namespace; raises ConnectionRefusedError on CONNECT_ERROR."""
        endpoint = endpoint_of(self.server)
        runtime = runtime_for(endpoint)
        loop = asyncio.get_running_loop()
        path = endpoint.path
        req = HttpRequest(
            method="GET",
            path=path,
            query_string="EIO=4&transport=websocket" + ("&" + self.query if self.query else ""),
            headers={
                "upgrade": "websocket",
                "connection": "Upgrade",
                **{k.lower(): v for k, v in self.headers.items()},
            },
            remote_addr="127.0.0.1",
        )
        result = endpoint.handle_request(req, runtime.clock())
        if not isinstance(result, WebSocketAccept):
            raise ConnectionRefusedError(f"handshake refused: {result}")
        self._peer = _VirtualPeer(self)
        self._decoder = self._parser.decoder()
        self.disconnect_reason = None
        self._connect_result = loop.create_future()
        self._session = result.open(self._peer, runtime.clock())
        auth = self.auth
        if self.pid is not None:  # try to recover the previous session
            auth = {**(auth or {}), "pid": self.pid}
            if self.offset is not None:
                auth["offset"] = self.offset
        self._send(Packet(PacketType.CONNECT, self.namespace, auth))
        await asyncio.wait_for(self._connect_result, timeout)

    async def __aenter__(self) -> TestClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    async def disconnect(self) -> None:
        """Leave the namespace and close the virtual connection."""
        if self._session is not None and self.connected:
            self._send(Packet(PacketType.DISCONNECT, self.namespace))
            self.connected = False
            self.disconnect_reason = "io client disconnect"
        if self._session is not None and self._peer is not None and not self._peer.closed:
            self._peer.closed = True
            self._session.on_ws_closed(self._peer, self._now())
        await asyncio.sleep(0)

    async def drop(self) -> None:
        """Lose the connection without saying goodbye (no DISCONNECT): the
        server sees "transport close", a reason connection state recovery
        keeps the session for."""
        if self._session is not None and self._peer is not None and not self._peer.closed:
            self._peer.closed = True
            self.connected = False
            self.disconnect_reason = "transport close"
            self._session.on_ws_closed(self._peer, self._now())
        await asyncio.sleep(0)

    # -- sending ---------------------------------------------------------------------

    def emit(self, event: str, *args: Any) -> None:
        self._send(Packet(PacketType.EVENT, self.namespace, [event, *args]))

    async def call(self, event: str, *args: Any, timeout: float = 5.0) -> Any:
        """Emit with an ack and return the server's answer: one value, a
        tuple for several, None for none."""
        ack_id = self._next_ack
        self._next_ack += 1
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._acks[ack_id] = future
        self._send(Packet(PacketType.EVENT, self.namespace, [event, *args], ack_id))
        try:
            values = await asyncio.wait_for(future, timeout)
        except asyncio.TimeoutError:
            self._acks.pop(ack_id, None)
            raise AckTimeoutError(f"no ack for {event!r} within {timeout}s") from None
        return values[0] if len(values) == 1 else (tuple(values) if values else None)

    # -- receiving ---------------------------------------------------------------------

    async def receive(self, event: str | None = None, timeout: float = 5.0) -> list[Any]:
        """The arguments of the next event (named ``event`` if given) the
        server sent; waits up to ``timeout`` seconds."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for i, (name, args) in enumerate(self._inbox):
                if event is None or name == event:
                    del self._inbox[i]
                    return args
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AckTimeoutError(f"no {event or 'event'!r} within {timeout}s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), remaining)
            except asyncio.TimeoutError:
                continue

    def on(self, event: str, handler: Any) -> None:
        """Answer the server's acks: ``handler(*args)``'s return value is sent
        back (a tuple as several arguments; :data:`NO_ACK` sends nothing).
        Events without a handler get an empty ack."""
        self.handlers[event] = handler

    def _now(self) -> float:
        return runtime_for(endpoint_of(self.server)).clock()

    # -- the wire ------------------------------------------------------------------------

    def _send(self, packet: Packet) -> None:
        session, peer = self._session, self._peer
        if session is None or peer is None or peer.closed:
            raise ConnectionError("the test client is not connected")
        now = self._now()
        for part in self._parser.encode(packet):
            message = ("4" + part) if isinstance(part, str) else part
            session.on_ws_message(peer, message, now)

    def _from_server(self, packet: OutPacket) -> None:
        if packet.type is EnginePacketType.PING:
            assert self._session is not None and self._peer is not None
            now = self._now()
            self._session.on_ws_message(self._peer, "3", now)
            return
        if packet.type is not EnginePacketType.MESSAGE:
            return
        decoded = self._decoder.feed(packet.data)
        if decoded is None:
            return
        self._on_packet(decoded)

    def _on_packet(self, packet: Packet) -> None:
        if packet.nsp != self.namespace:
            return
        ptype = packet.type
        if ptype is PacketType.CONNECT:
            self.connected = True
            data = packet.data if isinstance(packet.data, dict) else {}
            self.sid = data.get("sid")
            pid = data.get("pid")
            self.recovered = pid is not None and pid == self.pid
            self.pid = pid if isinstance(pid, str) else None
            if self._connect_result is not None and not self._connect_result.done():
                self._connect_result.set_result(None)
        elif ptype is PacketType.CONNECT_ERROR:
            data = packet.data if isinstance(packet.data, dict) else {"message": packet.data}
            if self._connect_result is not None and not self._connect_result.done():
                self._connect_result.set_exception(
                    ConnectionRefusedError(str(data.get("message")), data.get("data"))
                )
        elif ptype in (PacketType.EVENT, PacketType.BINARY_EVENT):
            name, args = packet.data[0], list(packet.data[1:])
            if self.pid is not None and args and isinstance(args[-1], str):
                self.offset = args[-1]  # the last argument is the offset
            self.events.append((name, args))
            if packet.id is not None:
                handler = self.handlers.get(name)
                result = handler(*args) if handler is not None else None
                if result is not NO_ACK:
                    answer = (
                        []
                        if result is None
                        else (list(result) if isinstance(result, tuple) else [result])
                    )
                    self._send(Packet(PacketType.ACK, self.namespace, answer, packet.id))
            self._inbox.append((name, args))
            self._changed.set()
        elif ptype in (PacketType.ACK, PacketType.BINARY_ACK):
            future = self._acks.pop(packet.id, None) if packet.id is not None else None
            if future is not None and not future.done():
                future.set_result(list(packet.data or ()))
        elif ptype is PacketType.DISCONNECT:
            self.connected = False
            self.disconnect_reason = "io server disconnect"
            self._changed.set()

    def _closed(self) -> None:
        if self.connected:
            self.connected = False
            self.disconnect_reason = self.disconnect_reason or "transport close"
        self._changed.set()
