"""The options of the Socket.IO 0.6 endpoint.

The timers default to socket.io 0.6.18's: the 0.6 client declares a
streaming transport dead after 15 s without data and a polling one after
25 s, so heartbeats must come more often than that and a held poll must be
answered sooner.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

#: The transports of socket.io 0.6.18, in its client's default order (minus
#: flashsocket, which needs Flash: offered only when listed).
DEFAULT_TRANSPORTS = ("websocket", "htmlfile", "xhr-multipart", "xhr-polling", "jsonp-polling")
KNOWN_TRANSPORTS = frozenset({*DEFAULT_TRANSPORTS, "flashsocket"})
WEBSOCKETS = frozenset({"websocket", "flashsocket"})
STREAMS = frozenset({"htmlfile", "xhr-multipart"})
POLLING = frozenset({"xhr-polling", "jsonp-polling"})

#: Where the npm package socket.io 0.6.x keeps the browser client.
CLIENT_IN_PACKAGE = Path("support", "socket.io-client", "socket.io.js")
#: The environment variable naming the client file to serve.
CLIENT_ENV = "HUBBUB_V06_CLIENT"


@dataclass
class V06Options:
    """``resource`` is the path prefix without a trailing slash ("/socket.io").

    ``client_js``: the 0.6 browser client (socket.io 0.6.x's
    ``support/socket.io-client/socket.io.js``) served at
    ``/<resource>/socket.io.js``; by default the file named by
    $HUBBUB_V06_CLIENT, else the one of an npm package ``socket.io`` 0.6.x
    installed in ``node_modules`` of the working directory or a parent.
    """

    resource: str = "/socket.io"
    transports: Sequence[str] = DEFAULT_TRANSPORTS
    heartbeat_interval: float = 10.0
    heartbeat_timeout: float = 8.0
    close_timeout: float = 8.0
    polling_duration: float = 20.0
    client_js: str | Path | None = None
    # whether the server offers websockets and polling at all (its Engine.IO
    # ``transports``): 0.6's transports of each kind are offered only then
    websocket: bool = True
    polling: bool = True

    def __post_init__(self) -> None:
        for t in self.transports:
            if t not in KNOWN_TRANSPORTS:
                raise ValueError(
                    f"unknown Socket.IO 0.6 transport {t!r}: use "
                    f"{', '.join(sorted(KNOWN_TRANSPORTS))}"
                )
        for name in ("heartbeat_interval", "heartbeat_timeout", "close_timeout",
                     "polling_duration"):
            if getattr(self, name) <= 0:
                raise ValueError(f"the 0.6 option {name} must be positive")

    def offers(self, transport: str) -> bool:
        """Whether a client may use ``transport``."""
        if transport not in self.transports:
            return False
        return self.websocket if transport in WEBSOCKETS else self.polling

    def find_client(self) -> Path | None:
        """The 0.6 client file to serve, if there is one."""
        if self.client_js is not None:
            path = Path(self.client_js)
            return path if path.is_file() else None
        named = os.environ.get(CLIENT_ENV)
        if named:
            path = Path(named)
            return path if path.is_file() else None
        here = Path.cwd()
        for folder in (here, *here.parents):
            candidate = folder / "node_modules" / "socket.io" / CLIENT_IN_PACKAGE
            if candidate.is_file():
                return candidate
        return None
