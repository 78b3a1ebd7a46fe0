"""hubbub: a Socket.IO and Engine.IO server for Python."""

from hubbub.adapters import Adapter, InMemoryAdapter
from hubbub.broadcast import BroadcastOperator
from hubbub.engineio_server import EngineIOServer, EngineOptions
from hubbub.errors import (
    AckTimeoutError,
    ConnectionRefusedError,
    EventRefusedError,
    HubbubError,
)
from hubbub.http import HttpRequest
from hubbub.namespace import Namespace
from hubbub.runtime.asyncio.asgi import ASGIApp
from hubbub.runtime.asyncio.server import EmbeddedServer, ServerLimits, run
from hubbub.server import RecoveryOptions, Server
from hubbub.server_namespace import ServerNamespace
from hubbub.socket import Handshake, Socket

__version__ = "0.1.0"

__all__ = [
    "ASGIApp",
    "AckTimeoutError",
    "Adapter",
    "BroadcastOperator",
    "ConnectionRefusedError",
    "EmbeddedServer",
    "EngineIOServer",
    "EngineOptions",
    "EventRefusedError",
    "Handshake",
    "HttpRequest",
    "HubbubError",
    "InMemoryAdapter",
    "Namespace",
    "RecoveryOptions",
    "Server",
    "ServerLimits",
    "ServerNamespace",
    "Socket",
    "__version__",
    "run",
]
