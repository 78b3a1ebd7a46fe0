"""``socketio_manage``: a framework view becomes the Socket.IO endpoint.

gevent-socketio's way of adding real-time to Flask, Pyramid or Django: route
the paths under the Socket.IO resource to a view, and in that view call
``socketio_manage(request.environ, {"/chat": ChatNamespace}, request)``.

hubbub's WSGIApp (in its views mode) answers the Engine.IO requests itself
and, when a connection opens, calls the wrapped app once with that
connection's environ, in a greenlet of its own, discarding its response. The
view's ``socketio_manage`` call says which namespaces the connection may use,
with which classes, and which request object the namespaces see as
``self.request``. Packets that arrive before the view has spoken wait for it.
If the view returns without calling it, the Server's own namespaces serve
the connection.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from hubbub.runtime.contract import Waiter
from hubbub.socketio.connection import Connection
from hubbub.socketio.dispatch import NamespaceClass
from hubbub.socketio.handlers import check_namespace_class

log = logging.getLogger("hubbub.socketio.views")

ENVIRON_KEY = "hubbub.view"


def namespace_name(name: str) -> str:
    """gevent-socketio names the main namespace ``""``; hubbub ``"/"``."""
    return name if name.startswith("/") else "/" + name


class ViewBinding:
    """What a view said for one connection, and what waits for it."""

    __slots__ = ("_closed", "_waiters", "client", "environ", "held", "namespaces", "request",
                 "settled")

    def __init__(self, client: Connection, environ: dict[str, Any]) -> None:
        self.client = client
        self.environ = environ
        self.namespaces: dict[str, NamespaceClass] | None = None
        self.request: Any = None
        self.settled = False
        self.held: list[Callable[[], None]] = []
        self._closed = False
        self._waiters: list[Waiter] = []

    def bind(self, namespaces: Mapping[str, NamespaceClass], request: Any) -> None:
        check_handler = self.client.server.scheduler.check_handler
        bound: dict[str, NamespaceClass] = {}
        for name, cls in namespaces.items():
            try:
                check_namespace_class(cls, check_handler)
            except TypeError as exc:
                raise TypeError(f"socketio_manage: {name!r} maps to {cls!r}: {exc}") from None
            bound[namespace_name(name)] = cls
        self.namespaces = bound
        self.request = request
        self.settle()

    def settle(self) -> None:
        """The view has spoken (or returned): let the held packets through."""
        if self.settled:
            return
        self.settled = True
        held, self.held = self.held, []
        for step in held:
            step()

    def class_for(self, name: str) -> NamespaceClass | None:
        return self.namespaces.get(name) if self.namespaces is not None else None

    def closed(self) -> None:
        self._closed = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            waiter.resolve(None)

    def wait_closed(self) -> None:
        """Block the view's greenlet until the connection ends, as
        gevent-socketio's socketio_manage did."""
        if self._closed:
            return
        waiter: Waiter = self.client.server.scheduler.need().waiter()
        self._waiters.append(waiter)
        waiter.wait()


def socketio_manage(
    environ: dict[str, Any], namespaces: Mapping[str, NamespaceClass], request: Any = None
) -> str:
    """Serve this connection with ``namespaces`` (``{"/chat": ChatNamespace}``;
    ``""`` is the main namespace). ``request`` reaches them as ``self.request``.

    Call it from a view that hubbub routed a Socket.IO connection to (an app
    served by ``hubbub run --runtime gevent``, ``hubbub.WSGIApp(None, app)``,
    the gunicorn worker or the paste server). It returns when the
    connection closes.
    """
    binding = environ.get(ENVIRON_KEY)
    if not isinstance(binding, ViewBinding):
        raise RuntimeError(
            "socketio_manage() needs the environ of a Socket.IO connection that hubbub routed "
            "to this view: serve the app with hubbub.WSGIApp(None, app), `hubbub run "
            "--runtime gevent`, the gunicorn worker or the paste server"
        )
    binding.bind(namespaces, request)
    binding.wait_closed()
    return ""
