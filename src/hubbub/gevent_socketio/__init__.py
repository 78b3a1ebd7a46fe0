"""gevent-socketio 0.3's API on hubbub.

An application written for gevent-socketio runs by importing
``hubbub.gevent_socketio`` where it imported ``socketio``::

    from hubbub.gevent_socketio import socketio_manage
    from hubbub.gevent_socketio.namespace import BaseNamespace
    from hubbub.gevent_socketio.mixins import BroadcastMixin, RoomsMixin
    from hubbub.gevent_socketio.server import SocketIOServer

and then serves Socket.IO 0.9 clients and clients 2.x to 4.x on one
server. docs/migrating-from-gevent-socketio.md lists what differs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from hubbub.gevent_socketio.namespace import BaseNamespace, _GlobalPlaceholder
from hubbub.gevent_socketio.virtsocket import ErrorHandler, socket_for
from hubbub.socketio import views

__all__ = ["socketio_manage"]


def socketio_manage(
    environ: dict[str, Any],
    namespaces: Mapping[str, type[BaseNamespace]],
    request: Any = None,
    error_handler: ErrorHandler | None = None,
    json_loads: Callable[[str], Any] | None = None,
    json_dumps: Callable[[Any], str] | None = None,
) -> str:
    """Serve the connection hubbub routed to this view with ``namespaces``
    (``{"": GlobalNamespace, "/chat": ChatNamespace}``; ``""`` is the
    global namespace). Returns when the connection closes.

    ``request`` reaches the namespaces as ``self.request``; ``error_handler``
    replaces :func:`~hubbub.gevent_socketio.virtsocket.default_error_handler`
    for this connection; ``json_loads`` / ``json_dumps`` decide how the
    connection's values are read and written (hubbub's codecs write the
    wire: see the migration guide).

    Call it from a view of an app served by
    :class:`~hubbub.gevent_socketio.server.SocketIOServer`, the gunicorn
    worker, the paste runner or ``hubbub.WSGIApp(None, app)``.
    """
    binding = environ.get(views.ENVIRON_KEY)
    if not isinstance(binding, views.ViewBinding):
        # hubbub's socketio_manage says how to serve the app
        return views.socketio_manage(environ, namespaces, request)
    socket = socket_for(binding.client)
    environ["socketio"] = socket
    socket.environ = environ
    socket.namespaces = namespaces
    if request is not None:
        socket.request = request
    if error_handler is not None:
        socket.error_handler = error_handler
    if json_loads is not None:
        socket.json_loads = json_loads
    if json_dumps is not None:
        socket.json_dumps = json_dumps
    bound: dict[str, type[BaseNamespace]] = dict(namespaces)
    if "" not in bound and "/" not in bound:
        # 0.9 and 2.x clients are in the global namespace from the start
        bound[""] = _GlobalPlaceholder
    try:
        return views.socketio_manage(environ, bound, request)
    finally:
        socket._connection_closed()
