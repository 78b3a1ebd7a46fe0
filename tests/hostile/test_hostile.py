"""Hostile clients, one row per kind of attack, fired at a live server on
each runtime (the embedded server, ASGIApp under uvicorn, gevent) over real
sockets.

Every row runs while a healthy client beside it keeps getting its acks,
and no traceback may be logged, nor printed to stdout or stderr (gevent's
hub prints what it is not told to log). Rows that try to make the server hold
memory also check that it did not (how much the attacker managed to send,
and the growth of the process, which holds the in-process server). The
earlier table of malformed input is tests/hostile/test_bad_input.py.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import re
import shutil
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from hostile_app import (
    LIMITS,
    PATH,
    RELAY_ROOM,
    Healthy,
    Raw,
    Seen,
    assert_no_traceback_printed,
    build,
    http,
    in_thread,
    open_ws,
    printed_from_now_on,
    request_bytes,
    rss_bytes,
    tcp_buffers_max,
)
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from conftest import JS_DIR, RUNTIMES, ServerThread
from hubbub.legacy.v09.codec import decode_payload as decode_legacy_payload
from hubbub.legacy.v09.codec import encode_payload as encode_legacy_payload
from hubbub.websocket.frames import OP_CONTINUATION, OP_PING, OP_TEXT, encode_frame

pytestmark = pytest.mark.timeout(45)

MB = 1024 * 1024
NODE = shutil.which("node")


@dataclass
class Ctx:
    port: int
    runtime: str
    server: ServerThread
    seen: Seen
    healthy: Healthy

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass(frozen=True)
class Row:
    name: str
    run: Callable[[Ctx], None]
    runtimes: tuple[str, ...] = tuple(RUNTIMES)
    config: str = "default"
    # an error a row makes the server log on purpose (never with a traceback)
    error_ok: str | None = None


def mask() -> bytes:
    return os.urandom(4)


def ws_session(port: int, eio: int = 4) -> Raw:
    """A raw websocket (EIO ``eio``) past its open packet."""
    raw = Raw(port)
    raw.send(
        request_bytes(
            "GET",
            f"{PATH}?EIO={eio}&transport=websocket",
            port,
            {
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "13",
            },
        )
    )
    status, _, _ = raw.response()
    assert status == 101
    return raw


def ws_closed(ws: Any, within: float = 4.0) -> bool:
    """Read a ``websockets`` connection until the server closes it."""
    deadline = time.monotonic() + within
    try:
        while time.monotonic() < deadline:
            msg = ws.recv(timeout=max(deadline - time.monotonic(), 0.01))
            if msg == "2":
                ws.send("3")
    except ConnectionClosed:
        return True
    except TimeoutError:
        return False
    return False


def v5(port: int, nsp: str = "/") -> Any:
    """A ``websockets`` connection, Socket.IO v5, connected to ``nsp``."""
    ws = open_ws(f"ws://127.0.0.1:{port}{PATH}?EIO=4&transport=websocket")
    assert str(ws.recv(timeout=5)).startswith("0")
    ws.send("40" if nsp == "/" else f"40{nsp},")
    assert str(ws.recv(timeout=5)).startswith("40")
    return ws


def legacy_sid(port: int) -> str:
    status, _, body = http(port, "GET", "/socket.io/1/?t=1")
    assert status == 200, body
    return body.decode().split(":")[0]


# -- cross-site requests -------------------------------------------------------------------


def legacy_jsonp_handshake_from_a_script(ctx: Ctx) -> None:
    # a <script src=...> on another site: no Origin, the browser says cross-site
    status, _, body = http(
        ctx.port, "GET", "/socket.io/1/?t=1&jsonp=0", {"Sec-Fetch-Site": "cross-site"}
    )
    assert (status, body) == (200, b'io.j[0](new Error("handshake bad origin"));')


def legacy_jsonp_handshake_with_a_foreign_referer(ctx: Ctx) -> None:
    status, _, body = http(
        ctx.port, "GET", "/socket.io/1/?t=1&jsonp=3", {"Referer": "http://evil.example/x"}
    )
    assert (status, body) == (200, b'io.j[3](new Error("handshake bad origin"));')
    # the same request from a page of the server's own origin is served
    status, _, body = http(
        ctx.port,
        "GET",
        "/socket.io/1/?t=1&jsonp=3",
        {"Referer": ctx.origin + "/chat", "Sec-Fetch-Site": "same-origin"},
    )
    assert status == 200 and body.startswith(b'io.j[3]("') and b"Error" not in body


def legacy_jsonp_handshake_without_jsonp_polling(ctx: Ctx) -> None:
    status, _, body = http(ctx.port, "GET", "/socket.io/1/?t=1&jsonp=0")
    assert (status, body) == (200, b'io.j[0](new Error("handshake unauthorized"));')


def legacy_requests_from_another_origin(ctx: Ctx) -> None:
    sid = legacy_sid(ctx.port)
    evil = {"Origin": "http://evil.example"}
    # the same-origin default refuses the handshake itself, xhr and JSONP
    for headers in (evil, {"Sec-Fetch-Site": "cross-site"}):
        status, _, body = http(ctx.port, "GET", "/socket.io/1/", headers)
        assert status == 403, (headers, status, body)
    status, _, body = http(ctx.port, "GET", "/socket.io/1/", {"Origin": ctx.origin})
    assert status == 200 and body.count(b":") == 3, body
    status, _, _ = http(ctx.port, "POST", f"/socket.io/1/xhr-polling/{sid}", evil, b"3:::hi")
    assert status == 403
    status, _, _ = http(
        ctx.port, "GET", f"/socket.io/1/jsonp-polling/{sid}?i=0", {"Sec-Fetch-Site": "cross-site"}
    )
    assert status == 403
    status, _, _ = http(
        ctx.port, "GET", f"/socket.io/1/xhr-polling/{sid}", {"Referer": "http://evil.example/"}
    )
    assert status == 403
    with pytest.raises(InvalidStatus) as refused:
        connect(
            f"ws://127.0.0.1:{ctx.port}/socket.io/1/websocket/{sid}",
            additional_headers=evil,
            open_timeout=5,
        )
    assert refused.value.response.status_code == 403


def eio3_jsonp_from_another_site(ctx: Ctx) -> None:
    target = f"{PATH}?EIO=3&transport=polling&j=0"
    for headers in ({"Sec-Fetch-Site": "cross-site"}, {"Referer": "https://evil.example/"}):
        status, _, body = http(ctx.port, "GET", target, headers)
        assert status == 403 and json.loads(body)["code"] == 4, (headers, body)
    status, _, body = http(ctx.port, "GET", target, {"Referer": ctx.origin + "/"})
    assert status == 200 and body.startswith(b"___eio[0]("), body


def star_answers_a_literal_star_without_credentials(ctx: Ctx) -> None:
    status, headers, _ = http(
        ctx.port, "GET", f"{PATH}?EIO=4&transport=polling", {"Origin": "http://any.example"}
    )
    assert status == 200
    assert headers.get("access-control-allow-origin") == "*"
    assert "access-control-allow-credentials" not in headers


def an_http_page_may_not_use_an_https_server(ctx: Ctx) -> None:
    host = f"127.0.0.1:{ctx.port}"
    target = f"{PATH}?EIO=4&transport=polling"
    status, _, _ = http(
        ctx.port, "GET", target, {"Origin": f"http://{host}", "X-Forwarded-Proto": "https"}
    )
    assert status == 403
    status, headers, _ = http(ctx.port, "GET", target, {"Origin": f"https://{host}"})
    assert status == 200 and headers.get("access-control-allow-origin") == f"https://{host}"


# -- resource exhaustion ----------------------------------------------------------------------


def pipelined_requests_behind_a_held_poll(ctx: Ctx) -> None:
    _, _, body = http(ctx.port, "GET", f"{PATH}?EIO=4&transport=polling")
    sid = json.loads(body[1:])["sid"]
    raw = Raw(ctx.port)
    try:
        before = rss_bytes()
        # the poll is held; every POST after it is pipelined on the same connection
        held = request_bytes("GET", f"{PATH}?EIO=4&transport=polling&sid={sid}", ctx.port)
        raw.send(held)
        post = request_bytes(
            "POST", f"{PATH}?EIO=4&transport=polling&sid={sid}", ctx.port, body=b"4" * 900_000
        )
        sent = raw.push(post, budget=3.0, most=1024 * MB)
        ctx.healthy.echo()
        grown = rss_bytes() - before
        assert sent < 64 * MB, f"the server read {sent / MB:.0f} MB of pipelined requests"
        assert grown < 128 * MB, f"the process grew by {grown / MB:.0f} MB"
    finally:
        raw.close()


def a_body_that_never_arrives(ctx: Ctx) -> None:
    raw = Raw(ctx.port)
    try:
        head = request_bytes("POST", f"{PATH}?EIO=4&transport=polling", ctx.port)
        raw.send(head.replace(b"Content-Length: 0", b"Content-Length: 1000") + b"0123456789")
        status, _, _ = raw.response()
        assert status == 408
        assert raw.closed_by_server(within=3.0)
    finally:
        raw.close()


def an_endless_chunk_extension(ctx: Ctx) -> None:
    head = (
        f"POST {PATH}?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"
        "Transfer-Encoding: chunked\r\n\r\n5;ext="
    ).encode()
    most = LIMITS.body_timeout + 1.5
    # sent slowly: hubbub's body timer answers (the embedded server's, and
    # ASGIApp's under uvicorn, whose httptools parser reads an extension
    # without end as the embedded server's does; WSGIApp's on gevent,
    # before pywsgi's cap on an extension's length), and the answer is read
    # before the server closes
    raw = Raw(ctx.port)
    try:
        raw.send(head)
        start = time.monotonic()
        answer = b""
        raw.sock.settimeout(0.1)
        while time.monotonic() - start < most + 2.0:
            try:
                raw.send(b"a" * 256)
                chunk = raw.sock.recv(4096)
            except TimeoutError:
                continue
            except (BrokenPipeError, ConnectionResetError):
                break
            if not chunk:
                break
            answer += chunk
        took = time.monotonic() - start
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert took < most, f"a chunk extension was read for {took:.1f} s"
    finally:
        raw.close()
    # then as fast as the server reads: it may read all of it (httptools
    # keeps none of an extension), for no longer, and without growing; on
    # gevent, pywsgi's cap refuses it first (400)
    raw = Raw(ctx.port)
    try:
        raw.send(head)
        before = rss_bytes()
        start = time.monotonic()
        sent = raw.push(b"a" * 65536, budget=most + 2.0, most=256 * MB)
        closed = raw.closed_by_server(within=max(start + most - time.monotonic(), 0.1))
        took = time.monotonic() - start
        ctx.healthy.echo()
        grown = rss_bytes() - before
        assert closed, f"{sent / MB:.0f} MB of a chunk extension read in {took:.1f} s, still open"
        assert grown < 32 * MB, f"the process grew by {grown / MB:.0f} MB"
    finally:
        raw.close()


def slow_headers(ctx: Ctx) -> None:
    raw = Raw(ctx.port)
    try:
        raw.send(b"GET / HTTP/1.1\r\nHost: x\r\n")
        deadline = time.monotonic() + 3.0
        refused = False
        while time.monotonic() < deadline:
            try:
                raw.send(b"X-a: b\r\n")
            except (BrokenPipeError, ConnectionResetError):
                refused = True
                break
            if raw.closed_by_server(within=0.2):
                refused = True
                break
        assert refused, "headers sent slowly for 3 s were still read"
    finally:
        raw.close()


def an_idle_connection(ctx: Ctx) -> None:
    raw = Raw(ctx.port)
    try:
        assert raw.closed_by_server(within=LIMITS.keep_alive_timeout + 2.0)
    finally:
        raw.close()


def idle_after_a_request(ctx: Ctx) -> None:
    raw = Raw(ctx.port)
    try:
        raw.send(request_bytes("GET", f"{PATH}?EIO=4&transport=polling", ctx.port))
        status, headers, _ = raw.response()
        assert status == 200 and headers.get("connection") != "close"
        # kept alive, then idle: closed once the keep-alive time has passed
        assert raw.closed_by_server(within=LIMITS.keep_alive_timeout + 2.0)
    finally:
        raw.close()


def answers_never_read(ctx: Ctx) -> None:
    # pipelined preflights (answered at once, nothing logged), sent in
    # batches of whole requests and never read: the server's answers pile up
    ask = request_bytes("OPTIONS", PATH, ctx.port)
    batch = ask * 600
    # the first request whole, or its head in two parts (which the gevent
    # server leaves to pywsgi's handler)
    for opening in (b"", ask[:20]):
        raw = Raw(ctx.port)
        try:
            raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            before = rss_bytes()
            if opening:
                raw.send(opening)
                time.sleep(0.2)
                raw.send(ask[len(opening):])
            sent = raw.push(batch, budget=4.0, most=256 * MB)
            asked = sent // len(ask)
            ctx.healthy.echo()
            grown = rss_bytes() - before
            # read no more than the buffers hold while the answers are not read
            most = tcp_buffers_max() + 8 * MB
            assert sent < most, f"the server read {sent / MB:.0f} MB it could not answer"
            assert grown < 48 * MB, f"the process grew by {grown / MB:.0f} MB"
            # the stalled answers get the keep-alive time to be read, then the
            # connection is dropped with the rest of the requests unanswered
            time.sleep(LIMITS.keep_alive_timeout + 1.5)
            answered = raw.drain(within=10.0).count(b"HTTP/1.1 ")
            assert answered < asked, f"all {asked} requests were answered: the connection was kept"
        finally:
            raw.close()


def a_ping_flood_that_never_reads(ctx: Ctx) -> None:
    raw = ws_session(ctx.port)
    try:
        before = rss_bytes()
        ping = encode_frame(OP_PING, b"x" * 125, mask=mask()) * 64
        sent = raw.push(ping, budget=3.0, most=1024 * MB)
        ctx.healthy.echo()
        grown = rss_bytes() - before
        # what the kernel's buffers take (and a little more, in the server's
        # own), not what the server can be made to hold (up to 1,024 MB are
        # offered). The growth is the whole test process's, other tests'
        # leftovers included
        most_sent = most_grown = tcp_buffers_max() + 8 * MB
        assert sent < most_sent, f"the server read {sent / MB:.0f} MB of pings it could not answer"
        assert grown < most_grown, f"the process grew by {grown / MB:.0f} MB"
    finally:
        raw.close()


def empty_continuation_frames(ctx: Ctx) -> None:
    raw = ws_session(ctx.port)
    try:
        raw.send(encode_frame(OP_TEXT, b"4", fin=False, mask=mask()))
        frame = encode_frame(OP_CONTINUATION, b"", fin=False, mask=mask())
        raw.push(frame * 1024, budget=3.0, most=64 * MB)
        assert raw.closed_by_server(within=3.0)
    finally:
        raw.close()


def attachments_that_never_come(ctx: Ctx) -> None:
    ws = v5(ctx.port)
    try:
        ws.send('451-["echo",{"_placeholder":true,"num":0}]')
        assert ws_closed(ws, within=4.0)
    finally:
        ws.close()


def a_namespace_name_too_long(ctx: Ctx) -> None:
    ws = open_ws(f"ws://127.0.0.1:{ctx.port}{PATH}?EIO=4&transport=websocket")
    try:
        assert str(ws.recv(timeout=5)).startswith("0")
        ws.send("40/" + "a" * 300 + ",")
        assert ws_closed(ws)
    finally:
        ws.close()


def dynamic_namespaces_are_capped_and_freed(ctx: Ctx) -> None:
    clients = [v5(ctx.port, f"/dyn-{i}") for i in range(3)]
    extra = v5(ctx.port)
    extra.send("40/dyn-9,")
    refused = extra.recv(timeout=5)
    assert str(refused).startswith("44/dyn-9,") and "Invalid namespace" in str(refused)
    for ws in clients:
        ws.close()
    deadline = time.monotonic() + 3.0
    while True:
        extra.send("40/dyn-9,")
        answer = str(extra.recv(timeout=5))
        if answer.startswith("40/dyn-9,"):
            break
        assert time.monotonic() < deadline, "the emptied namespaces were not freed"
        time.sleep(0.1)
    extra.close()


WS_HEADERS = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    "Sec-WebSocket-Version": "13",
}


def ws_handshake(port: int, target: str) -> tuple[int, Raw]:
    """A websocket handshake on a raw connection: (status, the connection)."""
    raw = Raw(port)
    raw.send(request_bytes("GET", target, port, WS_HEADERS))
    status, _, _ = raw.response()
    return status, raw


def v06_poll_path() -> str:
    # a new 0.6 xhr-polling session: no session id, the client's timestamp
    return f"/socket.io/xhr-polling//{int(time.time() * 1000)}"


def each_new_session_is_refused(port: int) -> None:
    """Every generation's way to open a session is refused by the cap."""
    status, _, body = http(port, "GET", f"{PATH}?EIO=4&transport=polling")
    assert status == 403 and json.loads(body)["code"] == 4
    # a websocket without a polling session first. Under uvicorn every
    # refused websocket gets uvicorn's own 403, whatever the reason: the row
    # shows each of these handshakes admitted while there is room
    for target in (f"{PATH}?EIO=4&transport=websocket", f"{PATH}?EIO=3&transport=websocket"):
        status, raw = ws_handshake(port, target)
        raw.close()
        assert status == 403, target
    status, _, body = http(port, "GET", "/socket.io/1/?t=1")
    assert (status, body) == (403, b"handshake unauthorized")
    status, _, body = http(port, "GET", v06_poll_path())
    assert (status, body) == (403, b"unauthorized")
    status, raw = ws_handshake(port, "/socket.io/websocket")
    raw.close()
    assert status == 403


