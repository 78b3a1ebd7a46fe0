"""SocketLinkIO: a gevent websocket read and written by the hub, without a
greenlet.

Over a real socket pair: order, one send per hub turn, backpressure from a
peer that does not read, the graceful and the immediate close; reading:
what arrives is fed to the link, the end of the stream is the link's
``lost`` and closes the socket, a peer that does not read is not read from.
"""

from __future__ import annotations

import contextlib
import socket

import gevent
from gevent import socket as gsocket

from hubbub.runtime.gevent.core import SocketLinkIO


def _pair() -> tuple[object, object]:
    """The server's end (a non-blocking socket the link io owns) and the peer's."""
    a, b = socket.socketpair()
    a.setblocking(False)
    return a, gsocket.socket(fileno=b.detach())


def _read_all(sock: object, want: int) -> bytes:
    data = b""
    while len(data) < want:
        chunk = sock.recv(65536)  # type: ignore[attr-defined]
        if not chunk:
            break
        data += chunk
    return data


def test_writes_of_one_turn_go_out_in_order_in_one_send() -> None:
    a, b = _pair()
    sends: list[int] = []

    class Counting:
        """The socket, counting its sends."""

        def send(self, data: bytes) -> int:
            sends.append(len(data))
            return int(a.send(data))  # type: ignore[attr-defined]

        def fileno(self) -> int:
            return int(a.fileno())  # type: ignore[attr-defined]

        def shutdown(self, how: int) -> None:
            a.shutdown(how)  # type: ignore[attr-defined]

    io = SocketLinkIO(Counting(), close_timeout=1.0)
    for i in range(50):
        io.write(b"%03d," % i)
    assert io.buffered_bytes() == 200
    assert _read_all(b, 200) == b"".join(b"%03d," % i for i in range(50))
    assert sends == [200]


def test_write_now_sends_at_once_in_a_send_of_its_own() -> None:
    # the 101 answer goes out alone, before the frames the handshake writes
    # in the same turn (a Node ws client parses a frame that shares the
    # 101's read before its 'open' listeners have run)
    a, b = _pair()
    sends: list[bytes] = []

    class Recording:
        """The socket, recording its sends."""

        def send(self, data: bytes) -> int:
            sends.append(bytes(data))
            return int(a.send(data))  # type: ignore[attr-defined]

        def fileno(self) -> int:
            return int(a.fileno())  # type: ignore[attr-defined]

        def shutdown(self, how: int) -> None:
            a.shutdown(how)  # type: ignore[attr-defined]

    io = SocketLinkIO(Recording(), close_timeout=1.0)
    head = b"HTTP/1.1 101 Switching Protocols\r\n\r\n"
    io.write_now(head)
    assert sends == [head]  # before the turn ends
    io.write(b"frame1,")
    io.write(b"frame2")
    assert _read_all(b, len(head) + 13) == head + b"frame1,frame2"
    assert sends[1:] == [b"frame1,frame2"]
    assert io.buffered_bytes() == 0
    io.write(b"more")
    assert _read_all(b, 4) == b"more"
    a.close()  # type: ignore[attr-defined]
    b.close()  # type: ignore[attr-defined]


def test_a_peer_that_does_not_read_leaves_bytes_buffered_and_gets_them_later() -> None:
    a, b = _pair()
    io = SocketLinkIO(a, close_timeout=1.0)
    blob = b"x" * 65536
    total = 0
    for _ in range(64):  # 4 MB: more than the socket buffers hold
        io.write(blob)
        total += len(blob)
        gevent.sleep(0)
    gevent.sleep(0.05)
    assert io.buffered_bytes() > 0  # the kernel is full, the rest waits here
    assert not io.dead
    got = _read_all(b, total)
    assert len(got) == total
    gevent.sleep(0.05)
    assert io.buffered_bytes() == 0


def test_immediate_close_sends_what_is_queued_then_shuts_down() -> None:
    a, b = _pair()
    io = SocketLinkIO(a, close_timeout=5.0)
    io.write(b"last words")
    io.close(graceful=False)
    io.write(b"ignored")
    assert _read_all(b, 100) == b"last words"  # then EOF
    assert io.dead


def test_graceful_close_waits_for_the_peer_then_ends_on_its_answer() -> None:
    a, b = _pair()
    io = SocketLinkIO(a, close_timeout=5.0)
    io.write(b"bye")
    io.close(graceful=True)
    gevent.sleep(0.05)
    assert not io.dead  # waiting for the peer's close frame
    assert b.recv(100) == b"bye"  # type: ignore[attr-defined]
    io.close(graceful=False)  # the peer's close frame came
    gevent.sleep(0.05)
    assert io.dead
    assert b.recv(100) == b""


def test_graceful_close_gives_up_after_the_timeout() -> None:
    a, b = _pair()
    io = SocketLinkIO(a, close_timeout=0.05)
    io.close(graceful=True)
    with gevent.Timeout(5):
        while not io.dead:
            gevent.sleep(0.01)
    assert b.recv(100) == b""  # type: ignore[attr-defined]


