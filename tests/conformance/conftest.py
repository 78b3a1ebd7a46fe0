"""Fixtures of the conformance tests (the shared ones live in tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["embedded", "uvicorn"])
def runtime(request: pytest.FixtureRequest) -> str:
    """The server a ``serve()``-based test runs on."""
    return str(request.param)
