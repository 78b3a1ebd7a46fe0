"""The gevent runtime's pieces without a network: handler checks at
registration, waiters, timers, thread hand-over, views, paste options and
the WSGI request conversion. (Real clients over real sockets: the
conformance, interop and examples suites run on gevent too.)"""

from __future__ import annotations

import contextvars
import io
import threading
from typing import Any

import gevent
import gevent.event
import pytest

import hubbub
from hubbub.runtime.gevent.core import GeventRuntime, GeventWaiter
from hubbub.runtime.gevent.paste import as_bool, engine_transports, server_options
from hubbub.runtime.gevent.wsgi import WSGIApp, request_from_environ


def test_async_handlers_are_refused_at_registration_under_gevent() -> None:
    sio = hubbub.Server()
    WSGIApp(sio)

    async def coro_handler(socket: hubbub.Socket) -> None: ...

    with pytest.raises(TypeError, match=r"`async def` handler.*gevent.*plain `def`"):
        sio.on("x", coro_handler)
    with pytest.raises(TypeError, match="async def"):
        sio.of("/other").on("connect", coro_handler)
    with pytest.raises(TypeError, match="async def"):
        sio.use(coro_handler)

    class AsyncNs(hubbub.Namespace):
        async def on_hello(self) -> None: ...

    with pytest.raises(TypeError, match=r"AsyncNs\.on_hello"):
        sio.register("/ns", AsyncNs)

    class Callable:
        async def __call__(self, socket: hubbub.Socket) -> None: ...

    with pytest.raises(TypeError, match="async def"):
        sio.on("y", Callable())

    def plain(socket: hubbub.Socket) -> str:
        return "fine"

    assert sio.on("z", plain) is plain


def test_async_handlers_registered_before_the_runtime_are_refused_when_it_attaches() -> None:
    sio = hubbub.Server()

    @sio.on("early")
    async def early(socket: hubbub.Socket) -> None: ...

    with pytest.raises(TypeError, match="early"):
        WSGIApp(sio)


def test_the_same_server_cannot_run_on_both_runtimes() -> None:
    import asyncio

    from hubbub.runtime.asyncio.core import AsyncioRuntime

    sio = hubbub.Server()
    WSGIApp(sio)
    loop = asyncio.new_event_loop()
    try:
        with pytest.raises(RuntimeError, match="already runs on gevent"):
            sio.endpoint.attach(AsyncioRuntime(loop))
    finally:
        loop.close()


def test_waiter_resolves_rejects_and_times_out() -> None:
    waiter = GeventWaiter()
    gevent.spawn_later(0.01, waiter.resolve, 42)
    assert waiter.wait(1) == 42
    assert waiter.done
    waiter.resolve(43)  # a second answer is ignored
    assert waiter.wait() == 42

    failing = GeventWaiter()
    gevent.spawn_later(0.01, failing.reject, hubbub.AckTimeoutError("late"))
    with pytest.raises(hubbub.AckTimeoutError, match="late"):
        failing.wait(1)

    with pytest.raises(TimeoutError):
        GeventWaiter().wait(0.01)


def test_call_later_runs_in_a_greenlet_and_can_be_cancelled() -> None:
    runtime = GeventRuntime()
    ran: list[str] = []

    def blocking_callback() -> None:
        gevent.sleep(0.01)  # allowed: a greenlet, not a hub callback
        ran.append("late")

    runtime.call_later(0.01, blocking_callback)
    cancelled = runtime.call_later(0.01, lambda: ran.append("cancelled"))
    cancelled.cancel()
    gevent.sleep(0.1)
    assert ran == ["late"]


def test_call_soon_threadsafe_hands_work_to_the_hub_from_another_thread() -> None:
    runtime = GeventRuntime()
    got: list[str] = []
    thread = threading.Thread(
        target=runtime.call_soon_threadsafe, args=(lambda: got.append("from thread"),)
    )
    thread.start()
    thread.join()
    with gevent.Timeout(2):
        while not got:
            gevent.sleep(0.01)
    assert got == ["from thread"]


def test_spawn_logs_a_failing_handler_and_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    runtime = GeventRuntime()

    def broken() -> None:
        raise ValueError("boom")

    runtime.spawn(broken)
    gevent.sleep(0.01)
    assert any("broken" in r.getMessage() and r.exc_info for r in caplog.records)


def test_handler_greenlets_are_reused_each_job_in_a_fresh_context() -> None:
    """A finished handler's greenlet runs the next handler: a job sees no
    context variable an earlier job set, a blocking job holds up no other,
    and a job that ends its greenlet (GreenletExit) ends only that one."""
    runtime = GeventRuntime()
    var: contextvars.ContextVar[str] = contextvars.ContextVar("var")
    ran: list[tuple[int, str]] = []

    def job(name: str) -> None:
        ran.append((id(gevent.getcurrent()), var.get("unset")))
        var.set(name)

    runtime.spawn(job, "first")
    gevent.sleep(0.01)
    runtime.spawn(job, "second")
    gevent.sleep(0.01)
    assert [seen for _, seen in ran] == ["unset", "unset"]
    assert ran[0][0] == ran[1][0]  # the same greenlet ran both

    blocker = gevent.event.Event()
    done: list[str] = []
    runtime.spawn(lambda: (blocker.wait(5), done.append("blocked")))
    runtime.spawn(lambda: done.append("free"))
    gevent.sleep(0.01)
    assert done == ["free"]
    blocker.set()
    gevent.sleep(0.01)
    assert done == ["free", "blocked"]

    def ends_its_greenlet() -> None:
        raise gevent.GreenletExit

    runtime.spawn(ends_its_greenlet)
    gevent.sleep(0.01)
    runtime.spawn(done.append, "after")
    gevent.sleep(0.01)
    assert done[-1] == "after"
    assert all(not g.dead for g in runtime.handlers.idle)


