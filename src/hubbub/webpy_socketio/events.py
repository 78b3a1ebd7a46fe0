"""webpy-socketio's ``events``: the decorators (see :mod:`hubbub.channels.events`)."""

from hubbub.channels.events import (
    Event,
    EventError,
    on_connect,
    on_disconnect,
    on_error,
    on_finish,
    on_message,
    on_subscribe,
    on_unsubscribe,
)

__all__ = [
    "Event",
    "EventError",
    "on_connect",
    "on_disconnect",
    "on_error",
    "on_finish",
    "on_message",
    "on_subscribe",
    "on_unsubscribe",
]
