"""``hubbub.run(sio, metrics_path="/metrics")`` with another app beside it.

    python tests/operating/metrics_app.py PORT asyncio|gevent
"""

from __future__ import annotations

import json
import sys
from typing import Any

import hubbub


async def hello_asgi(scope: dict[str, Any], receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": json.dumps({"hello": "world"}).encode()})


def hello_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    start_response("200 OK", [("Content-Type", "application/json")])
    return [json.dumps({"hello": "world"}).encode()]


def main() -> None:
    port, runtime = int(sys.argv[1]), sys.argv[2]
    sio = hubbub.Server()
    sio.on("echo", lambda socket, value: value)
    if runtime == "gevent":
        hubbub.run(sio, port=port, runtime="gevent", wsgi_app=hello_wsgi, metrics_path="/metrics")
    else:
        hubbub.run(sio, port=port, asgi_app=hello_asgi, metrics_path="/metrics")


if __name__ == "__main__":
    main()
