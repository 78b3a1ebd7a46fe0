"""Sans-IO tests of the Socket.IO client core (hubbub.client.core.ClientBase)
over the fake driver of client_fakes.py, on a websocket-only Engine.IO 4
session: connecting and refusals, handlers (plain, catch-all, class-based),
acks both ways, the send buffer and volatile emits, connection state
recovery, reconnection with its backoff and events, and every way a client
ends. Calls that wait return the fake waiter, which the tests inspect.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from client_fakes import FakeDriver, FakeSocket, FakeWaiter

from hubbub.client.core import NO_ACK, ClientBase
from hubbub.client.namespace import ClientNamespace
from hubbub.client.reconnect import Backoff, Reconnection
from hubbub.errors import AckTimeoutError, ClientConnectionError, DisconnectedError

URL = "http://example.test"
OPEN = "0" + json.dumps({"sid": "e1", "upgrades": [], "pingInterval": 25000,
                         "pingTimeout": 20000, "maxPayload": 1000000})


class FakeClient(ClientBase):
    def __init__(self, driver: FakeDriver, **options: Any) -> None:
        options.setdefault("randomization_factor", 0)
        super().__init__(**options)
        self._fake = driver

    def _make_driver(self) -> FakeDriver:  # type: ignore[override]
        return self._fake


def _session(driver: FakeDriver) -> FakeSocket:
    """Open the latest websocket as the server does; what the client sent on it."""
    ws = driver.sockets[-1]
    ws.open()
    ws.message(OPEN)
    return ws


def _connected(driver: FakeDriver | None = None, namespaces: tuple[str, ...] = ("/",),
               **options: Any) -> tuple[FakeClient, FakeDriver, FakeSocket]:
    driver = driver or FakeDriver()
    client = FakeClient(driver, **options)
    waiter = client.connect(URL, transports=["websocket"], namespaces=list(namespaces))
    ws = _session(driver)
    for nsp in namespaces:
        ws.message(f"40{'' if nsp == '/' else nsp + ','}{{\"sid\":\"s{nsp}\"}}")
    assert waiter.done and waiter.error is None
    ws.take()
    return client, driver, ws


def _record(client: ClientBase, *events: str, namespace: str = "/") -> list[tuple[Any, ...]]:
    got: list[tuple[Any, ...]] = []
    for event in events:
        client.on(event, lambda *args, e=event: got.append((e, *args)), namespace=namespace)
    return got


# -- connecting -------------------------------------------------------------------------------


def test_connect_waits_for_every_namespace() -> None:
    driver = FakeDriver()
    client = FakeClient(driver)
    got = _record(client, "connect")
    chat = _record(client, "connect", namespace="/chat")
    waiter = client.connect(URL, auth={"token": "t"}, transports=["websocket"],
                            namespaces=["/", "/chat"], socketio_path="/rt")
    assert driver.sockets[0].url.startswith("ws://example.test/rt/?EIO=4")
    ws = _session(driver)
    assert ws.take() == ['40{"token":"t"}', '40/chat,{"token":"t"}']
    ws.message('40{"sid":"a"}')
    assert not waiter.done and client.connected
    ws.message('40/chat,{"sid":"b"}')
    assert waiter.done and waiter.error is None
    driver.runtime.run_jobs()
    assert got == [("connect",)] and chat == [("connect",)]
    assert client.sid == "a" and client.get_sid("/chat") == "b"
    assert client.namespaces == {"/": "a", "/chat": "b"}
    assert client.transport() == "websocket"


def test_auth_may_be_a_function_called_at_each_connection() -> None:
    driver = FakeDriver()
    client = FakeClient(driver)
    calls: list[int] = []

    def auth() -> dict[str, Any]:
        calls.append(1)
        return {"n": len(calls)}

    client.connect(URL, auth=auth, transports=["websocket"])
    assert _session(driver).take() == ['40{"n":1}']


def test_the_namespaces_with_handlers_are_connected_by_default() -> None:
    driver = FakeDriver()
    client = FakeClient(driver)
    client.on("news", lambda: None, namespace="/news")

    class Chat(ClientNamespace):
        pass

    client.register_namespace(Chat("/chat"))
    client.connect(URL, transports=["websocket"])
    assert _session(driver).take() == ["40/chat,", "40/news,"]


@pytest.mark.parametrize(("answer", "message", "data"), [
    ('44{"message":"unauthorized","data":{"code":4001}}', "unauthorized", {"code": 4001}),
    ('44{"message":"unauthorized","code":4001}', "unauthorized", {"code": 4001}),  # a v4 server
    ('44"plain refusal"', "plain refusal", None),
])
def test_a_refused_connect_raises_with_the_servers_data(answer: str, message: str,
                                                        data: Any) -> None:
    driver = FakeDriver()
    client = FakeClient(driver)
    errors = _record(client, "connect_error")
    waiter = client.connect(URL, transports=["websocket"])
    ws = _session(driver)
    ws.message(answer)
    assert isinstance(waiter.error, ClientConnectionError)
    assert waiter.error.message == message and waiter.error.data == data
    assert ws.closed and not client.connected
    driver.runtime.run_jobs()
    assert len(errors) == 1
    assert client.wait().done  # over for good: no reconnection


def test_an_unreachable_server_raises_and_reports_connect_error() -> None:
    driver = FakeDriver()
    client = FakeClient(driver)
    errors = _record(client, "connect_error")
    waiter = client.connect(URL, transports=["websocket"])
    driver.sockets[0].drop("connection refused")
    assert isinstance(waiter.error, ClientConnectionError)
    assert "connection refused" in str(waiter.error)
    driver.runtime.run_jobs()
    assert errors == [("connect_error", {"message": "websocket failed: connection refused",
                                         "data": None})]
    assert driver.forgotten >= 1  # the kept-alive connections went with the session


def test_a_namespace_that_never_answers_times_out() -> None:
    driver = FakeDriver()
    client = FakeClient(driver)
    waiter = client.connect(URL, transports=["websocket"], namespaces=["/", "/slow"],
                            wait_timeout=2)
    ws = _session(driver)
    ws.message("40")
    driver.runtime.advance(2.0)
    assert isinstance(waiter.error, ClientConnectionError)
    assert "/slow" in str(waiter.error) and ws.closed


def test_retry_keeps_trying_until_the_first_connection() -> None:
    driver = FakeDriver()
    client = FakeClient(driver, reconnection_delay=1, reconnection_delay_max=4)
    waiter = client.connect(URL, transports=["websocket"], retry=True)
    driver.sockets[0].drop("connection refused")
    driver.runtime.advance(1.0)
    driver.sockets[1].drop("connection refused")
    driver.runtime.advance(1.9)
    assert len(driver.sockets) == 2  # the second wait is 2 s
    driver.runtime.advance(0.1)
    ws = _session(driver)
    ws.message("40")
    assert waiter.done and waiter.error is None


def test_connecting_twice_is_refused() -> None:
    client, _, _ = _connected()
    with pytest.raises(ClientConnectionError):
        client.connect(URL)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ValueError, match="protocol"):
        FakeClient(FakeDriver(), protocol=3)
    with pytest.raises(ValueError, match="msgpack"):
        FakeClient(FakeDriver(), protocol=4, serializer="msgpack")
    with pytest.raises(ValueError, match="transport"):
        FakeClient(FakeDriver()).connect(URL, transports=["carrier-pigeon"])


# -- events in ----------------------------------------------------------------------------------


def test_handlers_catch_alls_and_class_based_namespaces() -> None:
    driver = FakeDriver()
    client = FakeClient(driver)
    got = _record(client, "hello")
    client.on("*", lambda event, *args: got.append(("*", event, *args)))

    class Chat(ClientNamespace):
        def on_message(self, text: str) -> None:
            got.append(("chat message", text))

        def on_any_event(self, event: str, *args: Any) -> None:
            got.append(("chat any", event, *args))

    client.register_namespace(Chat("/chat"))
    client.connect(URL, transports=["websocket"], namespaces=["/", "/chat"])
    ws = _session(driver)
    ws.message("40")
    ws.message("40/chat,")
    ws.message('42["hello",1,{"a":[2]}]')
    ws.message('42["other",3]')
    ws.message('42/chat,["message","hi"]')
    ws.message('42/chat,["else"]')
    ws.message('42/nowhere,["x"]')  # a namespace we never connected: ignored
    driver.runtime.run_jobs()
    assert got == [("hello", 1, {"a": [2]}), ("*", "other", 3), ("chat message", "hi"),
                   ("chat any", "else")]


def test_the_servers_acks_are_answered_with_the_handlers_return_value() -> None:
    client, driver, ws = _connected()
    client.on("one", lambda x: x * 2)
    client.on("many", lambda: ("a", 1))
    client.on("none", lambda: None)
    client.on("silent", lambda: NO_ACK)
    ws.message('421["one",21]')
    ws.message('422["many"]')
    ws.message('423["none"]')
    ws.message('424["silent"]')
    ws.message('425["unhandled"]')
    driver.runtime.run_jobs()
    assert ws.take() == ["431[42]", '432["a",1]', "433[]"]


def test_disconnect_and_connect_error_handlers_may_leave_out_the_argument() -> None:
    client, driver, ws = _connected()
    seen: list[str] = []
    client.on("disconnect", lambda: seen.append("disconnect"))
    ws.message("41")
    driver.runtime.run_jobs()
    assert seen == ["disconnect"]


# -- events out ---------------------------------------------------------------------------------


def test_emit_forms_and_callbacks() -> None:
    client, driver, ws = _connected()
    answers: list[tuple[Any, ...]] = []
    client.emit("a", 1, 2)
    client.emit("b", data=(1, 2))  # python-socketio's tuple of arguments
    client.emit("c", (3, 4))
    client.emit("d", data={"x": 1})
    client.send("text")
    client.emit("e", callback=lambda *args: answers.append(args))
    client.emit("f", b"\x01")
    sent = ws.take()
    assert sent[:6] == ['42["a",1,2]', '42["b",1,2]', '42["c",3,4]', '42["d",{"x":1}]',
                        '42["message","text"]', '420["e"]']
    assert sent[6:] == ['451-["f",{"_placeholder":true,"num":0}]', b"\x01"]
    ws.message('430["x",1]')
    assert answers == []  # a callback runs as a handler
    driver.runtime.run_jobs()
    assert answers == [("x", 1)]


def test_reserved_event_names_are_refused() -> None:
    client, _, _ = _connected()
    with pytest.raises(ValueError):
        client.emit("connect")
    with pytest.raises(ValueError, match="not one this client connected"):
        client.emit("x", namespace="/other")


def test_call_returns_the_answer_at_once_without_a_handler_turn() -> None:
    # a blocking client's handler may call(): its answer must not wait for
    # the handler thread the caller is blocking
    client, driver, ws = _connected()
    one, several, none = client.call("q"), client.call("q"), client.call("q")
    assert ws.take() == ['420["q"]', '421["q"]', '422["q"]']
    ws.message("430[5]")
    ws.message('431["a",2]')
    ws.message("432[]")
    assert driver.runtime.jobs == []
    assert (one.value, several.value, none.value) == (5, ("a", 2), None)


def test_call_times_out() -> None:
    client, driver, ws = _connected()
    waiter = client.call("q", timeout=3)
    driver.runtime.advance(3.0)
    assert isinstance(waiter.error, AckTimeoutError)
    ws.message("430[1]")  # too late: ignored
    assert isinstance(waiter.error, AckTimeoutError)


def test_emits_wait_in_a_buffer_while_disconnected_volatile_ones_are_dropped() -> None:
    driver = FakeDriver()
    client = FakeClient(driver)
    client.connect(URL, transports=["websocket"], wait=False)
    client.emit("first", 1)
    client.emit("dropped", volatile=True)
    answer = client.call("second")
    ws = _session(driver)
    assert ws.take() == ["40"]
    ws.message('40{"sid":"a"}')
    assert ws.take() == ['42["first",1]', '420["second"]']
    client.emit("now", volatile=True)
    assert ws.take() == ['42["now"]']
    ws.message("430[1]")
    assert answer.value == 1


def test_a_lost_connection_fails_the_calls_that_went_out_not_the_buffered_ones() -> None:
    client, driver, ws = _connected(reconnection_delay=1)
    sent = client.call("q")
    callback: list[Any] = []
    client.emit("c", callback=lambda *a: callback.append(a))
    ws.drop("reset")
    assert isinstance(sent.error, DisconnectedError)
    buffered = client.call("later")
    driver.runtime.advance(1.0)
    ws2 = _session(driver)
    ws2.message("40")
    assert ws2.take() == ["40", '422["later"]']
    ws2.message("430[9]")  # the old ack id: forgotten with its connection
    ws2.message("432[7]")
    driver.runtime.run_jobs()
    assert buffered.value == 7 and callback == []


# -- recovery and reconnection ----------------------------------------------------------------


def test_recovery_sends_back_the_pid_and_last_offset_and_strips_offsets() -> None:
    driver = FakeDriver()
    client = FakeClient(driver, reconnection_delay=0.5)
    ticks = _record(client, "tick")
    client.connect(URL, auth={"token": "t"}, transports=["websocket"])
    ws = _session(driver)
    ws.message('40{"sid":"a","pid":"p1"}')
    assert not client.is_recovered()
    ws.message('42["tick",0,"off-0"]')
    ws.message('42["tick",1,"off-1"]')
    ws.message('421["tick",2]')  # an ack-asking emit carries no offset
    ws.drop("reset")
    driver.runtime.advance(0.5)
    ws2 = _session(driver)
    assert ws2.take() == ['40{"token":"t","pid":"p1","offset":"off-1"}']
    ws2.message('42["tick",3,"off-3"]')  # a replayed packet may come before CONNECT
    ws2.message('40{"sid":"a","pid":"p1"}')
    assert client.is_recovered()
    driver.runtime.run_jobs()
    assert [t[1] for t in ticks] == [0, 1, 2, 3]


def test_a_session_that_is_not_recovered_starts_again() -> None:
    driver = FakeDriver()
    client = FakeClient(driver, reconnection_delay=0.5)
    client.connect(URL, transports=["websocket"])
    ws = _session(driver)
    ws.message('40{"sid":"a","pid":"p1"}')
    ws.message('42["tick",0,"off-0"]')
    ws.drop(None)
    driver.runtime.advance(0.5)
    ws2 = _session(driver)
    ws2.message('40{"sid":"b","pid":"p2"}')
    assert not client.is_recovered() and client.sid == "b"
    ws2.drop(None)
    driver.runtime.advance(0.5)
    assert _session(driver).take() == ['40{"pid":"p2"}']


def test_reconnection_events_and_backoff() -> None:
    client, driver, ws = _connected(reconnection_delay=1, reconnection_delay_max=3,
                                    namespaces=("/", "/chat"))
    got = _record(client, "disconnect", "reconnect_attempt", "reconnect_error", "reconnect")
    chat = _record(client, "disconnect", "connect", namespace="/chat")
    ws.drop("reset")
    assert driver.runtime.pending() == [1.0]
    driver.runtime.advance(1.0)
    driver.sockets[-1].drop("connection refused")
    assert driver.runtime.pending() == [3.0]  # 2 s after the failure
    driver.runtime.advance(2.0)
    driver.sockets[-1].drop("connection refused")
    assert driver.runtime.pending() == [6.0]  # capped at 3 s
    driver.runtime.advance(3.0)
    ws2 = _session(driver)
    ws2.message("40")
    ws2.message("40/chat,")
    driver.runtime.run_jobs()
    names = [g[0] for g in got]
    assert names == ["disconnect", "reconnect_attempt", "reconnect_error", "reconnect_attempt",
                     "reconnect_error", "reconnect_attempt", "reconnect"]
    assert got[0] == ("disconnect", "transport error")
    assert [g[1] for g in got if g[0] == "reconnect_attempt"] == [1, 2, 3]
    assert got[-1] == ("reconnect", 3)
    assert chat == [("disconnect", "transport error"), ("connect",)]
    ws2.drop("reset")
    assert driver.runtime.pending() == [7.0]  # the count starts again after a success


def test_reconnection_gives_up_after_its_attempts() -> None:
    client, driver, ws = _connected(reconnection_delay=1, reconnection_attempts=2)
    got = _record(client, "reconnect_failed")
    finished = client.wait()
    ws.drop("reset")
    for _ in range(2):
        driver.runtime.advance(10)
        driver.sockets[-1].drop("connection refused")
    assert finished.done and len(driver.sockets) == 3
    driver.runtime.run_jobs()
    assert got == [("reconnect_failed",)]


def test_no_reconnection_when_turned_off() -> None:
    client, driver, ws = _connected(reconnection=False)
    ws.drop("reset")
    assert client.wait().done and driver.runtime.pending() == []


def test_the_server_disconnecting_the_last_namespace_ends_the_client() -> None:
    client, driver, ws = _connected(namespaces=("/", "/chat"))
    got = _record(client, "disconnect")
    chat = _record(client, "disconnect", namespace="/chat")
    ws.message("41/chat,")
    assert client.connected and not ws.closed
    ws.message("41")
    driver.runtime.advance(0)
    assert ws.closed and not client.connected and client.wait().done
    ws.gone()
    driver.runtime.run_jobs()
    assert got == [("disconnect", "io server disconnect")]
    assert chat == [("disconnect", "io server disconnect")]
    assert driver.runtime.pending() == []  # no reconnection after the server's word


def test_disconnect_leaves_every_namespace_and_closes() -> None:
    client, driver, ws = _connected(namespaces=("/", "/chat"))
    got = _record(client, "disconnect")
    pending = client.call("q")
    assert ws.take() == ['420["q"]']
    closed = client.disconnect()
    assert ws.take() == ["41", "41/chat,", "1"] and ws.closed
    assert not closed.done  # until the websocket is gone
    ws.gone()
    assert closed.done
    assert isinstance(pending.error, DisconnectedError)
    assert client.wait().done and not client.connected and client.sid is None
    driver.runtime.run_jobs()
    assert got == [("disconnect", "io client disconnect")]
    assert driver.runtime.pending() == []


def test_disconnect_returns_within_the_request_timeout_at_worst() -> None:
    client, driver, _ = _connected(request_timeout=3)
    closed = client.disconnect()
    driver.runtime.advance(2.9)
    assert not closed.done
    driver.runtime.advance(0.1)
    assert closed.done and driver.runtime.pending() == []


def test_disconnect_while_connecting_fails_the_connect() -> None:
    driver = FakeDriver()
    client = FakeClient(driver)
    waiter = client.connect(URL, transports=["websocket"])
    client.disconnect()
    assert isinstance(waiter.error, ClientConnectionError)
    assert driver.sockets[0].closed


def test_a_handler_registered_after_connecting_is_used() -> None:
    client, driver, ws = _connected()
    got = _record(client, "late")
    ws.message('42["late"]')
    driver.runtime.run_jobs()
    assert got == [("late",)]


def test_the_waiter_type_is_the_drivers() -> None:
    client, _, _ = _connected()
    assert isinstance(client.call("x"), FakeWaiter)


# -- the backoff itself -------------------------------------------------------------------------


def test_backoff_doubles_up_to_its_cap_and_randomizes_both_ways() -> None:
    plain = Backoff(delay=1, delay_max=5, randomization_factor=0)
    assert [plain.duration(n, 0.7) for n in range(5)] == [1, 2, 4, 5, 5]
    jittery = Backoff(delay=1, delay_max=100, randomization_factor=0.5)
    # engine.io-client's rule: the tenths digit of rand picks the direction
    assert jittery.duration(2, 0.25) == pytest.approx(4 - 0.5)   # floor(2.5) even: down
    assert jittery.duration(2, 0.35) == pytest.approx(4 + 0.7)   # floor(3.5) odd: up
    assert jittery.duration(200, 0.0) == 100  # no overflow on long outages


def test_reconnection_counts_tries_and_resets_on_success() -> None:
    tries = Reconnection(Backoff(1, 10, 0), attempts=2)
    assert tries.next_try(100.0, 0.0) == 101.0
    assert tries.next_try(200.0, 0.0) == 202.0
    assert tries.next_try(300.0, 0.0) is None
    tries.succeeded()
    assert tries.next_try(400.0, 0.0) == 401.0


def test_the_urls_query_goes_with_every_request_once_encoded() -> None:
    driver = FakeDriver()
    client = FakeClient(driver)
    client.connect(URL + "/?token=a%20b&empty=", transports=["websocket"])
    ws = driver.sockets[0]
    assert ws.query["token"] == "a b" and "%25" not in ws.url
    assert "empty=" in ws.url


def test_a_v4_server_gets_the_auth_in_the_query() -> None:
    driver = FakeDriver()
    client = FakeClient(driver, protocol=4)
    client.connect(URL, auth={"token": "a b"}, transports=["websocket"],
                   namespaces=["/", "/chat"])
    ws = driver.sockets[0]
    assert ws.query["EIO"] == "3" and ws.query["token"] == "a b"
    ws.open()
    ws.message(OPEN)
    assert ws.take() == ["40/chat?token=a+b,"]  # "/" is connected by the server itself
