"""The PasteDeploy server runner, so ``pserve development.ini`` serves a
Pyramid (or any WSGI) app with hubbub on gevent::

    [server:main]
    use = egg:hubbub
    host = 127.0.0.1
    port = 6543
    resource = socket.io
    transports = websocket, xhr-polling
    policy_server = false
    heartbeat_interval = 25
    heartbeat_timeout = 20

It takes gevent-socketio's paste options: host, port, resource, transports,
policy_server, policy_listener_host, policy_listener_port,
heartbeat_interval, heartbeat_timeout and close_timeout.
"""

from __future__ import annotations

import logging
from typing import Any

from hubbub.runtime.gevent.server import serve

log = logging.getLogger("hubbub.paste")

# gevent-socketio's transport names (Socket.IO 0.9) -> Engine.IO's
TRANSPORTS = {
    "websocket": "websocket",
    "flashsocket": "websocket",
    "xhr-polling": "polling",
    "jsonp-polling": "polling",
    "htmlfile": "polling",
    "xhr-multipart": "polling",
    "polling": "polling",
}


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "y", "t", "1")
    return bool(value)


def engine_transports(value: Any) -> tuple[str, ...]:
    names = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    out: list[str] = []
    for name in names:
        mapped = TRANSPORTS.get(name)
        if mapped is None:
            raise ValueError(f"unknown transport {name!r} in the paste configuration")
        if mapped not in out:
            out.append(mapped)
    return tuple(out)


def server_options(conf: dict[str, Any]) -> dict[str, Any]:
    """hubbub.Server options from gevent-socketio's paste options."""
    options: dict[str, Any] = {}
    if "transports" in conf:
        options["transports"] = engine_transports(conf["transports"])
    if "heartbeat_interval" in conf:
        options["ping_interval"] = float(conf["heartbeat_interval"])
    if "heartbeat_timeout" in conf:
        options["ping_timeout"] = float(conf["heartbeat_timeout"])
    if "close_timeout" in conf:
        # Engine.IO has no close timeout; it is the reconnect grace period of
        # Socket.IO 0.9 sessions
        options["close_timeout"] = float(conf["close_timeout"])
    return options


def serve_paste(app: Any, global_conf: dict[str, Any], **conf: Any) -> None:
    """The ``paste.server_runner`` entry point (``use = egg:hubbub``)."""
    host = conf.get("host", "127.0.0.1")
    port = int(conf.get("port", 8080))
    resource = str(conf.get("resource", "socket.io"))
    options = server_options(conf)
    policy = None
    if as_bool(conf.get("policy_server", False)):
        from hubbub.runtime.gevent.policy import FlashPolicyServer

        listener = (
            conf.get("policy_listener_host", host),
            int(conf.get("policy_listener_port", 10843)),
        )
        policy = FlashPolicyServer(listener)
        policy.start()
        log.info("Flash policy server on %s:%d", *listener)
    try:
        serve(app, host, port, resource=resource, **options)
    finally:
        if policy is not None:
            policy.stop()
