"""Files a server serves under its path: the browser clients and scripts
its pages load (``/<resource>/socket.io.js`` for Socket.IO 0.6 pages,
hubbub's channel extension), so that no page needs a CDN.

:class:`ClientFiles` is one more generation of the server's router: it
claims a GET whose path names one of its files. A file is read once, when
first asked for; the answer carries an ETag and a conditional GET with it
gets 304.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from hubbub.http import HttpRequest, HttpResponse
from hubbub.runtime.contract import Answer

log = logging.getLogger("hubbub.static")

JS_TYPE = "text/javascript; charset=UTF-8"
#: hubbub's channel extension for pages (``socket.subscribe(channel)``),
#: served as ``<resource>/channels.js``
CHANNELS_JS = Path(__file__).with_name("js") / "channels.js"


@dataclass
class _File:
    source: Path | bytes | None  # None: known, but nothing to serve (``missing`` says why)
    content_type: str
    missing: str = ""
    body: bytes | None = None
    etag: str = ""


class ClientFiles:
    """The files served at ``<resource>/<name>``."""

    def __init__(self, resource: str) -> None:
        self._prefix = resource.rstrip("/") + "/"
        self._files: dict[str, _File] = {}

    def add(self, name: str, source: Path | bytes, content_type: str = JS_TYPE) -> None:
        """Serve ``source`` (a file, read when first asked for, or its bytes)
        at ``<resource>/<name>``."""
        self._files[name] = _File(source, content_type)

    def add_missing(self, name: str, why: str) -> None:
        """``name`` is a file pages ask for that there is none of: its
        requests get 404 and the log says ``why``."""
        if name not in self._files or self._files[name].source is None:
            self._files[name] = _File(None, JS_TYPE, why)

    def __contains__(self, name: str) -> bool:
        entry = self._files.get(name)
        return entry is not None and entry.source is not None

    def claims(self, req: HttpRequest) -> bool:
        path = req.path
        return (
            req.method == "GET"
            and path.startswith(self._prefix)
            and path[len(self._prefix) :] in self._files
            and "EIO=" not in req.query_string
        )

    def session_owner(self, req: HttpRequest) -> int | None:
        return None

    def streams(self, req: HttpRequest) -> bool:
        return False

    def handle_request(self, req: HttpRequest, now: float) -> Answer:
        entry = self._files[req.path[len(self._prefix) :]]
        if entry.body is None:
            if entry.source is None:
                log.warning("%s: nothing to serve: %s", req.path, entry.missing)
                return HttpResponse(404, [("Content-Type", "text/plain")], b"Not Found")
            try:
                body = (
                    entry.source if isinstance(entry.source, bytes) else entry.source.read_bytes()
                )
            except OSError as exc:
                log.warning("%s: cannot read %s (%s)", req.path, entry.source, exc)
                return HttpResponse(404, [("Content-Type", "text/plain")], b"Not Found")
            entry.body = body
            entry.etag = '"' + hashlib.sha1(body, usedforsecurity=False).hexdigest()[:16] + '"'
        headers = [("Content-Type", entry.content_type), ("ETag", entry.etag),
                   ("Cache-Control", "no-cache")]
        if req.headers.get("if-none-match") == entry.etag:
            return HttpResponse(304, headers[1:], b"")
        return HttpResponse(200, headers, entry.body)

    def close_all(self, reason: str) -> None:
        pass
