"""Class-based client namespaces, as python-socketio's ``ClientNamespace``.

Subclass it, name methods ``on_<event>`` and register an instance with
``client.register_namespace(MyNamespace("/chat"))``; ``on_connect()``,
``on_connect_error(data)`` and ``on_disconnect(reason)`` are called as
their events happen. The methods that send act on the namespace's own
name.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ClientNamespace"]


class ClientNamespace:
    """A client namespace as a class, as python-socketio's ``ClientNamespace``:
    methods ``on_<event>`` handle the server's events, and the sending
    methods act on this namespace.

    ```python
    class Chat(hubbub.ClientNamespace):
        def on_connect(self): self.emit("join", "lobby")
        def on_message(self, text): print(text)

    client.register_namespace(Chat("/chat"))
    ```"""
    def __init__(self, namespace: str = "/") -> None:
        self.namespace = namespace or "/"
        # the hubbub.AsyncClient or hubbub.Client it is registered with
        self.client: Any = None

    def _client(self) -> Any:
        if self.client is None:
            raise RuntimeError("register the namespace with a client first")
        return self.client

    def handler(self, event: str) -> Any:
        """The method for ``event`` (``on_<event>``), or None."""
        return getattr(self, "on_" + event, None) if event.isidentifier() else None

    def emit(self, event: str, *args: Any, callback: Any = None) -> Any:
        """The client's ``emit`` on this namespace."""
        return self._client().emit(event, *args, namespace=self.namespace, callback=callback)

    def send(self, data: Any, callback: Any = None) -> Any:
        """The client's ``send`` on this namespace."""
        return self._client().send(data, namespace=self.namespace, callback=callback)

    def call(self, event: str, *args: Any, timeout: float = 60) -> Any:
        """The client's ``call`` on this namespace: emit and wait for the server's
        ack (``await`` it with ``AsyncClient``)."""
        return self._client().call(event, *args, namespace=self.namespace, timeout=timeout)

    def disconnect(self) -> Any:
        """Disconnect the client (every namespace)."""
        return self._client().disconnect()
