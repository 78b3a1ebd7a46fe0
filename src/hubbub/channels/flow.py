"""The view of a channel app: one connection, from connect to finish.

django-socketio's ``socketio`` view and webpy-socketio's ``socketio`` class
both run :func:`serve` with their request and ``environ["socketio"]``:

1. ``on_connect`` (once the client is connected);
2. for each message it sends: ``["__subscribe__", channel]`` subscribes and
   fires ``on_subscribe``, ``["__unsubscribe__", channel]`` the reverse, and
   anything else fires ``on_message``; each is written to the message log;
3. when it is gone: ``on_disconnect``;
4. a handler that raises fires ``on_error`` and ends the connection;
5. always: ``on_unsubscribe`` for each remaining channel, then ``on_finish``.

A marker and its channel are paired even when they come in two payloads,
and django-socketio's ``["__array__", data]`` (and hubbub's
``{"__array__": data}``, which keeps a 0.6 page's array an array) is the
message ``data``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from hubbub.channels.channels import SocketIOChannelProxy
from hubbub.channels.clients import client_end, client_start
from hubbub.channels.events import (
    on_connect,
    on_disconnect,
    on_error,
    on_message,
    on_subscribe,
    on_unsubscribe,
)
from hubbub.channels.protocol import SUBSCRIBE, UNSUBSCRIBE, SocketIOProtocol

log = logging.getLogger("hubbub.channels")

ARRAY = "__array__"
_MARKERS = (SUBSCRIBE, UNSUBSCRIBE, ARRAY)

#: ``format_log(request, type, message)``: a log line, or None for none
FormatLog = Callable[[Any, str, Any], "str | None"]


def serve(request: Any, socket: Any, format_log: FormatLog) -> None:
    """Run one connection's events (returns when it is over)."""
    context: dict[str, Any] = {}
    proxy = SocketIOChannelProxy(socket)
    client_start(request, proxy, context)
    pending: str | None = None  # a marker whose other half is still to come

    def write_log(kind: str, message: Any) -> None:
        line = format_log(request, kind, message)
        if line is not None:
            socket.handler.server.log.write(line)

    def handle(marker: str | None, message: Any) -> None:
        if marker in (SUBSCRIBE, UNSUBSCRIBE):
            channel = message if isinstance(message, str) else str(message)
            if marker == SUBSCRIBE:
                proxy.subscribe(channel)
                on_subscribe.send(request, proxy, context, channel)
                write_log("subscribe", channel)
            else:
                proxy.unsubscribe(channel)
                on_unsubscribe.send(request, proxy, context, channel)
                write_log("unsubscribe", channel)
            return
        if isinstance(message, dict) and len(message) == 1 and ARRAY in message:
            message = message[ARRAY]
        on_message.send(request, proxy, context, message)
        write_log("message", message)

    try:
        if socket.on_connect():
            on_connect.send(request, proxy, context)
        while True:
            messages = socket.recv()
            if not messages and not socket.connected():
                on_disconnect.send(request, proxy, context)
                break
            for message in messages:
                if pending is not None:
                    marker, pending = pending, None
                    handle(marker, message)
                elif isinstance(message, str) and message in _MARKERS:
                    pending = message
                else:
                    handle(None, message)
    except Exception as exc:
        log.exception("a Socket.IO handler raised; the connection ends")
        on_error.send(request, proxy, context, exc)
    finally:
        client_end(request, proxy, context)
        if isinstance(socket, SocketIOProtocol):
            socket.finish()
