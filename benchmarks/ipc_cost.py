"""The CPU cost of one broadcast through the workers' IPC adapter.

Two workers' meshes (``hubbub.runtime.mesh``) on one asyncio loop in one
process, linked by real Unix sockets, each with a Server on the IPC adapter
and no clients: worker 0 broadcasts to a room, worker 1 receives and
decodes every message and finds no socket to deliver to. The process's CPU
time over the broadcasts, divided by their number, is what one broadcast
costs the cluster for each other worker (encode once, frame, write, read,
decode, dispatch), without any client's share; the same broadcasts on
one process's in-memory adapter are measured first and subtracted.

    python -m benchmarks.ipc_cost --n 50000 --payload 100 [--json]

With --json the last line is one JSON object (the benchmark harness reads it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from typing import Any

import hubbub
from hubbub.runtime.mesh import WorkerMesh, use_cluster_adapter
from hubbub.runtime.supervisor import WorkerSpec


async def measure(n: int, payload: int) -> tuple[float, int]:
    loop = asyncio.get_running_loop()
    directory = tempfile.mkdtemp(prefix="hubbub-ipc-cost-")
    servers = [hubbub.Server() for _ in range(2)]
    meshes = []
    received = [0]
    for index, server in enumerate(servers):
        spec = WorkerSpec(index, 2, -1, directory, -1)
        mesh = WorkerMesh(loop, server.endpoint, loop.time, spec, lambda *a: None)
        use_cluster_adapter(server, mesh, None)
        meshes.append(mesh)
    adapter: Any = servers[1].of("/").adapter
    receive = adapter.receive

    caught_up = asyncio.Event()
    target = [0]

    def counting(message: dict[str, Any]) -> None:
        received[0] += 1
        receive(message)
        if received[0] >= target[0]:
            caught_up.set()

    adapter.receive = counting
    for mesh in meshes:
        mesh.start()
    while not all(m.peers() == 1 for m in meshes):
        await asyncio.sleep(0.01)
    room = servers[0].of("/").to("room")
    data = "x" * payload
    batch = 200  # broadcasts per loop tick, as a busy server makes them
    start_cpu = time.process_time()
    start = time.perf_counter()
    sent = 0
    while sent < n:
        for _ in range(min(batch, n - sent)):
            room.emit("event", data)
        sent += batch
        target[0] = min(sent, n)
        caught_up.clear()
        if received[0] < target[0]:
            await caught_up.wait()
    cpu = time.process_time() - start_cpu
    wall = time.perf_counter() - start
    for mesh in meshes:
        mesh.close()
    print(f"{n} broadcasts in {wall:.2f}s wall, {cpu:.2f}s CPU (both ends)")
    shutil.rmtree(directory, ignore_errors=True)
    return cpu / n, received[0]


def baseline(n: int, payload: int) -> float:
    """CPU per broadcast of one process on the in-memory adapter, no clients."""
    room = hubbub.Server().of("/").to("room")
    data = "x" * payload
    start = time.process_time()
    for _ in range(n):
        room.emit("event", data)
    return (time.process_time() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--payload", type=int, default=100)
    parser.add_argument("--json", action="store_true", help="end with one JSON line")
    args = parser.parse_args()
    alone = baseline(args.n, args.payload)
    per, got = asyncio.run(measure(args.n, args.payload))
    print(f"one process, in-memory adapter: {alone * 1e6:.1f} us of CPU per broadcast")
    print(f"two workers, IPC adapter: {per * 1e6:.1f} us of CPU per broadcast ({got} received)")
    print(f"the IPC adapter's share, per other worker: {(per - alone) * 1e6:.1f} us")
    if args.json:
        found = {
            "broadcasts": args.n,
            "payload_bytes": args.payload,
            "received": got,
            "in_memory_us": round(alone * 1e6, 2),
            "two_workers_us": round(per * 1e6, 2),
            "per_other_worker_us": round((per - alone) * 1e6, 2),
        }
        print(json.dumps(found))


if __name__ == "__main__":
    main()
