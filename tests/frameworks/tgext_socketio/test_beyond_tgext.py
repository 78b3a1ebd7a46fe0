"""What hubbub.tgext_socketio does where tgext.socketio fell short, with the
ported fixtures (WebTest, a detached socket whose sends are recorded):
a refused ``subscribe_<channel>`` (by @require or by @validate) subscribes
nobody (tgext went on to subscribe), and ``pubsub.publish`` from outside a
namespace reaches subscribers (tgext had no module-level publish)."""

from __future__ import annotations

import json
from typing import Any

from tg import predicates, require, validate
from tg.validation import TGValidationError

from hubbub.tgext_socketio.pubsub import PubSubTGNamespace, publish

from .utils import configure_app, create_app


class Digits:
    def to_python(self, value: Any, *args: Any, **kw: Any) -> Any:
        if not str(value).isdigit():
            raise TGValidationError("not a number")
        return int(value)


class Rooms(PubSubTGNamespace):
    @require(predicates.not_anonymous())
    def subscribe_private(self) -> str:
        return "private"

    @validate({"number": Digits()})
    def subscribe_room(self, number: int) -> str:
        return f"room-{number}"


def subscribe(app: Any, *args: Any) -> tuple[Any, Any]:
    body = json.dumps({"type": "event", "name": "subscribe", "endpoint": "", "args": list(args)})
    resp = app.request("/socketio/test", body=body.encode())
    return resp.req.environ["socketio"], resp.req.environ["socketio.namespace"]


def test_a_refused_subscription_subscribes_nobody() -> None:
    anonymous = create_app(configure_app(Rooms))
    sock, namespace = subscribe(anonymous, "private")
    sock.error.assert_called_once_with(
        "method_access_denied", 'You do not have access to method "subscribe_private"',
        msg_id=None, endpoint="/test", quiet=False,
    )
    assert namespace.jobs == []
    sock, namespace = subscribe(anonymous, "room", "x")
    sock.error.assert_called_once_with(
        "invalid_method_args", {"number": "not a number"}, msg_id=None, endpoint="/test",
        quiet=False,
    )
    assert namespace.jobs == []


def test_publish_from_outside_a_namespace_reaches_subscribers() -> None:
    app = create_app(configure_app(Rooms))
    sock, namespace = subscribe(app, "room", "7")  # validated: "7" -> 7 -> room-7
    assert sock.error.call_count == 0
    listener = namespace.jobs[0]
    listener.join(0)
    publish("room-7", {"from": "a controller", "values": (1, 2)})
    publish("room-8", "elsewhere")
    listener.join(0)
    # as JSON carries it: the tuple is a list
    sock.send_packet.assert_called_once_with(
        {"endpoint": "/test", "type": "event", "name": "pubblication",
         "args": ({"from": "a controller", "values": [1, 2]},)}
    )
