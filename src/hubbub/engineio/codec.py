"""Engine.IO packet and payload codec, protocol revisions 3 and 4 (sans-IO).

Single packets (one per WebSocket frame):

* text: ``<type digit><data>``, e.g. ``"2probe"``;
* binary: v4 sends the raw bytes (always a MESSAGE), v3 prefixes the raw type
  number as one byte;
* base64 (clients with ``forceBase64``): a text frame ``"b" + base64`` (v4) or
  ``"b" + <type digit> + base64`` (v3), decoded as in polling payloads.

Polling payloads:

* v4: packets joined with ``"\\x1e"``; binary packets are ``"b" + base64``.
* v3 text: ``<length>:<packet>`` per packet, the length counted in UTF-16 code
  units (what JavaScript's ``String.length`` counts); binary packets are
  ``"b" + <type digit> + base64``.
* v3 binary (XHR2): per packet ``0x00`` (string) or ``0x01`` (binary), the
  decimal digits of the byte length, each as a byte 0-9, ``0xFF``, then the
  UTF-8 string packet or the type byte followed by the raw data.

JSONP (v3 polling with the ``j`` query parameter) wraps responses in
``___eio[<j>]("...");`` and receives form-encoded ``d=<payload>`` bodies.

Every decoder is strict and raises only :class:`EngineIODecodeError`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

__all__ = [
    "EngineIODecodeError",
    "Packet",
    "PacketType",
    "decode_packet",
    "decode_payload_v3",
    "decode_payload_v4",
    "encode_packet",
    "encode_payload_v3",
    "encode_payload_v4",
    "jsonp_unwrap_form",
    "jsonp_wrap",
    "utf16_len",
]


class EngineIODecodeError(ValueError):
    """The one error type of this codec."""


class PacketType(enum.IntEnum):
    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


@dataclass(slots=True)
class Packet:
    type: PacketType
    data: str | bytes = ""  # bytes only for binary MESSAGE packets


# --------------------------------------------------------------------------- tables

_TYPE_CHARS = "0123456"  # _TYPE_CHARS[packet_type] -> its digit
_TYPES: tuple[PacketType, ...] = tuple(PacketType)  # _TYPES[n] for 0 <= n <= 6
_CHAR_TO_TYPE: dict[str, PacketType] = {str(int(t)): t for t in PacketType}
_MESSAGE = PacketType.MESSAGE
_SEPARATOR = "\x1e"
_MAX_LEN_DIGITS = 20  # a v3 length prefix longer than this is rejected unread

_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
# In valid UTF-8, bytes F0-F4 only ever lead the 4-byte (astral) sequences.
_UTF8_ASTRAL_LEAD = re.compile(b"[\xf0-\xf4]")
_RAW_DIGITS = bytes(range(10))
_RAW_TO_ASCII = bytes.maketrans(_RAW_DIGITS, b"0123456789")
_ASCII_TO_RAW = bytes.maketrans(b"0123456789", _RAW_DIGITS)

_JSONP_NON_DIGITS = re.compile(r"[^0-9]")
# Characters that are fine in JSON but not in a JS string literal inside a
# <script> (U+2028/2029), not safe in HTML script data ("<" covers "</script"
# and "<!--"), or not encodable as UTF-8 (lone surrogates).
_JSONP_UNSAFE = re.compile(r"[<\u2028\u2029\ud800-\udfff]")  # re expands the escapes
_JSONP_NEWLINE = re.compile(r"(\\)?\\n")


def _error(message: str) -> EngineIODecodeError:
    return EngineIODecodeError(message)


def _check_version(version: int) -> None:
    if version != 4 and version != 3:
        raise ValueError(f"unsupported Engine.IO protocol version: {version!r}")


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except ValueError as exc:  # binascii.Error, or non-ASCII input
        raise _error("invalid base64 data") from exc


def _b64encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def utf16_len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units (JavaScript's ``String.length``)."""
    if s.isascii():
        return len(s)
    return len(s) + len(_ASTRAL.findall(s))


# --------------------------------------------------------------------------- packets


def decode_packet(data: str | bytes, version: int) -> Packet:
    """Decode one packet as received in one WebSocket frame."""
    _check_version(version)
    if isinstance(data, str):
        if data[:1] == "b":
            # a client with forceBase64 sends binary as base64 text frames:
            # v4 "b" + base64, v3 "b" + type digit + base64 (as in payloads)
            if version == 4:
                return Packet(_MESSAGE, _b64decode(data[1:]))
            return _decode_v3_text_packet(data)
        ptype = _CHAR_TO_TYPE.get(data[:1])
        if ptype is None:
            raise _error("invalid packet type")
        return Packet(ptype, data[1:])
    if version == 4:
        return Packet(_MESSAGE, bytes(data))
    if not data:
        raise _error("empty binary packet")
    raw_type = data[0]
    if raw_type > 6:
        raise _error("invalid binary packet type")
    return Packet(_TYPES[raw_type], bytes(data[1:]))


