"""turbogears_pingpong: tgext.socketio's README PingPong, a TurboGears 2.5 app
on hubbub.tgext_socketio.

    python examples/turbogears_pingpong [--host 127.0.0.1] [--port 8080] [--debug]

or with TurboGears' gearbox (the paste server egg:hubbub#tgext):

    cd examples/turbogears_pingpong && PYTHONPATH=. gearbox serve -c development.ini

then open http://127.0.0.1:8080/ (log in at /login to be allowed to ping).
The first start runs `npm ci` here to fetch socket.io-client 0.9.16 (the
page's client) into examples/turbogears_pingpong/node_modules.
"""

from gevent import monkey

monkey.patch_all()  # before TurboGears is imported: its request locals are then per greenlet

import argparse  # noqa: E402
import sys  # noqa: E402
from pathlib import Path  # noqa: E402

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # pingpong_app, when run as `python -m` too
sys.path.insert(1, str(HERE.parent.parent / "src"))  # a checkout without `pip install -e .`

from pingpong_app import CLIENT_DIST, make_app  # noqa: E402

from hubbub.cli import npm_install  # noqa: E402
from hubbub.tgext_socketio.server import socketio_server_runner  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--runtime", choices=["gevent"], default="gevent")
    parser.add_argument("--debug", action="store_true", help="TurboGears' debug mode (backlash)")
    args = parser.parse_args()
    npm_install(HERE, CLIENT_DIST / "socket.io.js", "socket.io-client 0.9.16")
    app = make_app({}, debug="true" if args.debug else "false")
    socketio_server_runner(
        app, {}, host=args.host, port=args.port, socketio_resource="socketio",
        policy_server="false",
    )


if __name__ == "__main__":
    main()
