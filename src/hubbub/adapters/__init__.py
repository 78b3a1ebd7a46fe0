"""Adapters: who is where (rooms <-> sockets), locally or across a cluster.

The Redis adapters (``RedisAdapter``, ``ShardedRedisAdapter``,
``RedisStreamsAdapter``) need redis-py and msgpack (``pip install
hubbub[redis]``); they are imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hubbub.adapters.base import (
    Adapter,
    AdapterNamespace,
    AdapterSocket,
    BroadcastFlags,
    BroadcastOptions,
    PersistedSession,
)
from hubbub.adapters.memory import InMemoryAdapter
from hubbub.adapters.url import adapter_from_url

if TYPE_CHECKING:
    from hubbub.adapters.redis.classic import RedisAdapter
    from hubbub.adapters.redis.sharded import ShardedRedisAdapter
    from hubbub.adapters.redis.streams import RedisStreamsAdapter

__all__ = [
    "Adapter",
    "AdapterNamespace",
    "AdapterSocket",
    "BroadcastFlags",
    "BroadcastOptions",
    "InMemoryAdapter",
    "PersistedSession",
    "RedisAdapter",
    "RedisStreamsAdapter",
    "ShardedRedisAdapter",
    "adapter_from_url",
]

_REDIS = frozenset({"RedisAdapter", "ShardedRedisAdapter", "RedisStreamsAdapter"})


def __getattr__(name: str) -> Any:
    if name not in _REDIS:
        raise AttributeError(f"module 'hubbub.adapters' has no attribute {name!r}")
    from hubbub.adapters import redis  # imports redis-py: only when asked for

    return getattr(redis, name)
