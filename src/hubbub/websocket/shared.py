"""Frames shared by the members of one room for one tick, sans-IO.

A broadcast to a room already writes the same frame bytes to every member;
what still costs per member is the call that queues them. A
:class:`SharedFrames` block removes it for the broadcasts after the first:
the frames of one tick for one group of recipients are appended to one
buffer, and each member's write queue holds the block (as its last entry)
and where its part of the buffer starts, instead of its own copy. When the
member's queue is written out, its part is cut from the buffer: one write
per member per tick, whatever the number of broadcasts.

Order per connection stays exact. A member takes part in at most one block
at a time; anything else written to it (a unicast, an ack, a frame of
another block) first ends its part at the block's current length (the part
so far, copied, takes the block's place in its queue) and puts the member
on the block's ``detached`` list. The block's next frame makes every
detached member take part again from that frame on. A member the frame
must skip (a broadcast's ``except``) is detached before the frame and stays
detached until the next frame that is its.

A block is retired when one of its members writes its queue out (the end of
the tick, in practice): it grows no more and its bytes are frozen, so every
member cuts its part from the same ``bytes`` (a member whose part is the
whole block writes those very bytes). A block never holds more than
:data:`SHARED_LIMIT` bytes; frames over :data:`MAX_SHARED_FRAME` bytes are
not shared.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

# a block's capacity: also what a member's slow-consumer bound reserves for it
SHARED_LIMIT = 64 * 1024
# frames over this size go each member's own way
MAX_SHARED_FRAME = 16 * 1024


class SharedSink(Protocol):
    """A connection's write queue that can hold slices of shared blocks
    (a runtime's websocket writer)."""

    def write_shared(self, block: SharedFrames, start: int) -> None:
        """Queue ``block``'s bytes from ``start`` on (those appended later
        included), ending the part of any other block the queue holds.
        Ignored once the connection is closing."""
        ...

    def end_shared(self) -> None:
        """End the queue's part of its block (if any) at the block's current
        length, and join the block's ``detached`` list."""
        ...


class SharedFrames:
    """The frames of one tick for one group of recipients."""

    __slots__ = ("buf", "detached", "frozen")

    def __init__(self) -> None:
        self.buf = bytearray()
        # members whose part ended before the buffer's end (see the module)
        self.detached: list[SharedSink] = []
        # the bytes once retired; None while the block grows
        self.frozen: bytes | None = None

    def fits(self, size: int) -> bool:
        """Whether a frame of ``size`` bytes can still go into this block."""
        return self.frozen is None and len(self.buf) + size <= SHARED_LIMIT

    def join(self, sink: SharedSink) -> None:
        """Make ``sink`` a member from the next frame on."""
        sink.write_shared(self, len(self.buf))

    def append(self, frame: bytes, skip: Collection[SharedSink] = ()) -> None:
        """Add ``frame`` for every member but those in ``skip``."""
        position = len(self.buf)
        detached = self.detached
        if skip:
            if detached:
                self.detached = [sink for sink in detached if sink in skip]
                for sink in detached:
                    if sink not in skip:
                        sink.write_shared(self, position)
            for sink in skip:
                if sink not in self.detached:
                    # in the block until now: ending its part detaches it
                    sink.end_shared()
        elif detached:
            self.detached = []
            for sink in detached:
                sink.write_shared(self, position)
        self.buf += frame

    def freeze(self) -> bytes:
        frozen = self.frozen
        if frozen is None:
            frozen = self.frozen = bytes(self.buf)
        return frozen
