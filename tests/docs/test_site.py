"""The documentation site builds with ``mkdocs build --strict``: a broken
link, a missing page or an API name the reference cannot resolve fails."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ROOT


@pytest.mark.timeout(420)
def test_site_builds_strict(tmp_path: Path) -> None:
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet",
         "--config-file", str(ROOT / "mkdocs.yml"), "--site-dir", str(site)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    front = (site / "index.html").read_text()
    assert "Three lines add real-time" in front
    # the reference is generated from the docstrings, roles made into links
    server = (site / "reference" / "server" / "index.html").read_text()
    for name in ("Server", "Server.emit", "Namespace.emit", "Socket.join"):
        assert f'id="hubbub.{name}"' in server, name
    assert ":class:" not in server
    assert (site / "operating" / "index.html").is_file()
