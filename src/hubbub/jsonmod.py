"""The JSON module hubbub uses: orjson when installed, the standard library otherwise.

Both functions produce compact JSON with non-ASCII characters kept as they
are, which is what the Node implementations send.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

dumps: Callable[[Any], str]
loads: Callable[[str | bytes], Any]

try:
    import orjson

    def _orjson_dumps(obj: Any) -> str:
        text: str = orjson.dumps(obj).decode("utf-8")
        return text

    dumps = _orjson_dumps
    loads = orjson.loads
except ImportError:  # pragma: no cover - exercised where orjson is absent
    _encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))

    def _std_dumps(obj: Any) -> str:
        return _encoder.encode(obj)

    dumps = _std_dumps
    loads = json.loads
