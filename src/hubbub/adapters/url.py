"""``adapter_from_url``: an adapter factory from the ``--adapter URL`` flag.

* ``memory://`` (or nothing): the in-memory adapter, one process;
* ``redis://host:port/db``: :class:`RedisAdapter` (classic pub/sub);
* ``redis+sharded://host:port/db``: :class:`ShardedRedisAdapter` (Redis 7+);
* ``redis+streams://host:port/db``: :class:`RedisStreamsAdapter`.

``rediss+...://`` selects TLS as ``rediss://`` does. The Redis modules are
imported only when a Redis URL is given (redis-py is an optional extra).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubbub.adapters.base import Adapter, AdapterNamespace

AdapterFactory = Callable[["AdapterNamespace"], "Adapter"]


def adapter_from_url(url: str | None, **options: Any) -> AdapterFactory:
    """The adapter factory for ``url``; ``options`` go to the adapter."""
    if not url or url.startswith("memory:"):
        from hubbub.adapters.memory import InMemoryAdapter

        return InMemoryAdapter
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ValueError(f"not an adapter URL: {url!r}")
    base, _, variant = scheme.partition("+")
    if base not in ("redis", "rediss"):
        raise ValueError(
            f"unknown adapter scheme {scheme!r}: use memory, redis, redis+sharded or redis+streams"
        )
    redis_url = f"{base}://{rest}"
    if variant == "":
        from hubbub.adapters.redis.classic import RedisAdapter

        return RedisAdapter.factory(redis_url, **options)
    if variant == "sharded":
        from hubbub.adapters.redis.sharded import ShardedRedisAdapter

        return ShardedRedisAdapter.factory(redis_url, **options)
    if variant == "streams":
        from hubbub.adapters.redis.streams import RedisStreamsAdapter

        return RedisStreamsAdapter.factory(redis_url, **options)
    raise ValueError(
        f"unknown Redis adapter {variant!r}: use redis, redis+sharded or redis+streams"
    )
