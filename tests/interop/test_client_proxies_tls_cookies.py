"""hubbub's client over the HTTP a deployment puts in front of a server, on
real sockets, with both clients (hubbub.AsyncClient, and the blocking
hubbub.Client in threads):

* TLS: a server with a certificate from a CA made for the test (trustme);
  verification is on by default (an unknown CA or a wrong host name is
  refused), an ``ssl=`` context trusting the CA connects, and
  ``ssl_verify=False`` turns checking off.
* Proxies named by the environment: a small HTTP proxy in the test takes
  plain requests in absolute form and opens CONNECT tunnels (websockets,
  TLS origins), and wants credentials (``Proxy-Authorization``) taken from
  the proxy URL; ``no_proxy`` bypasses it.
* Cookies: a sticky load balancer in front of the server (an ASGI layer)
  sets its cookie on the first answer and refuses any request of the
  session without it, polling and websocket alike.
* A server under a path of its own (``socketio_path``).

The server is hubbub under uvicorn (for TLS), in a thread.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import ssl
import threading
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import trustme
import uvicorn
from client_scenarios import Blocking, run_blocking

import hubbub
from conftest import free_port

pytestmark = pytest.mark.timeout(60)

MODES = ["async", "threads"]


# -- the server ---------------------------------------------------------------------------


def _server() -> hubbub.Server:
    sio = hubbub.Server()

    def echo(socket: hubbub.Socket, *args: Any) -> tuple[Any, ...]:
        return args

    sio.on("echo", echo)
    return sio


class Uvicorn:
    """An ASGI app under uvicorn on its own loop in a thread."""

    def __init__(self, app: Any, tls: trustme.LeafCert | None = None,
                 tmp: Path | None = None) -> None:
        self.port = free_port()
        options: dict[str, Any] = {}
        if tls is not None:
            assert tmp is not None
            key, cert = tmp / "key.pem", tmp / "cert.pem"
            tls.private_key_pem.write_to_path(str(key))
            tls.cert_chain_pems[0].write_to_path(str(cert))
            options = {"ssl_keyfile": str(key), "ssl_certfile": str(cert)}
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning",
                                lifespan="off", **options)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Uvicorn:
        self.thread.start()
        for _ in range(500):
            if self.server.started:
                return self
            threading.Event().wait(0.02)
        raise TimeoutError("uvicorn did not start")

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


# -- the clients ----------------------------------------------------------------------------


def _run(mode: str, scenario: Callable[[Callable[..., Any]], Coroutine[Any, Any, None]]) -> None:
    """Run ``scenario(make_client)`` with the AsyncClient or the blocking Client."""
    made: list[Any] = []

    def make(**options: Any) -> Any:
        options.setdefault("reconnection", False)
        if mode == "async":
            client: Any = hubbub.AsyncClient(**options)
            made.append(client)
            return client
        blocking = hubbub.Client(**options)
        made.append(blocking)
        return Blocking(blocking)

    async def main() -> None:
        try:
            await scenario(make)
        finally:
            for client in made:
                result = client.disconnect()
                if mode == "async":
                    await result

    if mode == "async":
        asyncio.run(asyncio.wait_for(main(), 30))
    else:
        run_blocking(main())


async def _echo_over_both_transports(client: Any, url: str) -> None:
    await client.connect(url)
    assert await client.call("echo", "polling or not") == "polling or not"
    for _ in range(200):
        if client.transport() == "websocket":
            break
        await client.sleep(0.02)
    assert client.transport() == "websocket", "no upgrade"
    assert await client.call("echo", "upgraded", b"\x00") == ("upgraded", b"\x00")


# -- TLS ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def tls_server(ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    cert = ca.issue_cert("localhost")
    with Uvicorn(hubbub.ASGIApp(_server()), tls=cert,
                 tmp=tmp_path_factory.mktemp("tls")) as server:
        yield f"https://localhost:{server.port}"


@pytest.fixture
def no_proxies(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY",
                 "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def _trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


@pytest.mark.parametrize("mode", MODES)
def test_tls_is_verified_by_default(mode: str, tls_server: str,
                                    no_proxies: pytest.MonkeyPatch) -> None:
    async def scenario(make: Callable[..., Any]) -> None:
        client = make()
        with pytest.raises(hubbub.ClientConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.connect(tls_server, transports=["polling"])
        ws = make()
        with pytest.raises(hubbub.ClientConnectionError, match="CERTIFICATE_VERIFY_FAILED"):
            await ws.connect(tls_server, transports=["websocket"])

    _run(mode, scenario)


@pytest.mark.parametrize("mode", MODES)
def test_tls_with_a_context_that_trusts_the_ca(mode: str, ca: trustme.CA, tls_server: str,
                                                no_proxies: pytest.MonkeyPatch) -> None:
    async def scenario(make: Callable[..., Any]) -> None:
        await _echo_over_both_transports(make(ssl=_trusting(ca)), tls_server)
        # the certificate names localhost, not 127.0.0.1: the host name is checked
        wrong_host = make(ssl=_trusting(ca))
        with pytest.raises(hubbub.ClientConnectionError, match="IP address mismatch"):
            await wrong_host.connect(tls_server.replace("localhost", "127.0.0.1"))

    _run(mode, scenario)


@pytest.mark.parametrize("mode", MODES)
def test_tls_without_verification(mode: str, tls_server: str,
                                  no_proxies: pytest.MonkeyPatch) -> None:
    async def scenario(make: Callable[..., Any]) -> None:
        client = make(ssl_verify=False)
        await client.connect(tls_server.replace("localhost", "127.0.0.1"),
                             transports=["websocket"])
        assert await client.call("echo", "lax") == "lax"

    _run(mode, scenario)


# -- proxies ---------------------------------------------------------------------------------


class Proxy:
    """An HTTP proxy: absolute-form requests are forwarded (one per
    connection), CONNECT opens a tunnel. With ``credentials`` every request
    without the matching Proxy-Authorization gets 407. ``seen`` lists each
    request's method, target and whether it was authorized."""

    def __init__(self, credentials: str | None = None) -> None:
        self.credentials = credentials
        self.seen: list[tuple[str, str, bool]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._socks: list[socket.socket] = []
        self._closed = False

    @property
    def url(self) -> str:
        auth = f"{self.credentials}@" if self.credentials else ""
        return f"http://{auth}127.0.0.1:{self.port}"

    def __enter__(self) -> Proxy:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._closed = True
        self._threads[0].join(5)
        self.listener.close()
        for sock in self._socks:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        for thread in self._threads:
            thread.join(5)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        self.listener.settimeout(0.1)  # to notice __exit__
        while not self._closed:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(None)
            self._socks.append(conn)
            self._spawn(self._serve, conn)

    def _serve(self, conn: socket.socket) -> None:
        head = b""
        with contextlib.suppress(OSError):
            while b"\r\n\r\n" not in head:
                data = conn.recv(65536)
                if not data:
                    conn.close()
                    return
                head += data
        head, _, rest = head.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, target, _ = lines[0].split(" ", 2)
        headers = [line.partition(":") for line in lines[1:]]
        given = next((v.strip() for k, _, v in headers
                      if k.lower() == "proxy-authorization"), None)
        wanted = ("Basic " + base64.b64encode(self.credentials.encode()).decode()
                  if self.credentials else None)
        authorized = wanted is None or given == wanted
        self.seen.append((method, target, authorized and given is not None))
        if not authorized:
            conn.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                         b"Proxy-Authenticate: Basic\r\nContent-Length: 0\r\n"
                         b"Connection: close\r\n\r\n")
            conn.close()
            return
        if method == "CONNECT":
            host, _, port = target.rpartition(":")
            upstream = socket.create_connection((host, int(port)))
            self._socks.append(upstream)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
        else:
            assert target.startswith("http://"), target
            hostport, _, path = target[len("http://"):].partition("/")
            host, _, port = hostport.partition(":")
            upstream = socket.create_connection((host, int(port or 80)))
            self._socks.append(upstream)
            kept = [f"{k}:{v}" for k, _, v in headers
                    if k.lower() not in ("proxy-authorization", "connection")]
            request = "\r\n".join([f"{method} /{path} HTTP/1.1", *kept, "Connection: close"])
            upstream.sendall(request.encode("latin-1") + b"\r\n\r\n" + rest)
        self._spawn(self._pipe, conn, upstream)
        self._pipe(upstream, conn)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)


