"""The links between the workers of ``hubbub run --workers N`` (either runtime).

Every worker accepts on the listening socket the supervisor shares with it,
so any worker may read any request. A session lives in the worker that made
it, whose index leads its id (``hubbub.sessionids``). The workers are linked
by Unix stream sockets (:class:`WorkerMesh`: each worker opens one link to
every other, frames of ``adapters.wire.ipc`` go both ways on it):

* a polling request for another worker's session is forwarded to it on the
  link, and its answer (held as long as the owner holds the poll) comes
  back on the same link; each request is routed on its own, so a keep-alive
  connection may carry requests of several sessions;
* a websocket upgrade for another worker's session is handed over whole: the
  connection's file descriptor goes to the owner (SCM_RIGHTS), which
  answers the upgrade, so websocket traffic never crosses two processes (a
  0.9 htmlfile GET, a stream that keeps its connection, goes the same way);
* the cluster adapter's messages (``adapters.ipc.IpcAdapter``).

A worker that is not reachable (gone, being replaced) holds no session: a
request for one of its sessions is answered by the worker that read it, as
a request for an unknown session, and the client starts a new session.

The mesh runs on a :class:`Reactor` (an asyncio loop is one; the gevent
runtime gives one on its hub) and never blocks.
"""

from __future__ import annotations

import array
import contextlib
import errno
import logging
import os
import socket
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

from hubbub.adapters.ipc import IpcAdapter
from hubbub.adapters.wire.ipc import (
    FrameDecoder,
    IpcDecodeError,
    encode_frame,
    request_from_wire,
    request_to_wire,
    response_from_wire,
    response_to_wire,
)
from hubbub.http import HttpRequest, HttpResponse
from hubbub.runtime.contract import Endpoint, PollHold, StreamHold, TimerHost
from hubbub.runtime.supervisor import WorkerSpec

log = logging.getLogger("hubbub.workers")

# how often a worker tries again to reach one that is not listening
_RETRY_MIN = 0.05
_RETRY_MAX = 1.0
_MAX_FDS = 64  # file descriptors read with one recvmsg
_READ_SIZE = 256 * 1024
# a forwarded request outlives the longest hold a live owner gives a poll
# (a ping interval, then the ping timeout) by this much before it is given up
_FORWARD_SLACK = 5.0
# how long a starting worker waits to be linked to every other before it
# serves anyway (one may be down, being replaced): a worker that served
# unlinked would broadcast to its peers' clients into the void
LINK_WAIT = 3.0
_DEFAULT_FORWARD_TIMEOUT = 60.0


def forward_timeout(app: Any) -> float:
    """How long a worker waits for another to answer a forwarded request:
    past the longest a live owner holds a poll (its ping interval and ping
    timeout), the owner is taken for hung, and the client gets a 503 to
    start over rather than a request that never ends."""
    options = getattr(getattr(app, "engine", app), "options", None)
    interval = getattr(options, "ping_interval", None)
    timeout = getattr(options, "ping_timeout", None)
    if isinstance(interval, (int, float)) and isinstance(timeout, (int, float)):
        return float(interval + timeout + _FORWARD_SLACK)
    return _DEFAULT_FORWARD_TIMEOUT


class Cancellable(Protocol):
    def cancel(self) -> None: ...


class Reactor(Protocol):
    """What the mesh needs of an event loop (an asyncio loop has it all)."""

    def add_reader(self, fd: int, callback: Callable[[], None]) -> Any: ...
    def remove_reader(self, fd: int) -> Any: ...
    def add_writer(self, fd: int, callback: Callable[[], None]) -> Any: ...
    def remove_writer(self, fd: int) -> Any: ...
    def call_soon(self, callback: Callable[[], None]) -> Any: ...
    def call_later(self, delay: float, callback: Callable[[], None]) -> Cancellable: ...


#: a websocket upgrade handed over: (its connection's fd, the request, the
#: bytes the client sent after it); the runtime answers the upgrade
Adopt = Callable[[int, HttpRequest, bytes], None]


