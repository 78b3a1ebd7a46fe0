"""Engine.IO sessions write cached frames straight to a websocket link's
sink: only while the link may take them as they are.

The link (hubbub.websocket.link) is driven sans-IO: a recording
LinkIO stands for the runtime's connection, and what it is given is decoded
as a client would.
"""

from __future__ import annotations

import os
import zlib

from hubbub import Server
from hubbub.http import HttpRequest
from hubbub.runtime.contract import WebSocketAccept, endpoint_of
from hubbub.websocket.frames import OP_CLOSE, OP_TEXT, encode_frame
from hubbub.websocket.link import WebSocketLink, accept_websocket

EVENT = "x" * 200  # over permessage-deflate's min_size: compressed when it is on


class RecordingIO:
    """The runtime's side of the connection: keeps the bytes written."""

    shared_sink = None  # no shared blocks of frames

    def __init__(self) -> None:
        self.data = b""
        self.closed = False

    def write(self, data: bytes) -> None:
        self.data += data

    def close(self, graceful: bool) -> None:
        self.closed = True

    def buffered_bytes(self) -> int:
        return 0


def _open(compression: bool) -> tuple[Server, WebSocketLink, RecordingIO]:
    """A websocket connected to '/' (handshake, link open, CONNECT)."""
    sio = Server(websocket_compression=compression)
    engine = endpoint_of(sio)
    headers = {
        "upgrade": "websocket",
        "connection": "Upgrade",
        "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
        "sec-websocket-version": "13",
    }
    if compression:
        headers["sec-websocket-extensions"] = "permessage-deflate"
    req = HttpRequest(
        method="GET",
        path=engine.path,
        query_string="EIO=4&transport=websocket",
        headers=headers,
        remote_addr="127.0.0.1",
    )
    accept = engine.handle_request(req, 0.0)
    assert isinstance(accept, WebSocketAccept)
    io = RecordingIO()
    link = accept_websocket(engine, req, accept, io, lambda: 0.0).link
    assert link.open()
    link.feed(encode_frame(OP_TEXT, b"40", mask=os.urandom(4)))
    return sio, link, io


def _client_view(data: bytes) -> list[tuple[bool, str]]:
    """What a client reads from the server's bytes: (compressed, text) per
    message, inflated when it carries RSV1; (False, "close") for a close."""
    out: list[tuple[bool, str]] = []
    i = 0
    inflate = zlib.decompressobj(-15)
    while i < len(data):
        first, second = data[i], data[i + 1]
        length, i = second & 0x7F, i + 2
        if length == 126:
            length, i = int.from_bytes(data[i : i + 2], "big"), i + 2
        elif length == 127:
            length, i = int.from_bytes(data[i : i + 8], "big"), i + 8
        payload, i = data[i : i + length], i + length
        opcode = first & 0x0F
        if opcode == OP_CLOSE:
            out.append((False, "close"))
            continue
        rsv1 = bool(first & 0x40)
        if rsv1:
            payload = inflate.decompress(payload + b"\x00\x00\xff\xff")
        out.append((rsv1, payload.decode()))
    return out


def test_plain_links_take_frames_through_the_sink() -> None:
    sio, link, io = _open(compression=False)
    assert link.sink is io
    before = len(io.data)
    sio.emit("e", EVENT)  # a broadcast
    (socket,) = sio.sockets.sockets.values()
    socket.emit("e", 1)  # one client's packet
    assert _client_view(io.data[before:]) == [(False, f'42["e","{EVENT}"]'), (False, '42["e",1]')]


def test_compressed_links_have_no_sink_and_frames_are_compressed() -> None:
    sio, link, io = _open(compression=True)
    assert link.deflate is not None
    assert link.sink is None
    before = len(io.data)
    sio.emit("e", EVENT)
    (socket,) = sio.sockets.sockets.values()
    socket.emit("e", EVENT)
    # from the first byte: the compression context carries over between messages
    assert _client_view(io.data)[-2:] == [(True, f'42["e","{EVENT}"]')] * 2
    assert len(io.data) - before < 2 * len(EVENT)


def test_no_sink_and_nothing_written_once_the_server_closes() -> None:
    sio, link, io = _open(compression=False)
    (socket,) = sio.sockets.sockets.values()
    socket.disconnect(close=True)
    assert link.sink is None
    after_close = len(io.data)
    assert _client_view(io.data)[-1] == (False, "close")
    sio.emit("e", 1)
    assert len(io.data) == after_close


def test_no_sink_once_the_client_closes() -> None:
    sio, link, io = _open(compression=False)
    link.feed(encode_frame(OP_CLOSE, (1000).to_bytes(2, "big"), mask=os.urandom(4)))
    assert link.sink is None
    assert io.closed
    written = len(io.data)
    sio.emit("e", 1)
    assert len(io.data) == written  # the session let go of the link
    assert _client_view(io.data)[-1] == (False, "close")  # the answer to the client's close
