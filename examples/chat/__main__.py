"""A chat room served by hubbub's embedded server: rooms, nicknames, who is typing.

    python examples/chat [--host 127.0.0.1] [--port 8000]

then open http://127.0.0.1:8000/ in two browser tabs. The page uses the real
socket.io-client 4, installed from npm into examples/chat/node_modules the
first time this runs (nothing of the client is committed).
"""

from __future__ import annotations

import argparse
import logging
import mimetypes
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent.parent / "src"))

import hubbub  # noqa: E402

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


async def static_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Serves the page and the socket.io client (a tiny ASGI app)."""
    if scope["type"] != "http":
        return
    path = scope["path"]
    if path == "/":
        path = "/index.html"
    if path == "/socket.io.min.js":
        file = CLIENT_JS
    else:
        file = (STATIC / path.lstrip("/")).resolve()
        if STATIC not in file.parents:
            file = STATIC / "missing"
    if not file.is_file():
        await send({"type": "http.response.start", "status": 404, "headers": []})
        await send({"type": "http.response.body", "body": b"not found"})
        return
    ctype = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
    body = file.read_bytes()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", ctype.encode()), (b"cache-control", b"no-cache")],
        }
    )
    await send({"type": "http.response.body", "body": body})


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
    parser = argparse.ArgumentParser(description="hubbub chat example")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--runtime", choices=["asyncio"], default="asyncio")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    ensure_client()
    print(f"chat on http://{args.host}:{args.port}/", flush=True)
    hubbub.run(sio, args.host, args.port, asgi_app=static_app)


if __name__ == "__main__":
    main()
