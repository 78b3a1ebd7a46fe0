"""The Socket.IO admin UI (the npm package @socket.io/admin-ui, its ui/dist
served from a static server of the test) in headless Chromium against
examples/admin_dashboard.py: one server, and two servers on one Redis.

``tests/js/admin_ui_browser.mjs`` logs in, checks the Servers, Sockets and
Rooms pages, disconnects a socket with the UI's button (or, read-only, finds
no such button and has the refusal checked) and prints what it saw. The
screenshot of the dashboard is kept when $HUBBUB_ADMIN_SCREENSHOT names a
file.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from test_chat_browser import CHROMIUM, PNG_MAGIC, check_tools

from cluster.cluster_fixtures import RedisServer
from conftest import EXAMPLES, JS_DIR, free_port, run_process

UI_DIST = JS_DIR / "node_modules" / "@socket.io" / "admin-ui" / "ui" / "dist"
SCRIPT = JS_DIR / "admin_ui_browser.mjs"
PASSWORD = "open sesame"

pytestmark = pytest.mark.timeout(150)


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextlib.contextmanager
def static_ui() -> Iterator[str]:
    """ui/dist of @socket.io/admin-ui on a free port (the UI is static files)."""
    if not (UI_DIST / "index.html").is_file():
        pytest.fail("@socket.io/admin-ui is not installed: run `npm ci` in tests/js")
    handler = functools.partial(_QuietHandler, directory=str(UI_DIST))
    httpd = ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


@contextlib.contextmanager
def dashboard(ui: str, server_id: str, *extra: str) -> Iterator[str]:
    port = free_port()
    args = [
        sys.executable, str(EXAMPLES / "admin_dashboard.py"),
        "--port", str(port), "--password", PASSWORD, "--server-id", server_id,
        "--stats-interval", "0.5", "--cors-allowed-origins", ui.rstrip("/"), *extra,
    ]
    with run_process(args, port):
        yield f"http://127.0.0.1:{port}"


def run_browser(ui: str, servers: list[str], ids: list[str], *extra: str) -> dict[str, Any]:
    node = check_tools()
    assert shutil.which("node") == node
    screenshot = os.environ.get("HUBBUB_ADMIN_SCREENSHOT")
    args = [
        node, str(SCRIPT), "--ui", ui, "--servers", ",".join(servers), "--ids", ",".join(ids),
        "--password", PASSWORD, "--timeout", "90000", "--chromium", CHROMIUM, *extra,
    ]
    if screenshot:
        args += ["--screenshot", screenshot]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120, cwd=JS_DIR)
    lines = proc.stdout.strip().splitlines()
    details = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    assert lines, f"admin_ui_browser.mjs printed nothing: {details}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert proc.returncode == 0 and result["ok"], (
        f"failed after {result['steps'][-1:]}: {result.get('error')}\n{details}"
    )
    if screenshot:
        assert Path(screenshot).read_bytes().startswith(PNG_MAGIC)
    assert result["pageErrors"] == []
    return result


def offline_noise(message: dict[str, Any]) -> bool:
    """The CDN fonts and icons the page asks for, refused by the test."""
    return "net::ERR_FAILED" in message["text"]


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
def test_admin_ui_one_server(runtime: str) -> None:
    with static_ui() as ui, dashboard(ui, "hub-a", "--runtime", runtime) as url:
        result = run_browser(ui, [url], ["hub-a"])
    assert result["serverRows"][0][0] == "hub-a"
    assert result["disconnectButtons"] >= 1
    assert result["disconnectReason"] == "io server disconnect"
    assert [m for m in result["console"] if not offline_noise(m)] == []


def test_admin_ui_two_servers_on_redis(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with (
            static_ui() as ui,
            dashboard(ui, "hub-a", "--adapter", redis.url) as url_a,
            dashboard(ui, "hub-b", "--adapter", redis.url, "--runtime", "gevent") as url_b,
        ):
            result = run_browser(ui, [url_a, url_b], ["hub-a", "hub-b"])
    finally:
        redis.stop()
    rows = {row[0]: row for row in result["serverRows"]}
    assert sorted(rows) == ["hub-a", "hub-b"]
    assert rows["hub-a"][2] != rows["hub-b"][2]  # two processes
    # the socket disconnected from the UI on hub-a lived on hub-b
    assert result["disconnectReason"] == "io server disconnect"
    assert result["otherStillConnected"] is True
    assert [m for m in result["console"] if not offline_noise(m)] == []


def test_admin_ui_read_only_on_redis(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with (
            static_ui() as ui,
            dashboard(ui, "hub-a", "--adapter", redis.url, "--read-only") as url_a,
            dashboard(ui, "hub-b", "--adapter", redis.url, "--read-only") as url_b,
        ):
            result = run_browser(ui, [url_a, url_b], ["hub-a", "hub-b"], "--read-only")
    finally:
        redis.stop()
    assert result["disconnectButtons"] == 0
    assert result["refusal"]["message"].startswith("read-only")
    assert result["targetConnected"] is True
    assert "after" in result["targetRooms"]
