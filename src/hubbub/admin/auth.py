"""Who may open the admin UI: the credentials the UI sends on connect
(``{"username", "password"}``), or the session id it got for them before.

``auth`` is one of:

* ``False``: anyone (for a closed network only);
* ``{"username": ..., "password": ...}`` (``"type": "basic"`` may be there,
  as Node's option has it), or a list of such: the password is a bcrypt
  hash (``$2a$``/``$2b$``/``$2y$``, checked with the optional ``bcrypt``
  package: ``pip install hubbub[admin]``) or the plain password;
* a callable ``(auth) -> bool`` given the UI's whole auth object.
"""

from __future__ import annotations

import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, Literal

BCRYPT_PREFIXES = ("$2a$", "$2b$", "$2y$")

Check = Callable[[Mapping[str, Any]], bool]
#: what ``sio.instrument(auth=...)`` takes
AuthSetting = (
    Literal[False]
    | Mapping[str, str]
    | list[Mapping[str, str]]
    | Callable[[Mapping[str, Any]], Any]
)


def is_bcrypt_hash(password: str) -> bool:
    return password.startswith(BCRYPT_PREFIXES) and len(password) == 60


def _bcrypt() -> Any:
    try:
        import bcrypt
    except ImportError:
        raise RuntimeError(
            "a bcrypt password hash needs the bcrypt package: pip install 'hubbub[admin]'"
        ) from None
    return bcrypt


def _password_check(password: str) -> Callable[[str], bool]:
    if is_bcrypt_hash(password):
        bcrypt = _bcrypt()
        hashed = password.encode()

        def matches_hash(given: str) -> bool:
            try:
                return bool(bcrypt.checkpw(given.encode("utf-8", "surrogatepass"), hashed))
            except ValueError:  # a malformed hash
                return False

        return matches_hash
    expected = password.encode("utf-8", "surrogatepass")

    def matches(given: str) -> bool:
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), expected)

    return matches


def credentials_check(auth: AuthSetting) -> Check | None:
    """The check for the ``auth`` option; None when ``auth`` is False."""
    if auth is False:
        return None
    if callable(auth):
        fn: Callable[[Mapping[str, Any]], Any] = auth

        def by_callable(given: Mapping[str, Any]) -> bool:
            return bool(fn(given))

        return by_callable
    entries = [auth] if isinstance(auth, Mapping) else auth
    if not isinstance(entries, list) or not entries:
        raise ValueError(
            "auth: give False, {'username': ..., 'password': ...}, a list of those, "
            "or a callable (auth) -> bool"
        )
    users: dict[str, Callable[[str], bool]] = {}
    for entry in entries:
        if not isinstance(entry, Mapping):
            raise ValueError(f"auth: {entry!r} is no {{'username', 'password'}} mapping")
        if entry.get("type", "basic") != "basic":
            raise ValueError(f"auth: unknown type {entry.get('type')!r} (only 'basic')")
        username, password = entry.get("username"), entry.get("password")
        if not isinstance(username, str) or not isinstance(password, str) or not password:
            raise ValueError("auth: 'username' and a non-empty 'password' are needed")
        users[username] = _password_check(password)

    def by_password(given: Mapping[str, Any]) -> bool:
        username, password = given.get("username"), given.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            return False
        check = users.get(username)
        return check is not None and check(password)

    return by_password


class SessionStore:
    """The session ids given to the UI after a good login, so a reload
    reconnects without the password (which the UI does not keep). Bounded:
    the oldest ids go first; each lasts ``lifetime`` seconds."""

    def __init__(self, lifetime: float = 86400.0, capacity: int = 1000) -> None:
        self.lifetime = lifetime
        self.capacity = capacity
        self._expiry: OrderedDict[str, float] = OrderedDict()

    def new(self) -> str:
        session_id = secrets.token_urlsafe(16)
        self._expiry[session_id] = time.monotonic() + self.lifetime
        while len(self._expiry) > self.capacity:
            self._expiry.popitem(last=False)
        return session_id

    def valid(self, session_id: Any) -> bool:
        if not isinstance(session_id, str):
            return False
        expiry = self._expiry.get(session_id)
        if expiry is None:
            return False
        if expiry < time.monotonic():
            del self._expiry[session_id]
            return False
        return True
