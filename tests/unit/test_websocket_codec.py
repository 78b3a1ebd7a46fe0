"""Sans-IO tests of the RFC 6455 / RFC 7692 codec in hubbub.websocket.frames."""

from __future__ import annotations

import base64
import itertools
import os
import struct
import zlib

import pytest
import websockets.client
import websockets.extensions.permessage_deflate
import websockets.uri
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubbub.websocket.deflate import PerMessageDeflate
from hubbub.websocket.frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_CONTINUATION,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    Close,
    Event,
    FrameDecoder,
    Message,
    Ping,
    Pong,
    WebSocketError,
    binary_frame,
    close_frame,
    encode_frame,
    ping_frame,
    pong_frame,
    text_frame,
)
from hubbub.websocket.handshake import accept_key, check_upgrade_request, handshake_response

MASK = b"\x37\xfa\x21\x3d"


def client(opcode: int, payload: bytes, *, fin: bool = True, rsv1: bool = False) -> bytes:
    """A masked client frame."""
    return encode_frame(opcode, payload, fin=fin, rsv1=rsv1, mask=MASK)


def raw_frame(b0: int, payload: bytes = b"", *, masked: bool = True) -> bytes:
    """A frame with a hand-made first byte (reserved bits, odd opcodes)."""
    frame = encode_frame(b0 & 0x0F, payload, mask=MASK if masked else None)
    return bytes([b0]) + frame[1:]


def client_deflate(payload: bytes, compressor: zlib._Compress | None = None) -> bytes:
    """What a permessage-deflate client puts in a compressed message."""
    if compressor is None:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = compressor.compress(payload) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert data.endswith(b"\x00\x00\xff\xff")
    return data[:-4]


def expect_error(decoder: FrameDecoder, data: bytes, close_code: int) -> WebSocketError:
    with pytest.raises(WebSocketError) as info:
        decoder.feed(data)
    assert info.value.close_code == close_code
    assert decoder.finished
    assert decoder.feed(client(OP_TEXT, b"more")) == []
    return info.value


# ---------------------------------------------------------------------------------------------
# Handshake

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def good_headers(**overrides: str | None) -> dict[str, str]:
    headers = {
        "host": "example.com",
        "upgrade": "websocket",
        "connection": "Upgrade",
        "sec-websocket-version": "13",
        "sec-websocket-key": KEY,
    }
    for name, value in overrides.items():
        name = name.replace("_", "-")
        if value is None:
            headers.pop(name, None)
        else:
            headers[name] = value
    return headers


def test_accept_key_rfc_example() -> None:
    assert accept_key(KEY) == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_check_upgrade_request_accepts_valid_request() -> None:
    assert check_upgrade_request("GET", good_headers()) == KEY
    headers = good_headers(upgrade="WebSocket", connection="keep-alive, UPGRADE")
    assert check_upgrade_request("GET", headers) == KEY
    assert check_upgrade_request("GET", good_headers(sec_websocket_key=f" {KEY} ")) == KEY


@pytest.mark.parametrize(
    ("method", "overrides", "status"),
    [
        ("POST", {}, 400),
        ("GET", {"upgrade": None}, 400),
        ("GET", {"upgrade": "h2c"}, 400),
        ("GET", {"upgrade": "websocketx"}, 400),
        ("GET", {"connection": None}, 400),
        ("GET", {"connection": "keep-alive"}, 400),
        ("GET", {"connection": "upgraded"}, 400),
        ("GET", {"sec_websocket_version": None}, 426),
        ("GET", {"sec_websocket_version": "8"}, 426),
        ("GET", {"sec_websocket_version": "13, 8"}, 426),
        ("GET", {"sec_websocket_key": None}, 400),
        ("GET", {"sec_websocket_key": "not base64!"}, 400),
        ("GET", {"sec_websocket_key": base64.b64encode(b"x" * 15).decode()}, 400),
        ("GET", {"sec_websocket_key": base64.b64encode(b"x" * 17).decode()}, 400),
        ("GET", {"sec_websocket_key": "dGhlIHNhbXBsZSBub25jZQ"}, 400),
        ("GET", {"sec_websocket_key": "dGhlIHNhbXBsZSBub25jZQ==\u00e9"}, 400),
    ],
)
def test_check_upgrade_request_failures(
    method: str, overrides: dict[str, str | None], status: int
) -> None:
    with pytest.raises(WebSocketError) as info:
        check_upgrade_request(method, good_headers(**overrides))
    assert info.value.http_status == status
    assert info.value.close_code == 1002


