"""The JSON module hubbub uses: orjson when installed, the standard library
otherwise (or when ``HUBBUB_JSON=stdlib`` is set, for tests of this path).

Both paths produce compact JSON with non-ASCII characters kept as they are,
which is what the Node implementations send, and both keep the same two
rules, so a value a client sends can always be sent on to every client:

* decoding is strict: ``NaN``/``Infinity`` and strings holding a lone
  surrogate (``"\\ud800"``) are refused (ValueError), as orjson refuses them;
* encoding never produces invalid JSON: a non-finite float is written as
  ``null`` (JavaScript's JSON.stringify does the same) and a lone surrogate
  in a server-side string as its ``\\uXXXX`` escape (as JSON.stringify
  does), rather than text no client can parse or no UTF-8 can carry.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Callable
from typing import Any

dumps: Callable[[Any], str]
loads: Callable[[str | bytes], Any]

_SURROGATE = re.compile(r"[\ud800-\udfff]")  # re expands the escapes
_std_encoder = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def _finite(value: Any) -> Any:
    """``value`` with every non-finite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def std_dumps(obj: Any) -> str:
    """The standard library's encoder, held to the module's rules."""
    try:
        text = _std_encoder.encode(obj)
    except ValueError:  # a NaN or an infinity: written as null
        text = _std_encoder.encode(_finite(obj))
    if not text.isascii() and _SURROGATE.search(text) is not None:
        # only a string value can hold a lone surrogate: its escape is what
        # JSON.stringify writes, and valid JSON
        text = _SURROGATE.sub(_escape_surrogate, text)
    return text


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _has_lone_surrogate(value: Any) -> bool:
    if isinstance(value, str):
        return not value.isascii() and _SURROGATE.search(value) is not None
    if isinstance(value, dict):
        return any(_has_lone_surrogate(k) or _has_lone_surrogate(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_lone_surrogate(v) for v in value)
    return False


def std_loads(text: str | bytes) -> Any:
    """The standard library's decoder, held to the module's rules."""
    value = json.loads(text, parse_constant=_refuse_constant)
    # a surrogate can only come from a \u escape (raw ones are not UTF-8):
    # look for one in the values only when the text has an escape at all
    escaped = b"\\u" in text if isinstance(text, bytes) else "\\u" in text
    if escaped and _has_lone_surrogate(value):
        raise ValueError("a string holds a lone surrogate")
    return value


try:
    if os.environ.get("HUBBUB_JSON") == "stdlib":
        raise ImportError("HUBBUB_JSON=stdlib")
    import orjson

    def _orjson_dumps(obj: Any) -> str:
        try:
            text: str = orjson.dumps(obj).decode("utf-8")
        except TypeError:
            # a lone surrogate (orjson refuses to write one), or a type
            # neither encoder knows (the standard one says which)
            return std_dumps(obj)
        return text

    dumps = _orjson_dumps
    loads = orjson.loads
except ImportError:
    dumps = std_dumps
    loads = std_loads


def jsonable(value: Any) -> Any:
    """``value`` with bytes in Node's JSON form of a Buffer (JSON has no
    bytes): for the protocols that carry only JSON (0.9, 0.6)."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"type": "Buffer", "data": list(bytes(value))}
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return value
