"""The gevent side of the runtime interface: clock, greenlets, timers.

Handlers run in their own greenlet, so a handler that blocks (time.sleep
under monkey patching, a database call through a gevent-friendly driver,
``socket.call()``) stalls nobody else. Session timers run as libev timer
callbacks in the hub: they only queue bytes and wake greenlets, and
anything that calls user code is spawned.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import logging
import socket as stdlib_socket
import time
from collections.abc import Callable
from typing import Any, cast

import gevent
import gevent.event

from hubbub.runtime.contract import Endpoint, TimedSession, TimerHost
from hubbub.socketio.handlers import is_coroutine_handler
from hubbub.websocket.shared import SharedFrames, SharedSink

log = logging.getLogger("hubbub.runtime")

# What a greenlet or hub callback of hubbub's may end with that is an error,
# to be logged with its traceback: left to gevent's hub, it would be printed
# to stderr, past the application's logging. The rest of BaseException
# passes through: a kill (GreenletExit), and the system errors
# (KeyboardInterrupt, SystemExit) the hub raises in the main greenlet.
# gevent.Timeout is no Exception, yet one that escapes is an error.
FAILURES: tuple[type[BaseException], ...] = (Exception, gevent.Timeout)


class _LoopTimer:
    """A libev timer with the ``cancel()`` the core expects: ``fn(*args)``
    runs in the hub after ``delay``."""

    __slots__ = ("_watcher",)

    def __init__(self, hub: Any, delay: float, fn: Callable[..., Any], *args: Any) -> None:
        self._watcher = hub.loop.timer(max(delay, 0.0), 0)
        self._watcher.start(self._run, fn, *args)

    def _run(self, fn: Callable[..., Any], *args: Any) -> None:
        self._watcher.close()
        fn(*args)

    def cancel(self) -> None:
        self._watcher.stop()
        self._watcher.close()


class GeventHost(TimerHost):
    """One session's timer and poll-wake door on the gevent hub."""

    __slots__ = ("hub",)

    def __init__(self, hub: Any, session: TimedSession) -> None:
        super().__init__(session)
        self.hub = hub

    def _schedule(self, deadline: float) -> _LoopTimer:
        return _LoopTimer(self.hub, deadline - time.monotonic(), self._fire)

    def _now(self) -> float:
        return time.monotonic()

    # _deliver: the waiter is an Event.set, which already wakes its greenlet
    # on the hub's next turn, after every send of this turn


class GeventGreenletTimer(_LoopTimer):
    """``call_later`` for user-level callbacks: they run in a greenlet of
    their own, so an ack-timeout callback may block. The greenlet is made
    when the timer fires: until then (and after a cancel, at once) only a
    libev timer is held. gevent.spawn_later held a scheduled Greenlet, some
    1.4 KB, for every connection's connect timeout until it expired, even
    when cancelled."""

    __slots__ = ()

    def __init__(self, delay: float, fn: Callable[[], None], hub: Any = None) -> None:
        super().__init__(hub or gevent.get_hub(), delay, gevent.spawn, run_logged, fn)


# past this many bytes queued for a websocket client, it is not read from
# until they are sent (the asyncio transports' default high-water mark)
READ_HIGH_WATER = 64 * 1024
READ_SIZE = 65536


