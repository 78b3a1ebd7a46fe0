"""The sdist and the wheel as a user gets them: built from the repository,
checked file by file, and the wheel installed into a fresh venv that then
serves a Socket.IO client.

Offline by construction: the build runs without isolation (the backend is a
test dependency), and the venv gets the wheel plus its runtime dependencies
repacked from this interpreter's installed copies, installed with
``--no-index``.
"""

from __future__ import annotations

import email
import importlib.metadata
import json
import re
import subprocess
import sys
import tarfile
import urllib.request
import venv
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from packaging.requirements import Requirement

import hubbub
from conftest import ROOT, free_port, wait_for_port

pytestmark = pytest.mark.timeout(300)

# nothing from the repository but the package itself may ship in the wheel
FORBIDDEN_PARTS = {
    "tests",
    "benchmarks",
    "examples",
    "docs",
    "scripts",
    ".venv",
    "node_modules",
    "__pycache__",
    ".git",
    "site",
}
WHEEL_MUST_HAVE = {
    "hubbub/__init__.py",
    "hubbub/py.typed",
    "hubbub/js/channels.js",
    "hubbub/django_socketio/templates/socketio_scripts.html",
    "hubbub/webpy_socketio/templates/socketio_scripts.html",
}


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``python -m build``: the sdist, then the wheel built from that sdist."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--no-isolation", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=240,
    )
    return out


def _one(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def _forbidden(names: list[str]) -> list[str]:
    return [n for n in names if FORBIDDEN_PARTS & set(n.split("/")) or n.endswith(".pyc")]


def test_wheel_holds_the_package_and_nothing_else(dist: Path) -> None:
    wheel = _one(dist, "hubbub-*.whl")
    assert wheel.name == f"hubbub-{hubbub.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        metadata = email.message_from_bytes(
            zf.read(f"hubbub-{hubbub.__version__}.dist-info/METADATA")
        )
        entry_points = zf.read(f"hubbub-{hubbub.__version__}.dist-info/entry_points.txt")
    tops = {n.split("/")[0] for n in names}
    assert tops == {"hubbub", f"hubbub-{hubbub.__version__}.dist-info"}
    assert _forbidden(names) == []
    assert set(names) >= WHEEL_MUST_HAVE
    assert metadata["Version"] == hubbub.__version__
    assert metadata["License-Expression"] == "MIT"
    assert f"hubbub-{hubbub.__version__}.dist-info/licenses/LICENSE" in names
    extras = set(metadata.get_all("Provides-Extra") or [])
    wanted = {"all", "docs", "gevent", "redis", "msgpack", "fast", "metrics", "otel", "test"}
    assert wanted <= extras
    # `pip install hubbub[all]` brings every optional runtime dependency
    all_req = next(
        Requirement(r) for r in metadata.get_all("Requires-Dist") or [] if 'extra == "all"' in r
    )
    assert all_req.name == "hubbub"
    assert all_req.extras == {"fast", "msgpack", "gevent", "redis", "metrics", "otel"}
    assert b"hubbub = hubbub.cli:main" in entry_points


def test_sdist_holds_the_sources_and_nothing_else(dist: Path) -> None:
    sdist = _one(dist, "hubbub-*.tar.gz")
    prefix = f"hubbub-{hubbub.__version__}/"
    with tarfile.open(sdist) as tf:
        names = [n.removeprefix(prefix) for n in tf.getnames()]
    assert _forbidden(names) == []
    for needed in ("pyproject.toml", "README.md", "LICENSE", "PKG-INFO", "src/hubbub/py.typed",
                   "src/hubbub/js/channels.js"):
        assert needed in names


def _wheel_of_installed(name: str, dest: Path) -> Path:
    """A wheel of distribution ``name`` made from its installed files."""
    dist = importlib.metadata.distribution(name)
    tag = re.search(r"^Tag: (\S+)$", dist.read_text("WHEEL") or "", re.M)
    assert tag is not None, name
    stem = re.sub(r"[-_.]+", "_", dist.metadata["Name"]).lower()
    wheel = dest / f"{stem}-{dist.version}-{tag.group(1)}.whl"
    skip = {"INSTALLER", "REQUESTED", "direct_url.json"}
    with zipfile.ZipFile(wheel, "w", zipfile.ZIP_DEFLATED) as zf:
        for f in dist.files or []:
            if f.parts[0] == ".." or "__pycache__" in f.parts or f.name in skip:
                continue
            zf.write(Path(str(f.locate())), str(f))
    return wheel


