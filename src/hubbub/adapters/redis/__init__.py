"""A cluster on Redis, wire-compatible with Node's adapters and emitter.

``RedisAdapter`` (classic pub/sub, @socket.io/redis-adapter),
``ShardedRedisAdapter`` (sharded pub/sub), ``RedisStreamsAdapter``
(@socket.io/redis-streams-adapter) and ``Emitter`` (@socket.io/redis-emitter)
need redis-py and msgpack (``pip install hubbub[redis]``): each is imported
on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubbub.adapters.redis.classic import RedisAdapter
    from hubbub.adapters.redis.emitter import Emitter
    from hubbub.adapters.redis.sharded import ShardedRedisAdapter
    from hubbub.adapters.redis.streams import RedisStreamsAdapter

__all__ = ["Emitter", "RedisAdapter", "RedisStreamsAdapter", "ShardedRedisAdapter"]

_LAZY = {
    "RedisAdapter": "hubbub.adapters.redis.classic",
    "ShardedRedisAdapter": "hubbub.adapters.redis.sharded",
    "RedisStreamsAdapter": "hubbub.adapters.redis.streams",
    "Emitter": "hubbub.adapters.redis.emitter",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hubbub.adapters.redis' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
