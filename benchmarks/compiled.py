"""The compiled build the benchmark's "compiled" rows run.

setup.py compiles its HOT_MODULES with mypyc when HUBBUB_COMPILE=1. The
harness builds them in a copy of src/ under benchmarks/build/hubbub-compiled
(git-ignored), never in the checkout's src/: an extension module there would
be imported by the pure-Python rows too. The copy is rebuilt when the
sources, setup.py, mypy or the interpreter change, and a compiled server gets
it first on its PYTHONPATH.

Every hubbub server checks at start which build it imported (check_build,
called from benchmarks/servers/hubbub_app.py), so a row can never report one
build while having run the other.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from benchmarks.peers import BUILD_DIR, ROOT

# Not a Python identifier: mypy names the modules it compiles after the
# packages enclosing them, and stops looking for those at such a folder
# (benchmarks/ is a package).
COMPILED_DIR = BUILD_DIR / "hubbub-compiled"
COMPILED_SRC = COMPILED_DIR / "src"
STAMP = COMPILED_DIR / ".sources"
BUILD_LOG = COMPILED_DIR / "build.log"
# what a hubbub server expects to import: "pure" or "compiled"
BUILD_ENV = "BENCH_HUBBUB_BUILD"
# what setup.py needs besides src/: its project metadata
PROJECT_FILES = ["setup.py", "pyproject.toml", "README.md"]


def hot_modules() -> list[str]:
    """The module names setup.py compiles, read from its HOT_MODULES."""
    tree = ast.parse((ROOT / "setup.py").read_text())
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "HOT_MODULES" for t in node.targets
        ):
            paths: list[str] = ast.literal_eval(node.value)
            return [p.removeprefix("src/").removesuffix(".py").replace("/", ".") for p in paths]
    raise RuntimeError("setup.py has no HOT_MODULES")


def mypy_version() -> str | None:
    try:
        return importlib.metadata.version("mypy")
    except importlib.metadata.PackageNotFoundError:
        return None


def unavailable() -> str | None:
    if mypy_version() is None:
        return "mypy (mypyc) is not installed in hubbub's venv"
    if shutil.which("gcc") is None and shutil.which("cc") is None:
        return "no C compiler for mypyc's output"
    return None


def _skipped(path: Path) -> bool:
    return "__pycache__" in path.parts or path.suffix in (".so", ".pyc") or ".egg-info" in str(path)


def sources_digest() -> str:
    """What the build depends on: every file of the package, setup.py,
    pyproject.toml, mypy's version and the interpreter's."""
    h = hashlib.sha256()
    h.update(f"{mypy_version()} {sys.version}".encode())
    # the README is copied for setup.py's metadata only: no rebuild for a change in it
    files = [ROOT / name for name in PROJECT_FILES if name != "README.md"]
    files += sorted(p for p in (ROOT / "src").rglob("*") if p.is_file() and not _skipped(p))
    for path in files:
        h.update(str(path.relative_to(ROOT)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def server_env(build: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a hubbub server of the given build."""
    env = dict(os.environ if base is None else base)
    env[BUILD_ENV] = build
    if build == "compiled":
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(COMPILED_SRC), env.get("PYTHONPATH", "")) if p
        )
    return env


def imported_files(build: str) -> dict[str, str]:
    """Where a fresh interpreter with the build's environment imports each hot
    module from."""
    script = (
        "import importlib, json, sys\n"
        "print(json.dumps({n: importlib.import_module(n).__file__ or '' "
        "for n in sys.argv[1:]}))\n"
    )
    res = subprocess.run(
        [sys.executable, "-c", script, *hot_modules()],
        cwd=ROOT,
        env=server_env(build),
        capture_output=True,
        text=True,
        check=False,
    )
    if res.returncode != 0:
        raise RuntimeError(f"importing the {build} build failed: {res.stderr.strip()[-500:]}")
    files: dict[str, str] = json.loads(res.stdout)
    return files


def build_problem(files: dict[str, str], build: str) -> str | None:
    """Why the modules imported are not the build wanted, or None."""
    compiled = build == "compiled"
    for name, origin in files.items():
        if origin.endswith(".so") != compiled:
            return f"{name} imported from {origin}, not from the {build} build"
        if compiled and not Path(origin).is_relative_to(COMPILED_SRC):
            return f"{name} imported from {origin}, outside {COMPILED_SRC}"
    return None


def check_build() -> None:
    """Stop a server that imported another build than the harness asked for
    (BENCH_HUBBUB_BUILD); without it, nothing is checked."""
    build = os.environ.get(BUILD_ENV)
    if not build:
        return
    files = {n: importlib.import_module(n).__file__ or "" for n in hot_modules()}
    problem = build_problem(files, build)
    if problem:
        raise SystemExit(f"benchmark server: {problem}")


def _log(msg: str) -> None:
    print(f"benchmarks: {msg}", file=sys.stderr, flush=True)


def ensure_compiled() -> Path:
    """Build the compiled copy if it is missing or stale; its src/ folder."""
    digest = sources_digest()
    fresh = STAMP.exists() and STAMP.read_text() == digest
    if fresh and build_problem(imported_files("compiled"), "compiled") is None:
        return COMPILED_SRC
    if COMPILED_DIR.exists():
        shutil.rmtree(COMPILED_DIR)
    COMPILED_DIR.mkdir(parents=True)
    shutil.copytree(
        ROOT / "src",
        COMPILED_SRC,
        ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.pyc", "*.egg-info"),
    )
    for name in PROJECT_FILES:
        shutil.copy2(ROOT / name, COMPILED_DIR / name)
    _log(f"compiling {len(hot_modules())} hot modules with mypyc into {COMPILED_SRC}")
    with open(BUILD_LOG, "wb") as out:
        res = subprocess.run(
            [sys.executable, "setup.py", "-q", "build_ext", "--inplace"],
            cwd=COMPILED_DIR,
            env={**os.environ, "HUBBUB_COMPILE": "1"},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
        )
    if res.returncode != 0:
        raise RuntimeError(f"the mypyc build failed ({res.returncode}): see {BUILD_LOG}")
    problem = build_problem(imported_files("compiled"), "compiled")
    if problem:
        raise RuntimeError(problem)
    STAMP.write_text(digest)
    return COMPILED_SRC


def describe() -> dict[str, object]:
    """The compiled build, for the report's setup section."""
    return {
        "mypyc": f"mypy {mypy_version()}",
        "modules": hot_modules(),
        "where": str(COMPILED_SRC.relative_to(ROOT)),
    }
