"""The greenlet primitives gevent-socketio's API gives applications: its
namespaces spawn and kill jobs, its sockets queue packets for a receiver
greenlet. (hubbub's own core never blocks and needs none of them.)"""

from __future__ import annotations

from typing import Any

from gevent import Greenlet, GreenletExit, getcurrent, killall, spawn
from gevent.local import local
from gevent.queue import Queue

__all__ = ["Greenlet", "GreenletExit", "Queue", "is_greenlet_local", "kill_jobs", "spawn"]


def is_greenlet_local(obj: Any) -> bool:
    """Whether ``obj`` (a ``threading.local()`` a library made at import)
    is per greenlet: gevent had patched ``threading`` before it was made."""
    return isinstance(obj, local)


def kill_jobs(jobs: list[Greenlet]) -> None:
    """Kill ``jobs``; when the current greenlet is one of them, it ends
    too (GreenletExit), after the others: a job that ends its socket or
    namespace ends with it."""
    current = getcurrent()
    others = [job for job in jobs if job is not current]
    killall(others)
    if len(others) < len(jobs):
        raise GreenletExit