class SocketLinkIO:
    """One websocket connection on the gevent hub, without a greenlet.

    The hub reads the socket (a read watcher) and feeds the link, as an
    asyncio protocol is fed: the link and the sessions under it never block,
    and every handler they start runs in a greenlet of its own. An idle
    connection holds a socket, two small objects and a watcher, and no
    greenlet, whose saved stacks would be the largest part of its cost.

    As the link's LinkIO, ``write`` never blocks: the frames written during
    one turn of the hub are joined and sent by one loop callback at the end
    of the turn, with a non-blocking send. What the kernel does not take
    waits for a write watcher, so a slow client never blocks a sender; while
    more than READ_HIGH_WATER bytes wait, the client is not read from (what
    it sends, pings to answer or events to ack, would only grow the queue).

    ``close(graceful)`` sends what is queued, then shuts the socket down: at
    once, or (graceful) after ``close_timeout`` unless the peer's close frame
    comes first (``close(False)`` again). Once the stream ends the link is
    told (``lost``), what is queued goes out (for at most ``close_timeout``)
    and the socket is closed. ``dead``: the socket is shut down.

    ``sock`` is a non-blocking socket this object owns from ``start`` on.
    """

    __slots__ = (
        "__weakref__",
        "_block",
        "_closing",
        "_flushing",
        "_link",
        "_out",
        "_pending",
        "_queued",
        "_reader",
        "_start",
        "_timer",
        "_watcher",
        "close_timeout",
        "dead",
        "hub",
        "sock",
    )

    def __init__(self, sock: Any, close_timeout: float, hub: Any = None) -> None:
        self.sock = sock
        self.close_timeout = close_timeout
        self.hub = hub or gevent.get_hub()
        # frames, and the shared block this connection takes part in
        # (websocket.shared), always the last entry, whose bytes from _start
        # on are this connection's
        self._out: list[bytes | bytearray | SharedFrames] = []
        self._queued = 0  # the open block's bytes excluded
        self._block: SharedFrames | None = None
        self._start = 0
        # the part of the last chunk the kernel has not taken yet
        self._pending: bytes | bytearray | memoryview = b""
        self._closing: bool | None = None  # None: open; else graceful or not
        self.dead = False
        self._flushing: Any = None  # the loop callback of this turn
        self._watcher: Any = None  # the write watcher, while the kernel is full
        self._timer: Any = None  # a close's wait for the peer or for the queue
        self._reader: Any = None  # the read watcher, while reading
        self._link: Any = None  # the link fed, until the stream ends

    @property
    def shared_sink(self) -> SharedSink:
        return self

    def write(self, data: bytes) -> None:
        if self.dead or self._closing is not None:
            return
        if self._block is not None:
            self.end_shared()
        self._out.append(data)
        self._queued += len(data)
        if self._flushing is None and self._watcher is None:
            self._flushing = self.hub.loop.run_callback(self._flush)

    def write_now(self, data: bytes) -> None:
        """``write``, then send what is queued at once instead of at the end
        of the turn: the 101 answer goes out in a segment of its own, before
        the frames the handshake writes next, as Node's server sends it. A
        Node ``ws`` client that listens for messages only once 'open' has
        fired (the official Engine.IO v3 suite does) loses a frame that came
        in the 101's segment."""
        self.write(data)
        flushing = self._flushing
        if flushing is not None:
            flushing.stop()
            self._flush()

    def write_shared(self, block: SharedFrames, start: int) -> None:
        if self.dead or self._closing is not None:
            return
        if self._block is not None:
            self.end_shared()
        self._block = block
        self._start = start
        self._out.append(block)
        if self._flushing is None and self._watcher is None:
            self._flushing = self.hub.loop.run_callback(self._flush)

    def end_shared(self) -> None:
        block = self._block
        if block is not None:
            self._block = None
            # the block is the last entry: its part so far takes its place
            part = self._out[-1] = block.buf[self._start :]
            self._queued += len(part)
            block.detached.append(self)

    def close(self, graceful: bool) -> None:
        if self.dead:
            return
        if self._closing is None:
            self._closing = graceful
        elif not graceful:
            self._closing = False
            if self._timer is not None:  # the peer answered a graceful close
                self._timer.stop()
                self._timer.close()
                self._timer = None
        if self._flushing is None and self._watcher is None:
            self._flushing = self.hub.loop.run_callback(self._flush)

    def buffered_bytes(self) -> int:
        block = self._block
        shared = len(block.buf) - self._start if block is not None else 0
        return self._queued + shared + len(self._pending)

    # -- reading --------------------------------------------------------------------

    def start(self, link: Any, received: bytes = b"") -> None:
        """Feed ``link`` what arrives from now on (``received`` first)."""
        self._link = link
        if received:
            self._feed(received)
        if self._link is not None and not self.dead:
            self._reader = self.hub.loop.io(self.sock.fileno(), 1)  # 1: readable
            self._reader.start(self._read)
            if self.buffered_bytes() > READ_HIGH_WATER:
                self._reader.stop()

    def _read(self) -> None:
        # in the hub: never blocks
        try:
            data = self.sock.recv(READ_SIZE)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno not in (errno.ECONNRESET, errno.EBADF, errno.ENOTCONN):
                log.info("websocket read failed: %s", exc)
            data = b""
        if not data:
            self._ended()
            return
        self._feed(data)
        reader = self._reader
        if reader is not None and self.buffered_bytes() > READ_HIGH_WATER:
            reader.stop()  # started again once the queue is out (_flush)

    def _feed(self, data: bytes) -> None:
        link = self._link
        try:
            link.feed(data)
        except Exception:  # pragma: no cover - a bug; drop this client, not the hub
            log.exception("websocket input failed")
            self._ended()
            return
        if link.closing and self.dead:
            self._ended()

    def _ended(self) -> None:
        """The stream ended: tell the link, send what is queued (a close
        frame, say), then close."""
        self._stop_reading()
        self.close(graceful=False)
        if not self.dead and self._timer is None:  # a client that stopped reading
            self._timer = self.hub.loop.timer(self.close_timeout, 0)
            self._timer.start(self._shutdown)

    def _stop_reading(self) -> None:
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.stop()
            reader.close()
        link, self._link = self._link, None
        if link is not None:
            try:
                link.lost()
            except FAILURES:  # a bug: logged, and the socket is closed all the same
                log.exception("websocket end of stream failed")

    # -- writing --------------------------------------------------------------------

    def _flush(self) -> None:
        # in the hub (a loop callback or the write watcher): never blocks
        self._flushing = None
        if self.dead:
            return
        sock = self.sock
        try:
            while True:
                pending = self._pending
                if not pending:
                    out = self._out
                    if not out:
                        break
                    block = self._block
                    if block is not None:
                        # written out: the block is retired, and every
                        # member cuts its part from the same bytes
                        self._block = None
                        frozen = block.freeze()
                        out[-1] = frozen[self._start :] if self._start else frozen
                    # no block is left in it: only frames and parts of blocks
                    frames = cast("list[bytes | bytearray]", out)
                    pending = b"".join(frames) if len(frames) > 1 else frames[0]
                    self._out = []
                    self._queued = 0
                sent = sock.send(pending)
                self._pending = memoryview(pending)[sent:] if sent < len(pending) else b""
        except BlockingIOError:
            if self._watcher is None:
                self._watcher = self.hub.loop.io(sock.fileno(), 2)  # 2: writable
                self._watcher.start(self._flush)
            return
        except OSError:
            self._shutdown()
            return
        if self._watcher is not None:
            self._watcher.stop()
            self._watcher.close()
            self._watcher = None
        reader = self._reader
        if reader is not None and not reader.active:
            reader.start(self._read)
        if self._closing is False:
            self._shutdown()
        elif self._closing and self._timer is None:
            self._timer = self.hub.loop.timer(self.close_timeout, 0)
            self._timer.start(self._shutdown)

    def _shutdown(self) -> None:
        if self.dead:
            return
        self.dead = True
        for watcher in (self._watcher, self._timer):
            if watcher is not None:
                watcher.stop()
                watcher.close()
        self._watcher = self._timer = None
        self._out = []
        self._queued = 0
        self._block = None
        self._pending = b""
        with contextlib.suppress(OSError):  # already gone
            self.sock.shutdown(stdlib_socket.SHUT_RDWR)
        # the peer is gone, or was told to go: the link learns it here
        self._stop_reading()
        self.sock.close()


