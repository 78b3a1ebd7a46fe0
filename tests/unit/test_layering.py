"""hubbub's layering rules, checked on the imports of src/hubbub.

Every import counts: at module level, under ``if TYPE_CHECKING:`` and
inside functions. The rules (docs/architecture.md draws them):

* no import cycles between modules;
* a module imports only modules of its own layer or of layers below it
  (the ranks below): codecs import nothing from sessions, servers, adapters
  or runtimes; sessions import no server; the core reaches a runtime only
  through ``hubbub.runtime.contract``;
* only ``hubbub.runtime`` imports asyncio, gevent, socket or selectors.

The checker itself is tested on small made-up graphs, so a rule it stops
enforcing fails here too.
"""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "hubbub"

# The layers, bottom up: a module may import its own layer and the ones below.
LAYERS: list[tuple[str, list[str]]] = [
    (
        "foundation",
        [
            "hubbub.errors",
            "hubbub.http",
            "hubbub.jsonmod",
            "hubbub.sessionids",
            "hubbub.types",
            "hubbub.instrumentation",
        ],
    ),
    (
        "codecs",
        [
            "hubbub.websocket",
            "hubbub.websocket.frames",
            "hubbub.websocket.handshake",
            "hubbub.websocket.deflate",
            "hubbub.websocket.client",
            "hubbub.websocket.shared",
            "hubbub.client",
            "hubbub.client.http1",
            "hubbub.client.reconnect",
            "hubbub.engineio",
            "hubbub.engineio.codec",
            "hubbub.engineio.options",
            "hubbub.engineio.outgoing",
            "hubbub.socketio",
            "hubbub.socketio.codec",
            "hubbub.socketio.msgpack",
            "hubbub.legacy",
            "hubbub.legacy.*",
            "hubbub.legacy.*.codec",
            "hubbub.legacy.*.options",
            "hubbub.adapters.wire",
            "hubbub.adapters.wire.*",
        ],
    ),
    ("runtime contract", ["hubbub.runtime", "hubbub.runtime.contract", "hubbub.runtime.limits"]),
    (
        "sessions",
        [
            "hubbub.engineio.session",
            "hubbub.websocket.link",
            "hubbub.legacy.*.session",
            "hubbub.client.engine",
            "hubbub.client.legacy",
        ],
    ),
    (
        "endpoints",
        [
            "hubbub.engineio.admission",
            "hubbub.engineio.cors",
            "hubbub.engineio.server",
            "hubbub.legacy.*.endpoint",
            "hubbub.router",
            "hubbub.static",
        ],
    ),
    ("adapters", ["hubbub.adapters", "hubbub.adapters.*"]),
    (
        "socket.io",
        [
            "hubbub.socketio.*",
            "hubbub.legacy.*.connection",
            "hubbub.client.namespace",
            "hubbub.client.core",
            "hubbub.admin",
            "hubbub.admin.*",
        ],
    ),
    (
        "runtimes",
        [
            "hubbub.runtime.asyncio",
            "hubbub.runtime.asyncio.*",
            "hubbub.runtime.gevent",
            "hubbub.runtime.gevent.*",
            "hubbub.runtime.blocking",
            "hubbub.runtime.blocking.*",
            "hubbub.runtime.inprocess",
            "hubbub.runtime.supervisor",
            "hubbub.runtime.mesh",
            "hubbub.runtime.ipc_emitter",
        ],
    ),
    (
        "applications",
        [
            "hubbub",
            "hubbub.__main__",
            "hubbub.cli",
            "hubbub.runner",
            "hubbub.emitter",
            "hubbub.testing",
            "hubbub.metrics",
            "hubbub.tracing",
            "hubbub.gevent_socketio",
            "hubbub.gevent_socketio.*",
            "hubbub.tgext_socketio",
            "hubbub.tgext_socketio.*",
            "hubbub.channels",
            "hubbub.channels.*",
            "hubbub.django_socketio",
            "hubbub.django_socketio.*",
            "hubbub.webpy_socketio",
            "hubbub.webpy_socketio.*",
        ],
    ),
]

IO_MODULES = ("asyncio", "gevent", "socket", "selectors")
IO_ALLOWED = (
    "hubbub.runtime.asyncio",
    "hubbub.runtime.gevent",
    "hubbub.runtime.blocking",
    "hubbub.runtime.inprocess",
    "hubbub.runtime.supervisor",
    "hubbub.runtime.mesh",
    "hubbub.runtime.ipc_emitter",
)


# -- reading the imports ---------------------------------------------------------------


def module_names(root: Path) -> dict[str, Path]:
    names: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(
    module: str, is_package: bool, node: ast.Import | ast.ImportFrom, names: Mapping[str, Path]
) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    if node.level:
        base = module if is_package else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            base = base.rpartition(".")[0]
        target = f"{base}.{node.module}" if node.module else base
    else:
        target = node.module or ""
    # ``from pkg import mod`` imports the module pkg.mod when there is one,
    # else a name defined in pkg
    return [
        f"{target}.{alias.name}" if f"{target}.{alias.name}" in names else target
        for alias in node.names
    ]


