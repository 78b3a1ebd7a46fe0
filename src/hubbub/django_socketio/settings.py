"""django-socketio's settings, read from Django's settings when asked for:
``HOST`` (``SOCKETIO_HOST``, 127.0.0.1), ``PORT`` (``SOCKETIO_PORT``, 9000)
and ``MESSAGE_LOG_FORMAT`` (``SOCKETIO_MESSAGE_LOG_FORMAT``; None turns the
message log off)."""

from __future__ import annotations

from typing import Any

DEFAULTS: dict[str, Any] = {
    "HOST": "127.0.0.1",
    "PORT": 9000,
    "MESSAGE_LOG_FORMAT": (
        '%(REMOTE_ADDR)s - - [%(TIME)s] "Socket.IO %(TYPE)s: %(MESSAGE)s"'
    ),
    # hubbub's own: hubbub.Server options for runserver_socketio
    # (cors_allowed_origins, adapter, ...)
    "SERVER_OPTIONS": {},
}


def __getattr__(name: str) -> Any:
    if name in DEFAULTS:
        from django.conf import settings

        return getattr(settings, "SOCKETIO_" + name, DEFAULTS[name])
    raise AttributeError(name)
