"""Event handlers: calling them, sync or async, and checking their arguments
against their type hints before they run.

A :class:`HandlerSpec` is built once per function (at registration, or once
per Namespace class), so the cost per event is one list of small checks.
"""

from __future__ import annotations

import collections.abc
import inspect
import types
import typing
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

Check = Callable[[Any], bool]

# what a registering decorator gives back: the very function it was given
HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])


def _always(_: Any) -> bool:
    return True


def _check_for(annotation: Any) -> tuple[Check, str]:
    """A predicate for values of ``annotation`` and the type's readable name."""
    if annotation is Any or annotation is inspect.Parameter.empty or annotation is object:
        return _always, "any"
    if annotation is None or annotation is type(None):
        return (lambda v: v is None), "None"
    origin = get_origin(annotation)
    if origin is Union or (hasattr(types, "UnionType") and origin is types.UnionType):
        parts = [_check_for(a) for a in get_args(annotation)]
        checks = [c for c, _ in parts]
        return (lambda v: any(c(v) for c in checks)), " | ".join(n for _, n in parts)
    if origin is Literal:
        allowed = get_args(annotation)
        allowed_types = {type(a) for a in allowed}
        return (lambda v: v in allowed and type(v) in allowed_types), repr(allowed)
    if origin in (list, tuple, set, frozenset, typing.Sequence, collections.abc.Sequence):
        args = get_args(annotation)
        item = _check_for(args[0])[0] if args and args[0] is not Ellipsis else _always
        name = getattr(annotation, "__name__", None) or str(annotation)
        return (lambda v: isinstance(v, list) and all(item(x) for x in v)), f"list of {name}"
    if origin in (dict, typing.Mapping, collections.abc.Mapping):
        args = get_args(annotation)
        key = _check_for(args[0])[0] if args else _always
        val = _check_for(args[1])[0] if len(args) > 1 else _always
        return (
            lambda v: isinstance(v, dict) and all(key(k) and val(x) for k, x in v.items())
        ), "object"
    if origin is not None:
        annotation = origin
    if annotation is bool:
        return (lambda v: isinstance(v, bool)), "bool"
    if annotation is int:
        return (lambda v: isinstance(v, int) and not isinstance(v, bool)), "int"
    if annotation is float:
        return (lambda v: isinstance(v, (int, float)) and not isinstance(v, bool)), "float"
    if annotation in (bytes, bytearray, memoryview):
        return (lambda v: isinstance(v, (bytes, bytearray, memoryview))), "bytes"
    if annotation in (list, tuple):
        return (lambda v: isinstance(v, list)), "list"
    if annotation is dict:
        return (lambda v: isinstance(v, dict)), "object"
    if typing.is_typeddict(annotation):
        return (lambda v: isinstance(v, dict)), annotation.__name__
    if isinstance(annotation, type):
        return (lambda v: isinstance(v, annotation)), annotation.__name__
    return _always, str(annotation)


def _plain_class(annotation: Any) -> type | None:
    """The class when ``isinstance(value, it)`` is all :func:`_check_for`
    checks for ``annotation`` (str, a user's class), else None. It lets
    HandlerSpec.check test such arguments without calling a predicate."""
    if not isinstance(annotation, type) or get_origin(annotation) is not None:
        return None
    if annotation in _CONTAINERS:
        return _CONTAINERS[annotation]
    if typing.is_typeddict(annotation):
        return dict
    if annotation in (int, float, bytes, bytearray, memoryview, object):
        return None  # int and float exclude bool; bytes takes three types
    return annotation


# what _check_for accepts for these annotations (JSON arrays are lists)
_CONTAINERS: dict[type, type] = {bool: bool, list: list, tuple: list, dict: dict}


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "list"
    return type(value).__name__


def is_coroutine_handler(fn: Callable[..., Any]) -> bool:
    """An ``async def`` function (or async generator function), or an object
    whose ``__call__`` is one."""
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        return True
    if inspect.isroutine(fn):
        return False
    return inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