@pytest.fixture(scope="module")
def plain_server() -> Iterator[str]:
    with Uvicorn(hubbub.ASGIApp(_server())) as server:
        yield f"http://127.0.0.1:{server.port}"


@pytest.mark.parametrize("mode", MODES)
def test_through_a_proxy_with_credentials(mode: str, plain_server: str,
                                          no_proxies: pytest.MonkeyPatch) -> None:
    with Proxy("user:s3cret") as proxy:
        no_proxies.setenv("http_proxy", proxy.url)

        async def scenario(make: Callable[..., Any]) -> None:
            await _echo_over_both_transports(make(), plain_server)

        _run(mode, scenario)
    methods = {method for method, _, _ in proxy.seen}
    assert methods == {"GET", "POST", "CONNECT"}, proxy.seen
    assert all(authorized for _, _, authorized in proxy.seen), proxy.seen
    host = plain_server[len("http://"):]
    assert all(target.startswith(plain_server) for method, target, _ in proxy.seen
               if method != "CONNECT")
    assert [t for m, t, _ in proxy.seen if m == "CONNECT"] == [host]


@pytest.mark.parametrize("mode", MODES)
def test_tls_through_a_proxy_tunnel(mode: str, ca: trustme.CA, tls_server: str,
                                    no_proxies: pytest.MonkeyPatch) -> None:
    with Proxy("user:s3cret") as proxy:
        no_proxies.setenv("https_proxy", proxy.url)

        async def scenario(make: Callable[..., Any]) -> None:
            await _echo_over_both_transports(make(ssl=_trusting(ca)), tls_server)

        _run(mode, scenario)
    assert proxy.seen and {m for m, _, _ in proxy.seen} == {"CONNECT"}, proxy.seen
    assert all(authorized for _, _, authorized in proxy.seen)


