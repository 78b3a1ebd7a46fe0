"""hubbub: a Socket.IO and Engine.IO server for Python.

The names an application needs. Plumbing stays importable from its own
module (``hubbub.socketio.server_namespace``, ``hubbub.engineio.session``,
``hubbub.runtime.contract`` ...); docs/architecture.md maps them.
"""

from typing import TYPE_CHECKING

from hubbub.adapters import Adapter, InMemoryAdapter
from hubbub.adapters.url import adapter_from_url
from hubbub.client.core import NO_ACK
from hubbub.client.namespace import ClientNamespace
from hubbub.engineio.options import EngineOptions
from hubbub.engineio.server import EngineIOServer
from hubbub.errors import (
    AckTimeoutError,
    ClientConnectionError,
    ConnectionRefusedError,
    DisconnectedError,
    EventRefusedError,
    HubbubError,
)
from hubbub.http import HttpRequest
from hubbub.runner import run
from hubbub.runtime.asyncio.asgi import ASGIApp
from hubbub.runtime.asyncio.client import AsyncClient
from hubbub.runtime.asyncio.server import EmbeddedServer
from hubbub.runtime.blocking.client import Client
from hubbub.runtime.limits import ServerLimits
from hubbub.socketio.broadcast import BroadcastOperator
from hubbub.socketio.namespace import Namespace
from hubbub.socketio.server import Server
from hubbub.socketio.server_namespace import ServerNamespace
from hubbub.socketio.socket import Handshake, Socket
from hubbub.socketio.views import socketio_manage
from hubbub.types import BroadcastOptions, DisconnectReason, RecoveryOptions

if TYPE_CHECKING:
    from hubbub.emitter import Emitter, IpcEmitter
    from hubbub.runtime.gevent.wsgi import WSGIApp


def __getattr__(name: str) -> object:
    # WSGIApp imports gevent: only when asked for, so that importing hubbub
    # never imports gevent before the application had a chance to monkey-patch
    if name == "WSGIApp":
        from hubbub.runtime.gevent.wsgi import WSGIApp

        return WSGIApp
    if name in ("Emitter", "IpcEmitter"):  # imported when asked for, as few apps use them
        from hubbub import emitter

        return getattr(emitter, name)
    raise AttributeError(f"module 'hubbub' has no attribute {name!r}")


__version__ = "0.1.0"

__all__ = [
    "NO_ACK",
    "ASGIApp",
    "AckTimeoutError",
    "Adapter",
    "AsyncClient",
    "BroadcastOperator",
    "BroadcastOptions",
    "Client",
    "ClientConnectionError",
    "ClientNamespace",
    "ConnectionRefusedError",
    "DisconnectReason",
    "DisconnectedError",
    "EmbeddedServer",
    "Emitter",
    "EngineIOServer",
    "EngineOptions",
    "EventRefusedError",
    "Handshake",
    "HttpRequest",
    "HubbubError",
    "InMemoryAdapter",
    "IpcEmitter",
    "Namespace",
    "RecoveryOptions",
    "Server",
    "ServerLimits",
    "ServerNamespace",
    "Socket",
    "WSGIApp",
    "__version__",
    "adapter_from_url",
    "run",
    "socketio_manage",
]
