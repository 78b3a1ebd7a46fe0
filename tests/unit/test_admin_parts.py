"""The admin UI's parts without a network: the credentials check (plain and
bcrypt passwords, lists, callables), the session ids, the aggregated counts
and what the UI is sent of a socket's data."""

from __future__ import annotations

import time

import bcrypt
import pytest

from hubbub.admin.auth import SessionStore, credentials_check, is_bcrypt_hash
from hubbub.admin.describe import app_data, now_iso, plain
from hubbub.admin.events import EventCounts


def test_no_auth_means_no_check() -> None:
    assert credentials_check(False) is None


def test_plain_password() -> None:
    check = credentials_check({"username": "admin", "password": "s3cret"})
    assert check is not None
    assert check({"username": "admin", "password": "s3cret"})
    assert not check({"username": "admin", "password": "s3cret "})
    assert not check({"username": "other", "password": "s3cret"})
    assert not check({"username": "admin"})
    assert not check({"username": "admin", "password": 123})
    assert not check({})


def test_bcrypt_hash_as_node_option() -> None:
    hashed = bcrypt.hashpw(b"changeit", bcrypt.gensalt(rounds=4)).decode()
    assert is_bcrypt_hash(hashed)
    check = credentials_check({"type": "basic", "username": "admin", "password": hashed})
    assert check is not None
    assert check({"username": "admin", "password": "changeit"})
    assert not check({"username": "admin", "password": hashed})
    assert not check({"username": "admin", "password": "changeIt"})


def test_several_users() -> None:
    hashed = bcrypt.hashpw("pässword".encode(), bcrypt.gensalt(rounds=4)).decode()
    check = credentials_check(
        [{"username": "ops", "password": hashed}, {"username": "dev", "password": "plain"}]
    )
    assert check is not None
    assert check({"username": "ops", "password": "pässword"})
    assert check({"username": "dev", "password": "plain"})
    assert not check({"username": "dev", "password": "pässword"})


def test_callable() -> None:
    check = credentials_check(lambda auth: auth.get("token") == "t0k")
    assert check is not None
    assert check({"token": "t0k"})
    assert not check({"token": "nope"})


@pytest.mark.parametrize(
    "auth",
    [None, {}, [], {"username": "a"}, {"username": "a", "password": ""},
     {"type": "jwt", "username": "a", "password": "b"}, ["x"], "admin:secret"],
)
def test_bad_auth_options(auth: object) -> None:
    with pytest.raises(ValueError):
        credentials_check(auth)


def test_session_ids() -> None:
    store = SessionStore(lifetime=60, capacity=2)
    first, second = store.new(), store.new()
    assert first != second and len(first) >= 20
    assert store.valid(first) and store.valid(second)
    assert not store.valid("made-up") and not store.valid(None) and not store.valid(1)
    third = store.new()  # over capacity: the oldest goes
    assert not store.valid(first) and store.valid(third)
    expired = SessionStore(lifetime=-1)
    assert not expired.valid(expired.new())


def test_event_counts_by_second_type_and_subtype() -> None:
    counts = EventCounts()
    counts.add("rawConnection")
    counts.add("rawConnection")
    counts.add("bytesIn", 120)
    counts.add("rawDisconnection", sub_type="transport close")
    drained = counts.drain()
    assert counts.drain() == []
    second = int(time.time()) * 1000
    by_type = {(e["type"], e.get("subType")): e for e in drained}
    assert by_type[("rawConnection", None)]["count"] == 2
    assert by_type[("bytesIn", None)]["count"] == 120
    assert by_type[("rawDisconnection", "transport close")]["count"] == 1
    assert "subType" not in by_type[("rawConnection", None)]
    for entry in drained:
        assert second - 2000 <= entry["timestamp"] <= second
        assert entry["timestamp"] % 1000 == 0


def test_data_as_the_ui_gets_it() -> None:
    class Thing:
        def __repr__(self) -> str:
            return "<Thing>"

    data = {"_admin": {"clientId": "x"}, "user": "ann", "blob": b"\x01", "obj": Thing(), 3: (1,)}
    assert app_data(data) == {
        "user": "ann",
        "blob": {"type": "Buffer", "data": [1]},
        "obj": "<Thing>",
        "3": [1],
    }
    assert app_data(None) is None
    assert plain([1.5, True, None]) == [1.5, True, None]
    stamp = now_iso()
    assert stamp.endswith("Z") and len(stamp) == len("2026-01-01T00:00:00.000Z")
