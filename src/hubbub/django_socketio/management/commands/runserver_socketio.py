"""``python manage.py runserver_socketio [addrport]``: the site and its
Socket.IO (0.6, 0.9 and 2.x-4.x clients) on one port, on gevent, restarting
when the code changes (``--noreload`` not to).

The address defaults to SOCKETIO_HOST:SOCKETIO_PORT. The port is put in
DJANGO_SOCKETIO_PORT for the ``{% socketio %}`` tag. Static files are served
as by ``runserver`` when DEBUG is on. hubbub.Server options come from
SOCKETIO_SERVER_OPTIONS (``{"cors_allowed_origins": [...]}``, an
``adapter``, ...). When the server stops (Ctrl-C, a reload) every open
connection gets its ``on_unsubscribe`` and ``on_finish``.
"""

from __future__ import annotations

import atexit
import os
import re
import sys
import threading
from typing import Any

from django.conf import settings as django_settings
from django.core.management.base import BaseCommand, CommandError
from django.core.management.commands.runserver import naiveip_re
from django.utils import autoreload

from hubbub.django_socketio import settings

# how long open connections get to run their on_finish when the server stops
FINISH_TIMEOUT = 5.0


class Command(BaseCommand):
    help = "Serves the site and Socket.IO (hubbub, gevent) on one port."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("addrport", nargs="?", help="[host:]port to listen on")
        parser.add_argument(
            "--noreload", action="store_false", dest="use_reloader",
            help="do not restart when the code changes",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        host, port = self.address(options.get("addrport"))
        os.environ["DJANGO_SOCKETIO_PORT"] = str(port)
        if options.get("use_reloader", True):
            autoreload.run_with_reloader(self.inner_run, host, port, in_main_thread=False)
        else:
            self.inner_run(host, port, in_main_thread=True)

    def address(self, addrport: str | None) -> tuple[str, int]:
        if not addrport:
            return str(settings.HOST), int(settings.PORT)
        m = re.match(naiveip_re, addrport)
        if m is None:
            raise CommandError(f'"{addrport}" is not a valid port number or address:port pair.')
        addr, _ipv4, _ipv6, _fqdn, port = m.groups()
        if not port.isdigit():
            raise CommandError(f"{port!r} is not a valid port number.")
        if addr and addr.startswith("["):
            addr = addr[1:-1]
        return addr or str(settings.HOST), int(port)

    def inner_run(self, host: str, port: int, in_main_thread: bool) -> None:
        from django.core.handlers.wsgi import WSGIHandler

        from hubbub.channels.clients import client_end_all, wait_for_clients
        from hubbub.runtime.gevent.server import serve

        autoreload.raise_last_exception()
        application: Any = WSGIHandler()
        if django_settings.DEBUG and "django.contrib.staticfiles" in django_settings.INSTALLED_APPS:
            from django.contrib.staticfiles.handlers import StaticFilesHandler

            application = StaticFilesHandler(application)
        stopped = threading.Event()

        def started(server: Any) -> None:
            self.stdout.write(f"SocketIOServer running on {host}:{server.server_port}")
            sys.stdout.flush()
            if not in_main_thread:
                # the reloader's main thread ends the process (a reload,
                # Ctrl-C): the connections finish first
                def stop_first() -> None:
                    server.hubbub_stop()
                    stopped.wait(FINISH_TIMEOUT + 2)

                atexit.register(stop_first)

        def finish() -> None:
            # the views of the closed connections run on_disconnect and
            # on_finish; those still running after the timeout are ended here
            self.stdout.write("Stopping: ending the open connections ...")
            wait_for_clients(FINISH_TIMEOUT)
            client_end_all()
            stopped.set()

        serve(application, host, port, on_start=started, on_stop=finish,
              signals=in_main_thread, **dict(settings.SERVER_OPTIONS))
