"""Another process of the TurboGears chat app publishing into the chat:

    python turbogears_publisher.py <redis url> <channel> <text>

It builds the app as a worker or a cron job of it would (the app's
``anypubsub.*`` settings name the Redis), runs no server, and calls
``hubbub.tgext_socketio.pubsub.publish``, which then goes through
``hubbub.Emitter`` to every server of the chat.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples" / "turbogears_chat"))

from chat_app import make_app

from hubbub.tgext_socketio.pubsub import publish


def main() -> None:
    url, channel, text = sys.argv[1:4]
    make_app({}, **{"anypubsub.backend": "redis", "anypubsub.url": url})
    publish(channel, {"uid": "elsewhere", "message": text})


if __name__ == "__main__":
    main()
