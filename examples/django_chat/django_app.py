"""A Django project in one file that gets real-time the gevent-socketio way:
a view under /socket.io/ calls hubbub.socketio_manage.

    python examples/django_chat [--port 8001]
    gunicorn -k hubbub.runtime.gevent.worker.GeventWorker \
        --chdir examples/django_chat django_app:application
"""

from __future__ import annotations

from typing import Any

import django
from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path, re_path

import hubbub

settings.configure(
    DEBUG=False,
    SECRET_KEY="example-only-not-a-secret",
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
)
django.setup()

PAGE = """<!doctype html>
<title>Django chat</title>
<h1>Django chat on hubbub</h1>
<p>Connect a Socket.IO client to the <code>/chat</code> namespace.</p>
"""


class ChatNamespace(hubbub.Namespace):
    """One instance per client; ``self.request`` is the Django request of
    the view that opened the connection."""

    def on_join(self, room: str) -> list[str]:
        self.join(room)
        return sorted(r for r in self.rooms if r != self.sid)

    def on_message(self, room: str, text: str) -> str:
        user = self.request.GET.get("user", "anonymous")
        self.to(room).emit("message", {"user": user, "text": text})
        return "delivered"

    def on_whoami(self) -> dict[str, Any]:
        return {"user": self.request.GET.get("user"), "framework": "django"}


def index(request: HttpRequest) -> HttpResponse:
    return HttpResponse(PAGE)


def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"framework": "django", "hello": "world"})


def socketio(request: HttpRequest) -> HttpResponse:
    hubbub.socketio_manage(request.environ, {"/chat": ChatNamespace}, request)
    return HttpResponse()


urlpatterns = [
    path("", index),
    path("hello", hello),
    re_path(r"^socket\.io/", socketio),
]

application = get_wsgi_application()
