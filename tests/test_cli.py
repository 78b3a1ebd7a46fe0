"""`hubbub run module:app` and `python -m hubbub`, and graceful shutdown."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request

import pytest
from websockets.sync.client import connect

from conftest import free_port, run_example, run_process


def _handshake(port: int) -> bytes:
    url = f"http://127.0.0.1:{port}/engine.io/?EIO=4&transport=polling"
    with urllib.request.urlopen(url, timeout=5) as response:
        body: bytes = response.read()
    return body


def test_hubbub_command_serves_module_app() -> None:
    port = free_port()
    exe = [sys.executable, "-c", "from hubbub.cli import main; raise SystemExit(main())"]
    with run_process([*exe, "run", "examples.engineio_echo:eio", "--port", str(port)], port):
        assert _handshake(port).startswith(b'0{"sid":')


@pytest.mark.parametrize("runtime", ["asyncio", "gevent"])
def test_python_dash_m_hubbub_and_graceful_shutdown(runtime: str) -> None:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "hubbub",
        "run",
        "examples.engineio_echo:eio",
        "--port",
        str(port),
        "--runtime",
        runtime,
    ]
    with run_process(args, port) as proc:
        with connect(f"ws://127.0.0.1:{port}/engine.io/?EIO=4&transport=websocket") as ws:
            assert str(ws.recv(timeout=5)).startswith("0{")
            ws.send("4still here")
            assert ws.recv(timeout=5) == "4still here"
            proc.send_signal(signal.SIGTERM)
            # a clean shutdown: the session is closed with a close packet first
            received = []
            try:
                while True:
                    received.append(ws.recv(timeout=5))
            except Exception:
                pass
            assert "1" in received, received
        assert proc.wait(10) == 0


def test_unknown_module_is_a_clear_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hubbub", "run", "no_such_module:app"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert "cannot import 'no_such_module'" in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--monkey-patch", "examples.engineio_echo:eio"], "--monkey-patch is for --runtime"),
        (
            ["--runtime", "asyncio", "examples.flask_chat.flask_app:app"],
            "looks like a WSGI app; serve it with --runtime gevent",
        ),
    ],
)
def test_runtime_mismatches_are_clear_errors(args: list[str], message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "hubbub", "run", *args],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0
    assert message in result.stderr


def test_monkey_patching_happens_before_the_app_is_imported() -> None:
    """With --monkey-patch the app module already sees gevent's time.sleep."""
    code = (
        "import sys; from hubbub import cli; import gevent.monkey;"
        "cli.load_app = lambda spec: (print('patched', gevent.monkey.is_module_patched('time')),"
        " sys.exit(0));"
        "cli.main(['run', '--runtime', 'gevent', '--monkey-patch', 'x:y'])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=30
    )
    assert result.stdout.strip() == "patched True", result.stderr


def test_examples_under_uvicorn_leave_permessage_deflate_off_as_the_server_does() -> None:
    # uvicorn would accept the deflate every socket.io-client under Node
    # offers; hubbub's own servers (and Node's) leave it off by default
    with run_example("engineio_echo.py", "--asgi") as url:
        ws_url = url.replace("http", "ws", 1) + "/engine.io/?EIO=4&transport=websocket"
        with connect(ws_url, compression="deflate") as ws:
            assert ws.response is not None
            assert ws.response.headers.get("Sec-WebSocket-Extensions") is None
            assert str(ws.recv(timeout=5)).startswith("0{")
