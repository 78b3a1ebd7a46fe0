"""Engine.IO behaviour hubbub promises beyond the official suites, part 2:
session lifecycle (upgrade timeout, server-initiated close, server sends to a
held GET) and HTTP keep-alive, on the embedded server, under uvicorn and on
gevent.
"""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest
from eio_helpers import (
    SLACK,
    get,
    hostport,
    in_thread,
    on_loop,
    open_polling,
    post,
    query,
    request,
    serve,
    sid_query,
    wait_closed,
    wait_until,
    ws_connect,
    ws_open,
)

CALM = {"ping_interval": 5.0, "ping_timeout": 5.0}
CLOSE = {4: "1", 3: "1:1"}


# -- upgrade timeout ---------------------------------------------------------------


@pytest.mark.parametrize("eio", [4, 3])
def test_upgrade_timeout_drops_a_probe_that_never_upgrades(runtime: str, eio: int) -> None:
    with serve(runtime, upgrade_timeout=0.2, **CALM) as (st, eio_server):
        sid, _ = open_polling(st.url, eio, b64=1 if eio == 3 else None)
        with ws_connect(st.url, query(EIO=eio, transport="websocket", sid=sid)) as ws:
            start = time.monotonic()
            ws.send("2probe")
            assert ws.recv(timeout=2) == "3probe"
            # never "5": the server gives up on the probe
            assert wait_closed(ws, timeout=2) == []
            elapsed = time.monotonic() - start
            assert 0.2 - SLACK < elapsed < 1.5
        # the session is still there, on polling
        assert sid in eio_server.sessions
        body = "4after" if eio == 4 else "6:4after"
        assert post(st.url, sid_query(eio, sid), body).status == 200
        r = get(st.url, sid_query(eio, sid))
        assert (r.status, r.text) == (200, body)


def test_upgrade_timeout_drops_a_silent_probe(runtime: str) -> None:
    with serve(runtime, upgrade_timeout=0.2, **CALM) as (st, _):
        sid, _ = open_polling(st.url, 4)
        with ws_connect(st.url, query(EIO=4, transport="websocket", sid=sid)) as ws:
            start = time.monotonic()
            assert wait_closed(ws, timeout=2) == []
            assert 0.2 - SLACK < time.monotonic() - start < 1.5
        # a held GET is not disturbed by the dropped probe: it gets the next message
        held = in_thread(lambda: get(st.url, sid_query(4, sid)))
        time.sleep(0.05)
        assert post(st.url, sid_query(4, sid), "4still polling").status == 200
        r = held.result(2)
        assert (r.status, r.text) == (200, "4still polling")


def test_upgrade_after_a_dropped_probe(runtime: str) -> None:
    with serve(runtime, upgrade_timeout=0.2, **CALM) as (st, _):
        sid, _ = open_polling(st.url, 4)
        path = query(EIO=4, transport="websocket", sid=sid)
        with ws_connect(st.url, path) as ws:
            ws.send("2probe")
            assert ws.recv(timeout=2) == "3probe"
            wait_closed(ws)
        with ws_connect(st.url, path) as ws:
            ws.send("2probe")
            assert ws.recv(timeout=2) == "3probe"
            ws.send("5")
            ws.send("4upgraded")
            assert ws.recv(timeout=2) == "4upgraded"
        assert get(st.url, sid_query(4, sid)).status == 400


# -- server-initiated close ------------------------------------------------------------


@pytest.mark.parametrize("eio", [4, 3])
def test_server_disconnect_polling(runtime: str, eio: int) -> None:
    reasons: list[str] = []
    with serve(runtime, **CALM) as (st, eio_server):
        eio_server.on("disconnect", lambda sid, reason: reasons.append(reason))
        sid, _ = open_polling(st.url, eio, b64=1 if eio == 3 else None)
        on_loop(st, lambda: eio_server.disconnect(sid))
        r = get(st.url, sid_query(eio, sid))
        assert (r.status, r.text) == (200, CLOSE[eio])
        assert get(st.url, sid_query(eio, sid)).status == 400
        assert wait_until(lambda: len(reasons) == 1)


