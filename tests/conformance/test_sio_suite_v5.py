"""The "Socket.IO protocol" part of the official Socket.IO v5 test suite
(docs/socket.io-protocol/v5-test-suite in socketio/socket.io), case by case,
in Python over real sockets.

Every case runs against examples/conformance_server.py on the embedded server,
under uvicorn (``--asgi``) and on gevent (``--runtime gevent``), and over both
transports: websocket (through ``websockets.sync.client``, one Engine.IO
packet per frame, as the JS suite does) and HTTP long-polling (payloads
joined with ``\\x1e``, binary packets as ``b`` + base64) through a NodeAgent
(eio_helpers): with ``Connection: close``, over connections kept alive unless
the answer says ``close``, as node-fetch's requests go over Node's agent.
Nothing here knows the server's internals: only what goes over the wire is
observed.

Where the JS suite is loose the cases say a little more: an unknown namespace
leaves the connection open (a valid CONNECT still works on it), and the
connection that never sends a CONNECT is closed by the 1 s connect timeout,
not by a missed heartbeat (the client here answers every ping).
"""

from __future__ import annotations

import base64
import contextlib
import json
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

import pytest
from eio_helpers import node_agent
from eio_helpers import request as http_request
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from conftest import RUNTIMES, run_example, runtime_flags

PATH = "/socket.io/"
CONNECT_TIMEOUT = 1.0  # examples/conformance_server.py
PING_INTERVAL = 0.3
TRANSPORTS = ["websocket", "polling"]


@pytest.fixture(scope="module", params=RUNTIMES)
def sio_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """examples/conformance_server.py on each runtime."""
    with run_example("conformance_server.py", *runtime_flags(request.param)) as url:
        yield url


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(autouse=True)
def _node_agent() -> Iterator[None]:
    """Every polling request through a NodeAgent, as node-fetch's go through
    Node's agent in the JS suite (eio_helpers.NodeAgent says why)."""
    with node_agent():
        yield


# -- the clients ---------------------------------------------------------------


class Closed(Exception):
    """The server closed the connection."""


class Conn:
    """One Engine.IO connection; ``send``/``recv`` carry Engine.IO packets
    (``"40"``, ``'42["x"]'``, raw bytes for binary attachments)."""

    def send(self, packet: str | bytes) -> None:
        raise NotImplementedError

    def recv_packet(self, timeout: float) -> str | bytes:
        """The next packet; raises Closed once the server closed."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def recv(self, timeout: float = 3.0, pong: bool = True) -> str | bytes:
        """The next packet that is not a ping (pings are answered)."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"nothing within {timeout}s")
            packet = self.recv_packet(left)
            if packet == "2":
                self.send("3")
                if pong:
                    continue
            return packet

    def wait_closed(self, timeout: float = 3.0) -> list[str | bytes]:
        """Answer pings until the server closes; returns what came before."""
        got: list[str | bytes] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"still open after {timeout}s; got {got}")
            try:
                packet = self.recv_packet(left)
            except Closed:
                return got
            except TimeoutError:
                continue
            if packet == "2":
                with contextlib.suppress(Closed, ConnectionClosed, OSError):
                    self.send("3")
                continue
            if packet == "1":  # a close packet before the websocket closes
                continue
            got.append(packet)


class WsConn(Conn):
    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        opening = self.ws.recv(timeout=5)
        assert isinstance(opening, str) and opening.startswith("0"), opening
        self.open = json.loads(opening[1:])

    def send(self, packet: str | bytes) -> None:
        self.ws.send(packet)

    def recv_packet(self, timeout: float) -> str | bytes:
        try:
            return self.ws.recv(timeout=timeout)
        except ConnectionClosed:
            raise Closed from None

    def close(self) -> None:
        self.ws.close()


