"""The HTTP limits of hubbub's own servers (the embedded server and the
gevent pywsgi server): what protects them from clients that misbehave.
Generous by default; docs/security.md says what each protects. Named as
Node's ``http.Server`` names its own (``headersTimeout``,
``keepAliveTimeout``, ``maxHeadersCount``, ``maxHeaderSize``), in Python's
spelling."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ServerLimits:
    """Limits that protect the server from clients that misbehave."""

    max_header_size: int = 16 * 1024  # request line plus all headers
    max_headers_count: int = 100
    headers_timeout: float = 10.0  # a client must finish its headers within this
    body_timeout: float = 60.0  # and, once its headers are in, its body within this
    keep_alive_timeout: float = 60.0  # idle time between requests on a connection
    max_body_size: int = 16 * 1024 * 1024  # for requests handed to the ASGI app
    websocket_close_timeout: float = 5.0
