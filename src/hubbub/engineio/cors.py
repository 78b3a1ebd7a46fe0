"""Who may talk to the server from a browser: the origin check and the CORS
answer, the one rule every protocol generation's endpoint applies."""

from __future__ import annotations

import logging

from hubbub.engineio.options import OriginSetting
from hubbub.http import HttpRequest, HttpResponse

log = logging.getLogger("hubbub.engineio")

Headers = list[tuple[str, str]]


class CorsPolicy:
    """``allowed``: None means same-origin only, ``"*"`` any origin, a
    string or a list those origins, a callable decides per origin.
    ``credentials``: whether browsers may send cookies along."""

    __slots__ = ("allowed", "credentials")

    def __init__(self, allowed: OriginSetting, credentials: bool = True) -> None:
        self.allowed = allowed
        self.credentials = credentials

    def origin_allowed(self, req: HttpRequest) -> bool:
        """Whether the request's origin may use the server (a request
        without an Origin header is not a cross-site browser request)."""
        origin = req.headers.get("origin")
        if origin is None:
            return True
        setting = self.allowed
        if setting == "*":
            return True
        if setting is None:
            host = req.headers.get("host", "")
            # compare host[:port] only: TLS is often terminated in front of us
            return origin.split("://", 1)[-1].rstrip("/") == host
        if callable(setting):
            try:
                return bool(setting(origin))
            except Exception:
                log.exception("cors_allowed_origins callable raised")
                return False
        if isinstance(setting, str):
            return origin == setting
        return origin in setting

    def headers(self, req: HttpRequest) -> Headers | None:
        """The CORS headers for this request's answer, or None if its origin
        is refused."""
        origin = req.headers.get("origin")
        if origin is None:
            return []
        if not self.origin_allowed(req):
            return None
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
