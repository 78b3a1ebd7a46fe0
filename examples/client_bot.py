"""A bot for the chat example, on hubbub's own Socket.IO client: it joins a
room of examples/chat and answers what is said there.

    python examples/chat                                  # the chat, in one terminal
    python examples/client_bot.py [--url http://127.0.0.1:8000] [--room lobby] [--nick bot]

then open http://127.0.0.1:8000/, join the same room and say "!help".
The bot keeps running across server restarts: the client reconnects by
itself, and the bot joins its room again on every connect.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import logging
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

import hubbub

log = logging.getLogger("client_bot")

HELP = "I answer !ping, !time, !roll [sides], !echo <text> and hello"


def answer(nick: str, text: str, me: str) -> str | None:
    """What the bot says to ``nick`` saying ``text`` (None: nothing)."""
    command, _, rest = text.strip().partition(" ")
    if command == "!help":
        return HELP
    if command == "!ping":
        return "pong"
    if command == "!time":
        return datetime.datetime.now(datetime.timezone.utc).strftime("%H:%M:%S UTC")
    if command == "!roll":
        sides = int(rest) if rest.strip().isdigit() and int(rest) > 0 else 6
        return f"{nick} rolls {random.randint(1, sides)} (d{sides})"
    if command == "!echo":
        return rest or None
    if text.lower().startswith(("hello", "hi ")) and me in text.lower():
        return f"hello {nick}!"
    return None


class ChatBot(hubbub.ClientNamespace):
    """The bot's side of the chat's /chat namespace (see examples/chat)."""

    def __init__(self, room: str, nick: str) -> None:
        super().__init__("/chat")
        self.room = room
        self.nick = nick

    async def on_connect(self) -> None:
        # every (re)connection starts outside any room: join again
        joined = await self.call("join", self.room, timeout=10)
        log.info("in %s with %s", joined["room"], ", ".join(joined["members"]))
        await self.emit("message", f"{self.nick} here: {HELP}")

    async def on_message(self, message: dict[str, Any]) -> None:
        if message.get("nick") == self.nick:
            return
        reply = answer(str(message.get("nick")), str(message.get("text", "")), self.nick)
        if reply is not None:
            await self.emit("message", reply)

    def on_system(self, text: str) -> None:
        log.info("%s", text)

    def on_disconnect(self, reason: str) -> None:
        log.info("disconnected (%s)", reason)


async def run(url: str, room: str, nick: str) -> None:
    client = hubbub.AsyncClient()
    client.register_namespace(ChatBot(room, nick))
    client.on("reconnect_attempt", lambda n: log.info("reconnecting (try %d)", n))
    await client.connect(url, auth={"nick": nick}, namespaces=["/chat"], retry=True)
    log.info("connected to %s as %s over %s", url, nick, client.transport())
    await client.wait()  # until disconnected for good


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.strip().split("\n", 1)[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--room", default="lobby")
    parser.add_argument("--nick", default="bot")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run(args.url, args.room, args.nick))


if __name__ == "__main__":
    main()
