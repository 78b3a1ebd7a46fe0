"""Runs a wrapped ASGI app's HTTP request on the embedded server's connection.

The embedded server hands every request outside the Engine.IO path to the
user's ASGI app (FastAPI, Starlette, Django ...) through this bridge.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from hubbub.http import HttpRequest, serialize_head

ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class BridgedConnection(Protocol):
    """The embedded server's connection a request came on."""

    @property
    def transport(self) -> asyncio.Transport | None: ...
    @property
    def keepalive(self) -> bool: ...

    def asgi_done(self, keepalive: bool) -> None:
        """The app's response is complete."""
        ...

log = logging.getLogger("hubbub.socketio.server")


def http_scope(
    req: HttpRequest, server_addr: tuple[str, int] | None, extra: dict[str, Any]
) -> dict[str, Any]:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in req.headers.items()]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": req.method,
        "scheme": "https" if req.secure else "http",
        "path": req.path,
        "raw_path": req.path.encode("latin-1"),
        "query_string": req.query_string.encode("latin-1"),
        "root_path": "",
        "headers": headers,
        "client": (req.remote_addr, 0) if req.remote_addr else None,
        "server": server_addr,
    }
    scope.update(extra)
    return scope


async def run_asgi_http(
    app: ASGIApp, req: HttpRequest, proto: BridgedConnection, extra: dict[str, Any]
) -> None:
    transport = proto.transport
    sock = transport.get_extra_info("sockname") if transport is not None else None
    server_addr = (str(sock[0]), int(sock[1])) if isinstance(sock, tuple) else None
    scope = http_scope(req, server_addr, extra)
    body_sent = False
    disconnected = asyncio.Event()
    state: dict[str, Any] = {"started": False, "chunked": False, "done": False}
    keepalive = proto.keepalive

    async def receive() -> dict[str, Any]:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": req.body, "more_body": False}
        await disconnected.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        t = proto.transport
        if t is None or state["done"]:
            return
        if message["type"] == "http.response.start":
            state["started"] = True
            state["status"] = int(message["status"])
            state["headers"] = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])
            ]
            return
        if message["type"] != "http.response.body":
            return
        body = bytes(message.get("body", b""))
        more = bool(message.get("more_body", False))
        headers: list[tuple[str, str]] = state.get("headers", [])
        if "head_written" not in state:
            state["head_written"] = True
            has_length = any(k.lower() == "content-length" for k, _ in headers)
            if not keepalive:
                headers = [*headers, ("Connection", "close")]
            if not more and not has_length:
                t.write(serialize_head(state["status"], headers, len(body)) + body)
                state["done"] = True
                return
            lines = [f"HTTP/1.1 {state['status']} OK"]
            if not has_length:
                state["chunked"] = True
                headers = [*headers, ("Transfer-Encoding", "chunked")]
            lines += [f"{k}: {v}" for k, v in headers]
            t.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if state["chunked"]:
            if body:
                t.write(f"{len(body):x}\r\n".encode() + body + b"\r\n")
            if not more:
                t.write(b"0\r\n\r\n")
        elif body:
            t.write(body)
        if not more:
            state["done"] = True

    try:
        await app(scope, receive, send)
    except Exception:
        log.exception("ASGI app raised on %s %s", req.method, req.path)
        if not state["started"] and proto.transport is not None:
            proto.transport.write(
                serialize_head(500, [("Content-Type", "text/plain")], 21) + b"Internal Server Error"
            )
            state["done"] = True
        else:
            keepalive = False
    finally:
        disconnected.set()
    if not state["done"]:
        keepalive = False
    proto.asgi_done(keepalive)