class _Link:
    """A Unix stream connection between two workers: frames both ways,
    file descriptors along with some. Writes are queued and sent once per
    loop tick."""

    def __init__(self, mesh: WorkerMesh) -> None:
        self.mesh = mesh
        self.reactor = mesh.reactor
        self.sock: socket.socket | None = None
        self.worker: int | None = None  # the worker at the other end
        self._queue: deque[tuple[bytes, int | None]] = deque()
        self._scheduled = False
        self._writing = False
        self.decoder = FrameDecoder()
        self.fds: deque[int] = deque()  # received, for the frames that take them

    @property
    def ready(self) -> bool:
        return self.sock is not None

    def attach(self, sock: socket.socket) -> None:
        self.sock = sock
        self.decoder = FrameDecoder()
        self.reactor.add_reader(sock.fileno(), self._on_readable)

    def write(self, frame: bytes, fd: int | None = None) -> None:
        """Queue a frame (with a file descriptor this link then owns)."""
        if self.sock is None:
            if fd is not None:
                os.close(fd)
            return
        self._queue.append((frame, fd))
        if not self._scheduled and not self._writing:
            self._scheduled = True
            self.reactor.call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        sock = self.sock
        queue = self._queue
        while queue and sock is not None:
            data, fd = queue[0]
            if fd is None and len(queue) > 1 and queue[1][1] is None:
                # frames without descriptors go in one send
                parts = [queue.popleft()[0]]
                while queue and queue[0][1] is None:
                    parts.append(queue.popleft()[0])
                data = b"".join(parts)
                queue.appendleft((data, None))
            try:
                if fd is None:
                    sent = sock.send(data)
                else:
                    sent = sock.sendmsg(
                        [data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
                    )
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self.lost(exc)
                return
            if fd is not None:
                os.close(fd)  # the other worker has its own copy now
            if sent < len(data):
                queue[0] = (data[sent:], None)
            else:
                queue.popleft()
        if sock is None:
            return
        if queue and not self._writing:
            self._writing = True
            self.reactor.add_writer(sock.fileno(), self._flush)
        elif not queue and self._writing:
            self._writing = False
            self.reactor.remove_writer(sock.fileno())

    def _on_readable(self) -> None:
        sock = self.sock
        if sock is None:
            return
        try:
            data, ancdata, _flags, _addr = sock.recvmsg(
                _READ_SIZE, socket.CMSG_SPACE(_MAX_FDS * array.array("i").itemsize)
            )
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            self.lost(exc)
            return
        for level, kind, cdata in ancdata:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(cdata[: len(cdata) - (len(cdata) % fds.itemsize)])
                self.fds.extend(fds)
        if not data:
            self.lost(None)
            return
        try:
            frames = self.decoder.feed(data)
        except IpcDecodeError as exc:
            log.warning("worker %d: closing a link: %s", self.mesh.index, exc)
            self.lost(exc)
            return
        for frame in frames:
            try:
                self.mesh.on_frame(self, frame)
            except IpcDecodeError as exc:
                log.warning("worker %d: ignored a frame: %s", self.mesh.index, exc)

    def _drop(self) -> None:
        sock, self.sock = self.sock, None
        if sock is not None:
            self.reactor.remove_reader(sock.fileno())
            if self._writing:
                self.reactor.remove_writer(sock.fileno())
            sock.close()
        self._writing = False
        while self._queue:
            _, fd = self._queue.popleft()
            if fd is not None:
                os.close(fd)
        while self.fds:
            os.close(self.fds.popleft())

    def lost(self, exc: BaseException | None) -> None:
        self._drop()

    def close(self) -> None:
        if self.sock is not None:
            self._flush()
        self._drop()


class _Outgoing(_Link):
    """The link this worker opens to another one: it sends adapter messages,
    forwarded requests and hand-overs on it, and gets the answers back."""

    def __init__(self, mesh: WorkerMesh, worker: int) -> None:
        super().__init__(mesh)
        self.worker = worker
        self._retry = _RETRY_MIN
        self._timer: Cancellable | None = None

    def connect(self) -> None:
        self._timer = None
        if self.mesh.closed:
            return
        assert self.worker is not None
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.setblocking(False)
        try:
            sock.connect(self.mesh.spec.socket_path(self.worker))
        except OSError:
            sock.close()
            self._timer = self.reactor.call_later(self._retry, self.connect)
            self._retry = min(self._retry * 2, _RETRY_MAX)
            return
        self._retry = _RETRY_MIN
        self.attach(sock)
        self.write(encode_frame({"k": "hello", "w": self.mesh.index}))
        log.info("worker %d: linked to worker %d", self.mesh.index, self.worker)

    def lost(self, exc: BaseException | None) -> None:
        was_ready = self.ready
        self._drop()
        assert self.worker is not None
        if was_ready:
            log.info(
                "worker %d: worker %d is gone (%s)", self.mesh.index, self.worker, exc or "closed"
            )
            self.mesh.peer_lost(self.worker)
        if not self.mesh.closed and self._timer is None:
            self._timer = self.reactor.call_later(self._retry, self.connect)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().close()

    def connect_now(self) -> None:
        """The other worker is listening (it linked to this one): connect
        now rather than when the backoff's timer fires, which may be a second
        after that worker began to serve."""
        if self.ready or self.mesh.closed:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._retry = _RETRY_MIN
        self.connect()


class _Incoming(_Link):
    """A link another worker opened to this one: requests come in on it and
    their answers go back on it."""

    def __init__(self, mesh: WorkerMesh, sock: socket.socket) -> None:
        super().__init__(mesh)
        self.attach(sock)

    def lost(self, exc: BaseException | None) -> None:
        self._drop()
        self.mesh.incoming_lost(self)


class _Forward:
    __slots__ = ("done", "owner", "req", "timer")

    def __init__(self, owner: int, req: HttpRequest, done: Callable[[HttpResponse], None]) -> None:
        self.owner = owner
        self.req = req
        self.done = done
        self.timer: Cancellable | None = None


class _RemoteHold:
    """A poll this worker holds for a request another worker read."""

    __slots__ = ("fid", "hold", "link", "mesh", "origin")

    def __init__(
        self, mesh: WorkerMesh, link: _Incoming, origin: int, fid: int, hold: PollHold
    ) -> None:
        self.mesh = mesh
        self.link = link
        self.origin = origin
        self.fid = fid
        self.hold = hold
        host = hold.session.host
        assert isinstance(host, TimerHost)
        host.waiter = self.finish

    def finish(self) -> None:
        if self.mesh.held.pop((self.origin, self.fid), None) is not self:
            return
        response = self.hold.finish(self.mesh.clock())
        self.mesh.reply(self.link, self.fid, response)

    def abort(self) -> None:
        host = self.hold.session.host
        if isinstance(host, TimerHost) and host.waiter == self.finish:
            host.waiter = None
        self.hold.aborted(self.mesh.clock())


class WorkerMesh:
    """This worker's links to the others: how its runtime routes requests,
    and the ``IpcBus`` of its adapters."""

    def __init__(
        self,
        reactor: Reactor,
        endpoint: Endpoint,
        clock: Callable[[], float],
        spec: WorkerSpec,
        adopt: Adopt,
        forward_timeout: float = _DEFAULT_FORWARD_TIMEOUT,
    ) -> None:
        self.reactor = reactor
        self.forward_timeout = forward_timeout
        self.endpoint = endpoint
        self.clock = clock
        self.spec = spec
        self.adopt = adopt
        self.closed = False
        self._out = {i: _Outgoing(self, i) for i in range(spec.count) if i != spec.index}
        self._incoming: set[_Incoming] = set()
        self._adapters: dict[str, IpcAdapter] = {}
        self._forwards: dict[int, _Forward] = {}
        self._next_id = 0
        self.held: dict[tuple[int, int], _RemoteHold] = {}
        self._listener: socket.socket | None = None

    @property
    def index(self) -> int:
        return self.spec.index

    def start(self) -> None:
        path = self.spec.socket_path(self.index)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)  # a socket file left by the worker this one replaces
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(path)
        listener.listen(64)
        listener.setblocking(False)
        self._listener = listener
        self.reactor.add_reader(listener.fileno(), self._accept)
        for out in self._out.values():
            out.connect()

    def close(self) -> None:
        self.closed = True
        listener, self._listener = self._listener, None
        if listener is not None:
            self.reactor.remove_reader(listener.fileno())
            listener.close()
            with contextlib.suppress(OSError):
                os.unlink(self.spec.socket_path(self.index))
        for out in self._out.values():
            out.close()
        for link in list(self._incoming):
            link.close()

    def _accept(self) -> None:
        listener = self._listener
        if listener is None:
            return
        while True:
            try:
                sock, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE):
                    log.error("worker %d: out of file descriptors", self.index)
                return
            sock.setblocking(False)
            self._incoming.add(_Incoming(self, sock))

    # -- IpcBus ----------------------------------------------------------------------

    def peers(self) -> int:
        return sum(1 for out in self._out.values() if out.ready)

    def linked(self) -> bool:
        """Whether this worker has a link to every other, and every other a
        link to it. Both ways: until another worker's link to this one is up,
        that worker answers this one's sessions as unknown ones (a client
        whose request it reads loses its session, and its packets with it)
        and broadcasts past this worker's clients."""
        if not all(out.ready for out in self._out.values()):
            return False
        greeted = {link.worker for link in self._incoming}
        return all(worker in greeted for worker in self._out)

    def publish(self, message: dict[str, Any]) -> None:
        frame = encode_frame({"k": "a", "m": message})
        for out in self._out.values():
            if out.ready:
                out.write(frame)

    def send(self, worker: int, message: dict[str, Any]) -> None:
        out = self._out.get(worker)
        if out is not None and out.ready:
            out.write(encode_frame({"k": "a", "m": message}))

    def register(self, adapter: IpcAdapter) -> None:
        self._adapters[adapter.nsp.name] = adapter

    def unregister(self, adapter: IpcAdapter) -> None:
        if self._adapters.get(adapter.nsp.name) is adapter:
            del self._adapters[adapter.nsp.name]

    # -- SessionRouter -------------------------------------------------------------------

    def reachable(self, worker: int) -> bool:
        """Whether worker ``worker`` is linked now (else it holds no session)."""
        out = self._out.get(worker)
        return out is not None and out.ready

    def forward(
        self, owner: int, req: HttpRequest, done: Callable[[HttpResponse], None]
    ) -> int | None:
        """Ask worker ``owner`` to answer ``req``; ``done`` gets the answer.
        The forward's id, or None when that worker cannot be asked."""
        out = self._out.get(owner)
        if out is None or not out.ready:
            return None
        self._next_id += 1
        fid = self._next_id
        entry = self._forwards[fid] = _Forward(owner, req, done)
        entry.timer = self.reactor.call_later(self.forward_timeout, lambda: self._expire(fid))
        out.write(encode_frame({"k": "q", "id": fid, "req": request_to_wire(req)}))
        return fid

    def _pop_forward(self, forward: int) -> _Forward | None:
        entry = self._forwards.pop(forward, None)
        if entry is not None and entry.timer is not None:
            entry.timer.cancel()
            entry.timer = None
        return entry

    def abandon(self, forward: int) -> None:
        entry = self._pop_forward(forward)
        if entry is not None:
            out = self._out.get(entry.owner)
            if out is not None and out.ready:
                out.write(encode_frame({"k": "x", "id": forward}))

    def _expire(self, forward: int) -> None:
        """The owner did not answer in time: it is alive (its link is up) but
        hung. The client gets a 503 and starts over; the owner is told to drop
        the request, should it come back."""
        entry = self._forwards.get(forward)
        if entry is None:
            return
        entry.timer = None
        log.warning(
            "worker %d: worker %d did not answer a forwarded request in %.0fs; answered 503",
            self.index,
            entry.owner,
            self.forward_timeout,
        )
        self.abandon(forward)
        entry.done(HttpResponse(503, [], b"Service Unavailable"))

    def hand_over(self, owner: int, req: HttpRequest, rest: bytes, fd: int) -> bool:
        """Give a websocket upgrade to worker ``owner`` with a copy of its
        connection's ``fd``; the caller then lets its own copy go (closing
        it, never shutting it down)."""
        out = self._out.get(owner)
        if out is None or not out.ready:
            return False
        out.write(encode_frame({"k": "ws", "req": request_to_wire(req), "rest": rest}), os.dup(fd))
        return True

    def peer_lost(self, worker: int) -> None:
        """Requests forwarded to a worker that went away are answered here (as
        requests for sessions this worker does not know)."""
        lost = [fid for fid, entry in self._forwards.items() if entry.owner == worker]
        for fid in lost:
            entry = self._pop_forward(fid)
            if entry is not None:
                self._answer_here(entry)

    def _answer_here(self, entry: _Forward) -> None:
        result = self.endpoint.handle_request(entry.req, self.clock())
        if isinstance(result, HttpResponse):
            entry.done(result)
        else:  # an unknown session is never held
            entry.done(HttpResponse(400, [], b"Bad Request"))

    # -- frames from the other workers ------------------------------------------------------

    def on_frame(self, link: _Link, frame: dict[str, Any]) -> None:
        kind = frame["k"]
        if kind == "a":
            message = frame.get("m")
            if isinstance(message, dict):
                adapter = self._adapters.get(str(message.get("nsp")))
                if adapter is not None:
                    adapter.receive(message)
        elif kind == "q":
            if isinstance(link, _Incoming) and link.worker is not None:
                self._serve(link, link.worker, _id(frame), request_from_wire(frame.get("req")))
        elif kind == "r":
            entry = self._pop_forward(_id(frame))
            if entry is not None:
                entry.done(response_from_wire(frame))
        elif kind == "x":
            if link.worker is not None:
                held = self.held.pop((link.worker, _id(frame)), None)
                if held is not None:
                    held.abort()
        elif kind == "ws":
            if not link.fds:
                raise IpcDecodeError("a websocket hand-over without its connection")
            fd = link.fds.popleft()
            try:
                req = request_from_wire(frame.get("req"))
                rest = frame.get("rest", b"")
                if not isinstance(rest, bytes):
                    raise IpcDecodeError("a hand-over's bytes are not bytes")
            except IpcDecodeError:
                os.close(fd)
                raise
            self.adopt(fd, req, rest)
        elif kind == "hello":
            worker = frame.get("w")
            if isinstance(worker, int) and not isinstance(worker, bool):
                link.worker = worker
                out = self._out.get(worker)
                if out is not None:
                    out.connect_now()

    def incoming_lost(self, link: _Incoming) -> None:
        self._incoming.discard(link)
        for key in [k for k, held in self.held.items() if held.link is link]:
            self.held.pop(key).abort()

    def _serve(self, link: _Incoming, origin: int, fid: int, req: HttpRequest) -> None:
        result = self.endpoint.handle_request(req, self.clock())
        if isinstance(result, HttpResponse):
            self.reply(link, fid, result)
        elif isinstance(result, PollHold):
            self.held[(origin, fid)] = _RemoteHold(self, link, origin, fid, result)
        else:
            # a stream is handed over with its connection, never forwarded:
            # one here came from a worker that could not hand it over
            log.warning("worker %d: a streaming transport reached another worker", self.index)
            if isinstance(result, StreamHold):
                result.aborted(self.clock())
            self.reply(link, fid, HttpResponse(503, [], b"Service Unavailable"))

    def reply(self, link: _Link, fid: int, response: HttpResponse) -> None:
        """Answer a forwarded request on the link it came by."""
        link.write(encode_frame({"k": "r", "id": fid, **response_to_wire(response)}))


def _id(frame: dict[str, Any]) -> int:
    fid = frame.get("id")
    if isinstance(fid, bool) or not isinstance(fid, int):
        raise IpcDecodeError("a frame without an id")
    return fid


def use_cluster_adapter(app: Any, bus: Any, adapter: str | None) -> None:
    """The workers' adapter: the one ``adapter`` names, or the IPC adapter
    when the app keeps the default in-memory one."""
    use = getattr(app, "use_adapter", None)
    if use is None:
        return  # a plain Engine.IO server has no adapter
    if adapter:
        from hubbub.adapters.url import adapter_from_url

        use(adapter_from_url(adapter))
        return
    from hubbub.adapters.memory import InMemoryAdapter

    if app.adapter_factory is InMemoryAdapter:
        use(IpcAdapter.factory(bus))
