"""One process's link to Redis, shared by the adapters of every namespace.

The Redis I/O runs in OS threads with the synchronous redis-py client, so the
same code serves asyncio and gevent (monkey-patched or not):

* a subscriber thread owns the pub/sub connection (SUBSCRIBE, PSUBSCRIBE or
  SSUBSCRIBE) and hands each batch of received messages to the server's loop
  with ``runtime.call_soon_threadsafe``;
* a publisher thread runs the commands the loop enqueues (PUBLISH, XADD,
  PUBSUB NUMSUB, ...); the loop never waits on Redis, and a command's result
  comes back to the loop the same way. When idle it refreshes the
  subscriber counts behind ``server_count()``;
* an optional stream reader thread runs XREAD BLOCK for the streams adapter.

Each thread reconnects on its own with exponential backoff and logs what
happened on the ``hubbub.redis`` logger. While Redis is unreachable,
publishing fails fast (the message is dropped: pub/sub keeps nothing for
absent subscribers anyway) so local delivery never waits for Redis.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from hubbub.instrumentation import Observer

if TYPE_CHECKING:
    from hubbub.runtime.contract import Scheduler

log = logging.getLogger("hubbub.redis")

# handler(channel, payload) for pub/sub; handler(entries) for a stream
MessageHandler = Callable[[str, bytes], None]
StreamHandler = Callable[[list[tuple[str, dict[bytes, bytes]]]], None]
ResultCallback = Callable[[Any, Exception | None], None]

_POLL = 0.05  # how long the subscriber waits for a message before applying changes
_BATCH = 256  # messages handed to the loop at once
_CONNECTION_ERRORS = (redis.ConnectionError, redis.TimeoutError, OSError)


class RedisUnavailable(redis.ConnectionError):
    """Raised to a command's callback while the link waits to reconnect."""


@dataclass(slots=True)
class _Job:
    fn: Callable[[redis.Redis], Any]
    on_result: ResultCallback | None


class _Backoff:
    """Exponential backoff with jitter between ``low`` and ``high`` seconds."""

    def __init__(self, low: float, high: float) -> None:
        self.low = low
        self.high = high
        self.attempts = 0
        self.since = 0.0

    def fail(self) -> float:
        if self.attempts == 0:
            self.since = time.monotonic()
        self.attempts += 1
        delay = min(self.high, self.low * 2 ** (self.attempts - 1))
        return float(delay * (0.75 + random.random() / 2))

    def reset(self) -> tuple[int, float]:
        """(failed attempts, seconds down) before this success."""
        attempts, down = self.attempts, time.monotonic() - self.since if self.attempts else 0.0
        self.attempts = 0
        return attempts, down


