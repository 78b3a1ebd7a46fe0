"""The Flash socket policy server: Flash-based websocket fallbacks
(flashsocket) ask port 843 or 10843 for ``<policy-file-request/>`` before
they connect."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from gevent.server import StreamServer

log = logging.getLogger("hubbub.policy")

POLICY_REQUEST = b"<policy-file-request/>"


def policy_for(ports: Iterable[int], domain: str = "*") -> bytes:
    """A policy letting Flash movies of ``domain`` connect to ``ports`` only
    (NUL-terminated, as Flash requires)."""
    to_ports = ",".join(str(p) for p in sorted(set(ports)))
    return (
        '<?xml version="1.0"?><!DOCTYPE cross-domain-policy SYSTEM '
        '"http://www.macromedia.com/xml/dtds/cross-domain-policy.dtd">'
        f'<cross-domain-policy><allow-access-from domain="{domain}" to-ports="{to_ports}"/>'
        "</cross-domain-policy>\0"
    ).encode()


class FlashPolicyServer(StreamServer):  # type: ignore[misc]
    """Answers a policy request with a policy for the server's ``ports``
    only (the web ports when none are given). It listens on loopback unless
    told where: a policy server is only needed where Flash clients are."""

    def __init__(
        self,
        listener: Any = ("127.0.0.1", 10843),
        policy: bytes | None = None,
        *,
        ports: Iterable[int] = (80, 443),
        **kw: Any,
    ) -> None:
        super().__init__(listener, **kw)
        self.policy = policy if policy is not None else policy_for(ports)

    def handle(self, sock: Any, address: Any) -> None:
        """Answer one connection: the policy for a ``<policy-file-request/>``,
        then close."""
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