def test_handshake_response() -> None:
    response = handshake_response(
        KEY, [("Set-Cookie", "a=b"), ("X-Server", "hubbub")], "permessage-deflate"
    )
    lines = response.split(b"\r\n")
    assert lines[0] == b"HTTP/1.1 101 Switching Protocols"
    assert response.endswith(b"\r\n\r\n")
    assert response.count(b"\r\n\r\n") == 1
    assert b"Upgrade: websocket" in lines
    assert b"Connection: Upgrade" in lines
    assert b"Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in lines
    assert b"Sec-WebSocket-Extensions: permessage-deflate" in lines
    assert b"Set-Cookie: a=b" in lines
    assert b"X-Server: hubbub" in lines
    plain = handshake_response(KEY)
    assert b"Sec-WebSocket-Extensions" not in plain
    assert plain.endswith(b"=\r\n\r\n")


@pytest.mark.parametrize("header", [("X-A", "b\r\nEvil: 1"), ("X-A\n", "b"), ("", "b")])
def test_handshake_response_rejects_header_injection(header: tuple[str, str]) -> None:
    with pytest.raises(ValueError):
        handshake_response(KEY, [header])


# ---------------------------------------------------------------------------------------------
# Encoding


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (0, b"\x81\x00"),
        (125, b"\x81\x7d"),
        (126, b"\x81\x7e\x00\x7e"),
        (65535, b"\x81\x7e\xff\xff"),
        (65536, b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"),
    ],
)
def test_encode_frame_length_encodings(size: int, header: bytes) -> None:
    payload = os.urandom(size)
    frame = encode_frame(OP_TEXT, payload)
    assert frame == header + payload


def test_encode_frame_flags_and_mask() -> None:
    assert encode_frame(OP_BINARY, b"ab", fin=False)[0] == 0x02
    assert encode_frame(OP_BINARY, b"ab", rsv1=True)[0] == 0xC2
    frame = encode_frame(OP_TEXT, b"Hello", mask=b"\x37\xfa\x21\x3d")
    # The masked "Hello" example from RFC 6455 section 5.7.
    assert frame == bytes.fromhex("818537fa213d7f9f4d5158")
    with pytest.raises(ValueError):
        encode_frame(OP_TEXT, b"", mask=b"abc")
    with pytest.raises(ValueError):
        encode_frame(16, b"")


def test_frame_helpers() -> None:
    assert text_frame("Hello") == b"\x81\x05Hello"
    assert binary_frame(b"\x00\x01") == b"\x82\x02\x00\x01"
    assert ping_frame(b"hi") == b"\x89\x02hi"
    assert pong_frame() == b"\x8a\x00"
    assert close_frame() == b"\x88\x02\x03\xe8"
    assert close_frame(1001, "bye") == b"\x88\x05\x03\xe9bye"
    with pytest.raises(ValueError):
        ping_frame(b"x" * 126)
    with pytest.raises(ValueError):
        pong_frame(b"x" * 126)
    with pytest.raises(ValueError):
        close_frame(999)


def test_close_frame_truncates_long_reason_on_character_boundary() -> None:
    frame = close_frame(1000, "\u00e9" * 100)
    assert len(frame) <= 2 + 125
    (event,) = FrameDecoder(require_mask=False).feed(frame)
    assert event == Close(1000, "\u00e9" * 61)


# ---------------------------------------------------------------------------------------------
# Decoding: valid traffic


def test_decode_simple_events() -> None:
    decoder = FrameDecoder()
    stream = (
        client(OP_TEXT, "h\u00e9llo".encode())
        + client(OP_BINARY, b"\x00\xff")
        + client(OP_PING, b"p")
        + client(OP_PONG, b"")
        + client(OP_TEXT, b"")
    )
    assert decoder.feed(stream) == [
        Message("h\u00e9llo"),
        Message(b"\x00\xff"),
        Ping(b"p"),
        Pong(b""),
        Message(""),
    ]
    assert not decoder.finished


