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
            for k, v in parse_qsl(self.query_string, keep_blank_values=True):
                q.setdefault(k, v)
            self._query = q
        return self._query

    @property
    def url(self) -> str:
        return self.path + ("?" + self.query_string if self.query_string else "")

    @property
    def is_websocket_upgrade(self) -> bool:
        upgrade = self.headers.get("upgrade", "")
        return "websocket" in upgrade.lower()


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


def join_headers(raw: Iterable[tuple[bytes | str, bytes | str]]) -> dict[str, str]:
    """Lower-case header names and join repeats, as RFC 9110 allows for lists."""
    out: dict[str, str] = {}
    for name, value in raw:
        k = (name.decode("latin-1") if isinstance(name, bytes) else name).lower()
        v = value.decode("latin-1") if isinstance(value, bytes) else value
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
