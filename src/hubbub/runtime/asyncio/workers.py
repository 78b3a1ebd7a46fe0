"""A worker of ``hubbub run --workers N`` on the embedded asyncio server
(``runtime.mesh`` routes the requests between the workers)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import socket
from typing import Any

from hubbub import sessionids
from hubbub.http import HttpRequest
from hubbub.runtime.asyncio.server import EmbeddedServer, HttpProtocol, install_uvloop
from hubbub.runtime.limits import ServerLimits
from hubbub.runtime.mesh import LINK_WAIT, WorkerMesh, forward_timeout, use_cluster_adapter
from hubbub.runtime.supervisor import LEAVE_SIGNAL, WorkerSpec

log = logging.getLogger("hubbub.workers")


class _Router:
    """The embedded server's ``SessionRouter`` on the mesh."""

    def __init__(self, mesh: WorkerMesh) -> None:
        self.mesh = mesh

    @property
    def index(self) -> int:
        return self.mesh.index

    def forward(self, owner: int, req: HttpRequest, conn: HttpProtocol) -> int | None:
        return self.mesh.forward(owner, req, conn.forwarded)

    def abandon(self, forward: int) -> None:
        self.mesh.abandon(forward)

    def hand_over(
        self, owner: int, req: HttpRequest, rest: bytes, transport: asyncio.Transport
    ) -> bool:
        sock = transport.get_extra_info("socket")
        if sock is None or not self.mesh.hand_over(owner, req, rest, sock.fileno()):
            return False
        transport.abort()  # no shutdown: the connection lives on in the other worker
        return True


def _adopter(server: EmbeddedServer) -> Any:
    def adopt(fd: int, req: HttpRequest, rest: bytes) -> None:
        sock = socket.socket(fileno=fd)
        sock.setblocking(False)

        async def serve() -> None:
            try:
                _, protocol = await server.loop.connect_accepted_socket(
                    lambda: HttpProtocol(server), sock
                )
            except OSError as exc:
                log.info("a handed-over connection is gone (%s)", exc)
                sock.close()
                return
            assert isinstance(protocol, HttpProtocol)
            protocol.adopted(req, rest)

        task = server.loop.create_task(serve())
        server.tasks.add(task)
        task.add_done_callback(server.tasks.discard)

    return adopt


# -- running a worker --------------------------------------------------------------------


def serve_worker(
    app: Any,
    spec: WorkerSpec,
    *,
    adapter: str | None = None,
    asgi_app: Any = None,
    use_uvloop: bool = True,
    limits: ServerLimits | None = None,
) -> None:
    """Serve ``app`` as worker ``spec.index`` until SIGTERM (or SIGINT)."""
    if use_uvloop:
        install_uvloop()
    sessionids.set_worker(spec.index)
    asyncio.run(_serve(app, spec, adapter, asgi_app, limits))


async def _serve(
    app: Any, spec: WorkerSpec, adapter: str | None, asgi_app: Any, limits: ServerLimits | None
) -> None:
    server = EmbeddedServer(app, asgi_app=asgi_app, limits=limits)
    server.attach_loop()
    mesh = WorkerMesh(
        server.loop, server.endpoint, server.loop.time, spec, _adopter(server), forward_timeout(app)
    )
    use_cluster_adapter(app, mesh, adapter)
    spec.keep_beating(server.loop.call_later)
    listener = socket.socket(fileno=spec.fd)
    listener.setblocking(False)
    # linked both ways first, then serving: a client's broadcast then reaches
    # every worker, and every worker forwards this one's sessions to it
    mesh.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINK_WAIT
    while not mesh.linked() and loop.time() < deadline:
        await asyncio.sleep(0.02)
    if not mesh.linked():
        log.warning("worker %d serving before it is linked to every other worker", spec.index)
    await server.start(sock=listener)
    server.router = _Router(mesh)
    stop = asyncio.Event()
    leave = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    def on_leave() -> None:
        leave.set()
        stop.set()

    loop.add_signal_handler(LEAVE_SIGNAL, on_leave)
    # the pipe never carries a byte: it closes when the supervisor is gone
    loop.add_reader(spec.alive_fd, stop.set)
    log.info("worker %d (pid %d) serving", spec.index, os.getpid())
    spec.mark_ready()
    await stop.wait()
    loop.remove_reader(spec.alive_fd)
    if leave.is_set():
        # being replaced: the other workers take the clients over
        log.info("worker %d leaving its clients to the others", spec.index)
        mesh.close()
        await server.abandon()
        return
    log.info("worker %d draining", spec.index)
    await server.shutdown()
    mesh.close()