def test_fragmentation_with_control_frames_between_fragments() -> None:
    decoder = FrameDecoder()
    stream = (
        client(OP_TEXT, b"frag", fin=False)
        + client(OP_PING, b"1")
        + client(OP_CONTINUATION, b"ment", fin=False)
        + client(OP_PONG, b"2")
        + client(OP_CONTINUATION, b"ed", fin=True)
        + client(OP_BINARY, b"a", fin=False)
        + client(OP_CONTINUATION, b"", fin=False)
        + client(OP_CONTINUATION, b"b", fin=True)
    )
    assert decoder.feed(stream) == [
        Ping(b"1"),
        Pong(b"2"),
        Message("fragmented"),
        Message(b"ab"),
    ]


def test_utf8_character_split_across_fragments() -> None:
    raw = "\u20ac\U0001f600".encode()
    stream = b"".join(
        client(OP_TEXT if i == 0 else OP_CONTINUATION, raw[i : i + 1], fin=i == len(raw) - 1)
        for i in range(len(raw))
    )
    assert FrameDecoder().feed(stream) == [Message("\u20ac\U0001f600")]


def test_byte_at_a_time() -> None:
    stream = (
        client(OP_TEXT, b"x" * 200, fin=False)
        + client(OP_PING, b"ping")
        + client(OP_CONTINUATION, b"y" * 70000)
        + client(OP_BINARY, b"")
        + client(OP_CLOSE, struct.pack("!H", 1000) + b"done")
    )
    decoder = FrameDecoder()
    events: list[Event] = []
    for i in range(len(stream)):
        events += decoder.feed(stream[i : i + 1])
    assert events == [
        Ping(b"ping"),
        Message("x" * 200 + "y" * 70000),
        Message(b""),
        Close(1000, "done"),
    ]


@pytest.mark.parametrize("size", [125, 126, 127, 65535, 65536, 200_000])
def test_extended_lengths(size: int) -> None:
    payload = os.urandom(size)
    frame = client(OP_BINARY, payload)
    if size < 126:
        assert frame[1] == 0x80 | size
    elif size < 65536:
        assert frame[1] == 0x80 | 126
        assert frame[2:4] == struct.pack("!H", size)
    else:
        assert frame[1] == 0x80 | 127
        assert frame[2:10] == struct.pack("!Q", size)
    decoder = FrameDecoder()
    # Split inside the extended length field and the mask, then in the payload.
    assert decoder.feed(frame[:3]) == []
    assert decoder.feed(frame[3:7]) == []
    assert decoder.feed(frame[7:-1]) == []
    assert decoder.feed(frame[-1:]) == [Message(payload)]


def test_unmasked_frames_allowed_when_not_required() -> None:
    decoder = FrameDecoder(require_mask=False)
    assert decoder.feed(text_frame("hi") + client(OP_BINARY, b"m")) == [
        Message("hi"),
        Message(b"m"),
    ]


def test_close_without_body_and_data_after_close_is_ignored() -> None:
    decoder = FrameDecoder()
    events = decoder.feed(client(OP_TEXT, b"a") + client(OP_CLOSE, b"") + b"\xff\xff garbage")
    assert events == [Message("a"), Close(None, "")]
    assert decoder.finished
    assert decoder.feed(client(OP_TEXT, b"b")) == []


@pytest.mark.parametrize(
    "code",
    [
        1000,
        1001,
        1002,
        1003,
        1007,
        1008,
        1009,
        1010,
        1011,
        1012,
        1013,
        1014,
        3000,
        3999,
        4000,
        4999,
    ],
)
def test_valid_close_codes(code: int) -> None:
    assert FrameDecoder().feed(client(OP_CLOSE, struct.pack("!H", code) + b"r")) == [
        Close(code, "r")
    ]


def test_max_size_boundary_is_inclusive() -> None:
    decoder = FrameDecoder(max_message_size=10)
    assert decoder.feed(client(OP_BINARY, b"x" * 10)) == [Message(b"x" * 10)]
    stream = client(OP_TEXT, b"x" * 6, fin=False) + client(OP_CONTINUATION, b"y" * 4)
    assert decoder.feed(stream) == [Message("x" * 6 + "y" * 4)]


# ---------------------------------------------------------------------------------------------
# Decoding: errors


