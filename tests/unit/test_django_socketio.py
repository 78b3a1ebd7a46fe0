"""django-socketio's own test (its tests.py), ported to Python 3 and the
``hubbub.django_socketio`` import: the view runs a connection's events in
order on a socket object that stands in for gevent-socketio's (a scripted
connection: one message, then gone), and answers 200.

What it pins down: ``on_connect`` runs first and what it puts in
``context`` is seen by later events; channel patterns select the
``on_message`` / ``on_disconnect`` / ``on_finish`` handlers; ``on_error``
does not run on a clean connection; the URL is named "socketio".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import django
import pytest
from django.conf import settings

if not settings.configured:
    settings.configure(
        DEBUG=False,
        SECRET_KEY="test",
        ALLOWED_HOSTS=["*"],
        INSTALLED_APPS=["hubbub.django_socketio"],
        ROOT_URLCONF=__name__,
        DATABASES={},
        TEMPLATES=[{"BACKEND": "django.template.backends.django.DjangoTemplates",
                    "APP_DIRS": True}],
        SOCKETIO_MESSAGE_LOG_FORMAT="%(REMOTE_ADDR)s %(TYPE)s %(MESSAGE)s",
    )
    django.setup()

from django.test import Client
from django.urls import include, path, reverse

from hubbub.django_socketio import events

urlpatterns = [path("", include("hubbub.django_socketio.urls"))]


@pytest.fixture(autouse=True)
def own_handlers() -> Iterator[None]:
    """The test strips every event down to its own handlers: put them back."""
    all_events = [getattr(events, n) for n in dir(events)
                  if isinstance(getattr(events, n), events.Event)]
    saved = [list(e.handlers) for e in all_events]
    try:
        yield
    finally:
        for e, handlers in zip(all_events, saved, strict=True):
            e.handlers = handlers


class Anything:
    """Any attribute is another Anything (kept, so it compares equal to
    itself), and calling one does nothing: ``session.session_id`` and
    ``handler.server.log.write(...)``."""

    def __init__(self) -> None:
        self._attrs: dict[str, Anything] = {}

    def __getattr__(self, name: str) -> Anything:
        if name.startswith("__"):
            raise AttributeError(name)
        return self._attrs.setdefault(name, Anything())

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return None


class ScriptedSocket(Anything):
    """gevent-socketio 0.2.1's socket for one connection: connected, sends
    "test", then is gone."""

    def __init__(self) -> None:
        super().__init__()
        self._sent = False
        self.log: list[str] = []
        self.handler.server.log.write = self.log.append  # type: ignore[method-assign]

    def on_connect(self) -> bool:
        return True

    def recv(self) -> list[str]:
        if self._sent:
            return []
        self._sent = True
        return ["test"]

    def connected(self) -> bool:
        return not self._sent


def test_signals_and_response() -> None:
    event_names = ["connect", "message", "invalid_channel", "disconnect", "finish", "error"]

    @events.on_connect
    def test_connect(request: Any, socket: Any, context: dict[str, Any]) -> None:
        # only this test's handlers
        for name in dir(events):
            event = getattr(events, name)
            if isinstance(event, events.Event):
                event.handlers = [h for h in event.handlers if h[0].__name__.startswith("test_")]
        socket.channels.append("test")
        event_names.remove("connect")
        context["test1"] = 1
        context["test2"] = 2

    @events.on_message(channel="test")
    def test_message(request: Any, socket: Any, context: dict[str, Any], message: Any) -> None:
        del context["test1"]
        event_names.remove("message")

    @events.on_message(channel="invalid_channel")
    def test_invalid_channel_message(
        request: Any, socket: Any, context: dict[str, Any], message: Any
    ) -> None:
        event_names.remove("invalid_channel")

    @events.on_disconnect(channel="test")
    def test_disconnect(request: Any, socket: Any, context: dict[str, Any]) -> None:
        event_names.remove("disconnect")

    @events.on_finish(channel="test")
    def test_finish(request: Any, socket: Any, context: dict[str, Any]) -> None:
        event_names.remove("finish")
        assert len(context) == 1
        assert "test2" in context

    @events.on_error(channel="test")
    def test_error(request: Any, socket: Any, context: dict[str, Any], exception: Any) -> None:
        event_names.remove("error")

    socket = ScriptedSocket()
    response = Client(socketio=socket).get(reverse("socketio"))
    assert response.status_code == 200
    assert sorted(event_names) == ["error", "invalid_channel"]
    # the message log: one line for the message, formatted from request.META
    assert socket.log == ["127.0.0.1 message test\n"]


def test_the_socketio_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    from django.template import Context, Template
    from django.test import RequestFactory

    page = Template("{% load socketio_tags %}{% socketio %}")
    request = RequestFactory().get("/", HTTP_HOST="example.com:8000")
    # served by runserver_socketio itself: the scripts from the page's origin
    monkeypatch.setenv("DJANGO_SOCKETIO_PORT", "9000")
    html = page.render(Context({"request": request}))
    assert '<script src="/socket.io/socket.io.js"></script>' in html
    assert '<script src="/socket.io/channels.js"></script>' in html
    assert "options.port" not in html
    # rendered by another server: from SOCKETIO_PORT (9000 by default) on
    # the page's host, which new io.Socket() then defaults to
    monkeypatch.delenv("DJANGO_SOCKETIO_PORT")
    html = page.render(Context({"request": request}))
    assert '<script src="//example.com:9000/socket.io/socket.io.js"></script>' in html
    assert '<script src="//example.com:9000/socket.io/channels.js"></script>' in html
    assert "if (options.port === undefined) options.port = 9000;" in html
