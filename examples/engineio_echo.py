"""The Engine.IO test server of the Engine.IO v4 spec: echoes every message.

    python examples/engineio_echo.py [--host 127.0.0.1] [--port 3000]

pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6, CORS '*', path
/engine.io/, EIO3 accepted: what docs/engine.io-protocol/v4-test-suite and
v3-test-suite in socketio/socket.io expect on http://localhost:3000.
"""

from __future__ import annotations

import hubbub
import hubbub.cli

eio = hubbub.EngineIOServer(
    path="/engine.io/",
    ping_interval=0.3,
    ping_timeout=0.2,
    max_http_buffer_size=1_000_000,
    cors_allowed_origins="*",
    eio_versions=(3, 4),
)


@eio.on("message")
def echo(sid: str, data: str | bytes) -> None:
    eio.send(sid, data)


def main() -> None:
    hubbub.cli.run_example(eio, default_port=3000, description=__doc__)


if __name__ == "__main__":
    main()
