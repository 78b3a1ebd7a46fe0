"""What a client needs of HTTP/1.1, sans-IO: where a URL goes (host, port,
TLS, the proxy the environment names), the bytes of a request, an
incremental response parser (Content-Length, chunked, or until close) and a
cookie jar that sends back what the server set (sticky load balancers).

The drivers move the bytes; nothing here touches a socket.
"""

from __future__ import annotations

import base64
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlsplit

__all__ = [
    "CookieJar",
    "HttpError",
    "Origin",
    "Response",
    "ResponseParser",
    "proxy_for",
    "request_bytes",
    "route",
    "tls_context",
]

_MAX_HEAD = 64 * 1024


class HttpError(Exception):
    """A malformed HTTP answer, or a request that could not be made."""


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a request goes: scheme ("http" or "https"), host, port."""

    tls: bool
    host: str
    port: int

    @property
    def host_header(self) -> str:
        default = 443 if self.tls else 80
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == default else f"{host}:{self.port}"

    @classmethod
    def of(cls, url: str) -> Origin:
        parts = urlsplit(url)
        tls = parts.scheme in ("https", "wss")
        if parts.scheme not in ("http", "https", "ws", "wss"):
            raise ValueError(f"unsupported URL scheme in {url!r}")
        if not parts.hostname:
            raise ValueError(f"no host in {url!r}")
        return cls(tls, parts.hostname, parts.port or (443 if tls else 80))


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP proxy: requests to plain-HTTP origins go to it in absolute
    form, everything else through a CONNECT tunnel."""

    origin: Origin
    authorization: str | None = None


def proxy_for(url: str) -> Proxy | None:
    """The proxy the environment names for ``url`` (``http_proxy``,
    ``https_proxy``, ``all_proxy``, with ``no_proxy`` honoured), or None."""
    import urllib.request  # here: it imports http.client and email, which a server never needs

    origin = Origin.of(url)
    key = "https" if origin.tls else "http"
    proxies = urllib.request.getproxies()
    target = proxies.get(key) or proxies.get("all")
    if not target:
        return None
    if urllib.request.proxy_bypass(origin.host):
        return None
    if "://" not in target:
        target = "http://" + target
    parts = urlsplit(target)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return None
    authorization = None
    if parts.username is not None:
        raw = f"{unquote(parts.username)}:{unquote(parts.password or '')}".encode()
        authorization = "Basic " + base64.b64encode(raw).decode("ascii")
    tls = parts.scheme == "https"
    return Proxy(Origin(tls, parts.hostname, parts.port or (443 if tls else 80)), authorization)


def _check(text: str) -> None:
    if any(c in text for c in "\r\n\0"):
        raise ValueError(f"invalid character in an HTTP header: {text!r}")


