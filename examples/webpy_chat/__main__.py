"""webpy_chat: webpy-socketio's chat demo on hubbub.webpy_socketio.

    python examples/webpy_chat [--host 127.0.0.1] [--port 8000] [--redis URL]

then open http://127.0.0.1:8000/ in two tabs. The pages use the Socket.IO
0.6 client (``new io.Socket()``); the first start runs `npm ci` here to
fetch it (the npm package socket.io@0.6.18, into node_modules; nothing of
it is committed). ``?transport=xhr-polling`` (or websocket, jsonp-polling)
on a room's URL forces a transport. ``--redis`` puts the server in a Redis
cluster (start two on different ports: a room spans both). The message log
goes to stderr. ``hubbub run --runtime gevent chat_app:application`` (from
this folder) serves it too.
"""

from gevent import monkey

monkey.patch_all()  # first, as webpy-socketio's example did

import argparse  # noqa: E402
import os  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
CLIENT = HERE / "node_modules" / "socket.io" / "support" / "socket.io-client" / "socket.io.js"
sys.path.insert(0, str(HERE))  # chat_app
sys.path.insert(1, str(HERE.parent.parent / "src"))  # a checkout without `pip install -e .`


def ensure_client() -> None:
    if CLIENT.is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("the pages need the Socket.IO 0.6 client from npm: install Node.js")
    print("installing socket.io 0.6.18 (its browser client) from npm ...", flush=True)
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund", "--loglevel=error"],
        cwd=HERE,
        check=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--runtime", choices=["gevent"], default="gevent")
    parser.add_argument("--redis", help="a Redis URL: the server joins that cluster")
    parser.add_argument(
        "--cors-allowed-origins",
        help="origins (comma-separated, or *) whose pages may connect; by default only "
        "this server's own pages",
    )
    parser.add_argument(
        "--polling-duration", type=float, default=20.0,
        help="seconds a 0.6 poll is held (a page that closed is noticed after that "
        "plus the close timeout)",
    )
    args = parser.parse_args()
    ensure_client()
    os.environ.setdefault("HUBBUB_V06_CLIENT", str(CLIENT))
    from chat_app import application

    from hubbub.webpy_socketio import SocketIOServer

    options: dict[str, object] = {"v06": {"polling_duration": args.polling_duration}}
    if args.cors_allowed_origins:
        origins = args.cors_allowed_origins
        options["cors_allowed_origins"] = "*" if origins == "*" else origins.split(",")
    if args.redis:
        from hubbub import adapter_from_url

        options["adapter"] = adapter_from_url(args.redis)
    print(f"Listening on http://{args.host}:{args.port}/", flush=True)
    SocketIOServer(
        (args.host, args.port), application, resource="socket.io", policy_server=False,
        **options,
    ).serve_forever()


if __name__ == "__main__":
    main()
