"""hubbub: a Socket.IO and Engine.IO server for Python."""

from hubbub.engineio_server import EngineIOServer, EngineOptions
from hubbub.http import HttpRequest
from hubbub.runtime.asyncio.asgi import ASGIApp
from hubbub.runtime.asyncio.server import EmbeddedServer, ServerLimits, run

__version__ = "0.1.0"

__all__ = [
    "ASGIApp",
    "EmbeddedServer",
    "EngineIOServer",
    "EngineOptions",
    "HttpRequest",
    "ServerLimits",
    "__version__",
    "run",
]
