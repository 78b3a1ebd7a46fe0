"""Sans-IO tests of what the client needs of HTTP/1.1 and RFC 6455
(hubbub.client.http1, hubbub.websocket.client): request bytes, the
incremental response parser fed in every split, cookies, proxies from the
environment and the route through them, and the client side of the
websocket handshake and framing, checked against hubbub's server-side codec.
"""

from __future__ import annotations

import base64
import ssl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubbub.client.http1 import (
    CookieJar,
    HttpError,
    Origin,
    ResponseParser,
    proxy_for,
    request_bytes,
    route,
    tls_context,
)
from hubbub.websocket.client import ClientWebSocket
from hubbub.websocket.frames import (
    Close,
    FrameDecoder,
    Message,
    Pong,
    WebSocketError,
    close_frame,
    ping_frame,
    text_frame,
)
from hubbub.websocket.handshake import check_upgrade_request, handshake_response

# -- requests -----------------------------------------------------------------------------------


def test_origin_of_urls() -> None:
    assert Origin.of("http://h") == Origin(False, "h", 80)
    assert Origin.of("wss://h:8443/x") == Origin(True, "h", 8443)
    assert Origin.of("https://[::1]/").host_header == "[::1]"
    assert Origin.of("http://h:8080").host_header == "h:8080"
    with pytest.raises(ValueError):
        Origin.of("ftp://h")
    with pytest.raises(ValueError):
        Origin.of("http://")


def test_request_bytes() -> None:
    origin = Origin(False, "h", 8080)
    raw = request_bytes("POST", origin, "/p?q=1", [("X-A", "b")], b"body")
    assert raw == (b"POST /p?q=1 HTTP/1.1\r\nHost: h:8080\r\nX-A: b\r\n"
                   b"Content-Length: 4\r\n\r\nbody")
    assert request_bytes("GET", origin, "/", [], absolute=True).startswith(
        b"GET http://h:8080/ HTTP/1.1\r\n")
    with pytest.raises(ValueError):
        request_bytes("GET", origin, "/", [("X-A", "evil\r\nInjected: 1")])


# -- responses ----------------------------------------------------------------------------------