class PollingConn(Conn):
    def __init__(self, base: str) -> None:
        self.base = base
        status, body = self._request("GET", PATH + "?EIO=4&transport=polling")
        assert status == 200, (status, body)
        assert body.startswith("0"), body
        self.open = json.loads(body[1:])
        self.sid = self.open["sid"]
        self.inbox: deque[str | bytes] = deque()
        self.closed = False

    def _request(
        self, method: str, target: str, body: str | None = None, timeout: float = 5.0
    ) -> tuple[int, str]:
        r = http_request(self.base, method, target, body=body, timeout=timeout)
        return r.status, r.text

    @property
    def _target(self) -> str:
        return f"{PATH}?EIO=4&transport=polling&sid={self.sid}"

    def send(self, packet: str | bytes) -> None:
        if isinstance(packet, bytes):
            packet = "b" + base64.b64encode(packet).decode("ascii")
        status, body = self._request("POST", self._target, packet)
        if status != 200:
            raise Closed(f"POST answered {status} {body}")

    def recv_packet(self, timeout: float) -> str | bytes:
        while not self.inbox:
            if self.closed:
                raise Closed
            # a held GET is answered at the latest by the next ping (300 ms)
            status, body = self._request("GET", self._target, timeout=max(timeout, 1.0))
            if status != 200:
                self.closed = True
                raise Closed(f"GET answered {status} {body}")
            for part in body.split("\x1e"):
                if part == "1":  # the server's close packet
                    self.closed = True
                    break
                if part == "6":  # noop
                    continue
                self.inbox.append(base64.b64decode(part[1:]) if part.startswith("b") else part)
        return self.inbox.popleft()

    def close(self) -> None:
        if not self.closed:
            with contextlib.suppress(Closed, OSError):
                self.send("1")
            self.closed = True


@contextlib.contextmanager
def engine_io(url: str, transport: str) -> Iterator[Conn]:
    """An Engine.IO session of the given transport (the handshake is done)."""
    if transport == "websocket":
        url = "ws" + url[len("http") :] + PATH + "?EIO=4&transport=websocket"
        with connect(url, compression=None, open_timeout=5, close_timeout=2) as ws:
            yield WsConn(ws)
        return
    conn = PollingConn(url)
    try:
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def socket_io(url: str, transport: str) -> Iterator[Conn]:
    """initSocketIOConnection() of the suite: connected to the main namespace,
    the "auth" event received."""
    with engine_io(url, transport) as conn:
        conn.send("40")
        assert_handshake(conn.recv(), "40")  # Socket.IO handshake
        assert conn.recv() == '42["auth",{}]'
        yield conn


def connect_payload(packet: str | bytes, prefix: str) -> dict[str, Any]:
    assert isinstance(packet, str) and packet.startswith(prefix), packet
    data = json.loads(packet[len(prefix) :])
    assert isinstance(data, dict)
    return data


def assert_handshake(packet: str | bytes, prefix: str) -> str:
    """A CONNECT answer carrying exactly a string sid; returns the sid."""
    handshake = connect_payload(packet, prefix)
    assert set(handshake) == {"sid"}, handshake
    assert isinstance(handshake["sid"], str) and handshake["sid"]
    return str(handshake["sid"])


# -- connect ---------------------------------------------------------------------


def test_connect_main_namespace(sio_url: str, transport: str) -> None:
    with engine_io(sio_url, transport) as conn:
        conn.send("40")
        assert_handshake(conn.recv(), "40")
        assert conn.recv() == '42["auth",{}]'


def test_connect_main_namespace_with_payload(sio_url: str, transport: str) -> None:
    with engine_io(sio_url, transport) as conn:
        conn.send('40{"token":"123"}')
        assert_handshake(conn.recv(), "40")
        assert conn.recv() == '42["auth",{"token":"123"}]'


def test_connect_custom_namespace(sio_url: str, transport: str) -> None:
    with engine_io(sio_url, transport) as conn:
        conn.send("40/custom,")
        assert_handshake(conn.recv(), "40/custom,")
        assert conn.recv() == '42/custom,["auth",{}]'


def test_connect_custom_namespace_with_payload(sio_url: str, transport: str) -> None:
    with engine_io(sio_url, transport) as conn:
        conn.send('40/custom,{"token":"abc"}')
        assert_handshake(conn.recv(), "40/custom,")
        assert conn.recv() == '42/custom,["auth",{"token":"abc"}]'


