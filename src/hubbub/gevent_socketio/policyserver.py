"""gevent-socketio's Flash policy server (``socketio.policyserver``): hubbub's,
with gevent-socketio's constructor and its class attributes. Unlike
gevent-socketio's, it listens on loopback by default and allows the ports
it is told (the web ports by default) rather than every port."""

from __future__ import annotations

from typing import Any

from hubbub.runtime.gevent import policy

__all__ = ["FlashPolicyServer"]


class FlashPolicyServer(policy.FlashPolicyServer):
    """Answers ``<policy-file-request/>`` with a policy for ``ports``
    (NUL-terminated, as Flash requires)."""

    policyrequest = policy.POLICY_REQUEST

    def __init__(self, listener: Any = None, backlog: int | None = None, **kw: Any) -> None:
        if listener is None:
            listener = ("127.0.0.1", 10843)
        if backlog is not None:
            kw["backlog"] = backlog
        super().__init__(listener, **kw)
