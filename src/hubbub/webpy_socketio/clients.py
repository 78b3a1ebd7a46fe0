"""webpy-socketio's ``clients`` (see :mod:`hubbub.channels.clients`)."""

from hubbub.channels.clients import CLIENTS, client_end, client_end_all, client_start

__all__ = ["CLIENTS", "client_end", "client_end_all", "client_start"]
