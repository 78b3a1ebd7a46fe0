"""Which requests the same-origin policy lets through (hubbub.engineio.cors)."""

from __future__ import annotations

import pytest

from hubbub.engineio.cors import CorsPolicy
from hubbub.http import HttpRequest


def _req(headers: dict[str, str], secure: bool = False) -> HttpRequest:
    return HttpRequest(
        method="GET",
        path="/socket.io/",
        query_string="EIO=4&transport=polling",
        headers={"host": "chat.example:8000", **headers},
        remote_addr="127.0.0.1",
        secure=secure,
    )


SAME_ORIGIN = CorsPolicy(None)


@pytest.mark.parametrize(
    ("headers", "allowed"),
    [
        ({}, True),  # no browser: nothing says where it comes from
        ({"origin": "http://chat.example:8000"}, True),
        ({"origin": "http://evil.example"}, False),
        ({"origin": "null"}, False),  # a sandboxed or file: page
        # a page of this host on another port is another origin
        ({"origin": "http://chat.example:9000"}, False),
        # a <script> tag: no Origin, the Referer tells
        ({"referer": "http://chat.example:8000/room"}, True),
        ({"referer": "http://evil.example/x"}, False),
        ({"sec-fetch-site": "cross-site"}, False),
        ({"sec-fetch-site": "same-origin"}, True),
        # socket.io-client 0.9's websocket under Node: host:port, no scheme,
        # which no browser sends
        ({"origin": "chat.example:8000"}, True),
        ({"origin": "127.0.0.1:8000"}, True),
        # ... unless the rest of the request names another site
        ({"origin": "127.0.0.1:8000", "referer": "http://evil.example/"}, False),
        ({"origin": "127.0.0.1:8000", "sec-fetch-site": "cross-site"}, False),
    ],
)
def test_same_origin(headers: dict[str, str], allowed: bool) -> None:
    assert SAME_ORIGIN.request_allowed(_req(headers)) is allowed


def test_an_http_page_may_not_use_an_https_server() -> None:
    assert not SAME_ORIGIN.request_allowed(_req({"origin": "http://chat.example:8000"}, True))
    assert SAME_ORIGIN.request_allowed(_req({"origin": "https://chat.example:8000"}, True))
    # behind a TLS-terminating proxy the request is plain http
    assert SAME_ORIGIN.request_allowed(_req({"origin": "https://chat.example:8000"}))