@pytest.mark.parametrize(
    ("stream", "code"),
    [
        pytest.param(encode_frame(OP_TEXT, b"hi"), 1002, id="unmasked"),
        pytest.param(raw_frame(0xC1, b"x"), 1002, id="rsv1-without-deflate"),
        pytest.param(raw_frame(0xA1, b"x"), 1002, id="rsv2"),
        pytest.param(raw_frame(0x91, b"x"), 1002, id="rsv3"),
        *[
            pytest.param(raw_frame(0x80 | op), 1002, id=f"opcode-{op:x}")
            for op in (3, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF)
        ],
        pytest.param(client(OP_PING, b"", fin=False), 1002, id="fragmented-ping"),
        pytest.param(client(OP_CLOSE, b"", fin=False), 1002, id="fragmented-close"),
        pytest.param(client(OP_PING, b"x" * 126), 1002, id="ping-126"),
        pytest.param(client(OP_PONG, b"x" * 126), 1002, id="pong-126"),
        pytest.param(client(OP_CONTINUATION, b"x"), 1002, id="orphan-continuation"),
        pytest.param(
            client(OP_TEXT, b"a", fin=False) + client(OP_TEXT, b"b"), 1002, id="text-in-fragmented"
        ),
        pytest.param(
            client(OP_BINARY, b"a", fin=False) + client(OP_BINARY, b"b", fin=False),
            1002,
            id="binary-in-fragmented",
        ),
        pytest.param(client(OP_CLOSE, b"\x03"), 1002, id="close-1-byte"),
        pytest.param(client(OP_CLOSE, b"\x03\xe8\xff"), 1007, id="close-reason-utf8"),
        pytest.param(client(OP_TEXT, b"\xff"), 1007, id="text-utf8"),
        pytest.param(client(OP_TEXT, b"\xed\xa0\x80"), 1007, id="text-surrogate"),
        pytest.param(
            client(OP_TEXT, b"ok", fin=False) + client(OP_CONTINUATION, b"\xc3"),
            1007,
            id="text-truncated-utf8",
        ),
        pytest.param(b"\x82\xff" + b"\x80" + b"\x00" * 7 + MASK, 1002, id="length-msb-set"),
    ],
)
def test_protocol_errors(stream: bytes, code: int) -> None:
    expect_error(FrameDecoder(), stream, code)


@pytest.mark.parametrize(
    "code", [0, 1, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]
)
def test_invalid_close_codes(code: int) -> None:
    expect_error(FrameDecoder(), client(OP_CLOSE, struct.pack("!H", code)), 1002)


def test_invalid_utf8_fails_fast_in_first_fragment() -> None:
    decoder = FrameDecoder()
    expect_error(decoder, client(OP_TEXT, b"ok \xff", fin=False), 1007)


def test_reserved_bits_with_deflate_only_on_first_data_frame() -> None:
    for stream in (
        raw_frame(0xC9),  # rsv1 on ping
        client(OP_TEXT, b"a", fin=False) + raw_frame(0x40, b"b"),  # rsv1 on continuation
        raw_frame(0xE1, b"x"),  # rsv1 + rsv2
    ):
        expect_error(FrameDecoder(deflate=PerMessageDeflate()), stream, 1002)


def test_too_big_detected_from_header_alone() -> None:
    decoder = FrameDecoder(max_message_size=1_000_000)
    header = b"\x82\xff" + struct.pack("!Q", 10_000_000) + MASK
    expect_error(decoder, header, 1009)
    # 16-bit length, without even the mask.
    decoder = FrameDecoder(max_message_size=1000)
    expect_error(decoder, b"\x81\xfe" + struct.pack("!H", 1001), 1009)


def test_too_big_across_fragments_detected_from_header() -> None:
    decoder = FrameDecoder(max_message_size=100)
    assert decoder.feed(client(OP_BINARY, b"x" * 60, fin=False)) == []
    expect_error(decoder, b"\x80\xa9", 1009)  # continuation header claiming 41 more bytes


def test_error_keeps_events_decoded_before_it() -> None:
    decoder = FrameDecoder()
    error = expect_error(
        decoder, client(OP_TEXT, b"first") + client(OP_PING, b"p") + raw_frame(0x83), 1002
    )
    assert error.events == [Message("first"), Ping(b"p")]


def test_error_type_defaults() -> None:
    error = WebSocketError("x")
    assert (error.close_code, error.http_status, error.events) == (1002, 400, [])
    assert WebSocketError("y", 1009).close_code == 1009