ANSWERS = [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nSet-Cookie: a=1\r\n\r\nhello", 200, b"hello"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     b"3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\nTrailer: x\r\n\r\n", 200, b"hello"),
    (b"HTTP/1.1 204 No Content\r\n\r\n", 204, b""),
    (b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\nConnection: close\r\n\r\n{}", 400, b"{}"),
]


@pytest.mark.parametrize(("raw", "status", "body"), ANSWERS)
def test_responses_in_one_piece_and_byte_by_byte(raw: bytes, status: int, body: bytes) -> None:
    whole = ResponseParser().feed(raw + b"HTTP/1.1 next")
    assert whole is not None and (whole.status, whole.body) == (status, body)
    parser = ResponseParser()
    results = [parser.feed(raw[i:i + 1]) for i in range(len(raw))]
    assert all(r is None for r in results[:-1])
    last = results[-1]
    assert last is not None and (last.status, last.body) == (status, body)


@given(st.lists(st.integers(1, 40), min_size=1, max_size=30), st.binary(max_size=300))
def test_chunked_bodies_in_any_split(cuts: list[int], body: bytes) -> None:
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
    for i in range(0, len(body), 7):
        piece = body[i:i + 7]
        raw += f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    raw += b"0\r\n\r\n"
    parser, done, at = ResponseParser(), None, 0
    for cut in cuts * (len(raw) // sum(cuts) + 2):
        if done is not None or at >= len(raw):
            break
        done = parser.feed(raw[at:at + cut])
        at += cut
    assert done is not None and done.body == body


def test_headers_keep_alive_and_until_close() -> None:
    response = ResponseParser().feed(b"HTTP/1.1 200 OK\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n"
                                     b"Content-Length: 0\r\n\r\n")
    assert response is not None and response.keep_alive
    assert response.all("set-cookie") == ["a=1", "b=2"]
    old = ResponseParser().feed(b"HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n")
    assert old is not None and not old.keep_alive
    parser = ResponseParser()
    assert parser.feed(b"HTTP/1.1 200 OK\r\n\r\nuntil the") is None
    assert parser.feed(b" end") is None
    ended = parser.eof()
    assert ended.body == b"until the end" and not ended.keep_alive


def test_a_connect_answer_ends_at_its_head_and_keeps_the_rest() -> None:
    parser = ResponseParser("CONNECT", head_only=True)
    answer = parser.feed(b"HTTP/1.1 200 Connection established\r\n\r\n\x16\x03")
    assert answer is not None and answer.status == 200 and parser.rest == b"\x16\x03"


@pytest.mark.parametrize("raw", [
    b"SMTP 220 hi\r\n\r\n",
    b"HTTP/1.1 abc OK\r\n\r\n",
    b"HTTP/1.1 \xb2\xb2\xb2 OK\r\n\r\n",  # digits to str.isdigit(), not to int()
    b"HTTP/1.1 200 OK\r\nContent-Length: \xb2\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000,
])
def test_malformed_answers_raise(raw: bytes) -> None:
    with pytest.raises(HttpError):
        ResponseParser().feed(raw)


def test_a_body_past_the_limit_or_cut_short_raises() -> None:
    with pytest.raises(HttpError):
        ResponseParser(max_body=10).feed(b"HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")
    parser = ResponseParser()
    parser.feed(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(HttpError):
        parser.eof()


# -- cookies ------------------------------------------------------------------------------------


def test_cookie_jar_keeps_replaces_and_expires() -> None:
    jar = CookieJar()
    assert jar.header() is None
    jar.take(["AWSALB=abc; Expires=Thu, 01 Jan 2099 00:00:00 GMT; Path=/",
              "io=sid1; Path=/; HttpOnly; SameSite=Lax", "junk", "=nameless"])
    assert jar.header() == "AWSALB=abc; io=sid1"
    jar.take(["io=sid2", "AWSALB=gone; Max-Age=0"])
    assert jar.header() == "io=sid2" and len(jar) == 1


# -- proxies ------------------------------------------------------------------------------------


@pytest.fixture
def no_proxy_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY",
                 "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "REQUEST_METHOD"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_proxies_from_the_environment(no_proxy_env: pytest.MonkeyPatch) -> None:
    assert proxy_for("http://example.test/") is None
    no_proxy_env.setenv("http_proxy", "http://user:p%40ss@proxy.test:3128")
    no_proxy_env.setenv("https_proxy", "proxy2.test:8080")
    plain = proxy_for("ws://example.test/")
    assert plain is not None and plain.origin == Origin(False, "proxy.test", 3128)
    assert plain.authorization == "Basic " + base64.b64encode(b"user:p@ss").decode()
    tls = proxy_for("https://example.test/")
    assert tls is not None and tls.origin == Origin(False, "proxy2.test", 8080)
    assert tls.authorization is None
    no_proxy_env.setenv("no_proxy", "example.test,.internal")
    assert proxy_for("http://example.test/") is None
    assert proxy_for("http://api.internal/") is None
    assert proxy_for("http://elsewhere.test/") is not None


def test_routes_through_a_proxy(no_proxy_env: pytest.MonkeyPatch) -> None:
    direct = route("http://example.test:81/socket.io/?EIO=4")
    assert not direct.proxied and direct.target == "/socket.io/?EIO=4"
    assert direct.request("GET", []) == (b"GET /socket.io/?EIO=4 HTTP/1.1\r\n"
                                         b"Host: example.test:81\r\n\r\n")
    no_proxy_env.setenv("http_proxy", "http://u:p@proxy.test:3128")
    no_proxy_env.setenv("https_proxy", "http://u:p@proxy.test:3128")
    auth = "Basic " + base64.b64encode(b"u:p").decode()
    plain = route("http://example.test/socket.io/?EIO=4")
    assert plain.proxied and plain.tunnel is None and plain.absolute
    assert plain.request("GET", []) == (
        b"GET http://example.test/socket.io/?EIO=4 HTTP/1.1\r\nHost: example.test\r\n"
        b"Proxy-Authorization: " + auth.encode() + b"\r\n\r\n")
    for url, hostport in (("ws://example.test/socket.io/", b"example.test:80"),
                          ("https://example.test/socket.io/", b"example.test:443")):
        tunnelled = route(url)
        assert tunnelled.tunnel == (b"CONNECT " + hostport + b" HTTP/1.1\r\nHost: " + hostport
                                    + b"\r\nProxy-Authorization: " + auth.encode() + b"\r\n\r\n")
        assert not tunnelled.absolute and b"Proxy-Authorization" not in tunnelled.request("GET", [])
    no_proxy_env.setenv("https_proxy", "https://proxy.test:443")
    with pytest.raises(ValueError, match="TLS"):
        route("wss://example.test/")
    assert not route("http://example.test/", use_proxy=False).proxied


def test_tls_verifies_by_default() -> None:
    context = tls_context(None, True)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    lax = tls_context(None, False)
    assert lax.verify_mode is ssl.CERT_NONE and not lax.check_hostname
    given_context = ssl.create_default_context()
    assert tls_context(given_context, False) is given_context


# -- the websocket client -------------------------------------------------------------------------


def _server_answer(client: ClientWebSocket) -> tuple[bytes, dict[str, str]]:
    """What hubbub's server side makes of the client's handshake, and its answer."""
    head = client.handshake().decode("latin-1").split("\r\n\r\n")[0].split("\r\n")
    assert head[0] == "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1"
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in head[1:])}
    key = check_upgrade_request("GET", headers)
    return handshake_response(key, []), headers


def test_websocket_handshake_and_frames_against_the_server_codec() -> None:
    client = ClientWebSocket("h:3000", "/socket.io/?EIO=4&transport=websocket",
                             [("Cookie", "a=1")])
    answer, headers = _server_answer(client)
    assert headers["host"] == "h:3000" and headers["cookie"] == "a=1"
    # the 101 answer and the server's first frames in one read
    messages = client.feed(answer + text_frame("0{}") + ping_frame(b"p"))
    assert client.open and messages == ["0{}"]
    server = FrameDecoder(1 << 20, require_mask=True)  # client frames must be masked
    events = server.feed(client.take_output() + client.message("hi") + client.message(b"\x00"))
    assert events == [Pong(b"p"), Message("hi"), Message(b"\x00")]
    assert client.feed(close_frame(1001)) == [] and client.closed and client.close_code == 1001
    assert server.feed(client.take_output()) == [Close(1001, "")]  # the reply
    assert client.close() == b""  # only one close frame


def test_our_close_frame_once() -> None:
    client = ClientWebSocket("h", "/socket.io/?EIO=4&transport=websocket")
    client.feed(_server_answer(client)[0])
    server = FrameDecoder(1 << 20, require_mask=True)
    assert server.feed(client.close(1000)) == [Close(1000, "")]
    assert client.close() == b""


def test_a_refused_or_wrong_handshake_raises() -> None:
    client = ClientWebSocket("h", "/")
    with pytest.raises(WebSocketError) as refused:
        client.feed(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n")
    assert refused.value.http_status == 403
    client = ClientWebSocket("h", "/")
    with pytest.raises(WebSocketError, match="Sec-WebSocket-Accept"):
        client.feed(b"HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: nope\r\n\r\n")
    client = ClientWebSocket("h", "/")
    with pytest.raises(WebSocketError, match="malformed"):
        client.feed(b"HTTP/1.1 \xb2\xb2\xb2 Switching Protocols\r\n\r\n")
    with pytest.raises(ValueError):
        ClientWebSocket("h", "/", [("X", "a\r\nb")])


def test_a_bad_frame_from_the_server_raises_and_closes() -> None:
    client = ClientWebSocket("h", "/socket.io/?EIO=4&transport=websocket")
    client.feed(_server_answer(client)[0])
    with pytest.raises(WebSocketError):
        client.feed(b"\x8f\x00")  # reserved opcode
    assert client.closed and client.close_code == 1002
