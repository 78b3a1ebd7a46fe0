"""The server side of the RFC 6455 opening handshake, sans-IO: check an
upgrade request, build the ``101 Switching Protocols`` answer."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Mapping, Sequence

from hubbub.websocket.frames import WebSocketError

__all__ = ["accept_key", "check_upgrade_request", "handshake_response"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_key(key: str) -> str:
    """The ``Sec-WebSocket-Accept`` value for a ``Sec-WebSocket-Key``."""
    digest = hashlib.sha1(key.encode("ascii") + _GUID).digest()
    return base64.b64encode(digest).decode("ascii")


def _tokens(value: str) -> list[str]:
    return [token.strip().lower() for token in value.split(",")]


def check_upgrade_request(method: str, headers: Mapping[str, str]) -> str:
    """Validate a client's opening handshake and return its ``Sec-WebSocket-Key``.

    ``headers`` maps lower-cased names to values (repeated headers joined with ``", "``).
    Raises :class:`WebSocketError` with ``http_status`` 400, or 426 for a missing or
    unsupported ``Sec-WebSocket-Version`` (the response should then carry
    ``Sec-WebSocket-Version: 13``).
    """
    if method.upper() != "GET":
        raise WebSocketError(f"websocket handshake must use GET, not {method!r}")
    if "websocket" not in _tokens(headers.get("upgrade", "")):
        raise WebSocketError("missing or invalid Upgrade: websocket header")
    if "upgrade" not in _tokens(headers.get("connection", "")):
        raise WebSocketError("missing or invalid Connection: upgrade header")
    version = headers.get("sec-websocket-version")
    if version is None or version.strip() != "13":
        raise WebSocketError(f"unsupported Sec-WebSocket-Version {version!r}", http_status=426)
    key = headers.get("sec-websocket-key")
    if key is None:
        raise WebSocketError("missing Sec-WebSocket-Key header")
    key = key.strip()
    try:
        raw = base64.b64decode(key.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError):
        raise WebSocketError("invalid Sec-WebSocket-Key header") from None
    if len(raw) != 16:
        raise WebSocketError("invalid Sec-WebSocket-Key header")
    return key


def _check_header_text(text: str) -> None:
    if "\r" in text or "\n" in text or "\0" in text:
        raise ValueError(f"invalid character in HTTP header: {text!r}")


def handshake_response(
    key: str,
    extra_headers: Sequence[tuple[str, str]] = (),
    extension_header: str | None = None,
) -> bytes:
    """The complete ``101 Switching Protocols`` response, ending with the blank line."""
    lines = [
        "HTTP/1.1 101 Switching Protocols",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Accept: {accept_key(key)}",
    ]
    if extension_header is not None:
        _check_header_text(extension_header)
        lines.append(f"Sec-WebSocket-Extensions: {extension_header}")
    for name, value in extra_headers:
        _check_header_text(name)
        _check_header_text(value)
        if not name or ":" in name:
            raise ValueError(f"invalid HTTP header name: {name!r}")
        lines.append(f"{name}: {value}")
    lines.append("")
    lines.append("")
    return "\r\n".join(lines).encode("latin-1")

