"""tgext.socketio's server runner, on hubbub.gevent_socketio's SocketIOServer::

    socketio_server_runner(wsgi_app, global_config, socketio_resource="socketio",
                           host="0.0.0.0", port=8080)

``socketio_resource`` is where the app mounts its SocketIOController; hubbub
answers the Socket.IO requests under it (0.9 clients at ``/<resource>/1/``,
clients 2.x-4.x at ``/<resource>/``) and routes each new connection, and
every other request under it, to the app. With no other option the call is
tgext.socketio's (gevent-socketio's defaults: the Flash policy server on port
10843 too). The other options are gevent-socketio's and hubbub's, as
:func:`hubbub.gevent_socketio.server.paste_options` reads them (strings from
an ini file): ``transports``, ``policy_server``, ``policy_listener_host``,
``policy_listener_port``, ``heartbeat_interval``, ``heartbeat_timeout``,
``close_timeout``, ``adapter``, ``cors_allowed_origins``, ``legacy``.

Without an ``adapter``, the app's ``anypubsub.*`` settings choose it: a
Redis URL there (see :func:`hubbub.tgext_socketio.pubsub.redis_url`) makes
the Redis adapter, so that publications cross the servers as anypubsub's
Redis backend carried them.

``debug = true`` is fine: hubbub runs the app's response to the end for
each connection, so TG's debugger middleware does not stop the controller
(tgext.socketio refused debug mode for that reason).

Monkey-patching is the caller's: ``egg:hubbub#tgext`` (:mod:`.paste`) does
it before the app loads; a script that calls this runner must call
``gevent.monkey.patch_all()`` before it imports TurboGears.
"""

from __future__ import annotations

import logging
from typing import Any

import tg

from hubbub.adapters.url import adapter_from_url
from hubbub.gevent_socketio import server as gs_server
from hubbub.tgext_socketio.pubsub import redis_url

__all__ = ["socketio_server_runner"]

log = logging.getLogger("hubbub.tgext_socketio")


def socketio_server_runner(wsgi_app: Any, global_config: Any, **kw: Any) -> None:
    """Serve ``wsgi_app`` until interrupted (tgext.socketio's
    ``paste.server_runner`` signature)."""
    resource = str(kw.pop("socketio_resource", "socketio"))
    host = str(kw.pop("host", "0.0.0.0"))  # tgext.socketio's default
    port = int(kw.pop("port", 8080))
    options, unknown = gs_server.paste_options(kw, host)
    if unknown:
        log.warning("[server:main] options not used: %s", ", ".join(sorted(unknown)))
    if "adapter" not in options:
        url = redis_url(tg.config)
        if url is not None:
            log.info("the Redis adapter at %s, from the anypubsub settings", url)
            options["adapter"] = adapter_from_url(url)
    print(f"Starting SocketIO HTTP server on http://{host}:{port}, resource {resource}", flush=True)
    gs_server.SocketIOServer((host, port), wsgi_app, resource=resource, **options).serve_forever()
