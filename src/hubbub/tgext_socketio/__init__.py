"""tgext.socketio's API on hubbub, for TurboGears 2.5 apps.

An app written for tgext.socketio runs by importing ``hubbub.tgext_socketio``
where it imported ``tgext.socketio``::

    from hubbub.tgext_socketio import SocketIOController, SocketIOTGNamespace
    from hubbub.tgext_socketio.pubsub import PubSubTGNamespace

and serving it with ``use = egg:hubbub#tgext`` in ``[server:main]``
(:mod:`hubbub.tgext_socketio.paste`). Its namespaces then serve Socket.IO
0.9 clients and clients 2.x to 4.x alike; docs/migrating-from-tgext-socketio.md
says what differs.

The names are imported on first use: PasteDeploy imports this package before
the server entry point, which must patch gevent before anything imports
TurboGears (whose request locals are ``threading.local`` objects made at
import).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hubbub.tgext_socketio.controller import SocketIOController
    from hubbub.tgext_socketio.namespace import SocketIOTGNamespace

__all__ = ["SocketIOController", "SocketIOTGNamespace"]


def __getattr__(name: str) -> Any:
    if name == "SocketIOController":
        from hubbub.tgext_socketio.controller import SocketIOController

        return SocketIOController
    if name == "SocketIOTGNamespace":
        from hubbub.tgext_socketio.namespace import SocketIOTGNamespace

        return SocketIOTGNamespace
    raise AttributeError(f"module 'hubbub.tgext_socketio' has no attribute {name!r}")
