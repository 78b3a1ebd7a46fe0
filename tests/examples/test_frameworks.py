"""The gevent runtime with real frameworks, real servers and real clients.

Each framework example (Flask, Pyramid, Django) routes /socket.io/ to a view
that calls ``hubbub.socketio_manage``; two socket.io-client 4.x clients
(tests/js/framework_client.mjs, under Node) connect to /chat, join a room,
ask who they are (the answer comes from ``self.request``, the framework's
request object), broadcast to the room with an ack and disconnect; the
framework's own pages still serve. The same app is then served by gunicorn
with hubbub's worker and by ``pserve`` with hubbub's paste runner (and its
Flash policy server). Last, examples/gevent_blocking.py shows a handler
that blocks (time.sleep, a Redis BLPOP, socket.call) stalls nobody else.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import EXAMPLES, JS_DIR, free_port, run_example, run_process, wait_for_port

NODE = shutil.which("node")
VENV_BIN = Path(sys.executable).parent

FRAMEWORKS = {
    "flask": ("flask_chat", "<h1>Flask chat on hubbub</h1>"),
    "pyramid": ("pyramid_chat", "<h1>Pyramid chat on hubbub</h1>"),
    "django": ("django_chat", "<h1>Django chat on hubbub</h1>"),
}

pytestmark = pytest.mark.timeout(40)


def run_node(script: str, *args: str, timeout: float = 20) -> dict[str, Any]:
    assert NODE is not None, "node is not installed (scripts/test installs it)"
    proc = subprocess.run(
        [NODE, script, *args], cwd=JS_DIR, capture_output=True, text=True, timeout=timeout
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    assert lines, f"no result from {script}: {proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert result.get("ok"), f"{script} {args}: {result}\n{proc.stderr}"
    return result


def http_get(url: str) -> tuple[int, str]:
    import urllib.request

    with urllib.request.urlopen(url, timeout=5) as resp:
        return resp.status, resp.read().decode()


def check_chat(url: str, transports: str, framework: str) -> None:
    result = run_node("framework_client.mjs", url, transports)
    assert result["annRooms"] == ["lobby"]
    assert result["bobRooms"] == ["lobby"]
    # self.request is the framework's request of the connection's view
    assert result["whoami"] == {"user": "ann", "framework": framework}
    assert result["ack"] == "delivered"
    assert result["received"] == {"user": "ann", "text": "hi"}
    assert result["annMessages"] == []  # a room broadcast skips its sender
    assert result["reason"] == "io client disconnect"
    expected = "polling" if transports == "polling" else "websocket"
    assert result["transport"] == expected


def check_pages(url: str, framework: str, heading: str) -> None:
    status, body = http_get(url + "/")
    assert status == 200 and heading in body
    status, body = http_get(url + "/hello")
    assert status == 200 and json.loads(body) == {"framework": framework, "hello": "world"}


@pytest.fixture(scope="module", params=list(FRAMEWORKS))
def framework_example(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    framework = str(request.param)
    folder, _ = FRAMEWORKS[framework]
    with run_example(folder) as url:
        yield framework, url


@pytest.mark.parametrize("transports", ["websocket", "polling", "default"])
def test_framework_view_serves_socketio(
    framework_example: tuple[str, str], transports: str
) -> None:
    framework, url = framework_example
    check_chat(url, transports, framework)


def test_framework_pages_still_serve(framework_example: tuple[str, str]) -> None:
    framework, url = framework_example
    check_pages(url, framework, FRAMEWORKS[framework][1])


# -- gunicorn and pserve ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("framework", "target"), [("flask", "flask_app:app"), ("django", "django_app:application")]
)
def test_gunicorn_worker(framework: str, target: str) -> None:
    folder, heading = FRAMEWORKS[framework]
    port = free_port()
    args = [
        str(VENV_BIN / "gunicorn"),
        "-k",
        "hubbub.runtime.gevent.worker.GeventWorker",
        "--chdir",
        str(EXAMPLES / folder),
        "-b",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "2",
        target,
    ]
    with run_process(args, port, timeout=20):
        url = f"http://127.0.0.1:{port}"
        check_chat(url, "default", framework)
        check_chat(url, "polling", framework)
        check_pages(url, framework, heading)


@contextlib.contextmanager
def pserve(tmp_path: Path, policy_port: int | None) -> Iterator[str]:
    """examples/pyramid_chat/development.ini on free ports, under pserve."""
    port = free_port()
    ini = (EXAMPLES / "pyramid_chat" / "development.ini").read_text()
    ini = ini.replace("port = 6543", f"port = {port}")
    if policy_port is not None:
        ini = ini.replace(
            "policy_server = false",
            f"policy_server = true\npolicy_listener_host = 127.0.0.1\n"
            f"policy_listener_port = {policy_port}",
        )
    config = tmp_path / "test.ini"
    config.write_text(ini)
    env = {"PYTHONPATH": str(EXAMPLES / "pyramid_chat")}
    args = [str(VENV_BIN / "pserve"), str(config)]
    with run_process(args, port, env=env, timeout=20):
        yield f"http://127.0.0.1:{port}"


def test_pserve_with_the_paste_runner(tmp_path: Path) -> None:
    policy_port = free_port()
    with pserve(tmp_path, policy_port) as url:
        check_chat(url, "default", "pyramid")
        check_chat(url, "polling", "pyramid")
        check_pages(url, "pyramid", FRAMEWORKS["pyramid"][1])
        # heartbeat_interval / heartbeat_timeout became ping_interval / ping_timeout
        _, body = http_get(url + "/socket.io/?EIO=4&transport=polling")
        handshake = json.loads(body[1:])
        assert (handshake["pingInterval"], handshake["pingTimeout"]) == (25000, 20000)
        # transports = websocket, xhr-polling -> both Engine.IO transports
        assert handshake["upgrades"] == ["websocket"]
        # the Flash policy server answers a policy request
        wait_for_port(policy_port)
        with socket.create_connection(("127.0.0.1", policy_port), timeout=5) as conn:
            conn.sendall(b"<policy-file-request/>\0")
            answer = b""
            while not answer.endswith(b"\0"):
                chunk = conn.recv(4096)
                if not chunk:
                    break
                answer += chunk
        assert b"<cross-domain-policy>" in answer
        assert b'allow-access-from domain="*"' in answer


# -- blocking handlers ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def blocking_server() -> Iterator[str]:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "hubbub",
        "run",
        "--runtime",
        "gevent",
        "--monkey-patch",
        "--port",
        str(port),
        "examples.gevent_blocking:sio",
    ]
    with run_process(args, port):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    port = free_port()
    args = ["redis-server", "--port", str(port), "--save", "", "--appendonly", "no"]
    with run_process(args, port):
        yield f"redis://127.0.0.1:{port}/0"


@pytest.mark.parametrize("mode", ["nap", "redis_wait", "ask"])
def test_a_blocking_handler_does_not_delay_other_clients(
    blocking_server: str, redis_url: str, mode: str
) -> None:
    result = run_node("blocking_client.mjs", blocking_server, mode, redis_url)
    if mode == "ask":
        # socket.call() waited 1.5 s for the client's answer, in its greenlet
        assert result["answer"] == {"echoed": "why"}
        assert result["blockedMs"] >= 1450
    else:
        assert result["blockedMs"] >= 1950  # the handler really blocked for 2 s
    if mode == "nap":
        assert result["answer"] >= 1.95
    if mode == "redis_wait":
        assert result.get("answer") is None  # BLPOP timed out: an empty ack
    rtts = result["rtts"]
    # the other client echoed all along: dozens of round trips, none stalled
    # (typically 1-5 ms; the bound leaves room for a loaded CI machine, and
    # is far below the 1.5-2 s a stalled server would show)
    assert len(rtts) >= 20, rtts
    assert max(rtts) < 250, rtts

