"""``path("", include("hubbub.django_socketio.urls"))``: the Socket.IO
resource, routed to the ``socketio`` view. Including it imports the
``events`` module of every installed app (where handlers are registered),
as django-socketio did; an app without one is skipped, an error inside one
is raised."""

from __future__ import annotations

import importlib
import importlib.util

from django.apps import apps
from django.urls import re_path

from hubbub.django_socketio.views import socketio


def _import_events() -> None:
    for config in apps.get_app_configs():
        name = config.name + ".events"
        try:
            found = importlib.util.find_spec(name) is not None
        except ModuleNotFoundError:
            found = False
        if found:
            importlib.import_module(name)


_import_events()

urlpatterns = [re_path(r"^socket\.io", socketio, name="socketio")]