def encode_packet(packet: Packet, version: int) -> str | bytes:
    """Encode one packet for one WebSocket frame."""
    _check_version(version)
    data = packet.data
    if isinstance(data, str):
        return _TYPE_CHARS[packet.type] + data
    if version == 4:
        if packet.type != _MESSAGE:
            raise ValueError("only MESSAGE packets can carry binary data in Engine.IO v4")
        return bytes(data)
    return bytes((packet.type,)) + data


# --------------------------------------------------------------------------- v4 payloads


def encode_payload_v4(packets: Sequence[Packet]) -> str:
    """Encode packets as a v4 polling payload (``\\x1e``-separated)."""
    parts: list[str] = []
    append = parts.append
    for packet in packets:
        data = packet.data
        if isinstance(data, str):
            append(_TYPE_CHARS[packet.type] + data)
        else:
            if packet.type != _MESSAGE:
                raise ValueError("only MESSAGE packets can carry binary data in Engine.IO v4")
            append("b" + _b64encode(data))
    return _SEPARATOR.join(parts)


def decode_payload_v4(body: str) -> list[Packet]:
    """Decode a v4 polling payload."""
    if not body:
        raise _error("empty payload")
    packets: list[Packet] = []
    append = packets.append
    for part in body.split(_SEPARATOR):
        first = part[:1]
        if first == "b":
            append(Packet(_MESSAGE, _b64decode(part[1:])))
            continue
        ptype = _CHAR_TO_TYPE.get(first)
        if ptype is None:
            raise _error("invalid packet type in payload")
        append(Packet(ptype, part[1:]))
    return packets


# --------------------------------------------------------------------------- v3 payloads


def encode_payload_v3(packets: Sequence[Packet], supports_binary: bool) -> str | bytes:
    """Encode packets as a v3 polling payload.

    With ``supports_binary`` and at least one binary packet the result is the
    XHR2 binary payload (bytes); otherwise the text payload (str), in which
    binary packets are base64-encoded. No packets at all encode as ``"0:"``,
    like the reference implementation.
    """
    if supports_binary:
        for packet in packets:
            if not isinstance(packet.data, str):
                return _encode_payload_v3_binary(packets)
    if not packets:
        return "0:"
    parts: list[str] = []
    append = parts.append
    for packet in packets:
        data = packet.data
        if isinstance(data, str):
            encoded = _TYPE_CHARS[packet.type] + data
        else:
            encoded = "b" + _TYPE_CHARS[packet.type] + _b64encode(data)
        append(f"{utf16_len(encoded)}:{encoded}")
    return "".join(parts)


def _encode_payload_v3_binary(packets: Sequence[Packet]) -> bytes:
    out = bytearray()
    for packet in packets:
        data = packet.data
        if isinstance(data, str):
            # surrogatepass mirrors utf8.js (strict: false) on the JS side.
            encoded = (_TYPE_CHARS[packet.type] + data).encode("utf-8", "surrogatepass")
            out.append(0)
            out += str(len(encoded)).encode("ascii").translate(_ASCII_TO_RAW)
            out.append(0xFF)
            out += encoded
        else:
            out.append(1)
            out += str(len(data) + 1).encode("ascii").translate(_ASCII_TO_RAW)
            out.append(0xFF)
            out.append(packet.type)
            out += data
    return bytes(out)


def decode_payload_v3(body: bytes) -> list[Packet]:
    """Decode a v3 polling payload (binary if it starts with 0x00/0x01, else text)."""
    if not body:
        raise _error("empty payload")
    if body[0] <= 1:
        return _decode_payload_v3_binary(body)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error("payload is not valid UTF-8") from exc
    if len(text) != len(body) and _UTF8_ASTRAL_LEAD.search(body) is not None:
        # Astral characters are 2 UTF-16 code units but 1 Python character.
        return _decode_payload_v3_utf16(text.encode("utf-16-le"))
    return _decode_payload_v3_text(text)


def _decode_v3_text_packet(msg: str) -> Packet:
    first = msg[:1]
    if first == "b":
        ptype = _CHAR_TO_TYPE.get(msg[1:2])
        if ptype is None:
            raise _error("invalid base64 packet type in payload")
        return Packet(ptype, _b64decode(msg[2:]))
    ptype = _CHAR_TO_TYPE.get(first)
    if ptype is None:
        raise _error("invalid packet type in payload")
    return Packet(ptype, msg[1:])


