"""Session ids: unpredictable, and naming the worker process that made them.

Under ``hubbub run --workers N`` a session lives in the worker that created
it, while the kernel hands each new TCP connection to any worker. Every id a
worker gives a session starts with that worker's tag, so whichever worker
reads a request can tell, from the id alone, which worker holds the session
(:func:`owner`). The rest of the id comes from :mod:`secrets`.

Outside a worker (:func:`set_worker` never called) ids carry no tag.
"""

from __future__ import annotations

import secrets

__all__ = ["MAX_WORKERS", "new_digits", "new_id", "owner", "owner_digits", "set_worker", "worker"]

# the characters of secrets.token_urlsafe: a tag is one of them, so a tagged
# id looks like any other and keeps its length
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_INDEX = {c: i for i, c in enumerate(_ALPHABET)}
MAX_WORKERS = len(_ALPHABET)
# a digits-only id (Socket.IO 0.6's) is tagged by its first two digits
_DIGIT_TAG = 2

_worker: int | None = None


def set_worker(index: int | None) -> None:
    """Make this process worker ``index`` (0 <= index < MAX_WORKERS), or none."""
    global _worker
    if index is not None and not 0 <= index < MAX_WORKERS:
        raise ValueError(f"a worker index is in 0..{MAX_WORKERS - 1}, not {index}")
    _worker = index


def worker() -> int | None:
    """This process's worker index, None when it is not a worker."""
    return _worker


def new_id() -> str:
    """A session id of 20 URL-safe characters (114 random bits in a worker,
    120 elsewhere)."""
    sid = secrets.token_urlsafe(15)
    if _worker is None:
        return sid
    return _ALPHABET[_worker] + sid[1:]


def new_digits(length: int) -> str:
    """A session id of ``length`` decimal digits (length > 2)."""
    if _worker is None:
        return str(secrets.randbelow(10**length)).zfill(length)
    rest = length - _DIGIT_TAG
    return f"{_worker:0{_DIGIT_TAG}d}" + str(secrets.randbelow(10**rest)).zfill(rest)


def owner(sid: str) -> int | None:
    """The worker that made ``sid`` (an id of :func:`new_id`), if it names one."""
    return _INDEX.get(sid[0]) if sid else None


def owner_digits(sid: str) -> int | None:
    """The worker that made ``sid`` (an id of :func:`new_digits`), if it names one."""
    tag = sid[:_DIGIT_TAG]
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses,
    # and "٣", which int() reads; new_digits never makes either
    if len(tag) == _DIGIT_TAG and tag.isascii() and tag.isdigit():
        return int(tag)
    return None
