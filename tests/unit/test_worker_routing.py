"""Routing by session id among the workers of ``hubbub run --workers N``
(sans-IO): every generation's ids name the worker that made them, and each
endpoint reads the owner from the requests that name a session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from hubbub import sessionids
from hubbub.http import HttpRequest
from hubbub.socketio.server import Server


@pytest.fixture
def worker() -> Iterator[None]:
    yield
    sessionids.set_worker(None)


def test_ids_carry_the_worker(worker: None) -> None:
    for index in (0, 1, 9, 37, sessionids.MAX_WORKERS - 1):
        sessionids.set_worker(index)
        ids = {sessionids.new_id() for _ in range(200)}
        assert len(ids) == 200
        for sid in ids:
            assert len(sid) == 20
            assert sessionids.owner(sid) == index
        digits = {sessionids.new_digits(20) for _ in range(200)}
        assert len(digits) == 200
        for sid in digits:
            assert len(sid) == 20 and sid.isdigit()
            assert sessionids.owner_digits(sid) == index


def test_outside_a_worker_ids_are_fully_random(worker: None) -> None:
    sessionids.set_worker(None)
    firsts = {sessionids.new_id()[0] for _ in range(2000)}
    assert len(firsts) > 40  # not one tag: every character of the alphabet turns up
    assert sessionids.owner("") is None
    assert sessionids.owner_digits("7") is None


def test_worker_index_bounds(worker: None) -> None:
    with pytest.raises(ValueError):
        sessionids.set_worker(sessionids.MAX_WORKERS)
    with pytest.raises(ValueError):
        sessionids.set_worker(-1)


def _get(path: str, query: str = "", upgrade: bool = False) -> HttpRequest:
    headers = {"upgrade": "websocket", "connection": "Upgrade"} if upgrade else {}
    return HttpRequest("GET", path, query, headers)


def test_each_generation_names_the_owner(worker: None) -> None:
    sessionids.set_worker(5)
    eio = sessionids.new_id()
    v09 = sessionids.new_id()
    v06 = sessionids.new_digits(20)
    sessionids.set_worker(None)
    router = Server(v06=True).endpoint
    cases = [
        # Engine.IO v4 and v3: the sid query parameter, polling and upgrades
        (_get("/socket.io/", f"EIO=4&transport=polling&sid={eio}&t=x"), 5),
        (_get("/socket.io/", f"EIO=3&transport=polling&t=x&sid={eio}"), 5),
        (_get("/socket.io/", f"EIO=4&transport=websocket&sid={eio}", upgrade=True), 5),
        # a handshake names no session
        (_get("/socket.io/", "EIO=4&transport=polling&t=x"), None),
        (_get("/socket.io/", "EIO=4&transport=websocket", upgrade=True), None),
        # 0.9: /1/<transport>/<sid>, and the forced disconnect's /1//<sid>/
        (_get(f"/socket.io/1/xhr-polling/{v09}", "t=1"), 5),
        (_get(f"/socket.io/1/websocket/{v09}", upgrade=True), 5),
        (_get(f"/socket.io/1//{v09}/", "disconnect=1"), 5),
        (_get("/socket.io/1/", "t=1"), None),
        # 0.6: /<transport>/<sid>/...
        (_get(f"/socket.io/xhr-polling/{v06}/1234"), 5),
        (_get(f"/socket.io/jsonp-polling/{v06}/1234/0"), 5),
        (_get("/socket.io/xhr-polling//1234"), None),
        (_get("/socket.io/websocket", upgrade=True), None),
    ]
    for req, owner in cases:
        assert router.session_owner(req) == owner, req.url


def test_sessions_made_in_a_worker_are_its_own(worker: None) -> None:
    sessionids.set_worker(3)
    server = Server()
    answer = server.endpoint.handle_request(_get("/socket.io/", "EIO=4&transport=polling"), 0.0)
    body = getattr(answer, "body", b"")
    assert body.startswith(b"0{")
    (sid,) = server.engine.sessions
    assert sessionids.owner(sid) == 3
    answer = server.endpoint.handle_request(_get("/socket.io/1/", "t=1"), 0.0)
    (v09,) = server.legacy.sessions if server.legacy is not None else ()
    assert sessionids.owner(v09) == 3
    server.close()


def test_digits_other_than_ascii_name_no_worker(worker: None) -> None:
    # str.isdigit() takes "²" and "٣", int() refuses the first: neither is
    # a digit of an id hubbub made
    for sid in ("²²", "²²345", "٣٣345", "1²"):
        assert sessionids.owner_digits(sid) is None, sid
    router = Server(v06=True).endpoint
    for path in ("/socket.io/xhr-polling/²²/1234", "/socket.io/jsonp-polling/٣٣/1234/0",
                 "/socket.io/htmlfile/²³¹/send"):
        assert router.session_owner(_get(path)) is None, path
