"""The frames the workers exchange (adapters/wire/ipc.py), sans-IO."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hubbub.adapters.wire.ipc import (
    MAX_FRAME,
    FrameDecoder,
    IpcDecodeError,
    encode_frame,
    request_from_wire,
    request_to_wire,
    response_from_wire,
    response_to_wire,
)
from hubbub.adapters.wire.notepack import pack
from hubbub.http import HttpRequest, HttpResponse

MESSAGES = [
    {"k": "hello", "w": 3},
    {
        "k": "a",
        "m": {
            "uid": "1-abc",
            "nsp": "/",
            "type": 3,
            "data": {"packet": {"type": 2, "data": ["ev", b"\x00\xff", {"x": [1, 2.5, None]}]}},
        },
    },
    {"k": "r", "id": 7, "st": 200, "h": [["Content-Type", "text/plain"]], "b": b"ok"},
    {"k": "x", "id": 7},
]


@given(st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=30))
def test_frames_survive_any_cut(cuts: list[int]) -> None:
    stream = b"".join(encode_frame(m) for m in MESSAGES)
    decoder = FrameDecoder()
    out = []
    pos = 0
    i = 0
    while pos < len(stream):
        step = cuts[i % len(cuts)]
        out.extend(decoder.feed(stream[pos : pos + step]))
        pos += step
        i += 1
    assert out == MESSAGES
    assert decoder.pending == 0


def test_a_request_crosses_whole() -> None:
    req = HttpRequest(
        "POST",
        "/socket.io/",
        "EIO=4&transport=polling&sid=abc",
        {"content-type": "text/plain", "cookie": "io=abc"},
        b"4hello\x1e4world",
        "10.0.0.1",
        True,
        False,
    )
    (frame,) = FrameDecoder().feed(encode_frame({"k": "q", "id": 1, "req": request_to_wire(req)}))
    back = request_from_wire(frame["req"])
    assert (back.method, back.path, back.query_string, back.headers, back.body) == (
        req.method,
        req.path,
        req.query_string,
        req.headers,
        req.body,
    )
    assert (back.remote_addr, back.secure, back.body_too_large) == ("10.0.0.1", True, False)
    assert back.query["sid"] == "abc"


def test_a_response_crosses_whole() -> None:
    response = HttpResponse(400, [("Content-Type", "application/json")], b'{"code":1}')
    (frame,) = FrameDecoder().feed(encode_frame({"k": "r", "id": 2, **response_to_wire(response)}))
    assert response_from_wire(frame) == response


def _raw(body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + body


@pytest.mark.parametrize(
    "data",
    [
        _raw(b"\xc1"),  # never used in MessagePack
        _raw(pack([1, 2])),  # not a map
        _raw(pack({"w": 1})),  # no kind
        (MAX_FRAME + 1).to_bytes(4, "big"),
    ],
)
def test_malformed_frames_raise(data: bytes) -> None:
    with pytest.raises(IpcDecodeError):
        FrameDecoder().feed(data)


@pytest.mark.parametrize(
    "value",
    [None, [], ["GET"], ["GET", "/", "", [["a", 1]], b"", None, False, False],
     ["GET", "/", "", [], "text body", None, False, False]],
)
def test_malformed_requests_raise(value: object) -> None:
    with pytest.raises(IpcDecodeError):
        request_from_wire(value)


def test_malformed_responses_raise() -> None:
    with pytest.raises(IpcDecodeError):
        response_from_wire({"k": "r", "st": "200"})
    with pytest.raises(IpcDecodeError):
        response_from_wire({"k": "r", "st": 200, "h": [[1, 2]]})
