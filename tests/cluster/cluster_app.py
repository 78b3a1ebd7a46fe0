"""The hubbub server of the cluster tests (its twin is tests/js/cluster_node_server.mjs).

    python tests/cluster/cluster_app.py --port N --adapter redis://127.0.0.1:6379/0
        [--name hub1] [--runtime asyncio|gevent|uvicorn] [--recovery] [--workers N]
        [--ipc-dir D] [--children keep|cleanup]

Every handler is a plain function that answers with its return value or,
for operations that wait for the cluster, with a 'result'(token, value)
event, so the same code runs on asyncio and on gevent. Events:

* on connect: 'welcome'({sid, server}); ``socket.data`` is {"server": name}
  (``name/<index>`` in worker ``index`` of ``--workers N``);
* ``join(room)`` / ``leave(room)``: ack the socket's rooms;
* ``emit_to(rooms, except, event, payload)``: the namespace broadcasts
  ``event(payload, server)`` to ``rooms`` (all when empty) except ``except``;
* ``poll(token, room, seconds)``: a broadcast with acks, 'poll' to the room;
  result {timeout, responses};
* ``fetch(token, room)``: fetch_sockets; result [{id, server, rooms}];
* ``remote_emit(token, room, event)``: each fetched socket's ``emit``;
* ``sockets_join(room, new_room)``, ``sockets_leave(room, old)``,
  ``disconnect_room(room)``: the cluster operations;
* ``server_side(token, payload)``: server_side_emit('hello') with an ack;
  result the answers; every server answers 'hello' with {server, payload}
  and relays 'announce'(payload) from others to its clients as
  'announced'(server, payload);
* ``server_count()``: acks the adapter's server count;
* ``ticker(room, count, interval)``: broadcasts 'tick'(i) to the room.

With ``--children``, a dynamic namespace serves the names ``/dyn-<a-z0-9>``:
its children welcome their clients as "/" does and answer ``join(room)``
and ``children()`` (every child of this server: its number of sockets);
``cleanup`` frees a child when its last client leaves
(``cleanup_empty_child_namespaces``), ``keep`` keeps it.
"""

from __future__ import annotations

import argparse
import inspect
import logging
import re
from typing import Any

import hubbub
from hubbub import sessionids


def _then(value: Any, fn: Any) -> None:
    """Call ``fn(result)`` once a waitable API call is done, on either runtime
    (asyncio gives an awaitable; gevent blocks this handler's greenlet)."""
    if inspect.isawaitable(value):
        import asyncio

        async def wait() -> None:
            fn(await value)

        task = asyncio.ensure_future(wait())
        _TASKS.add(task)
        task.add_done_callback(_TASKS.discard)
    else:
        fn(value)


_TASKS: set[Any] = set()


