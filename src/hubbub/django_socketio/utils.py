"""django-socketio's ``utils``: out-of-band sends (see :mod:`hubbub.channels.utils`)
and the message log line, formatted with ``settings.SOCKETIO_MESSAGE_LOG_FORMAT``
from the request's ``META``."""

from __future__ import annotations

from typing import Any

from hubbub.channels import utils as core
from hubbub.channels.utils import NoSocket, broadcast, broadcast_channel, send
from hubbub.django_socketio import settings

__all__ = ["NoSocket", "broadcast", "broadcast_channel", "format_log", "send"]


def format_log(request: Any, message_type: str, message: Any) -> str | None:
    """A log line for a message, in ``SOCKETIO_MESSAGE_LOG_FORMAT`` (None when
    that setting is None: no logging)."""
    return core.format_log(settings.MESSAGE_LOG_FORMAT, request.META, message_type, message)
