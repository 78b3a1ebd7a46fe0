"""hubbub's JSON rules on both paths (orjson and the standard library):
strict decoding, and encoding that never produces invalid JSON."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from hubbub import jsonmod

PATHS: dict[str, tuple[Callable[[Any], str], Callable[[Any], Any]]] = {
    "stdlib": (jsonmod.std_dumps, jsonmod.std_loads),
    "default": (jsonmod.dumps, jsonmod.loads),
}


@pytest.fixture(params=sorted(PATHS))
def codec(request: pytest.FixtureRequest) -> tuple[Callable[[Any], str], Callable[[Any], Any]]:
    return PATHS[request.param]


@pytest.mark.parametrize(
    "text",
    [
        '"\\ud800"',
        '["a", "\\udfff b"]',
        '{"k": "x\\ud83d"}',
        '{"\\udc00": 1}',
        "NaN",
        "[Infinity]",
        '{"x": -Infinity}',
    ],
)
def test_decoding_refuses_what_no_client_can_be_sent(
    codec: tuple[Callable[[Any], str], Callable[[Any], Any]], text: str
) -> None:
    _, loads = codec
    with pytest.raises(ValueError):
        loads(text)
    with pytest.raises(ValueError):
        loads(text.encode())


def test_decoding_keeps_escapes_that_are_fine(
    codec: tuple[Callable[[Any], str], Callable[[Any], Any]],
) -> None:
    _, loads = codec
    assert loads('"\\ud83d\\ude00 \\u00e9 \\n"') == "\U0001f600 é \n"
    assert loads('["\\\\ud800"]') == ["\\ud800"]  # an escaped backslash, not an escape
    assert loads('{"a": [1.5, null, true]}') == {"a": [1.5, None, True]}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), "null"),
        ([1.0, float("inf"), -float("inf")], "[1.0,null,null]"),
        ({"x": {"y": float("nan")}}, '{"x":{"y":null}}'),
        ("a\ud800b", '"a\\ud800b"'),
        (["ok", {"k": "\udfff"}], '["ok",{"k":"\\udfff"}]'),
        ("é😀", '"é😀"'),
    ],
)
def test_encoding_always_gives_valid_json(
    codec: tuple[Callable[[Any], str], Callable[[Any], Any]], value: Any, expected: str
) -> None:
    dumps, _ = codec
    text = dumps(value)
    assert text == expected
    text.encode("utf-8")  # carried by UTF-8
    json.loads(text)  # parsed by a strict reader (no NaN: allow_nan applies to dumps only)
    assert "NaN" not in text and "Infinity" not in text


def test_unknown_types_are_still_a_type_error(
    codec: tuple[Callable[[Any], str], Callable[[Any], Any]],
) -> None:
    dumps, _ = codec
    with pytest.raises(TypeError):
        dumps({"b": b"bytes"})
    with pytest.raises(TypeError):
        dumps(object())


def test_hubbub_json_stdlib_selects_the_standard_library() -> None:
    code = (
        "from hubbub import jsonmod; "
        "print(jsonmod.dumps is jsonmod.std_dumps, jsonmod.loads is jsonmod.std_loads)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "HUBBUB_JSON": "stdlib"},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert out.stdout.split() == ["True", "True"]
