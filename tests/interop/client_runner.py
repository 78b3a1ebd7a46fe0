"""Runs the client interop scenarios with the blocking hubbub.Client under
gevent (monkey-patched first), against one peer it starts itself:

    python tests/interop/client_runner.py KIND PORT [SCENARIO ...]

prints one JSON line per scenario: {"scenario", "ok", "error"}.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402
from pathlib import Path  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))

import client_scenarios  # noqa: E402


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    names = sys.argv[3:] or client_scenarios.applicable(kind)
    peer = client_scenarios.Peer(kind, port)
    peer.start()
    try:
        for name in names:
            error = None
            try:
                client_scenarios.run(peer, name, "gevent")
            except BaseException:
                error = traceback.format_exc()
            print(json.dumps({"scenario": name, "ok": error is None, "error": error}), flush=True)
    finally:
        peer.stop()


if __name__ == "__main__":
    main()