# ---------------------------------------------------------------------------------------------
# permessage-deflate


def test_deflate_round_trip_with_context_takeover() -> None:
    server = PerMessageDeflate()
    peer = PerMessageDeflate()  # stands in for the client's decompressor
    messages = [b"hello " * 50, b"hello " * 50, b"", b"\x00\x01" * 3000, os.urandom(5000)]
    sizes = []
    for payload in messages:
        compressed = server.compress_message(payload)
        sizes.append(len(compressed))
        assert not compressed.endswith(b"\x00\x00\xff\xff") or not payload
        assert peer.decompress_message(compressed, 1_000_000) == payload
    assert sizes[1] < sizes[0]  # the second copy refers back to the first


def test_deflate_server_no_context_takeover() -> None:
    server = PerMessageDeflate(server_no_context_takeover=True)
    first = server.compress_message(b"abcdefgh" * 20)
    second = server.compress_message(b"abcdefgh" * 20)
    assert first == second  # no reference to the previous message
    fresh = zlib.decompressobj(-15)
    assert fresh.decompress(second + b"\x00\x00\xff\xff") == b"abcdefgh" * 20


def test_deflate_frame_uses_min_size() -> None:
    pmd = PerMessageDeflate(min_size=32)
    small = pmd.frame(OP_TEXT, b"short")
    assert small == encode_frame(OP_TEXT, b"short")
    big = pmd.frame(OP_BINARY, b"z" * 1000)
    assert big[0] == 0xC2
    assert len(big) < 100
    assert pmd.frame(OP_PING, b"p" * 100)[0] == 0x89
    events = FrameDecoder(deflate=PerMessageDeflate(), require_mask=False).feed(big + small)
    assert events == [Message(b"z" * 1000), Message("short")]


def test_decoder_decompresses_fragmented_and_mixed_messages() -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    text = ("caf\u00e9 " * 200).encode()
    first = client_deflate(text, compressor)
    second = client_deflate(text, compressor)  # relies on the first message's context
    stream = (
        client(OP_TEXT, first[:10], fin=False, rsv1=True)
        + client(OP_PING, b"between")
        + client(OP_CONTINUATION, first[10:20], fin=False)
        + client(OP_CONTINUATION, first[20:])
        + client(OP_BINARY, b"uncompressed")
        + client(OP_TEXT, second, rsv1=True)
    )
    decoder = FrameDecoder(deflate=PerMessageDeflate())
    assert decoder.feed(stream) == [
        Ping(b"between"),
        Message(text.decode()),
        Message(b"uncompressed"),
        Message(text.decode()),
    ]


def test_decoder_accepts_final_deflate_block() -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    finished = compressor.compress(b"the end") + compressor.flush(zlib.Z_FINISH)
    decoder = FrameDecoder(deflate=PerMessageDeflate())
    stream = client(OP_BINARY, finished, rsv1=True) + client(
        OP_BINARY, client_deflate(b"again"), rsv1=True
    )
    assert decoder.feed(stream) == [Message(b"the end"), Message(b"again")]


def test_decompression_bomb_is_1009() -> None:
    bomb = client_deflate(b"\x00" * 5_000_000)
    assert len(bomb) < 10_000
    decoder = FrameDecoder(max_message_size=1_000_000, deflate=PerMessageDeflate())
    expect_error(decoder, client(OP_BINARY, bomb, rsv1=True), 1009)
    with pytest.raises(WebSocketError) as info:
        PerMessageDeflate().decompress_message(client_deflate(b"x" * 101), 100)
    assert info.value.close_code == 1009
    assert PerMessageDeflate().decompress_message(client_deflate(b"x" * 100), 100) == b"x" * 100


def test_compressed_wire_size_limit_from_header() -> None:
    decoder = FrameDecoder(max_message_size=1000, deflate=PerMessageDeflate())
    expect_error(decoder, b"\xc2\xff" + struct.pack("!Q", 10_000_000), 1009)


def test_corrupt_deflate_stream_is_1002() -> None:
    decoder = FrameDecoder(deflate=PerMessageDeflate())
    expect_error(decoder, client(OP_BINARY, b"\xff\xff\xff\xff", rsv1=True), 1002)


def test_compressed_text_with_invalid_utf8_is_1007() -> None:
    decoder = FrameDecoder(deflate=PerMessageDeflate())
    expect_error(decoder, client(OP_TEXT, client_deflate(b"ok\xff"), rsv1=True), 1007)


