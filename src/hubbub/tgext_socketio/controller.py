"""``SocketIOController``: a TurboGears controller whose namespace classes are
class attributes (``chat = ChatNamespace`` serves ``/chat``) and whose other
methods are ordinary pages::

    class SocketIO(SocketIOController):
        pingpong = PingPong                  # the namespace /pingpong

        @expose()
        def page(self): ...                  # /socketio/page

    class RootController(BaseController):
        socketio = SocketIO()                # mounted at the server's socketio_resource

hubbub answers the Socket.IO requests under ``/<socketio_resource>/`` itself
(the server runs its WSGIApp in views mode). When a connection opens, it
calls the TG app once with that connection's environ: TG's whole stack runs
(authentication, identity, sessions, the transaction manager), and dispatch
brings it here, to ``_default``, which serves the connection with this
controller's namespaces and the TG request, which they see as
``self.request``, until the connection closes.

A request that carries WebTest's ``paste.testing_variables`` and a
``socketio`` socket in its environ plays its JSON body as one gevent-socketio
packet on a new instance of the namespace its path names (``/socketio/chat``),
inside the request, as tgext.socketio did: apps' own tests of their
namespaces keep working.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING, Any, cast

import tg
from tg import TGController, abort, expose

from hubbub.gevent_socketio import socketio_manage
from hubbub.gevent_socketio.namespace import BaseNamespace
from hubbub.socketio import views
from hubbub.tgext_socketio import pubsub
from hubbub.tgext_socketio.namespace import tg_locals_per_greenlet

if TYPE_CHECKING:
    from hubbub.socketio.server import Server

__all__ = ["SocketIOController", "namespaces_of"]

log = logging.getLogger("hubbub.tgext_socketio")

_warned: list[bool] = []  # the shared-locals warning was logged


def namespaces_of(cls: type) -> dict[str, type[BaseNamespace]]:
    """``{"/<name>": namespace class}`` for the BaseNamespace subclasses
    among the class attributes of ``cls`` (its bases' too; a subclass's
    attribute wins)."""
    found: dict[str, type[BaseNamespace]] = {}
    for klass in reversed(cls.__mro__):
        for name, value in vars(klass).items():
            if isinstance(value, type) and issubclass(value, BaseNamespace):
                found["/" + name] = value
            else:
                found.pop("/" + name, None)
    return found


class SocketIOController(TGController):  # type: ignore[misc]
    """A TG controller that also serves the namespaces among its class
    attributes, each as ``/<attribute name>``."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__()
        self._socketio_namespaces = namespaces_of(type(self))
        pubsub.register_namespaces(self._socketio_namespaces)

    def _dispatch(self, state: Any, remainder: Any = None) -> Any:
        if isinstance(tg.request.environ.get(views.ENVIRON_KEY), views.ViewBinding):
            # a connection's view goes to _default whatever its path: a 4.x
            # client opens at /<resource>/, which is an ``index`` page's
            self._enter_controller(state, remainder)  # allow_only applies
            state.set_action(self._default, list(remainder or ()))
            return state
        return super()._dispatch(state, remainder)

    @expose()  # type: ignore[untyped-decorator]
    def _default(self, *args: Any, **kw: Any) -> str:
        request = tg.request._current_obj()
        environ = request.environ
        binding = environ.get(views.ENVIRON_KEY)
        if isinstance(binding, views.ViewBinding):
            _warn_shared_locals()
            pubsub.serve_from(cast("Server", binding.client.server))
            socketio_manage(environ, self._socketio_namespaces, request)
        elif "socketio" in environ and "paste.testing_variables" in environ:
            self._play_test_packet(request, args)
        else:
            abort(400)
        return "done"

    def _play_test_packet(self, request: Any, args: tuple[Any, ...]) -> None:
        name = "/" + str(args[0]) if args else ""
        namespace = self._socketio_namespaces.get(name)
        if namespace is None:
            abort(400)  # raises
            return
        instance = namespace(request.environ, name, request)
        request.environ["socketio.namespace"] = instance
        instance.process_packet(json.loads(request.environ["wsgi.input"].read()))


def _warn_shared_locals() -> None:
    if tg_locals_per_greenlet() or _warned:
        return
    _warned.append(True)
    log.warning(
        "TurboGears was imported before gevent patched threading: its request locals are "
        "shared by every connection (tg.request in a handler may be another client's). "
        "Serve with `use = egg:hubbub#tgext`, or call gevent.monkey.patch_all() before "
        "importing TurboGears"
    )
