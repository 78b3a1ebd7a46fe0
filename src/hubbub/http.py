"""Sans-IO HTTP request and response values shared by every runtime.

A runtime (embedded server, ASGI, WSGI) turns what it received into an
:class:`HttpRequest` and writes back the :class:`HttpResponse` the core gives
it. Nothing here touches a socket.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

Headers = list[tuple[str, str]]


@dataclass(slots=True)
class HttpRequest:
    """One HTTP request as the core sees it.

    ``headers`` has lower-cased names; a repeated header is joined with ", ".
    ``body_too_large`` is set by the runtime when it stopped reading a body
    that went past the limit it was given, so the core can answer 413.
    """

    method: str
    path: str
    query_string: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    remote_addr: str | None = None
    secure: bool = False
    body_too_large: bool = False
    # the runtime's own form of the request (the WSGI environ under WSGIApp)
    native: Any = None
    _query: dict[str, str] | None = None

    @property
    def query(self) -> dict[str, str]:
        """The query parameters, first value wins (as Node's querystring does)."""
        if self._query is None:
            q: dict[str, str] = {}
            qs = self.query_string
            if "%" in qs or "+" in qs:
                for k, v in parse_qsl(qs, keep_blank_values=True):
                    q.setdefault(k, v)
            else:
                # nothing to unquote (every Engine.IO client's own query):
                # what parse_qsl gives, without its per-pair work
                for pair in qs.split("&"):
                    if pair:
                        k, _, v = pair.partition("=")
                        q.setdefault(k, v)
            self._query = q
        return self._query

    def release(self) -> None:
        """Let go of the parsed query once the request is handled. A
        websocket's upgrade request is kept as long as its connection
        (Connection.request) yet its query is rarely read again: no need to keep
        a dict of it for every idle connection. ``query`` parses it anew if
        asked."""
        self._query = None

    @property
    def url(self) -> str:
        """The path and query string, as the client sent them."""
        return self.path + ("?" + self.query_string if self.query_string else "")

    @property
    def is_websocket_upgrade(self) -> bool:
        """Whether the request asks for a websocket (``Upgrade: websocket``)."""
        upgrade = self.headers.get("upgrade", "")
        return "websocket" in upgrade.lower()


def native_environ(req: HttpRequest) -> dict[str, Any] | None:
    """The WSGI environ of a request served under WSGIApp, else None. A
    runtime may give, in place of the dict, an object that builds it
    (``build_environ(req)``): it is built on first use and kept."""
    native = req.native
    if isinstance(native, dict):
        return native
    build = getattr(native, "build_environ", None)
    if build is None:
        return None
    environ: dict[str, Any] = build(req)
    req.native = environ
    return environ


@dataclass(slots=True)
class HttpResponse:
    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""


REASONS: dict[int, str] = {
    101: "Switching Protocols",
    200: "OK",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    411: "Length Required",
    413: "Payload Too Large",
    426: "Upgrade Required",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


# The strings every request repeats (header names, and the values of the
# headers below) are decoded once and shared by all the requests that carry
# them: a websocket's upgrade request lives as long as its connection
# (Connection.request), so a private copy each would cost every idle
# connection. Bounded, so a client inventing names cannot grow them.
_SHARED_MAX = 512
_NAMES: dict[bytes, str] = {}  # header names, lower-cased
_VALUES: dict[bytes, str] = {}
# headers whose values repeat from one client to the next (the same browser,
# the same site); not the per-client ones (keys, cookies, ids)
_REPEATING = frozenset(
    {
        "host",
        "upgrade",
        "connection",
        "sec-websocket-version",
        "sec-websocket-extensions",
        "user-agent",
        "origin",
        "accept",
        "accept-encoding",
        "accept-language",
        "cache-control",
        "pragma",
    }
)


def shared_str(cache: dict[bytes, str], raw: bytes, lower: bool = False) -> str:
    """``raw`` decoded (latin-1), the same str object for the same bytes
    while the bounded ``cache`` has room."""
    text = cache.get(raw)
    if text is None:
        text = raw.decode("latin-1")
        if lower:
            text = text.lower()
        if len(cache) < _SHARED_MAX:
            cache[raw] = text
    return text


# Client addresses repeat too: every connection through one proxy, load
# balancer or NAT comes from the same one, and a connection keeps its own.
_ADDRESSES: dict[str, str] = {}


def shared_address(address: str) -> str:
    """``address``, the same str object for an address seen before while
    the bounded cache has room."""
    shared = _ADDRESSES.get(address)
    if shared is None:
        shared = address
        if len(_ADDRESSES) < _SHARED_MAX:
            _ADDRESSES[address] = address
    return shared


def join_headers(raw: Iterable[tuple[bytes | str, bytes | str]]) -> dict[str, str]:
    """Lower-case header names and join repeats, as RFC 9110 allows for lists.
    Names, and the values of headers that repeat across clients, are shared."""
    out: dict[str, str] = {}
    names = _NAMES
    values = _VALUES
    for name, value in raw:
        if isinstance(name, bytes):
            k = names.get(name) or shared_str(names, name, lower=True)
        else:
            k = name.lower()
        if isinstance(value, str):
            v = value
        elif k in _REPEATING:
            v = values.get(value) or shared_str(values, value)
        else:
            v = value.decode("latin-1")
        if k in out:
            out[k] = out[k] + ", " + v
        else:
            out[k] = v
    return out


def serialize_head(
    status: int, headers: Iterable[tuple[str, str]], body_length: int | None
) -> bytes:
    """The status line and headers of an HTTP/1.1 response, Content-Length
    included unless ``body_length`` is None (a chunked response)."""
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    for k, v in headers:
        lines.append(f"{k}: {v}")
    if body_length is not None:
        lines.append(f"Content-Length: {body_length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
