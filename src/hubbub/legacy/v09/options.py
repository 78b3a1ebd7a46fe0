"""The options of the Socket.IO 0.9 endpoint, as socket.io 0.9.17 names them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hubbub.engineio.options import AllowRequest

#: The transports a 0.9 client may use, in socket.io 0.9.17's default order.
#: "flashsocket" (websocket framing, for Flash clients) is offered only when
#: listed; "xhr-multipart" is not served: no released client speaks it.
DEFAULT_TRANSPORTS = ("websocket", "htmlfile", "xhr-polling", "jsonp-polling")
KNOWN_TRANSPORTS = frozenset({*DEFAULT_TRANSPORTS, "flashsocket"})
PROTOCOL = "1"
#: The most 0.9 sessions handshaken and not yet connected at once (the
#: ``max_handshaken`` of hubbub.Server): each waits close_timeout for its client.
DEFAULT_MAX_HANDSHAKEN = 10_000


@dataclass
class LegacyOptions:
    resource: str  # "/socket.io", no trailing slash
    transports: Sequence[str]
    heartbeat_interval: float
    heartbeat_timeout: float
    close_timeout: float
    polling_duration: float
    allow_request: AllowRequest | None = None
    # whether the server offers websockets and polling at all (its Engine.IO
    # ``transports``): 0.9's transports of each kind are offered only then
    websocket: bool = True
    polling: bool = True
    # at most this many sessions handshaken and never connected at once
    # (each waits close_timeout for its client)
    max_handshaken: int = DEFAULT_MAX_HANDSHAKEN

    def __post_init__(self) -> None:
        for t in self.transports:
            if t not in KNOWN_TRANSPORTS:
                raise ValueError(
                    f"unknown Socket.IO 0.9 transport {t!r}: use "
                    f"{', '.join(sorted(KNOWN_TRANSPORTS))}"
                )