class Link:
    """Stands in for the WebSocketLink the io feeds: records what it gets,
    answers every chunk with ``answer`` bytes."""

    def __init__(self, io: SocketLinkIO, answer: int = 0) -> None:
        self.io = io
        self.answer = answer
        self.fed: list[bytes] = []
        self.lost_calls = 0
        self.closing = False

    def feed(self, data: bytes) -> None:
        self.fed.append(data)
        if self.answer:
            self.io.write(b"r" * self.answer)

    def lost(self) -> None:
        self.lost_calls += 1
        self.closing = True


def test_what_arrives_is_fed_to_the_link_in_order() -> None:
    a, b = _pair()
    io = SocketLinkIO(a, close_timeout=5.0)
    link = Link(io)
    io.start(link, b"first,")
    for i in range(20):
        b.sendall(b"%02d," % i)  # type: ignore[attr-defined]
        gevent.sleep(0.001)
    with gevent.Timeout(5):
        while len(b"".join(link.fed)) < 6 + 60:
            gevent.sleep(0.01)
    assert b"".join(link.fed) == b"first," + b"".join(b"%02d," % i for i in range(20))
    assert link.lost_calls == 0
    b.close()  # type: ignore[attr-defined]


def test_the_end_of_the_stream_is_lost_then_the_queue_goes_out_then_the_socket_closes() -> None:
    a, b = _pair()
    io = SocketLinkIO(a, close_timeout=5.0)
    link = Link(io)
    io.start(link)
    io.write(b"a" * 1000)
    b.shutdown(socket.SHUT_WR)  # type: ignore[attr-defined]
    assert _read_all(b, 2000) == b"a" * 1000  # then EOF: closed by the server
    assert io.dead and link.lost_calls == 1
    assert a.fileno() == -1  # type: ignore[attr-defined]


def test_a_peer_that_does_not_read_is_not_read_from() -> None:
    a, b = _pair()
    io = SocketLinkIO(a, close_timeout=5.0)
    link = Link(io, answer=65536)  # every chunk read queues 64 KB for the peer
    io.start(link)
    sent = 0
    b.settimeout(0.5)  # type: ignore[attr-defined]
    with gevent.Timeout(10):
        while sent < 8 * 1024 * 1024:
            try:
                sent += b.send(b"q" * 65536)  # type: ignore[attr-defined]
            except TimeoutError:
                break  # the server stopped reading: the kernel's buffers filled up
            gevent.sleep(0)
    assert sent < 8 * 1024 * 1024, "the server kept reading from a peer that does not read"
    fed = len(b"".join(link.fed))
    assert io.buffered_bytes() > 0
    # once the peer reads, the server reads again
    with gevent.Timeout(10):
        while len(b"".join(link.fed)) < sent:
            with contextlib.suppress(TimeoutError):
                b.recv(1024 * 1024)  # type: ignore[attr-defined]
    assert len(b"".join(link.fed)) == sent > fed
    b.close()  # type: ignore[attr-defined]


def test_a_gone_peer_marks_the_link_dead() -> None:
    a, b = _pair()
    io = SocketLinkIO(a, close_timeout=5.0)
    b.close()  # type: ignore[attr-defined]
    with gevent.Timeout(5):
        while not io.dead:
            io.write(b"y" * 65536)
            gevent.sleep(0.01)
    assert io.buffered_bytes() == 0


class _CountingSocket:
    """One end of a socket pair, counting its sends."""

    def __init__(self, sock: object) -> None:
        self.sock = sock
        self.sends = 0

    def send(self, data: bytes, flags: int = 0) -> int:
        self.sends += 1
        return int(self.sock.send(data, flags))  # type: ignore[attr-defined]

    def fileno(self) -> int:
        return int(self.sock.fileno())  # type: ignore[attr-defined]

    def shutdown(self, how: int) -> None:
        self.sock.shutdown(how)  # type: ignore[attr-defined]


def test_a_shared_block_reaches_each_member_in_its_order_in_one_send() -> None:
    from hubbub.websocket.shared import SharedFrames

    pairs = [_pair() for _ in range(3)]
    socks = [_CountingSocket(a) for a, _ in pairs]
    ios = [SocketLinkIO(s, close_timeout=1.0) for s in socks]
    block = SharedFrames()
    for io in ios:
        block.join(io)
    block.append(b"[one]")
    ios[0].write(b"<private>")  # between two frames of the block
    block.append(b"[two]", skip=[ios[1]])  # an except
    block.append(b"[three]")
    ios[2].write(b"<last>")
    # queued bytes count the shared ones, an open slice included
    assert ios[1].buffered_bytes() == len(b"[one][three]")
    assert ios[0].buffered_bytes() == len(b"[one]<private>[two][three]")
    gevent.sleep(0)  # the hub turn ends: every member's queue goes out
    expected = [b"[one]<private>[two][three]", b"[one][three]", b"[one][two][three]<last>"]
    for (_, b), want in zip(pairs, expected, strict=True):
        assert _read_all(b, len(want)) == want
    assert [s.sends for s in socks] == [1, 1, 1]
    assert not block.fits(1)  # written out: retired, it takes no more frames
    ios[1].close(graceful=False)
    ios[1].write_shared(SharedFrames(), 0)  # closing: ignored
    assert ios[1].buffered_bytes() == 0
    for a, b in pairs:
        a.close()  # type: ignore[attr-defined]
        b.close()  # type: ignore[attr-defined]
