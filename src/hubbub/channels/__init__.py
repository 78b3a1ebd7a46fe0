"""Channels, events and out-of-band sends: the core django-socketio and
webpy-socketio share (``hubbub.django_socketio``, ``hubbub.webpy_socketio``).

* :mod:`.events`: the decorators apps register handlers with
  (``@on_message(channel="^room-")``) and their dispatch rules;
* :mod:`.channels`: the socket handlers get, with channel subscriptions
  backed by hubbub's rooms (so they span a Redis cluster);
* :mod:`.clients`: this process's connections;
* :mod:`.utils`: ``send``, ``broadcast``, ``broadcast_channel`` from any code,
  raising :class:`~.utils.NoSocket` when nobody would get the message;
* :mod:`.protocol`: the per-connection object a view finds in
  ``environ["socketio"]`` (gevent-socketio 0.2.1's), and :mod:`.flow`, the
  view's loop that turns what it receives into events.

Pages of every generation take part: Socket.IO 0.6 pages with ``new
io.Socket()``, and socket.io-client 0.9 and 4.x with hubbub's channel
extension (``/<resource>/channels.js``), which adds ``subscribe`` and
``unsubscribe`` to their sockets.
"""
