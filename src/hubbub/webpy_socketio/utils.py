"""webpy-socketio's ``utils``: out-of-band sends (see :mod:`hubbub.channels.utils`)
and the message log line, formatted with ``web.config.SOCKETIO_MESSAGE_LOG_FORMAT``."""

from __future__ import annotations

from typing import Any

from hubbub.channels import utils as core
from hubbub.channels.utils import NoSocket, broadcast, broadcast_channel, send
from hubbub.webpy_socketio import settings

__all__ = ["NoSocket", "broadcast", "broadcast_channel", "format_log", "send"]


def format_log(request: dict[str, Any], message_type: str, message: Any) -> str | None:
    """``request`` is the connection's WSGI environ (``web.ctx.env``)."""
    return core.format_log(settings.get("SOCKETIO_MESSAGE_LOG_FORMAT"), request, message_type,
                           message)
