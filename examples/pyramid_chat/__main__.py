"""Pyramid chat: a Pyramid app whose view calls hubbub.socketio_manage.

    python examples/pyramid_chat [--host 127.0.0.1] [--port 6543]

(`python examples/<folder>` puts the folder on sys.path, so its app imports.)
"""

from __future__ import annotations

from pyramid_app import app

import hubbub.cli


def main() -> None:
    hubbub.cli.run_example(app, default_port=6543, description=__doc__, runtimes=("gevent",))


if __name__ == "__main__":
    main()
