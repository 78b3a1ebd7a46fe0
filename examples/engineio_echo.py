"""The Engine.IO test server of the Engine.IO v4 spec: echoes every message.

    python examples/engineio_echo.py [--host 127.0.0.1] [--port 3000]

pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6, CORS '*', path
/engine.io/, EIO3 accepted: what docs/engine.io-protocol/v4-test-suite and
v3-test-suite in socketio/socket.io expect on http://localhost:3000.
"""

from __future__ import annotations

import argparse
import logging

import hubbub

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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--runtime", choices=["asyncio"], default="asyncio")
    parser.add_argument(
        "--asgi", action="store_true", help="serve through hubbub.ASGIApp on uvicorn"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO)
    if args.asgi:
        import uvicorn

        uvicorn.run(hubbub.ASGIApp(eio), host=args.host, port=args.port, log_level="warning")
    else:
        hubbub.run(eio, args.host, args.port)


if __name__ == "__main__":
    main()
