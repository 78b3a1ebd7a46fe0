"""gevent's monkey patching, for ``hubbub run --runtime gevent --monkey-patch``:
it must run before the application (and the standard library modules it
patches) is imported."""

from __future__ import annotations


def patch_all() -> None:
    from gevent import monkey

    monkey.patch_all()
