"""The PasteDeploy entry point ``egg:hubbub#tgext``::

    [server:main]
    use = egg:hubbub#tgext            # tgext.socketio's was egg:tgext.socketio#socketio
    socketio_resource = socketio      # where the SocketIOController is mounted
    host = 127.0.0.1
    port = 8080

(the other options: :mod:`hubbub.tgext_socketio.server`).

It is a ``paste.server_factory``: ``gearbox serve`` and ``pserve`` call it
while they load the server, before they load the app, so it patches gevent
before TurboGears and the app's models make their ``threading.local``
objects: TG's request locals (and SQLAlchemy's scoped sessions) are then per
greenlet, one per connection. Patching when the server is started, as
tgext.socketio did, is too late for them; patching when this module is
imported breaks ``--reload`` (the reloader's threads exist by then).

This module imports neither gevent nor TurboGears until it is called.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

from hubbub.runtime.gevent.monkey import patch_all

__all__ = ["server_factory"]

log = logging.getLogger("hubbub.tgext_socketio")


def server_factory(global_conf: dict[str, Any], **options: Any) -> Callable[[Any], None]:
    """PasteDeploy's server factory behind ``use = egg:hubbub#tgext``: patches
    gevent before TurboGears loads, and returns the function that serves the
    app with tgext.socketio's options from ``[server:main]``."""
    if "tg" in sys.modules:
        log.warning("TurboGears was imported before the server loaded: its request locals "
                    "will be shared by every connection")
    patch_all()

    def serve(app: Any) -> None:
        from hubbub.tgext_socketio.server import socketio_server_runner

        socketio_server_runner(app, global_conf, **options)

    return serve