def _decode_payload_v3_text(text: str) -> list[Packet]:
    """Text payload in which every character is one UTF-16 code unit."""
    packets: list[Packet] = []
    size = len(text)
    pos = 0
    while pos < size:
        colon = text.find(":", pos, pos + _MAX_LEN_DIGITS + 1)
        if colon <= pos:  # not found (-1), or an empty length
            raise _error("invalid length prefix in payload")
        digits = text[pos:colon]
        if not (digits.isascii() and digits.isdigit()):
            raise _error("invalid length prefix in payload")
        start = colon + 1
        end = start + int(digits)
        if end > size:
            raise _error("truncated packet in payload")
        if end > start:  # "0:" is an empty, ignored packet (as in the reference)
            packets.append(_decode_v3_text_packet(text[start:end]))
        pos = end
    return packets


def _decode_payload_v3_utf16(units: bytes) -> list[Packet]:
    """Text payload given as UTF-16-LE bytes (two bytes per code unit)."""
    packets: list[Packet] = []
    size = len(units)
    pos = 0
    max_digit_bytes = 2 * _MAX_LEN_DIGITS
    while pos < size:
        end_digits = pos
        while (
            end_digits < size and units[end_digits + 1] == 0 and 0x30 <= units[end_digits] <= 0x39
        ):
            end_digits += 2
            if end_digits - pos > max_digit_bytes:
                raise _error("invalid length prefix in payload")
        if (
            end_digits == pos
            or end_digits >= size
            or units[end_digits] != 0x3A
            or units[end_digits + 1] != 0
        ):
            raise _error("invalid length prefix in payload")
        start = end_digits + 2
        end = start + 2 * int(units[pos:end_digits:2])
        if end > size:
            raise _error("truncated packet in payload")
        if end > start:
            try:
                msg = units[start:end].decode("utf-16-le")
            except UnicodeDecodeError as exc:  # a length splitting a surrogate pair
                raise _error("packet length splits a character") from exc
            packets.append(_decode_v3_text_packet(msg))
        pos = end
    return packets


def _decode_payload_v3_binary(body: bytes) -> list[Packet]:
    packets: list[Packet] = []
    size = len(body)
    pos = 0
    while pos < size:
        kind = body[pos]
        if kind > 1:
            raise _error("invalid packet kind in binary payload")
        sep = body.find(b"\xff", pos + 1, pos + 2 + _MAX_LEN_DIGITS)
        if sep <= pos + 1:  # not found (-1), or an empty length
            raise _error("invalid length prefix in binary payload")
        digits = body[pos + 1 : sep]
        if digits.translate(None, _RAW_DIGITS):
            raise _error("invalid length prefix in binary payload")
        start = sep + 1
        end = start + int(digits.translate(_RAW_TO_ASCII))
        if end <= start:
            raise _error("empty packet in binary payload")
        if end > size:
            raise _error("truncated packet in binary payload")
        if kind == 0:
            try:
                msg = body[start:end].decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _error("string packet is not valid UTF-8") from exc
            ptype = _CHAR_TO_TYPE.get(msg[:1])
            if ptype is None:
                raise _error("invalid packet type in binary payload")
            packets.append(Packet(ptype, msg[1:]))
        else:
            raw_type = body[start]
            if raw_type > 6:
                raise _error("invalid binary packet type in binary payload")
            packets.append(Packet(_TYPES[raw_type], bytes(body[start + 1 : end])))
        pos = end
    return packets


# --------------------------------------------------------------------------- JSONP


def _jsonp_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def js_string_literal(text: str) -> str:
    """``text`` as a JavaScript string literal that is safe inside a script
    (no ``</script>``, no U+2028/U+2029 line breaks, no lone surrogates)."""
    return _JSONP_UNSAFE.sub(_jsonp_escape, json.dumps(text, ensure_ascii=False))


def jsonp_wrap(payload: str, index: str) -> str:
    """Wrap a (v3 text) payload as a JSONP response: ``___eio[N]("...");``."""
    return "___eio[" + _JSONP_NON_DIGITS.sub("", index) + "](" + js_string_literal(payload) + ");"


def _form_unquote(value: bytes) -> bytes:
    return unquote_to_bytes(value.replace(b"+", b" "))


def _jsonp_newline(match: re.Match[str]) -> str:
    return match.group() if match.group(1) else "\n"


def jsonp_unwrap_form(body: bytes) -> str:
    """Extract the payload from a JSONP POST body (``d=<payload>``, form-encoded)."""
    found: bytes | None = None
    for field in body.split(b"&"):
        key, _, value = field.partition(b"=")
        if key != b"d" and _form_unquote(key) != b"d":
            continue
        if found is not None:
            raise _error("duplicate d field in JSONP body")
        found = value
    if found is None:
        raise _error("no d field in JSONP body")
    try:
        data = _form_unquote(found).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _error("JSONP payload is not valid UTF-8") from exc
    if "\\" in data:
        # The client sends "\n" as "\\n" and a literal backslash-n as "\\\\n".
        data = _JSONP_NEWLINE.sub(_jsonp_newline, data).replace("\\\\n", "\\n")
    return data