def _runtime_wheels(metadata: email.message.Message, dest: Path) -> list[Path]:
    """Wheels of the package's required (not optional) dependencies, and theirs."""
    wheels: list[Path] = []
    pending = [Requirement(r) for r in metadata.get_all("Requires-Dist") or []]
    seen: set[str] = set()
    while pending:
        req = pending.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": ""}):
            continue
        if req.name in seen:
            continue
        seen.add(req.name)
        wheels.append(_wheel_of_installed(req.name, dest))
        requires = importlib.metadata.requires(req.name) or []
        pending.extend(Requirement(r) for r in requires)
    return wheels


@pytest.fixture(scope="module")
def installed(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh venv (no system site-packages) with the wheel installed; its python."""
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True, system_site_packages=False).create(root / "env")
    python = root / "env" / "bin" / "python"
    wheel = _one(dist, "hubbub-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        metadata = email.message_from_bytes(
            zf.read(f"hubbub-{hubbub.__version__}.dist-info/METADATA")
        )
    deps = _runtime_wheels(metadata, root)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", "--no-index", "--no-deps",
         str(wheel), *map(str, deps)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return python


def _clean_env() -> dict[str, str]:
    # nothing may point the venv's python at the repository or the test venv
    return {"PATH": "/usr/bin:/bin", "PYTHONUNBUFFERED": "1", "LANG": "C.UTF-8"}


def test_installed_wheel_is_what_imports(installed: Path, tmp_path: Path) -> None:
    probe = (
        "import json, importlib.metadata, hubbub, hubbub.adapters, hubbub.testing\n"
        "print(json.dumps([hubbub.__file__, hubbub.__version__,"
        " importlib.metadata.version('hubbub'), sorted(hubbub.__all__)]))\n"
    )
    out = subprocess.run(
        [str(installed), "-c", probe],
        cwd=tmp_path,
        env=_clean_env(),
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    path, version, meta_version, names = json.loads(out)
    assert Path(path).is_relative_to(installed.parent.parent)
    assert version == meta_version == hubbub.__version__
    assert names == sorted(hubbub.__all__)


APP = """\
import hubbub

sio = hubbub.Server()


@sio.on("echo")
def echo(socket, text):
    return text
"""


@pytest.fixture
def served(installed: Path, tmp_path: Path) -> Iterator[str]:
    (tmp_path / "smoke_app.py").write_text(APP)
    port = free_port()
    proc = subprocess.Popen(
        [str(installed), "-m", "hubbub", "run", "smoke_app:sio", "--port", str(port)],
        cwd=tmp_path,
        env=_clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port(port, 30, proc=proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        assert proc.stdout is not None
        proc.stdout.close()


def _http(url: str, body: bytes | None = None) -> bytes:
    request = urllib.request.Request(url, data=body, method="POST" if body else "GET")
    if body is not None:
        request.add_header("Content-Type", "text/plain;charset=UTF-8")
    with urllib.request.urlopen(request, timeout=10) as response:
        data: bytes = response.read()
    return data


def test_installed_wheel_serves_a_socketio_client(served: str) -> None:
    opened = _http(f"{served}/socket.io/?EIO=4&transport=polling")
    assert opened.startswith(b"0{")
    sid = json.loads(opened[1:])["sid"]
    poll = f"{served}/socket.io/?EIO=4&transport=polling&sid={sid}"
    assert _http(poll, b"40") == b"ok"
    assert _http(poll).startswith(b'40{"sid":')
    assert _http(poll, b'421["echo","from the wheel"]') == b"ok"
    assert _http(poll) == b'431["from the wheel"]'
    # package data made it into the wheel and is served from the install
    assert b"subscribe" in _http(f"{served}/socket.io/channels.js")
