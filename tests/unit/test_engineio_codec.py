"""Tests for the Engine.IO v3/v4 codec (hubbub.engineio.codec).

Expected strings and bytes come from the Engine.IO protocol documents (v3, v4)
and the official engine.io-protocol test suites.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubbub.engineio.codec import (
    EngineIODecodeError,
    Packet,
    PacketType,
    decode_packet,
    decode_payload_v3,
    decode_payload_v4,
    encode_packet,
    encode_payload_v3,
    encode_payload_v4,
    jsonp_unwrap_form,
    jsonp_wrap,
    utf16_len,
)

OPEN = PacketType.OPEN
CLOSE = PacketType.CLOSE
PING = PacketType.PING
PONG = PacketType.PONG
MESSAGE = PacketType.MESSAGE
UPGRADE = PacketType.UPGRADE
NOOP = PacketType.NOOP

BIN = b"\x01\x02\x03\x04"
HANDSHAKE_V3 = (
    '0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],'
    '"pingInterval":25000,"pingTimeout":5000}'
)
# the v3 suite's expected XHR2 answer to "6:4hello10:b4AQIDBA==" (binary session)
SUITE_V3_BINARY = bytes([0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4])


# --------------------------------------------------------------------------- basics


def test_packet_type_values() -> None:
    assert [int(t) for t in PacketType] == [0, 1, 2, 3, 4, 5, 6]
    assert [t.name for t in PacketType] == [
        "OPEN",
        "CLOSE",
        "PING",
        "PONG",
        "MESSAGE",
        "UPGRADE",
        "NOOP",
    ]


def test_packet_defaults() -> None:
    packet = Packet(PING)
    assert packet.data == ""
    assert packet == Packet(PING, "")
    assert not hasattr(packet, "__dict__")  # slots


def test_error_is_value_error() -> None:
    assert issubclass(EngineIODecodeError, ValueError)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("hello", 5),
        ("€", 1),  # BMP: one unit although 3 UTF-8 bytes
        ("😀", 2),  # astral: a surrogate pair
        ("a😀b€c\U0010ffff", 8),
        ("\ud800", 1),  # a lone surrogate is one unit, as in JS
        (HANDSHAKE_V3, 96),
    ],
)
def test_utf16_len(text: str, expected: int) -> None:
    assert utf16_len(text) == expected


# --------------------------------------------------------------------------- single packets


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize(
    ("frame", "packet"),
    [
        ("4hello", Packet(MESSAGE, "hello")),
        ("4hey", Packet(MESSAGE, "hey")),
        ("4HelloWorld", Packet(MESSAGE, "HelloWorld")),
        ("4abc", Packet(MESSAGE, "abc")),
        ("2probe", Packet(PING, "probe")),
        ("3probe", Packet(PONG, "probe")),
        ("2", Packet(PING)),
        ("3", Packet(PONG)),
        ("5", Packet(UPGRADE)),
        ("1", Packet(CLOSE)),
        ("6", Packet(NOOP)),
        ("4", Packet(MESSAGE, "")),
        ("4€😀", Packet(MESSAGE, "€😀")),
        ("4b4AQIDBA==", Packet(MESSAGE, "b4AQIDBA==")),
        (
            '0{"sid":"lv_VI97HAXpY6yYWAAAC","pingInterval":25000,"pingTimeout":5000}',
            Packet(OPEN, '{"sid":"lv_VI97HAXpY6yYWAAAC","pingInterval":25000,"pingTimeout":5000}'),
        ),
    ],
)
def test_text_frames(version: int, frame: str, packet: Packet) -> None:
    assert decode_packet(frame, version) == packet
    assert encode_packet(packet, version) == frame


def test_binary_frame_v4() -> None:
    # v4 suite: socket.send(Uint8Array.from([1, 2, 3, 4])) is echoed unchanged
    assert decode_packet(BIN, 4) == Packet(MESSAGE, BIN)
    assert encode_packet(Packet(MESSAGE, BIN), 4) == BIN
    # "Binary payloads are sent as is": a leading byte is data, not a type
    assert decode_packet(b"\x04\x01", 4) == Packet(MESSAGE, b"\x04\x01")
    assert decode_packet(b"", 4) == Packet(MESSAGE, b"")


def test_binary_frame_v3() -> None:
    # v3 suite: socket.send(Uint8Array.from([4, 1, 2, 3, 4])) is echoed unchanged
    frame = bytes([4, 1, 2, 3, 4])
    assert decode_packet(frame, 3) == Packet(MESSAGE, BIN)
    assert encode_packet(Packet(MESSAGE, BIN), 3) == frame
    # v3 spec: 4|0|1|2|3|4|5
    spec = bytes([4, 0, 1, 2, 3, 4, 5])
    assert decode_packet(spec, 3) == Packet(MESSAGE, bytes([0, 1, 2, 3, 4, 5]))
    assert encode_packet(Packet(MESSAGE, bytes([0, 1, 2, 3, 4, 5])), 3) == spec
    assert decode_packet(b"\x04", 3) == Packet(MESSAGE, b"")


def test_encode_packet_rejects_binary_non_message_v4() -> None:
    with pytest.raises(ValueError):
        encode_packet(Packet(PING, b"x"), 4)
    with pytest.raises(ValueError):
        encode_payload_v4([Packet(PING, b"x")])


@pytest.mark.parametrize("version", [0, 2, 5])
def test_unsupported_version(version: int) -> None:
    with pytest.raises(ValueError):
        decode_packet("4a", version)
    with pytest.raises(ValueError):
        encode_packet(Packet(MESSAGE, "a"), version)


@pytest.mark.parametrize("version", [3, 4])
@pytest.mark.parametrize(
    "frame",
    ["", "7", "9hello", "x", "abc", " 4", "b!!", "\x1e", "٤hello"],
)
def test_malformed_text_frames(version: int, frame: str) -> None:
    with pytest.raises(EngineIODecodeError):
        decode_packet(frame, version)


@pytest.mark.parametrize("frame", [b"", b"\x07", b"\xff", b"4hello", b"\x07\x01\x02"])
def test_malformed_binary_frames_v3(frame: bytes) -> None:
    with pytest.raises(EngineIODecodeError):
        decode_packet(frame, 3)


# --------------------------------------------------------------------------- v4 payloads


@pytest.mark.parametrize(
    ("body", "packets"),
    [
        # v4 spec
        (
            "4hello\x1e2\x1e4world",
            [Packet(MESSAGE, "hello"), Packet(PING), Packet(MESSAGE, "world")],
        ),
        ("4hello\x1ebAQIDBA==", [Packet(MESSAGE, "hello"), Packet(MESSAGE, BIN)]),
        # v4 suite
        ("4hello", [Packet(MESSAGE, "hello")]),
        (
            "4test1\x1e4test2\x1e4test3",
            [Packet(MESSAGE, "test1"), Packet(MESSAGE, "test2"), Packet(MESSAGE, "test3")],
        ),
        ("1", [Packet(CLOSE)]),
        ("2", [Packet(PING)]),
        ("3", [Packet(PONG)]),
        ("6", [Packet(NOOP)]),
        # the v2->v3 history note: no length prefix in v4
        ("4€", [Packet(MESSAGE, "€")]),
        ("4😀\x1e4€", [Packet(MESSAGE, "😀"), Packet(MESSAGE, "€")]),
        ("b", [Packet(MESSAGE, b"")]),
        ("4", [Packet(MESSAGE, "")]),
        ("bAA==\x1eb/w==", [Packet(MESSAGE, b"\x00"), Packet(MESSAGE, b"\xff")]),
    ],
)
def test_payload_v4_examples(body: str, packets: list[Packet]) -> None:
    assert decode_payload_v4(body) == packets
    assert encode_payload_v4(packets) == body


def test_payload_v4_handshake_shape() -> None:
    handshake = json.dumps(
        {
            "sid": "lv_VI97HAXpY6yYWAAAC",
            "upgrades": ["websocket"],
            "pingInterval": 25000,
            "pingTimeout": 20000,
            "maxPayload": 1000000,
        },
        separators=(",", ":"),
    )
    body = encode_payload_v4([Packet(OPEN, handshake)])
    assert body.startswith("0{")
    assert json.loads(body[1:])["maxPayload"] == 1000000


@pytest.mark.parametrize(
    "body",
    [
        "",
        "\x1e",
        "4a\x1e",
        "\x1e4a",
        "4a\x1e\x1e4b",
        "7",
        "x",
        "abc",
        "b!!!",
        "bAQ=",
        "bAQIDBA",  # missing padding
        "bAQ==AQ==",
        "bA",
        "bAQIDBA==\n",
        "bAQID BA==",
        "bAQIDBA===",
        "b€",
        "b😀",
        "bAQ\ud800",
        "b-_8=",  # base64url alphabet
        "4hello\x1ex",
    ],
)
def test_malformed_payload_v4(body: str) -> None:
    with pytest.raises(EngineIODecodeError):
        decode_payload_v4(body)


def test_encode_payload_v4_empty() -> None:
    assert encode_payload_v4([]) == ""


# --------------------------------------------------------------------------- v3 text payloads


@pytest.mark.parametrize(
    ("body", "packets"),
    [
        # v3 spec
        (f"96:{HANDSHAKE_V3}", [Packet(OPEN, HANDSHAKE_V3[1:])]),
        ("4:4hey", [Packet(MESSAGE, "hey")]),
        ("6:4hello6:4world", [Packet(MESSAGE, "hello"), Packet(MESSAGE, "world")]),
        ("6:4hello2:4€", [Packet(MESSAGE, "hello"), Packet(MESSAGE, "€")]),
        ("2:4€10:b4AQIDBA==", [Packet(MESSAGE, "€"), Packet(MESSAGE, BIN)]),
        # v3 suite
        ("6:4hello", [Packet(MESSAGE, "hello")]),
        (
            "6:4test16:4test26:4test3",
            [Packet(MESSAGE, "test1"), Packet(MESSAGE, "test2"), Packet(MESSAGE, "test3")],
        ),
        ("6:4hello10:b4AQIDBA==", [Packet(MESSAGE, "hello"), Packet(MESSAGE, BIN)]),
        ("1:1", [Packet(CLOSE)]),
        ("1:3", [Packet(PONG)]),
        ("1:6", [Packet(NOOP)]),
        # astral characters are counted as two UTF-16 units
        ("3:4😀", [Packet(MESSAGE, "😀")]),
        ("5:4a😀b", [Packet(MESSAGE, "a😀b")]),
        ("4:4€😀5:4😀😀1:2", [Packet(MESSAGE, "€😀"), Packet(MESSAGE, "😀😀"), Packet(PING)]),
        ("7:4x😀\U0010ffffy", [Packet(MESSAGE, "x😀\U0010ffffy")]),
        ("2:b4", [Packet(MESSAGE, b"")]),
        ("6:b2AQI=", [Packet(PING, b"\x01\x02")]),
        ("1:4", [Packet(MESSAGE, "")]),
        ("6:43:4ab", [Packet(MESSAGE, "3:4ab")]),
    ],
)
def test_payload_v3_text_examples(body: str, packets: list[Packet]) -> None:
    assert decode_payload_v3(body.encode("utf-8")) == packets
    assert encode_payload_v3(packets, False) == body
    if all(isinstance(p.data, str) for p in packets):
        # text-only packets use the text payload even for binary-capable clients
        assert encode_payload_v3(packets, True) == body


def test_payload_v3_handshake_length_is_96() -> None:
    body = encode_payload_v3([Packet(OPEN, HANDSHAKE_V3[1:])], True)
    assert isinstance(body, str)
    length, _, content = body.partition(":")
    assert length == "96" == str(len(content))


def test_payload_v3_counts_characters_not_bytes() -> None:
    # the spec's "€" example: 2 (1 + 1) instead of 4 (1 + 3)
    assert encode_payload_v3([Packet(MESSAGE, "hello"), Packet(MESSAGE, "€")], False) == (
        "6:4hello2:4€"
    )
    # and JS's String.length for emoji
    assert encode_payload_v3([Packet(MESSAGE, "😀😀")], False) == "5:4😀😀"


def test_payload_v3_empty() -> None:
    # engine.io-parser 2.x encodes no packets as "0:"; "0:" decodes to nothing
    assert encode_payload_v3([], False) == "0:"
    assert encode_payload_v3([], True) == "0:"
    assert decode_payload_v3(b"0:") == []
    assert decode_payload_v3(b"0:1:60:") == [Packet(NOOP)]


def test_payload_v3_leading_zero_length() -> None:
    # the reference compares "06" == 6 loosely and accepts it
    assert decode_payload_v3(b"06:4hello") == [Packet(MESSAGE, "hello")]


# --------------------------------------------------------------------------- v3 binary payloads


def test_payload_v3_binary_suite() -> None:
    packets = [Packet(MESSAGE, "hello"), Packet(MESSAGE, BIN)]
    assert encode_payload_v3(packets, True) == SUITE_V3_BINARY
    assert decode_payload_v3(SUITE_V3_BINARY) == packets


def test_payload_v3_binary_spec_euro() -> None:
    # The spec lists <00 04 ff 34 e2 82 ac 01 04 ff 01 02 03 04>; its binary
    # part omits the packet type byte that the reference encoder (and the test
    # suite, see SUITE_V3_BINARY) writes, so the binary header says 5, not 4.
    packets = [Packet(MESSAGE, "€"), Packet(MESSAGE, BIN)]
    expected = bytes.fromhex("00 04 ff 34 e2 82 ac 01 05 ff 04 01 02 03 04")
    assert encode_payload_v3(packets, True) == expected
    assert decode_payload_v3(expected) == packets
    assert expected.startswith(bytes.fromhex("00 04 ff 34 e2 82 ac"))  # the spec's string part


def test_payload_v3_binary_lengths_are_bytes() -> None:
    text = "😀" * 5  # 20 UTF-8 bytes + 1 type byte = 21 -> digits 2, 1
    packets = [Packet(MESSAGE, text), Packet(PING, bytes(range(256)) * 4)]
    body = encode_payload_v3(packets, True)
    assert isinstance(body, bytes)
    assert body[:4] == bytes([0, 2, 1, 255])
    second = 4 + 21
    assert body[second : second + 6] == bytes([1, 1, 0, 2, 5, 255])  # 1025 bytes
    assert decode_payload_v3(body) == packets


# --------------------------------------------------------------------------- v3 malformed


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"abc",  # the v3 suite's "invalid packet format" body
        b":4a",
        b"6:4hello5",  # trailing garbage
        b"6:4hello6",
        b"6:4hell",  # truncated
        b"2:4hello",
        b"6:4hello6:4worl",
        b"x:4",
        b"1x:4",
        b"1",
        b"12",
        b"1:7",
        b"1:x",
        b"1:b",
        b"2:b7",
        b"2:bx",
        b"4:b4!!",
        b"5:b4AQ=",
        b"9:b4AQIDBA",
        b"3:b4A",
        b"+1:4",
        b"-1:4",
        b" 1:4",
        b"1 :4",
        b"1\n:4",
        b"1.0:4",
        b"1e1:4aaaaaaaaa",
        b"0x1:4",
        "\u0661:4".encode(),  # Arabic-indic digit one
        "²:4".encode(),  # superscript digit
        b"9" * 21 + b":",
        b"9" * 20 + b":4",
        b"1" * 5000 + b":4",
        b"1:4\x80",  # not UTF-8
        b"\xff",
        b"2:4\xed\xa0\x80",  # encoded surrogate
        "2:4😀".encode(),  # length splits a surrogate pair
        "1:😀".encode(),
        "3:4😀😀".encode(),
        "4:4😀".encode(),
        "3:4😀x".encode(),
        "x😀".encode(),
        "😀:4".encode(),
        b"0",
        b"0:0",
        b":",
        # binary payloads
        bytes([0]),
        bytes([1]),
        bytes([0, 255]),
        bytes([0, 1]),  # no separator
        bytes([0, 1, 2]),
        bytes([0, 10, 255, 52]),  # not a 0-9 digit byte
        bytes([0, 0x31, 255, 52]),  # ASCII digit instead of raw
        bytes([0, 1, 255]),  # truncated
        bytes([0, 2, 255, 52]),
        bytes([0, 0, 255]),  # zero-length packet
        bytes([1, 0, 255]),
        bytes([0, 1, 255, 55]),  # type "7"
        bytes([0, 1, 255, ord("b")]),
        bytes([0, 6, 255]) + b"b4AQI=",  # base64 packets are not allowed in binary payloads
        bytes([1, 1, 255, 7]),  # raw type 7
        bytes([1, 1, 255, 52]),  # raw type 52 ("4")
        bytes([0, 2, 255, 52, 0x80]),  # not UTF-8
        bytes([0, 4, 255, 52, 0xED, 0xA0, 0x80]),  # encoded surrogate
        bytes([0, 1, 255, 52, 2]),  # bad kind after a good packet
        bytes([0, 1, 255, 52, 0]),
        bytes([0] + [1] * 21 + [255]),
        bytes([0] + [9] * 20 + [255, 52]),
        SUITE_V3_BINARY + b"\x09",
        SUITE_V3_BINARY[:-1],
    ],
)
def test_malformed_payload_v3(body: bytes) -> None:
    with pytest.raises(EngineIODecodeError):
        decode_payload_v3(body)


# --------------------------------------------------------------------------- JSONP


def _unwrap_response(response: str, index: str) -> str:
    prefix = f"___eio[{index}]("
    assert response.startswith(prefix)
    assert response.endswith(");")
    literal = response[len(prefix) : -2]
    assert literal.startswith('"')
    assert literal.endswith('"')
    value = json.loads(literal)  # escapes used are valid in both JSON and JS
    assert isinstance(value, str)
    return value


def _client_escape(payload: str) -> str:
    """What engine.io-client 3.x (polling-jsonp doWrite) puts in the textarea."""
    return payload.replace("\\n", "\\\n").replace("\n", "\\n")


def _form_encode(value: str) -> bytes:
    from urllib.parse import quote_plus

    return ("d=" + quote_plus(value, safe="")).encode("ascii")


def test_jsonp_wrap_simple() -> None:
    # v3 spec: ___eio[4]("packet data");
    assert jsonp_wrap("packet data", "4") == '___eio[4]("packet data");'
    assert jsonp_wrap("6:4hello", "0") == '___eio[0]("6:4hello");'


@pytest.mark.parametrize(
    ("index", "digits"),
    [("4", "4"), ("12", "12"), ("1x2", "12"), ("", ""), ("alert(1)//", "1"), ("\u06612", "2")],
)
def test_jsonp_wrap_index_digits_only(index: str, digits: str) -> None:
    assert jsonp_wrap("1:6", index).startswith(f"___eio[{digits}](")


@pytest.mark.parametrize(
    "payload",
    [
        'say "hi"',
        "back\\slash",
        "line\nbreak\r\n",
        "tab\tand\x00nul\x1f",
        "\u2028\u2029",
        "</script><script>alert(1)</script>",
        "<!--",
        "€😀",
        "\ud800lone",
        '12:4{"a":"\\n"}',
        "",
    ],
)
def test_jsonp_wrap_escapes(payload: str) -> None:
    response = jsonp_wrap(payload, "3")
    assert _unwrap_response(response, "3") == payload
    for raw in ("\u2028", "\u2029", "</", "<!--", "\n", "\r", "\ud800"):
        assert raw not in response
    response.encode("utf-8")  # strictly encodable, even with a lone surrogate


@pytest.mark.parametrize(
    ("body", "payload"),
    [
        (b"d=6%3A4hello", "6:4hello"),
        (b"d=6:4hello", "6:4hello"),
        (b"a=1&d=4%3A4a%2Bb&z", "4:4a+b"),
        (b"d=5:4a+b", "5:4a b"),
        (b"%64=1:6", "1:6"),
        (b"d=", ""),
        (b"d", ""),
        (b"d=2%3A4%E2%82%AC", "2:4€"),
        (b"d=3%3A4%F0%9F%98%80", "3:4😀"),
        (b"d=3:4\xf0\x9f\x98\x80", "3:4😀"),  # raw UTF-8 in the form
        (b"d=100%", "100%"),  # a malformed escape is kept, like Node's querystring
        # newline handling (the client sends "\n" as "\\n", "\\n" as "\\\\n")
        (b"d=4%3A4a%5Cnb", "4:4a\nb"),
        (b"d=5%3A4a%5C%5Cnb", "5:4a\\nb"),
        (b"d=%5C%5C%5Cn", "\\\\n"),
        (b"d=%5Cr%5Cn", "\\r\n"),
    ],
)
def test_jsonp_unwrap_form(body: bytes, payload: str) -> None:
    assert jsonp_unwrap_form(body) == payload


@pytest.mark.parametrize(
    "payload",
    [
        "a\r\nb\n\n\n\nc",  # engine.io 3.x jsonp test: newlines
        json.dumps({"test": "a\r\nb\n\n\n\nc"}),  # ... and a stringified message
        "\\n",
        "\\\\n",
        "\\\\\\n\n\\",
        'quote " and backslash \\ and \u2028 and </script>',
        "€😀 & = + % ;",
    ],
)
def test_jsonp_unwrap_client_escaping(payload: str) -> None:
    assert jsonp_unwrap_form(_form_encode(_client_escape(payload))) == payload


def test_jsonp_full_cycle() -> None:
    packets = [Packet(MESSAGE, 'a "quoted"\nline</script>'), Packet(MESSAGE, BIN)]
    body = encode_payload_v3(packets, False)
    assert isinstance(body, str)
    assert decode_payload_v3(_unwrap_response(jsonp_wrap(body, "7"), "7").encode()) == packets
    posted = jsonp_unwrap_form(_form_encode(_client_escape(body)))
    assert decode_payload_v3(posted.encode("utf-8")) == packets


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"x=1",
        b"dd=1",
        b"D=1:6",
        b"d=1&d=2",
        b"d=%ff",
        b"d=%e2%82",
        b"d=\xff",
        b"&&&",
    ],
)
def test_malformed_jsonp_form(body: bytes) -> None:
    with pytest.raises(EngineIODecodeError):
        jsonp_unwrap_form(body)


# --------------------------------------------------------------------------- properties

_text = st.text(
    alphabet=st.one_of(st.characters(codec="utf-8"), st.sampled_from("😀€\U0010ffff\x1e:b0\\\n")),
    max_size=30,
)
_binary = st.binary(max_size=40)
_types = st.sampled_from(PacketType)

_packet_v3 = st.builds(Packet, _types, st.one_of(_text, _binary))
_packet_v4_frame = st.one_of(
    st.builds(Packet, _types, _text), st.builds(Packet, st.just(MESSAGE), _binary)
)
_packet_v4_payload = st.one_of(
    st.builds(Packet, _types, _text.map(lambda s: s.replace("\x1e", ""))),
    st.builds(Packet, st.just(MESSAGE), _binary),
)
_props = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_props
@given(_packet_v3)
def test_roundtrip_packet_v3(packet: Packet) -> None:
    assert decode_packet(encode_packet(packet, 3), 3) == packet


@_props
@given(_packet_v4_frame)
def test_roundtrip_packet_v4(packet: Packet) -> None:
    assert decode_packet(encode_packet(packet, 4), 4) == packet


@_props
@given(st.lists(_packet_v4_payload, min_size=1, max_size=6))
def test_roundtrip_payload_v4(packets: list[Packet]) -> None:
    assert decode_payload_v4(encode_payload_v4(packets)) == packets


@_props
@given(st.lists(_packet_v3, max_size=6), st.booleans())
def test_roundtrip_payload_v3(packets: list[Packet], supports_binary: bool) -> None:
    encoded = encode_payload_v3(packets, supports_binary)
    has_binary = any(isinstance(p.data, bytes) for p in packets)
    if supports_binary and has_binary:
        assert isinstance(encoded, bytes)
        body = encoded
    else:
        assert isinstance(encoded, str)
        body = encoded.encode("utf-8")
    assert decode_payload_v3(body) == packets


@_props
@given(st.lists(st.builds(Packet, _types, _text), min_size=1, max_size=4))
def test_payload_v3_lengths_match_js(packets: list[Packet]) -> None:
    # each length prefix equals the UTF-16 length of what follows it
    encoded = encode_payload_v3(packets, False)
    assert isinstance(encoded, str)
    pos = 0
    for packet in packets:
        colon = encoded.index(":", pos)
        frame = str(encode_packet(packet, 3))
        assert encoded[pos:colon] == str(len(frame.encode("utf-16-le")) // 2)
        assert encoded[colon + 1 : colon + 1 + len(frame)] == frame
        pos = colon + 1 + len(frame)
    assert pos == len(encoded)


@_props
@given(_text.filter(lambda s: "\\\n" not in s), st.text(max_size=5))
def test_roundtrip_jsonp(payload: str, index: str) -> None:
    digits = "".join(c for c in index if c in "0123456789")
    assert _unwrap_response(jsonp_wrap(payload, index), digits) == payload
    # the client's newline escaping cannot express a backslash before a newline
    assert jsonp_unwrap_form(_form_encode(_client_escape(payload))) == payload


def _only_decode_errors(decoder: Callable[..., Any], *args: Any) -> None:
    with contextlib.suppress(EngineIODecodeError):
        decoder(*args)


_any_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=60)
_near_text = st.text(alphabet="0123456789:b4AQID=/+\x1e€😀 x\n\\", max_size=40)
_near_binary = st.lists(
    st.sampled_from([0, 1, 2, 4, 5, 9, 10, 52, 98, 255, 0x80, 0xE2, 0xF0, 0x9F]), max_size=40
).map(bytes)


@_props
@given(st.one_of(st.binary(max_size=80), _near_binary))
def test_fuzz_bytes_decoders(data: bytes) -> None:
    _only_decode_errors(decode_payload_v3, data)
    _only_decode_errors(decode_packet, data, 3)
    _only_decode_errors(decode_packet, data, 4)
    _only_decode_errors(jsonp_unwrap_form, data)
    _only_decode_errors(jsonp_unwrap_form, b"d=" + data)


@_props
@given(st.one_of(_any_text, _near_text))
def test_fuzz_text_decoders(text: str) -> None:
    _only_decode_errors(decode_payload_v4, text)
    _only_decode_errors(decode_packet, text, 3)
    _only_decode_errors(decode_packet, text, 4)
    body = text.encode("utf-8", "surrogatepass")
    _only_decode_errors(decode_payload_v3, body)
    _only_decode_errors(jsonp_unwrap_form, b"d=" + body)


@_props
@given(st.lists(_packet_v3, min_size=1, max_size=4), st.booleans(), st.data())
def test_fuzz_mutated_v3_payloads(
    packets: list[Packet], supports_binary: bool, data: st.DataObject
) -> None:
    encoded = encode_payload_v3(packets, supports_binary)
    body = bytearray(encoded if isinstance(encoded, bytes) else encoded.encode("utf-8"))
    pos = data.draw(st.integers(0, len(body) - 1))
    action = data.draw(st.sampled_from(["flip", "delete", "insert", "truncate"]))
    byte = data.draw(st.integers(0, 255))
    if action == "flip":
        body[pos] = byte
    elif action == "delete":
        del body[pos]
    elif action == "insert":
        body.insert(pos, byte)
    else:
        del body[pos:]
    _only_decode_errors(decode_payload_v3, bytes(body))


@_props
@given(st.lists(_packet_v4_payload, min_size=1, max_size=4), st.data())
def test_fuzz_mutated_v4_payloads(packets: list[Packet], data: st.DataObject) -> None:
    body = list(encode_payload_v4(packets))
    pos = data.draw(st.integers(0, max(len(body) - 1, 0)))
    char = data.draw(st.sampled_from("\x1eb4=A😀:\ud800"))
    if body:
        body[pos] = char
    else:
        body.append(char)
    _only_decode_errors(decode_payload_v4, "".join(body))


def test_force_base64_websocket_frames() -> None:
    # clients with forceBase64 send binary as base64 text frames
    assert decode_packet("bAQIDBA==", 4) == Packet(PacketType.MESSAGE, b"\x01\x02\x03\x04")
    assert decode_packet("b4AQIDBA==", 3) == Packet(PacketType.MESSAGE, b"\x01\x02\x03\x04")
    with pytest.raises(EngineIODecodeError):
        decode_packet("bAQIDBA==", 3)  # v3 needs the type digit after "b"
