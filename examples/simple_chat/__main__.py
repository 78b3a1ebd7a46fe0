"""simple_chat: gevent-socketio's simple chat example on hubbub.gevent_socketio.

    python examples/simple_chat [--host 127.0.0.1] [--port 8080] [--policy-server]

then open http://127.0.0.1:8080/ in two browser tabs. The first start runs
`npm ci` here to fetch socket.io-client 0.9.16 (the page's client) into
examples/simple_chat/node_modules; nothing of it is committed.
"""

from gevent import monkey

monkey.patch_all()  # first, as in the original example

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # chat_app, when run as `python -m` too
sys.path.insert(1, str(HERE.parent.parent / "src"))  # a checkout without `pip install -e .`

from chat_app import CLIENT_DIST, app  # noqa: E402

from hubbub.cli import npm_install  # noqa: E402
from hubbub.gevent_socketio.server import SocketIOServer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--runtime", choices=["gevent"], default="gevent")
    parser.add_argument(
        "--policy-server",
        action="store_true",
        help="also answer Flash policy requests on port 10843 (for flashsocket clients)",
    )
    args = parser.parse_args()
    npm_install(HERE, CLIENT_DIST / "socket.io.js", "socket.io-client 0.9.16")
    print(f"Listening on http://{args.host}:{args.port}/", flush=True)
    SocketIOServer(
        (args.host, args.port),
        app,
        resource="socket.io",
        policy_server=args.policy_server,
        policy_listener=(args.host, 10843),
    ).serve_forever()


if __name__ == "__main__":
    main()
