"""gevent-socketio's gunicorn workers (``socketio.sgunicorn``) on hubbub's::

    gunicorn -k hubbub.gevent_socketio.sgunicorn.GeventSocketIOWorker module:app

The app's view for ``/socket.io/...`` calls ``socketio_manage``. As in
gevent-socketio, the first worker also starts the Flash policy server
(port 10843; the ``POLICY_SERVER`` environment variable keeps the others
from trying), and ``NginxGeventSocketIOWorker`` offers long-polling only.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from gunicorn.workers.ggevent import GeventPyWSGIWorker

from hubbub.gevent_socketio.policyserver import FlashPolicyServer
from hubbub.runtime.gevent.paste import server_options
from hubbub.runtime.gevent.server import as_wsgi_app
from hubbub.runtime.gevent.worker import GeventWorker

__all__ = ["GeventSocketIOBaseWorker", "GeventSocketIOWorker", "NginxGeventSocketIOWorker"]

log = logging.getLogger("hubbub.gevent_socketio")


class GeventSocketIOBaseWorker(GeventWorker):
    """hubbub's gevent worker with gevent-socketio's class options."""

    #: gevent-socketio's transport names; None offers them all
    transports: Sequence[str] | None = None
    resource = "socket.io"
    policy_server = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # workers are made in the arbiter before they fork: the first one
        # claims the policy server for everyone
        if os.environ.get("POLICY_SERVER") is None:
            if self.policy_server:
                os.environ["POLICY_SERVER"] = "true"
        else:
            self.policy_server = False
        super().__init__(*args, **kwargs)
        self._policy: FlashPolicyServer | None = None

    def load_wsgi(self) -> None:
        """Load the app as gunicorn does, and serve it with hubbub (Socket.IO under
        the worker's ``resource``)."""
        # gunicorn's loading, then hubbub's app with this class's options
        GeventPyWSGIWorker.load_wsgi(self)
        options = server_options({"transports": self.transports} if self.transports else {})
        self.wsgi = as_wsgi_app(self.wsgi, resource=self.resource, legacy=True, **options)

    def run(self) -> None:
        """Start the flash policy server (when asked for), then serve."""
        if self.policy_server:
            host, port = "127.0.0.1", 80
            sockets = getattr(self, "sockets", None) or []
            address = getattr(sockets[0], "cfg_addr", None) if sockets else None
            if isinstance(address, tuple) and len(address) > 1:
                host, port = str(address[0]), int(address[1])
            self._policy = FlashPolicyServer((host, 10843), ports=(port,))
            try:
                self._policy.start()
            except OSError as exc:  # as gevent-socketio: reported, not fatal
                log.error("FAILED to start flash policy server: %s", exc)
                self._policy = None
        try:
            super().run()
        finally:
            if self._policy is not None:
                self._policy.stop()


class GeventSocketIOWorker(GeventSocketIOBaseWorker):
    """The worker of ``gunicorn -k``: resource ``socket.io``, every
    transport, and the Flash policy server (in the first worker)."""

    policy_server = True


class NginxGeventSocketIOWorker(GeventSocketIOWorker):
    """Long-polling only, for proxies that do not pass websockets on."""

    transports = ("xhr-polling",)