def admitted(open_one: Callable[[], tuple[int, Any]], status: int) -> Any:
    """Open a session as soon as the one closed before has freed its place
    (a session ends when the server has read its client's close)."""
    deadline = time.monotonic() + 3.0
    while True:
        got, held = open_one()
        if got == status:
            return held
        if isinstance(held, Raw):
            held.close()
        assert got == 403 and time.monotonic() < deadline, got
        time.sleep(0.05)


def too_many_sessions_from_one_address(ctx: Ctx) -> None:
    # the healthy client holds one of the two sessions allowed; a session of
    # each kind in turn holds the other, and is counted against every kind
    port = ctx.port
    status, _, body = http(port, "GET", f"{PATH}?EIO=4&transport=polling")
    assert status == 200
    sid = json.loads(body[1:])["sid"]
    each_new_session_is_refused(port)
    # the client closes its session: the place is free again
    status, _, _ = http(port, "POST", f"{PATH}?EIO=4&transport=polling&sid={sid}", body=b"1")
    assert status == 200
    # an Engine.IO websocket straight away (no polling first), v4 and v3
    for eio in (4, 3):
        raw = admitted(lambda eio=eio: ws_handshake(port, f"{PATH}?EIO={eio}&transport=websocket"),
                       101)
        each_new_session_is_refused(port)
        raw.close()
    # Socket.IO 0.6: a websocket, then a polling session (which the row leaves)
    raw = admitted(lambda: ws_handshake(port, "/socket.io/websocket"), 101)
    each_new_session_is_refused(port)
    raw.close()

    def v06_poll() -> tuple[int, bytes]:
        status, _, body = http(port, "GET", v06_poll_path())
        return status, body

    body = admitted(v06_poll, 200)
    assert re.match(rb"~m~\d+~m~\d+", body), body  # the session id, as 0.6 sends it
    each_new_session_is_refused(port)


