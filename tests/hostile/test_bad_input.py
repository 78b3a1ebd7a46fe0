"""Bad input, one row per kind: the server answers it properly, logs it, and
keeps serving everyone else.

Each row sends its bad input over a real socket (raw bytes from the socket
module, masked frames from hubbub's own codec) to a server running in this
process, and compares what comes back with the row's expected answer. All
the while a healthy websocket client, connected before the row starts,
keeps exchanging echo messages: it must still be served after every bad
input (and, for the slow clients, while they hang). No error may be
logged, and no traceback printed to stdout or stderr.

The embedded server and the gevent server get every row; under uvicorn
only the rows that reach hubbub itself (uvicorn parses HTTP and websocket
frames there).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import select
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import Any

import pytest
from hostile_app import assert_no_traceback_printed, printed_from_now_on
from websockets.sync.client import ClientConnection, connect

import hubbub
from conftest import ServerThread
from hubbub.websocket.frames import OP_BINARY, OP_TEXT, encode_frame
from hubbub.websocket.handshake import accept_key

MAX_BUFFER = 10_000  # max_http_buffer_size: POST bodies and websocket messages
LIMITS = hubbub.ServerLimits(max_header_size=8192, headers_timeout=0.5, keep_alive_timeout=5.0)
PATH = "/engine.io/"
IO_TIMEOUT = 5.0


# --------------------------------------------------------------------------- raw sockets


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class RawConn:
    """One TCP connection; bytes in, HTTP responses and websocket frames out."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=IO_TIMEOUT)
        self.buf = b""

    def __enter__(self) -> RawConn:
        return self

    def __exit__(self, *exc: object) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by the server")
        self.buf += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def read_response(self) -> Response:
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = self._take(int(headers.get("content-length", "0")))
        return Response(status, headers, body)

    def closed_by_server(self, within: float = 2.0) -> bool:
        """True if the server closes the connection within ``within`` seconds
        (anything it still sends before that is read and dropped)."""
        deadline = time.monotonic() + within
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.sock.settimeout(left)
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
        finally:
            self.sock.settimeout(IO_TIMEOUT)

    # -- websocket (client side)

    def read_frame(self) -> tuple[int, bytes]:
        """One server frame (unmasked, unfragmented): (opcode, payload)."""
        b0, b1 = self._take(2)
        assert not b1 & 0x80, "server frames are never masked"
        length = b1 & 0x7F
        if length == 126:
            length = int.from_bytes(self._take(2), "big")
        elif length == 127:
            length = int.from_bytes(self._take(8), "big")
        return b0 & 0x0F, self._take(length)

    def read_close_code(self) -> int:
        """Read frames until the server's close frame; its status code."""
        while True:
            opcode, payload = self.read_frame()
            if opcode == 0x8:
                return int.from_bytes(payload[:2], "big") if payload else 1005

    def send_frame(self, opcode: int, payload: bytes, *, masked: bool = True, **kw: Any) -> None:
        self.send(encode_frame(opcode, payload, mask=os.urandom(4) if masked else None, **kw))


def http_request(
    method: str,
    target: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def request(port: int, method: str, target: str, body: bytes = b"") -> Response:
    with RawConn(port) as conn:
        conn.send(http_request(method, target, body))
        return conn.read_response()


def open_polling(port: int, version: int) -> str:
    """A new polling session; its sid."""
    resp = request(port, "GET", f"{PATH}?EIO={version}&transport=polling")
    assert resp.status == 200, resp
    text = resp.body.decode("utf-8")
    if version == 3:
        text = text.partition(":")[2]
    assert text.startswith("0"), text
    return str(json.loads(text[1:])["sid"])


def next_get(port: int, sid: str, version: int) -> str:
    """What a GET for ``sid`` answers now: its body, or '<status> code <n>'."""
    resp = request(port, "GET", f"{PATH}?EIO={version}&transport=polling&sid={sid}")
    if resp.status == 200:
        return resp.body.decode("utf-8")
    return f"{resp.status} code {resp.json()['code']}"


def open_websocket(port: int, query: str = "EIO=4&transport=websocket") -> RawConn:
    """A raw websocket connection past the handshake and the open packet."""
    conn = RawConn(port)
    key = base64.b64encode(os.urandom(16)).decode("ascii")
    conn.send(
        http_request(
            "GET",
            f"{PATH}?{query}",
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": key,
                "Sec-WebSocket-Version": "13",
            },
        )
    )
    resp = conn.read_response()
    assert resp.status == 101, resp
    assert resp.headers["sec-websocket-accept"] == accept_key(key)
    opcode, payload = conn.read_frame()
    assert (opcode, payload[:1]) == (OP_TEXT, b"0"), payload
    return conn