@pytest.mark.parametrize(
    ("offer", "options", "response"),
    [
        ("permessage-deflate", {}, "permessage-deflate"),
        ("permessage-deflate; client_max_window_bits", {}, "permessage-deflate"),
        (
            "permessage-deflate; client_max_window_bits",
            {"client_max_window_bits": 10},
            "permessage-deflate; client_max_window_bits=10",
        ),
        (
            "permessage-deflate; client_max_window_bits=12",
            {},
            "permessage-deflate; client_max_window_bits=12",
        ),
        (
            'permessage-deflate; client_max_window_bits="12"',
            {"client_max_window_bits": 9},
            "permessage-deflate; client_max_window_bits=9",
        ),
        (
            "permessage-deflate; server_no_context_takeover",
            {},
            "permessage-deflate; server_no_context_takeover",
        ),
        (
            "permessage-deflate",
            {"server_no_context_takeover": True, "client_no_context_takeover": True},
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover",
        ),
        (
            "permessage-deflate; client_no_context_takeover",
            {},
            "permessage-deflate; client_no_context_takeover",
        ),
        (
            "permessage-deflate; server_max_window_bits=10",
            {},
            "permessage-deflate; server_max_window_bits=10",
        ),
        (
            "permessage-deflate; server_max_window_bits=12",
            {"server_max_window_bits": 10},
            "permessage-deflate; server_max_window_bits=10",
        ),
        (
            "permessage-deflate",
            {"server_max_window_bits": 11},
            "permessage-deflate; server_max_window_bits=11",
        ),
        (
            "x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=8, "
            "permessage-deflate; client_max_window_bits",
            {},
            "permessage-deflate",
        ),
        (
            "PerMessage-Deflate ; Server_No_Context_Takeover ; client_max_window_bits = 15",
            {},
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=15",
        ),
    ],
)
def test_negotiate_accepts(offer: str, options: dict[str, int | bool], response: str) -> None:
    result = PerMessageDeflate.negotiate(offer, **options)  # type: ignore[arg-type]
    assert result is not None
    pmd, header = result
    assert header == response
    assert pmd.server_no_context_takeover == ("server_no_context_takeover" in header)
    assert pmd.client_no_context_takeover == ("client_no_context_takeover" in header)
    if "server_max_window_bits=" in header:
        assert pmd.server_max_window_bits == int(header.split("server_max_window_bits=")[1][:2])
    else:
        assert pmd.server_max_window_bits == 15
    if "client_max_window_bits=" in header:
        assert pmd.client_max_window_bits == int(header.split("client_max_window_bits=")[1][:2])
    else:
        assert pmd.client_max_window_bits == 15


@pytest.mark.parametrize(
    "offer",
    [
        None,
        "",
        "x-webkit-deflate-frame",
        "permessage-deflate; unknown_param",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=yes",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=8",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=abc",
        "permessage-deflate; client_max_window_bits=010",
        "permessage-deflate;",
    ],
)
def test_negotiate_declines(offer: str | None) -> None:
    assert PerMessageDeflate.negotiate(offer) is None


def test_negotiated_window_bits_interoperate() -> None:
    result = PerMessageDeflate.negotiate(
        "permessage-deflate; server_max_window_bits=9; client_max_window_bits=8"
    )
    assert result is not None
    pmd, _ = result
    data = os.urandom(300) * 20
    compressed = pmd.compress_message(data)
    assert zlib.decompressobj(-9).decompress(compressed + b"\x00\x00\xff\xff") == data
    assert pmd.decompress_message(client_deflate(data), 1_000_000) == data


def test_per_message_deflate_rejects_bad_settings() -> None:
    with pytest.raises(ValueError):
        PerMessageDeflate(server_max_window_bits=8)
    with pytest.raises(ValueError):
        PerMessageDeflate(client_max_window_bits=16)
    with pytest.raises(ValueError):
        PerMessageDeflate(compress_level=10)


# ---------------------------------------------------------------------------------------------
# Interop with the `websockets` library's sans-IO client