@pytest.mark.parametrize("eio", [4, 3])
def test_server_disconnect_wakes_a_held_poll(runtime: str, eio: int) -> None:
    with serve(runtime, **CALM) as (st, eio_server):
        sid, _ = open_polling(st.url, eio, b64=1 if eio == 3 else None)
        held = in_thread(lambda: get(st.url, sid_query(eio, sid)))
        time.sleep(0.1)
        start = time.monotonic()
        on_loop(st, lambda: eio_server.disconnect(sid))
        r = held.result(2)
        assert time.monotonic() - start < 1.0
        assert (r.status, r.text) == (200, CLOSE[eio])
        assert get(st.url, sid_query(eio, sid)).status == 400


@pytest.mark.parametrize("eio", [4, 3])
@pytest.mark.parametrize("version", ["1.1", "1.0"])
def test_a_client_gone_during_a_held_poll_closes_its_session(
    runtime: str, eio: int, version: str
) -> None:
    """The TCP connection of a held GET closes: the session ends at once as
    "transport close" (Node: "poll connection closed prematurely"), long
    before its heartbeat would end it. (Under gevent, hubbub's own parser
    takes HTTP/1.1 requests and pywsgi the others: both are covered.)"""
    reasons: list[str] = []
    with serve(runtime, **CALM) as (st, eio_server):
        eio_server.on("disconnect", lambda sid, reason: reasons.append(reason))
        sid, _ = open_polling(st.url, eio, b64=1 if eio == 3 else None)
        sock = socket.create_connection(hostport(st.url), timeout=5)
        sock.sendall(f"GET {sid_query(eio, sid)} HTTP/{version}\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.2)  # the GET is held
        sock.close()
        assert wait_until(lambda: reasons == ["transport close"], 3.0), reasons
        assert get(st.url, sid_query(eio, sid)).status == 400


@pytest.mark.parametrize("eio", [4, 3])
def test_server_disconnect_websocket(runtime: str, eio: int) -> None:
    with serve(runtime, **CALM) as (st, eio_server), ws_open(st.url, eio) as (ws, info):
        ws.send("4hi")
        assert ws.recv(timeout=2) == "4hi"
        on_loop(st, lambda: eio_server.disconnect(info["sid"]))
        assert wait_closed(ws) == ["1"]
        assert ws.protocol.close_rcvd is not None
        assert ws.protocol.close_rcvd.code == 1000
        assert wait_until(lambda: info["sid"] not in eio_server.sessions)


def test_server_disconnect_after_upgrade(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, eio_server):
        sid, _ = open_polling(st.url, 4)
        with ws_connect(st.url, query(EIO=4, transport="websocket", sid=sid)) as ws:
            ws.send("2probe")
            assert ws.recv(timeout=2) == "3probe"
            ws.send("5")
            ws.send("4up")
            assert ws.recv(timeout=2) == "4up"
            on_loop(st, lambda: eio_server.disconnect(sid))
            assert wait_closed(ws) == ["1"]


# -- server sends -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("eio", "data", "expected"),
    [
        (4, "hi", b"4hi"),
        (4, b"\x01\x02\x03", b"bAQID"),
        (3, "hi", b"3:4hi"),
        (3, b"\x01\x02\x03", b"6:b4AQID"),
    ],
    ids=["v4-text", "v4-binary", "v3-text", "v3-binary"],
)
def test_server_send_wakes_a_held_poll(
    runtime: str, eio: int, data: str | bytes, expected: bytes
) -> None:
    with serve(runtime, **CALM) as (st, eio_server):
        sid, _ = open_polling(st.url, eio, b64=1 if eio == 3 else None)
        held = in_thread(lambda: get(st.url, sid_query(eio, sid)))
        time.sleep(0.1)  # the GET is held by now
        assert not held.done()
        start = time.monotonic()
        assert on_loop(st, lambda: eio_server.send(sid, data)) is True
        r = held.result(2)
        assert time.monotonic() - start < 1.0
        assert (r.status, r.body) == (200, expected)


