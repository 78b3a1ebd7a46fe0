"""A small rooms app watched by the Socket.IO admin UI.

    python examples/admin_dashboard.py [--host 127.0.0.1] [--port 8000]
        [--runtime asyncio|gevent] [--adapter redis://127.0.0.1:6379/0]
        [--username admin --password secret] [--read-only]
        [--mode development|production] [--server-id NAME]
        [--cors-allowed-origins https://admin.socket.io ...]

Open https://admin.socket.io (or the UI of the npm package
@socket.io/admin-ui, ui/dist, served from anywhere), give it this server's
URL, the username and the password. Run two of these on one Redis
(``--adapter``) and the UI shows both servers.

Clients of the app: ``join``(room) acks the socket's rooms, ``say``(room,
text) sends ``said``(text) to the others in the room.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import hubbub


def build(args: argparse.Namespace) -> hubbub.Server:
    options = {}
    if args.adapter and args.adapter != "memory://":
        options["adapter"] = hubbub.adapter_from_url(args.adapter)
    sio = hubbub.Server(cors_allowed_origins=args.cors_allowed_origins, **options)

    @sio.on("join")
    def join(socket: hubbub.Socket, room: str) -> list[str]:
        socket.join(room)
        return sorted(socket.rooms)

    @sio.on("say")
    def say(socket: hubbub.Socket, room: str, text: str) -> None:
        socket.to(room).emit("said", text)

    sio.instrument(
        auth={"username": args.username, "password": args.password} if args.password else False,
        mode=args.mode,
        read_only=args.read_only,
        server_id=args.server_id,
        server_stats_interval=args.stats_interval,
    )
    return sio


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--runtime", choices=["asyncio", "gevent"], default="asyncio")
    parser.add_argument("--adapter", default="memory://")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password", default="", help="plain or a bcrypt hash; none: no login")
    parser.add_argument("--read-only", action="store_true")
    parser.add_argument("--mode", choices=["development", "production"], default="development")
    parser.add_argument("--server-id", default=None)
    parser.add_argument("--stats-interval", type=float, default=2.0)
    parser.add_argument(
        "--cors-allowed-origins", nargs="*", default=["https://admin.socket.io"]
    )
    args = parser.parse_args()
    sio = build(args)
    print(f"Listening on http://{args.host}:{args.port}/", flush=True)
    hubbub.run(sio, args.host, args.port, runtime=args.runtime)


if __name__ == "__main__":
    main()