@pytest.mark.parametrize("mode", MODES)
def test_a_proxy_refusing_the_credentials(mode: str, plain_server: str,
                                          no_proxies: pytest.MonkeyPatch) -> None:
    with Proxy("user:s3cret") as proxy:
        no_proxies.setenv("http_proxy", proxy.url.replace("s3cret", "wrong"))

        async def scenario(make: Callable[..., Any]) -> None:
            polling, ws = make(), make()
            with pytest.raises(hubbub.ClientConnectionError, match="HTTP 407"):
                await polling.connect(plain_server, transports=["polling"])
            with pytest.raises(hubbub.ClientConnectionError, match="407"):
                await ws.connect(plain_server, transports=["websocket"])

        _run(mode, scenario)
    assert len(proxy.seen) == 2 and not any(authorized for _, _, authorized in proxy.seen)


@pytest.mark.parametrize("mode", MODES)
def test_no_proxy_bypasses_the_proxy(mode: str, plain_server: str,
                                     no_proxies: pytest.MonkeyPatch) -> None:
    with Proxy() as proxy:
        no_proxies.setenv("http_proxy", proxy.url)
        no_proxies.setenv("no_proxy", "127.0.0.1")

        async def scenario(make: Callable[..., Any]) -> None:
            await _echo_over_both_transports(make(), plain_server)

        _run(mode, scenario)
    assert proxy.seen == []


# -- cookies -----------------------------------------------------------------------------------


class StickyBalancer:
    """What a sticky load balancer does, in front of one ASGI app: its cookie
    on every answer, and a session's requests without it refused (they would
    have gone to another backend). ``checked`` counts the session requests
    that carried it."""

    COOKIE = "lb=backend-7"

    def __init__(self, app: Any) -> None:
        self.app = app
        self.checked = {"http": 0, "websocket": 0}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        cookies = [v.decode() for k, v in scope["headers"] if k == b"cookie"]
        in_session = "sid" in parse_qs(scope["query_string"].decode())
        if in_session:
            if not any(self.COOKIE in c.split("; ") for c in cookies):
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return None
                await send({"type": "http.response.start", "status": 400,
                            "headers": [(b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return None
            self.checked[scope["type"]] += 1

        async def sticky(message: dict[str, Any]) -> None:
            if message["type"] in ("http.response.start", "websocket.accept"):
                message = {**message, "headers": [
                    *message.get("headers", []),
                    (b"set-cookie", f"{self.COOKIE}; Path=/; HttpOnly".encode())]}
            await send(message)

        return await self.app(scope, receive, sticky)


@pytest.mark.parametrize("mode", MODES)
def test_cookies_are_kept_for_a_sticky_balancer(mode: str,
                                                no_proxies: pytest.MonkeyPatch) -> None:
    balancer = StickyBalancer(hubbub.ASGIApp(_server()))
    with Uvicorn(balancer) as server:

        async def scenario(make: Callable[..., Any]) -> None:
            await _echo_over_both_transports(make(), f"http://127.0.0.1:{server.port}")

        _run(mode, scenario)
    assert balancer.checked["http"] >= 2 and balancer.checked["websocket"] == 1, balancer.checked


# -- a custom path ---------------------------------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_server_under_a_custom_path(mode: str, no_proxies: pytest.MonkeyPatch) -> None:
    sio = hubbub.Server(path="/realtime/io/")
    sio.on("echo", lambda socket, *args: args)
    with Uvicorn(hubbub.ASGIApp(sio)) as server:
        url = f"http://127.0.0.1:{server.port}"

        async def scenario(make: Callable[..., Any]) -> None:
            lost = make()
            with pytest.raises(hubbub.ClientConnectionError, match="404"):
                await lost.connect(url, transports=["polling"])
            client = make()
            await client.connect(url, socketio_path="realtime/io")
            assert await client.call("echo", "found") == "found"
            for _ in range(200):
                if client.transport() == "websocket":
                    break
                await client.sleep(0.02)
            assert await client.call("echo", "upgraded") == "upgraded"
            assert client.transport() == "websocket"

        _run(mode, scenario)
