"""The events a channel app handles, registered with decorators::

    @on_message(channel="^room-")
    def chat(request, socket, context, message):
        socket.send_and_broadcast_channel(message)

Every handler gets the request of the connection, its socket (a
:class:`~hubbub.channels.channels.SocketIOChannelProxy`) and ``context``, a
dict kept for the connection's life, then the event's own argument:

==================  ==============  ==========================================
event               argument        when
==================  ==============  ==========================================
``on_connect``                      the client connected (once)
``on_message``      ``message``     a message (a str, or a JSON value)
``on_subscribe``    ``channel``     the client subscribed to ``channel``
``on_unsubscribe``  ``channel``     it left ``channel`` (and, as it goes, for
                                    every channel it is still in)
``on_error``        ``exception``   a handler raised (the connection then ends)
``on_disconnect``                   the client went away
``on_finish``                       the connection is over (always last; also
                                    for open connections when the server stops)
==================  ==============  ==========================================

A decorator is used bare (``@on_message``) or called, with ``channel=`` a
regular expression (``re.match``: anchored at the start) that binds the
handler to sockets subscribed to a matching channel; for ``on_subscribe``
and ``on_unsubscribe`` it is matched against the channel of the event.
A handler without a pattern runs for sockets in no channel at all, as
django-socketio's did, except that ``on_subscribe`` and ``on_unsubscribe``
handlers without one run for every channel (in django-socketio they never
ran). ``on_connect`` takes no ``channel=``: a new socket is in none.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, overload

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

Handler = Callable[..., Any]


class EventError(Exception):
    """A handler that cannot be registered."""


class Event:
    """One event: its handlers, each with its channel pattern or None."""

    def __init__(self, name: str, supports_channels: bool = True) -> None:
        self.name = name
        self.supports_channels = supports_channels
        self.handlers: list[tuple[Handler, re.Pattern[str] | None]] = []

    def __repr__(self) -> str:
        return f"<Event {self.name}: {len(self.handlers)} handler(s)>"

    @overload
    def __call__(self, handler: Handler) -> Handler: ...
    @overload
    def __call__(
        self, handler: None = None, channel: str | re.Pattern[str] | None = None
    ) -> Callable[[Handler], Handler]: ...
    def __call__(
        self, handler: Handler | None = None, channel: str | re.Pattern[str] | None = None
    ) -> Any:
        """``@event`` or ``@event(channel="^pattern")``; returns the handler."""
        if handler is not None and not callable(handler):
            raise EventError(f"{self.name}: a handler must be callable, not {handler!r}")
        if channel and not self.supports_channels:
            name = getattr(handler, "__name__", "") if handler is not None else ""
            raise EventError(
                f"The {self.name} event does not support channels, so the handler "
                f"{name or '(the one decorated)'} could not be registered"
            )
        pattern = re.compile(channel) if channel else None

        def register(fn: Handler) -> Handler:
            self.handlers.append((fn, pattern))
            return fn

        return register(handler) if handler is not None else register

    def matches(self, pattern: re.Pattern[str] | None, socket: Any, args: tuple[Any, ...]) -> bool:
        """Whether a handler with ``pattern`` runs for this event."""
        channels = getattr(socket, "channels", ())
        if self.name.endswith("subscribe"):
            # (un)subscribe: the pattern is matched against the channel itself
            return pattern is None or bool(args and pattern.match(str(args[0])))
        if pattern is None:
            return not channels
        return any(pattern.match(c) for c in channels)

    def send(self, request: Any, socket: Any, context: Any, *args: Any) -> None:
        """Run every handler that matches, in registration order."""
        for handler, pattern in list(self.handlers):
            if self.matches(pattern, socket, args):
                handler(request, socket, context, *args)


on_connect = Event("on_connect", supports_channels=False)
on_message = Event("on_message")
on_subscribe = Event("on_subscribe")
on_unsubscribe = Event("on_unsubscribe")
on_error = Event("on_error")
on_disconnect = Event("on_disconnect")
on_finish = Event("on_finish")
