"""The suite knows which build it runs on: the test command runs it on the
pure-Python package, then again with HUBBUB_COMPILED=1 on the mypyc build of
the hot modules setup.py lists. A compiled run that silently imported the
sources would prove nothing about the compiled build, and the reverse."""

from __future__ import annotations

import ast
import importlib
import os

from conftest import ROOT


def hot_modules() -> list[str]:
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "HOT_MODULES" for t in node.targets
        ):
            paths: list[str] = ast.literal_eval(node.value)
            return [p.removeprefix("src/").removesuffix(".py").replace("/", ".") for p in paths]
    raise AssertionError("setup.py has no HOT_MODULES")


def test_every_hot_module_comes_from_the_build_under_test() -> None:
    compiled = os.environ.get("HUBBUB_COMPILED") == "1"
    modules = hot_modules()
    assert "hubbub.engineio.codec" in modules
    for name in modules:
        origin = importlib.import_module(name).__file__ or ""
        assert origin.endswith(".so") == compiled, f"{name} imported from {origin}"
