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
import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

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
    args = [sys.executable, str(EXAMPLES / name), "--host", "127.0.0.1", "--port", str(port),
            *extra]
    with serving(args, ROOT, port, folder / f"{name}.log") as url:
        yield url, folder / f"{name}.log"


@contextlib.contextmanager
def serving(args: list[str], cwd: Path, port: int, log: Path) -> Iterator[str]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            args, cwd=cwd, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            stdout=out, stderr=subprocess.STDOUT,
        )
        try:
            wait_for_port(port, 120)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def request(base: str, method: str, path: str, body: str = "",
            headers: dict[str, str] | None = None) -> tuple[int, str]:
    host, port = base.rsplit("/", 1)[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=25)
    try:
        conn.request(method, path, body.encode() if body else None, headers or {})
        r = conn.getresponse()
        return r.status, r.read().decode("utf-8")
    finally:
        conn.close()


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


def test_webpy_chat_under_hubbub_run(tmp_path: Path) -> None:
    """The same app served by ``hubbub run --runtime gevent chat_app:application``
    (from its folder, where the 0.6 client is found in node_modules)."""
    folder = EXAMPLES / "webpy_chat"
    with example("webpy_chat", tmp_path):  # installs the client on a fresh checkout
        pass
    port = free_port()
    args = [sys.executable, "-m", "hubbub", "run", "--runtime", "gevent", "--port", str(port),
            "chat_app:application"]
    log = tmp_path / "hubbub-run.log"
    with serving(args, folder, port, log) as url:
        result = run_browser(url, "websocket")
    check_chat(result, "websocket", message_log(log))


def test_runserver_socketio_finishes_open_connections_when_it_stops(tmp_path: Path) -> None:
    """SIGTERM: every open connection gets its on_finish (the example's
    prints who left) before the process exits."""
    with example("django_chat_channels", tmp_path, "--noreload") as (url, log):
        _, text = request(url, "GET", "/socket.io/xhr-polling//1")
        sid = text.split("~m~")[2]
        start = '~j~{"room":1,"action":"start","name":"zed"}'
        body = "".join(f"~m~{len(m)}~m~{m}" for m in ("__subscribe__", "room-1", start))
        status, _ = request(url, "POST", f"/socket.io/xhr-polling/{sid}/send",
                            "data=" + quote(body),
                            {"Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200
        deadline = time.monotonic() + 10
        while "started" not in request(url, "GET", f"/socket.io/xhr-polling/{sid}/2")[1]:
            assert time.monotonic() < deadline
    out = log.read_text()
    assert "Stopping: ending the open connections ..." in out
    assert "chat: zed left room 1" in out


def test_runserver_socketio_reloads_on_code_changes(tmp_path: Path) -> None:
    port = free_port()
    log = tmp_path / "reload.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, str(EXAMPLES / "django_chat_channels"), "--port", str(port)],
            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1"}, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )
        try:
            wait_for_port(port, 120)
            assert request(f"http://127.0.0.1:{port}", "GET", "/")[0] == 200
            # Django's reloader compares the files' times once a second, from
            # a first look it takes when it starts: touch until it reloads
            changed = EXAMPLES / "django_chat_channels" / "chat" / "views.py"
            deadline = time.monotonic() + 30
            while log.read_text().count("SocketIOServer running on") < 2:
                assert time.monotonic() < deadline, log.read_text()
                if "changed, reloading" not in log.read_text():
                    changed.touch()
                time.sleep(1.0)
            wait_for_port(port, 20)
            assert request(f"http://127.0.0.1:{port}", "GET", "/")[0] == 200
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(15)
    out_text = log.read_text()
    assert "views.py changed, reloading." in out_text
    assert "Stopping: ending the open connections ..." in out_text


def test_webpy_run_reads_the_address_from_web_config(tmp_path: Path) -> None:
    """``hubbub.webpy_socketio.run(app)``: SOCKETIO_HOST and SOCKETIO_PORT
    from ``web.config``; the app's pages and Socket.IO on that port."""
    port = free_port()
    script = tmp_path / "app.py"
    script.write_text(
        "import web\n"
        "from hubbub.webpy_socketio import *\n"
        "class index:\n"
        "    def GET(self):\n"
        "        return 'hello'\n"
        "urls = ('/', 'index') + socketio_urls\n"
        "app = web.application(urls, globals())\n"
        "web.config.SOCKETIO_HOST = '127.0.0.1'\n"
        f"web.config.SOCKETIO_PORT = {port}\n"
        "run(app)\n"
    )
    with serving([sys.executable, str(script)], tmp_path, port, tmp_path / "run.log") as url:
        assert request(url, "GET", "/") == (200, "hello")
        status, text = request(url, "GET", "/socket.io/xhr-polling//1")
        assert status == 200 and re.fullmatch(r"~m~20~m~[0-9]{20}", text)
