"""gevent-socketio's JSON defaults (``socketio.defaultjson``): compact,
keys sorted, a ``Decimal`` written as a number, as gevent-socketio wrote it.

hubbub's own codecs encode what goes on the wire; these two are what
:mod:`hubbub.gevent_socketio.packet` and a connection's ``json_dumps`` /
``json_loads`` hooks default to.
"""

from __future__ import annotations

import decimal
import json
from typing import Any

__all__ = ["default_json_dumps", "default_json_loads"]


class _DecimalEncoder(json.JSONEncoder):
    def default(self, o: Any) -> Any:
        if isinstance(o, decimal.Decimal):
            return float(o)
        return super().default(o)


_encoder = _DecimalEncoder(separators=(",", ":"), sort_keys=True)


def default_json_dumps(data: Any) -> str:
    """gevent-socketio's JSON encoder: compact, sorted keys, ``Decimal`` as float."""
    return _encoder.encode(data)


def default_json_loads(data: str | bytes) -> Any:
    """gevent-socketio's JSON decoder: ``json.loads``."""
    return json.loads(data)
