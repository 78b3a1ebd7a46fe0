"""One endpoint for every protocol generation served under one path.

Engine.IO (Socket.IO clients 1.x-4.x) owns the path; an older generation
(Socket.IO 0.9 at ``/<resource>/1/...``) has an endpoint of its own that
claims its requests by their URL. The :class:`Router` is what a runtime is
given: it asks each older generation first and hands the rest to Engine.IO.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Protocol

from hubbub.http import HttpRequest, HttpResponse
from hubbub.runtime.contract import Answer, Endpoint, Runtime

log = logging.getLogger("hubbub.engineio")


class Generation(Protocol):
    """The endpoint of one older protocol generation under the same path."""

    def claims(self, req: HttpRequest) -> bool:
        """Whether the request is one of this generation's (by its URL)."""
        ...

    def session_owner(self, req: HttpRequest) -> int | None:
        """The worker holding the session a claimed request names, if any."""
        ...

    def streams(self, req: HttpRequest) -> bool:
        """Whether a claimed request's answer is a stream holding its connection."""
        ...

    def handle_request(self, req: HttpRequest, now: float) -> Answer: ...
    def close_all(self, reason: str) -> None: ...


class Router:
    """An :class:`~hubbub.runtime.contract.Endpoint` made of the main one
    and the endpoints of older generations."""

    __slots__ = ("generations", "main")

    def __init__(self, main: Endpoint, generations: Sequence[Generation] = ()) -> None:
        self.main = main
        self.generations = tuple(generations)

    @property
    def path(self) -> str:
        return self.main.path

    @property
    def max_message_size(self) -> int:
        return self.main.max_message_size

    @property
    def websocket_compression(self) -> bool:
        return self.main.websocket_compression

    @property
    def runtime(self) -> Runtime | None:
        return self.main.runtime

    def serves(self, path: str) -> bool:
        return self.main.serves(path)

    def claims(self, req: HttpRequest) -> bool:
        return self.main.claims(req) or any(g.claims(req) for g in self.generations)

    def attach(self, runtime: Runtime) -> None:
        # the generations share the main endpoint's scheduler
        self.main.attach(runtime)

    def session_owner(self, req: HttpRequest) -> int | None:
        for generation in self.generations:
            if generation.claims(req):
                return generation.session_owner(req)
        return self.main.session_owner(req)

    def streams(self, req: HttpRequest) -> bool:
        for generation in self.generations:
            if generation.claims(req):
                return generation.streams(req)
        return self.main.streams(req)

    def handle_request(self, req: HttpRequest, now: float) -> Answer:
        for generation in self.generations:
            if generation.claims(req):
                answer = generation.handle_request(req, now)
                if isinstance(answer, HttpResponse) and answer.status >= 400:
                    log.info("%s %s -> %d (%s)", req.method, req.url, answer.status,
                             type(generation).__name__)
                return answer
        return self.main.handle_request(req, now)

    def close_all(self, reason: str) -> None:
        self.main.close_all(reason)
        for generation in self.generations:
            generation.close_all(reason)
