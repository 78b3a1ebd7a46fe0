"""The exceptions a hubbub application meets."""

from __future__ import annotations

from typing import Any


class HubbubError(Exception):
    """Base class of hubbub's own errors."""


class ConnectionRefusedError(HubbubError):
    """Raise from ``on_connect`` or a connection middleware to refuse a client.

    The client gets CONNECT_ERROR with ``message`` (and ``data`` if given;
    clients 2.x get the message only).
    """

    def __init__(self, message: str = "Connection refused", data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class EventRefusedError(HubbubError):
    """Raise from a per-packet middleware (``socket.use``) to drop an event;
    the client gets an 'error' event with the message (and data)."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class AckTimeoutError(HubbubError, TimeoutError):
    """An acknowledgement did not come in time (``timeout(...).emit``, ``call``)."""


class DisconnectedError(HubbubError, ConnectionError):
    """The client left before it answered (``call``, ``timeout(...).emit``)."""


class ClientConnectionError(HubbubError, ConnectionError):
    """A client could not connect: the server could not be reached, refused
    the session, or refused a namespace (``data`` is what it said, e.g. the
    ``data`` of the server's ConnectionRefusedError)."""

    def __init__(self, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data
