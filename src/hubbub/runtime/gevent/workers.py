"""A worker of ``hubbub run --workers N`` on gevent (``runtime.mesh`` routes
the requests between the workers)."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from typing import Any

import gevent
import gevent.socket

from hubbub import sessionids
from hubbub.http import HttpRequest
from hubbub.runtime.gevent.core import FAILURES
from hubbub.runtime.gevent.server import as_wsgi_app, connection_failed, cut_connections, serve
from hubbub.runtime.limits import ServerLimits
from hubbub.runtime.mesh import LINK_WAIT, WorkerMesh, forward_timeout, use_cluster_adapter
from hubbub.runtime.supervisor import LEAVE_SIGNAL, WorkerSpec

log = logging.getLogger("hubbub.workers")


class _Timer:
    __slots__ = ("watcher",)

    def __init__(self, watcher: Any) -> None:
        self.watcher = watcher

    def cancel(self) -> None:
        self.watcher.stop()
        self.watcher.close()


class GeventReactor:
    """The mesh's ``Reactor`` on the gevent hub: its callbacks run in the hub
    and never block (the mesh's sockets are non-blocking, the sessions'
    writes queue)."""

    def __init__(self, hub: Any) -> None:
        self.loop = hub.loop
        self._watchers: dict[tuple[int, int], Any] = {}

    def _watch(self, fd: int, events: int, callback: Callable[[], None]) -> None:
        self._unwatch(fd, events)
        watcher = self.loop.io(fd, events)
        watcher.start(_guard, callback)
        self._watchers[(fd, events)] = watcher

    def _unwatch(self, fd: int, events: int) -> None:
        watcher = self._watchers.pop((fd, events), None)
        if watcher is not None:
            watcher.stop()
            watcher.close()

    def add_reader(self, fd: int, callback: Callable[[], None]) -> None:
        self._watch(fd, 1, callback)

    def remove_reader(self, fd: int) -> None:
        self._unwatch(fd, 1)

    def add_writer(self, fd: int, callback: Callable[[], None]) -> None:
        self._watch(fd, 2, callback)

    def remove_writer(self, fd: int) -> None:
        self._unwatch(fd, 2)

    def call_soon(self, callback: Callable[[], None]) -> None:
        self.loop.run_callback(_guard, callback)

    def call_later(self, delay: float, callback: Callable[[], None]) -> _Timer:
        watcher = self.loop.timer(delay)
        watcher.start(_guard, callback)
        return _Timer(watcher)


def _guard(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        log.exception("a worker link callback failed")


def serve_worker(
    app: Any,
    spec: WorkerSpec,
    *,
    adapter: str | None = None,
    wsgi_app: Any = None,
    limits: ServerLimits | None = None,
) -> None:
    """Serve ``app`` as worker ``spec.index`` on gevent until SIGTERM."""
    sessionids.set_worker(spec.index)
    # gevent's own socket: every worker wakes for a new connection and only
    # one gets it, so accept must never block
    listener = gevent.socket.socket(fileno=spec.fd)
    listener.setblocking(False)
    wsgi = as_wsgi_app(app, wsgi_app=wsgi_app)

    # the client connections served, with the ones handed over by other
    # workers (the server adds its own to it): what a leave cuts
    live: set[Any] = set()

    def adopt(fd: int, req: HttpRequest, rest: bytes) -> None:
        gevent.spawn(serve_adopted, gevent.socket.socket(fileno=fd), req, rest)

    def serve_adopted(sock: Any, req: HttpRequest, rest: bytes) -> None:
        live.add(sock)
        try:
            wsgi.adopt_connection(sock, req, rest)
        except FAILURES as exc:
            connection_failed(req.remote_addr, exc)
        finally:
            live.discard(sock)

    hub = gevent.get_hub()
    reactor = GeventReactor(hub)
    mesh = WorkerMesh(
        reactor, wsgi.endpoint, wsgi.runtime.clock, spec, adopt, forward_timeout(app)
    )
    spec.keep_beating(reactor.call_later)
    use_cluster_adapter(wsgi.server, mesh, adapter)
    wsgi.router = mesh

    def on_start(server: Any) -> None:
        live.update(server.live_sockets)
        server.live_sockets = live

        def leave() -> None:
            # being replaced: the other workers take the clients over
            log.info("worker %d leaving its clients to the others", spec.index)
            mesh.close()
            cut_connections(server)
            server.hubbub_stop()

        gevent.signal_handler(LEAVE_SIGNAL, leave)
        watcher = hub.loop.io(spec.alive_fd, 1)  # the supervisor is gone
        watcher.start(server.hubbub_stop)
        log.info("worker %d (pid %d) serving", spec.index, os.getpid())
        spec.mark_ready()

    def on_stop() -> None:
        log.info("worker %d draining", spec.index)
        mesh.close()

    # linked both ways first, then serving: a client's broadcast then reaches
    # every worker, and every worker forwards this one's sessions to it
    mesh.start()
    deadline = time.monotonic() + LINK_WAIT
    while not mesh.linked() and time.monotonic() < deadline:
        gevent.sleep(0.02)
    if not mesh.linked():
        log.warning("worker %d serving before it is linked to every other worker", spec.index)
    serve(wsgi, limits=limits, listener=listener, on_start=on_start, on_stop=on_stop)
