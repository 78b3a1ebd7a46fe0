"""gevent-socketio's server (``socketio.server``) on hubbub's gevent server::

    SocketIOServer(("0.0.0.0", 8080), app, resource="socket.io",
                   policy_server=True, policy_listener=("0.0.0.0", 10843)).serve_forever()

``app`` is a WSGI app whose view for ``/socket.io/...`` calls
:func:`hubbub.gevent_socketio.socketio_manage`. Socket.IO 0.9 clients are
served at ``/<resource>/1/``, clients 2.x-4.x at ``/<resource>/``.

gevent-socketio's options map onto hubbub's (see
:func:`hubbub.runtime.gevent.paste.server_options`): ``heartbeat_interval``
is the ping interval, ``heartbeat_timeout`` (what 0.9 clients are told)
the ping interval plus the ping timeout, ``close_timeout`` the grace period
of a 0.9 session between two polls, and ``transports`` the 0.9 transports
offered plus the Engine.IO ones they imply.
"""

from __future__ import annotations

import inspect
import logging
import warnings
from collections.abc import Mapping
from typing import Any

from hubbub.adapters.url import adapter_from_url
from hubbub.engineio.options import EngineOptions
from hubbub.gevent_socketio.policyserver import FlashPolicyServer
from hubbub.gevent_socketio.virtsocket import Socket, _socketio_servers, sockets_of
from hubbub.runtime.gevent.paste import as_bool, server_options, transport_names
from hubbub.runtime.gevent.server import HubbubHandler, SocketHandoff, WSGIServer, as_wsgi_app
from hubbub.socketio.server import Server

__all__ = ["SocketIOServer", "paste_options", "running_servers", "serve", "serve_paste"]

log = logging.getLogger("hubbub.gevent_socketio")

#: gevent-socketio's defaults
DEFAULT_CONFIG: dict[str, float] = {
    "heartbeat_timeout": 60,
    "close_timeout": 60,
    "heartbeat_interval": 25,
}
#: every transport gevent-socketio offered that a released client speaks
DEFAULT_TRANSPORTS = ("websocket", "flashsocket", "htmlfile", "xhr-polling", "jsonp-polling")

# hubbub.Server's own options, which SocketIOServer passes on (gevent-socketio
# had no way to say which origins may connect: cors_allowed_origins is one)
_HUBBUB_OPTIONS = (
    {
        name
        for name, p in inspect.signature(Server.__init__).parameters.items()
        if p.kind is p.KEYWORD_ONLY
    }
    | set(EngineOptions.__dataclass_fields__)
) - {"path", "transports", "close_timeout"}


def _with_handoff(handler_class: type) -> type:
    """A pywsgi handler class that can hand its socket to a websocket."""
    if issubclass(handler_class, SocketHandoff):
        return handler_class
    return type(handler_class.__name__, (SocketHandoff, handler_class), {})


def _listener_port(listener: Any) -> int:
    if isinstance(listener, tuple) and len(listener) > 1:
        return int(listener[1])
    try:
        return int(listener.getsockname()[1])
    except (AttributeError, OSError, IndexError, ValueError):
        return 80


def _listener_host(listener: Any) -> str:
    if isinstance(listener, tuple) and listener:
        return str(listener[0])
    try:
        return str(listener.getsockname()[0])
    except (AttributeError, OSError, IndexError):
        return "0.0.0.0"


