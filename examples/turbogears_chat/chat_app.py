"""tgext.socketio's chat example (its example/chat.py) on ``hubbub.tgext_socketio``.

A TurboGears 2.5 app written as tgext.socketio's example writes it: a
``PubSubTGNamespace`` whose ``subscribe_room`` turns ``subscribe('room', '1')``
into the channel ``room-1`` and whose ``on_user_message`` publishes on it;
every page subscribed gets each message as the event ``pubblication``. Only
the imports name ``hubbub.tgext_socketio`` where the original named
``tgext.socketio``; the page uses plain JavaScript instead of jQuery, and
serves socket.io-client 0.9.16 itself instead of loading it from a CDN.

Beyond the original, ``/announce?message=...`` publishes from a plain TG
controller with :func:`hubbub.tgext_socketio.pubsub.publish`.

The pubsub settings keep tgext's ``anypubsub.`` prefix: ``anypubsub.backend
= redis`` (and anypubsub's host, port, db, or ``anypubsub.url``) puts every
server of the chat, and :func:`publish` from any other process of the app,
on one Redis; ``memory`` is one process.
"""

from __future__ import annotations

import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from tg import FullStackApplicationConfigurator, TGController, expose, redirect
from tg.util import Bunch

from hubbub.tgext_socketio import SocketIOController
from hubbub.tgext_socketio.pubsub import PubSubTGNamespace, publish

HERE = Path(__file__).resolve().parent
# socket.io-client 0.9.16's browser build, from npm (see README.md): served at /socket.io.js
CLIENT_DIST = HERE / "node_modules" / "socket.io-client" / "dist"


class ChatNamespace(PubSubTGNamespace):
    def subscribe_room(self, roomid: str) -> str:
        self.session["uid"] = str(uuid.uuid4())
        self.session["channel"] = f"room-{roomid}"
        self.emit("userid", self.session["uid"])
        return str(self.session["channel"])

    def on_user_message(self, message: str) -> None:
        self.publish(self.session["channel"], {"uid": self.session["uid"], "message": message})


class SocketIO(SocketIOController):
    chat = ChatNamespace


PAGE = """<!DOCTYPE html>
<html>
<head>
    <meta charset="utf-8"><title>TurboGears chat on hubbub</title>
    <link rel="icon" href="data:,">
    <script src="/socket.io.js"></script>
    <script>
        var transport = new URLSearchParams(location.search).get('transport');
        if (transport) { io.transports = [transport]; }
        var socket = io.connect('/chat', {'resource': 'socketio'});
        var userid = null;

        window.addEventListener('beforeunload', function () { socket.disconnect(); });

        socket.on('connect', function () {
            socket.emit('subscribe', 'room', '1');
        });

        socket.on('pubblication', function (data) {
            var line = document.createElement('p');
            var text = document.createElement('em');
            text.textContent = data.message;
            line.appendChild(text);
            var lines = document.getElementById('lines');
            lines.appendChild(line);
            lines.scrollTop = 10000000;
        });

        socket.on('userid', function (myid) {
            userid = myid;
            document.getElementById('chat').className = 'subscribed';
        });

        window.addEventListener('DOMContentLoaded', function () {
            document.getElementById('send-message').addEventListener('submit', function (event) {
                event.preventDefault();
                var message = document.getElementById('message');
                socket.emit('user_message', message.value);
                message.value = '';
                message.focus();
            });
        });
    </script>
</head>
<body>
  <div id="chat">
    <div id="messages">
      <div id="lines"></div>
    </div>
    <form id="send-message">
      <input id="message">
      <button>Send</button>
    </form>
  </div>
</body>
</html>
"""


class RootController(TGController):
    socketio = SocketIO()

    @expose()
    def index(self) -> str:
        return PAGE

    @expose()
    def announce(self, message: str = "") -> None:
        """Publish on room 1 from a plain controller, then back to the chat."""
        publish("room-1", {"uid": "server", "message": message})
        redirect("/")


def make_app(global_conf: dict[str, Any] | None = None, **app_conf: Any) -> Any:
    """The WSGI app (``[app:main] use = call:chat_app:make_app``); the
    ``anypubsub.*`` settings come from ``app_conf`` (the ini's [app:main])."""
    config = FullStackApplicationConfigurator()
    config.update_blueprint(
        {
            "root_controller": RootController(),
            # an app in one module: no package for TG to find these in
            "app_globals": Bunch,
            "helpers": SimpleNamespace(),
            "renderers": ["json"],
            "default_renderer": "json",
            "tm.enabled": False,
            "paths": {"static_files": str(CLIENT_DIST)},
        }
    )
    return config.make_wsgi_app(global_conf or {}, app_conf)
