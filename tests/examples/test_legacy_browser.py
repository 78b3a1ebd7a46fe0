"""The gevent-socketio example ports in a real browser: socket.io-client
0.9.16's browser build (``dist/socket.io.js``) in headless Chromium.

``tests/js/legacy_browser.mjs`` drives Debian's Chromium with playwright-core
and prints one JSON object of what the pages showed. Each test starts the
example (on hubbub.gevent_socketio's SocketIOServer) on a free port and
forces one transport with ``io.transports = [...]`` (the pages read
``?transport=`` for that): websocket, xhr-polling and jsonp-polling. (The
client's htmlfile transport needs IE's ActiveXObject; it is tested over raw
HTTP in tests/conformance/test_legacy_raw.py.)

* examples/testapp: two pages; page A uses the chat form, clicks the seven
  test buttons and "Invite room1"; every event each page got is in its log,
  checked here line by line (as a multiset: lines from different sends may
  interleave).
* examples/simple_chat: two pages pick nicknames (a taken one is refused),
  talk in the room, and the first one closes.

Chromium is not optional: scripts/test installs it, so a missing browser is a
failure with a message, not a skip. An example installs socket.io-client
0.9.16 into its own node_modules when it first starts (`npm ci`), so that
start may take a while on a fresh checkout.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from typing import Any

import pytest
from test_chat_browser import CHROMIUM, check_tools

from conftest import JS_DIR, run_example

SCRIPT = JS_DIR / "legacy_browser.mjs"
TRANSPORTS = ["websocket", "xhr-polling", "jsonp-polling"]

pytestmark = pytest.mark.timeout(180)


def run_browser(url: str, app: str, transport: str) -> dict[str, Any]:
    node = check_tools()
    args = [node, str(SCRIPT), url, "--app", app, "--transport", transport]
    args += ["--timeout", "60000", "--chromium", CHROMIUM]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=90)
    lines = proc.stdout.strip().split("\n")
    details = f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr[-3000:]}"
    assert lines and lines[-1].startswith("{"), f"legacy_browser.mjs printed nothing: {details}"
    result: dict[str, Any] = json.loads(lines[-1])
    assert proc.returncode == 0 and result["ok"], (
        f"failed after {result['steps'][-1:]}: {result.get('error')}\n{details}"
    )
    return result


def check_clean(result: dict[str, Any]) -> None:
    """No errors on the pages, no failed requests."""
    assert result["pageErrors"] == []
    assert result["console"] == []
    assert result["badResponses"] == []


def normalized(lines: list[str], nicknames: dict[str, str]) -> Counter[str]:
    """A log as a multiset, with the pages' nicknames and the load figure replaced."""
    out: Counter[str] = Counter()
    for line in lines:
        for who, nick in nicknames.items():
            line = line.replace(nick, f"<{who}>")
        out[re.sub(r"^/chat cpu_value: [0-9.]+$", "/chat cpu_value: <n>", line)] += 1
    return out


BROADCASTED = '/ broadcasted: [{"thank":"you"}]'
CALLMEBACK = '/chat callmeback: "this is a first param", "this is the last param"'
GOT_JSON = "/chat got_json: " + json.dumps(
    {"asdfblah": "asd \rfé\n\\'blah"}, ensure_ascii=False, separators=(",", ":")
)

# what page A's log must hold: its own lines and every answer of the server
PAGE_A = Counter(
    {
        "/ connect": 1,
        "/chat connect": 1,
        '/chat you_just_connected: {"nickname":"<A>"}': 1,
        "/chat cpu_value: <n>": 1,
        # the chat form
        'me chat: "hello from A"': 1,
        '/ bob: {"hello":"world"}': 1,
        # 1. emit and 3. send both emit 'bob': a broadcast, and 'bob' on /chat
        BROADCASTED: 2,
        "/chat bob": 2,
        # 2. json send (clicked again after 7.)
        '/ got_some_json: {"blah":"a simple message"}': 2,
        # 3. send
        '/ message: "got your message: a simple message"': 1,
        # 4. /chat emit, send, json send
        '/chat message: "little message back"': 1,
        '/chat message: {"blah":"blah"}': 1,
        '/chat pack: {"the":"more","you":"can"}': 2,
        '/chat got_message: "hey"': 1,
        GOT_JSON: 1,
        # 5. emit with an ack: the handler's return value
        '/chat my_callback answered: 1, 2, {"this":"is sweet"}': 1,
        # 6. the server's emits with callbacks, answered by the page's ack;
        #    send with a callback, acknowledged automatically
        CALLMEBACK: 2,
        '/chat server_callback: "first callback called", ["ackprm1","ackprm2"]': 1,
        '/chat server_callback: "second callback got", "ackprm1", "ackprm2"': 1,
        "/chat send acknowledged": 1,
        '/chat got_message: "a little message"': 1,
        # 7. /chat disconnect
        "/chat disconnect": 1,
    }
)
# page B only watches: A's chat line, the broadcasts, the invitation, A leaving /chat
PAGE_B = Counter(
    {
        "/ connect": 1,
        "/chat connect": 1,
        '/chat you_just_connected: {"nickname":"<B>"}': 1,
        "/chat cpu_value: <n>": 1,
        '/ chat: "hello from A"': 1,
        BROADCASTED: 2,
        '/chat rtc_invite: "<A>", "an offer from <A>"': 1,
        '/chat left: "<A>"': 1,
    }
)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_testapp_buttons(transport: str) -> None:
    # a server of its own: sessions of an earlier test's closed pages would
    # otherwise time out in room1 now and then, and B would see them leave
    with run_example("testapp", "--runtime", "gevent", timeout=120) as url:
        result = run_browser(url, "testapp", transport)
    check_clean(result)
    assert result["clientVersion"] == "0.9.16"
    assert result["transports"] == {"A": transport, "B": transport}
    nicknames = result["nicknames"]
    assert all(re.fullmatch(r"guest-[A-Za-z0-9_-]{6}", n) for n in nicknames.values())
    assert nicknames["A"] != nicknames["B"]
    assert result["status"] == {
        who: f"connected with {transport} as {nick}" for who, nick in nicknames.items()
    }
    assert normalized(result["logs"]["A"], nicknames) == PAGE_A
    assert normalized(result["logs"]["B"], nicknames) == PAGE_B
    # leaving /chat left the connection up
    assert result["connected"] == {"A": True, "B": True}


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_simple_chat(transport: str) -> None:
    with run_example("simple_chat", "--runtime", "gevent", timeout=120) as url:
        result = run_browser(url, "simple_chat", transport)
    check_clean(result)
    assert result["transports"] == {"A": transport, "B": transport}
    alice, bob = result["names"]["A"], result["names"]["B"]
    # B's first nickname was A's: refused, with the page saying so
    assert result["refused"] is True
    assert result["nicknames"] == f"{alice}, {bob}"
    # B's view: both joins, its own line, A's line, A leaving (told by A's
    # page as it closed, polling transports included)
    assert result["lines"]["B"] == [
        f"{alice} connected",
        f"{bob} connected",
        "mehi alice",
        f"{alice}hello bob",
        f"{alice} disconnected",
    ]
    assert result["finalNicknames"] == bob
