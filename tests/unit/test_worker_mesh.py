"""The links between the workers of ``hubbub run --workers N``
(``runtime.mesh``), over real Unix sockets on an asyncio loop: a worker
that starts (a replacement) serves only once every other worker can reach
it, and the others reach it at once, not when their backoff timer fires."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

import pytest

from hubbub.runtime.mesh import WorkerMesh
from hubbub.runtime.supervisor import WorkerSpec
from hubbub.socketio.server import Server

pytestmark = pytest.mark.timeout(20)


def _mesh(loop: asyncio.AbstractEventLoop, directory: Path, index: int) -> WorkerMesh:
    spec = WorkerSpec(index, 2, -1, str(directory), -1)
    return WorkerMesh(loop, Server().endpoint, loop.time, spec, lambda fd, req, rest: os.close(fd))


async def _until(check: object, timeout: float) -> float:
    """Seconds until ``check()`` holds (the test fails past ``timeout``)."""
    assert callable(check)
    loop = asyncio.get_running_loop()
    start = loop.time()
    while not check():
        assert loop.time() - start < timeout, "never"
        await asyncio.sleep(0.002)
    return loop.time() - start


def test_a_starting_worker_is_linked_only_once_the_others_reach_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        other = _mesh(loop, tmp_path, 1)
        other.start()
        # worker 0 is not listening yet (being replaced): worker 1's link to it
        # backs off, its next try most of a second away
        await asyncio.sleep(0.8)
        assert not other.reachable(0)
        starting = _mesh(loop, tmp_path, 0)
        try:
            starting.start()
            # its own link to worker 1 is up at once; worker 1's to it is not
            assert starting.reachable(1)
            assert not starting.linked()
            waited = await _until(starting.linked, 5.0)
            # linked means worker 1 can forward this worker's sessions to it
            assert other.reachable(0)
            assert waited < 0.3, waited  # the hello, not worker 1's backoff
            await _until(other.linked, 5.0)
        finally:
            for mesh in (starting, other):
                with contextlib.suppress(Exception):
                    mesh.close()

    asyncio.run(scenario())
