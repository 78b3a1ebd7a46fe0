"""The decoders' fast paths give exactly what their general paths give.

Hot paths take shortcuts for the common case (one whole frame per read, a
plain text Engine.IO message); these properties hold them to the general
code: the same events, or the same error.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.websocket.frames import (
    OP_BINARY,
    OP_TEXT,
    FrameDecoder,
    WebSocketError,
    encode_frame,
)


def _outcome(chunks: list[bytes], max_size: int) -> object:
    decoder = FrameDecoder(max_message_size=max_size)
    events: list[object] = []
    try:
        for chunk in chunks:
            events.extend(decoder.feed(chunk))
    except WebSocketError as exc:
        return ("error", exc.close_code, events + exc.events)
    return events


def _whole_and_split(data: bytes, max_size: int) -> tuple[object, object]:
    # one chunk takes the fast path when it can; a first byte alone never does
    return _outcome([data], max_size), _outcome([data[:1], data[1:]], max_size)


@settings(max_examples=300)
@given(
    payload=st.one_of(
        st.text(max_size=300).map(lambda t: t.encode("utf-8")),
        st.binary(max_size=300),  # often invalid UTF-8
    ),
    opcode=st.sampled_from([OP_TEXT, OP_BINARY]),
    fin=st.booleans(),
    mask=st.binary(min_size=4, max_size=4),
    max_size=st.sampled_from([10, 125, 126, 1000]),
)
def test_whole_frame_fast_path_matches_general_parser(
    payload: bytes, opcode: int, fin: bool, mask: bytes, max_size: int
) -> None:
    frame = encode_frame(opcode, payload, fin=fin, mask=mask)
    whole, split = _whole_and_split(frame, max_size)
    assert whole == split


@settings(max_examples=300)
@given(data=st.binary(min_size=6, max_size=200))
def test_random_bytes_fast_path_matches_general_parser(data: bytes) -> None:
    # a text-frame header with random rest: lengths that do and do not fit
    data = b"\x81" + data[1:]
    whole, split = _whole_and_split(data, 1000)
    assert whole == split


def test_unmasked_and_64_bit_frames_take_the_general_path() -> None:
    unmasked = encode_frame(OP_TEXT, b"hello")
    assert _outcome([unmasked], 1000) == ("error", 1002, [])
    # a 64-bit length field that happens to match the chunk's size
    body = b"x" * 127
    fake = b"\x81\xff" + b"\x00\x00\x00\x00" + body
    assert _whole_and_split(fake, 1000)[0] == _whole_and_split(fake, 1000)[1]
