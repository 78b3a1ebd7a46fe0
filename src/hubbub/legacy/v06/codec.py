"""Socket.IO 0.6 messages and their framing, sans-IO.

The 2011 protocol of ``new io.Socket()`` (socket.io 0.6.x) has no packet
types, ids or namespaces: a payload is one or more frames ::

    ~m~<n>~m~<body>

where ``<n>`` counts the body in UTF-16 code units (JavaScript's
``String.length``: a character outside the BMP counts twice). Bodies are not
escaped; the length alone delimits them. A body is

* ``~j~<JSON>``: a JSON message;
* ``~h~<n>``: a heartbeat (server to client) or its echo (client to server);
* anything else: a plain string message (possibly empty).

The first body a new session sends is its session id, which is how the
client learns it.

Decoding follows the client's and socket.io 0.6.18's decoder: frames are
read while the data starts with ``~m~``; what follows a malformed or
truncated frame is left over (reported, never raised).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from hubbub import jsonmod
from hubbub.legacy.v09.codec import utf16_len

__all__ = [
    "MARK",
    "Body",
    "Decoded",
    "V06DecodeError",
    "decode_body",
    "decode_payload",
    "encode_message",
    "frame",
    "heartbeat",
]

MARK = "~m~"
JSON_MARK = "~j~"
HEARTBEAT_MARK = "~h~"
# a frame length longer than this many digits is garbage, not a length
_MAX_DIGITS = 9
_DIGITS = frozenset("0123456789")

JsonLoads = Callable[[str], Any]
JsonDumps = Callable[[Any], str]


class V06DecodeError(ValueError):
    """A body that cannot be understood (invalid JSON after ``~j~``)."""


def frame(body: str) -> str:
    """One frame: ``~m~<UTF-16 length>~m~<body>``."""
    return f"{MARK}{utf16_len(body)}{MARK}{body}"


def encode_message(value: Any, dumps: JsonDumps = jsonmod.dumps) -> str:
    """The body of one server message: a str as it is, any other value as
    ``~j~`` + JSON (as gevent-socketio sent them, so a Python app's lists,
    numbers and None reach the page as values, not as strings)."""
    if isinstance(value, str):
        return value
    return JSON_MARK + dumps(value)


def heartbeat(number: int) -> str:
    return f"{HEARTBEAT_MARK}{number}"


class Decoded(NamedTuple):
    bodies: list[str]
    #: what could not be read as frames ("" for a clean payload)
    rest: str


def decode_payload(text: str) -> Decoded:
    """The bodies of a payload, and what is left after the last good frame."""
    bodies: list[str] = []
    if text.isascii():
        i, total = 0, len(text)
        while i < total:
            body, i = _frame_at(text, i, total, lambda start, end: text[start:end])
            if body is None:
                return Decoded(bodies, text[i:])
            bodies.append(body)
        return Decoded(bodies, "")
    # characters outside the BMP: lengths and slices in UTF-16 code units
    units = text.encode("utf-16-le", "surrogatepass")
    total = len(units) // 2
    view = _Units(units)
    i = 0
    while i < total:
        body, i = _frame_at(view, i, total, view.piece)
        if body is None:
            return Decoded(bodies, view.piece(i, total) or "")
        bodies.append(body)
    return Decoded(bodies, "")


class _Units:
    """A UTF-16 string indexed by code unit."""

    __slots__ = ("units",)

    def __init__(self, units: bytes) -> None:
        self.units = units

    def __getitem__(self, key: slice) -> str:
        return self.units[key.start * 2 : key.stop * 2].decode("utf-16-le", "surrogatepass")

    def piece(self, start: int, end: int) -> str | None:
        """Units ``start:end`` as text; None if a character is cut in two."""
        try:
            return self.units[start * 2 : end * 2].decode("utf-16-le")
        except UnicodeDecodeError:
            return None


def _frame_at(
    text: Any, i: int, total: int, piece: Callable[[int, int], str | None]
) -> tuple[str | None, int]:
    """The body of the frame at ``i`` and where the next one starts, or
    (None, i) when no whole frame starts there."""
    if text[i : i + 3] != MARK:
        return None, i
    j = i + 3
    start_digits = j
    while j < total and j - start_digits <= _MAX_DIGITS and text[j : j + 1] in _DIGITS:
        j += 1
    digits = text[start_digits:j]
    if not digits or len(digits) > _MAX_DIGITS or text[j : j + 3] != MARK:
        return None, i
    start = j + 3
    end = start + int(digits)
    if end > total:
        return None, i  # truncated: the body is not all there
    body = piece(start, end)
    if body is None:
        return None, i
    return body, end


@dataclass(slots=True)
class Body:
    """One decoded body: ``kind`` is "text", "json" or "heartbeat"."""

    kind: str
    value: Any


def decode_body(body: str, loads: JsonLoads = jsonmod.loads) -> Body:
    """What one body means. Raises V06DecodeError for invalid JSON."""
    head = body[:3]
    if head == HEARTBEAT_MARK:
        return Body("heartbeat", body[3:])
    if head == JSON_MARK:
        try:
            return Body("json", loads(body[3:]))
        except (ValueError, TypeError) as exc:
            raise V06DecodeError(f"invalid JSON ({exc})") from None
    return Body("text", body)
