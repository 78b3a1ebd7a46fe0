"""Who may talk to the server from a browser: the origin check and the CORS
answer, the one rule every protocol generation's endpoint applies."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from hubbub.engineio.options import OriginSetting
from hubbub.http import HttpRequest, HttpResponse

log = logging.getLogger("hubbub.engineio")

Headers = list[tuple[str, str]]


_SAME_SITE_FETCHES = frozenset({"same-origin", "none"})


def _origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an absolute URL (a Referer), or None."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc}"


class CorsPolicy:
    """``allowed``: None means same-origin only, ``"*"`` any origin, a
    string or a list those origins, a callable decides per origin.
    ``credentials``: whether browsers may send cookies along (never with
    ``"*"``, as Node answers it: a literal ``*`` that no browser sends
    credentials to).

    A browser names the page's origin in the Origin header of every
    cross-origin request it lets a page make with fetch, XHR or a websocket,
    and of every POST. A ``<script>`` tag (how JSONP polling loads) sends
    none: for a request without Origin, the origin is taken from the Referer,
    and without either, a ``Sec-Fetch-Site`` of "cross-site" or "same-site"
    still marks it as another site's. A request with none of the three is
    not a browser's (or its browser says nothing) and is let through."""

    __slots__ = ("allowed", "credentials")

    def __init__(self, allowed: OriginSetting, credentials: bool = True) -> None:
        self.allowed = allowed
        self.credentials = credentials

    def request_origin(self, req: HttpRequest) -> str | None:
        """The origin of the page that made the request, as far as the
        request tells: its Origin header, else its Referer's origin."""
        headers = req.headers
        origin = headers.get("origin")
        if origin is not None and ("://" in origin or origin == "null"):
            return origin
        # An Origin that is no serialized origin is not a browser's (browsers
        # send scheme://host[:port] or "null"; socket.io-client 0.9's websocket
        # under Node sends host:port): the Referer may still tell
        referer = headers.get("referer")
        return _origin_of(referer) if referer else None

    def request_allowed(self, req: HttpRequest) -> bool:
        """Whether a request may use the server (see the class doc)."""
        if self.allowed == "*":
            return True
        origin = self.request_origin(req)
        if origin is not None:
            return self.origin_allowed(req, origin)
        fetch_site = req.headers.get("sec-fetch-site")
        return fetch_site is None or fetch_site in _SAME_SITE_FETCHES

    def origin_allowed(self, req: HttpRequest, origin: str) -> bool:
        """Whether a page of ``origin`` may use the server."""
        setting = self.allowed
        if setting == "*":
            return True
        if setting is None:
            return self._same_origin(req, origin)
        if callable(setting):
            try:
                return bool(setting(origin))
            except Exception:
                log.exception("cors_allowed_origins callable raised")
                return False
        if isinstance(setting, str):
            return origin == setting
        return origin in setting

    @staticmethod
    def _same_origin(req: HttpRequest, origin: str) -> bool:
        scheme, sep, host = origin.partition("://")
        if not sep or host.rstrip("/") != req.headers.get("host", ""):
            return False
        # The scheme may not be weaker than the request's: an http page (which
        # anyone on the path can alter) may not use an https server. An https
        # page may use a plain-http request, which is how a server behind a
        # TLS-terminating proxy sees its https clients.
        secure = req.secure or req.headers.get("x-forwarded-proto", "").lower() == "https"
        return scheme == "https" or (scheme == "http" and not secure)

    def headers(self, req: HttpRequest) -> Headers | None:
        """The CORS headers for this request's answer, or None if the request
        is refused (see :meth:`request_allowed`)."""
        if not self.request_allowed(req):
            return None
        origin = req.headers.get("origin")
        if origin is None:
            return []
        if self.allowed == "*":
            return [("Access-Control-Allow-Origin", "*")]
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def preflight(self, req: HttpRequest, cors: Headers) -> HttpResponse:
        """The answer to an OPTIONS request whose origin is allowed."""
        headers = [*cors, ("Access-Control-Allow-Methods", "GET, POST, OPTIONS")]
        requested = req.headers.get("access-control-request-headers")
        if requested:
            headers.append(("Access-Control-Allow-Headers", requested))
        headers.append(("Access-Control-Max-Age", "86400"))
        return HttpResponse(204, headers, b"")
