"""This process's connections: session id -> (request, socket, context)."""

from __future__ import annotations

from functools import partial
from typing import Any

from hubbub.channels.channels import SocketIOChannelProxy
from hubbub.channels.events import on_finish, on_unsubscribe
from hubbub.socketio.server import running_servers

__all__ = ["CLIENTS", "client_end", "client_end_all", "client_start", "wait_for_clients"]

CLIENTS: dict[Any, tuple[Any, SocketIOChannelProxy, dict[str, Any]]] = {}
# connections whose end is running (client_end_all and the connection's own
# end may both reach one: its handlers run once)
_ENDING: set[Any] = set()


def client_start(request: Any, socket: SocketIOChannelProxy, context: dict[str, Any]) -> None:
    """The connection started: remember it (``request``, the socket, the
    handlers' shared ``context``) until ``client_end``."""
    CLIENTS[socket.session_id] = (request, socket, context)


def client_end(request: Any, socket: SocketIOChannelProxy, context: dict[str, Any]) -> None:
    """The connection is over: ``on_unsubscribe`` for each channel it is
    still in (while it still is, so channel handlers match), ``on_finish``,
    then it leaves its channels and is forgotten."""
    sid = socket.session_id
    entry = CLIENTS.get(sid)
    if entry is None or entry[1] is not socket or sid in _ENDING:
        return  # ended already (or being ended)
    _ENDING.add(sid)
    try:
        for channel in list(socket.channels):
            on_unsubscribe.send(request, socket, context, channel)
        on_finish.send(request, socket, context)
        for channel in list(socket.channels):
            socket.unsubscribe(channel)
    finally:
        _ENDING.discard(sid)
        if CLIENTS.get(sid, (None, None))[1] is socket:
            del CLIENTS[sid]


def client_end_all() -> None:
    """End every connection (the server is stopping)."""
    for request, socket, context in list(CLIENTS.values()):
        client_end(request, socket, context)


def wait_for_clients(timeout: float) -> bool:
    """Wait (up to ``timeout`` seconds, on the servers' runtime) until every
    connection of this process has ended; whether they all did."""
    servers = running_servers()
    if not servers:
        return not CLIENTS
    runtime = servers[0].scheduler.need()
    waited = 0.0
    while CLIENTS and waited < timeout:
        waiter = runtime.waiter()
        runtime.call_later(0.05, partial(waiter.resolve, None))
        waiter.wait()
        waited += 0.05
    return not CLIENTS
