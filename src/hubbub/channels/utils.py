"""Sends from any code (a view, a job), outside any handler.

``send(session_id, message)``, ``broadcast(message)`` and
``broadcast_channel(message, channel)`` go through the hubbub servers this
process runs (through their adapters: to every process of a Redis cluster)
and raise :class:`NoSocket` when nobody would get the message. With a
cluster adapter and nobody here, the cluster is asked, which waits for its
answer: a blocking call, for code that runs on gevent.
"""

from __future__ import annotations

import inspect
from datetime import datetime
from typing import Any

from hubbub.channels.channels import CHANNELS
from hubbub.channels.clients import CLIENTS
from hubbub.socketio.server import Server, running_servers

__all__ = ["NoSocket", "broadcast", "broadcast_channel", "format_log", "send"]


class NoSocket(Exception):
    """No client would get the message."""


def _anyone(server: Server, rooms: tuple[str, ...]) -> bool:
    """Whether a socket of the main namespace is in ``rooms`` (any socket,
    for none), on this process or, with a cluster adapter, on another."""
    adapter = server.sockets.adapter
    if adapter.sockets(set(rooms)):
        return True
    if adapter.server_count() <= 1:
        return False
    found = server.to(*rooms).fetch_sockets()
    if inspect.isawaitable(found):
        # asyncio: nothing may block the loop, and the caller is no coroutine
        close = getattr(found, "close", None)
        if close is not None:
            close()
        raise RuntimeError(
            "asking the cluster for its sockets waits for the answer: call this from code "
            "that runs on gevent, or from a handler"
        )
    return bool(found)


def send(session_id: str, message: Any) -> None:
    """To the socket whose session id is ``session_id``."""
    entry = CLIENTS.get(session_id)
    if entry is not None:
        entry[1].send(message)
        return
    for server in running_servers():
        if _anyone(server, (str(session_id),)):
            server.to(str(session_id)).send(message)
            return
    raise NoSocket(f"There is no socket with the session ID: {session_id}")


def broadcast(message: Any) -> None:
    """To every socket."""
    servers = running_servers()
    if not servers:
        # sockets no hubbub server serves (a test's stand-ins): through one
        # of them, as django-socketio did
        if not CLIENTS:
            raise NoSocket("There are no clients.")
        next(iter(CLIENTS.values()))[1].send_and_broadcast(message)
        return
    if not CLIENTS and not any(_anyone(server, ()) for server in servers):
        raise NoSocket("There are no clients.")
    for server in servers:
        server.send(message)


def broadcast_channel(message: Any, channel: str) -> None:
    """To every socket subscribed to ``channel``."""
    servers = running_servers()
    if not servers:
        for sid in CHANNELS.get(channel, ()):
            entry = CLIENTS.get(sid)
            if entry is not None:
                entry[1].send_and_broadcast_channel(message, channel)
                return
        raise NoSocket(f"There are no clients on the channel: {channel}")
    here = any(sid in CLIENTS for sid in CHANNELS.get(channel, ()))
    if not here and not any(_anyone(server, (channel,)) for server in servers):
        raise NoSocket(f"There are no clients on the channel: {channel}")
    for server in servers:
        server.to(channel).send(message)


def format_log(fmt: str | None, environ: dict[str, Any], kind: str, message: Any) -> str | None:
    """One message log line: ``fmt`` interpolated with ``environ`` (the
    request's WSGI environ), ``TYPE`` (message, subscribe, unsubscribe),
    ``MESSAGE`` and ``TIME``; None when ``fmt`` is None (no log)."""
    if fmt is None:
        return None
    values = dict(environ)
    values.update(TYPE=kind, MESSAGE=message, TIME=datetime.now().replace(microsecond=0))
    return fmt % _Defaults(values) + "\n"


class _Defaults(dict[str, Any]):
    """An environ key the request does not have interpolates as ``-``."""

    def __missing__(self, key: str) -> str:
        return "-"
