"""The Flash socket policy server: Flash-based websocket fallbacks
(flashsocket) ask port 843 or 10843 for ``<policy-file-request/>`` before
they connect."""

from __future__ import annotations

import logging
from typing import Any

from gevent.server import StreamServer

log = logging.getLogger("hubbub.policy")

POLICY_REQUEST = b"<policy-file-request/>"
DEFAULT_POLICY = (
    b'<?xml version="1.0"?><!DOCTYPE cross-domain-policy SYSTEM '
    b'"http://www.macromedia.com/xml/dtds/cross-domain-policy.dtd">'
    b'<cross-domain-policy><allow-access-from domain="*" to-ports="*"/>'
    b"</cross-domain-policy>\0"
)


class FlashPolicyServer(StreamServer):  # type: ignore[misc]
    """Answers a policy request with a policy that allows every origin."""

    def __init__(
        self, listener: Any = ("0.0.0.0", 10843), policy: bytes = DEFAULT_POLICY, **kw: Any
    ) -> None:
        super().__init__(listener, **kw)
        self.policy = policy

    def handle(self, sock: Any, address: Any) -> None:
        sock.settimeout(3)
        try:
            request = b""
            while len(request) < len(POLICY_REQUEST) + 1 and b"\0" not in request:
                chunk = sock.recv(64)
                if not chunk:
                    break
                request += chunk
            if request.startswith(POLICY_REQUEST):
                sock.sendall(self.policy)
            else:
                log.info("%s: not a policy request: %r", address[0], request[:40])
        except OSError as exc:
            log.info("%s: policy request failed: %s", address[0], exc)
        finally:
            sock.close()
