"""Socket.IO 0.9 (protocol 1) on the wire, with no client library.

Every test talks to a real hubbub server (embedded, under uvicorn and on
gevent: ``conftest.ServerThread``) over real sockets: ``http.client`` for
the handshake and the polling transports, a raw socket for the htmlfile
stream (its chunked encoding is parsed here), ``websockets`` for the
websocket and flashsocket transports, and a raw socket for the Flash policy
server. What is expected comes from the protocol's README (LearnBoost/
socket.io-spec at 13381ec) and from what socket.io 0.9.17 answers:

* handshake ``sid:heartbeat_timeout:close_timeout:transports``; the JSONP
  form ``io.j[N]("...");``; 403 ``handshake bad origin`` / ``handshake
  unauthorized``; 500 ``Protocol version not supported.``;
* payloads ``\\ufffd<len>\\ufffd<packet>`` with lengths in UTF-16 code
  units, both ways;
* xhr-polling (a long poll closed with ``8::`` after the polling duration),
  jsonp-polling (``io.j[i]("...");`` bodies, ``d=`` form POSTs), htmlfile
  (chunked ``<script>_("...");</script>`` tags, ``/`` escaped), flashsocket
  (websocket framing);
* heartbeats ``2::``, the close timeout, both forced-disconnect URLs, error
  packets ``7::<endpoint>:<reason>+<advice>``, connect packets with a query.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import eio_helpers
import pytest
from eio_helpers import hostport, wait_until
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

import hubbub
from conftest import ServerThread, free_port, run_process

pytestmark = pytest.mark.timeout(40)

RESOURCE = "/socket.io/1"
# slack for timers on a loaded machine (both ends run on this host)
SLACK = 0.6
# heartbeats slow enough never to interfere, unless a test is about them
CALM = {"ping_interval": 20.0, "ping_timeout": 20.0}


# -- the server --------------------------------------------------------------------


@dataclass
class Seen:
    """What the server's handlers saw (they run in the server's thread)."""

    disconnects: list[tuple[str, str, str]] = field(default_factory=list)  # (nsp, sid, reason)
    messages: list[tuple[str, str, Any]] = field(default_factory=list)  # (nsp, sid, data)
    connects: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def reasons(self, sid: str) -> dict[str, str]:
        return {nsp: reason for nsp, s, reason in list(self.disconnects) if s == sid}


def build(seen: Seen, **options: Any) -> hubbub.Server:
    options.setdefault("cors_allowed_origins", "*")
    for key, value in CALM.items():
        options.setdefault(key, value)
    options.setdefault("polling_duration", 1.0)
    sio = hubbub.Server(legacy=True, **options)

    class Raw(hubbub.Namespace):
        def on_connect(self, auth: Any) -> None:
            query = dict(self.handshake.query)
            seen.connects.append((self.namespace.name, self.sid, query))
            self.emit("welcome", {"nsp": self.namespace.name, "query": query})

        def on_disconnect(self, reason: str) -> None:
            seen.disconnects.append((self.namespace.name, self.sid, reason))

        def on_echo(self, *args: Any) -> tuple[Any, ...]:
            return args

        def on_message(self, data: Any) -> None:
            seen.messages.append((self.namespace.name, self.sid, data))

        def on_kick_me(self) -> None:
            self.disconnect()

    class Secret(hubbub.Namespace):
        def on_connect(self, auth: Any) -> None:
            raise hubbub.ConnectionRefusedError("unauthorized")

    sio.register("/", Raw)
    sio.register("/chat", Raw)
    sio.register("/secret", Secret)
    return sio


@contextlib.contextmanager
def serve(runtime: str, **options: Any) -> Iterator[tuple[str, Seen]]:
    """A hubbub Server with 0.9 on, with ``options``; yields (base URL, what it saw)."""
    seen = Seen()
    sio = build(seen, **options)
    with ServerThread(sio, uvicorn=runtime == "uvicorn", gevent=runtime == "gevent") as st:
        yield st.url, seen



# -- HTTP --------------------------------------------------------------------------


class Resp(eio_helpers.Resp):
    def header(self, name: str) -> str:
        return self.headers.get(name) or ""


def request(
    base: str,
    method: str,
    path: str,
    body: str | bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 8.0,
) -> Resp:
    r = eio_helpers.request(base, method, path, body, headers, timeout=timeout)
    return Resp(r.status, r.headers, r.body)


def handshake(base: str, query: str = "") -> tuple[str, list[str]]:
    """A new session: (sid, the handshake's other fields)."""
    r = request(base, "GET", f"{RESOURCE}/?t={int(time.time() * 1000)}{query}")
    assert r.status == 200, (r.status, r.body)
    sid, *rest = r.text.split(":")
    return sid, rest


# -- payloads ----------------------------------------------------------------------


def units(text: str) -> int:
    """The length of ``text`` in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def frame(packets: list[str]) -> str:
    return "".join(f"\ufffd{units(p)}\ufffd{p}" for p in packets)


def unframe(body: str) -> list[str]:
    """A payload as its packets; the lengths must count UTF-16 code units."""
    if not body.startswith("\ufffd"):
        return [body] if body else []
    packets = []
    i = 0
    while i < len(body):
        assert body[i] == "\ufffd", (i, body)
        end = body.index("\ufffd", i + 1)
        n = int(body[i + 1 : end])
        start = j = end + 1
        counted = 0
        while counted < n:
            counted += 2 if ord(body[j]) > 0xFFFF else 1
            j += 1
        assert counted == n, f"a length falls inside a surrogate pair: {body!r}"
        packets.append(body[start:j])
        i = j
    return packets


def event(name: str, *args: Any, ack: int | None = None, endpoint: str = "") -> str:
    ident = "" if ack is None else f"{ack}+"
    data = json.dumps({"name": name, "args": list(args)}, ensure_ascii=False)
    return f"5:{ident}:{endpoint}:{data}"


def ack_args(packets: list[str], ack_id: int) -> list[Any] | None:
    """The arguments of the data ack ``ack_id`` among ``packets``, if there."""
    prefix = f"6:::{ack_id}+"
    for p in packets:
        if p.startswith(prefix):
            args = json.loads(p[len(prefix) :])
            assert isinstance(args, list)
            return args
    return None


# -- polling clients ----------------------------------------------------------------


class Polling:
    """xhr-polling or jsonp-polling for one session, by hand."""

    def __init__(self, base: str, sid: str, transport: str = "xhr-polling", index: int = 3):
        self.base = base
        self.sid = sid
        self.transport = transport
        self.index = index
        self.received: list[str] = []

    @property
    def url(self) -> str:
        return f"{RESOURCE}/{self.transport}/{self.sid}"

    def get_raw(self, timeout: float = 8.0) -> Resp:
        query = f"?t={int(time.time() * 1000)}"
        if self.transport == "jsonp-polling":
            query += f"&i={self.index}"
        return request(self.base, "GET", self.url + query, timeout=timeout)

    def body_of(self, r: Resp) -> str:
        assert r.status == 200, (r.status, r.body)
        if self.transport != "jsonp-polling":
            return r.text
        m = re.fullmatch(rf"io\.j\[{self.index}\]\((\".*\")\);", r.text, re.S)
        assert m is not None, r.text
        payload = json.loads(m.group(1))
        assert isinstance(payload, str)
        return payload

    def get(self, timeout: float = 8.0) -> list[str]:
        packets = unframe(self.body_of(self.get_raw(timeout)))
        self.received += packets
        return packets

    def post(self, packets: list[str]) -> Resp:
        payload = packets[0] if len(packets) == 1 else frame(packets)
        if self.transport == "jsonp-polling":
            body = "d=" + quote(json.dumps(payload, ensure_ascii=False), safe="")
            headers = {"Content-Type": "application/x-www-form-urlencoded"}
            r = request(self.base, "POST", self.url + f"?t=1&i={self.index}", body, headers)
        else:
            headers = {"Content-Type": "text/plain;charset=UTF-8"}
            r = request(self.base, "POST", self.url, payload, headers)
        assert r.status == 200, (r.status, r.body)
        return r

    def poll_until(self, pred: Callable[[list[str]], bool], timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while not pred(self.received):
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out; received {self.received}")
            self.get()
        return self.received


def connect_polling(
    base: str, transport: str = "xhr-polling", query: str = ""
) -> tuple[Polling, list[str]]:
    sid, _ = handshake(base, query)
    client = Polling(base, sid, transport)
    first = client.get()
    assert first[:1] == ["1::"], first
    return client, first


# -- websocket and flashsocket --------------------------------------------------------


def ws_connect(base: str, path: str) -> ClientConnection:
    return connect("ws" + base[len("http") :] + path, compression=None, open_timeout=5)


def ws_until(ws: ClientConnection, pred: Callable[[str], bool], timeout: float = 5.0) -> list[str]:
    """Messages until one matches ``pred`` (heartbeats answered on the way)."""
    got: list[str] = []
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out; got {got}")
        msg = ws.recv(timeout=left)
        assert isinstance(msg, str), msg
        got.append(msg)
        if pred(msg):
            return got
        if msg == "2::":
            ws.send("2::")


# -- htmlfile --------------------------------------------------------------------------


class HtmlFile:
    """An htmlfile GET on a raw socket: the status, headers and the chunks."""

    def __init__(self, base: str, sid: str) -> None:
        self.sock = socket.create_connection(hostport(base), timeout=5)
        host, port = hostport(base)
        self.sock.sendall(
            f"GET {RESOURCE}/htmlfile/{sid}?t=1 HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()
        )
        self.buf = b""
        head = self._until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        self.status = int(lines[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in lines[1:] if h)}
        self.text = ""  # the document so far, chunk by chunk
        self.ended = False

    def _fill(self, deadline: float) -> None:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"htmlfile: nothing more; document so far {self.text!r}")
        self.sock.settimeout(left)
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError(f"htmlfile: the server closed; document so far {self.text!r}")
        self.buf += data

    def _until(self, sep: bytes, timeout: float = 5.0) -> bytes:
        deadline = time.monotonic() + timeout
        while sep not in self.buf:
            self._fill(deadline)
        out, self.buf = self.buf.split(sep, 1)
        return out

    def chunk(self, timeout: float = 5.0) -> str:
        """The next chunk of the chunked body ('' at its end)."""
        size = int(self._until(b"\r\n", timeout).split(b";")[0], 16)
        deadline = time.monotonic() + timeout
        while len(self.buf) < size + 2:
            self._fill(deadline)
        data, rest = self.buf[:size], self.buf[size:]
        assert rest[:2] == b"\r\n", rest[:10]
        self.buf = rest[2:]
        text = data.decode("utf-8")
        self.text += text
        if size == 0:
            self.ended = True
        return text

    def scripts(self) -> list[str]:
        """The packets in every ``<script>_("...");</script>`` tag so far."""
        found = re.findall(r'<script>_\(("(?:[^"\\]|\\.)*")\);</script>', self.text)
        return [p for s in found for p in unframe(json.loads(s))]

    def until(self, pred: Callable[[list[str]], bool], timeout: float = 5.0) -> list[str]:
        deadline = time.monotonic() + timeout
        while not pred(self.scripts()):
            self.chunk(max(0.05, deadline - time.monotonic()))
        return self.scripts()

    def close(self) -> None:
        self.sock.close()


# ======================================================================== handshake


def test_handshake_fields(runtime: str) -> None:
    with serve(
        runtime,
        ping_interval=5.0,
        ping_timeout=10.0,
        close_timeout=60.0,
        legacy_transports=("websocket", "flashsocket", "htmlfile", "xhr-polling", "jsonp-polling"),
    ) as (base, _):
        r = request(base, "GET", f"{RESOURCE}/?t=1234")
        assert r.status == 200
        assert r.header("Content-Type").startswith("text/plain")
        sid, heartbeat, close, transports = r.text.split(":")
        # heartbeat timeout = ping_interval + ping_timeout; close timeout, in seconds
        assert (heartbeat, close) == ("15", "60")
        assert transports == "websocket,flashsocket,htmlfile,xhr-polling,jsonp-polling"
        assert re.fullmatch(r"[A-Za-z0-9_-]{16,}", sid), sid
        # every handshake gets its own unpredictable id
        assert len({sid} | {handshake(base)[0] for _ in range(5)}) == 6
        # the handshake may be a POST too
        r = request(base, "POST", f"{RESOURCE}/", b"")
        assert r.status == 200
        assert r.text.split(":")[1:] == ["15", "60", transports]


def test_handshake_default_transports_leave_out_flashsocket(runtime: str) -> None:
    with serve(runtime) as (base, _):
        _, fields = handshake(base)
        assert fields[2] == "websocket,htmlfile,xhr-polling,jsonp-polling"


def test_handshake_jsonp_form(runtime: str) -> None:
    with serve(runtime, ping_interval=5.0, ping_timeout=10.0, close_timeout=60.0) as (base, _):
        r = request(base, "GET", f"{RESOURCE}/?t=1&jsonp=7")
        assert r.status == 200
        assert r.header("Content-Type").startswith(("application/javascript", "text/javascript"))
        m = re.fullmatch(r'io\.j\[7\]\(("[^"]*")\);', r.text)
        assert m is not None, r.text
        sid, heartbeat, close, _ = json.loads(m.group(1)).split(":")
        assert (heartbeat, close) == ("15", "60")
        # the sid is a real one: its transport connects
        assert Polling(base, sid).get()[:1] == ["1::"]


def test_handshake_unsupported_protocol_version_is_500(runtime: str) -> None:
    with serve(runtime) as (base, _):
        for version in ("2", "0"):
            r = request(base, "GET", f"/socket.io/{version}/?t=1")
            assert (r.status, r.text) == (500, "Protocol version not supported.")


def test_handshake_refused_origin_is_403(runtime: str) -> None:
    with serve(runtime, cors_allowed_origins=["http://good.example"]) as (base, _):
        r = request(base, "GET", f"{RESOURCE}/?t=1", headers={"Origin": "http://evil.example"})
        assert (r.status, r.text) == (403, "handshake bad origin")
        # the JSONP form reports the refusal to the page's callback
        r = request(
            base, "GET", f"{RESOURCE}/?t=1&jsonp=2", headers={"Origin": "http://evil.example"}
        )
        assert r.status == 200
        assert r.text == 'io.j[2](new Error("handshake bad origin"));'
        # an allowed origin is told so
        r = request(base, "GET", f"{RESOURCE}/?t=1", headers={"Origin": "http://good.example"})
        assert r.status == 200
        assert r.header("Access-Control-Allow-Origin") == "http://good.example"
        assert r.header("Access-Control-Allow-Credentials") == "true"


def test_handshake_refused_by_allow_request_is_403(runtime: str) -> None:
    asked: list[str] = []

    def allow(req: Any) -> bool:
        asked.append(req.query.get("token", ""))
        return bool(req.query.get("token") == "good")

    with serve(runtime, allow_request=allow) as (base, _):
        r = request(base, "GET", f"{RESOURCE}/?t=1&token=bad")
        assert (r.status, r.text) == (403, "handshake unauthorized")
        r = request(base, "GET", f"{RESOURCE}/?t=1&token=bad&jsonp=0")
        assert (r.status, r.text) == (200, 'io.j[0](new Error("handshake unauthorized"));')
        sid, _ = handshake(base, "&token=good")
        assert sid
    assert asked[:2] == ["bad", "bad"] and "good" in asked


# ======================================================================== framing


@pytest.mark.parametrize("transport", ["xhr-polling", "jsonp-polling"])
def test_payload_framing_counts_utf16_code_units(runtime: str, transport: str) -> None:
    with serve(runtime) as (base, seen):
        client, _ = connect_polling(base, transport)
        client.poll_until(lambda ps: any(p.startswith("5:::") for p in ps))  # the welcome
        texts = ["\U0001f600", "a\U0001d11eb\U0001f600c", "plain", "\u00e9\u2603"]
        # many packets in one POST, each with characters outside the BMP
        sent = [event("echo", t, ack=i + 1) for i, t in enumerate(texts)]
        sent.append("3:::line one\nline two \U0001f600")
        client.post(sent)
        time.sleep(0.2)  # every ack queued: they come back in one payload
        r = client.get_raw()
        body = client.body_of(r)
        packets = unframe(body)
        client.received += packets
        client.poll_until(lambda ps: all(ack_args(ps, i + 1) is not None for i in range(4)))
        for i, t in enumerate(texts):
            assert ack_args(client.received, i + 1) == [t]
        # the payload was framed, and its lengths are not code point counts
        assert len(packets) >= 2 and body.startswith("\ufffd"), body
        surrogate_frames = [p for p in packets if units(p) != len(p)]
        assert surrogate_frames, packets
        for p in packets:
            assert f"\ufffd{units(p)}\ufffd{p}" in body
        # a message with a newline and a non-BMP character arrived whole
        assert wait_until(lambda: bool(seen.messages), timeout=3.0)
        assert seen.messages == [("/", client.sid, "line one\nline two \U0001f600")]


def test_polling_duration_closes_a_long_poll_with_noop(runtime: str) -> None:
    with serve(runtime, polling_duration=0.5) as (base, _):
        client, _ = connect_polling(base)
        client.poll_until(lambda ps: any(p.startswith("5:::") for p in ps))  # the welcome
        started = time.monotonic()
        r = client.get_raw()
        elapsed = time.monotonic() - started
        assert (r.status, r.text) == (200, "8::")
        assert 0.4 <= elapsed < 0.5 + SLACK, elapsed
        assert r.header("Content-Type").startswith("text/plain")
        # and the session is still there
        client.post([event("echo", "still here", ack=1)])
        client.poll_until(lambda ps: ack_args(ps, 1) == ["still here"])


def test_xhr_polling_post_answers_1(runtime: str) -> None:
    with serve(runtime) as (base, _):
        client, _ = connect_polling(base)
        r = client.post([event("echo", 1, ack=1), "2::"])
        assert r.body == b"1"
        client.poll_until(lambda ps: ack_args(ps, 1) == [1])


# ======================================================================== jsonp-polling


def test_jsonp_polling_body_and_d_form_post(runtime: str) -> None:
    with serve(runtime) as (base, _):
        sid, _ = handshake(base)
        client = Polling(base, sid, "jsonp-polling", index=4)
        r = client.get_raw()
        assert r.status == 200
        assert r.header("Content-Type").startswith(("text/javascript", "application/javascript"))
        assert re.fullmatch(r'io\.j\[4\]\("[^\n]*"\);', r.text), r.text
        first = unframe(client.body_of(r))
        assert first[0] == "1::", first
        # a d= form POST (what the hidden form of the client's JSONP transport
        # posts), text that JavaScript string literals must escape
        tricky = 'quote " backslash \\ newline \n line\u2028para\u2029 </script> \U0001f600'
        r = client.post([event("echo", tricky, ack=1), event("echo", "second", ack=2)])
        assert r.body == b"1"
        got = client.poll_until(lambda ps: ack_args(ps, 2) is not None)
        assert ack_args(got, 1) == [tricky]
        assert ack_args(got, 2) == ["second"]
        # every body is one JavaScript statement: no raw line terminators in it
        client.post([event("echo", tricky, ack=3)])
        time.sleep(0.1)
        raw = client.get_raw()
        assert not set(raw.text) & {"\n", "\r", "\u2028", "\u2029"}, raw.text
        assert re.fullmatch(r'io\.j\[4\]\(".*"\);', raw.text, re.S), raw.text
        client.received += unframe(client.body_of(raw))
        client.poll_until(lambda ps: ack_args(ps, 3) == [tricky])


# ======================================================================== htmlfile


def test_htmlfile_streams_chunked_script_tags(runtime: str) -> None:
    with serve(runtime, ping_interval=0.5, ping_timeout=1.0) as (base, seen):
        sid, _ = handshake(base)
        doc = HtmlFile(base, sid)
        try:
            assert doc.status == 200
            assert doc.headers["content-type"].startswith("text/html")
            assert doc.headers.get("transfer-encoding", "").lower() == "chunked"
            doc.until(lambda ps: "1::" in ps)
            # the document's head: the _ function, and padding for old browsers
            # (which render nothing before 256 bytes) before the first tag
            head = re.match(
                r"<html><body><script>var _ = function \(msg\) "
                r"\{ parent\.s\._\(msg, document\); \};</script>( *)<script>",
                doc.text,
            )
            assert head is not None, doc.text
            assert len(head.group(1)) >= 173
            # packets POSTed to the same URL; the answers come as script tags
            tricky = 'a/b </script><script>alert(1)</script> \U0001f600 \\ "'
            r = request(base, "POST", f"{RESOURCE}/htmlfile/{sid}", event("echo", tricky, ack=1))
            assert (r.status, r.body) == (200, b"1")
            got = doc.until(lambda ps: ack_args(ps, 1) is not None)
            assert ack_args(got, 1) == [tricky]
            # '/' (as socket.io 0.9.17 does) or '<' is escaped, so no
            # '</script>' in the data can end a tag early
            tags = re.findall(r"<script>(.*?)</script>", doc.text, re.S)
            assert tags[0] == "var _ = function (msg) { parent.s._(msg, document); };"
            for tag in tags[1:]:
                assert re.fullmatch(r'_\("(?:[^"\\]|\\.)*"\);', tag), tag
                assert "</" not in tag and "<!--" not in tag, tag
            # heartbeats come as script tags too; answering them keeps the stream
            doc.until(lambda ps: ps.count("2::") >= 1, timeout=3)
            for _ in range(3):
                beats = doc.scripts().count("2::")

                def another(ps: list[str], beats: int = beats) -> bool:
                    return ps.count("2::") > beats

                request(base, "POST", f"{RESOURCE}/htmlfile/{sid}", "2::")
                doc.until(another, timeout=3)
            assert not doc.ended
            assert seen.reasons(sid) == {}
        finally:
            doc.close()


def test_an_htmlfile_client_gone_starts_the_close_timeout_at_once(runtime: str) -> None:
    """The htmlfile document's connection closes: the session is without a
    transport from then on and ends after the close timeout, long before
    its heartbeat timeout would end it."""
    with serve(runtime, ping_interval=5.0, ping_timeout=10.0, close_timeout=1.0) as (base, seen):
        sid, _ = handshake(base)
        doc = HtmlFile(base, sid)
        try:
            doc.until(lambda ps: "1::" in ps)
        finally:
            doc.close()
        gone = time.monotonic()
        assert wait_until(lambda: "/" in seen.reasons(sid), timeout=1.0 + SLACK + 3.0)
        assert time.monotonic() - gone < 1.0 + SLACK + 2.0


# ======================================================================== websocket, flashsocket


@pytest.mark.parametrize("transport", ["websocket", "flashsocket"])
def test_websocket_framing(runtime: str, transport: str) -> None:
    transports = ("websocket", "flashsocket", "xhr-polling")
    with serve(runtime, legacy_transports=transports) as (base, _):
        sid, _ = handshake(base)
        with ws_connect(base, f"{RESOURCE}/{transport}/{sid}") as ws:
            assert ws.recv(timeout=5) == "1::"
            ws_until(ws, lambda m: m.startswith("5:::"))  # the welcome
            # one packet per frame, no payload framing, both ways
            ws.send(event("echo", "\U0001f600 x", ack=7))
            got = ws_until(ws, lambda m: m.startswith("6:::7+"))
            assert ack_args(got, 7) == ["\U0001f600 x"]
            ws.send("1::/chat")
            got = ws_until(ws, lambda m: m.startswith("1::/chat"))
            ws.send(event("echo", "on chat", ack=8, endpoint="/chat"))
            got = ws_until(ws, lambda m: m.startswith("6::/chat:8+"))
            assert json.loads(got[-1][len("6::/chat:8+") :]) == ["on chat"]


def test_flashsocket_is_refused_unless_offered(runtime: str) -> None:
    with serve(runtime) as (base, _):
        sid, fields = handshake(base)
        assert "flashsocket" not in fields[2]
        # a refused websocket handshake, or a socket closed before the connect packet
        with (
            pytest.raises(Exception),  # noqa: B017
            ws_connect(base, f"{RESOURCE}/flashsocket/{sid}") as ws,
        ):
            ws.recv(timeout=3)
            ws.recv(timeout=3)


def test_flash_policy_server_answers_a_policy_request() -> None:
    port = free_port()
    code = (
        "from hubbub.runtime.gevent.policy import FlashPolicyServer\n"
        f"FlashPolicyServer(('127.0.0.1', {port}), ports=(8000,)).serve_forever()\n"
    )
    with run_process([sys.executable, "-c", code], port):
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"<policy-file-request/>\0")
            data = b""
            while not data.endswith(b"\0"):
                chunk = sock.recv(4096)
                if not chunk:
                    break
                data += chunk
        assert data.endswith(b"\0"), data
        assert b"<cross-domain-policy>" in data
        # the server's port only, never every port
        assert b'<allow-access-from domain="*" to-ports="8000"/>' in data
        # anything else is not answered
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\nHost: example\r\n\r\n")
            assert sock.recv(4096) == b""


# ======================================================================== packets


def test_connect_packet_with_a_query(runtime: str) -> None:
    with serve(runtime, legacy_transports=("websocket",)) as (base, seen):
        sid, _ = handshake(base, "&hs=1")
        with ws_connect(base, f"{RESOURCE}/websocket/{sid}?hs=1") as ws:
            assert ws.recv(timeout=5) == "1::"
            # the spec's form, 1::/chat?my=param
            ws.send("1::/chat?token=abc&x=1")
            got = ws_until(ws, lambda m: m.startswith("5::/chat:"))
            assert "1::/chat" in got or "1::/chat?token=abc&x=1" in got, got
            welcome = json.loads(got[-1][len("5::/chat:") :])
            assert welcome["args"][0]["nsp"] == "/chat"
            assert welcome["args"][0]["query"]["token"] == "abc"
            assert welcome["args"][0]["query"]["x"] == "1"
        chat = [c for c in seen.connects if c[:2] == ("/chat", sid)]
        assert chat and chat[0][2]["token"] == "abc"
        # the form socket.io 0.9's own parsers write and read, 1::/chat:?my=param
        sid, _ = handshake(base)
        with ws_connect(base, f"{RESOURCE}/websocket/{sid}") as ws:
            assert ws.recv(timeout=5) == "1::"
            ws.send("1::/chat:?token=def")
            got = ws_until(ws, lambda m: m.startswith("5::/chat:"))
            welcome = json.loads(got[-1][len("5::/chat:") :])
            assert welcome["args"][0]["query"]["token"] == "def"


def test_refused_namespace_gets_an_unauthorized_error_packet(runtime: str) -> None:
    with serve(runtime) as (base, _):
        client, _ = connect_polling(base)
        client.post(["1::/secret"])
        got = client.poll_until(lambda ps: any(p.startswith("7::/secret:") for p in ps))
        # reason 2 (unauthorized), no advice: the 0.9 client's 'connect_failed'
        assert "7::/secret:2" in got, got
        # an unknown namespace is refused the same way; the connection stays
        client.post(["1::/nope", event("echo", "still", ack=1)])
        got = client.poll_until(lambda ps: ack_args(ps, 1) == ["still"])
        assert "7::/nope:2" in got, got


def test_unknown_session_gets_client_not_handshaken(runtime: str) -> None:
    with serve(runtime) as (base, _):
        r = request(base, "GET", f"{RESOURCE}/xhr-polling/nosuchsession123?t=1")
        # error packet: reason 1 (client not handshaken), advice 0 (reconnect)
        assert (r.status, r.text) == (200, "7:::1+0")


def test_automatic_ack_of_a_plain_id(runtime: str) -> None:
    with serve(runtime) as (base, seen):
        client, _ = connect_polling(base)
        client.post(["3:5::plain text", '4:6::{"a": [1]}'])
        got = client.poll_until(lambda ps: "6:::5" in ps and "6:::6" in ps)
        assert "6:::5" in got and "6:::6" in got
        assert wait_until(lambda: len(seen.messages) == 2, timeout=3.0)
        assert sorted(seen.messages, key=lambda m: str(m[2])) == [
            ("/", client.sid, "plain text"),
            ("/", client.sid, {"a": [1]}),
        ]


# ======================================================================== heartbeats, timeouts


def test_websocket_heartbeats_and_heartbeat_timeout(runtime: str) -> None:
    with serve(runtime, ping_interval=0.3, ping_timeout=0.4) as (base, seen):
        # a client that answers every heartbeat stays (2 s = ~3 heartbeat timeouts)
        sid, fields = handshake(base)
        assert 0.7 <= float(fields[0]) <= 1.0, fields  # never an empty timeout
        with ws_connect(base, f"{RESOURCE}/websocket/{sid}") as ws:
            deadline = time.monotonic() + 2.0
            beats = 0
            while time.monotonic() < deadline:
                with contextlib.suppress(TimeoutError):
                    if ws.recv(timeout=0.1) == "2::":
                        beats += 1
                        ws.send("2::")
            assert beats >= 4, beats
            ws.send(event("echo", "alive", ack=1))
            assert ack_args(ws_until(ws, lambda m: m.startswith("6:::1+")), 1) == ["alive"]
        # a client that never answers is dropped after the heartbeat timeout
        sid2, _ = handshake(base)
        with ws_connect(base, f"{RESOURCE}/websocket/{sid2}") as ws:
            started = time.monotonic()
            with pytest.raises(ConnectionClosed):
                while time.monotonic() - started < 5:
                    ws.recv(timeout=5)
            elapsed = time.monotonic() - started
        assert elapsed < 0.3 + 0.7 + SLACK + 0.5, elapsed
        assert wait_until(lambda: "/" in seen.reasons(sid2), timeout=3.0)
        assert seen.reasons(sid2)["/"] == "ping timeout"


def test_close_timeout_frees_a_polling_session_that_stops_polling(runtime: str) -> None:
    with serve(runtime, close_timeout=1.0, polling_duration=0.3) as (base, seen):
        client, _ = connect_polling(base)
        client.poll_until(lambda ps: any(p.startswith("5:::") for p in ps))  # the welcome
        stopped = time.monotonic()
        assert wait_until(lambda: "/" in seen.reasons(client.sid), timeout=1.0 + 0.3 + 3)
        elapsed = time.monotonic() - stopped
        assert 0.8 <= elapsed < 1.0 + 0.3 + SLACK + 1.0, elapsed
        # the session is gone
        r = client.get_raw()
        assert (r.status, r.text) == (200, "7:::1+0")


def test_a_polling_client_that_comes_back_within_the_close_timeout_keeps_its_session(
    runtime: str,
) -> None:
    with serve(runtime, close_timeout=2.0, polling_duration=0.3) as (base, seen):
        client, _ = connect_polling(base)
        time.sleep(1.0)  # no poll for a while, less than the close timeout
        client.post([event("echo", "back", ack=1)])
        client.poll_until(lambda ps: ack_args(ps, 1) == ["back"])
        assert seen.reasons(client.sid) == {}


# ======================================================================== forced disconnect


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("{r}/xhr-polling/{sid}?disconnect", id="transport-url"),
        pytest.param("{r}//{sid}/?disconnect=1", id="sync-disconnect-url"),
    ],
)
def test_forced_disconnect(runtime: str, url: str) -> None:
    with serve(runtime) as (base, seen):
        client, _ = connect_polling(base)
        client.post(["1::/chat"])
        client.poll_until(lambda ps: "1::/chat" in ps)
        client.poll_until(lambda ps: any(p.startswith("5::/chat:") for p in ps))
        # a long poll is waiting when the disconnect comes
        held: list[Resp] = []
        thread = threading.Thread(target=lambda: held.append(client.get_raw()), daemon=True)
        thread.start()
        time.sleep(0.2)
        r = request(base, "GET", url.format(r=RESOURCE, sid=client.sid))
        assert r.status == 200
        # every namespace of the session is disconnected at once
        assert wait_until(lambda: set(seen.reasons(client.sid)) == {"/", "/chat"}, timeout=2.0)
        thread.join(3)
        # at once, and with the disconnect packet, as socket.io 0.9.17 does
        # (the client then knows it was booted and does not reconnect)
        assert held and held[0].status == 200
        assert "0::" in unframe(held[0].text), held[0].text
        # and the session is gone
        r = client.get_raw()
        assert (r.status, r.text) == (200, "7:::1+0")


def test_forced_disconnect_of_a_websocket_session(runtime: str) -> None:
    with serve(runtime) as (base, seen):
        sid, _ = handshake(base)
        with ws_connect(base, f"{RESOURCE}/websocket/{sid}") as ws:
            assert ws.recv(timeout=5) == "1::"
            r = request(base, "GET", f"{RESOURCE}/websocket/{sid}?disconnect")
            assert r.status == 200
            got: list[str] = []
            with pytest.raises(ConnectionClosed):
                while True:
                    msg = ws.recv(timeout=3)
                    assert isinstance(msg, str)
                    got.append(msg)
            assert "0::" in got, got
        assert wait_until(lambda: "/" in seen.reasons(sid), timeout=3.0)


def test_server_disconnect_of_the_main_namespace_sends_disconnect(runtime: str) -> None:
    with serve(runtime) as (base, seen):
        client, _ = connect_polling(base)
        client.post([event("kick_me")])
        got = client.poll_until(lambda ps: "0::" in ps)
        assert "0::" in got
        assert wait_until(lambda: "/" in seen.reasons(client.sid), timeout=3.0)
