"""A Socket.IO client for every protocol generation, sans-IO.

The public classes are :class:`hubbub.AsyncClient` (asyncio) and
:class:`hubbub.Client` (blocking: threads, or gevent once monkey-patched),
both :class:`hubbub.client.core.ClientBase` on a different
:class:`~hubbub.runtime.contract.ClientDriver`. Modules: ``http1`` (URLs,
requests, answers, cookies, proxies), ``engine`` (an Engine.IO session),
``legacy`` (a 0.9 session), ``reconnect`` (the backoff), ``core`` (the
Socket.IO client), ``namespace`` (class-based namespaces). This package
imports none of them, so importing one does not import the rest.
"""