def _websockets_handshake(
    extension_factories: list[object],
) -> tuple[object, PerMessageDeflate | None]:
    protocol = websockets.client.ClientProtocol(
        websockets.uri.parse_uri("ws://example.com/socket.io/"), extensions=extension_factories
    )
    protocol.send_request(protocol.connect())
    request = b"".join(protocol.data_to_send()).decode("latin-1")
    request_line, *header_lines = request.split("\r\n")
    method = request_line.split(" ")[0]
    headers: dict[str, str] = {}
    for line in header_lines:
        if line:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            headers[name] = (
                f"{headers[name]}, {value.strip()}" if name in headers else value.strip()
            )
    key = check_upgrade_request(method, headers)
    negotiated = PerMessageDeflate.negotiate(headers.get("sec-websocket-extensions"))
    pmd, extension = negotiated if negotiated else (None, None)
    protocol.receive_data(handshake_response(key, extension_header=extension))
    (response,) = protocol.events_received()
    assert response.status_code == 101
    assert protocol.handshake_exc is None
    return protocol, pmd


@pytest.mark.parametrize("deflate", [False, True])
def test_interop_with_websockets_client(deflate: bool) -> None:
    factories: list[object] = []
    if deflate:
        factories.append(
            websockets.extensions.permessage_deflate.ClientPerMessageDeflateFactory(
                server_max_window_bits=10, client_max_window_bits=9
            )
        )
    protocol, pmd = _websockets_handshake(factories)
    assert (pmd is not None) == deflate
    if pmd is not None:
        assert (pmd.server_max_window_bits, pmd.client_max_window_bits) == (10, 9)

    text = "h\u00e9llo " * 100
    protocol.send_text(text.encode())  # type: ignore[attr-defined]
    protocol.send_binary(b"\x01" * 70000, fin=False)  # type: ignore[attr-defined]
    protocol.send_ping(b"between")  # type: ignore[attr-defined]
    protocol.send_continuation(b"\x02" * 10, fin=True)  # type: ignore[attr-defined]
    protocol.send_close(1001, "going away")  # type: ignore[attr-defined]
    wire = b"".join(protocol.data_to_send())  # type: ignore[attr-defined]
    decoder = FrameDecoder(deflate=pmd)
    events: list[Event] = []
    for i in range(0, len(wire), 1000):
        events += decoder.feed(wire[i : i + 1000])
    assert events == [
        Message(text),
        Ping(b"between"),
        Message(b"\x01" * 70000 + b"\x02" * 10),
        Close(1001, "going away"),
    ]

    frames = [text_frame("plain"), binary_frame(b"\x00" * 200), ping_frame(b"x")]
    if pmd is not None:
        frames += [pmd.frame(OP_TEXT, text.encode()), pmd.frame(OP_TEXT, text.encode())]
    protocol.receive_data(b"".join(frames))  # type: ignore[attr-defined]
    received = [(f.opcode.value, bytes(f.data)) for f in protocol.events_received()]  # type: ignore[attr-defined]
    expected = [(OP_TEXT, b"plain"), (OP_BINARY, b"\x00" * 200), (OP_PING, b"x")]
    if pmd is not None:
        expected += [(OP_TEXT, text.encode())] * 2
    assert received == expected


# ---------------------------------------------------------------------------------------------
# Property tests


