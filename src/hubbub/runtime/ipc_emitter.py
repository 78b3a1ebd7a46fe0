"""``hubbub.IpcEmitter``: emit into the workers of ``hubbub run --workers N``
on the IPC adapter, from any process of the same machine.

Start the workers with a known directory for their link sockets
(``hubbub run --workers 4 --ipc-dir /run/myapp app:sio``, or
``hubbub.run(..., workers=4, ipc_dir="/run/myapp")``); a cron script, a
web view or a task then reaches every worker's clients::

    emitter = hubbub.Emitter("ipc:///run/myapp")     # or hubbub.IpcEmitter("/run/myapp")
    emitter.to("room1").except_("room2").emit("news", {"title": "..."})
    emitter.of("/admin").in_("vip").disconnect_sockets(close=True)
    emitter.server_side_emit("reload", 42)

Each call connects to every worker's socket in the directory, writes one
cluster adapter message (``adapters.wire.ipc`` frames, as the workers send
each other) and closes: a plain blocking class with no state. A worker that
is down (being replaced) misses the message, as a Redis subscriber that is
down misses a PUBLISH.
"""

from __future__ import annotations

import contextlib
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from hubbub.adapters.emitting import Emitting, Selecting, namespace_name
from hubbub.adapters.wire.broadcast import opts_to_wire, packet_to_wire
from hubbub.adapters.wire.cluster import MessageType
from hubbub.adapters.wire.ipc import encode_frame
from hubbub.socketio.codec import Packet, PacketType, check_event
from hubbub.types import BroadcastOptions

__all__ = ["IpcEmitter", "IpcEmitterOperator"]

# an adapter uid no worker has: every worker takes the message as another's
EMITTER_UID = "emitter"
_TIMEOUT = 2.0


def _send(directory: str, frame: bytes) -> int:
    """Write ``frame`` to every worker's socket in ``directory``; how many took it."""
    reached = 0
    for name in sorted(os.listdir(directory)):
        index, _, ext = name.partition(".")
        if ext != "sock" or not index.isdigit():
            continue
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(_TIMEOUT)
        try:
            sock.connect(os.path.join(directory, name))
            sock.sendall(frame)
            sock.shutdown(socket.SHUT_WR)
            # the worker closes once it read the frame: wait for that, so a
            # process that exits right after the call loses nothing
            with contextlib.suppress(OSError):
                sock.recv(1)
            reached += 1
        except OSError:
            pass  # a worker that is not there (being replaced) misses it
        finally:
            sock.close()
    return reached


@dataclass(frozen=True)
class IpcEmitterOperator(Selecting):
    """A selection of rooms and flags; each call returns a new one."""

    directory: str
    nsp: str
    opts: BroadcastOptions = field(default_factory=BroadcastOptions)

    @classmethod
    def whole(cls, directory: str, nsp: str) -> IpcEmitterOperator:
        """Every socket of ``nsp`` in the workers linked in ``directory``."""
        return cls(directory, namespace_name(nsp))

    def of(self, nsp: str) -> IpcEmitterOperator:
        return IpcEmitterOperator.whole(self.directory, nsp)

    def _publish(self, mtype: MessageType, data: dict[str, Any]) -> int:
        message = {"type": int(mtype), "uid": EMITTER_UID, "nsp": self.nsp, "data": data}
        return _send(self.directory, encode_frame({"k": "a", "m": message}))

    def emit(self, event: str, *args: Any) -> int:
        """Emit to the selected sockets; returns how many workers took it."""
        check_event(event)
        packet = Packet(PacketType.EVENT, self.nsp, [event, *args])
        return self._publish(
            MessageType.BROADCAST,
            {"packet": packet_to_wire(packet), "opts": opts_to_wire(self.opts)},
        )

    def sockets_join(self, *rooms: str) -> int:
        """The selected sockets (of every worker) join ``rooms``."""
        return self._publish(
            MessageType.SOCKETS_JOIN, {"opts": opts_to_wire(self.opts), "rooms": list(rooms)}
        )

    def sockets_leave(self, *rooms: str) -> int:
        """The selected sockets (of every worker) leave ``rooms``."""
        return self._publish(
            MessageType.SOCKETS_LEAVE, {"opts": opts_to_wire(self.opts), "rooms": list(rooms)}
        )

    def disconnect_sockets(self, close: bool = False) -> int:
        """Disconnect the selected sockets; ``close`` closes their connections."""
        return self._publish(
            MessageType.DISCONNECT_SOCKETS, {"opts": opts_to_wire(self.opts), "close": close}
        )

    def server_side_emit(self, event: str, *args: Any) -> int:
        """``@sio.on_server_side_emit(event)`` handlers of every worker get ``args``."""
        check_event(event)
        return self._publish(MessageType.SERVER_SIDE_EMIT, {"packet": [event, *args]})


class IpcEmitter(Emitting):
    """Emits into the namespace ``nsp`` ("/" by default) of the workers whose
    link sockets are in ``directory`` (``--ipc-dir``); the same as
    ``hubbub.Emitter("ipc://" + directory)``."""

    def __init__(self, directory: str, *, nsp: str = "/") -> None:
        self.directory = directory
        self._selection = IpcEmitterOperator.whole(directory, nsp)
