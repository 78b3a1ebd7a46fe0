"""The suite knows which build it runs on: the test command runs it on the
pure-Python package, then again with HUBBUB_COMPILED=1 on the mypyc build of
the hot modules setup.py lists. A compiled run that silently imported the
sources would prove nothing about the compiled build, and the reverse."""

from __future__ import annotations

import importlib
import os

from benchmarks.compiled import hot_modules


def test_every_hot_module_comes_from_the_build_under_test() -> None:
    compiled = os.environ.get("HUBBUB_COMPILED") == "1"
    modules = hot_modules()
    assert "hubbub.engineio.codec" in modules
    for name in modules:
        origin = importlib.import_module(name).__file__ or ""
        assert origin.endswith(".so") == compiled, f"{name} imported from {origin}"
