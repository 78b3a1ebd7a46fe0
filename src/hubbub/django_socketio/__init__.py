"""django-socketio on hubbub: change ``django_socketio`` to
``hubbub.django_socketio`` (in INSTALLED_APPS, the urls include and the
imports), and the app runs on Python 3 and current Django::

    # settings.py
    INSTALLED_APPS = [..., "hubbub.django_socketio"]

    # urls.py
    urlpatterns = [path("", include("hubbub.django_socketio.urls")), ...]

    # events.py of an app
    from hubbub.django_socketio import events

    @events.on_message(channel="^room-")
    def message(request, socket, context, message):
        socket.send_and_broadcast_channel(message)

    # a template
    {% load socketio_tags %}{% socketio %}

``python manage.py runserver_socketio`` serves the site and Socket.IO
(every generation, on gevent). docs/migrating-from-django-socketio.md lists
what differs.
"""

from hubbub.channels.utils import NoSocket, broadcast, broadcast_channel, send

__version__ = "0.3.9"

__all__ = ["NoSocket", "__version__", "broadcast", "broadcast_channel", "send"]
