"""webpy-socketio's settings, read from ``web.config`` when asked for:
``SOCKETIO_HOST`` (127.0.0.1), ``SOCKETIO_PORT`` (8000) and
``SOCKETIO_MESSAGE_LOG_FORMAT`` (None turns the message log off)."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "SOCKETIO_HOST": "127.0.0.1",
    "SOCKETIO_PORT": 8000,
    "SOCKETIO_MESSAGE_LOG_FORMAT": (
        '%(REMOTE_ADDR)s - - [%(TIME)s] "Socket.IO %(TYPE)s: %(MESSAGE)s"'
    ),
}


def get(name: str) -> Any:
    import web  # web.py, the app's framework

    return web.config.get(name, DEFAULTS[name])


def __getattr__(name: str) -> Any:
    key = "SOCKETIO_" + name
    if key in DEFAULTS:
        return get(key)
    raise AttributeError(name)