def handshaken_legacy_sessions_are_capped(ctx: Ctx) -> None:
    answers = [http(ctx.port, "GET", "/socket.io/1/?t=1") for _ in range(5)]
    assert [a[0] for a in answers[:4]] == [200] * 4
    assert (answers[4][0], answers[4][2]) == (503, b"handshake error")


def acks_to_a_flood(ws: Any, events: list[str], ack_prefix: str) -> int:
    """Send ``events`` at once; how many acks come within the next 1.5 s."""
    for event in events:
        ws.send(event)
    acks = 0
    deadline = time.monotonic() + 1.5
    try:
        while time.monotonic() < deadline:
            msg = ws.recv(timeout=max(deadline - time.monotonic(), 0.01))
            if isinstance(msg, str) and msg.startswith(ack_prefix):
                acks += 1
    except TimeoutError:
        pass
    return acks


def an_event_flood(ctx: Ctx) -> None:
    ws = v5(ctx.port)
    try:
        acks = acks_to_a_flood(ws, [f'42{i}["echo",{i}]' for i in range(300)], "43")
        assert 40 <= acks < 150, f"{acks} of 300 events answered at 50/s"
    finally:
        ws.close()
    # a 0.9 client's events go through the same limit
    legacy = open_ws(f"ws://127.0.0.1:{ctx.port}/socket.io/1/websocket/{legacy_sid(ctx.port)}")
    try:
        assert legacy.recv(timeout=5) == "1::"
        events = [f'5:{i}+::{{"name":"echo","args":[{i}]}}' for i in range(1, 301)]
        acks = acks_to_a_flood(legacy, events, "6:::")
        assert 40 <= acks < 150, f"{acks} of 300 0.9 events answered at 50/s"
    finally:
        legacy.close()


