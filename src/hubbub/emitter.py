"""``hubbub.Emitter``: emit into a cluster from a process that runs no server.

Where the emitter writes is named by its target:

* ``redis://...`` (``rediss://``, ``unix://`` for Redis on a Unix socket),
  or a ``redis.Redis``: a cluster on Redis, hubbub's servers and Node's
  alike (``adapters.redis.emitter``, @socket.io/redis-emitter's format);
* ``ipc:///run/myapp``: the workers of ``hubbub run --workers N --ipc-dir
  /run/myapp`` on their IPC adapter, on this machine (``runtime.ipc_emitter``).

The calls are the same either way (:class:`hubbub.adapters.emitting.Emitting`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hubbub.adapters.emitting import Emitting
from hubbub.runtime.ipc_emitter import IpcEmitter, IpcEmitterOperator

if TYPE_CHECKING:
    import redis

__all__ = ["IPC_SCHEME", "Emitter", "IpcEmitter"]

IPC_SCHEME = "ipc://"


class Emitter(Emitting):
    """Emits into the namespace ``nsp`` ("/" by default) of a cluster, from
    any process: a job, a web view, a script. No server runs here.

    ```python
    emitter = hubbub.Emitter("redis://localhost:6379/0")   # or "ipc:///run/myapp"
    emitter.to("room").except_("muted").emit("news", 1)
    emitter.of("/admin").in_("vip").disconnect_sockets(close=True)
    emitter.server_side_emit("reload", 42)
    ```

    ``target`` is a Redis URL or a ``redis.Redis`` (needs ``pip install
    hubbub[redis]``; ``key`` is the servers' channel prefix, ``RedisAdapter``'s
    ``key``), or ``ipc://`` and the ``--ipc-dir`` of ``hubbub run --workers
    N`` on the IPC adapter. Every call is synchronous and returns how many
    servers (workers) took the message.
    """

    def __init__(
        self,
        target: redis.Redis | str = "redis://localhost:6379/0",
        *,
        key: str = "socket.io",
        nsp: str = "/",
    ) -> None:
        self.client: redis.Redis | None = None
        if isinstance(target, str) and target.startswith(IPC_SCHEME):
            directory = target[len(IPC_SCHEME) :]
            if not directory:
                raise ValueError(f"{target!r} names no directory: use ipc:///path/to/ipc-dir")
            self._selection = IpcEmitterOperator.whole(directory, nsp)
            return
        # redis-py is an optional extra: imported only for a Redis target
        import redis as redis_py

        from hubbub.adapters.redis.emitter import EmitterOperator

        if isinstance(target, str):
            target = redis_py.Redis.from_url(target)
        self.client = target
        self._selection = EmitterOperator.whole(target, nsp, key)

    def close(self) -> None:
        """Close the Redis connection, if there is one."""
        if self.client is not None:
            self.client.close()
