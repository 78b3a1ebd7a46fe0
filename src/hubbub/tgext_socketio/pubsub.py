"""``PubSubTGNamespace``: tgext.socketio's channels, on hubbub's rooms.

A client emits ``subscribe`` with a channel name (and arguments);
``subscribe_<channel>`` (spaces made underscores) decides: False refuses, a
string is the channel to join instead (a sub-channel), anything else falsy
joins the channel asked for; ``@require`` and ``@validate`` apply to it.
Every message published on a joined channel reaches the client as the event
``pubblication`` (tgext's spelling, which its clients listen for), its one
argument the message as JSON carries it.

A channel is the hubbub room ``tgext.pubsub:<channel>`` in the namespace of
each PubSubTGNamespace class, and a publication an emit to that room through
hubbub's adapter: the memory adapter reaches this process's clients, the
Redis adapter every server of the cluster. So publications come from:

- a namespace: ``self.publish(channel, message)``;
- any TG controller of the process: :func:`publish`;
- another process: :func:`publish` too when the app's settings name a Redis
  URL (it then goes through :class:`hubbub.Emitter`), or any Socket.IO Redis
  emitter, Node's included:
  ``Emitter(url).of("/chat").to("tgext.pubsub:room-1").emit("pubblication", message)``.

Settings keep tgext's ``anypubsub.`` prefix (see :func:`redis_url`): an app's
``anypubsub.backend = redis`` with anypubsub's ``host``/``port``/``db``/
``password`` (or ``anypubsub.url = redis://...``) gives the servers run by
``egg:hubbub#tgext`` the Redis adapter, and :func:`publish` its way in from
other processes. ``memory``, or no setting, is one process.
"""

from __future__ import annotations

import json
import logging
import threading
import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import tg

from hubbub.gevent_socketio.server import running_servers
from hubbub.runtime.gevent.greenlets import Queue
from hubbub.tgext_socketio.namespace import REFUSED, SocketIOTGNamespace

if TYPE_CHECKING:
    from hubbub.adapters.redis.emitter import Emitter
    from hubbub.socketio.server import Server

__all__ = ["EVENT", "ROOM_PREFIX", "PubSub", "PubSubTGNamespace", "publish", "redis_url"]

log = logging.getLogger("hubbub.tgext_socketio")

EVENT = "pubblication"
ROOM_PREFIX = "tgext.pubsub:"
SETTINGS_PREFIX = "anypubsub."


def channel_room(channel: str) -> str:
    """The hubbub room of a channel (apart from socket ids and the rooms an
    app's namespaces join)."""
    return ROOM_PREFIX + channel


def redis_url(settings: Mapping[str, Any]) -> str | None:
    """The Redis URL of the ``anypubsub.*`` settings; None for one process.

    ``anypubsub.backend``: ``memory`` (or unset) is one process; ``redis``
    takes ``anypubsub.url``, or anypubsub's own ``host`` (a ``redis://``
    URL or a host name), ``port``, ``db`` and ``password``. A URL without a
    backend is Redis too. Other anypubsub backends (mongodb, amqp) are
    refused with a ValueError: publications go through hubbub's adapter.
    """
    backend = settings.get(SETTINGS_PREFIX + "backend")
    url = settings.get(SETTINGS_PREFIX + "url")
    if backend in (None, "", "redis") and url:
        return str(url)
    if backend in (None, "", "memory"):
        return None
    if backend != "redis":
        raise ValueError(
            f"{SETTINGS_PREFIX}backend = {backend}: hubbub.tgext_socketio publishes through "
            "hubbub's adapter; use memory (one process) or redis"
        )
    host = str(settings.get(SETTINGS_PREFIX + "host", "localhost"))
    if host.startswith(("redis://", "rediss://")):
        return host
    password = settings.get(SETTINGS_PREFIX + "password")
    auth = f":{quote(str(password), safe='')}@" if password else ""
    port = int(settings.get(SETTINGS_PREFIX + "port", 6379))
    db = int(settings.get(SETTINGS_PREFIX + "db", 0))
    return f"redis://{auth}{host}:{port}/{db}"


# -- where publications go -----------------------------------------------------------

# hubbub Servers that routed connections to a SocketIOController (besides
# this process's SocketIOServers), and the namespaces PubSubTGNamespace
# classes serve (SocketIOControllers register theirs when made)
_servers: weakref.WeakSet[Server] = weakref.WeakSet()
_namespaces: set[str] = set()


def serve_from(server: Server) -> None:
    """Publications reach the clients of ``server`` (a connection of it was
    routed to a SocketIOController)."""
    _servers.add(server)


