"""Engine.IO behaviour hubbub promises beyond the official suites, part 1:
what the options change on the wire (JSONP, b64, EIO narrowing, error
bodies, CORS, cookies, size limits, the open packet, compression).

Each test starts its own server (``serve``) with the options it needs, on
the embedded server, under uvicorn and on gevent unless it is about the
embedded one.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any
from urllib.parse import urlencode

import pytest
from eio_helpers import (
    decode_v3_text,
    encode_v3_text,
    error_of,
    get,
    in_thread,
    on_loop,
    open_polling,
    post,
    query,
    request,
    serve,
    sid_query,
    wait_until,
    ws_connect,
    ws_open,
    ws_refused,
)
from websockets.exceptions import ConnectionClosed

OPEN_KEYS_V4 = {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
# a heartbeat slow enough never to interfere
CALM = {"ping_interval": 5.0, "ping_timeout": 5.0}


# -- v3 JSONP and b64 -----------------------------------------------------------------


def _jsonp_payload(text: str, index: int) -> str:
    m = re.fullmatch(r"___eio\[" + str(index) + r"\]\((\".*\")\);", text, re.S)
    assert m is not None, text
    payload = json.loads(m.group(1))
    assert isinstance(payload, str)
    return payload


def _jsonp_escape(payload: str) -> str:
    """What engine.io-client's JSONP transport does before posting ``d=``."""
    return payload.replace("\\n", "\\\n").replace("\n", "\\n")


