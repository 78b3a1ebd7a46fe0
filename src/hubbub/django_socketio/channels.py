"""django-socketio's ``channels`` (see :mod:`hubbub.channels.channels`)."""

from hubbub.channels.channels import CHANNELS, SocketIOChannelProxy

__all__ = ["CHANNELS", "SocketIOChannelProxy"]
