"""gevent-socketio's Flash policy server (``socketio.policyserver``): hubbub's,
with gevent-socketio's constructor (``listener`` defaults to port 10843 on
every interface) and its class attributes."""

from __future__ import annotations

from typing import Any

from hubbub.runtime.gevent import policy

__all__ = ["FlashPolicyServer"]


class FlashPolicyServer(policy.FlashPolicyServer):
    """Answers ``<policy-file-request/>`` with a policy allowing every origin
    (NUL-terminated, as Flash requires)."""

    policyrequest = policy.POLICY_REQUEST

    def __init__(self, listener: Any = None, backlog: int | None = None, **kw: Any) -> None:
        if listener is None:
            listener = ("0.0.0.0", 10843)
        if backlog is not None:
            kw["backlog"] = backlog
        super().__init__(listener, **kw)