def _chunks(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({c % (len(data) + 1) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


message_strategy = st.one_of(st.text(max_size=200), st.binary(max_size=300))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    messages=st.lists(
        st.tuples(message_strategy, st.lists(st.integers(0, 400), max_size=4), st.booleans()),
        max_size=8,
    ),
    deflate=st.booleans(),
    mask=st.binary(min_size=4, max_size=4),
    cuts=st.lists(st.integers(0, 10_000), max_size=20),
    pings=st.lists(st.booleans(), max_size=8),
)
def test_property_round_trip(
    messages: list[tuple[str | bytes, list[int], bool]],
    deflate: bool,
    mask: bytes,
    cuts: list[int],
    pings: list[bool],
) -> None:
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    stream = bytearray()
    expected: list[Event] = []
    for index, (data, splits, compress) in enumerate(messages):
        compress = compress and deflate
        raw = data.encode() if isinstance(data, str) else data
        if compress:
            raw = client_deflate(raw, compressor)
        opcode = OP_TEXT if isinstance(data, str) else OP_BINARY
        pieces = _chunks(raw, splits) or [b""]
        ping = index < len(pings) and pings[index] and len(pieces) > 1
        for i, piece in enumerate(pieces):
            stream += encode_frame(
                opcode if i == 0 else OP_CONTINUATION,
                piece,
                fin=i == len(pieces) - 1,
                rsv1=compress and i == 0,
                mask=mask,
            )
            if ping and i == 0:
                stream += encode_frame(OP_PING, str(index).encode(), mask=mask)
                expected.append(Ping(str(index).encode()))
        expected.append(Message(data))
    decoder = FrameDecoder(deflate=PerMessageDeflate() if deflate else None)
    events: list[Event] = []
    for chunk in _chunks(bytes(stream), cuts):
        events += decoder.feed(chunk)
    assert events == expected
    assert not decoder.finished


@settings(max_examples=300, deadline=None)
@given(
    data=st.binary(max_size=300),
    cuts=st.lists(st.integers(0, 300), max_size=6),
    require_mask=st.booleans(),
    deflate=st.booleans(),
)
def test_property_random_bytes_only_raise_websocket_error(
    data: bytes, cuts: list[int], require_mask: bool, deflate: bool
) -> None:
    decoder = FrameDecoder(
        max_message_size=200,
        deflate=PerMessageDeflate() if deflate else None,
        require_mask=require_mask,
    )
    try:
        for chunk in _chunks(data, cuts):
            decoder.feed(chunk)
    except WebSocketError as exc:
        assert exc.close_code in (1002, 1007, 1009)
        assert decoder.feed(data) == []


@settings(max_examples=200, deadline=None)
@given(
    messages=st.lists(message_strategy, min_size=1, max_size=5),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), min_size=1, max_size=4),
)
def test_property_mutated_streams_only_raise_websocket_error(
    messages: list[str | bytes], flips: list[tuple[int, int]]
) -> None:
    pmd = PerMessageDeflate()
    stream = bytearray()
    for data in messages:
        raw = data.encode() if isinstance(data, str) else data
        opcode = OP_TEXT if isinstance(data, str) else OP_BINARY
        stream += encode_frame(opcode, client_deflate(raw), rsv1=True, mask=MASK)
        stream += encode_frame(opcode, raw, mask=MASK)
    for position, xor in flips:
        stream[position % len(stream)] ^= xor
    decoder = FrameDecoder(max_message_size=500, deflate=pmd)
    try:
        decoder.feed(bytes(stream))
    except WebSocketError as exc:
        assert exc.close_code in (1002, 1007, 1009)


@settings(max_examples=100, deadline=None)
@given(
    size=st.sampled_from([0, 1, 124, 125, 126, 127, 65534, 65535, 65536, 65537]),
    opcode=st.sampled_from([OP_TEXT, OP_BINARY, OP_CONTINUATION]),
    fin=st.booleans(),
    rsv1=st.booleans(),
    mask=st.one_of(st.none(), st.binary(min_size=4, max_size=4)),
)
def test_property_encode_frame_headers(
    size: int, opcode: int, fin: bool, rsv1: bool, mask: bytes | None
) -> None:
    payload = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    frame = encode_frame(opcode, payload, fin=fin, rsv1=rsv1, mask=mask)
    assert frame[0] == (0x80 if fin else 0) | (0x40 if rsv1 else 0) | opcode
    assert bool(frame[1] & 0x80) == (mask is not None)
    length7 = frame[1] & 0x7F
    if size <= 125:
        assert length7 == size
        header_len = 2
    elif size <= 65535:
        assert length7 == 126
        assert struct.unpack("!H", frame[2:4])[0] == size
        header_len = 4
    else:
        assert length7 == 127
        assert struct.unpack("!Q", frame[2:10])[0] == size
        header_len = 10
    if mask is not None:
        assert frame[header_len : header_len + 4] == mask
        header_len += 4
        body = frame[header_len:]
        assert bytes(b ^ mask[i % 4] for i, b in enumerate(body[:64])) == payload[:64]
    else:
        assert frame[header_len:] == payload
    assert len(frame) == header_len + size
    if opcode != OP_CONTINUATION and fin and not rsv1:
        decoder = FrameDecoder(require_mask=mask is not None)
        if opcode == OP_BINARY:
            assert decoder.feed(frame) == [Message(payload)]
            return
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            with pytest.raises(WebSocketError) as info:
                decoder.feed(frame)
            assert info.value.close_code == 1007
        else:
            assert decoder.feed(frame) == [Message(text)]
