"""The Socket.IO 0.6 chats in a real browser: socket.io 0.6.18's browser
client (``new io.Socket()``, from the npm package) with hubbub's channel
extension, in headless Chromium, forced to each transport Chromium can run:
websocket, xhr-polling and jsonp-polling. (htmlfile needs IE's
ActiveXObject and xhr-multipart a multipart XMLHttpRequest: both are tested
over raw HTTP in tests/conformance/test_v06_raw.py.)

``tests/js/v06_browser.mjs`` opens two pages in one room and one in another:
the two see each other's messages, the third sees none of theirs; a system
message posted out of band to a plain handler (web.py, Django view) reaches
the room; a page that leaves is announced. The server's message log (its
stderr) holds one formatted line per message.

* examples/webpy_chat: web.py on hubbub.webpy_socketio, served by
  ``SocketIOServer((host, port), app.wsgifunc(), resource="socket.io")``;
* examples/django_chat_channels: Django on hubbub.django_socketio, served by
  ``manage.py runserver_socketio``.

Each example installs socket.io@0.6.18 into its own node_modules on its
first start (`npm ci`), so that start may take a while on a fresh checkout.
"""

from __future__ import annotations

import ast
import contextlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_chat_browser import CHROMIUM, check_tools

from conftest import EXAMPLES, JS_DIR, ROOT, free_port, wait_for_port

SCRIPT = JS_DIR / "v06_browser.mjs"
TRANSPORTS = ["websocket", "xhr-polling", "jsonp-polling"]
# a short poll, so that a closed polling page is noticed within the test
POLLING_DURATION = "3"
LOG_LINE = re.compile(
    r'^127\.0\.0\.1 - - \[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] "Socket\.IO (message|subscribe|'
    r'unsubscribe): (.*)"$'
)

pytestmark = pytest.mark.timeout(180)


@contextlib.contextmanager
def example(name: str, folder: Path, *extra: str) -> Iterator[tuple[str, Path]]:
    """Run ``examples/<name>`` on a free port: (base URL, the file its
    output goes to, in ``folder``)."""
    port = free_port()
    out_path = folder / f"{name}.log"
    with out_path.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / name), "--host", "127.0.0.1", "--port", str(port),
             *extra],
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, 120)
            yield f"http://127.0.0.1:{port}", out_path
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def run_browser(url: str, transport: str, *extra: str) -> dict[str, Any]:
    node = check_tools()
    args = [node, str(SCRIPT), url, "--transport", transport, "--timeout", "90000",
            "--chromium", CHROMIUM, *extra]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().split("\n")
    details = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    assert lines and lines[-1].startswith("{"), f"v06_browser.mjs printed nothing: {details}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert proc.returncode == 0 and result["ok"], (
        f"failed after {result['steps'][-1:]}: {result.get('error')}\n{details}"
    )
    return result


def message_log(path: Path) -> list[tuple[str, str]]:
    return [
        (m.group(1), m.group(2))
        for line in path.read_text(encoding="utf-8", errors="replace").splitlines()
        if (m := LOG_LINE.match(line))
    ]


def check_chat(result: dict[str, Any], transport: str, log: list[tuple[str, str]]) -> None:
    assert result["pageErrors"] == []
    assert result["console"] == []
    assert result["badResponses"] == []
    assert result["clientVersion"] == "0.6.3"
    assert result["status"] == {who: f"connected with {transport}" for who in "ABC"}
    a, b, c = (result["names"][who] for who in "ABC")
    tag = a.split("-", 1)[1]
    system = f"SYSTEM: system says hi {tag}"
    assert result["logs"]["A"] == [
        f"* {a} joins", f"* {b} joins", f"{a}: hello from A ü😀", f"{b}: hi A", system,
    ]
    assert result["logs"]["B"] == [
        f"* {a} joins", f"* {b} joins", f"{a}: hello from A ü😀", f"{b}: hi A", system,
        f"* {a} leaves",
    ]
    # the other room saw only its own
    assert result["logs"]["C"] == [f"* {c} joins", f"{c}: anyone?"]
    assert result["sysmsg"] == {"status": 200, "text": "Message sent"}
    assert result["sysmsgNobody"] == "There are no clients on the channel: room-99"
    # the message log (the server's own, for this test): a line per
    # subscription and per message
    assert sorted(text for kind, text in log if kind == "subscribe") == [
        "room-1", "room-1", "room-2",
    ]
    # (a handler may add to the message before it is logged: the Django
    # example adds the sender's name, as django-socketio's did)
    messages = sorted(
        (m["room"], m["action"], m.get("name") if m["action"] == "start" else m["message"])
        for m in (ast.literal_eval(text) for kind, text in log if kind == "message")
    )
    assert messages == sorted(
        [
            (1, "start", a),
            (1, "start", b),
            (2, "start", c),
            (1, "message", "hello from A ü😀"),
            (1, "message", "hi A"),
            (2, "message", "anyone?"),
        ]
    )


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_webpy_chat(transport: str, tmp_path: Path) -> None:
    with example("webpy_chat", tmp_path, "--polling-duration", POLLING_DURATION) as (url, out):
        result = run_browser(url, transport)
    check_chat(result, transport, message_log(out))


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_django_chat(transport: str, tmp_path: Path) -> None:
    with example(
        "django_chat_channels", tmp_path, "--noreload", "--polling-duration", POLLING_DURATION
    ) as (
        url,
        out,
    ):
        result = run_browser(url, transport)
    check_chat(result, transport, message_log(out))