# -- hostile input ----------------------------------------------------------------------------


def values_no_client_could_be_sent(ctx: Ctx) -> None:
    for payload in ('42["echo","\\ud800"]', '42["echo",NaN]', '42["echo",[Infinity]]'):
        ws = v5(ctx.port)
        try:
            ws.send(payload)
            assert ws_closed(ws), payload
        finally:
            ws.close()


def a_server_side_nan_goes_out_as_null(ctx: Ctx) -> None:
    ws = v5(ctx.port)
    try:
        ws.send('42["broadcast",1]')
        ctx.server.call(lambda: None)
        seen = []
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            msg = str(ws.recv(timeout=3))
            if msg.startswith('42["broadcast"'):
                seen.append(json.loads(msg[2:]))
                break
        assert seen == [["broadcast", 1]]
    finally:
        ws.close()
    # a value only the server can make (no client can send one)
    sio = ctx.server.app
    ctx.server.call(lambda: sio.emit("odd", float("nan"), "a\ud800"))
    while True:
        msg = str(ctx.healthy.recv())
        if msg.startswith('42["odd"'):
            assert json.loads(msg[2:]) == ["odd", None, "a\ud800"]
            assert msg.encode("utf-8")  # valid UTF-8: the surrogate went as an escape
            break


def a_call_whose_client_leaves(ctx: Ctx) -> None:
    ws = v5(ctx.port)
    ws.send('42["ask_back"]')
    question = str(ws.recv(timeout=5))
    assert question.startswith("42") and '"question"' in question, question
    ws.close()  # gone before it answers: the waiting handler must not wait for ever
    deadline = time.monotonic() + 3.0
    while not ctx.seen.calls and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(ctx.seen.calls.values()) == ["DisconnectedError"]