def test_a_handler_spawned_from_another_thread_runs_in_that_thread(
    capfd: pytest.CaptureFixture[str],
) -> None:
    """Kept handler greenlets belong to the runtime's hub: a spawn from
    another thread gets a greenlet of that thread's hub, as gevent.spawn
    gives (a kept one would fail to switch across threads)."""
    runtime = GeventRuntime()
    runtime.spawn(lambda: None)
    gevent.sleep(0.01)  # one kept greenlet of this thread's hub
    ran: list[int] = []

    def other() -> None:
        runtime.spawn(lambda: ran.append(threading.get_ident()))
        gevent.sleep(0.01)

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(5)
    assert ran == [thread.ident]
    assert "Cannot switch" not in capfd.readouterr().err


def test_socketio_manage_outside_a_routed_view_says_how_to_serve() -> None:
    with pytest.raises(RuntimeError, match="WSGIApp"):
        hubbub.socketio_manage({}, {"/chat": hubbub.Namespace})


def test_views_mode_is_the_default_only_without_a_server() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        return []

    assert WSGIApp(None, app).socketio_views
    assert WSGIApp(None, app, resource="/io/").endpoint.path == "/io/"
    assert not WSGIApp(hubbub.Server(), app).socketio_views
    assert WSGIApp(hubbub.Server(), app, socketio_views=True).socketio_views
    with pytest.raises(TypeError, match="server options"):
        WSGIApp(hubbub.Server(), app, ping_interval=5)


def call_wsgi(app: Any, path: str, query: str = "", body: bytes = b"") -> tuple[str, bytes]:
    status: list[str] = []
    env = {"REQUEST_METHOD": "POST" if body else "GET", "PATH_INFO": path, "QUERY_STRING": query,
           "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
    out = b"".join(app(env, lambda s, headers, exc_info=None: status.append(s)))
    return status[0], out


def test_views_mode_gives_the_app_what_is_no_socketio_request_under_the_resource() -> None:
    seen: list[tuple[str, bytes]] = []

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        seen.append((environ["PATH_INFO"], environ["wsgi.input"].read()))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"a page"]

    views = WSGIApp(None, app, resource="socketio", legacy=True)
    # a page of the controller mounted at the resource, its body unread by hubbub
    assert call_wsgi(views, "/socketio/page", body=b"form=1") == ("200 OK", b"a page")
    assert call_wsgi(views, "/socketio") == ("200 OK", b"a page")
    assert seen == [("/socketio/page", b"form=1"), ("/socketio", b"")]
    # Engine.IO's requests (any EIO=) and 0.9's URLs stay hubbub's
    status, body = call_wsgi(views, "/socketio/", "EIO=9&transport=polling")
    assert status.startswith("400") and b"Unsupported protocol version" in body
    status, body = call_wsgi(views, "/socketio/1/")
    assert status == "200 OK" and body.count(b":") == 3  # sid:heartbeat:close:transports
    assert len(seen) == 2
    # without views mode, the whole path is Socket.IO's, as in Node
    plain = WSGIApp(hubbub.Server(path="/socketio/"), app)
    status, body = call_wsgi(plain, "/socketio/page")
    assert status.startswith("400") and b"Unsupported protocol version" in body
    assert len(seen) == 2


def test_paste_options_map_to_engineio_options() -> None:
    assert engine_transports("websocket, xhr-polling") == ("websocket", "polling")
    assert engine_transports("xhr-polling jsonp-polling htmlfile") == ("polling",)
    with pytest.raises(ValueError, match="carrier-pigeon"):
        engine_transports("websocket,carrier-pigeon")
    assert server_options({"heartbeat_interval": "25", "heartbeat_timeout": "20"}) == {
        "ping_interval": 25.0,
        "ping_timeout": 20.0,
    }
    assert as_bool("True") and as_bool("yes") and not as_bool("false") and not as_bool("0")


def environ(**extra: Any) -> dict[str, Any]:
    base = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/socket.io/",
        "QUERY_STRING": "EIO=4&transport=polling",
        "HTTP_ORIGIN": "http://a.example",
        "HTTP_X_FORWARDED_FOR": "1.2.3.4",
        "CONTENT_TYPE": "text/plain",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "https",
    }
    base.update(extra)
    return base


def test_request_from_environ() -> None:
    env = environ(CONTENT_LENGTH="5", **{"wsgi.input": io.BytesIO(b"hello, and more")})
    req = request_from_environ(env, 100)
    assert (req.method, req.path, req.query["transport"]) == ("POST", "/socket.io/", "polling")
    assert req.headers["origin"] == "http://a.example"
    assert req.headers["x-forwarded-for"] == "1.2.3.4"
    assert req.headers["content-type"] == "text/plain"
    assert req.body == b"hello" and not req.body_too_large
    assert req.secure and req.remote_addr == "127.0.0.1"
    assert req.native is env


def test_request_body_over_the_limit_is_flagged_not_read() -> None:
    declared = request_from_environ(
        environ(CONTENT_LENGTH="500", **{"wsgi.input": io.BytesIO(b"x" * 500)}), 100
    )
    assert declared.body_too_large and declared.body == b""
    chunked = request_from_environ(environ(**{"wsgi.input": io.BytesIO(b"x" * 500)}), 100)
    assert chunked.body_too_large and chunked.body == b""
    small = request_from_environ(environ(**{"wsgi.input": io.BytesIO(b"x" * 50)}), 100)
    assert small.body == b"x" * 50 and not small.body_too_large