class HandlerSpec:
    """How to call one handler and what arguments it accepts.

    ``skip`` is how many leading parameters the caller supplies itself
    (``self`` is already bound; function handlers get the socket first).
    """

    __slots__ = ("_checks", "fn", "is_async", "max_args", "min_args", "name", "params")

    def __init__(self, fn: Callable[..., Any], skip: int = 0) -> None:
        self.fn = fn
        self.name = getattr(fn, "__qualname__", repr(fn))
        self.is_async = is_coroutine_handler(fn)
        self.params: list[tuple[str, Check, str]] = []
        self.min_args = 0
        self.max_args: int | None = None
        # what check() runs per event: (index, type) where isinstance is the
        # whole check (a plain class), (index, predicate) otherwise; the
        # parameters that take anything are left out
        self._checks: tuple[tuple[int, type | Check], ...] = ()
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError):  # builtins without a signature
            return
        try:
            hints = typing.get_type_hints(fn)
        except Exception:  # unresolved forward references: check nothing
            hints = {}
        positional = [
            p
            for p in sig.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ][skip:]
        checks: list[tuple[int, type | Check]] = []
        for i, p in enumerate(positional):
            annotation = hints.get(p.name, inspect.Parameter.empty)
            check, tname = _check_for(annotation)
            self.params.append((p.name, check, tname))
            if p.default is inspect.Parameter.empty:
                self.min_args += 1
            if check is not _always:
                checks.append((i, _plain_class(annotation) or check))
        self._checks = tuple(checks)
        var = [p for p in sig.parameters.values() if p.kind is p.VAR_POSITIONAL]
        self.max_args = None if var else len(self.params)

    def check(self, event: str, args: list[Any]) -> str | None:
        """None if ``args`` fit; otherwise a message naming the problem."""
        n = len(args)
        if n < self.min_args:
            missing = self.params[n][0]
            return f"event {event!r}: missing argument {missing!r}"
        if self.max_args is not None and n > self.max_args:
            return f"event {event!r}: takes {self.max_args} argument(s), got {n}"
        for i, check in self._checks:
            if i >= n:
                break
            value = args[i]
            if not (
                isinstance(value, check) if isinstance(check, type) else check(value)
            ):
                name, _, tname = self.params[i]
                return (
                    f"event {event!r}: argument {name!r} must be {tname}, got {_type_name(value)}"
                )
        return None


_class_tables: dict[type, dict[str, HandlerSpec]] = {}


def class_handlers(cls: type) -> dict[str, HandlerSpec]:
    """The specs of a Namespace class's ``on_*`` methods (``self`` skipped),
    built once per class. Looking an event up here never grows anything,
    whatever names clients send."""
    table = _class_tables.get(cls)
    if table is None:
        table = {}
        for name in dir(cls):
            if name.startswith("on_"):
                fn = getattr(cls, name, None)
                if callable(fn):
                    table[name] = HandlerSpec(fn, skip=1)
        _class_tables[cls] = table
    return table


# the methods hubbub itself calls on a Namespace instance, and the arguments
# it passes them
_NAMESPACE_API = ("on_connect", "on_disconnect", "receive_packet", "initialize")
_HOOK_ARGS = {"on_connect": "auth", "on_disconnect": "reason"}


def check_namespace_class(
    cls: Any, check_handler: Callable[[Callable[..., Any]], None] | None = None
) -> None:
    """Refuse (TypeError, with what to write instead) a class that cannot
    serve a namespace: not a Namespace class, or an ``on_*`` method written
    for another library's calling convention, such as python-socketio's
    ``def on_message(self, sid, data)`` (hubbub makes one instance per
    client, so the client is ``self``, not an argument). ``check_handler``
    (a runtime's) then vets every method the server would call."""
    if not isinstance(cls, type) or not all(
        callable(getattr(cls, name, None)) for name in _NAMESPACE_API
    ):
        raise TypeError("register() takes a hubbub.Namespace subclass")
    for name in dir(cls):
        if not name.startswith("on_"):
            continue
        fn = getattr(cls, name, None)
        if not callable(fn):
            continue
        try:
            params = [
                p
                for p in list(inspect.signature(fn).parameters.values())[1:]
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
            ]
        except (TypeError, ValueError):
            continue
        # python-socketio's (self, sid, data): a first parameter named sid
        # followed by the event's data (a lone sid may be what the client
        # sends; on_connect / on_disconnect take one argument anyway)
        hook = name in _HOOK_ARGS
        if params and params[0].name == "sid" and (len(params) > 1 or hook):
            rest = ", ".join(p.name for p in params[1:])
            raise TypeError(
                f"{cls.__name__}.{name}(self, sid{', ' + rest if rest else ''}): a hubbub "
                f"Namespace has one instance per client, so the client is self (self.sid) "
                f"and handlers take only what the client sent: "
                f"def {name}(self{', ' + rest if rest else ''}) "
                "(see docs/migrating-from-python-socketio.md)"
            )
        expected = _HOOK_ARGS.get(name)
        required = [p for p in params if p.default is inspect.Parameter.empty]
        if expected is not None and len(required) > 1:
            raise TypeError(
                f"{cls.__name__}.{name} takes {len(required)} arguments; hubbub calls it "
                f"with one ({expected}): def {name}(self, {expected})"
            )
    if check_handler is not None:
        for spec in class_handlers(cls).values():
            check_handler(spec.fn)
        initialize = getattr(cls, "initialize", None)
        if initialize is not None:
            check_handler(initialize)