# --------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class Answer:
    """What the server answered. A row's sender fills the fields it observes."""

    status: int | None = None  # HTTP status
    code: int | None = None  # Engine.IO error code in a JSON error body
    close: int | None = None  # websocket close code
    conn_closed: bool | None = None  # the server dropped the connection afterwards
    after: str | None = None  # what the session's next GET gets (see next_get)


@dataclass
class Ctx:
    port: int
    healthy: Callable[[], None]  # one echo round trip of the healthy client


@dataclass(frozen=True)
class Case:
    name: str
    send: Callable[[Ctx], Answer]
    expected: Answer
    log: str  # a regular expression a 'hubbub' log record must match

    def __str__(self) -> str:
        return self.name


def http_answer(resp: Response, **observed: Any) -> Answer:
    code = None
    if resp.headers.get("content-type") == "application/json":
        code = resp.json()["code"]
    return Answer(status=resp.status, code=code, **observed)


def bad_post(version: int, body: bytes) -> Callable[[Ctx], Answer]:
    def send(ctx: Ctx) -> Answer:
        sid = open_polling(ctx.port, version)
        target = f"{PATH}?EIO={version}&transport=polling&sid={sid}"
        resp = request(ctx.port, "POST", target, body)
        return http_answer(resp, after=next_get(ctx.port, sid, version))

    return send


def get_query(query: str) -> Callable[[Ctx], Answer]:
    def send(ctx: Ctx) -> Answer:
        return http_answer(request(ctx.port, "GET", f"{PATH}?{query}"))

    return send


def oversized_post(ctx: Ctx) -> Answer:
    sid = open_polling(ctx.port, 4)
    body = b"4" + b"x" * (MAX_BUFFER * 2)
    resp = request(ctx.port, "POST", f"{PATH}?EIO=4&transport=polling&sid={sid}", body)
    return Answer(status=resp.status, after=next_get(ctx.port, sid, 4))


def ws_frame(opcode: int, payload: bytes, **kw: Any) -> Callable[[Ctx], Answer]:
    def send(ctx: Ctx) -> Answer:
        with open_websocket(ctx.port) as conn:
            conn.send_frame(opcode, payload, **kw)
            code = conn.read_close_code()
            return Answer(close=code, conn_closed=conn.closed_by_server())

    return send


def ws_message_close(opcode: int, payload: bytes) -> Callable[[Ctx], Answer]:
    """Like ws_frame, for rows that also run under uvicorn (which keeps the
    TCP connection until the client answers the close: not observed)."""

    def send(ctx: Ctx) -> Answer:
        with open_websocket(ctx.port) as conn:
            conn.send_frame(opcode, payload)
            return Answer(close=conn.read_close_code())

    return send


def raw_http(data: bytes) -> Callable[[Ctx], Answer]:
    def send(ctx: Ctx) -> Answer:
        with RawConn(ctx.port) as conn:
            conn.send(data)
            resp = conn.read_response()
            return Answer(status=resp.status, conn_closed=conn.closed_by_server())

    return send


