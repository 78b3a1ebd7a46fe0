"""A TCP proxy the fault tests put between a process and what it talks to,
to break the network on cue: cut every link (reset, and refuse new ones),
stall it (nothing forwarded either way, what arrives is held), or stall it
after a given number of client-to-server bytes, in the middle of a frame."""

from __future__ import annotations

import contextlib
import selectors
import socket
import struct
import threading
import time
from collections.abc import Iterator

from conftest import free_port

_LINGER_RESET = struct.pack("ii", 1, 0)


class _Side:
    __slots__ = ("closed", "events", "out", "shut", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.out = bytearray()  # bytes for this side, not yet written
        self.closed = False  # this side sent EOF or failed
        self.shut = False  # the EOF of the other side was passed on
        self.events = 0  # what the selector watches


class _Link:
    __slots__ = ("client", "server")

    def __init__(self, client: socket.socket, server: socket.socket) -> None:
        self.client = _Side(client)
        self.server = _Side(server)

    def other(self, side: _Side) -> _Side:
        return self.server if side is self.client else self.client


class TcpProxy:
    """Listens on 127.0.0.1 on a free port and forwards to ``target_port``."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self._sel = selectors.DefaultSelector()
        self._lock = threading.Lock()
        self._links: list[_Link] = []
        self._server_closed: list[float] = []
        self._mode = "open"  # open | cut | stall
        self._budget: int | None = None  # client->server bytes left before a stall
        self._listener: socket.socket | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._stop = False
        self._pending: tuple[str, threading.Event] | None = None
        self._listen()
        self._thread = threading.Thread(target=self._run, name="tcp-proxy", daemon=True)
        self._thread.start()

    # -- what a test calls ----------------------------------------------------------

    def cut(self) -> None:
        """Reset every link and refuse new connections until :meth:`restore`."""
        self._call("cut")

    def stall(self) -> None:
        """Forward nothing either way (new connections included); hold what arrives."""
        self._call("stall")

    def stall_after(self, upstream_bytes: int) -> None:
        """Forward ``upstream_bytes`` more client-to-server bytes, then stall."""
        with self._lock:
            self._budget = upstream_bytes

    def restore(self) -> None:
        """Accept and forward again; held bytes go first."""
        self._call("open")

    @property
    def mode(self) -> str:
        return self._mode

    def server_closed(self) -> list[float]:
        """When the server closed a link (time.monotonic()), in order."""
        with self._lock:
            return list(self._server_closed)

    def close(self) -> None:
        self._stop = True
        self._wake()
        self._thread.join(5)
        for link in self._links:
            for side in (link.client, link.server):
                side.sock.close()
        if self._listener is not None:
            self._listener.close()
        self._wake_r.close()
        self._wake_w.close()
        self._sel.close()

    # -- the proxy's thread -------------------------------------------------------------

    def _call(self, mode: str) -> None:
        done = threading.Event()
        with self._lock:
            self._pending = (mode, done)
        self._wake()
        if not done.wait(5):
            raise RuntimeError(f"the proxy did not switch to {mode}")

    def _wake(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_w.send(b"x")

    def _listen(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.setblocking(False)
        self._listener = listener
        self._sel.register(listener, selectors.EVENT_READ, "accept")

    def _switch(self, mode: str) -> None:
        if mode == "cut":
            if self._listener is not None:
                self._sel.unregister(self._listener)
                self._listener.close()
                self._listener = None
            for link in list(self._links):
                self._drop(link, reset=True)
        elif mode == "open" and self._listener is None:
            self._listen()
        self._mode = mode
        self._budget = None
        if mode == "open":
            for link in self._links:
                for side in (link.client, link.server):
                    self._flush(link, side)

    def _run(self) -> None:
        while not self._stop:
            for key, events in self._sel.select(0.5):
                if key.data is None:
                    with contextlib.suppress(OSError):
                        self._wake_r.recv(4096)
                    continue
                if key.data == "accept":
                    self._accept()
                    continue
                link, side = key.data
                if link not in self._links:
                    continue
                if events & selectors.EVENT_WRITE:
                    self._flush(link, side)
                if events & selectors.EVENT_READ and link in self._links:
                    self._read(link, side)
            with self._lock:
                pending, self._pending = self._pending, None
            if pending is not None:
                self._switch(pending[0])
                pending[1].set()

    def _accept(self) -> None:
        assert self._listener is not None
        try:
            client, _ = self._listener.accept()
        except BlockingIOError:
            return
        try:
            server = socket.create_connection(("127.0.0.1", self.target_port), 5)
        except OSError:
            client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            client.close()
            return
        link = _Link(client, server)
        with self._lock:
            self._links.append(link)
        for side in (link.client, link.server):
            side.sock.setblocking(False)
            side.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._watch(link, side)

    def _read(self, link: _Link, side: _Side) -> None:
        try:
            data = side.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        peer = link.other(side)
        if not data:
            side.closed = True
            if side is link.server:
                with self._lock:
                    self._server_closed.append(time.monotonic())
            self._watch(link, side)
            self._flush(link, peer)
            if link.client.closed and link.server.closed and not (peer.out or side.out):
                self._drop(link, reset=False)
            return
        if side is link.client and self._budget is not None and self._mode == "open":
            passing, held = data[: self._budget], data[self._budget :]
            self._budget -= len(passing)
            peer.out += passing
            self._flush(link, peer)
            if self._budget == 0:
                self._mode = "stall"
                self._budget = None
            peer.out += held
            return
        peer.out += data
        self._flush(link, peer)

    def _flush(self, link: _Link, side: _Side) -> None:
        if self._mode == "open":
            if side.out:
                try:
                    sent = side.sock.send(side.out)
                except BlockingIOError:
                    sent = 0
                except OSError:
                    self._drop(link, reset=True)
                    return
                del side.out[:sent]
            if not side.out and link.other(side).closed and not side.shut:
                side.shut = True
                with contextlib.suppress(OSError):
                    side.sock.shutdown(socket.SHUT_WR)
        self._watch(link, side)

    def _watch(self, link: _Link, side: _Side) -> None:
        events = 0 if side.closed else selectors.EVENT_READ
        if side.out and self._mode == "open":
            events |= selectors.EVENT_WRITE
        if events == side.events:
            return
        if side.events == 0:
            self._sel.register(side.sock, events, (link, side))
        elif events == 0:
            self._sel.unregister(side.sock)
        else:
            self._sel.modify(side.sock, events, (link, side))
        side.events = events

    def _drop(self, link: _Link, reset: bool) -> None:
        with self._lock:
            if link in self._links:
                self._links.remove(link)
        for side in (link.client, link.server):
            if side.events:
                self._sel.unregister(side.sock)
                side.events = 0
            if reset:
                with contextlib.suppress(OSError):
                    side.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
            side.sock.close()


@contextlib.contextmanager
def tcp_proxy(target_port: int) -> Iterator[TcpProxy]:
    proxy = TcpProxy(target_port)
    try:
        yield proxy
    finally:
        proxy.close()
