"""A Flask app that gets real-time the gevent-socketio way: a view under
/socket.io/ calls hubbub.socketio_manage.

    python examples/flask_chat [--port 5000]
    gunicorn -k hubbub.runtime.gevent.worker.GeventWorker --chdir examples/flask_chat flask_app:app
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, jsonify, render_template_string, request

import hubbub

app = Flask(__name__)

PAGE = """<!doctype html>
<title>Flask chat</title>
<h1>Flask chat on hubbub</h1>
<p>Connect a Socket.IO client to the <code>/chat</code> namespace.</p>
"""


class ChatNamespace(hubbub.Namespace):
    """One instance per client; ``self.request`` is the Flask request of
    the view that opened the connection."""

    def on_join(self, room: str) -> list[str]:
        self.join(room)
        return sorted(r for r in self.rooms if r != self.sid)

    def on_message(self, room: str, text: str) -> str:
        user = self.request.args.get("user", "anonymous")
        self.to(room).emit("message", {"user": user, "text": text})
        return "delivered"

    def on_whoami(self) -> dict[str, Any]:
        return {"user": self.request.args.get("user"), "framework": "flask"}


@app.route("/")
def index() -> str:
    return render_template_string(PAGE)


@app.route("/hello")
def hello() -> Response:
    return jsonify(framework="flask", hello="world")


@app.route("/socket.io/", defaults={"remaining": ""})
@app.route("/socket.io/<path:remaining>")
def socketio(remaining: str) -> Response:
    # the real request object, not Flask's context-local proxy: the
    # namespace's handlers run in greenlets of their own
    hubbub.socketio_manage(
        request.environ, {"/chat": ChatNamespace}, request._get_current_object()  # type: ignore[attr-defined]
    )
    return Response()
