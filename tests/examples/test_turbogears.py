"""hubbub.tgext_socketio end to end: real TurboGears 2.5 apps (the examples
turbogears_pingpong and turbogears_chat) served by hubbub's paste runner, real
clients.

* PingPong (tgext.socketio's README) in headless Chromium with
  socket.io-client 0.9.16's browser build, over websocket, xhr-polling and
  jsonp-polling: a page logged in through TG's login form clicks the four
  buttons (ping, ten fireballs, auto, the validation error's alert); an
  anonymous page's ping gets method_access_denied. socket.io-client 4.x under
  Node gets the same answers, in the same namespace.
* The chat (tgext.socketio's example, on PubSubTGNamespace) on two servers
  sharing a real redis-server: server A started as the example script, server
  B by gearbox from the example's development.ini (anypubsub's own Redis
  settings). Two Chromium pages on A see each other's lines, one published by
  a plain TG controller, one by another process of the app
  (``pubsub.publish`` through hubbub.Emitter) and one by Node's
  @socket.io/redis-emitter; a 4.x client on B gets every one of them.
* ``gearbox serve`` and ``pserve`` with ``use = egg:hubbub#tgext`` and
  ``debug = true`` (which tgext.socketio refused): the 4.x pingpong again, and
  each handler's ``tg.request`` is its own connection's (the entry point
  patched gevent before TurboGears was imported).
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from test_chat_browser import CHROMIUM, check_tools

from conftest import EXAMPLES, JS_DIR, free_port, run_example, run_process

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "cluster"))
from cluster_fixtures import RedisServer

VENV_BIN = Path(sys.executable).parent
BROWSER = JS_DIR / "turbogears_browser.mjs"
CLIENTS = JS_DIR / "turbogears_clients.mjs"
PUBLISHER = Path(__file__).with_name("turbogears_publisher.py")

pytestmark = pytest.mark.timeout(180)


def last_json(proc: subprocess.CompletedProcess[str], what: str) -> dict[str, Any]:
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    details = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    assert lines, f"{what} printed nothing: {details}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert proc.returncode == 0 and result["ok"], f"{what}: {result.get('error')}\n{details}"
    return result


def run_browser(app: str, url: str, transport: str, *extra: str) -> dict[str, Any]:
    node = check_tools()
    args = [node, str(BROWSER), app, url, "--transport", transport, "--chromium", CHROMIUM]
    proc = subprocess.run([*args, *extra], capture_output=True, text=True, timeout=90)
    result = last_json(proc, "turbogears_browser.mjs")
    assert result["pageErrors"] == []
    assert result["console"] == []
    assert result["badResponses"] == []
    assert result["clientVersion"] == "0.9.16"
    assert result["transports"] == {"A": transport, "B": transport}
    return result


def run_client(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [check_tools(), str(CLIENTS), *args], capture_output=True, text=True, timeout=30
    )
    return last_json(proc, f"turbogears_clients.mjs {' '.join(args)}")


# -- PingPong ---------------------------------------------------------------------------------


POUND = ["bang!"] * 10


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling", "jsonp-polling"])
def test_pingpong_buttons_in_the_browser(transport: str) -> None:
    with run_example("turbogears_pingpong", timeout=120) as url:
        result = run_browser("pingpong", url, transport)
    # the page says who is logged in; the namespace's tg.request agrees
    assert result["users"] == {"A": ["logged in as alice", "alice"], "B": ["anonymous", "null"]}
    lines = result["lines"]
    assert lines["A"]["ping"] == ["pong"]
    assert lines["A"]["fireball"] == ["pong", *POUND]
    # auto: the validator turned it into a ping or a fireball; the error added nothing
    assert lines["finalA"] in (["pong", *POUND, "pong"], ["pong", *POUND, *POUND])
    assert result["alerts"]["A"] == ["invalid_method_args"]
    # the anonymous page: @require refused, its alert shows the message
    assert lines["B"] == []
    assert result["alerts"]["B"] == ['You do not have access to method "on_ping"']


def check_pingpong_4x(result: dict[str, Any], transport: str) -> None:
    assert result["anonymous"] == {
        "whoami": None,
        "ping": {"sounds": [], "error": ["method_access_denied",
                                         'You do not have access to method "on_ping"']},
        "transport": transport,
    }
    alice = result["alice"]
    assert alice["whoami"] == "alice"
    assert alice["ping"] == {"sounds": ["pong"], "error": None}
    assert alice["fireball"] == {"sounds": POUND, "error": None}
    assert alice["auto"] in ({"sounds": ["pong"], "error": None}, {"sounds": POUND, "error": None})
    assert alice["error"] == {
        "sounds": [],
        "error": ["invalid_method_args", {"attack": "Got an error!"}],
    }
    assert alice["transport"] == transport


def test_pingpong_4x_client() -> None:
    with run_example("turbogears_pingpong", timeout=120) as url:
        for transport in ("websocket", "polling"):
            check_pingpong_4x(run_client("pingpong", url, transport), transport)


# -- the chat on two servers and a Redis -------------------------------------------------------


@contextlib.contextmanager
def gearbox_chat(redis: RedisServer, tmp_path: Path) -> Iterator[str]:
    """examples/turbogears_chat/development.ini under gearbox, on free ports."""
    port = free_port()
    ini = (EXAMPLES / "turbogears_chat" / "development.ini").read_text()
    ini = ini.replace("port = 8080", f"port = {port}")
    ini = ini.replace("anypubsub.port = 6379", f"anypubsub.port = {redis.port}")
    config = tmp_path / "chat.ini"
    config.write_text(ini)
    env = {"PYTHONPATH": str(EXAMPLES / "turbogears_chat")}
    args = [str(VENV_BIN / "gearbox"), "serve", "-c", str(config)]
    with run_process(args, port, env=env, timeout=60):
        yield f"http://127.0.0.1:{port}"


@pytest.mark.parametrize("transport", ["websocket", "xhr-polling"])
def test_chat_across_servers_and_processes(transport: str, tmp_path: Path) -> None:
    redis = RedisServer(tmp_path)
    redis.start()
    try:
        with run_example("turbogears_chat", "--adapter", redis.url, timeout=120) as url_a, \
                gearbox_chat(redis, tmp_path) as url_b:
            # a 4.x client on server B, subscribed before anyone speaks
            watcher = subprocess.Popen(
                [check_tools(), str(CLIENTS), "chat", url_b, "websocket", "--wait-for", "5"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            )
            try:
                assert watcher.stdout is not None
                first = watcher.stdout.readline()
                assert json.loads(first) == {"subscribed": True}, first
                python = {
                    "argv": [sys.executable, str(PUBLISHER), redis.url, "room-1", "from a worker"],
                    "text": "from a worker",
                }
                emit = {"op": "emit", "nsp": "/chat", "to": ["tgext.pubsub:room-1"],
                        "event": "pubblication", "args": [{"uid": "node", "message": "from node"}]}
                emitter = [check_tools(), str(JS_DIR / "redis_emitter.mjs"), redis.url]
                node = {"argv": [*emitter, json.dumps([emit])], "text": "from node"}
                result = run_browser("chat", url_a, transport, "--publish-cmd", json.dumps(python),
                                     "--publish-cmd", json.dumps(node))
                out, err = watcher.communicate(timeout=20)
            finally:
                if watcher.poll() is None:
                    watcher.kill()
                    watcher.wait(5)
    finally:
        redis.stop()
    said = ["hello from A", "hello from B", "from a controller", "from a worker", "from node"]
    assert result["lines"] == {"A": said, "B": said}
    assert result["announceStatus"] == 302
    seen = json.loads(out.strip().splitlines()[-1])
    assert seen["ok"], err
    # the 4.x client on the other server: every message, with its sender's id
    assert [m["message"] for m in seen["got"]] == said
    senders = [m["uid"] for m in seen["got"]]
    assert senders[2:] == ["server", "elsewhere", "node"]
    assert len(set(senders[:2])) == 2 and seen["uid"] not in senders
    # subscribe's answers, and tgext's errors for a wrong channel
    assert seen["subscribed"] is True
    assert seen["unknown"] is False and seen["unnamed"] is False
    assert seen["errors"] == [
        ["channel_not_available", "Trying to subscribe to a channel not available"],
        ["channel_not_specified", "You must specify the channel you want to subscribe"],
    ]


# -- gearbox and pserve, debug mode on -------------------------------------------------------


@pytest.mark.parametrize("command", ["gearbox", "pserve"])
def test_paste_server_with_debug_mode(command: str, tmp_path: Path) -> None:
    port = free_port()
    ini = (EXAMPLES / "turbogears_pingpong" / "development.ini").read_text()
    assert "\ndebug = true\n" in ini and "use = egg:hubbub#tgext" in ini
    config = tmp_path / "pingpong.ini"
    config.write_text(ini.replace("port = 8080", f"port = {port}"))
    args = [str(VENV_BIN / "gearbox"), "serve", "-c", str(config)]
    if command == "pserve":
        args = [str(VENV_BIN / "pserve"), str(config)]
    env = {"PYTHONPATH": str(EXAMPLES / "turbogears_pingpong")}
    with run_process(args, port, env=env, timeout=60) as proc:
        url = f"http://127.0.0.1:{port}"
        check_pingpong_4x(run_client("pingpong", url, "websocket"), "websocket")
        check_pingpong_4x(run_client("pingpong", url, "polling"), "polling")
        import urllib.request

        with urllib.request.urlopen(url + "/socketio/page", timeout=5) as resp:
            assert resp.status == 200 and b"data-attack=\"fireball\"" in resp.read()
        proc.terminate()
        log = proc.communicate(timeout=10)[0].decode(errors="replace")
    # the entry point patched gevent first; the views ended cleanly
    assert "imported before" not in log
    assert "Traceback" not in log and "raised" not in log