def test_connect_unknown_namespace_is_refused_without_closing(sio_url: str, transport: str) -> None:
    with engine_io(sio_url, transport) as conn:
        conn.send("40/random")
        assert conn.recv() == '44/random,{"message":"Invalid namespace"}'
        # the connection is still usable: a valid CONNECT goes through
        conn.send("40")
        assert_handshake(conn.recv(), "40")
        assert conn.recv() == '42["auth",{}]'
        conn.send('42["message","still here"]')
        assert conn.recv() == '42["message-back","still here"]'


def test_connect_invalid_handshake_closes(sio_url: str, transport: str) -> None:
    with engine_io(sio_url, transport) as conn:
        conn.send("4abc")
        assert conn.wait_closed() == []


def test_connect_no_handshake_closes_after_connect_timeout(sio_url: str, transport: str) -> None:
    with engine_io(sio_url, transport) as conn:
        start = time.monotonic()
        # pings are answered: only the connect timeout can close this one
        got = conn.wait_closed(timeout=CONNECT_TIMEOUT + 2.0)
        elapsed = time.monotonic() - start
    assert got == []
    assert CONNECT_TIMEOUT - 0.15 <= elapsed <= CONNECT_TIMEOUT + 1.0, elapsed


# -- disconnect ----------------------------------------------------------------


def test_disconnect_main_namespace(sio_url: str, transport: str) -> None:
    with socket_io(sio_url, transport) as conn:
        conn.send("41")
        # nothing comes back but the next heartbeat
        assert conn.recv(pong=False) == "2"


def test_connect_then_disconnect_custom_namespace(sio_url: str, transport: str) -> None:
    with socket_io(sio_url, transport) as conn:
        assert conn.recv(pong=False) == "2"  # a ping (answered)
        conn.send("40/custom")
        assert_handshake(conn.recv(), "40/custom,")
        assert conn.recv() == '42/custom,["auth",{}]'
        conn.send("41/custom")
        conn.send('42["message","message to main namespace"]')
        assert conn.recv() == '42["message-back","message to main namespace"]'


# -- message ----------------------------------------------------------------------

PLACEHOLDERS = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}'


def test_message_plain_text(sio_url: str, transport: str) -> None:
    with socket_io(sio_url, transport) as conn:
        conn.send('42["message",1,"2",{"3":[true]}]')
        assert conn.recv() == '42["message-back",1,"2",{"3":[true]}]'


def test_message_binary_attachments(sio_url: str, transport: str) -> None:
    with socket_io(sio_url, transport) as conn:
        conn.send(f'452-["message",{PLACEHOLDERS}]')
        conn.send(bytes([1, 2, 3]))
        conn.send(bytes([4, 5, 6]))
        assert conn.recv() == f'452-["message-back",{PLACEHOLDERS}]'
        assert conn.recv() == bytes([1, 2, 3])
        assert conn.recv() == bytes([4, 5, 6])


def test_message_plain_text_with_ack(sio_url: str, transport: str) -> None:
    with socket_io(sio_url, transport) as conn:
        conn.send('42456["message-with-ack",1,"2",{"3":[false]}]')
        assert conn.recv() == '43456[1,"2",{"3":[false]}]'


def test_message_binary_attachments_with_ack(sio_url: str, transport: str) -> None:
    with socket_io(sio_url, transport) as conn:
        conn.send(f'452-789["message-with-ack",{PLACEHOLDERS}]')
        conn.send(bytes([1, 2, 3]))
        conn.send(bytes([4, 5, 6]))
        assert conn.recv() == f"462-789[{PLACEHOLDERS}]"
        assert conn.recv() == bytes([1, 2, 3])
        assert conn.recv() == bytes([4, 5, 6])


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param("4abc", id="unknown-packet-type"),
        pytest.param("42{}", id="invalid-payload-format"),
        pytest.param('42abc["message-with-ack",1,"2",{"3":[false]}]', id="invalid-ack-id"),
    ],
)
def test_message_invalid_format_closes(sio_url: str, transport: str, packet: str) -> None:
    with socket_io(sio_url, transport) as conn:
        conn.send(packet)
        assert conn.wait_closed() == []
