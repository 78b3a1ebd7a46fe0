"""tgext.socketio's README example, PingPong, on ``hubbub.tgext_socketio``.

A TurboGears 2.5 app written as tgext.socketio's README writes it: a
``SocketIOTGNamespace`` whose ``on_ping`` is guarded by ``@require`` and
``@validate``, served by a ``SocketIOController`` mounted at ``/socketio``
that also has the README's page with its four buttons. Only the imports name
``hubbub.tgext_socketio`` where the README named ``tgext.socketio``; the page
uses plain JavaScript instead of jQuery, and serves socket.io-client 0.9.16
itself instead of loading it from a CDN.

``on_ping`` needs a logged-in user: /login takes any name (and any password;
this is a demo). Anonymous pages get 'method_access_denied'.
"""

from __future__ import annotations

import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import tg
from tg import (
    FullStackApplicationConfigurator,
    TGController,
    expose,
    predicates,
    redirect,
    require,
    validate,
)
from tg.configuration.auth import TGAuthMetadata
from tg.util import Bunch
from tg.validation import TGValidationError

from hubbub.tgext_socketio import SocketIOController, SocketIOTGNamespace

HERE = Path(__file__).resolve().parent
# socket.io-client 0.9.16's browser build, from npm (see README.md): served at /socket.io.js
CLIENT_DIST = HERE / "node_modules" / "socket.io-client" / "dist"


class NoFireBallValidator:
    def to_python(self, value: Any, *args: Any, **kw: Any) -> Any:
        type_ = value["type"]
        if type_ == "auto":
            return {"type": random.choice(["ping", "fireball"])}
        elif type_ == "error":
            raise TGValidationError("Got an error!")
        return value


class PingPong(SocketIOTGNamespace):
    @require(predicates.not_anonymous())
    @validate({"attack": NoFireBallValidator()})
    def on_ping(self, attack: Any) -> None:
        if attack["type"] == "fireball":
            for _ in range(10):
                self.emit("pong", {"sound": "bang!"})
        else:
            self.emit("pong", {"sound": "pong"})

    def on_whoami(self) -> Any:
        """Who opened this connection, read from ``tg.request`` as a
        controller would (the page shows it)."""
        identity = tg.request.identity
        return identity["repoze.who.userid"] if identity else None


PAGE = """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>PingPong on hubbub</title><link rel="icon" href="data:,"></head>
<body>
    <p id="user">%(user)s</p>
    <div>
        <a class="ping" href="#" data-attack="ping">Ping</a>
        <a class="ping" href="#" data-attack="fireball">Fireball</a>
        <a class="ping" href="#" data-attack="auto">Auto</a>
        <a class="ping" href="#" data-attack="error">Error</a>
    </div>
    <div id="result"></div>
    <script src="/socket.io.js"></script>
    <script>
    var transport = new URLSearchParams(location.search).get('transport');
    if (transport) { io.transports = [transport]; }
    var socket = io.connect('/pingpong', {'resource': 'socketio'});
    socket.on('connect', function () {
        socket.emit('whoami', function (user) {
            document.getElementById('user').dataset.whoami = String(user);
        });
    });
    socket.on('pong', function (data) {
        document.getElementById('result').insertAdjacentHTML('beforeend', data.sound + '<br/>');
    });
    socket.on('error', function (error, info) {
        if (error == 'method_access_denied') { alert(info); }
        else { console.log(info); alert(error); }
    });
    document.querySelectorAll('.ping').forEach(function (link) {
        link.addEventListener('click', function (event) {
            event.preventDefault();
            socket.emit('ping', {'type': link.dataset.attack});
        });
    });
    </script>
</body>
</html>
"""

LOGIN = """<!DOCTYPE html>
<html>
<head><meta charset="utf-8"><title>Log in</title><link rel="icon" href="data:,"></head>
<body>
    <form action="/login_handler" method="POST">
        <input name="login" placeholder="any name">
        <input name="password" type="password" placeholder="any password">
        <button>Log in</button>
    </form>
</body>
</html>
"""


class SocketIO(SocketIOController):
    pingpong = PingPong

    @expose()
    def index(self) -> None:
        redirect("/socketio/page")

    @expose()
    def page(self, **kw: Any) -> str:
        identity = tg.request.identity
        user = f"logged in as {identity['repoze.who.userid']}" if identity else "anonymous"
        return PAGE % {"user": user}


class RootController(TGController):
    socketio = SocketIO()

    @expose()
    def index(self) -> None:
        redirect("/socketio/page")

    @expose()
    def login(self, **kw: Any) -> str:
        return LOGIN


class AnyNameAuth(TGAuthMetadata):
    """Whoever gives a name is that user (a demo: no password is checked)."""

    def authenticate(self, environ: Any, identity: Any) -> Any:
        return identity.get("login") or None

    def get_user(self, identity: Any, userid: Any) -> Any:
        return {"name": userid}

    def get_groups(self, identity: Any, userid: Any) -> list[str]:
        return []

    def get_permissions(self, identity: Any, userid: Any) -> list[str]:
        return []


def make_app(global_conf: dict[str, Any] | None = None, **app_conf: Any) -> Any:
    """The WSGI app (``[app:main] use = call:pingpong_app:make_app``)."""
    config = FullStackApplicationConfigurator()
    config.update_blueprint(
        {
            "root_controller": RootController(),
            # an app in one module: no package for TG to find these in
            "app_globals": Bunch,
            "helpers": SimpleNamespace(),
            "renderers": ["json"],
            "default_renderer": "json",
            "paths": {"static_files": str(CLIENT_DIST)},
            "tm.enabled": False,
            "sa_auth.enabled": True,
            "sa_auth.authmetadata": AnyNameAuth(),
            "sa_auth.cookie_secret": "pingpong-demo-secret",
            "sa_auth.post_login_url": "/socketio/page",
            "sa_auth.post_logout_url": "/socketio/page",
        }
    )
    return config.make_wsgi_app(global_conf or {}, app_conf)
