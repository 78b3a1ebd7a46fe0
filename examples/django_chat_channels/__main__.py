"""django_chat_channels: django-socketio's example project (a chat with
rooms as channels) on hubbub.django_socketio.

    python examples/django_chat_channels [--host 127.0.0.1] [--port 9000] [--noreload]

is ``python manage.py runserver_socketio host:port`` from this folder; open
http://127.0.0.1:9000/ in two tabs. The pages use the Socket.IO 0.6 client
(``new io.Socket()``, through ``{% socketio %}``); the first start runs `npm
ci` here to fetch it (socket.io@0.6.18, into node_modules; nothing of it is
committed). ``?transport=xhr-polling`` (or websocket, jsonp-polling) on a
room's URL forces a transport. The message log goes to stderr.
"""

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLIENT = HERE / "node_modules" / "socket.io" / "support" / "socket.io-client" / "socket.io.js"


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
    parser.add_argument("--port", type=int, default=9000)
    parser.add_argument("--noreload", action="store_true", help="no restart on code changes")
    parser.add_argument(
        "--polling-duration", type=float,
        help="seconds a 0.6 poll is held (a closed page is noticed after that plus the "
        "close timeout)",
    )
    args = parser.parse_args()
    ensure_client()
    os.environ.setdefault("HUBBUB_V06_CLIENT", str(CLIENT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
    if args.polling_duration is not None:
        os.environ["CHAT_POLLING_DURATION"] = str(args.polling_duration)
    # manage.py, as a script of its own: Django's reloader restarts the
    # process with the same command line, which it cannot do for a folder
    argv = [sys.executable, str(HERE / "manage.py"), "runserver_socketio",
            f"{args.host}:{args.port}"]
    if args.noreload:
        argv.append("--noreload")
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(HERE.parent.parent / "src"), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    os.execv(sys.executable, argv)


if __name__ == "__main__":
    main()
