"""The ``{% socketio %}`` template tag (``{% load socketio_tags %}``)."""
