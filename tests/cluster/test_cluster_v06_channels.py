"""One channel holds subscribers of every generation, on one process and
across a Redis cluster.

``tests/js/v06_channels.mjs`` puts a Socket.IO 0.6 page (headless Chromium),
a socket.io-client 0.9.16 socket and a socket.io-client 4 socket (Node), each
with hubbub's channel extension, in the channel "room-1" of
examples/webpy_chat. Out-of-band sends from a plain web.py handler (the
example's /sysmsg): ``broadcast_channel`` reaches all three, ``send`` to a
session id only that socket, ``broadcast`` everyone, and each raises
NoSocket while nobody is there; what each client says reaches the other two.

* one process: every client on it;
* two processes on a real redis-server: the page and the 4.x socket on one,
  the 0.9 socket on the other, the system message posted to the other.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import pytest
from cluster_fixtures import NODE, RedisServer

from conftest import EXAMPLES, JS_DIR, ROOT, free_port, wait_for_port

pytestmark = pytest.mark.timeout(180)

CHROMIUM = os.environ.get("HUBBUB_CHROMIUM", "/usr/bin/chromium")
if not Path(CHROMIUM).is_file():
    pytest.fail(f"no Chromium at {CHROMIUM}: scripts/test installs it", pytrace=False)


@contextmanager
def chat(folder: Path, redis: str | None = None) -> Iterator[str]:
    port = free_port()
    args = [sys.executable, str(EXAMPLES / "webpy_chat"), "--port", str(port)]
    if redis is not None:
        args += ["--redis", redis]
    with (folder / f"chat-{port}.log").open("wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)
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


def run(page: str, url09: str, url4: str, sysmsg: str) -> dict[str, Any]:
    assert NODE is not None
    args = [NODE, str(JS_DIR / "v06_channels.mjs"), "--page", page, "--url09", url09,
            "--url4", url4, "--sysmsg", sysmsg, "--chromium", CHROMIUM, "--timeout", "90000"]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=120)
    lines = proc.stdout.strip().split("\n")
    details = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    assert lines and lines[-1].startswith("{"), f"v06_channels.mjs printed nothing: {details}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert proc.returncode == 0 and result["ok"], f"{result.get('error')}\n{details}"
    return result


def check(result: dict[str, Any]) -> None:
    assert result["extended"] == {"v09": "function", "v4": "function"}
    assert result["pageErrors"] == [] and result["console"] == []
    assert result["before"] == {
        "broadcast": "There are no clients.",
        "send": "There is no socket with the session ID: 12345",
        "channel": "There are no clients on the channel: room-1",
    }
    assert result["sysmsg"] == result["sendTo09"] == result["broadcast"] == "Message sent"
    page = result["seen"]["page"]
    tag = next(line for line in page if line.startswith("SYSTEM: to all ")).rsplit(" ", 1)[1]
    assert f"SYSTEM: to 0.9 {tag}" not in page
    for line in (f"* v09-{tag} joins", f"* v4-{tag} joins", f"SYSTEM: to all {tag}",
                 f"SYSTEM: to everyone {tag}",
                 f"v4-{tag}: from 4", f"v09-{tag}: from 0.9", f"page-{tag}: from 0.6"):
        assert page.count(line) == 1, (line, page)
    for who in ("v09", "v4"):
        seen = result["seen"][who]
        systems = [d["message"] for d in seen if d.get("action") == "system"]
        mine = [f"to all {tag}", f"to 0.9 {tag}"] if who == "v09" else [f"to all {tag}"]
        assert systems == [*mine, f"to everyone {tag}"]
        lines = {d["message"] for d in seen if d.get("action") == "message"}
        assert lines == {"from 4", "from 0.9", "from 0.6"}


def test_one_channel_three_generations(tmp_path: Path) -> None:
    with chat(tmp_path) as url:
        check(run(url, url, url, url))


def test_one_channel_across_two_processes_on_redis(tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with ExitStack() as stack:
            one = stack.enter_context(chat(tmp_path, redis.url))
            two = stack.enter_context(chat(tmp_path, redis.url))
            # the page and the 4.x socket on one, the 0.9 socket on two; the
            # out-of-band send goes through two
            check(run(one, two, one, two))
    finally:
        redis.stop()