def test_server_sends_in_one_tick_ride_one_poll(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, eio_server):
        sid, _ = open_polling(st.url, 4)
        held = in_thread(lambda: get(st.url, sid_query(4, sid)))
        time.sleep(0.1)
        on_loop(st, lambda: [eio_server.send(sid, f"m{i}") for i in range(3)])
        assert held.result(2).text == "4m0\x1e4m1\x1e4m2"


def test_server_send_to_websocket_and_unknown_sid(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, eio_server), ws_open(st.url, 4) as (ws, info):
        assert on_loop(st, lambda: eio_server.send(info["sid"], "pushed")) is True
        assert ws.recv(timeout=2) == "4pushed"
        assert on_loop(st, lambda: eio_server.send(info["sid"], b"\x00\xff")) is True
        assert ws.recv(timeout=2) == b"\x00\xff"
        assert on_loop(st, lambda: eio_server.send("nosuchsid", "x")) is False


# -- keep-alive ------------------------------------------------------------------------------


def test_polling_over_one_keepalive_connection(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        host, port = st.url.rsplit("/", 1)[1].split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            r = request(st.url, "GET", query(EIO=4, transport="polling"), conn=conn)
            assert r.status == 200
            sock = conn.sock
            assert sock is not None
            local = sock.getsockname()
            sid = json.loads(r.text[1:])["sid"]
            for i in range(5):
                p = request(st.url, "POST", sid_query(4, sid), body=f"4m{i}", conn=conn)
                assert (p.status, p.text) == (200, "ok")
                g = request(st.url, "GET", sid_query(4, sid), conn=conn)
                assert (g.status, g.text) == (200, f"4m{i}")
                # still the very same TCP connection
                assert conn.sock is sock
                assert sock.getsockname() == local
            # an error answer does not end the connection either
            e = request(st.url, "GET", sid_query(4, "nosuchsid"), conn=conn)
            assert e.status == 400
            assert conn.sock is sock
            assert request(st.url, "POST", sid_query(4, sid), body="4end", conn=conn).status == 200
            assert request(st.url, "GET", sid_query(4, sid), conn=conn).text == "4end"
            assert conn.sock is sock
        finally:
            conn.close()


# -- upgrade details ------------------------------------------------------------------------


@pytest.mark.parametrize("eio", [4, 3])
def test_probe_ends_a_held_poll_with_a_noop(runtime: str, eio: int) -> None:
    with serve(runtime, **CALM) as (st, _):
        sid, _ = open_polling(st.url, eio, b64=1 if eio == 3 else None)
        held = in_thread(lambda: get(st.url, sid_query(eio, sid)))
        time.sleep(0.1)  # the GET is held by now
        with ws_connect(st.url, query(EIO=eio, transport="websocket", sid=sid)) as ws:
            ws.send("2probe")
            assert ws.recv(timeout=2) == "3probe"
            r = held.result(2)
            assert (r.status, r.text) == (200, "6" if eio == 4 else "1:6")
            ws.send("5")
            ws.send("4done")
            assert ws.recv(timeout=2) == "4done"


def test_messages_sent_during_the_upgrade_go_to_the_websocket(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, eio_server):
        sid, _ = open_polling(st.url, 4)
        with ws_connect(st.url, query(EIO=4, transport="websocket", sid=sid)) as ws:
            ws.send("2probe")
            assert ws.recv(timeout=2) == "3probe"
            # the client pauses polling; the server keeps sending
            assert get(st.url, sid_query(4, sid)).text == "6"
            on_loop(st, lambda: [eio_server.send(sid, f"q{i}") for i in range(3)])
            ws.send("5")
            assert [ws.recv(timeout=2) for _ in range(3)] == ["4q0", "4q1", "4q2"]
            on_loop(st, lambda: eio_server.send(sid, "after"))
            assert ws.recv(timeout=2) == "4after"
