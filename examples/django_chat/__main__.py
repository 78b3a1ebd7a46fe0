"""Django chat: a Django view calls hubbub.socketio_manage.

    python examples/django_chat [--host 127.0.0.1] [--port 8001]

(`python examples/<folder>` puts the folder on sys.path, so its app imports.)
"""

from __future__ import annotations

from django_app import application

import hubbub.cli


def main() -> None:
    hubbub.cli.run_example(
        application, default_port=8001, description=__doc__, runtimes=("gevent",)
    )


if __name__ == "__main__":
    main()
