"""Every public name has a docstring: what ``hubbub.__all__`` and the public
modules export, and every public method and property of those classes
(inherited ones included). The API reference is generated from them.

The check runs in a subprocess: the compatibility modules configure Django
and import TurboGears, which must not leak into the other tests.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import ROOT

# the modules whose __all__ is public API; a package's public submodules too
PUBLIC = [
    "hubbub",
    "hubbub.adapters",
    "hubbub.adapters.redis",
    "hubbub.testing",
    "hubbub.gevent_socketio",
    "hubbub.tgext_socketio",
    "hubbub.django_socketio",
    "hubbub.webpy_socketio",
]
PACKAGES_WITH_PUBLIC_SUBMODULES = [
    "hubbub.gevent_socketio",
    "hubbub.tgext_socketio",
    "hubbub.django_socketio",
    "hubbub.webpy_socketio",
]

CHECK = r"""
import importlib, inspect, json, pkgutil, sys

import django
from django.conf import settings

settings.configure(INSTALLED_APPS=["hubbub.django_socketio"])
django.setup()

public, packages = json.loads(sys.argv[1])
modules = list(public)
for name in packages:
    package = importlib.import_module(name)
    modules += [f"{name}.{m.name}" for m in pkgutil.iter_modules(package.__path__)]

missing, checked = [], set()

def own(cls, attr):
    for klass in cls.__mro__:
        if attr in vars(klass):
            return klass
    return None

def check_class(path, cls):
    for attr in dir(cls):
        if attr.startswith("_"):
            continue
        where = own(cls, attr)
        if where is None or not where.__module__.startswith("hubbub"):
            continue
        raw = inspect.getattr_static(cls, attr)
        if isinstance(raw, (staticmethod, classmethod)):
            raw = raw.__func__
        if not (inspect.isfunction(raw) or isinstance(raw, property)):
            continue
        if not inspect.getdoc(getattr(cls, attr, raw) if not isinstance(raw, property) else raw):
            missing.append(f"{path}.{attr}")

for name in modules:
    module = importlib.import_module(name)
    if not (module.__doc__ or "").strip():
        missing.append(name)
    for export in getattr(module, "__all__", ()):
        if export.startswith("__"):
            continue
        obj = getattr(module, export)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        path = f"{name}.{export}"
        if id(obj) in checked:
            continue
        checked.add(id(obj))
        if not (obj.__doc__ or "").strip():
            missing.append(path)
        if inspect.isclass(obj):
            check_class(path, obj)
print(json.dumps({"missing": missing, "checked": len(checked)}))
"""


def test_every_public_name_has_a_docstring() -> None:
    result = subprocess.run(
        [sys.executable, "-c", CHECK, json.dumps([PUBLIC, PACKAGES_WITH_PUBLIC_SUBMODULES])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report["checked"] > 80  # classes and functions, each once
    assert report["missing"] == []
