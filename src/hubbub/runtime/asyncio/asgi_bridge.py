"""Runs a wrapped ASGI app's HTTP request on the embedded server's connection.

The embedded server hands every request outside the Engine.IO path to the
user's ASGI app (FastAPI, Starlette, Django ...) through this bridge.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from hubbub.http import HttpRequest, serialize_head

ASGIApp = Callable[
    [dict[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


# a header name is a token; neither a name nor a value may hold CR, LF or NUL
_UNSAFE_HEADER = re.compile(r"[^!#$%&'*+\-.^_`|~0-9A-Za-z]")
_UNSAFE_VALUE = re.compile(r"[\r\n\0]")


class _BadResponse(Exception):
    """The app's response cannot be written as HTTP."""


class BridgedConnection(Protocol):
    """The embedded server's connection a request came on."""

    @property
    def transport(self) -> asyncio.Transport | None: ...
    @property
    def keepalive(self) -> bool: ...

    def asgi_done(self, keepalive: bool) -> None:
        """The app's response is complete."""
        ...

log = logging.getLogger("hubbub.http")


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
            given = [
                (k.decode("latin-1"), v.decode("latin-1")) for k, v in message.get("headers", [])
            ]
            for name, value in given:
                if not name or _UNSAFE_HEADER.search(name) or _UNSAFE_VALUE.search(value):
                    # a CR or LF would end the head early (header injection)
                    raise _BadResponse(f"the app's response header {name!r} is not valid")
            state["started"] = True
            state["status"] = int(message["status"])
            state["headers"] = given
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
    except _BadResponse as exc:
        log.error("refused the ASGI app's answer to %s %s: %s", req.method, req.path, exc)
        _internal_error(proto, state)
    except Exception:
        log.exception("ASGI app raised on %s %s", req.method, req.path)
        _internal_error(proto, state)
    finally:
        disconnected.set()
    if not state["done"]:
        keepalive = False
    proto.asgi_done(keepalive)


def _internal_error(proto: BridgedConnection, state: dict[str, Any]) -> None:
    """Answer 500 if nothing of the response went out yet; else the
    connection closes (the response is cut short)."""
    if not state["started"] and proto.transport is not None:
        proto.transport.write(
            serialize_head(500, [("Content-Type", "text/plain")], 21) + b"Internal Server Error"
        )
        state["done"] = True