class RedisLink:
    """Connections to one Redis server for one hubbub server (see the module doc)."""

    def __init__(
        self,
        url: str,
        *,
        sharded: bool = False,
        backoff: tuple[float, float] = (0.1, 5.0),
        count_interval: float = 0.5,
        name: str = "redis",
    ) -> None:
        self.url = url
        self.sharded = sharded
        self.name = name
        self._backoff_range = backoff
        self.count_interval = count_interval
        self._scheduler: Scheduler | None = None
        self._lock = threading.Lock()
        self._channels: dict[str, MessageHandler] = {}
        self._patterns: dict[str, MessageHandler] = {}
        self._streams: dict[str, StreamHandler] = {}
        self._changes: queue.SimpleQueue[tuple[bool, bool, str]] = queue.SimpleQueue()
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._counted: dict[str, int] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._reader: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"<RedisLink {self._safe_url()}>"

    def _safe_url(self) -> str:
        # never log a password
        _head, at, tail = self.url.rpartition("@")
        return f"{self.url.split('://', 1)[0]}://***@{tail}" if at else self.url

    # -- set-up ---------------------------------------------------------------------------

    def attach(self, scheduler: Scheduler) -> None:
        """Bind to the server whose loop gets the messages; starts the threads."""
        if self._scheduler is not None and self._scheduler is not scheduler:
            raise RuntimeError("a Redis adapter factory serves one hubbub.Server only")
        if self._scheduler is not None:
            return
        self._scheduler = scheduler
        for target, name in (
            (self._subscriber_main, "sub"),
            (self._publisher_main, "pub"),
        ):
            thread = threading.Thread(target=target, name=f"hubbub-{self.name}-{name}", daemon=True)
            self._threads.append(thread)
            thread.start()

    def _client(self, socket_timeout: float | None) -> redis.Redis:
        # redis-py's own retries would block the thread while Redis is down:
        # this link retries itself, with backoff and a log line
        return redis.Redis.from_url(
            self.url,
            socket_connect_timeout=2.0,
            socket_timeout=socket_timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )

    def close(self) -> None:
        self._stop.set()
        self._jobs.put(None)

    # -- handing over to the loop ---------------------------------------------------------

    def hand_over(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the server's loop (from any thread)."""
        scheduler = self._scheduler
        runtime = scheduler.runtime if scheduler is not None else None
        if runtime is None:
            log.debug("no running server yet: a Redis message is dropped")
            return
        # a closed loop: the process is shutting down
        with contextlib.suppress(RuntimeError):
            runtime.call_soon_threadsafe(fn)

    # -- subscriptions ----------------------------------------------------------------------

    def subscribe(self, channel: str, handler: MessageHandler, pattern: bool = False) -> None:
        with self._lock:
            table = self._patterns if pattern else self._channels
            fresh = channel not in table
            table[channel] = handler
        if fresh:
            self._changes.put((True, pattern, channel))

    def unsubscribe(self, channel: str, pattern: bool = False) -> None:
        with self._lock:
            table = self._patterns if pattern else self._channels
            gone = table.pop(channel, None) is not None
        if gone:
            self._changes.put((False, pattern, channel))

    def read_stream(self, stream: str, handler: StreamHandler) -> None:
        """``handler(entries)`` on the loop for every new entry of ``stream``."""
        with self._lock:
            self._streams[stream] = handler
            if self._reader is None:
                self._reader = threading.Thread(
                    target=self._reader_main, name=f"hubbub-{self.name}-xread", daemon=True
                )
                self._reader.start()

    # -- commands ----------------------------------------------------------------------------

    def execute(
        self,
        fn: Callable[[redis.Redis], Any],
        on_result: ResultCallback | None = None,
        *,
        publishes: bool = False,
    ) -> None:
        """Run ``fn(client)`` on the publisher thread; ``on_result(value, error)``
        runs on the loop afterwards. Never blocks. ``publishes``: ``fn`` sends
        a message to the other servers (reported to the server's observers)."""
        observer = self._scheduler.observer if self._scheduler is not None else None
        if publishes and observer is not None:
            on_result = partial(self._published, observer, on_result)
        self._jobs.put(_Job(fn, on_result))

    def _published(
        self, observer: Observer, then: ResultCallback | None, value: Any, error: Exception | None
    ) -> None:
        observer.adapter_published(self.name, error)
        if then is not None:
            then(value, error)

    def publish(self, channel: str, payload: bytes) -> None:
        if self.sharded:
            self.execute(lambda r: r.spublish(channel, payload), publishes=True)
        else:
            self.execute(lambda r: r.publish(channel, payload), publishes=True)

    # -- reports to the server's observers (hubbub.instrumentation) -------------------------

    def report_received(self) -> None:
        """A message from another server is being handled."""
        observer = self._scheduler.observer if self._scheduler is not None else None
        if observer is not None:
            observer.adapter_received(self.name)

    def report_error(self, operation: str) -> None:
        """A message from another server was dropped (``"decode"``, ``"handle"``)."""
        observer = self._scheduler.observer if self._scheduler is not None else None
        if observer is not None:
            observer.adapter_error(self.name, operation)

    def count_subscribers(self, channel: str, on_count: Callable[[int], None]) -> None:
        """A fresh subscriber count of ``channel`` (the cached one if Redis fails)."""

        def done(value: Any, error: Exception | None) -> None:
            on_count(self.cached_count(channel) if error is not None else int(value))

        self.execute(lambda r: self._numsub(r, [channel])[channel], done)

    def track_count(self, channel: str) -> None:
        """Keep the subscriber count of ``channel`` fresh for :meth:`cached_count`."""
        with self._lock:
            self._counted.setdefault(channel, 0)

    def untrack_count(self, channel: str) -> None:
        """Stop refreshing the count of ``channel`` (its namespace was freed):
        each refresh asks for every tracked channel, so a dynamic namespace's
        children, freed and made again under new names, would add to it forever."""
        with self._lock:
            self._counted.pop(channel, None)

    def cached_count(self, channel: str) -> int:
        with self._lock:
            return self._counted.get(channel, 0)

    def _numsub(self, client: redis.Redis, channels: list[str]) -> dict[str, int]:
        if self.sharded:
            pairs: Any = client.pubsub_shardnumsub(*channels)
        else:
            pairs = client.pubsub_numsub(*channels)
        counts = {as_text(c): int(n) for c, n in pairs}
        with self._lock:
            for channel, n in counts.items():
                if channel in self._counted:
                    self._counted[channel] = n
        return counts

    # -- the threads ---------------------------------------------------------------------------

    def _subscriber_main(self) -> None:
        backoff = _Backoff(*self._backoff_range)
        while not self._stop.is_set():
            client = self._client(None)
            pubsub: Any = client.pubsub(ignore_subscribe_messages=True)  # type: ignore[no-untyped-call]
            try:
                self._resubscribe(pubsub)
                self._jobs.put(_Job(self._refresh_counts, None))  # counts changed too
                attempts, down = backoff.reset()
                if attempts:
                    log.warning(
                        "reconnected to Redis at %s after %d attempts (%.1fs): "
                        "resubscribed, cross-process messages resume",
                        self._safe_url(),
                        attempts,
                        down,
                    )
                else:
                    log.info("subscribed to Redis at %s", self._safe_url())
                self._listen(pubsub)
            except _CONNECTION_ERRORS as exc:
                delay = backoff.fail()
                if backoff.attempts == 1:
                    log.warning(
                        "lost the Redis subscription at %s (%s): local delivery goes on, "
                        "reconnecting with backoff",
                        self._safe_url(),
                        exc,
                    )
                else:
                    log.info(
                        "Redis at %s still unreachable (attempt %d: %s); next try in %.2fs",
                        self._safe_url(),
                        backoff.attempts,
                        exc,
                        delay,
                    )
                self._stop.wait(delay)
            except Exception:
                log.exception("the Redis subscriber failed; restarting it")
                self._stop.wait(backoff.fail())
            finally:
                try:
                    pubsub.close()
                    client.close()
                except Exception:  # pragma: no cover - closing a dead socket
                    pass

    def _resubscribe(self, pubsub: Any) -> None:
        # a fresh connection: subscribe to the whole wanted state, then drop
        # the change notes it already includes
        while True:
            try:
                self._changes.get_nowait()
            except queue.Empty:
                break
        with self._lock:
            channels = list(self._channels)
            patterns = list(self._patterns)
        if channels:
            (pubsub.ssubscribe if self.sharded else pubsub.subscribe)(*channels)
        if patterns:
            pubsub.psubscribe(*patterns)
        if not channels and not patterns:
            pubsub.ping()  # proves the connection before we say we are up

    def _apply_changes(self, pubsub: Any) -> None:
        while True:
            try:
                add, pattern, channel = self._changes.get_nowait()
            except queue.Empty:
                return
            if pattern:
                (pubsub.psubscribe if add else pubsub.punsubscribe)(channel)
            elif self.sharded:
                (pubsub.ssubscribe if add else pubsub.sunsubscribe)(channel)
            else:
                (pubsub.subscribe if add else pubsub.unsubscribe)(channel)

    def _listen(self, pubsub: Any) -> None:
        while not self._stop.is_set():
            self._apply_changes(pubsub)
            if not pubsub.subscribed:
                self._stop.wait(_POLL)
                continue
            message = pubsub.get_message(timeout=_POLL)
            if message is None:
                continue
            batch = [message]
            while len(batch) < _BATCH:
                message = pubsub.get_message(timeout=0)
                if message is None:
                    break
                batch.append(message)
            self.hand_over(partial(self._dispatch, batch))

    def _dispatch(self, batch: list[dict[str, Any]]) -> None:
        """On the loop: each message to its handler."""
        for message in batch:
            kind = message.get("type")
            if kind == "pmessage":
                handler = self._patterns.get(as_text(message["pattern"]))
            elif kind in ("message", "smessage"):
                handler = self._channels.get(as_text(message["channel"]))
            else:
                continue
            if handler is None:
                continue  # unsubscribed meanwhile
            data = message["data"]
            try:
                handler(as_text(message["channel"]), data if isinstance(data, bytes) else b"")
            except Exception:
                log.exception("handling a Redis message failed")
                self.report_error("handle")

    def _publisher_main(self) -> None:
        backoff = _Backoff(*self._backoff_range)
        client: redis.Redis | None = None
        retry_at = 0.0
        counted_at = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now - counted_at >= self.count_interval:
                # due even when busy: server_count() must follow joins and deaths
                counted_at = now
                job: _Job | None = _Job(self._refresh_counts, None)
            else:
                try:
                    job = self._jobs.get(timeout=self.count_interval - (now - counted_at))
                except queue.Empty:
                    continue
            if job is None:
                break
            result: Any = None
            error: Exception | None = None
            if backoff.attempts and time.monotonic() < retry_at:
                error = RedisUnavailable("Redis is unreachable; retrying with backoff")
            else:
                try:
                    if client is None:
                        client = self._client(5.0)
                    result = job.fn(client)
                    attempts, down = backoff.reset()
                    if attempts:
                        log.warning(
                            "Redis at %s is reachable again after %.1fs: publishing resumes",
                            self._safe_url(),
                            down,
                        )
                except _CONNECTION_ERRORS as exc:
                    error = exc
                    if client is not None:
                        client.close()
                        client = None
                    retry_at = time.monotonic() + backoff.fail()
                    if backoff.attempts == 1:
                        log.warning(
                            "cannot publish to Redis at %s (%s): cross-process messages are "
                            "dropped until it is back; local delivery goes on",
                            self._safe_url(),
                            exc,
                        )
                except Exception as exc:
                    error = exc
                    log.warning("a Redis command failed: %s", exc)
            if job.on_result is not None:
                self.hand_over(partial(job.on_result, result, error))

    def _refresh_counts(self, client: redis.Redis) -> None:
        with self._lock:
            channels = list(self._counted)
        if channels:
            self._numsub(client, channels)

    def _reader_main(self) -> None:
        backoff = _Backoff(*self._backoff_range)
        positions: dict[str, str] = {}
        client: redis.Redis | None = None
        while not self._stop.is_set():
            with self._lock:
                streams = dict(self._streams)
            try:
                if client is None:
                    client = self._client(5.0)
                for stream in streams:
                    if stream not in positions:
                        positions[stream] = _last_entry_id(client, stream)
                response: Any = client.xread(
                    {s: positions[s] for s in streams}, count=100, block=1000
                )
                attempts, down = backoff.reset()
                if attempts:
                    log.warning("reading the Redis stream again after %.1fs", down)
            except _CONNECTION_ERRORS as exc:
                if client is not None:
                    client.close()
                    client = None
                delay = backoff.fail()
                if backoff.attempts == 1:
                    log.warning(
                        "lost the Redis stream reader at %s (%s): reconnecting with backoff",
                        self._safe_url(),
                        exc,
                    )
                self._stop.wait(delay)
                continue
            except Exception:
                log.exception("reading the Redis stream failed")
                self._stop.wait(backoff.fail())
                continue
            for raw_stream, entries in response or ():
                stream = as_text(raw_stream)
                handler = streams.get(stream)
                decoded = [(as_text(entry_id), fields) for entry_id, fields in entries]
                if decoded:
                    positions[stream] = decoded[-1][0]
                if handler is not None and decoded:
                    self.hand_over(partial(handler, decoded))


def _last_entry_id(client: redis.Redis, stream: str) -> str:
    """Where reading a stream starts: after its last entry now. Not XREAD's
    "$", which means the last entry at each call: a reader that reconnects
    with it would skip whatever was added while it was away."""
    last: Any = client.xrevrange(stream, count=1)
    return as_text(last[0][0]) if last else "0-0"


def as_text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
