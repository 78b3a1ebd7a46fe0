"""A server with the admin UI turned on, served by two worker processes:
``python tests/cluster/admin_workers_app.py PORT [asyncio|gevent]``."""

from __future__ import annotations

import sys

import hubbub

sio = hubbub.Server()
sio.instrument(auth=False, server_stats_interval=0.5)

if __name__ == "__main__":
    runtime = sys.argv[2] if len(sys.argv) > 2 else "asyncio"
    if runtime == "gevent":
        from gevent import monkey

        monkey.patch_all()
    hubbub.run(sio, "127.0.0.1", int(sys.argv[1]), runtime=runtime, workers=2)
