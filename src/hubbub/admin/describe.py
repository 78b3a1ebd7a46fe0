"""Sockets as the admin UI shows them: local ones and those another server
of the cluster describes (fetch_sockets), in @socket.io/admin-ui's form."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from hubbub.jsonmod import jsonable

# where the UI's client id and transport ride in socket.data, as Node's
# instrument keeps them, so other servers of a cluster can show them too
ADMIN_KEY = "_admin"


def now_iso() -> str:
    """The time as JavaScript's Date serializes to JSON."""
    now = datetime.datetime.now(datetime.timezone.utc)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def plain(value: Any, depth: int = 0) -> Any:
    """``value`` as JSON can carry it: what JSON has no form for becomes its repr."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if depth > 20:
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): plain(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v, depth + 1) for v in value]
    if isinstance(value, (bytes, bytearray, memoryview)):
        return jsonable(bytes(value))
    return repr(value)


def app_data(data: Any) -> Any:
    """socket.data without the admin UI's own key."""
    if isinstance(data, Mapping):
        return plain({k: v for k, v in data.items() if k != ADMIN_KEY})
    return plain(data)


def _address(headers: Mapping[str, Any], address: Any) -> Any:
    return headers.get("cf-connecting-ip") or headers.get("x-forwarded-for") or address


def describe_local(socket: Any, client_id: str, transport: str) -> dict[str, Any]:
    """A socket of this server (a ``hubbub.socketio.socket.Socket``)."""
    hs = socket.handshake
    return {
        "id": socket.id,
        "clientId": client_id,
        "transport": transport,
        "nsp": socket.nsp.name,
        "data": app_data(socket.data),
        "handshake": {
            "address": _address(hs.headers, hs.address),
            "headers": dict(hs.headers),
            "query": dict(hs.query),
            "issued": hs.issued,
            "secure": hs.secure,
            "time": hs.time,
            "url": hs.url,
            "xdomain": hs.xdomain,
        },
        "rooms": sorted(socket.rooms),
    }


def describe_remote(socket: Any, nsp: str) -> dict[str, Any]:
    """A socket another server described (a ``RemoteSocket``)."""
    hs: Mapping[str, Any] = socket.handshake if isinstance(socket.handshake, Mapping) else {}
    headers = hs.get("headers")
    headers = headers if isinstance(headers, Mapping) else {}
    data = socket.data
    admin = data.get(ADMIN_KEY) if isinstance(data, Mapping) else None
    admin = admin if isinstance(admin, Mapping) else {}
    return {
        "id": socket.id,
        "clientId": admin.get("clientId"),
        "transport": admin.get("transport"),
        "nsp": nsp,
        "data": app_data(data),
        "handshake": {
            "address": _address(headers, hs.get("address")),
            "headers": plain(headers),
            "query": plain(hs.get("query") or {}),
            "issued": hs.get("issued"),
            "secure": hs.get("secure"),
            "time": hs.get("time"),
            "url": hs.get("url"),
            "xdomain": hs.get("xdomain"),
        },
        "rooms": sorted(str(r) for r in socket.rooms),
    }