class SocketIOServer(WSGIServer):  # type: ignore[misc]
    """A pywsgi server whose resource (``/socket.io/`` by default) is
    Socket.IO, 0.9 and newer; every other path goes to the WSGI app.

    Besides pywsgi's arguments it takes gevent-socketio's: ``resource``
    (``namespace``, deprecated), ``transports``, ``policy_server`` (True by
    default), ``policy_listener`` (``(host, 10843)``), ``heartbeat_interval``,
    ``heartbeat_timeout``, ``close_timeout`` and ``log_file``.
    ``ws_handler_class`` is accepted and ignored: hubbub runs websockets itself.
    hubbub.Server's options (``cors_allowed_origins``, ``adapter``, ...) are
    passed on to the hubbub server it makes.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        args_list = list(args)
        listener = args_list.pop(0) if args_list else kwargs.pop("listener")
        application = args_list.pop(0) if args_list else kwargs.pop("application", None)
        if "namespace" in kwargs:
            warnings.warn("use resource instead of namespace", DeprecationWarning, stacklevel=2)
            self.resource = str(kwargs.pop("namespace"))
        else:
            self.resource = str(kwargs.pop("resource", "socket.io"))
        self.transports = kwargs.pop("transports", None)
        self.config: dict[str, float] = dict(DEFAULT_CONFIG)
        for name in DEFAULT_CONFIG:
            if name in kwargs:
                self.config[name] = float(kwargs.pop(name))
        policy_server = kwargs.pop("policy_server", True)
        policy_listener = kwargs.pop("policy_listener", None)
        kwargs.pop("ws_handler_class", None)
        log_file = kwargs.pop("log_file", None)
        if log_file:
            kwargs["log"] = open(log_file, "a")  # noqa: SIM115 - the server's log, open while it runs
        handler_class = kwargs.pop("handler_class", None) or HubbubHandler
        kwargs["handler_class"] = _with_handoff(handler_class)
        hubbub_options = {k: kwargs.pop(k) for k in list(kwargs) if k in _HUBBUB_OPTIONS}

        if application is None:
            raise TypeError("SocketIOServer needs the WSGI application")
        options = server_options(
            {**self.config, "transports": self.transports or DEFAULT_TRANSPORTS}
        )
        options.setdefault("legacy", True)
        options.update(hubbub_options)
        wsgi = as_wsgi_app(application, resource=self.resource, **options)
        self.hubbub = wsgi.server
        _socketio_servers[self.hubbub] = self

        self.policy_server: FlashPolicyServer | None = None
        if as_bool(policy_server):
            if policy_listener is None:
                policy_listener = (_listener_host(listener), 10843)
            self.policy_server = FlashPolicyServer(
                policy_listener, ports=(_listener_port(listener),)
            )
        super().__init__(listener, wsgi, *args_list, **kwargs)

    @property
    def sockets(self) -> Mapping[str, Socket]:
        """This process's connections, by sessid."""
        return sockets_of(self.hubbub)

    def get_socket(self, sessid: str = "") -> Socket | None:
        """The connection ``sessid`` (hubbub makes sessions itself, so this
        never creates one)."""
        return sockets_of(self.hubbub).get(sessid)

    def start_accepting(self) -> None:
        """Start the flash policy server (when asked for), then accept connections."""
        policy = self.policy_server
        if policy is not None and not policy.started:
            try:
                policy.start()
            except OSError as exc:  # as gevent-socketio: reported, not fatal
                log.error("FAILED to start flash policy server: %s", exc)
        super().start_accepting()

    def stop(self, timeout: float | None = None) -> None:
        """Stop the flash policy server and the server."""
        if self.policy_server is not None:
            self.policy_server.stop()
        self.application.endpoint.close_all("server shutting down")
        super().stop(timeout=timeout)


def running_servers() -> list[Server]:
    """The hubbub Servers that this process's SocketIOServers run."""
    return list(_socketio_servers)


def paste_options(conf: Mapping[str, Any], host: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """SocketIOServer's keyword arguments from paste options (the strings
    of an ini file, or values), for the options given only; and the
    options it does not translate. ``host`` is the server's, the policy
    server's default host.

    gevent-socketio's: ``transports`` ("websocket, xhr-polling"),
    ``policy_server``, ``policy_listener_host``, ``policy_listener_port``,
    ``heartbeat_interval``, ``heartbeat_timeout``, ``close_timeout``;
    hubbub's: ``adapter`` (a URL: ``memory://``, ``redis://host:port/db``
    ...), ``cors_allowed_origins`` (``*`` or origins separated by commas
    or spaces) and ``legacy`` (serve Socket.IO 0.9 clients).
    """
    options: dict[str, Any] = {}
    rest: dict[str, Any] = {}
    for name, value in conf.items():
        if name == "transports":
            options[name] = transport_names(value)
        elif name in ("policy_server", "legacy"):
            options[name] = as_bool(value)
        elif name in DEFAULT_CONFIG:
            options[name] = float(value)
        elif name == "adapter":
            options[name] = adapter_from_url(value) if isinstance(value, str) else value
        elif name == "cors_allowed_origins":
            options[name] = _origins(value)
        elif name not in ("policy_listener_host", "policy_listener_port"):
            rest[name] = value
    if "policy_listener_host" in conf or "policy_listener_port" in conf:
        options["policy_listener"] = (
            conf.get("policy_listener_host", host),
            int(conf.get("policy_listener_port", 10843)),
        )
    return options, rest


def _origins(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    names = value.replace(",", " ").split()
    return "*" if names == ["*"] else names


def serve(app: Any, **kw: Any) -> None:
    """gevent-socketio's paste-style runner: ``host`` (127.0.0.1), ``port``
    (6543), ``resource``, and the options of :func:`paste_options` (the
    Flash policy server off unless asked for); serves until interrupted."""
    quiet = kw.pop("_quiet", False)
    resource = kw.pop("resource", "socket.io")
    if not quiet:
        logging.basicConfig()
    host = kw.pop("host", "127.0.0.1")
    port = int(kw.pop("port", 6543))
    options, rest = paste_options(kw, host)
    options.setdefault("policy_server", False)
    server = SocketIOServer((host, port), app, resource=resource, **options, **rest)
    if not quiet:
        print(f"serving on http://{host}:{port}")
    server.serve_forever()


def serve_paste(app: Any, global_conf: dict[str, Any], **kw: Any) -> int:
    """gevent-socketio's ``paste.server_runner`` (hubbub's own is
    ``use = egg:hubbub``, :mod:`hubbub.runtime.gevent.paste`)."""
    serve(app, **kw)
    return 0