def test_jsonp_handshake_is_a_javascript_call(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        r = get(st.url, query(EIO=3, transport="polling", j=7))
        assert r.status == 200
        assert (r.header("Content-Type") or "").startswith("text/javascript")
        [packet] = decode_v3_text(_jsonp_payload(r.text, 7))
        assert packet.startswith("0")
        info = json.loads(packet[1:])
        assert info["upgrades"] == ["websocket"]
        assert isinstance(info["sid"], str)


def test_jsonp_form_post_and_poll_roundtrip(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        r = get(st.url, query(EIO=3, transport="polling", j=3))
        sid = json.loads(decode_v3_text(_jsonp_payload(r.text, 3))[0][1:])["sid"]
        messages = ["4line1\nline2", "4a literal \\n stays", "4</script><!-- \u2028 é \U0001f600"]
        payload = encode_v3_text(messages)
        body = urlencode({"d": _jsonp_escape(payload)})
        push = post(
            st.url,
            sid_query(3, sid, j=3),
            body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert push.status == 200
        assert push.text == "ok"
        poll = get(st.url, sid_query(3, sid, j=3))
        assert poll.status == 200
        assert (poll.header("Content-Type") or "").startswith("text/javascript")
        # safe inside a <script>: no raw "<" and no raw U+2028
        assert "<" not in poll.text
        assert "\u2028" not in poll.text
        assert decode_v3_text(_jsonp_payload(poll.text, 3)) == messages


def test_jsonp_binary_is_base64(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, eio):
        r = get(st.url, query(EIO=3, transport="polling", j=0))
        sid = json.loads(decode_v3_text(_jsonp_payload(r.text, 0))[0][1:])["sid"]
        on_loop(st, lambda: eio.send(sid, b"\x01\x02\x03"))
        poll = get(st.url, sid_query(3, sid, j=0))
        assert _jsonp_payload(poll.text, 0) == "6:b4AQID"


def test_v3_b64_session_gets_base64_binary_in_text_payloads(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, eio):
        sid, _ = open_polling(st.url, 3, b64=1)
        on_loop(st, lambda: (eio.send(sid, b"\x01\x02\x03"), eio.send(sid, "hé")))
        poll = get(st.url, sid_query(3, sid))
        assert poll.status == 200
        assert (poll.header("Content-Type") or "").startswith("text/plain")
        assert poll.text == "6:b4AQID3:4hé"


def test_v3_binary_payload_post(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        sid, _ = open_polling(st.url, 3)
        # 0 <6> 255 "4hello" | 1 <4> 255 <4> 1 2 3
        body = bytes([0, 6, 255]) + b"4hello" + bytes([1, 4, 255, 4, 1, 2, 3])
        r = post(
            st.url,
            sid_query(3, sid),
            body,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert (r.status, r.text) == (200, "ok")
        poll = get(st.url, sid_query(3, sid))
        assert poll.header("Content-Type") == "application/octet-stream"
        assert poll.body == body


def test_v3_xhr2_session_gets_a_binary_payload(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, eio):
        sid, _ = open_polling(st.url, 3)
        on_loop(st, lambda: (eio.send(sid, b"\x01\x02\x03"), eio.send(sid, "hé")))
        poll = get(st.url, sid_query(3, sid))
        assert poll.status == 200
        assert poll.header("Content-Type") == "application/octet-stream"
        # 1 <4> 255 <4>\x01\x02\x03 | 0 <4> 255 "4hé" (4 bytes of UTF-8)
        assert poll.body == bytes([1, 4, 255, 4, 1, 2, 3, 0, 4, 255]) + "4hé".encode()


# -- EIO narrowing ---------------------------------------------------------------------


def test_eio_versions_4_refuses_eio3(runtime: str) -> None:
    with serve(runtime, eio_versions=(4,), **CALM) as (st, _):
        r = get(st.url, query(EIO=3, transport="polling"))
        assert r.status == 400
        code, message = error_of(r)
        assert code == 5
        assert "EIO=4" in message
        assert "EIO=3" not in message
        for bad in (2, "abc", None, 5, ""):
            r = get(st.url, query(EIO=bad, transport="polling"))
            assert r.status == 400, bad
            assert error_of(r)[0] == 5, bad
        assert ws_refused(st.url, query(EIO=3, transport="websocket")) in (400, 403)
        # EIO=4 is served
        sid, _ = open_polling(st.url, 4)
        with ws_open(st.url, 4) as (_, info):
            assert info["sid"] != sid


def test_eio_versions_3_refuses_eio4(runtime: str) -> None:
    with serve(runtime, eio_versions=(3,), **CALM) as (st, _):
        r = get(st.url, query(EIO=4, transport="polling"))
        code, message = error_of(r)
        assert (r.status, code) == (400, 5)
        assert "EIO=3" in message
        assert "EIO=4" not in message
        open_polling(st.url, 3)


def test_both_versions_by_default_and_unknown_ones_refused(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        open_polling(st.url, 3)
        open_polling(st.url, 4)
        for bad in (2, "abc", None):
            r = get(st.url, query(EIO=bad, transport="polling"))
            assert r.status == 400
            code, message = error_of(r)
            assert code == 5
            assert "EIO=3" in message and "EIO=4" in message


# -- error bodies ------------------------------------------------------------------------


def test_error_code_0_unknown_transport(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        for t in ("abc", None, "flashsocket"):
            r = get(st.url, query(EIO=4, transport=t))
            assert r.status == 400
            assert error_of(r) == (0, "Transport unknown")


def test_error_code_0_transport_not_enabled(runtime: str) -> None:
    with serve(runtime, transports=("polling",), **CALM) as (st, _):
        r = get(st.url, query(EIO=4, transport="websocket"))
        assert (r.status, error_of(r)[0]) == (400, 0)
        assert ws_refused(st.url, query(EIO=4, transport="websocket")) in (400, 403)
        _, info = open_polling(st.url, 4)
        assert info["upgrades"] == []


def test_error_code_1_unknown_sid(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        r = get(st.url, sid_query(4, "nosuchsid"))
        assert r.status == 400
        assert error_of(r) == (1, "Session ID unknown")
        r = post(st.url, sid_query(3, "nosuchsid"), "1:6")
        assert (r.status, error_of(r)[0]) == (400, 1)


def test_error_code_2_bad_handshake_method(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        for method in ("POST", "PUT", "DELETE"):
            r = request(st.url, method, query(EIO=4, transport="polling"), body=b"4x")
            assert r.status == 400, method
            assert error_of(r) == (2, "Bad handshake method"), method


def test_error_code_3_bad_request(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        # a polling request for a websocket session: transport mismatch
        with ws_open(st.url, 4) as (ws, info):
            r = get(st.url, sid_query(4, info["sid"]))
            assert (r.status, error_of(r)[0]) == (400, 3)
            ws.send("4still here")
            assert ws.recv(timeout=2) == "4still here"
        # a v4 session addressed as EIO=3
        sid, _ = open_polling(st.url, 4)
        r = get(st.url, sid_query(3, sid))
        assert (r.status, error_of(r)[0]) == (400, 3)
        # transport=websocket without the websocket upgrade
        r = get(st.url, query(EIO=4, transport="websocket"))
        assert (r.status, error_of(r)[0]) == (400, 3)


def test_error_code_4_allow_request_false_is_403(runtime: str) -> None:
    seen: list[str] = []

    def allow(req: Any) -> bool:
        seen.append(req.query.get("transport", ""))
        return req.query.get("token") == "good"

    with serve(runtime, allow_request=allow, **CALM) as (st, _):
        r = get(st.url, query(EIO=4, transport="polling", token="bad"))
        assert r.status == 403
        assert error_of(r) == (4, "Forbidden")
        assert ws_refused(st.url, query(EIO=4, transport="websocket", token="bad")) == 403
        open_polling(st.url, 4, token="good")
        with ws_connect(st.url, query(EIO=4, transport="websocket", token="good")) as ws:
            assert str(ws.recv(timeout=2)).startswith("0")
    assert "polling" in seen and "websocket" in seen


def test_error_code_4_allow_request_message(runtime: str) -> None:
    def allow(req: Any) -> bool | str:
        return True if req.query.get("token") == "good" else "bad token, go away"

    with serve(runtime, allow_request=allow, **CALM) as (st, _):
        r = get(st.url, query(EIO=4, transport="polling"))
        assert r.status == 403
        assert error_of(r) == (4, "bad token, go away")
        sid, _ = open_polling(st.url, 4, token="good")
        # allow_request judges new sessions only
        assert post(st.url, sid_query(4, sid), "4hi").status == 200
        assert get(st.url, sid_query(4, sid)).text == "4hi"


# -- CORS ------------------------------------------------------------------------------------


def _cors(r: Any) -> str | None:
    return r.header("Access-Control-Allow-Origin")


def test_cors_default_is_same_origin(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        own = st.url  # http://127.0.0.1:<port>, what Host says
        r = get(st.url, query(EIO=4, transport="polling"), headers={"Origin": own})
        assert r.status == 200
        assert _cors(r) == own
        assert r.header("Access-Control-Allow-Credentials") == "true"
        assert "Origin" in (r.header("Vary") or "")
        # later requests of the session carry the headers too
        sid = json.loads(r.text[1:])["sid"]
        p = post(st.url, sid_query(4, sid), "4x", headers={"Origin": own})
        assert (p.status, _cors(p)) == (200, own)
        g = get(st.url, sid_query(4, sid), headers={"Origin": own})
        assert (g.status, g.text, _cors(g)) == (200, "4x", own)
        # and so do error answers
        e = get(st.url, sid_query(4, "nosuchsid"), headers={"Origin": own})
        assert (e.status, _cors(e)) == (400, own)
        # no Origin (not a browser): no CORS headers, allowed
        r = get(st.url, query(EIO=4, transport="polling"))
        assert r.status == 200
        assert _cors(r) is None
        # a foreign origin is refused, polling and websocket alike
        for origin in ("http://evil.example", "http://127.0.0.1:1", "https://localhost"):
            r = get(st.url, query(EIO=4, transport="polling"), headers={"Origin": origin})
            assert r.status == 403, origin
            assert error_of(r)[0] == 4
            assert _cors(r) is None
        status = ws_refused(
            st.url,
            query(EIO=4, transport="websocket"),
            additional_headers={"Origin": "http://evil.example"},
        )
        assert status == 403


def test_cors_list_of_origins(runtime: str) -> None:
    allowed = ["http://a.example", "https://b.example:8443"]
    with serve(runtime, cors_allowed_origins=allowed, **CALM) as (st, _):
        for origin in allowed:
            r = get(st.url, query(EIO=4, transport="polling"), headers={"Origin": origin})
            assert (r.status, _cors(r)) == (200, origin)
        for origin in ("http://c.example", "http://a.example.evil", st.url):
            r = get(st.url, query(EIO=4, transport="polling"), headers={"Origin": origin})
            assert r.status == 403, origin
        with ws_connect(
            st.url,
            query(EIO=4, transport="websocket"),
            additional_headers={"Origin": "http://a.example"},
        ) as ws:
            assert str(ws.recv(timeout=2)).startswith("0")


def test_cors_any_origin(runtime: str) -> None:
    with serve(runtime, cors_allowed_origins="*", **CALM) as (st, _):
        for origin in ("http://anything.example", "null", "https://x.y:1"):
            r = get(st.url, query(EIO=4, transport="polling"), headers={"Origin": origin})
            assert r.status == 200
            assert _cors(r) in (origin, "*")


def test_cors_callable(runtime: str) -> None:
    def check(origin: str) -> bool:
        return origin.endswith(".good.example")

    with serve(runtime, cors_allowed_origins=check, **CALM) as (st, _):
        r = get(
            st.url, query(EIO=4, transport="polling"), headers={"Origin": "http://a.good.example"}
        )
        assert (r.status, _cors(r)) == (200, "http://a.good.example")
        r = get(st.url, query(EIO=4, transport="polling"), headers={"Origin": "http://bad.example"})
        assert r.status == 403


def test_cors_preflight(runtime: str) -> None:
    with serve(runtime, cors_allowed_origins=["http://a.example"], **CALM) as (st, _):
        r = request(
            st.url,
            "OPTIONS",
            query(EIO=4, transport="polling"),
            headers={
                "Origin": "http://a.example",
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type, x-custom",
            },
        )
        assert r.status == 204
        assert r.body == b""
        assert _cors(r) == "http://a.example"
        methods = {m.strip() for m in (r.header("Access-Control-Allow-Methods") or "").split(",")}
        assert {"GET", "POST"} <= methods
        allowed = (r.header("Access-Control-Allow-Headers") or "").lower()
        assert "content-type" in allowed and "x-custom" in allowed
        r = request(
            st.url,
            "OPTIONS",
            query(EIO=4, transport="polling"),
            headers={"Origin": "http://b.example", "Access-Control-Request-Method": "GET"},
        )
        assert r.status == 403


# -- cookies -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cookie", "expected"),
    [
        (True, "io={sid}; Path=/; HttpOnly; SameSite=Lax"),
        ("mysid", "mysid={sid}; Path=/; HttpOnly; SameSite=Lax"),
        (
            {
                "name": "c",
                "path": "/app",
                "domain": "example.com",
                "maxAge": 60,
                "httpOnly": False,
                "secure": True,
                "sameSite": "Strict",
            },
            "c={sid}; Path=/app; Domain=example.com; Max-Age=60; Secure; SameSite=Strict",
        ),
    ],
    ids=["true", "name", "attrs"],
)
def test_cookie_option(runtime: str, cookie: Any, expected: str) -> None:
    with serve(runtime, cookie=cookie, **CALM) as (st, _):
        r = get(st.url, query(EIO=4, transport="polling"))
        sid = json.loads(r.text[1:])["sid"]
        assert r.headers.get_all("Set-Cookie") == [expected.format(sid=sid)]
        # the handshake only
        assert post(st.url, sid_query(4, sid), "4x").header("Set-Cookie") is None
        with ws_open(st.url, 4) as (ws, info):
            assert ws.response is not None
            got = ws.response.headers.get_all("Set-Cookie")
            assert got == [expected.format(sid=info["sid"])]


def test_no_cookie_by_default(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        r = get(st.url, query(EIO=4, transport="polling"))
        assert r.header("Set-Cookie") is None
        with ws_open(st.url, 4) as (ws, _):
            assert ws.response is not None
            assert ws.response.headers.get("Set-Cookie") is None


# -- max_http_buffer_size --------------------------------------------------------------------


def test_polling_post_over_max_http_buffer_size(runtime: str) -> None:
    closed = threading.Event()

    with serve(runtime, max_http_buffer_size=1000, **CALM) as (st, eio):
        eio.on("disconnect", lambda sid, reason: closed.set())
        sid, info = open_polling(st.url, 4)
        assert info["maxPayload"] == 1000
        ok = "4" + "a" * 998  # 999 bytes
        assert post(st.url, sid_query(4, sid), ok).status == 200
        assert get(st.url, sid_query(4, sid)).text == ok
        r = post(st.url, sid_query(4, sid), "4" + "a" * 1000)  # 1001 bytes
        assert r.status == 413
        assert closed.wait(2)
        assert get(st.url, sid_query(4, sid)).status == 400
        # with a GET held, that GET ends with a close packet
        sid, _ = open_polling(st.url, 4)
        held = in_thread(lambda: get(st.url, sid_query(4, sid)))
        time.sleep(0.05)
        assert post(st.url, sid_query(4, sid), b"x" * 5000).status == 413
        r = held.result(2)
        assert (r.status, r.text) == (200, "1")
        assert get(st.url, sid_query(4, sid)).status == 400


def test_websocket_message_over_max_http_buffer_size(runtime: str) -> None:
    gone: list[tuple[str, str]] = []

    with serve(runtime, max_http_buffer_size=1000, **CALM) as (st, eio):
        eio.on("disconnect", lambda sid, reason: gone.append((sid, reason)))
        with ws_open(st.url, 4) as (ws, info):
            ws.send("4" + "b" * 500)
            assert ws.recv(timeout=2) == "4" + "b" * 500
            ws.send("4" + "é" * 600)  # 601 characters, 1201 bytes
            with pytest.raises(ConnectionClosed):
                ws.recv(timeout=3)
            assert ws.protocol.close_rcvd is not None
            assert ws.protocol.close_rcvd.code == 1009
        assert wait_until(lambda: bool(gone))
        assert gone[0][0] == info["sid"]
        assert wait_until(lambda: info["sid"] not in eio.sessions)


# -- session ids and the open packet ----------------------------------------------------------


def test_sids_are_unique_and_unguessable(runtime: str) -> None:
    with serve(runtime, **CALM) as (st, _):
        sids = [open_polling(st.url, 4)[0] for _ in range(15)]
        sids += [open_polling(st.url, 3)[0] for _ in range(5)]
        for _ in range(5):
            with ws_open(st.url, 4) as (_, info):
                sids.append(info["sid"])
        assert len(set(sids)) == len(sids)
        for sid in sids:
            assert re.fullmatch(r"[A-Za-z0-9_-]{20,}", sid), sid
        # nothing sequential: no two share even a 6-character prefix
        assert len({sid[:6] for sid in sids}) == len(sids)


def test_open_packet_fields(runtime: str) -> None:
    opts = {"ping_interval": 12.5, "ping_timeout": 7.25, "max_http_buffer_size": 4321}
    with serve(runtime, **opts) as (st, _):
        _, info = open_polling(st.url, 4)
        assert set(info) == OPEN_KEYS_V4
        assert info["upgrades"] == ["websocket"]
        assert (info["pingInterval"], info["pingTimeout"], info["maxPayload"]) == (
            12500,
            7250,
            4321,
        )
        with ws_open(st.url, 4) as (_, info):
            assert set(info) == OPEN_KEYS_V4
            assert info["upgrades"] == []
            assert (info["pingInterval"], info["pingTimeout"]) == (12500, 7250)
        _, info = open_polling(st.url, 3)
        assert set(info) == {"sid", "upgrades", "pingInterval", "pingTimeout"}
        assert info["upgrades"] == ["websocket"]
        assert (info["pingInterval"], info["pingTimeout"]) == (12500, 7250)
        with ws_open(st.url, 3) as (_, info):
            assert set(info) == {"sid", "upgrades", "pingInterval", "pingTimeout"}
            assert info["upgrades"] == []


def test_open_packet_without_upgrades(runtime: str) -> None:
    with serve(runtime, allow_upgrades=False, **CALM) as (st, _):
        sid, info = open_polling(st.url, 4)
        assert info["upgrades"] == []
        # and an upgrade attempt is refused; polling goes on
        ws_refused(st.url, query(EIO=4, transport="websocket", sid=sid))
        assert post(st.url, sid_query(4, sid), "4x").status == 200
        assert get(st.url, sid_query(4, sid)).text == "4x"


# -- permessage-deflate (embedded server) --------------------------------------------------------


def test_websocket_compression_negotiated_when_enabled() -> None:
    with (
        serve("embedded", websocket_compression=True, **CALM) as (st, _),
        ws_connect(st.url, query(EIO=4, transport="websocket"), compression="deflate") as ws,
    ):
        assert ws.response is not None
        ext = ws.response.headers.get("Sec-WebSocket-Extensions") or ""
        assert "permessage-deflate" in ext
        assert str(ws.recv(timeout=2)).startswith("0")
        text = "4" + "compress me " * 2000
        ws.send(text)
        assert ws.recv(timeout=2) == text
        ws.send(bytes(range(256)) * 20)
        assert ws.recv(timeout=2) == bytes(range(256)) * 20
        ws.send("4é\U0001f600")
        assert ws.recv(timeout=2) == "4é\U0001f600"


def test_websocket_compression_off_by_default() -> None:
    with (
        serve("embedded", **CALM) as (st, _),
        ws_connect(st.url, query(EIO=4, transport="websocket"), compression="deflate") as ws,
    ):
        assert ws.response is not None
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        assert str(ws.recv(timeout=2)).startswith("0")
        ws.send("4" + "x" * 5000)
        assert ws.recv(timeout=2) == "4" + "x" * 5000


def test_websocket_compression_enabled_but_not_offered() -> None:
    with (
        serve("embedded", websocket_compression=True, **CALM) as (st, _),
        ws_connect(st.url, query(EIO=4, transport="websocket")) as ws,
    ):
        assert ws.response is not None
        assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
        assert str(ws.recv(timeout=2)).startswith("0")
        ws.send("4plain")
        assert ws.recv(timeout=2) == "4plain"


def test_websocket_compressed_message_over_max_http_buffer_size() -> None:
    # the limit applies to the inflated message, not to the compressed frame
    with (
        serve("embedded", websocket_compression=True, max_http_buffer_size=1000, **CALM) as (
            st,
            eio,
        ),
        ws_connect(st.url, query(EIO=4, transport="websocket"), compression="deflate") as ws,
    ):
        info = json.loads(str(ws.recv(timeout=2))[1:])
        ws.send("4" + "a" * 900)
        assert ws.recv(timeout=2) == "4" + "a" * 900
        ws.send("4" + "a" * 5000)  # a few dozen bytes once deflated
        with pytest.raises(ConnectionClosed):
            ws.recv(timeout=3)
        assert ws.protocol.close_rcvd is not None
        assert ws.protocol.close_rcvd.code == 1009
        assert wait_until(lambda: info["sid"] not in eio.sessions)


def test_path_without_trailing_slash_is_served(echo_url: str) -> None:
    # socket.io-client >= 4.6 with addTrailingSlash: false asks for /engine.io?...
    import urllib.request

    with urllib.request.urlopen(echo_url + "/engine.io?EIO=4&transport=polling", timeout=5) as r:
        assert r.status == 200
        assert r.read().startswith(b'0{"sid":')
