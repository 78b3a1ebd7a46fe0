"""The slow-consumer check decides as if it measured the buffer every time.

Client._admit measures a session's buffered bytes only once an upper bound
of them (the last measurement plus what was written since) passes a limit.
These properties drive a client that reads now and then, or never, with
broadcasts and single emits of text of any script and of binary data, and
hold every decision to the rule measured before each packet: volatile
packets are dropped over volatile_threshold, and past max_buffered_bytes
the client is disconnected (by the next packet that is not volatile).
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from sio_helpers import RawClient, run

from hubbub import Server

LIMIT = 4_000
VOLATILE = 1_000

# payloads of 1 to 4 UTF-8 bytes per character, or binary (an attachment)
payload = st.one_of(
    st.builds(lambda c, n: c * n, st.sampled_from(["a", "\u00e9", "\u20ac", "\U0001f600"]),
              st.integers(0, 500)),
    st.builds(lambda n: b"\x00" * n, st.integers(0, 500)),
)
step = st.one_of(
    st.just(("read", None, False, False)),
    *[st.tuples(st.just("emit"), payload, st.booleans(), st.booleans())] * 4,  # mostly emits
)


def _outcome(steps: list[tuple[str, Any, bool, bool]]) -> tuple[list[Any], bool, list[Any]]:
    sio = Server(max_buffered_bytes=LIMIT, volatile_threshold=VOLATILE)

    async def main() -> tuple[list[Any], bool, list[Any]]:
        client = RawClient(sio)
        client.connect()
        (socket,) = sio.sockets.sockets.values()
        peer = client.peer
        peer.reading = False
        expected: list[Any] = []
        closed = False
        for i, (kind, data, volatile, broadcast) in enumerate(steps):
            if kind == "read":
                peer.buffered = 0
                continue
            # the rule, measured before the packet
            if not closed:
                if volatile and peer.buffered > VOLATILE:
                    pass  # dropped (a volatile packet never closes the connection)
                elif peer.buffered > LIMIT:
                    closed = True
                else:
                    expected.append(i)
            target: Any = sio if broadcast else socket
            if volatile:
                target = target.volatile
            target.emit("e", i, data)
        got = [e[1] for e in client.events() if e[0] == "e"]
        return got, peer.closed, [expected, closed]

    return run(main())


@settings(max_examples=150, deadline=None)
@given(steps=st.lists(step, max_size=60))
def test_admission_is_the_measured_rule(steps: list[tuple[str, Any, bool, bool]]) -> None:
    got, closed, (expected, expected_closed) = _outcome(steps)
    assert got == expected
    assert closed == expected_closed
