"""The Socket.IO admin UI (@socket.io/admin-ui) for hubbub servers:
``sio.instrument(auth=...)``; see :mod:`hubbub.admin.instrument`."""

from hubbub.admin.instrument import Instrument, instrument

__all__ = ["Instrument", "instrument"]
