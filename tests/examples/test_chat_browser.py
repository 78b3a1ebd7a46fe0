"""The chat example (examples/chat) in a real browser: headless Chromium, two tabs.

``tests/js/chat_browser.mjs`` drives Debian's Chromium with playwright-core
and prints one JSON object of what the pages showed; this test starts the
example on a free port, runs it and checks the result: the "joined" system
line, the typing indicator while the other tab types, messages both ways,
the member list, a refused nickname, "left", and no errors in the console.

Chromium is not optional: scripts/test installs it, so a missing browser is a
failure with a message, not a skip. The example installs socket.io-client
into examples/chat/node_modules itself when it first starts, so that start
may take a while on a fresh checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from conftest import JS_DIR, run_example

CHROMIUM = os.environ.get("HUBBUB_CHROMIUM", "/usr/bin/chromium")
SCRIPT = JS_DIR / "chat_browser.mjs"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# what socket.io-client itself may cause on page C when the server refuses its
# nickname: it closes its engine at once, while its websocket upgrade is still
# opening and after it has sent the next long-poll GET, which can then arrive
# after the close packet and get "Session ID unknown" (the Node server does
# the same). See chat_browser.mjs.
REFUSAL_NOISE = (
    "WebSocket is closed before the connection is established",
    "the server responded with a status of 400 (Bad Request)",
)

pytestmark = pytest.mark.timeout(150)


def check_tools() -> str:
    """The node binary; fails (never skips) when something scripts/test installs is missing."""
    node = shutil.which("node")
    missing = []
    if node is None:
        missing.append("node is not installed")
    if not Path(CHROMIUM).is_file():
        missing.append(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    if not (JS_DIR / "node_modules" / "playwright-core").is_dir():
        missing.append("playwright-core is not installed: run `npm ci` in tests/js")
    if missing:
        pytest.fail("the browser test needs what scripts/test installs: " + "; ".join(missing))
    assert node is not None
    return node


def refusal_noise(message: dict[str, Any]) -> bool:
    """A console message that page C's refused nickname explains."""
    return message["page"] == "C" and any(n in message["text"] for n in REFUSAL_NOISE)


def late_poll(response: dict[str, Any]) -> bool:
    """A 400 that page C's refused nickname explains: a long-poll GET too late."""
    return (
        response["page"] == "C"
        and response["status"] == 400
        and response["method"] == "GET"
        and "transport=polling" in response["url"]
    )


def run_browser(node: str, url: str, screenshot: Path) -> dict[str, Any]:
    args = [node, str(SCRIPT), url, "--screenshot", str(screenshot), "--timeout", "60000"]
    args += ["--chromium", CHROMIUM]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=90)
    lines = proc.stdout.strip().splitlines()
    details = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    assert lines, f"chat_browser.mjs printed nothing: {details}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert proc.returncode == 0 and result["ok"], (
        f"failed after {result['steps'][-1:]}: {result.get('error')}\n{details}"
    )
    return result


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
def test_chat_in_two_tabs(tmp_path: Path, runtime: str) -> None:
    node = check_tools()
    screenshot = tmp_path / "chat.png"
    # a fresh checkout has no examples/chat/node_modules: the example runs
    # `npm install` before it listens, hence the long wait for its port
    with run_example("chat", "--runtime", runtime, timeout=120) as url:
        result = run_browser(node, url, screenshot)

    room = result["alice"]["where"]
    assert room.startswith("#room")
    assert result["bob"]["where"] == room
    # alice joined an empty room; bob's join ack lists both of them. Alice's
    # list follows the joined/left lines: the script waited for "(alice, bob)"
    # and "(alice, bob, carol)" on her page, then this once bob had gone
    assert result["alice"]["members"] == "(alice)"
    assert result["bob"]["members"] == "(alice, bob)"
    assert result["alice"]["finalMembers"] == "(alice, carol)"

    # the typing indicator showed on alice's page while bob was still typing,
    # and went away with his message
    assert result["typingSeen"] == "bob typing..."
    assert result["typingSeenWhileTyping"] is True
    assert result["typingAfterSend"] == ""

    # the messages, in order, with the system lines styled as such
    assert result["alice"]["lines"] == [
        {"text": "bob joined", "cls": "system"},
        {"text": "bob: hello from bob", "cls": ""},
        {"text": "alice: hi bob", "cls": ""},
        {"text": "carol joined", "cls": "system"},
        {"text": "bob left", "cls": "system"},
    ]
    assert result["bob"]["lines"] == [
        {"text": "bob: hello from bob", "cls": ""},
        {"text": "alice: hi bob", "cls": ""},
    ]
    # the socket.io client upgraded from polling to websocket
    assert result["transports"] == {"A": "websocket", "B": "websocket"}

    # a blank nickname: refused by the server's connect handler, shown on the
    # login form; the next try goes through and clears the message
    assert result["refused"] == "cannot connect: pick a nickname first"
    carol_sid = result["carol"].pop("sid")
    assert result["carol"] == {"members": "(alice, bob, carol)", "error": ""}

    assert result["pageErrors"] == []
    assert [m for m in result["console"] if not refusal_noise(m)] == [], result["console"]
    bad = result["badResponses"]
    assert [r for r in bad if not late_poll(r)] == [], bad
    # none of it touched carol's own session, the one that got through
    assert carol_sid and not [r for r in bad if f"sid={carol_sid}" in r["url"]], bad

    data = screenshot.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 5000, len(data)
