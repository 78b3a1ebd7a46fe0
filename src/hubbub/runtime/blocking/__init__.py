"""The blocking runtime: threads (or greenlets under a monkey-patched gevent) for :class:`hubbub.Client`."""
