"""HttpRequest's query parameters: the same as ``urllib.parse.parse_qsl``
gives (first value wins), whether or not the query takes the fast path for
strings with nothing to unquote."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given
from hypothesis import strategies as st

from hubbub.http import HttpRequest


def _reference(qs: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in parse_qsl(qs, keep_blank_values=True):
        out.setdefault(k, v)
    return out


def test_engineio_queries() -> None:
    req = HttpRequest("GET", "/socket.io/", "EIO=4&transport=polling&t=PAx1&sid=ab-c_d")
    assert req.query == {"EIO": "4", "transport": "polling", "t": "PAx1", "sid": "ab-c_d"}
    blanks = HttpRequest("GET", "/", "a=1&a=2&b&=x&&c=")
    assert blanks.query == {"a": "1", "b": "", "": "x", "c": ""}
    assert HttpRequest("GET", "/", "a=%41+b").query == {"a": "A b"}


@given(st.text(alphabet="ab=&%+;2Fé ", max_size=30))
def test_the_query_is_what_parse_qsl_gives(qs: str) -> None:
    assert HttpRequest("GET", "/", qs).query == _reference(qs)
