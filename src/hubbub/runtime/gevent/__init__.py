"""The gevent runtime: the same sessions and Server under WSGI, in greenlets.

Importing this package imports gevent; it never monkey-patches. Patch
yourself first (``from gevent import monkey; monkey.patch_all()``) or let
``hubbub run --runtime gevent --monkey-patch`` do it before your app loads.
"""
