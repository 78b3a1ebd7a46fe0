"""Testing an app: :class:`TestClient` talks to your real :class:`hubbub.Server`
in-process (no HTTP server, no network) on the running asyncio loop; see
:mod:`hubbub.runtime.asyncio.testing`."""

from hubbub.runtime.asyncio.testing import NO_ACK, TestClient

__all__ = ["NO_ACK", "TestClient"]