def raw_http_in_pieces(data: bytes, first: int) -> Callable[[Ctx], Answer]:
    """Like raw_http, the first ``first`` bytes sent alone: on gevent the
    short path reads them and hands the rest of the head to pywsgi's
    handler, which must hold it to the same rules."""

    def send(ctx: Ctx) -> Answer:
        with RawConn(ctx.port) as conn:
            conn.send(data[:first])
            time.sleep(0.05)  # read on its own before the rest comes
            conn.send(data[first:])
            resp = conn.read_response()
            return Answer(status=resp.status, conn_closed=conn.closed_by_server())

    return send


def many_headers(count: int) -> dict[str, str]:
    """``count`` headers besides Host (which http_request adds)."""
    return {f"X-H{i}": "v" for i in range(count)}


def huge_header_unfinished(ctx: Ctx) -> Answer:
    """A header line that never ends: refused once it passes the limit, long
    before headers_timeout, not buffered for as long as the client likes."""
    with RawConn(ctx.port) as conn:
        conn.send(b"GET " + PATH.encode() + b"?EIO=4&transport=polling HTTP/1.1\r\n")
        conn.send(b"X-Big: ")
        started = time.monotonic()
        for _ in range(8):
            if select.select([conn.sock], [], [], 0.01)[0]:
                break  # answered: sending more would only earn a reset
            conn.send(b"a" * (LIMITS.max_header_size // 2))
        resp = conn.read_response()
        elapsed = time.monotonic() - started
        assert elapsed < LIMITS.headers_timeout, f"answered after {elapsed:.2f}s"
        return Answer(status=resp.status, conn_closed=conn.closed_by_server())


def slow_client(dribble: bool) -> Callable[[Ctx], Answer]:
    """A client that starts a request and never finishes its headers; with
    ``dribble`` it keeps sending a byte now and then (slowloris)."""

    def send(ctx: Ctx) -> Answer:
        with RawConn(ctx.port) as conn:
            started = time.monotonic()
            conn.send(b"GET " + PATH.encode() + b"?EIO=4&transport=polling HTTP/1.1\r\n")
            conn.send(b"Host: 127.0.0.1\r\nX-Slow: ")
            # while it hangs, everyone else is served
            for _ in range(5):
                ctx.healthy()
                if dribble:
                    conn.send(b"z")
                time.sleep(LIMITS.headers_timeout / 10)
            resp = conn.read_response()
            elapsed = time.monotonic() - started
            assert LIMITS.headers_timeout - 0.1 <= elapsed < LIMITS.headers_timeout + 2.0, elapsed
            return Answer(status=resp.status, conn_closed=conn.closed_by_server())

    return send


def ws_handshake(query: str, key: str) -> Callable[[Ctx], Answer]:
    """A websocket handshake the server must refuse."""

    def send(ctx: Ctx) -> Answer:
        with RawConn(ctx.port) as conn:
            headers = {
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": key,
                "Sec-WebSocket-Version": "13",
            }
            conn.send(http_request("GET", f"{PATH}?{query}", headers=headers))
            return http_answer(conn.read_response(), conn_closed=conn.closed_by_server())

    return send


GOOD_KEY = base64.b64encode(b"sixteen byte key").decode("ascii")


POLL_V4 = f"{PATH}?EIO=4&transport=polling"
GONE = "400 code 1"  # the session no longer exists

# rows that reach hubbub whatever the HTTP server is
ENGINE_CASES = [
    Case("v4 payload 'abc'", bad_post(4, b"abc"), Answer(400, 3, after=GONE), "bad polling"),
    Case("v4 bad base64", bad_post(4, b"b!!!"), Answer(400, 3, after=GONE), "bad polling"),
    Case("v4 empty body", bad_post(4, b""), Answer(400, 3, after=GONE), "bad polling"),
    Case("v4 invalid UTF-8", bad_post(4, b"4\xff\xfe"), Answer(400, 3, after=GONE), "bad polling"),
    Case("v3 bad length", bad_post(3, b"9:4hi"), Answer(400, 3, after=GONE), "bad polling"),
    Case("v3 non-digit length", bad_post(3, b"x:4hi"), Answer(400, 3, after=GONE), "bad polling"),
    Case("v3 truncated", bad_post(3, b"3:4hi3:4h"), Answer(400, 3, after=GONE), "bad polling"),
    Case("v3 empty body", bad_post(3, b""), Answer(400, 3, after=GONE), "bad polling"),
    Case(
        "v3 binary truncated",
        bad_post(3, b"\x00\x05\xff4h"),
        Answer(400, 3, after=GONE),
        "bad polling",
    ),
    Case(
        "unknown sid",
        get_query("EIO=4&transport=polling&sid=nope"),
        Answer(400, 1),
        "Session ID unknown",
    ),
    Case(
        "unknown transport",
        get_query("EIO=4&transport=carrier"),
        Answer(400, 0),
        "Transport unknown",
    ),
    Case("bad EIO", get_query("EIO=7&transport=polling"), Answer(400, 5), "Unsupported"),
    Case(
        "websocket for unknown sid",
        ws_handshake("EIO=4&transport=websocket&sid=nope", GOOD_KEY),
        Answer(400, 1, conn_closed=True),
        "Session ID unknown",
    ),
    Case("oversized POST", oversized_post, Answer(413, after=GONE), "over max_http_buffer_size"),
    Case(
        "oversized ws message",
        ws_message_close(OP_TEXT, b"4" + b"x" * (MAX_BUFFER * 2)),
        Answer(close=1009),
        "1009",
    ),
    Case(
        "oversized binary ws message",
        ws_message_close(OP_BINARY, b"x" * (MAX_BUFFER + 1)),
        Answer(close=1009),
        "1009",
    ),
    Case(
        "engine.io packet 'abc' on ws",
        ws_message_close(OP_TEXT, b"abc"),
        Answer(close=1002),
        "bad websocket packet",
    ),
]

TOO_MANY_HEADERS = http_request("GET", POLL_V4, headers=many_headers(LIMITS.max_headers_count))
NO_COLON = b"GET " + POLL_V4.encode() + b" HTTP/1.1\r\nno colon here\r\nHost: 127.0.0.1\r\n\r\n"
HUGE_URL = http_request("GET", POLL_V4 + "&pad=" + "a" * 9000)
# pywsgi's parser (the email package's) would end the line at the lone CR
# and stop at "X-B 2" as at a line without a colon
LONE_CR = b"GET " + POLL_V4.encode() + b" HTTP/1.1\r\nX-A: 1\rX-B 2\r\nHost: 127.0.0.1\r\n\r\n"

# rows for hubbub's own HTTP and websocket parsing: the embedded server's,
# and the gevent server's (its short path parses heads with httptools and
# gives the rest to pywsgi's handler, held to the same limits and refusing
# what pywsgi's parser would misread; websockets run on hubbub's codec)
PARSER_CASES = [
    Case(
        "invalid UTF-8 in text frame",
        ws_frame(OP_TEXT, b"4\xc3\x28"),
        Answer(close=1007, conn_closed=True),
        "1007",
    ),
    Case(
        "unmasked frame",
        ws_frame(OP_TEXT, b"4hi", masked=False),
        Answer(close=1002, conn_closed=True),
        "unmasked",
    ),
    Case("reserved opcode", ws_frame(0x3, b"4hi"), Answer(close=1002, conn_closed=True), "opcode"),
    Case(
        "reserved bits",
        ws_frame(OP_TEXT, b"4hi", rsv1=True),
        Answer(close=1002, conn_closed=True),
        "reserved bits",
    ),
    Case(
        "garbage request line",
        raw_http(b"\x16\x03\x01garbage\r\n\r\n"),
        Answer(400, conn_closed=True),
        "malformed HTTP",
    ),
    Case(
        "header without colon",
        raw_http(NO_COLON),
        Answer(400, conn_closed=True),
        "malformed HTTP",
    ),
    Case(
        "header without colon, head in pieces",
        raw_http_in_pieces(NO_COLON, 20),
        Answer(400, conn_closed=True),
        "malformed HTTP",
    ),
    Case(
        "header with a lone CR",
        raw_http(LONE_CR),
        Answer(400, conn_closed=True),
        "malformed HTTP",
    ),
    Case(
        "huge header",
        raw_http(http_request("GET", POLL_V4, headers={"X-Big": "a" * 9000})),
        Answer(431, conn_closed=True),
        "malformed HTTP",
    ),
    Case("huge URL", raw_http(HUGE_URL), Answer(431, conn_closed=True), "malformed HTTP"),
    Case(
        "huge URL, head in pieces",
        raw_http_in_pieces(HUGE_URL, 20),
        Answer(431, conn_closed=True),
        "malformed HTTP",
    ),
    Case(
        "too many headers",
        raw_http(TOO_MANY_HEADERS),
        Answer(431, conn_closed=True),
        "malformed HTTP",
    ),
    Case(
        "too many headers, head in pieces",
        raw_http_in_pieces(TOO_MANY_HEADERS, 20),
        Answer(431, conn_closed=True),
        "malformed HTTP",
    ),
    Case(
        "huge header, never ends",
        huge_header_unfinished,
        Answer(431, conn_closed=True),
        "malformed HTTP",
    ),
    Case(
        "slow client",
        slow_client(dribble=False),
        Answer(408, conn_closed=True),
        "not complete in time",
    ),
    Case(
        "slowloris",
        slow_client(dribble=True),
        Answer(408, conn_closed=True),
        "not complete in time",
    ),
    Case(
        "bad Sec-WebSocket-Key",
        ws_handshake("EIO=4&transport=websocket", "not-a-16-byte-key"),
        Answer(400, conn_closed=True),
        "bad websocket handshake",
    ),
]

# where hubbub's answer reaches the client differently under uvicorn
UVICORN_CHANGES: dict[str, dict[str, Any]] = {
    # hubbub measures the whole message, as uvicorn hands it over
    "oversized ws message": {"log": "websocket message over max_http_buffer_size"},
    "oversized binary ws message": {"log": "websocket message over max_http_buffer_size"},
    # a websocket refused before it is accepted: ASGI servers answer 403
    "websocket for unknown sid": {"expected": Answer(403, conn_closed=True), "log": "refused"},
}

# gevent has the embedded server's expectations in every row: where pywsgi
# answered otherwise (400 for too many headers, 414 for a long URL, 200 for
# a header line its parser misreads, a client's error logged as a server
# error), hubbub's gevent server was at fault, and now answers as the
# embedded server does
TABLE = (
    [("embedded", case) for case in ENGINE_CASES + PARSER_CASES]
    + [("uvicorn", replace(case, **UVICORN_CHANGES.get(case.name, {}))) for case in ENGINE_CASES]
    + [("gevent", case) for case in ENGINE_CASES + PARSER_CASES]
)


# --------------------------------------------------------------------------- servers


def make_engine() -> hubbub.EngineIOServer:
    eio = hubbub.EngineIOServer(
        ping_interval=30.0,
        ping_timeout=30.0,
        max_http_buffer_size=MAX_BUFFER,
        cors_allowed_origins="*",
    )

    @eio.on("message")
    def echo(sid: str, data: str | bytes) -> None:
        eio.send(sid, data)

    return eio


@pytest.fixture(scope="module")
def servers() -> Iterator[Callable[[str], Any]]:
    """One server per runtime, started on first use."""
    running: dict[str, Any] = {}

    def get(kind: str) -> Any:
        if kind not in running:
            server = ServerThread(
                make_engine(), limits=LIMITS, uvicorn=kind == "uvicorn", gevent=kind == "gevent"
            )
            running[kind] = server.__enter__()
        return running[kind]

    yield get
    for server in running.values():
        server.__exit__(None, None, None)


class HealthyClient:
    """A well-behaved websocket client that keeps exchanging echo messages."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        opened = ws.recv(timeout=IO_TIMEOUT)
        assert isinstance(opened, str) and opened.startswith("0")
        self.count = 0

    def echo(self) -> None:
        self.count += 1
        text = f"4still here {self.count}"
        self.ws.send(text)
        binary = os.urandom(8)
        self.ws.send(binary)
        got: list[str | bytes] = []
        while len(got) < 2:
            msg = self.ws.recv(timeout=IO_TIMEOUT)
            if msg == "2":  # a heartbeat, should one come
                self.ws.send("3")
                continue
            got.append(msg)
        assert got == [text, binary]


def wait_for_log(caplog: pytest.LogCaptureFixture, pattern: str) -> list[logging.LogRecord]:
    regex = re.compile(pattern)
    deadline = time.monotonic() + 2.0
    while True:
        found = [
            r
            for r in caplog.records
            if r.name.startswith("hubbub") and regex.search(r.getMessage())
        ]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


@pytest.mark.parametrize(("server_kind", "case"), TABLE, ids=[f"{k}-{c.name}" for k, c in TABLE])
def test_bad_input(
    server_kind: str,
    case: Case,
    servers: Callable[[str], Any],
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    server = servers(server_kind)  # first: starting uvicorn configures its loggers
    capfd = printed_from_now_on(request)
    caplog.set_level(logging.INFO, logger="hubbub")
    # uvicorn's loggers do not propagate to the root logger caplog watches
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)
    try:
        url = f"ws://127.0.0.1:{server.port}{PATH}?EIO=4&transport=websocket"
        with connect(url, open_timeout=IO_TIMEOUT) as ws:
            healthy = HealthyClient(ws)
            healthy.echo()
            answer = case.send(Ctx(server.port, healthy.echo))
            assert answer == case.expected
            healthy.echo()
        logged = wait_for_log(caplog, case.log)
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    assert logged, f"no 'hubbub' log record matching {case.log!r}: " + repr(
        [(r.name, r.getMessage()) for r in caplog.records]
    )
    errors = [
        (r.name, r.getMessage())
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("hubbub", "uvicorn"))
    ]
    assert errors == []
    assert_no_traceback_printed(capfd)


@pytest.mark.parametrize("in_pieces", [False, True], ids=["whole", "in pieces"])
@pytest.mark.parametrize("server_kind", ["embedded", "gevent"])
def test_a_head_at_the_header_limits_is_served(
    server_kind: str, in_pieces: bool, servers: Callable[[str], Any]
) -> None:
    """As many headers as max_headers_count allows, and a head of max_header_size
    bytes with them, are served (on gevent, in pieces, by pywsgi's handler,
    whose own parser alone would refuse that many)."""
    server = servers(server_kind)
    # Host, X-Pad and these make max_headers_count
    headers = many_headers(LIMITS.max_headers_count - 2)
    # padded to the limit as gevent counts it, the whole head; the embedded
    # server counts less of it (the URL, and each header's name and value)
    pad = LIMITS.max_header_size - len(http_request("GET", POLL_V4, headers=headers))
    pad -= len("X-Pad: \r\n")
    head = http_request("GET", POLL_V4, headers={**headers, "X-Pad": "p" * pad})
    assert len(head) == LIMITS.max_header_size
    with RawConn(server.port) as conn:
        if in_pieces:
            conn.send(head[:20])
            time.sleep(0.05)  # read on its own before the rest comes
            conn.send(head[20:])
        else:
            conn.send(head)
        resp = conn.read_response()
    assert resp.status == 200, resp
    assert resp.body.startswith(b"0{")