# the events that name a Namespace class's hooks (socketio.dispatch._HOOKS:
# on_connect, on_disconnect, on_any, on_any_outgoing; "a b" names on_a_b)
HOOK_EVENTS = ("any", "any_outgoing", "any outgoing", "connect", "disconnect")
# the names a v5 client may send: "connect" and "disconnect" are reserved
# (socket.io-parser refuses them: the connection closes with a parse error)
RESERVED_HOOK_EVENTS = ("connect", "disconnect")


def hooks_are_not_events(ctx: Ctx) -> None:
    # a hook the client called would get its argument "x" (and answer the
    # ack with its None); the hooks' own calls never carry it
    ws = v5(ctx.port, "/hooks")
    try:
        for i, event in enumerate(HOOK_EVENTS, 1):
            if event not in RESERVED_HOOK_EVENTS:
                ws.send(f'42/hooks,{i}["{event}","x"]')
        ws.send('42/hooks,9["ping"]')
        answer = str(ws.recv(timeout=5))
        assert answer == '43/hooks,9["pong"]', answer  # nothing answered the others
    finally:
        ws.close()
    for event in RESERVED_HOOK_EVENTS:
        ws = v5(ctx.port, "/hooks")
        try:
            ws.send(f'42/hooks,1["{event}","x"]')
            assert ws_closed(ws), event
        finally:
            ws.close()
    # a 0.9 client may send every name: each reaches the namespace's dispatch
    poll = f"/socket.io/1/xhr-polling/{legacy_sid(ctx.port)}"
    assert http(ctx.port, "GET", poll)[2] == b"1::"
    assert http(ctx.port, "POST", poll, body=b"1::/hooks")[0] == 200
    assert http(ctx.port, "GET", poll)[2] == b"1::/hooks"
    packets = [
        f"5:{i}+:/hooks:" + json.dumps({"name": event, "args": ["x"]})
        for i, event in enumerate(HOOK_EVENTS, 1)
    ]
    packets.append('5:9+:/hooks:{"name":"ping","args":[]}')
    body = encode_legacy_payload(packets).encode()
    assert http(ctx.port, "POST", poll, body=body)[0] == 200
    status, _, answer = http(ctx.port, "GET", poll)
    assert (status, answer) == (200, b'6::/hooks:9+["pong"]')  # nothing answered the others
    # on_any saw every event, as it sees any other
    v5_events = [(e, "x") for e in HOOK_EVENTS if e not in RESERVED_HOOK_EVENTS]
    expected = [*v5_events, ("ping",), *[(e, "x") for e in HOOK_EVENTS], ("ping",)]
    deadline = time.monotonic() + 2
    while len(ctx.seen.any_hook) < len(expected) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert ctx.seen.any_hook == expected
    called = [hook for hook in ctx.seen.hooks if "x" in hook[1:]]
    assert called == [], called
    # the hooks do run, for the server: one connect for each socket
    assert [hook for hook in ctx.seen.hooks if hook[0] == "connect"] == [("connect", {})] * 4


def unicode_digits(ctx: Ctx) -> None:
    sid = legacy_sid(ctx.port)
    # the first poll opens the session (its connect packet comes back at once)
    status, _, body = http(ctx.port, "GET", f"/socket.io/1/jsonp-polling/{sid}?i=%C2%B2")
    assert status == 200 and body.startswith(b"io.j[0](")
    bad_length = "\ufffd²\ufffdx".encode()
    status, _, _ = http(ctx.port, "POST", f"/socket.io/1/xhr-polling/{sid}", body=bad_length)
    assert status == 400


def a_deflate_offer_with_unicode_digits(ctx: Ctx) -> None:
    raw = Raw(ctx.port)
    try:
        raw.send(
            request_bytes(
                "GET",
                f"{PATH}?EIO=4&transport=websocket",
                ctx.port,
                {
                    "Upgrade": "websocket",
                    "Connection": "Upgrade",
                    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                    "Sec-WebSocket-Version": "13",
                    "Sec-WebSocket-Extensions": "permessage-deflate; server_max_window_bits=²",
                },
            )
        )
        status, headers, _ = raw.response()
        assert status == 101 and "sec-websocket-extensions" not in headers
    finally:
        raw.close()


def header_injection_by_the_wrapped_app(ctx: Ctx) -> None:
    status, headers, _ = http(ctx.port, "GET", "/app")
    assert status == 500 and "set-cookie" not in headers


def a_reset_in_the_middle_of_the_head(ctx: Ctx) -> None:
    raw = Raw(ctx.port)
    raw.send(f"GET {PATH}?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n".encode())
    time.sleep(0.2)  # the server is now waiting for the rest of the head
    # SO_LINGER 0: the close resets the connection (no FIN)
    raw.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    raw.close()
    # nothing to read on a reset connection: give the server the time to
    # notice it before the healthy client's check and the log checks
    time.sleep(0.2)


def connection_close_is_answered(ctx: Ctx) -> None:
    # a client that pools connections (Node's agent) reuses one unless the
    # answer says close: every way a request is read must say it. Under
    # gevent a whole head in one packet takes hubbub's short path; a head in
    # two packets and a chunked body are read by pywsgi.
    handshake = request_bytes(
        "GET", f"{PATH}?EIO=4&transport=polling", ctx.port, {"Connection": "close"}
    )
    sid = json.loads(http(ctx.port, "GET", f"{PATH}?EIO=4&transport=polling")[2][1:])["sid"]
    chunked_post = (
        f"POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{ctx.port}\r\nConnection: close\r\n"
        "Transfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"
        "6\r\n4hello\r\n0\r\n\r\n"
    ).encode()
    for parts in ([handshake], [handshake[:20], handshake[20:]], [chunked_post]):
        raw = Raw(ctx.port)
        try:
            for i, part in enumerate(parts):
                if i:
                    time.sleep(0.05)  # the head's rest in a packet of its own
                raw.send(part)
            status, headers, body = raw.response()
            assert status == 200, (parts, status, body)
            assert headers.get("connection", "").lower() == "close", (parts, headers)
            assert raw.closed_by_server(within=2.0), parts
        finally:
            raw.close()