def build(name: str, adapter: str, recovery: bool, children: str | None = None) -> hubbub.Server:
    sio = hubbub.Server(
        adapter=hubbub.adapter_from_url(adapter),
        cors_allowed_origins="*",
        ping_interval=1.0,
        ping_timeout=2.0,
        connection_state_recovery={"max_disconnection_duration": 30.0} if recovery else None,
        cleanup_empty_child_namespaces=children == "cleanup",
    )
    nsp = sio.of("/")
    if children is not None:
        dynamic = sio.of(re.compile(r"^/dyn-[a-z0-9]+$"))

        @dynamic.on("connect")
        def child_connect(socket: hubbub.Socket, auth: Any) -> None:
            socket.emit("welcome", {"sid": socket.id, "server": name, "nsp": socket.nsp.name})

        @dynamic.on("join")
        def child_join(socket: hubbub.Socket, room: str) -> list[str]:
            socket.join(room)
            return sorted(socket.rooms - {socket.id})

        @dynamic.on("children")
        def child_namespaces(socket: hubbub.Socket) -> dict[str, int]:
            return {
                n: len(child.sockets) for n, child in sio.namespaces.items() if child.parent
            }

    @sio.on("connect")
    def connect(socket: hubbub.Socket, auth: Any) -> None:
        worker = sessionids.worker()
        server = name if worker is None else f"{name}/{worker}"
        socket.data = {"server": server}
        socket.emit(
            "welcome", {"sid": socket.id, "server": server, "recovered": socket.recovered}
        )

    @sio.on("join")
    def join(socket: hubbub.Socket, room: str) -> list[str]:
        socket.join(room)
        return sorted(socket.rooms - {socket.id})

    @sio.on("leave")
    def leave(socket: hubbub.Socket, room: str) -> list[str]:
        socket.leave(room)
        return sorted(socket.rooms - {socket.id})

    @sio.on("emit_to")
    def emit_to(
        socket: hubbub.Socket, rooms: list[str], except_: list[str], event: str, payload: Any
    ) -> bool:
        nsp.to(*rooms).except_(*except_).emit(event, payload, name)
        return True

    @sio.on("poll")
    def poll(socket: hubbub.Socket, token: str, room: str, seconds: float) -> None:
        def done(err: Exception | None, responses: list[Any]) -> None:
            socket.emit("result", token, {"timeout": err is not None, "responses": responses})

        nsp.to(room).timeout(seconds).emit("poll", room, callback=done)

    @sio.on("fetch")
    def fetch(socket: hubbub.Socket, token: str, room: str) -> None:
        def done(sockets: list[Any]) -> None:
            socket.emit(
                "result",
                token,
                sorted(
                    (
                        {
                            "id": s.id,
                            "server": (s.data or {}).get("server"),
                            "rooms": sorted(s.rooms),
                        }
                        for s in sockets
                    ),
                    key=lambda d: d["id"],
                ),
            )

        _then(nsp.in_(room).fetch_sockets(), done)

    @sio.on("remote_emit")
    def remote_emit(socket: hubbub.Socket, token: str, room: str, event: str) -> None:
        def done(sockets: list[Any]) -> None:
            for s in sockets:
                s.emit(event, name)
            socket.emit("result", token, len(sockets))

        _then(nsp.in_(room).fetch_sockets(), done)

    @sio.on("sockets_join")
    def sockets_join(socket: hubbub.Socket, room: str, new_room: str) -> bool:
        nsp.in_(room).sockets_join(new_room)
        return True

    @sio.on("sockets_leave")
    def sockets_leave(socket: hubbub.Socket, room: str, old_room: str) -> bool:
        nsp.in_(room).sockets_leave(old_room)
        return True

    @sio.on("disconnect_room")
    def disconnect_room(socket: hubbub.Socket, room: str) -> bool:
        nsp.in_(room).disconnect_sockets(True)
        return True

    @sio.on("server_side")
    def server_side(socket: hubbub.Socket, token: str, payload: Any) -> None:
        def done(err: Exception | None, answers: list[Any]) -> None:
            socket.emit("result", token, {"error": str(err) if err else None, "answers": answers})

        sio.server_side_emit("hello", payload, callback=done)

    @sio.on("server_count")
    def server_count(socket: hubbub.Socket) -> int:
        return nsp.adapter.server_count()

    @sio.on("ticker")
    def ticker(socket: hubbub.Socket, room: str, count: int, interval: float) -> bool:
        runtime = sio.runtime
        assert runtime is not None
        target = nsp.to(room)

        def tick(i: int) -> None:
            target.emit("tick", i)
            if i + 1 < count:
                runtime.call_later(interval, lambda: tick(i + 1))

        tick(0)
        return True

    @sio.on_server_side_emit("hello")
    def hello(payload: Any) -> dict[str, Any]:
        return {"server": name, "payload": payload}

    @sio.on_server_side_emit("announce")
    def announce(payload: Any) -> None:
        nsp.local.emit("announced", name, payload)

    return sio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--adapter", default="memory://")
    parser.add_argument("--name", default="hub")
    parser.add_argument("--runtime", choices=["asyncio", "gevent", "uvicorn"], default="asyncio")
    parser.add_argument("--recovery", action="store_true")
    parser.add_argument("--workers", default="1")
    parser.add_argument("--ipc-dir", default=None)
    parser.add_argument("--children", choices=["keep", "cleanup"], default=None)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("hubbub.engine").setLevel(logging.WARNING)
    sio = build(args.name, args.adapter, args.recovery, args.children)
    if args.runtime == "uvicorn":
        import uvicorn

        uvicorn.run(hubbub.ASGIApp(sio), host=args.host, port=args.port, log_level="warning")
        return
    workers = args.workers if args.workers == "auto" else int(args.workers)
    hubbub.run(
        sio, args.host, args.port, runtime=args.runtime, workers=workers, ipc_dir=args.ipc_dir
    )


if __name__ == "__main__":
    main()
