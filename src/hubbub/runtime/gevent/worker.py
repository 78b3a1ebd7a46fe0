"""A gunicorn worker for hubbub on gevent::

    gunicorn -k hubbub.runtime.gevent.worker.GeventWorker -w 1 module:app

``app`` may be a hubbub Server, a ``hubbub.WSGIApp``, or a plain WSGI app
whose views call ``socketio_manage`` (served on ``/socket.io/``). gunicorn's
gevent worker monkey-patches the process first, as it always does.

With more than one worker, clients on long-polling need sticky sessions and
the workers a shared adapter (see docs/scaling.md).
"""

from __future__ import annotations

from typing import Any

import gevent
from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler, PyWSGIServer

from hubbub.runtime.gevent.core import FAILURES, run_logged
from hubbub.runtime.gevent.server import SocketHandoff, as_wsgi_app, connection_failed
from hubbub.runtime.gevent.wsgi import WSGIApp


class HubbubGunicornHandler(SocketHandoff, PyWSGIHandler):  # type: ignore[misc]
    """gunicorn's pywsgi handler (its access log) with the socket handoff."""


class HubbubGunicornServer(PyWSGIServer):  # type: ignore[misc]
    """gunicorn's pywsgi server; what ends a connection's greenlet is
    logged, not printed to stderr by gevent's hub."""

    def handle(self, sock: Any, address: Any) -> None:
        try:
            super().handle(sock, address)
        except FAILURES as exc:
            connection_failed(address, exc)


class GeventWorker(GeventPyWSGIWorker):  # type: ignore[misc]
    """gunicorn's gevent worker serving a hubbub app, websockets included:
    ``gunicorn -k hubbub.runtime.gevent.worker.GeventWorker myapp:app``.
    The app may be a ``Server`` (served alone), a ``WSGIApp``, or a plain
    WSGI app (served in views mode, for ``socketio_manage``)."""
    server_class = HubbubGunicornServer
    wsgi_handler = HubbubGunicornHandler

    def load_wsgi(self) -> None:
        """Load the app as gunicorn does, then wrap it for hubbub."""
        super().load_wsgi()
        self.wsgi: WSGIApp = as_wsgi_app(self.wsgi)

    def handle_quit(self, sig: int, frame: Any) -> None:
        """SIGQUIT/SIGINT: close every session cleanly (clients reconnect
        elsewhere), then quit as gunicorn does."""
        self._close_sessions()
        super().handle_quit(sig, frame)

    def handle_exit(self, sig: int, frame: Any) -> None:
        """SIGTERM: close every session cleanly (clients reconnect elsewhere), then
        exit as gunicorn does."""
        self._close_sessions()
        super().handle_exit(sig, frame)

    def _close_sessions(self) -> None:
        # websockets and held polls would otherwise keep the worker busy
        # until gunicorn's graceful timeout; clients reconnect elsewhere
        wsgi = getattr(self, "wsgi", None)
        if isinstance(wsgi, WSGIApp):
            gevent.spawn(run_logged, wsgi.endpoint.close_all, "server shutting down")