def request_bytes(
    method: str,
    origin: Origin,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    absolute: bool = False,
) -> bytes:
    """One request. ``target`` is the path with its query; ``absolute``
    writes the whole URL (a request to a proxy)."""
    if absolute:
        target = f"{'https' if origin.tls else 'http'}://{origin.host_header}{target}"
    lines = [f"{method} {target} HTTP/1.1", f"Host: {origin.host_header}"]
    for name, value in headers:
        _check(name)
        _check(value)
        lines.append(f"{name}: {value}")
    if body or method in ("POST", "PUT"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def closes(headers: list[tuple[str, str]]) -> bool:
    """Whether a request's headers ask the server to close the connection after it."""
    return any(k.lower() == "connection" and v.lower() == "close" for k, v in headers)


def connect_request(origin: Origin, authorization: str | None) -> bytes:
    """The CONNECT that opens a tunnel through a proxy to ``origin``."""
    hostport = f"{origin.host}:{origin.port}"
    lines = [f"CONNECT {hostport} HTTP/1.1", f"Host: {hostport}"]
    if authorization:
        lines.append(f"Proxy-Authorization: {authorization}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass(slots=True)
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    keep_alive: bool = True

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key == name]


class ResponseParser:
    """Feed it what the socket gives; ``feed`` returns the response once it
    is complete (None until then). ``head_only`` ends at the head (a CONNECT
    answer). ``eof()`` completes a body that runs until the connection
    closes."""

    def __init__(self, method: str = "GET", head_only: bool = False,
                 max_body: int = 100_000_000) -> None:
        self._buf = bytearray()
        self._method = method
        self._head_only = head_only
        self._max_body = max_body
        self._response: Response | None = None
        self._length: int | None = None  # None: chunked or until close
        self._chunked = False
        self._body = bytearray()
        self.rest = b""  # bytes after a complete response (a tunnel's first bytes)

    def feed(self, data: bytes) -> Response | None:
        self._buf += data
        if self._response is None:
            end = self._buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self._buf) > _MAX_HEAD:
                    raise HttpError("HTTP answer head too long")
                return None
            self._response = self._parse_head(bytes(self._buf[:end]))
            del self._buf[: end + 4]
            if self._head_only:
                self.rest = bytes(self._buf)
                return self._response
        response = self._response
        if self._chunked:
            return self._chunks(response)
        if self._length is not None:
            if len(self._buf) >= self._length:
                response.body = bytes(self._buf[: self._length])
                self.rest = bytes(self._buf[self._length :])
                return response
            return None
        if len(self._buf) > self._max_body:
            raise HttpError("HTTP answer body too long")
        return None

    def eof(self) -> Response:
        response = self._response
        if response is None or self._chunked or self._length is not None:
            raise HttpError("connection closed before the end of the HTTP answer")
        response.body = bytes(self._buf)
        response.keep_alive = False
        return response

    def _chunks(self, response: Response) -> Response | None:
        buf = self._buf
        while True:
            line_end = buf.find(b"\r\n")
            if line_end < 0:
                return None
            size_text = bytes(buf[:line_end]).split(b";")[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise HttpError("malformed chunk size") from None
            if size == 0:
                trailer_end = buf.find(b"\r\n\r\n", line_end)
                if trailer_end < 0:
                    if buf[line_end : line_end + 4] == b"\r\n\r\n":
                        trailer_end = line_end
                    else:
                        return None
                response.body = bytes(self._body)
                self.rest = bytes(buf[trailer_end + 4 :])
                return response
            if len(buf) < line_end + 2 + size + 2:
                return None
            self._body += buf[line_end + 2 : line_end + 2 + size]
            if len(self._body) > self._max_body:
                raise HttpError("HTTP answer body too long")
            del buf[: line_end + 2 + size + 2]

    def _parse_head(self, head: bytes) -> Response:
        lines = head.decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        # ASCII digits only: str.isdigit() also takes "²", which int() refuses
        status = parts[1] if len(parts) > 1 else ""
        if not (parts[0].startswith("HTTP/") and status.isascii() and status.isdigit()):
            raise HttpError(f"malformed HTTP status line {lines[0][:80]!r}")
        response = Response(int(status))
        for line in lines[1:]:
            name, sep, value = line.partition(":")
            if not sep:
                raise HttpError("malformed HTTP header line")
            response.headers.append((name.strip().lower(), value.strip()))
        connection = (response.header("connection") or "").lower()
        response.keep_alive = parts[0] != "HTTP/1.0" and "close" not in connection
        if (response.header("transfer-encoding") or "").lower().endswith("chunked"):
            self._chunked = True
        elif (length := response.header("content-length")) is not None:
            if not (length.isascii() and length.isdigit()):
                raise HttpError("malformed Content-Length")
            self._length = int(length)
            if self._length > self._max_body:
                raise HttpError("HTTP answer body too long")
        elif (
            response.status in (204, 304) or 100 <= response.status < 200
            or self._method == "HEAD"
        ):
            self._length = 0
        else:
            response.keep_alive = False
        return response


class CookieJar:
    """The cookies the server set, sent back on every later request to the
    same host (what a sticky load balancer needs). Expired cookies
    (``Max-Age=0``) are dropped; paths and domains are not distinguished,
    as the client only ever talks to one server."""

    def __init__(self) -> None:
        self._cookies: dict[str, str] = {}

    def take(self, set_cookie: list[str]) -> None:
        for line in set_cookie:
            first, *attrs = line.split(";")
            name, sep, value = first.partition("=")
            name = name.strip()
            if not sep or not name:
                continue
            expired = any(
                a.strip().lower().replace(" ", "") in ("max-age=0", "max-age=-1") for a in attrs
            )
            if expired:
                self._cookies.pop(name, None)
            else:
                self._cookies[name] = value.strip()

    def header(self) -> str | None:
        if not self._cookies:
            return None
        return "; ".join(f"{k}={v}" for k, v in self._cookies.items())

    def __len__(self) -> int:
        return len(self._cookies)


def tls_context(given: Any, verify: bool) -> ssl.SSLContext:
    """The TLS context of https/wss connections: the one given, else the
    system's defaults, which verify the certificate and the host name
    (``verify=False`` turns both off)."""
    if isinstance(given, ssl.SSLContext):
        return given
    context = ssl.create_default_context()
    if not verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


@dataclass(frozen=True, slots=True)
class Route:
    """How to reach a URL: the origin, the address to dial first (the
    proxy's or the origin's), the CONNECT that opens a tunnel through a
    proxy (websockets and TLS origins), and whether plain requests go to a
    proxy in absolute form (with its credentials)."""

    origin: Origin
    dial: Origin
    tunnel: bytes | None
    absolute: bool
    target: str  # path and query
    proxy_authorization: str | None = None

    @property
    def proxied(self) -> bool:
        return self.dial is not self.origin

    def request(self, method: str, headers: list[tuple[str, str]], body: bytes = b"") -> bytes:
        """The bytes of one request on this route."""
        if self.absolute and self.proxy_authorization:
            headers = [*headers, ("Proxy-Authorization", self.proxy_authorization)]
        return request_bytes(method, self.origin, self.target, headers, body, self.absolute)


def route(url: str, use_proxy: bool = True) -> Route:
    """The route of ``url``, through the proxy the environment names unless
    ``use_proxy`` is false. A TLS origin behind a TLS proxy (TLS inside
    TLS) is refused with ValueError."""
    origin = Origin.of(url)
    parts = urlsplit(url)
    target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
    proxy = proxy_for(url) if use_proxy else None
    if proxy is None:
        return Route(origin, origin, None, False, target)
    websocket = parts.scheme in ("ws", "wss")
    if origin.tls or websocket:
        if origin.tls and proxy.origin.tls:
            raise ValueError("a TLS origin through an https:// proxy is not supported: "
                             "name the proxy with http://")
        return Route(origin, proxy.origin, connect_request(origin, proxy.authorization),
                     False, target)
    return Route(origin, proxy.origin, None, True, target, proxy.authorization)