class GeventRuntime:
    """The Runtime protocol on the gevent hub of the thread that makes it."""

    name = "gevent"

    def __init__(self) -> None:
        self.hub = gevent.get_hub()
        self.handlers = HandlerGreenlets(self.hub)

    def clock(self) -> float:
        return time.monotonic()

    def make_host(self, session: TimedSession) -> GeventHost:
        return GeventHost(self.hub, session)

    def call_later(self, delay: float, fn: Callable[[], None]) -> GeventGreenletTimer:
        return GeventGreenletTimer(delay, fn, self.hub)

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        self.hub.loop.run_callback_threadsafe(gevent.spawn, run_logged, fn)

    def waiter(self) -> GeventWaiter:
        return GeventWaiter()

    def check_handler(self, fn: Callable[..., Any]) -> None:
        if is_coroutine_handler(fn):
            name = getattr(fn, "__qualname__", repr(fn))
            raise TypeError(
                f"{name} is an `async def` handler, and this server runs on gevent, which "
                "runs plain functions only. Make it a plain `def` (blocking calls are fine: "
                "every handler runs in its own greenlet), or serve on asyncio "
                "(hubbub.run or hubbub.ASGIApp)."
            )

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        self.handlers.spawn(fn, *args)


# idle handler greenlets kept for reuse: more than the handlers that run at
# once under a steady load, few enough that their stacks cost little
_KEEP_IDLE = 64