def import_graph(names: Mapping[str, Path]) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Each module's hubbub imports (resolved to modules), and its other
    top-level imports (``asyncio``, ``gevent`` ...)."""
    graph: dict[str, set[str]] = {}
    external: dict[str, set[str]] = {}
    for module, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        is_package = path.name == "__init__.py"
        inner: set[str] = set()
        outer: set[str] = set()
        for node in ast.walk(tree):
            if not isinstance(node, (ast.Import, ast.ImportFrom)):
                continue
            for target in _imported(module, is_package, node, names):
                if target == "hubbub" or target.startswith("hubbub."):
                    # the longest module name it names (an attribute is not one)
                    while target not in names and "." in target:
                        target = target.rpartition(".")[0]
                    if target in names and target != module:
                        inner.add(target)
                elif target:
                    outer.add(target.partition(".")[0])
        graph[module] = inner
        external[module] = outer
    return graph, external


# -- the rules -----------------------------------------------------------------------------


def find_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def layer_of(module: str, layers: list[tuple[str, list[str]]] = LAYERS) -> int:
    """The rank of a module: the most specific pattern that names it wins
    (an exact name over a wildcard, a longer pattern over a shorter one)."""
    best: tuple[int, int, int] | None = None  # (exact, length, rank)
    for rank, (_, patterns) in enumerate(layers):
        for pattern in patterns:
            if fnmatch.fnmatchcase(module, pattern):
                key = (int("*" not in pattern), len(pattern), rank)
                if best is None or key > best:
                    best = key
    if best is None:
        raise LookupError(f"{module} is in no layer: add it to LAYERS")
    return best[2]


def upward_imports(
    graph: Mapping[str, Iterable[str]], layers: list[tuple[str, list[str]]] = LAYERS
) -> list[str]:
    out = []
    for module, targets in sorted(graph.items()):
        rank = layer_of(module, layers)
        for target in sorted(targets):
            target_rank = layer_of(target, layers)
            if target_rank > rank:
                out.append(
                    f"{module} ({layers[rank][0]}) imports {target} ({layers[target_rank][0]})"
                )
    return out


def io_imports(external: Mapping[str, Iterable[str]]) -> list[str]:
    out = []
    for module, names in sorted(external.items()):
        if module.startswith(IO_ALLOWED):
            continue
        for name in sorted(set(names) & set(IO_MODULES)):
            out.append(f"{module} imports {name}")
    return out


# -- hubbub itself ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graphs() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    return import_graph(module_names(SRC))


def test_no_import_cycles(graphs: tuple[dict[str, set[str]], dict[str, set[str]]]) -> None:
    assert find_cycles(graphs[0]) == []


def test_every_module_is_in_a_layer(
    graphs: tuple[dict[str, set[str]], dict[str, set[str]]],
) -> None:
    for module in graphs[0]:
        layer_of(module)


def test_no_import_runs_up_the_layers(
    graphs: tuple[dict[str, set[str]], dict[str, set[str]]],
) -> None:
    assert upward_imports(graphs[0]) == []


def test_only_the_runtimes_touch_sockets_loops_and_greenlets(
    graphs: tuple[dict[str, set[str]], dict[str, set[str]]],
) -> None:
    assert io_imports(graphs[1]) == []


# -- the checker, on made-up graphs -------------------------------------------------------------

TOY = [("low", ["a", "a.*"]), ("high", ["b", "b.*"])]


def test_the_checker_finds_a_cycle_through_three_modules() -> None:
    assert find_cycles({"x": {"y"}, "y": {"z"}, "z": {"x"}, "w": {"x"}}) == [["x", "y", "z"]]
    assert find_cycles({"x": {"y"}, "y": set()}) == []


def test_the_checker_finds_an_upward_import() -> None:
    assert upward_imports({"a.codec": {"b.server"}, "b.server": {"a.codec"}}, TOY) == [
        "a.codec (low) imports b.server (high)"
    ]
    assert upward_imports({"b.server": {"a.codec"}, "a.codec": set()}, TOY) == []


def test_the_most_specific_pattern_decides_the_layer() -> None:
    assert layer_of("hubbub.socketio.codec") == layer_of("hubbub.engineio.codec")
    assert layer_of("hubbub.socketio.server") > layer_of("hubbub.adapters.base")
    assert layer_of("hubbub.legacy.v09.session") < layer_of("hubbub.legacy.v09.endpoint")


def test_the_checker_reads_type_checking_and_function_level_imports(tmp_path: Path) -> None:
    pkg = tmp_path / "hubbub"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from hubbub.b import X\n"
    )
    (pkg / "b.py").write_text("def f():\n    from hubbub import a\n    import gevent\n")
    graph, external = import_graph(module_names(pkg))
    assert graph["hubbub.a"] == {"hubbub.b"}
    assert graph["hubbub.b"] == {"hubbub.a"}
    assert find_cycles(graph) == [["hubbub.a", "hubbub.b"]]
    assert io_imports(external) == ["hubbub.b imports gevent"]
