"""ServerLimits: the HTTP limits under Node's names (``headersTimeout``,
``keepAliveTimeout``, ``maxHeadersCount``, ``maxHeaderSize``). What each
does is tested by tests/hostile on every server that enforces it."""

from __future__ import annotations

import dataclasses

import hubbub
from hubbub.runtime.limits import ServerLimits


def test_the_limits_take_nodes_names() -> None:
    limits = hubbub.ServerLimits(
        headers_timeout=5, keep_alive_timeout=7, max_headers_count=20, max_header_size=4096
    )
    assert (limits.headers_timeout, limits.keep_alive_timeout) == (5, 7)
    assert (limits.max_headers_count, limits.max_header_size) == (20, 4096)
    names = {f.name for f in dataclasses.fields(ServerLimits)}
    assert {"headers_timeout", "keep_alive_timeout", "max_headers_count"} <= names
    assert not names & {"header_timeout", "keepalive_timeout", "max_headers"}
