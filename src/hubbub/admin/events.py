"""The admin UI's aggregated events: counts per second of connections,
disconnections (by reason), packets and bytes in and out, sent with each
server_stats report and then forgotten."""

from __future__ import annotations

import time
from typing import Any


class EventCounts:
    __slots__ = ("_counts",)

    def __init__(self) -> None:
        # (second in ms, type, sub type) -> count
        self._counts: dict[tuple[int, str, str | None], int] = {}

    def add(self, kind: str, count: int = 1, sub_type: str | None = None) -> None:
        key = (int(time.time()) * 1000, kind, sub_type)
        self._counts[key] = self._counts.get(key, 0) + count

    def drain(self) -> list[dict[str, Any]]:
        """Every count since the last drain, as the UI reads them."""
        counts, self._counts = self._counts, {}
        out: list[dict[str, Any]] = []
        for (timestamp, kind, sub_type), count in counts.items():
            entry: dict[str, Any] = {"timestamp": timestamp, "type": kind, "count": count}
            if sub_type is not None:
                entry["subType"] = sub_type
            out.append(entry)
        return out
