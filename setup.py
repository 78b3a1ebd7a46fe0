"""Builds hubbub; with HUBBUB_COMPILE=1, also compiles its hot modules with mypyc.

The pure-Python package is the default and the fallback: a compiled build
changes speed only (the test command runs the whole suite against both).
"""

from __future__ import annotations

import os

from setuptools import setup

# The per-packet path: codecs, frames and the sessions that drive them. Classes
# that applications subclass (Namespace, Socket, Server) or read the docs of
# (hubbub.HttpRequest: a compiled class loses its docstring) stay interpreted.
HOT_MODULES = [
    "src/hubbub/jsonmod.py",
    "src/hubbub/websocket/frames.py",
    "src/hubbub/engineio/codec.py",
    "src/hubbub/engineio/outgoing.py",
    "src/hubbub/engineio/session.py",
    "src/hubbub/websocket/link.py",
    "src/hubbub/socketio/dispatch.py",
    "src/hubbub/socketio/codec.py",
    "src/hubbub/socketio/encoded.py",
]


def ext_modules() -> list[object]:
    if os.environ.get("HUBBUB_COMPILE") != "1":
        return []
    from mypyc.build import mypycify

    return list(mypycify(HOT_MODULES, opt_level="3", group_name="hubbub_native"))


setup(ext_modules=ext_modules())