# -- values no client can be sent, relayed to a room ------------------------------------------

# the argument of a hostile client's "relay" event: strings holding a lone
# surrogate (the escape JSON.stringify writes for one, which hubbub's
# decoders refuse as orjson does) and NaN and the infinities (which no
# JSON.stringify writes: raw text only a hostile client sends)
UNSENDABLE = ('"\\ud800"', '["ok","x\\udfff"]', "NaN", "[Infinity]", '{"k":-Infinity}')
# what well-behaved clients relay before and after them
BEFORE = {"n": "before", "text": "é😀"}
AFTER = {"n": "after", "text": "é😀"}


def strict_json(text: str) -> Any:
    """``text`` parsed as a browser's JSON.parse would, or what made it
    invalid: NaN and the infinities are not JSON (socket.io-client closes
    its connection with a parse error on them)."""

    def refuse(name: str) -> Any:
        raise ValueError(name)

    try:
        return json.loads(text, parse_constant=refuse)
    except ValueError as exc:
        return f"invalid JSON ({exc}): {text[:80]}"


class NodeRecipients:
    """tests/js/relay_recipients.mjs: socket.io-client 4 under Node on a
    websocket and on long-polling, in the relay room; what they printed."""

    def __init__(self, port: int) -> None:
        assert NODE is not None, "node runs the real socket.io-client"
        self.proc = subprocess.Popen(
            [
                NODE, str(JS_DIR / "relay_recipients.mjs"), f"http://127.0.0.1:{port}",
                RELAY_ROOM, "--timeout", "30000",
            ],
            cwd=JS_DIR,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        in_thread(self._read)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            if line.startswith("{"):
                self.lines.put(json.loads(line))
        self.lines.put({"event": "exit"})

    def until(self, done: Callable[[], bool], within: float) -> bool:
        """Read its lines until ``done()``; False if it is not within
        ``within`` seconds or the script ended."""
        deadline = time.monotonic() + within
        while not done():
            if self.seen and self.seen[-1]["event"] in ("fail", "exit"):
                return False
            try:
                line = self.lines.get(timeout=max(deadline - time.monotonic(), 0.01))
            except queue.Empty:
                return False
            self.seen.append(line)
        return True

    def relays(self, client: str) -> list[Any]:
        return [
            line["args"]
            for line in self.seen
            if line["event"] == "relay" and line["client"] == client
        ]

    def events(self, *names: str) -> list[dict[str, Any]]:
        return [line for line in self.seen if line["event"] in names]

    def end(self) -> None:
        """Tell the clients to close, and wait for the script to exit."""
        assert self.proc.stdin is not None
        self.proc.stdin.write("end\n")
        self.proc.stdin.flush()
        assert self.until(lambda: self.seen[-1:] == [{"event": "done"}], within=5.0), self.seen
        assert self.proc.wait(timeout=5) == 0

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=5)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


class WsRecipient:
    """A Socket.IO v5 client on a websocket, in the relay room, which relays
    the good values; the ``websockets`` client fails on a text frame that is
    not UTF-8, as a browser's does."""

    def __init__(self, port: int) -> None:
        self.ws = v5(port)
        self.ws.send(f'421["join","{RELAY_ROOM}"]')
        assert str(self.ws.recv(timeout=5)) == "431[true]"
        self.relays: list[Any] = []

    def relay(self, value: Any) -> None:
        self.ws.send("42" + json.dumps(["relay", value]))

    def until(self, value: Any, within: float = 5.0) -> None:
        """Read what it is sent until ``value`` is relayed (or the time is up)."""
        deadline = time.monotonic() + within
        try:
            while [value] not in self.relays:
                msg = self.ws.recv(timeout=max(deadline - time.monotonic(), 0.01))
                if msg == "2":
                    self.ws.send("3")
                elif isinstance(msg, str) and msg.startswith('42["relay"'):
                    parsed = strict_json(msg[2:])
                    self.relays.append(parsed[1:] if isinstance(parsed, list) else parsed)
                else:
                    self.relays.append(f"not a relay: {msg!r:.80}")
        except ConnectionClosed as exc:
            self.relays.append(f"closed ({exc})")
        except TimeoutError:
            pass

    def close(self) -> None:
        self.ws.close()


def poll_once(port: int, target: str, within: float) -> bytes | None:
    """One long-poll's body (a status other than 200 fails); None when the
    server sent nothing within ``within`` seconds."""
    raw = Raw(port, timeout=within)
    try:
        raw.send(request_bytes("GET", target, port))
        status, _, body = raw.response()
    except TimeoutError:
        return None
    finally:
        raw.close()
    assert status == 200, (status, body)
    return body


class _PollingRelays:
    """A client in the relay room on long-polling that polls only when told
    to (its queue holds what it is sent meanwhile); ``_take`` reads one
    poll's decoded body into ``relays``."""

    port: int
    target: str
    relays: list[Any]

    def until(self, value: Any, within: float = 5.0) -> None:
        deadline = time.monotonic() + within
        while [value] not in self.relays and time.monotonic() < deadline:
            try:
                body = poll_once(self.port, self.target, deadline - time.monotonic())
            except AssertionError as exc:  # its session is gone
                self.relays.append(f"poll refused {exc}")
                return
            if body is None:
                return
            try:
                text = body.decode("utf-8")  # no lone surrogate is UTF-8
            except UnicodeDecodeError:
                self.relays.append(f"not UTF-8: {body[:80]!r}")
                continue
            self._take(text)

    def _take(self, text: str) -> None:
        raise NotImplementedError


