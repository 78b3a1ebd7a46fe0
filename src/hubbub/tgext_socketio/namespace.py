"""``SocketIOTGNamespace``: a gevent-socketio namespace whose event handlers
honour TurboGears' ``@require`` and ``@validate``::

    class PingPong(SocketIOTGNamespace):
        @require(predicates.not_anonymous())      # denied: 'method_access_denied'
        @validate({"attack": NoFireBallValidator()})
        def on_ping(self, attack):                # attack: the validated value
            self.emit("pong", {"sound": "pong"})

- ``@require``: every requirement's predicate is checked, in
  ``is_method_allowed``, against the environ of the request that opened the
  connection (where TG's identity wrapper left the credentials). A predicate
  that fails, or ``@require(None)``, denies; the ACL still applies after.
- ``@validate``: the event's positional arguments are named after the
  handler's parameters and validated by each ``@validate`` in turn, with the
  app's ``validation.exceptions``; the handler gets the validated values as
  keywords (through ``exception_handler_decorator`` when there is one). On a
  validation error, the failing ``@validate``'s ``error_handler(self,
  *original_args)`` answers the event, or else the client gets the error
  ``invalid_method_args`` with ``{field: message}`` (``str(error)`` when the
  error names no field), and the handler is not called.

When gevent patched ``threading`` before TurboGears was imported (the paste
server ``egg:hubbub#tgext`` sees to it), each packet is handled inside the TG
context of the request that opened the connection: ``tg.request``,
``tg.app_globals``, ``tg.translator`` (translated validator messages) work
in handlers as in a controller.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Any

import tg
from crank.util import get_params_with_argspec
from tg.predicates import NotAuthorizedError
from tg.request_local import context as tg_context
from tg.util.instance_method import default_im_func
from tg.validation import TGValidationError

from hubbub.gevent_socketio.namespace import BaseNamespace
from hubbub.runtime.gevent.greenlets import is_greenlet_local

__all__ = ["SocketIOTGNamespace", "tg_locals_per_greenlet"]

log = logging.getLogger("hubbub.tgext_socketio")

# what a validated call returns when validation refused it (the client has
# been told): on_subscribe tells it from a handler that returned None
REFUSED: Any = object()


def tg_locals_per_greenlet() -> bool:
    """Whether TurboGears' request locals are per greenlet, that is whether
    gevent patched ``threading`` before TurboGears made them."""
    return is_greenlet_local(tg_context.__dict__.get("____local__"))


_PER_GREENLET = tg_locals_per_greenlet()  # fixed when TurboGears was imported


def _decorated(method: Callable[..., Any], what: str) -> Sequence[Any]:
    """TG's ``requirements`` or ``validations`` of a handler (read without
    Decoration.get_decoration, which would attach an empty one)."""
    decoration = getattr(default_im_func(method), "decoration", None)
    return getattr(decoration, what, None) or ()


def _current_tg_locals() -> Any:
    try:
        return tg_context._current_obj()
    except TypeError:  # nothing registered in this greenlet
        return None


def error_payload(exc: BaseException) -> Any:
    """What the client gets with 'invalid_method_args': ``{field: message}``
    for an error that names its fields, else the error's text."""
    error_dict = getattr(exc, "error_dict", None)
    if isinstance(exc, TGValidationError) and isinstance(error_dict, dict):
        return {field: str(error) for field, error in error_dict.items()}
    return str(exc)


class SocketIOTGNamespace(BaseNamespace):
    """One instance per client per namespace (gevent-socketio's rules),
    with TG's ``@require`` and ``@validate`` on its handlers."""

    def process_packet(self, packet: dict[str, Any]) -> Any:
        tgl = self._tg_locals()
        if tgl is None:
            return super().process_packet(packet)
        tg_context._push_object(tgl)
        try:
            return super().process_packet(packet)
        finally:
            tg_context._pop_object(tgl)

    def _tg_locals(self) -> Any:
        """The TG context to handle a packet in: the opening request's, when
        TG's locals are per greenlet (else pushing it would change every
        greenlet's context) and it is not current already (a WebTest
        request plays its packet inside the request)."""
        if not _PER_GREENLET:
            return None
        environ = getattr(self.request, "environ", None)
        tgl = environ.get("tg.locals") if isinstance(environ, dict) else None
        if tgl is None or _current_tg_locals() is tgl:
            return None
        return tgl

    def _credentials_environ(self) -> dict[str, Any]:
        environ = getattr(self.request, "environ", None)
        return environ if isinstance(environ, dict) else self.environ

    def is_method_allowed(self, method_name: str) -> bool:
        method = self._method(method_name)
        if method is None:
            return True  # call_method answers 'no_such_method'
        for requirement in _decorated(method, "requirements"):
            predicate = requirement.predicate
            if predicate is None:  # @require(None): nobody
                return False
            try:
                predicate.check_authorization(self._credentials_environ())
            except NotAuthorizedError:
                return False
        return super().is_method_allowed(method_name)

    def call_method(self, method_name: str, packet: dict[str, Any], *args: Any) -> Any:
        result = self.call_validated(method_name, packet, args)
        return None if result is REFUSED else result

    def call_validated(self, method_name: str, packet: dict[str, Any], args: Sequence[Any]) -> Any:
        """:meth:`call_method`, but :data:`REFUSED` when validation refused
        the call."""
        method = self._method(method_name)
        validations = _decorated(method, "validations") if method is not None else ()
        if method is None or not validations:
            return super().call_method(method_name, packet, *args)
        config = tg.config
        exceptions = tuple(config.get("validation.exceptions") or (TGValidationError,))
        params = get_params_with_argspec(method, {}, args)
        for intent in validations:
            try:
                params = intent.check(config, method, params)
            except exceptions as exc:
                if intent.error_handler is not None:
                    # as TG 2.3 called it for tgext: the original arguments
                    return intent.error_handler(self, *args)
                self.error("invalid_method_args", error_payload(exc))
                return REFUSED
        decorator = getattr(self, "exception_handler_decorator", None)
        if decorator is not None:
            method = decorator(method)
        return method(**params)
