"""Socket.IO 0.6 on the wire, with no client library, on every runtime.

Each test talks to a real hubbub server (embedded, under uvicorn and on
gevent: ``conftest.ServerThread``) over real sockets: ``http.client`` for
the polling transports and the posts, a raw socket for the streamed
transports (htmlfile, xhr-multipart: their chunked encoding is parsed
here), ``websockets`` for the websocket transport. What is expected is what
socket.io 0.6.18 and its client do (the research notes' wire traces):

* the session id is the first frame of a new session's first answer;
* ``~m~<len>~m~`` frames with lengths in UTF-16 code units, both ways;
  ``~j~`` JSON; ``~h~<n>`` heartbeats echoed by the client;
* xhr-polling (a held GET answered empty after the polling duration),
  jsonp-polling (``io.JSONP[i]._("...");``), form posts ``data=...``;
* an unknown session is refused (404, where 0.6.18 dropped the connection);
* a page of another origin is refused (same-origin by default).
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import pytest
from eio_helpers import hostport, request, wait_until
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

import hubbub
from conftest import ServerThread

pytestmark = pytest.mark.timeout(40)

R = "/socket.io"
FAST = {"heartbeat_interval": 0.5, "heartbeat_timeout": 0.5, "close_timeout": 0.6,
        "polling_duration": 0.6}


@dataclass
class Seen:
    messages: list[tuple[str, Any]] = field(default_factory=list)
    disconnects: list[tuple[str, str]] = field(default_factory=list)


@contextlib.contextmanager
def serve(runtime: str, **options: Any) -> Iterator[tuple[str, Seen]]:
    """A hubbub Server with ``options``: an echo for 0.6 clients."""
    seen = Seen()
    options.setdefault("v06", dict(FAST))
    sio = hubbub.Server(**options)

    @sio.on("connection")
    def hello(socket: hubbub.Socket) -> None:
        socket.send("welcome")
        socket.send({"n": 1, "s": "é😀"})
        socket.emit("not-in-0.6", 1)  # 0.6 has no events: not sent

    @sio.on("message")
    def echo(socket: hubbub.Socket, data: Any) -> None:
        seen.messages.append((socket.id, data))
        if data == "kick me":
            socket.disconnect()
        else:
            socket.send(data)

    @sio.on("disconnect")
    def gone(socket: hubbub.Socket, reason: str) -> None:
        seen.disconnects.append((socket.id, reason))

    with ServerThread(sio, uvicorn=runtime == "uvicorn", gevent=runtime == "gevent") as st:
        yield st.url, seen


def frames(*bodies: str) -> str:
    return "".join(f"~m~{len(b.encode('utf-16-le')) // 2}~m~{b}" for b in bodies)


def unframe(payload: str) -> list[str]:
    out = []
    units = payload.encode("utf-16-le")
    i = 0
    while i < len(units):
        text = units[i:].decode("utf-16-le")
        m = re.match(r"~m~([0-9]+)~m~", text)
        assert m is not None, payload
        start = i + len(m.group(0)) * 2
        end = start + int(m.group(1)) * 2
        out.append(units[start:end].decode("utf-16-le"))
        i = end
    return out


def post(base: str, path: str, payload: str, **headers: str) -> int:
    body = "data=" + quote(payload, safe="~")
    r = request(base, "POST", path, body,
                {"Content-Type": "application/x-www-form-urlencoded", **headers})
    return r.status


class Polling:
    def __init__(self, base: str, transport: str = "xhr-polling", index: int = 0) -> None:
        self.base = base
        self.transport = transport
        self.index = index
        self.sid = ""
        first = self.get()
        self.sid = first[0]
        self.first = first[1:]

    def suffix(self) -> str:
        ms = str(int(time.time() * 1000))
        return f"{ms}/{self.index}" if self.transport == "jsonp-polling" else ms

    def get_raw(self) -> Any:
        return request(self.base, "GET", f"{R}/{self.transport}/{self.sid}/{self.suffix()}",
                       timeout=8)

    def get(self) -> list[str]:
        r = self.get_raw()
        assert r.status == 200, (r.status, r.body)
        text = r.text
        if self.transport == "jsonp-polling":
            assert r.header("Content-Type").startswith("text/javascript")
            m = re.fullmatch(rf"io\.JSONP\[{self.index}\]\._\((\".*\")\);", text, re.S)
            assert m is not None, text
            text = json.loads(m.group(1))
        else:
            assert r.header("Content-Type").startswith("text/plain")
        return unframe(text)

    def send(self, *bodies: str) -> int:
        path = f"{R}/{self.transport}/{self.sid}/"
        path += self.suffix() if self.transport == "jsonp-polling" else "send"
        return post(self.base, path, frames(*bodies))

    def until(self, wanted: str, limit: float = 5.0) -> list[str]:
        got: list[str] = []
        deadline = time.monotonic() + limit
        while wanted not in got:
            assert time.monotonic() < deadline, got
            got += self.get()
        return got


# ======================================================================== polling


@pytest.mark.parametrize("transport", ["xhr-polling", "jsonp-polling"])
def test_polling_session(runtime: str, transport: str) -> None:
    with serve(runtime) as (base, seen):
        client = Polling(base, transport, index=3 if transport == "jsonp-polling" else 0)
        assert re.fullmatch(r"[0-9]{20}", client.sid)
        got = client.first or client.get()
        assert got[:2] == ["welcome", '~j~{"n":1,"s":"é😀"}']
        assert client.send("hello", "emoji 😀 x", '~j~{"a":[1]}', "a~m~b", "") == 200
        got = client.until("")
        assert got == ["hello", "emoji 😀 x", '~j~{"a":[1]}', "a~m~b", ""]
        assert [d for _, d in seen.messages] == ["hello", "emoji 😀 x", {"a": [1]}, "a~m~b", ""]
        # a held poll with nothing to send ends empty after the polling duration
        start = time.monotonic()
        assert client.get() == []
        assert time.monotonic() - start >= 0.4


def test_polling_client_gone_after_the_close_timeout(runtime: str) -> None:
    with serve(runtime) as (base, seen):
        client = Polling(base)
        assert wait_until(lambda: seen.disconnects == [(client.sid, "transport close")], 5)
        r = client.get_raw()
        assert r.status == 404


def test_server_disconnect_ends_a_polling_session(runtime: str) -> None:
    with serve(runtime) as (base, seen):
        client = Polling(base)
        client.send("kick me")
        assert wait_until(lambda: (client.sid, "server namespace disconnect") in seen.disconnects)
        # the next request learns the session is over
        deadline = time.monotonic() + 5
        while client.get_raw().status == 200:
            assert time.monotonic() < deadline


def test_unknown_session_and_bad_posts(runtime: str) -> None:
    with serve(runtime) as (base, _):
        r = request(base, "GET", f"{R}/xhr-polling/12345/1")
        assert r.status == 404
        assert post(base, f"{R}/xhr-polling/12345/send", frames("x")) == 404
        client = Polling(base)
        r = request(base, "POST", f"{R}/xhr-polling/{client.sid}/send", "nodata=1",
                    {"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status == 400
        # garbage frames are dropped, the session lives on
        assert post(base, f"{R}/xhr-polling/{client.sid}/send", "garbage") == 200
        assert client.send("still here") == 200
        assert "still here" in client.until("still here")


def test_a_foreign_origin_is_refused(runtime: str) -> None:
    # same-origin by default (no cors_allowed_origins)
    with serve(runtime) as (base, seen):
        evil = {"Origin": "http://evil.example"}
        r = request(base, "GET", f"{R}/xhr-polling//1", headers=evil)
        assert r.status == 403
        r = request(base, "GET", f"{R}/jsonp-polling//1/0",
                    headers={"Referer": "http://evil.example/page"})
        assert r.status == 403
        with pytest.raises(InvalidStatus) as refused:
            connect("ws" + base[4:] + f"{R}/websocket", origin="http://evil.example",
                    compression=None, open_timeout=5)
        assert refused.value.response.status_code == 403
        client = Polling(base)
        assert post(base, f"{R}/xhr-polling/{client.sid}/send", frames("x"), **evil) == 403
        # the page's own origin is served, with its CORS answer
        host, port = hostport(base)
        own = {"Origin": f"http://{host}:{port}"}
        r = request(base, "GET", f"{R}/xhr-polling//1", headers=own)
        assert r.status == 200
        assert r.header("Access-Control-Allow-Origin") == own["Origin"]
        assert seen.messages == []


# ======================================================================== websocket


def ws_open(base: str, path: str = "websocket") -> ClientConnection:
    return connect("ws" + base[4:] + f"{R}/{path}", compression=None, open_timeout=5)


def recv(ws: ClientConnection) -> list[str]:
    msg = ws.recv(timeout=5)
    assert isinstance(msg, str)
    return unframe(msg)


@pytest.mark.parametrize("path", ["websocket", "flashsocket"])
def test_websocket_session(runtime: str, path: str) -> None:
    options: dict[str, Any] = {"v06": {**FAST, "heartbeat_interval": 0.3}}
    if path == "flashsocket":
        options["v06"]["transports"] = ("websocket", "flashsocket", "xhr-polling")
    with serve(runtime, **options) as (base, seen), ws_open(base, path) as ws:
        sid = recv(ws)[0]
        assert re.fullmatch(r"[0-9]{20}", sid)
        assert recv(ws) == ["welcome"]
        assert recv(ws) == ['~j~{"n":1,"s":"é😀"}']
        ws.send(frames("one", "two"))
        assert recv(ws) == ["one"]
        assert recv(ws) == ["two"]
        # heartbeats: answered, the session lives on
        for n in (1, 2):
            assert recv(ws) == [f"~h~{n}"]
            ws.send(frames(f"~h~{n}"))
        ws.send(frames("after"))
        assert recv(ws) == ["after"]
        # not answered: the session ends and the websocket closes
        assert recv(ws) == ["~h~3"]
        with pytest.raises(ConnectionClosed):
            while True:
                ws.recv(timeout=3)
        assert wait_until(lambda: (sid, "ping timeout") in seen.disconnects)


def test_websocket_close_ends_the_session(runtime: str) -> None:
    with serve(runtime) as (base, seen):
        with ws_open(base) as ws:
            sid = recv(ws)[0]
        assert wait_until(lambda: (sid, "transport close") in seen.disconnects)


# ======================================================================== streams


class Stream:
    """A streamed GET on a raw socket: the status, headers and the chunks."""

    def __init__(self, base: str, path: str) -> None:
        host, port = hostport(base)
        self.sock = socket.create_connection((host, port), timeout=5)
        self.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
        self.buf = b""
        head = self._until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        self.status = int(head[0].split()[1])
        self.headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in head[1:])}
        self.text = ""

    def _until(self, sep: bytes) -> bytes:
        while sep not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(self.text)
            self.buf += data
        out, self.buf = self.buf.split(sep, 1)
        return out

    def chunk(self) -> str:
        size = int(self._until(b"\r\n").split(b";")[0], 16)
        while len(self.buf) < size + 2:
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(self.text)
            self.buf += data
        data, self.buf = self.buf[:size], self.buf[size + 2 :]
        self.text += data.decode("utf-8")
        return self.text

    def until(self, pattern: str) -> re.Match[str]:
        deadline = time.monotonic() + 5
        while (m := re.search(pattern, self.text, re.S)) is None:
            assert time.monotonic() < deadline, self.text
            self.chunk()
        return m


def test_htmlfile_session(runtime: str) -> None:
    with serve(runtime, v06={**FAST, "heartbeat_interval": 0.3, "heartbeat_timeout": 2}) as (
        base,
        seen,
    ):
        stream = Stream(base, f"{R}/htmlfile//{int(time.time() * 1000)}")
        try:
            assert stream.status == 200
            assert stream.headers["content-type"] == "text/html; charset=UTF-8"
            m = stream.until(r'<script>parent\.s\._\("~m~20~m~([0-9]{20})", document\);</script>')
            assert stream.text.startswith("<html><body>" + " " * 244 + "<script>")
            sid = m.group(1)
            stream.until(r'parent\.s\._\("~m~7~m~welcome~m~')
            assert post(base, f"{R}/htmlfile/{sid}/send", frames("</script>hi")) == 200
            # the script tag cannot be ended by a message
            m = stream.until(r'parent\.s\._\(("~m~11~m~[^"]*hi"), document\)')
            assert json.loads(m.group(1)) == "~m~11~m~</script>hi"
            assert "</script>hi" not in stream.text
            stream.until(r"~h~1")
            assert post(base, f"{R}/htmlfile/{sid}/send", frames("~h~1")) == 200
            stream.until(r"~h~2")
        finally:
            stream.sock.close()
        # (a WSGI server may notice the closed stream only when a heartbeat
        # cannot be written; the missing echo ends the session then)
        assert wait_until(lambda: sid in dict(seen.disconnects), 8)


def test_xhr_multipart_session(runtime: str) -> None:
    with serve(runtime) as (base, seen):
        stream = Stream(base, f"{R}/xhr-multipart/")
        try:
            assert stream.status == 200
            assert stream.headers["content-type"] == 'multipart/x-mixed-replace;boundary="socketio"'
            m = stream.until(r"^--socketio\nContent-Type: text/plain\n\n~m~20~m~([0-9]{20})\n"
                             r"--socketio\n")
            sid = m.group(1)
            stream.until("~m~7~m~welcome~m~")
            assert post(base, f"{R}/xhr-multipart/{sid}/send", frames("ping")) == 200
            stream.until("Content-Type: text/plain\n\n~m~4~m~ping\n--socketio\n")
        finally:
            stream.sock.close()
        assert wait_until(lambda: sid in dict(seen.disconnects), 5)


# ======================================================================== the rest


def test_the_client_files_are_served(runtime: str, tmp_path: Any) -> None:
    client = tmp_path / "socket.io.js"
    client.write_text("/* a 0.6 client */ var io = {version: '0.6.3'};")
    with serve(runtime, v06={**FAST, "client_js": str(client)}) as (base, _):
        r = request(base, "GET", f"{R}/socket.io.js")
        assert r.status == 200
        assert r.header("Content-Type").startswith("text/javascript")
        assert r.body == client.read_bytes()
        etag = r.header("ETag")
        r = request(base, "GET", f"{R}/socket.io.js", headers={"If-None-Match": etag})
        assert r.status == 304
        r = request(base, "GET", f"{R}/channels.js")
        assert r.status == 200
        assert b"__subscribe__" in r.body


def test_v06_can_be_turned_off(runtime: str) -> None:
    with serve(runtime, v06=False) as (base, _):
        r = request(base, "GET", f"{R}/xhr-polling//1")
        assert r.status == 400  # Engine.IO's answer to a request without EIO=
