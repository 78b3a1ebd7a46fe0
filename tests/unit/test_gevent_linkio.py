"""SocketLinkIO: the gevent websocket's writes without a writer greenlet.

Over a real socket pair: order, one send per hub turn, backpressure from a
peer that does not read, the graceful and the immediate close, finish().
"""

from __future__ import annotations

import gevent
from gevent import socket as gsocket

from hubbub.runtime.gevent.core import SocketLinkIO


def _pair() -> tuple[object, object]:
    a, b = gsocket.socketpair()
    return a, b


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

        def send(self, data: bytes, flags: int = 0, timeout: object = None) -> int:
            sends.append(len(data))
            return int(a.send(data, flags, timeout))  # type: ignore[attr-defined]

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
    assert b.recv(100) == b""  # type: ignore[attr-defined]


def test_graceful_close_gives_up_after_the_timeout() -> None:
    a, b = _pair()
    io = SocketLinkIO(a, close_timeout=0.05)
    io.close(graceful=True)
    with gevent.Timeout(5):
        while not io.dead:
            gevent.sleep(0.01)
    assert b.recv(100) == b""  # type: ignore[attr-defined]


def test_finish_flushes_then_shuts_down() -> None:
    a, b = _pair()
    io = SocketLinkIO(a, close_timeout=5.0)
    io.write(b"a" * 1000)
    io.finish()
    assert io.dead
    assert _read_all(b, 2000) == b"a" * 1000


def test_a_gone_peer_marks_the_link_dead() -> None:
    a, b = _pair()
    io = SocketLinkIO(a, close_timeout=5.0)
    b.close()  # type: ignore[attr-defined]
    with gevent.Timeout(5):
        while not io.dead:
            io.write(b"y" * 65536)
            gevent.sleep(0.01)
    assert io.buffered_bytes() == 0
