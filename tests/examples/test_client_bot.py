"""examples/client_bot.py against examples/chat, both as their commands run
them: the bot joins the room and answers a person (a socket.io-client 4
under Node, as a browser page would be), and after the chat server restarts
it reconnects and joins again by itself.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from conftest import EXAMPLES, JS_DIR, ROOT, free_port, run_example

pytestmark = pytest.mark.timeout(120)

PERSON = JS_DIR / "chat_person.js"


@pytest.fixture
def chat() -> Iterator[str]:
    port = free_port()
    with run_example("chat", port=port, timeout=90) as url:
        yield url


class Bot:
    """examples/client_bot.py in a subprocess; ``lines`` is its log so far."""

    def __init__(self, url: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "client_bot.py"), "--url", url, "--room", "den"],
            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(self.proc.stdout or ()),
                         daemon=True).start()

    def joined(self, times: int = 1, timeout: float = 30) -> None:
        """Until the bot has joined its room ``times`` times."""
        deadline = time.monotonic() + timeout
        while sum("in den with" in line for line in self.lines) < times:
            assert time.monotonic() < deadline, f"the bot did not join: {self.lines}"
            assert self.proc.poll() is None, f"the bot exited: {self.lines}"
            time.sleep(0.05)

    def stop(self) -> str:
        self.proc.terminate()
        self.proc.wait(10)
        return "".join(self.lines)


def _person(url: str, *lines: str, until: str, timeout: float = 20) -> list[dict[str, object]]:
    """Run a person (tests/js/chat_person.js) saying ``lines`` until a
    message from the bot contains ``until``; what the person saw."""
    proc = subprocess.Popen(["node", str(PERSON), url, "den", *lines], cwd=JS_DIR,
                            stdout=subprocess.PIPE, text=True)
    lines_out: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines_out.put(line) for line in proc.stdout or ()],
                     daemon=True).start()
    seen: list[dict[str, object]] = []
    deadline = time.monotonic() + timeout
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                seen.append(json.loads(lines_out.get(timeout=left)))
            except queue.Empty:
                break
            message = seen[-1].get("message")
            if isinstance(message, dict) and message.get("nick") == "bot" \
                    and until in str(message.get("text")):
                return seen
    finally:
        proc.kill()
        proc.wait(5)
    raise AssertionError(f"the bot never said {until!r}: {seen}")


def _said_by_bot(seen: list[dict[str, object]]) -> list[str]:
    return [str(m["text"]) for entry in seen
            if isinstance(m := entry.get("message"), dict) and m.get("nick") == "bot"]


def test_the_bot_joins_and_answers(chat: str) -> None:
    bot = Bot(chat)
    try:
        bot.joined()
        seen = _person(chat, "!ping", "hello bot", "!echo same words", until="same words")
        joined = seen[0]["joined"]
        assert isinstance(joined, dict) and joined["members"] == ["ann", "bot"], seen
        assert _said_by_bot(seen) == ["pong", "hello ann!", "same words"], seen
    finally:
        log = bot.stop()
    assert "connected to" in log and "Traceback" not in log, log


def test_the_bot_comes_back_after_a_server_restart() -> None:
    port = free_port()
    bot, log = None, ""
    try:
        with run_example("chat", port=port, timeout=90) as url:
            bot = Bot(url)
            bot.joined()
        with run_example("chat", port=port, timeout=90) as url:
            bot.joined(times=2)  # reconnected and joined again by itself
            assert "pong" in _said_by_bot(_person(url, "!ping", until="pong"))
    finally:
        if bot is not None:
            log = bot.stop()
    assert "reconnecting" in log and "Traceback" not in log, log
