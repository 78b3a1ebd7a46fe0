"""The ceiling: a raw websocket server on picows with no Socket.IO on it.

    python benchmarks/servers/raw_ws.py PORT

It does the same jobs as the Socket.IO apps with the least work Python can do:
an echo returns the frame as it came, "J" joins the one room (answered "ok"),
"F<k>" sends k 100-byte event frames to every member, "C<text>" (a chat, the
many-senders scenario) sends one to every member. The event frame has the
same bytes a Socket.IO server sends for emit("msg", 100 bytes), so the wire
carries the same load; the frames of every trigger read in one loop tick are
encoded once and written to each member in one write at the end of the tick:
about the least work any server on one core can do for them. Runs in the
peers venv (benchmarks/.venv-peers).
"""

from __future__ import annotations

import asyncio
import signal
import sys

import uvloop  # type: ignore[import-not-found, unused-ignore]
from picows import (  # type: ignore[import-not-found, unused-ignore]
    WSFrame,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_create_server,
)

EVENT = b'42["msg","' + b"x" * 100 + b'"]'
# a server-to-client text frame: FIN + text, unmasked, 7-bit length
EVENT_FRAME = bytes([0x81, len(EVENT)]) + EVENT
OK = b"ok"
room: set[WSTransport] = set()
_batches: dict[int, bytes] = {}
pending = 0  # events triggered in this loop tick, written to the room at its end


def trigger(count: int) -> None:
    global pending
    if not pending:
        asyncio.get_running_loop().call_soon(flush)
    pending += count


def flush() -> None:
    """Write every event triggered during this loop tick to every member, in
    one write each: encode once, batch per tick."""
    global pending
    count, pending = pending, 0
    batch = _batches.get(count)
    if batch is None:
        batch = _batches[count] = EVENT_FRAME * count
    for member in room:
        member.underlying_transport.write(batch)


class Peer(WSListener):  # type: ignore[misc, unused-ignore]
    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        kind = frame.msg_type
        if kind == WSMsgType.CLOSE:
            transport.send_close(frame.get_close_code(), frame.get_close_message())
            transport.disconnect()
            return
        if kind != WSMsgType.TEXT and kind != WSMsgType.BINARY:
            return
        data = frame.get_payload_as_bytes()
        if data == b"J":
            room.add(transport)
            transport.send(WSMsgType.TEXT, OK)
        elif data[:1] == b"F":
            trigger(int(data[1:]))
        elif data[:1] == b"C":
            trigger(1)  # the load generator's chats carry 100 bytes, as EVENT
        else:
            transport.send(kind, data)

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        room.discard(transport)


async def main(port: int) -> None:
    # A 1 KB initial read buffer, not picows' 16 KB: every message here is
    # ~120 bytes, and the ceiling should show the least memory a connection
    # needs. uvloop's own transports, not aiofastnet's: the loop hubbub and the
    # other Python servers run on, as fast here and lighter per connection.
    server = await ws_create_server(
        lambda request: Peer(),
        "127.0.0.1",
        port,
        backlog=2048,
        read_buffer_init_size=1024,
        use_aiofastnet=False,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1])))