class PollingRecipient(_PollingRelays):
    """A Socket.IO v5 client on long-polling, in the relay room."""

    def __init__(self, port: int) -> None:
        self.port = port
        _, _, body = http(port, "GET", f"{PATH}?EIO=4&transport=polling")
        self.target = f"{PATH}?EIO=4&transport=polling&sid={json.loads(body[1:])['sid']}"
        assert http(port, "POST", self.target, body=b"40")[2] == b"ok"
        assert http(port, "GET", self.target)[2].startswith(b"40")
        join = f'421["join","{RELAY_ROOM}"]'.encode()
        assert http(port, "POST", self.target, body=join)[2] == b"ok"
        assert http(port, "GET", self.target)[2] == b"431[true]"
        self.relays = []

    def _take(self, text: str) -> None:
        for packet in text.split("\x1e"):
            if packet.startswith('42["relay"'):
                parsed = strict_json(packet[2:])
                self.relays.append(parsed[1:] if isinstance(parsed, list) else parsed)
            elif packet != "2":  # a ping (not in this row's time) is not ours to answer
                self.relays.append(f"not a relay: {packet:.80}")

    def close(self) -> None:
        http(self.port, "POST", self.target, body=b"1")


class LegacyRecipient(_PollingRelays):
    """A Socket.IO 0.9 client on xhr-polling, in the relay room."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.target = f"/socket.io/1/xhr-polling/{legacy_sid(port)}"
        assert http(port, "GET", self.target)[2] == b"1::"
        join = json.dumps({"name": "join", "args": [RELAY_ROOM]})
        assert http(port, "POST", self.target, body=f"5:1+::{join}".encode())[0] == 200
        assert http(port, "GET", self.target)[2] == b"6:::1+[true]"
        self.relays = []

    def _take(self, text: str) -> None:
        for packet in decode_legacy_payload(text):
            if packet.startswith("5:::"):
                event = strict_json(packet[4:])
                relayed = isinstance(event, dict) and event.get("name") == "relay"
                self.relays.append(event["args"] if relayed else event)
            elif packet != "8::":  # a noop: the poll's time passed with nothing to send
                self.relays.append(f"not a relay: {packet:.80}")

    def close(self) -> None:
        http(self.port, "POST", self.target, body=b"0::")


def hostile_answers(port: int, value: str) -> dict[str, str]:
    """``value`` relayed by a hostile client of each kind: what each was answered."""
    answers: dict[str, str] = {}
    ws = v5(port)
    try:
        ws.send(f'42["relay",{value}]')
        answers["websocket"] = "closed" if ws_closed(ws, within=1.5) else "open"
    finally:
        ws.close()
    _, _, body = http(port, "GET", f"{PATH}?EIO=4&transport=polling")
    target = f"{PATH}?EIO=4&transport=polling&sid={json.loads(body[1:])['sid']}"
    assert http(port, "POST", target, body=b"40")[2] == b"ok"
    assert http(port, "GET", target)[2].startswith(b"40")
    status, _, body = http(port, "POST", target, body=f'42["relay",{value}]'.encode())
    assert (status, body) == (200, b"ok")
    # its next poll gets the close packet at once (then its session is unknown)
    answers["polling"] = "closed" if poll_once(port, target, within=1.5) == b"1" else "open"
    # a 0.9 client's invalid packet is dropped and its session kept: an
    # event it sends next is still answered
    poll = f"/socket.io/1/xhr-polling/{legacy_sid(port)}"
    assert http(port, "GET", poll)[2] == b"1::"
    event = f'5:::{{"name":"relay","args":[{value}]}}'
    assert http(port, "POST", poll, body=event.encode())[0] == 200
    assert http(port, "POST", poll, body=b'5:7+::{"name":"echo","args":[1]}')[0] == 200
    answer = poll_once(port, poll, within=1.5)
    answers["0.9"] = "dropped" if answer == b"6:::7+[1]" else f"{answer!r:.80}"
    http(port, "POST", poll, body=b"0::")
    return answers


def unsendable_values_relayed_to_a_room(ctx: Ctx) -> None:
    # a handler relays what a client sent to a room whose recipients are
    # socket.io-client 4 under Node on a websocket and on long-polling, and
    # raw v5 and 0.9 clients that parse strictly, the polling ones not
    # polling while the hostile values come (their queues hold a good value)
    node = NodeRecipients(ctx.port)
    opened: list[WsRecipient | PollingRecipient | LegacyRecipient] = []
    try:
        ws = WsRecipient(ctx.port)
        opened.append(ws)
        polling = PollingRecipient(ctx.port)
        opened.append(polling)
        legacy = LegacyRecipient(ctx.port)
        opened.append(legacy)
        assert node.until(lambda: node.events("ready") != [], within=10.0), node.seen
        ws.relay(BEFORE)
        ws.until(BEFORE)
        answers = {value: hostile_answers(ctx.port, value) for value in UNSENDABLE}
        ws.relay(AFTER)
        for recipient in opened:
            recipient.until(AFTER)
        node.until(lambda: all([AFTER] in node.relays(c) for c in ("websocket", "polling")), 5.0)
        # every recipient kept its connection and got the good values, and
        # nothing else
        got = {
            "node-websocket": node.relays("websocket"),
            "node-polling": node.relays("polling"),
            "websocket": ws.relays,
            "polling": polling.relays,
            "0.9": legacy.relays,
        }
        assert got == {name: [[BEFORE], [AFTER]] for name in got}, (got, node.seen)
        assert node.events("disconnect", "error", "fail", "exit") == []
        node.end()
        # each hostile packet got its protocol's answer
        expected = {"websocket": "closed", "polling": "closed", "0.9": "dropped"}
        assert answers == dict.fromkeys(UNSENDABLE, expected)
    finally:
        for recipient in opened:
            recipient.close()
        node.close()


HTTP_OWN = ("embedded", "gevent")  # runtimes whose HTTP is hubbub's (uvicorn parses its own)

TABLE: list[Row] = [
    Row("legacy-jsonp-handshake-from-a-script", legacy_jsonp_handshake_from_a_script),
    Row("legacy-jsonp-handshake-foreign-referer", legacy_jsonp_handshake_with_a_foreign_referer),
    Row(
        "legacy-jsonp-handshake-without-jsonp-polling",
        legacy_jsonp_handshake_without_jsonp_polling,
        config="no-jsonp",
    ),
    Row("legacy-requests-from-another-origin", legacy_requests_from_another_origin),
    Row("eio3-jsonp-from-another-site", eio3_jsonp_from_another_site),
    Row("cors-star", star_answers_a_literal_star_without_credentials, config="star"),
    Row("cors-scheme", an_http_page_may_not_use_an_https_server),
    Row("pipelined-requests", pipelined_requests_behind_a_held_poll),
    Row("body-never-arrives", a_body_that_never_arrives),
    Row("endless-chunk-extension", an_endless_chunk_extension),
    Row("slow-headers", slow_headers, runtimes=HTTP_OWN),
    Row("reset-in-the-head", a_reset_in_the_middle_of_the_head),
    Row("idle-connection", an_idle_connection, runtimes=HTTP_OWN),
    Row("idle-after-a-request", idle_after_a_request, runtimes=HTTP_OWN),
    Row("answers-never-read", answers_never_read, runtimes=HTTP_OWN),
    # under uvicorn, pings are answered by uvicorn itself, and both of its
    # websocket implementations (0.55) keep reading and queue the pongs of a
    # client that does not read them: no bound of hubbub's (docs/security.md)
    Row("ping-flood", a_ping_flood_that_never_reads, runtimes=HTTP_OWN),
    Row("empty-continuation-frames", empty_continuation_frames, runtimes=HTTP_OWN),
    Row("attachments-never-come", attachments_that_never_come),
    Row("namespace-name-too-long", a_namespace_name_too_long),
    Row("dynamic-namespaces", dynamic_namespaces_are_capped_and_freed),
    Row("sessions-per-address", too_many_sessions_from_one_address, config="per-address"),
    Row("handshaken-legacy-sessions", handshaken_legacy_sessions_are_capped, config="fresh-cap"),
    Row("event-flood", an_event_flood),
    Row("values-no-client-could-be-sent", values_no_client_could_be_sent),
    Row("server-side-nan", a_server_side_nan_goes_out_as_null),
    Row("unsendable-values-relayed", unsendable_values_relayed_to_a_room),
    Row(
        "unsendable-values-relayed-own-json",
        unsendable_values_relayed_to_a_room,
        config="own-json",
    ),
    Row("call-whose-client-leaves", a_call_whose_client_leaves, config="fresh"),
    Row("hooks-are-not-events", hooks_are_not_events, config="fresh"),
    Row("unicode-digits", unicode_digits),
    Row(
        "deflate-offer-unicode-digits",
        a_deflate_offer_with_unicode_digits,
        runtimes=HTTP_OWN,
        config="deflate",
    ),
    Row(
        "header-injection-by-the-wrapped-app",
        header_injection_by_the_wrapped_app,
        runtimes=("embedded",),
        error_ok="refused the ASGI app's answer",
    ),
    Row("connection-close", connection_close_is_answered),
]


# -- running the table --------------------------------------------------------------------------


async def injecting_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """An app that echoes a client's value into a header (header injection)."""
    if scope["type"] != "http":
        return
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"x-echo", b"a\r\nSet-Cookie: evil=1")],
        }
    )
    await send({"type": "http.response.body", "body": b"ok"})


