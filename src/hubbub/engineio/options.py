"""Engine.IO's options, named as Node's engine.io names them, in snake_case."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hubbub.http import HttpRequest

OriginSetting = None | str | Sequence[str] | Callable[[str], bool]
AllowRequest = Callable[[HttpRequest], bool | str | None]


@dataclass
class EngineOptions:
    """Engine.IO options, named as Node's engine.io names them, in snake_case.

    Times are in seconds. ``eio_versions`` narrows the protocol generations
    accepted (both by default). ``cors_allowed_origins``: None means
    same-origin only, ``"*"`` any origin, a list those origins, a callable
    decides per origin. ``allow_request(request)`` returns True to accept a
    new session, or False / a message string to refuse it with 403.
    ``cookie``: True for ``io``, a name, or a dict of cookie attributes.
    ``max_sessions_per_address`` caps the live sessions of one client
    address (behind a proxy, every client has the proxy's address).
    """

    path: str = "/engine.io/"
    ping_interval: float = 25.0
    ping_timeout: float = 20.0
    upgrade_timeout: float = 10.0
    max_http_buffer_size: int = 1_000_000
    transports: Sequence[str] = ("polling", "websocket")
    allow_upgrades: bool = True
    cors_allowed_origins: OriginSetting = None
    cors_credentials: bool = True
    cookie: bool | str | dict[str, Any] | None = None
    allow_request: AllowRequest | None = None
    eio_versions: Sequence[int] = (3, 4)
    websocket_compression: bool = False
    # production limits (None: none): live sessions per client address
    max_sessions_per_address: int | None = None

    def __post_init__(self) -> None:
        if not self.path.startswith("/"):
            self.path = "/" + self.path
        if not self.path.endswith("/"):
            self.path += "/"
        for t in self.transports:
            if t not in ("polling", "websocket"):
                raise ValueError(f"unknown transport {t!r}: use 'polling' and/or 'websocket'")
        for v in self.eio_versions:
            if v not in (3, 4):
                raise ValueError(f"unsupported Engine.IO version {v!r}: use 3 and/or 4")
