"""Who may open another session: the per-address cap
(``max_sessions_per_address``), shared by every protocol generation's
endpoint of one server, so a client cannot get around it by speaking an
older protocol."""

from __future__ import annotations


class SessionCounter:
    """Live sessions per client address, when they are capped (``limit``
    None: no cap, and no bookkeeping at all)."""

    __slots__ = ("_by_address", "_by_sid", "limit")

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit
        self._by_address: dict[str, int] = {}
        self._by_sid: dict[str, str] = {}

    def has_room(self, address: str | None) -> bool:
        """Whether ``address`` may open one more session."""
        limit = self.limit
        return limit is None or address is None or self._by_address.get(address, 0) < limit

    def opened(self, sid: str, address: str | None) -> None:
        if self.limit is None or address is None:
            return
        self._by_sid[sid] = address
        self._by_address[address] = self._by_address.get(address, 0) + 1

    def closed(self, sid: str) -> None:
        address = self._by_sid.pop(sid, None)
        if address is None:
            return
        left = self._by_address[address] - 1
        if left:
            self._by_address[address] = left
        else:
            del self._by_address[address]