def register_namespaces(namespaces: Mapping[str, type]) -> None:
    for name, cls in namespaces.items():
        if issubclass(cls, PubSubTGNamespace):
            _namespaces.add(name)


class _Detached:
    """A subscription of a namespace with no hubbub connection (tgext's
    WebTest mode): a queue its listener job empties."""

    __slots__ = ("__weakref__", "queue")

    def __init__(self) -> None:
        self.queue = Queue()


# channel -> detached subscriptions (gone with their listener job)
_detached: dict[str, weakref.WeakSet[_Detached]] = {}


class PubSub:
    """The app's pubsub (``PubSubTGNamespace.pubsub()``, kept on
    ``app_globals.anypubsub`` as tgext kept anypubsub's), with anypubsub's
    ``publish(channel, message)``: the message is JSON text."""

    def __init__(self, url: str | None = None) -> None:
        self.url = url
        self._emitter: Emitter | None = None

    def publish(self, channel: str, message: str) -> None:
        """anypubsub's ``publish``: ``message`` (JSON text) to every subscriber of
        ``channel``, on every server."""
        self.deliver(channel, json.loads(message))

    def deliver(self, channel: str, value: Any) -> None:
        """Send ``value`` to the subscribers of ``channel``: through this process's
        servers, or through Redis when none runs here."""
        room = channel_room(channel)
        names = sorted(_namespaces)
        servers = {*_servers, *running_servers()}
        for server in servers:
            for name in names:
                server.of(name).to(room).emit(EVENT, value)
        if not servers and self.url:
            emitter = self._emitter
            if emitter is None:
                from hubbub.adapters.redis.emitter import Emitter

                emitter = self._emitter = Emitter(self.url)
            for name in names:
                emitter.of(name).to(room).emit(EVENT, value)
        elif not servers:
            log.debug("publish(%r): no server in this process and no Redis URL", channel)
        for subscription in list(_detached.get(channel, ())):
            subscription.queue.put(value)


_creation = threading.Lock()


class PubSubTGNamespace(SocketIOTGNamespace):
    """A namespace whose clients subscribe to channels (``subscribe_<name>``
    methods say which) and get every publication on them as ``pubblication``."""

    @classmethod
    def pubsub(cls) -> PubSub:
        """The app's pubsub, made once from the TG settings."""
        config = tg.config
        holder = config.get("tg.app_globals")
        found = getattr(holder, "anypubsub", None)
        if isinstance(found, PubSub):
            return found
        with _creation:
            found = getattr(holder, "anypubsub", None)
            if not isinstance(found, PubSub):
                found = PubSub(redis_url(config))
                if holder is not None:
                    holder.anypubsub = found
        return found

    def on_subscribe(self, packet: dict[str, Any]) -> bool:
        """A client subscribes to a channel (the packet's first argument): the
        namespace's ``subscribe_<channel>`` method decides (False refuses, a
        str names the channel to subscribe to instead); a channel without
        such a method is refused with an error."""
        args = list(packet.get("args") or ())
        if not args:
            self.error("channel_not_specified",
                       "You must specify the channel you want to subscribe")
            return False
        channel = args.pop(0)
        packet["args"] = args  # as tgext left it for a subscribe_<channel>(self, packet)
        method_name = "subscribe_" + str(channel).replace(" ", "_")
        if getattr(self, method_name, None) is None:
            self.error("channel_not_available", "Trying to subscribe to a channel not available")
            return False
        if not self.is_method_allowed(method_name):
            # (tgext went on to subscribe after this refusal)
            self.error("method_access_denied", f'You do not have access to method "{method_name}"')
            return False
        suggested = self.call_validated(method_name, packet, args)
        if suggested is REFUSED:
            return False
        if suggested is False:
            self.error("subscription_rejected", "Your subscription has been rejected by server")
            return False
        self.subscribe(str(suggested or channel))
        return True

    def subscribe(self, channel: str) -> None:
        """Join ``channel`` (the room, or a listener job on a namespace
        with no hubbub connection)."""
        hub = getattr(self, "_socket", None)
        if hub is not None:
            hub.join(channel_room(channel))
            return
        subscription = _Detached()
        _detached.setdefault(channel, weakref.WeakSet()).add(subscription)
        self.spawn(self._listen, subscription)

    def _listen(self, subscription: _Detached) -> None:
        while True:
            self.emit(EVENT, subscription.queue.get())

    def publish(self, channel: str, message: Any) -> None:
        """Publish ``message`` (what JSON can write) on ``channel``."""
        publish(channel, message)


def publish(channel: str, message: Any) -> None:
    """Publish ``message`` (what JSON can write; TypeError otherwise) on
    ``channel``, from anywhere in the app or another process of it."""
    PubSubTGNamespace.pubsub().publish(channel, json.dumps(message))