class HandlerGreenlets:
    """Greenlets that run handlers, each kept for the next handler once its
    own returns.

    A new greenlet costs more than its switches: CPython gives each one a
    data stack of its own (an mmap, page faults, a munmap when it ends), a
    cost paid per event when every handler gets a fresh greenlet. A kept
    greenlet waits in the hub for its next job. Each job starts in a fresh,
    empty ``contextvars`` context, as in a new greenlet; greenlet-local state
    (``gevent.local``, and ``threading.local`` once monkey-patched) carries
    over from one job to the next, as it does between the requests a thread
    of a thread pool serves. A handler that ends its greenlet (GreenletExit)
    ends only that one.
    """

    __slots__ = ("hub", "idle")

    def __init__(self, hub: Any) -> None:
        self.hub = hub
        self.idle: list[Any] = []

    def spawn(self, fn: Callable[..., Any], *args: Any) -> None:
        if gevent.get_hub() is not self.hub:
            # called from another thread: a greenlet of that thread's hub, as
            # gevent.spawn gives; kept greenlets belong to this one's
            gevent.spawn(run_logged, fn, *args)
            return
        idle = self.idle
        while idle:
            worker = idle.pop()
            if not worker.dead:  # killed while it waited: let it go
                # it switches in from the hub's loop, as a woken waiter does
                self.hub.loop.run_callback(worker.switch, fn, args)
                return
        gevent.spawn(self._serve, fn, args)

    def _serve(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        me = gevent.getcurrent()
        hub = self.hub
        while True:
            run_logged(fn, *args)
            # spawn() makes these only on the hub's own thread
            if len(self.idle) >= _KEEP_IDLE:
                return
            me.gr_context = contextvars.Context()
            self.idle.append(me)
            fn, args = hub.switch()


class GeventWaiter:
    """``waiter.wait(timeout)`` blocks the calling greenlet for the value."""

    __slots__ = ("result",)

    def __init__(self) -> None:
        self.result: gevent.event.AsyncResult = gevent.event.AsyncResult()

    def resolve(self, value: Any) -> None:
        if not self.result.ready():
            self.result.set(value)

    def reject(self, error: BaseException) -> None:
        if not self.result.ready():
            self.result.set_exception(error)

    @property
    def done(self) -> bool:
        return bool(self.result.ready())

    def wait(self, timeout: float | None = None) -> Any:
        try:
            return self.result.get(timeout=timeout)
        except gevent.Timeout:
            raise TimeoutError(f"no answer within {timeout}s") from None


def run_logged(fn: Callable[..., Any], *args: Any) -> None:
    """``fn(*args)``, in a greenlet hubbub spawns (a handler, or hubbub's own
    work: ``gevent.spawn(run_logged, fn, ...)``): what it fails with is
    logged with its traceback instead of printed by gevent's hub. No
    coroutine can come back from a handler: check_handler refused them at
    registration."""
    try:
        fn(*args)
    except FAILURES:
        log.exception("handler %s raised", getattr(fn, "__qualname__", fn))


def runtime_for(endpoint: Endpoint) -> GeventRuntime:
    """The gevent runtime bound to ``endpoint`` (one per hub, made on first use)."""
    current = endpoint.runtime
    hub = gevent.get_hub()
    if isinstance(current, GeventRuntime) and current.hub is hub:
        return current
    runtime = GeventRuntime()
    endpoint.attach(runtime)
    return runtime
