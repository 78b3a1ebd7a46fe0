"""hubbub.tgext_socketio's pieces without a server: the pubsub settings, the
namespace table of a SocketIOController, the paste options and the error
payload. (The ported tgext tests in tests/frameworks/tgext_socketio and
tests/examples/test_turbogears.py run the rest with real TG apps and clients.)"""

from __future__ import annotations

import pytest
from tg.validation import TGValidationError

from hubbub.gevent_socketio.namespace import BaseNamespace
from hubbub.gevent_socketio.server import paste_options
from hubbub.tgext_socketio.controller import namespaces_of
from hubbub.tgext_socketio.namespace import error_payload
from hubbub.tgext_socketio.pubsub import channel_room, redis_url


def settings(**values: object) -> dict[str, object]:
    return {f"anypubsub.{k}": v for k, v in values.items()}


def test_redis_url_from_anypubsub_settings() -> None:
    assert redis_url({}) is None
    assert redis_url(settings(backend="memory")) is None
    assert redis_url(settings(backend="memory", url="redis://r:1/2")) is None
    assert redis_url(settings(url="redis://r:1/2")) == "redis://r:1/2"
    assert redis_url(settings(backend="redis", url="redis://r:1/2")) == "redis://r:1/2"
    # anypubsub's own Redis settings, as an existing config has them (ini strings)
    assert redis_url(settings(backend="redis")) == "redis://localhost:6379/0"
    assert redis_url(settings(backend="redis", host="redis://h:7/3")) == "redis://h:7/3"
    assert redis_url(
        settings(backend="redis", host="h", port="7000", db="2", password="p@ss")
    ) == "redis://:p%40ss@h:7000/2"
    with pytest.raises(ValueError, match="mongodb"):
        redis_url(settings(backend="mongodb"))


def test_channels_are_rooms_of_their_own() -> None:
    assert channel_room("room-1") == "tgext.pubsub:room-1"


class Chat(BaseNamespace):
    pass


class Admin(BaseNamespace):
    pass


def test_namespaces_are_the_namespace_classes_among_class_attributes() -> None:
    class Base:
        chat = Chat
        admin = Admin
        title = "not a namespace"

    class Derived(Base):
        admin = None  # no longer a namespace
        news = Chat

    assert namespaces_of(Base) == {"/chat": Chat, "/admin": Admin}
    assert namespaces_of(Derived) == {"/chat": Chat, "/news": Chat}


def test_paste_options_translate_ini_strings() -> None:
    options, rest = paste_options(
        {
            "transports": "websocket, xhr-polling",
            "policy_server": "false",
            "policy_listener_port": "10999",
            "heartbeat_interval": "5",
            "close_timeout": "30",
            "cors_allowed_origins": "https://a.example, https://b.example",
            "legacy": "true",
            "workers": "3",
        },
        "127.0.0.1",
    )
    assert options == {
        "transports": ["websocket", "xhr-polling"],
        "policy_server": False,
        "policy_listener": ("127.0.0.1", 10999),
        "heartbeat_interval": 5.0,
        "close_timeout": 30.0,
        "cors_allowed_origins": ["https://a.example", "https://b.example"],
        "legacy": True,
    }
    assert rest == {"workers": "3"}
    assert paste_options({"cors_allowed_origins": "*"}, "h")[0] == {"cors_allowed_origins": "*"}
    adapter = paste_options({"adapter": "memory://"}, "h")[0]["adapter"]
    assert adapter.__name__ == "InMemoryAdapter"
    assert paste_options({}, "h") == ({}, {})


def test_invalid_method_args_payload() -> None:
    fields = TGValidationError("attack: bad", error_dict={"attack": TGValidationError("bad")})
    assert error_payload(fields) == {"attack": "bad"}
    assert error_payload(TGValidationError("Invalid Type")) == "Invalid Type"
    assert error_payload(ValueError("plain")) == "plain"
