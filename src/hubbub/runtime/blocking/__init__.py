"""The blocking runtime of :class:`hubbub.Client`: threads, or greenlets under
a monkey-patched gevent."""
