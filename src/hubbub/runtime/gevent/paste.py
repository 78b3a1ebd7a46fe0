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
    heartbeat_timeout = 60

It takes gevent-socketio's paste options: host, port, resource, transports,
policy_server, policy_listener_host, policy_listener_port,
heartbeat_interval, heartbeat_timeout and close_timeout (plus ``legacy``,
hubbub's switch for Socket.IO 0.9 clients).

:func:`server_options` is the one translation of gevent-socketio's options
into hubbub.Server options; ``hubbub.gevent_socketio.server.SocketIOServer``
and its gunicorn worker use it too.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from hubbub.engineio.options import EngineOptions
from hubbub.runtime.gevent.server import serve

log = logging.getLogger("hubbub.paste")

# gevent-socketio's transport names (Socket.IO 0.9), and Engine.IO's own two
# names, as the Engine.IO transport each one allows for clients 2.x-4.x ...
TRANSPORTS = {
    "websocket": "websocket",
    "flashsocket": "websocket",
    "xhr-polling": "polling",
    "jsonp-polling": "polling",
    "htmlfile": "polling",
    "xhr-multipart": "polling",
    "polling": "polling",
}

# ... and as the Socket.IO 0.9 transports they allow. xhr-multipart has none:
# no released client speaks it (socket.io-client 0.9 has no such transport).
LEGACY_TRANSPORTS: dict[str, tuple[str, ...]] = {
    "websocket": ("websocket",),
    "flashsocket": ("flashsocket",),
    "xhr-polling": ("xhr-polling",),
    "jsonp-polling": ("jsonp-polling",),
    "htmlfile": ("htmlfile",),
    "xhr-multipart": (),
    "polling": ("htmlfile", "xhr-polling", "jsonp-polling"),
}


def as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("true", "yes", "on", "y", "t", "1")
    return bool(value)


def transport_names(value: str | Iterable[str]) -> list[str]:
    """``"websocket, xhr-polling"`` (paste) or a list (SocketIOServer)."""
    names = value.replace(",", " ").split() if isinstance(value, str) else list(value)
    for name in names:
        if name not in TRANSPORTS:
            raise ValueError(
                f"unknown transport {name!r}: use {', '.join(sorted(TRANSPORTS))}"
            )
    return names


def engine_transports(value: str | Iterable[str]) -> tuple[str, ...]:
    """The Engine.IO transports that gevent-socketio's transport names allow."""
    return tuple(dict.fromkeys(TRANSPORTS[name] for name in transport_names(value)))


def legacy_transports(value: str | Iterable[str]) -> tuple[str, ...]:
    """The Socket.IO 0.9 transports that gevent-socketio's names allow."""
    names = transport_names(value)
    if "xhr-multipart" in names:
        log.warning("transport 'xhr-multipart' is not offered: no released client speaks it")
    out = tuple(dict.fromkeys(mapped for name in names for mapped in LEGACY_TRANSPORTS[name]))
    if not out:
        raise ValueError("no Socket.IO 0.9 transport left to offer (xhr-multipart is not served)")
    return out


def _seconds(conf: Mapping[str, Any], name: str) -> float | None:
    """A number of seconds from the options; None when unset or empty."""
    value = conf.get(name)
    return None if value is None or value == "" else float(value)


def server_options(conf: Mapping[str, Any]) -> dict[str, Any]:
    """hubbub.Server options from gevent-socketio's options (paste strings
    or numbers): ``transports``, ``heartbeat_interval``,
    ``heartbeat_timeout``, ``close_timeout`` and hubbub's ``legacy``.

    0.9's heartbeat timeout is what a 0.9 client waits for the next
    heartbeat, and hubbub tells it ``ping_interval + ping_timeout``; so
    ``ping_timeout`` is the timeout minus the interval. A timeout no longer
    than the interval (which would drop every 0.9 client between two
    heartbeats) is taken as Engine.IO's ping timeout instead, with a warning.
    """
    options: dict[str, Any] = {}
    transports = conf.get("transports")
    if transports:
        options["transports"] = engine_transports(transports)
        options["legacy_transports"] = legacy_transports(transports)
    interval = _seconds(conf, "heartbeat_interval")
    if interval is not None:
        options["ping_interval"] = interval
    heartbeat_timeout = _seconds(conf, "heartbeat_timeout")
    if heartbeat_timeout is not None:
        ping_interval = EngineOptions.ping_interval if interval is None else interval
        if heartbeat_timeout > ping_interval:
            options["ping_timeout"] = heartbeat_timeout - ping_interval
        else:
            log.warning(
                "heartbeat_timeout %s is not longer than the heartbeat interval %s: using it "
                "as the ping timeout (0.9 clients are told %s)",
                heartbeat_timeout,
                ping_interval,
                ping_interval + heartbeat_timeout,
            )
            options["ping_timeout"] = heartbeat_timeout
    close_timeout = _seconds(conf, "close_timeout")
    if close_timeout is not None:
        # Engine.IO has no close timeout; it is the reconnect grace period of
        # Socket.IO 0.9 sessions
        options["close_timeout"] = close_timeout
    if "legacy" in conf:
        options["legacy"] = as_bool(conf["legacy"])
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
        policy = FlashPolicyServer(listener, ports=(port,))
        policy.start()
        log.info("Flash policy server on %s:%d", *listener)
    try:
        serve(app, host, port, resource=resource, **options)
    finally:
        if policy is not None:
            policy.stop()