@dataclass
class Running:
    server: ServerThread
    seen: Seen
    rows_run: list[str] = field(default_factory=list)


@pytest.fixture(scope="module")
def servers() -> Iterator[Callable[[str, str, str], Running]]:
    started: dict[tuple[str, str], Running] = {}

    def get(runtime: str, config: str) -> Running:
        key = (runtime, config)
        fresh = config.startswith("fresh")
        if fresh or key not in started:
            app, seen = build(config, runtime == "gevent")
            server = ServerThread(
                app,
                asgi_app=injecting_app if runtime != "gevent" else None,
                limits=LIMITS,
                uvicorn=runtime == "uvicorn",
                gevent=runtime == "gevent",
            ).__enter__()
            if fresh:
                old = started.pop(key, None)
                if old is not None:
                    old.server.__exit__(None, None, None)
            started[key] = Running(server, seen)
        return started[key]

    yield get
    for running in started.values():
        running.server.__exit__(None, None, None)


CASES = [(runtime, row) for row in TABLE for runtime in RUNTIMES if runtime in row.runtimes]


@pytest.mark.parametrize(("runtime", "row"), CASES, ids=[f"{r}-{row.name}" for r, row in CASES])
def test_hostile(
    runtime: str,
    row: Row,
    servers: Callable[[str, str, str], Running],
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    running = servers(runtime, row.config)
    capfd = printed_from_now_on(request)
    caplog.set_level(logging.INFO)
    uvicorn_log = logging.getLogger("uvicorn")
    uvicorn_log.addHandler(caplog.handler)
    try:
        healthy = Healthy(running.server.port)
        try:
            healthy.echo()
            row.run(Ctx(running.server.port, runtime, running.server, running.seen, healthy))
            healthy.echo()
        finally:
            healthy.close()
    finally:
        uvicorn_log.removeHandler(caplog.handler)
    tracebacks = [
        (r.name, r.getMessage())
        for r in caplog.records
        if r.exc_info and r.name.startswith(("hubbub", "uvicorn", "gevent", "asyncio"))
    ]
    assert tracebacks == []
    assert_no_traceback_printed(capfd)
    errors = [
        (r.name, r.getMessage())
        for r in caplog.records
        if r.levelno >= logging.ERROR and r.name.startswith(("hubbub", "uvicorn"))
        and not (row.error_ok and re.search(row.error_ok, r.getMessage()))
    ]
    assert errors == []
