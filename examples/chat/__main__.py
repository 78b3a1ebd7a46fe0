"""A chat room served by hubbub: rooms, nicknames, who is typing.

    python examples/chat [--host 127.0.0.1] [--port 8000] [--runtime asyncio|gevent]

then open http://127.0.0.1:8000/ in two browser tabs. The page uses the real
socket.io-client 4, installed from npm into examples/chat/node_modules the
first time this runs (nothing of the client is committed).
"""

from __future__ import annotations

import mimetypes
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "src"))

import hubbub  # noqa: E402
import hubbub.cli  # noqa: E402

CLIENT_JS = HERE / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
STATIC = HERE / "static"

sio = hubbub.Server(cors_allowed_origins=None)


class Chat(hubbub.Namespace):
    """One instance per connected browser tab."""

    def initialize(self) -> None:
        self.room: str | None = None

    @property
    def nick(self) -> str:
        return str(self.data.get("nick", "guest"))

    def on_connect(self, auth: dict[str, Any]) -> None:
        nick = str((auth or {}).get("nick") or "").strip()[:32]
        if not nick:
            raise hubbub.ConnectionRefusedError("pick a nickname first")
        self.data["nick"] = nick

    def on_join(self, room: str) -> dict[str, Any]:
        room = room.strip()[:32] or "lobby"
        if self.room is not None:
            self.leave(self.room)
            self.to(self.room).emit("system", f"{self.nick} left")
        self.room = room
        self.join(room)
        self.to(room).emit("system", f"{self.nick} joined")
        members = [s.data.get("nick") for s in self.namespace.sockets.values() if room in s.rooms]
        return {"room": room, "members": sorted(str(m) for m in members)}

    def on_message(self, text: str) -> str:
        if self.room is None:
            return "join a room first"
        text = text.strip()[:2000]
        if text:
            self.namespace.to(self.room).emit("message", {"nick": self.nick, "text": text})
        return "ok"

    def on_typing(self, typing: bool) -> None:
        if self.room is not None:
            self.to(self.room).emit("typing", {"nick": self.nick, "typing": typing})

    def on_disconnect(self, reason: str) -> None:
        if self.room is not None:
            self.namespace.to(self.room).emit("system", f"{self.nick} left")


sio.register("/chat", Chat)


def static_file(path: str) -> tuple[int, str, bytes]:
    """The page and the socket.io client: (status, content type, body)."""
    if path == "/":
        path = "/index.html"
    if path == "/socket.io.min.js":
        file = CLIENT_JS
    else:
        file = (STATIC / path.lstrip("/")).resolve()
        if STATIC not in file.parents:
            file = STATIC / "missing"
    if not file.is_file():
        return 404, "text/plain", b"not found"
    return 200, mimetypes.guess_type(file.name)[0] or "application/octet-stream", file.read_bytes()


async def static_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Serves the static files on asyncio (a tiny ASGI app)."""
    if scope["type"] != "http":
        return
    status, ctype, body = static_file(scope["path"])
    headers = [(b"content-type", ctype.encode()), (b"cache-control", b"no-cache")]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def static_wsgi(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Serves the static files on gevent (a tiny WSGI app)."""
    status, ctype, body = static_file(environ.get("PATH_INFO", "/"))
    reason = "OK" if status == 200 else "Not Found"
    start_response(f"{status} {reason}", [("Content-Type", ctype), ("Cache-Control", "no-cache")])
    return [body]


def ensure_client() -> None:
    if CLIENT_JS.is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("the chat page needs socket.io-client from npm: install Node.js and npm")
    print("installing socket.io-client from npm ...", flush=True)
    subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE, check=True
    )


def main() -> None:
    ensure_client()
    hubbub.cli.run_example(
        sio, default_port=8000, description=__doc__, asgi_app=static_app, wsgi_app=static_wsgi
    )


if __name__ == "__main__":
    main()
