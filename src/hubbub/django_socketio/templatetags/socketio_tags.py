"""``{% load socketio_tags %}{% socketio %}``: the page's client scripts."""

from __future__ import annotations

import os
from typing import Any

from django import template

from hubbub.django_socketio import settings

register = template.Library()


@register.inclusion_tag("socketio_scripts.html", takes_context=True)
def socketio(context: Any) -> dict[str, Any]:
    """Served by runserver_socketio itself (DJANGO_SOCKETIO_PORT is set in
    its process), the page loads the scripts from its own origin; rendered
    elsewhere (``runserver`` beside it), from SOCKETIO_PORT on the page's
    host, which ``new io.Socket()`` then defaults to."""
    served_here = "DJANGO_SOCKETIO_PORT" in os.environ
    port = int(os.environ.get("DJANGO_SOCKETIO_PORT", settings.PORT))
    origin = ""
    request = context.get("request")
    if not served_here and request is not None:
        origin = "//" + request.get_host().rsplit(":", 1)[0] + ":" + str(port)
    return {"DJANGO_SOCKETIO_PORT": port, "socketio_origin": origin, "served_here": served_here}
