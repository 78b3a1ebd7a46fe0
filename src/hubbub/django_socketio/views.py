"""django-socketio's view: hubbub calls it once per Socket.IO connection
(through Django, so middleware and the session apply to ``request``), and it
runs the connection's events until the connection ends."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.views.decorators.csrf import csrf_exempt

from hubbub.channels.flow import serve
from hubbub.channels.protocol import for_environ
from hubbub.django_socketio.utils import format_log

__all__ = ["socketio"]


@csrf_exempt
def socketio(request: HttpRequest) -> HttpResponse:
    """The view ``hubbub.django_socketio.urls`` routes the Socket.IO resource
    to: serves the connection hubbub handed over until it closes (the app's
    events run meanwhile); 404 for a request that is not one."""
    socket = for_environ(request.environ, request)
    if socket is None:
        return HttpResponseNotFound("not a Socket.IO connection")
    serve(request, socket, format_log)
    return HttpResponse("")
