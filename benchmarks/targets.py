"""The optimisation targets and the comparison with the previous report, each
computed from a results document's medians (no I/O: report.py renders them).

A target is met when the pure-Python build or the compiled build of the
runtime it names reaches it; both are shown.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

EMBEDDED = "hubbub-asyncio"
ASGI = "hubbub-asgi"
GEVENT = "hubbub-gevent"
RUNTIMES = (EMBEDDED, ASGI, GEVENT)
COMPILED_SUFFIX = "-compiled"
# How much worse than the baseline a cell may be before it is flagged: repeated
# runs of one cell on a shared machine differ by about this much.
NOISE = 0.10


def median(doc: dict[str, Any], scenario: str, server: str, fld: str) -> float | None:
    cell = doc["summary"].get(scenario, {}).get(server)
    if not cell or not cell["ok_runs"]:
        return None
    value = cell["median"].get(fld)
    return None if value is None or value < 0 else float(value)


def metric(doc: dict[str, Any], scenario: str, fld: str) -> dict[str, Any]:
    for sc in doc["scenarios"]:
        if sc["key"] == scenario:
            for m in sc["metrics"]:
                if m["field"] == fld:
                    return dict(m)
    return {"field": fld, "label": fld, "higher_is_better": True, "fmt": ",.0f"}


def compiled_key(key: str) -> str:
    return key + COMPILED_SUFFIX


def pure_key(key: str) -> str:
    return key.removesuffix(COMPILED_SUFFIX)


@dataclass(frozen=True)
class Target:
    what: str
    scenario: str
    field: str
    runtimes: tuple[str, ...]  # pure server keys: the best of them counts
    factor: float  # times the reference's median, or the figure itself
    reference: str | None = None  # a server key; None when factor is a fixed figure
    at_least: bool = True  # False: hubbub must stay at most at the figure


TARGETS: list[Target] = [
    Target("embedded: echo at least 2x Node's acks/s", "echo", "acks_per_s", (EMBEDDED,), 2,
           "node"),
    Target("embedded: long-polling at least 1.5x Node's acks/s", "polling", "acks_per_s",
           (EMBEDDED,), 1.5, "node"),
    Target("gevent: echo at least Node's acks/s", "echo", "acks_per_s", (GEVENT,), 1, "node"),
    Target("gevent: long-polling at least Node's acks/s", "polling", "acks_per_s", (GEVENT,),
           1, "node"),
    Target("gevent: connects/s (10,000 idle) at least Node's", "idle-10k", "connects_per_s",
           (GEVENT,), 1, "node"),
    Target("gevent: fan-out 1,000 at least 5x Node's", "fanout-1k", "deliveries_per_s",
           (GEVENT,), 5, "node"),
    Target("gevent: fan-out 10,000 at least 5x Node's", "fanout-10k", "deliveries_per_s",
           (GEVENT,), 5, "node"),
    Target("ASGIApp (uvicorn): echo at least 0.8x Node's acks/s", "echo", "acks_per_s",
           (ASGI,), 0.8, "node"),
    Target("fan-out 1,000: at least 0.3x the ceiling's deliveries/s (best runtime)",
           "fanout-1k", "deliveries_per_s", RUNTIMES, 0.3, "ceiling"),
    Target("embedded: idle memory at most 2.5 KB per websocket", "idle-10k",
           "rss_per_conn_bytes", (EMBEDDED,), 2560, None, False),
    Target("gevent: idle memory at most 8 KB per websocket", "idle-10k", "rss_per_conn_bytes",
           (GEVENT,), 8192, None, False),
]  # fmt: skip


@dataclass(frozen=True)
class TargetResult:
    target: Target
    reference: float | None  # the reference server's median; None for a fixed figure
    needed: float | None  # None when the reference was not measured
    pure: tuple[float, str] | None  # the best pure (value, server key)
    compiled: tuple[float, str] | None  # the best compiled one
    met_by: tuple[str, ...]  # "pure" and/or "compiled"

    @property
    def measured(self) -> bool:
        return self.needed is not None and (self.pure or self.compiled) is not None


def _best(
    doc: dict[str, Any], target: Target, keys: list[str], higher: bool
) -> tuple[float, str] | None:
    found = [
        (v, key)
        for key in keys
        if (v := median(doc, target.scenario, key, target.field)) is not None
    ]
    if not found:
        return None
    return max(found) if higher else min(found)


def evaluate(doc: dict[str, Any], target: Target) -> TargetResult:
    higher = bool(metric(doc, target.scenario, target.field)["higher_is_better"])
    reference: float | None = None
    needed: float | None = target.factor
    if target.reference is not None:
        reference = median(doc, target.scenario, target.reference, target.field)
        needed = None if reference is None else reference * target.factor
    pure = _best(doc, target, list(target.runtimes), higher)
    comp = _best(doc, target, [compiled_key(k) for k in target.runtimes], higher)
    met_by: list[str] = []
    if needed is not None:
        for build, best in (("pure", pure), ("compiled", comp)):
            if best is not None and (best[0] >= needed if target.at_least else best[0] <= needed):
                met_by.append(build)
    return TargetResult(target, reference, needed, pure, comp, tuple(met_by))


def evaluate_all(doc: dict[str, Any]) -> list[TargetResult]:
    return [evaluate(doc, t) for t in TARGETS]


# --------------------------------------------------------------------------- baseline

# The cells the ratios and the chart are about: (scenario, metric field).
HEADLINES: list[tuple[str, str]] = [
    ("echo", "acks_per_s"),
    ("echo", "p99_ms"),
    ("fanout-1k", "deliveries_per_s"),
    ("fanout-10k", "deliveries_per_s"),
    ("many-1k", "deliveries_per_s"),
    ("idle-10k", "rss_per_conn_bytes"),
    ("idle-10k", "connects_per_s"),
    ("idle-max", "clients_ready"),
    ("polling", "acks_per_s"),
    ("v09-echo", "acks_per_s"),
]

# The cells compared with the previous report: the headlines but for a
# latency percentile (noisier than the run-to-run noise the comparison allows)
BASELINE_CELLS: list[tuple[str, str]] = [cell for cell in HEADLINES if cell[1] != "p99_ms"]


# Rates depend on the machine: a baseline taken on another (or a busier) one
# is scaled by what the reference peer did there and here. Memory per
# connection and the connections held (capped by the open-files limit) do not.
_MACHINE_BOUND = ("rss_per_conn_bytes", "clients_ready")


def reference_peer(scenario: str) -> str:
    """The peer a scenario's rates are scaled by (Node, in its generation)."""
    return "node-09" if scenario.startswith("v09") else "node"


@dataclass(frozen=True)
class BaselineCell:
    scenario: str
    field: str
    server: str  # this run's server key; its baseline is its pure runtime's
    before: float
    now: float | None  # None: not measured in this run
    higher_is_better: bool
    # the reference peer's now/before in this cell (None: not scaled)
    peer_scale: float | None = None

    @property
    def ratio(self) -> float | None:
        """now / before, with before scaled by the reference peer's change."""
        if self.now is None or not self.before:
            return None
        return self.now / (self.before * (self.peer_scale or 1.0))

    @property
    def worse(self) -> bool:
        """Worse than the baseline by more than the noise."""
        r = self.ratio
        if r is None:
            return False
        return r < 1 - NOISE if self.higher_is_better else r > 1 + NOISE


def compare_baseline(doc: dict[str, Any], baseline: dict[str, Any]) -> list[BaselineCell]:
    """Every hubbub cell of this run that the baseline has, pure and compiled
    alike (the baseline's own are pure)."""
    out: list[BaselineCell] = []
    before_medians: dict[str, dict[str, dict[str, float]]] = baseline["medians"]
    servers = [
        s["key"]
        for s in doc["servers"]
        if s["role"] == "hubbub" and s["key"] not in doc["skipped_servers"]
    ]
    for scenario, fld in BASELINE_CELLS:
        if scenario not in doc["summary"]:
            continue
        higher = bool(metric(doc, scenario, fld)["higher_is_better"])
        for key in servers:
            before = before_medians.get(scenario, {}).get(pure_key(key), {}).get(fld)
            if before is None:
                continue
            now = median(doc, scenario, key, fld)
            out.append(
                BaselineCell(
                    scenario,
                    fld,
                    key,
                    float(before),
                    now,
                    higher,
                    _peer_scale(doc, baseline, scenario, fld),
                )
            )
    return out


def _peer_scale(
    doc: dict[str, Any], baseline: dict[str, Any], scenario: str, fld: str
) -> float | None:
    if fld in _MACHINE_BOUND:
        return None
    peer = reference_peer(scenario)
    then = baseline["medians"].get(scenario, {}).get(peer, {}).get(fld)
    now = median(doc, scenario, peer, fld)
    if not then or not now:
        return None
    return float(now) / float(then)


def no_slower(cells: list[BaselineCell]) -> tuple[int, int, int, int, bool]:
    """The "no scenario slower than before" target: worse pure cells, pure
    cells compared, worse compiled cells, compiled cells compared, and
    whether it is met (each runtime's cell not worse on at least one build)."""
    pure = [c for c in cells if c.now is not None and c.server == pure_key(c.server)]
    comp = [c for c in cells if c.now is not None and c.server != pure_key(c.server)]
    worse: dict[tuple[str, str, str], list[bool]] = {}
    for c in pure + comp:
        worse.setdefault((c.scenario, c.field, pure_key(c.server)), []).append(c.worse)
    met = bool(worse) and all(not all(flags) for flags in worse.values())
    return (
        sum(c.worse for c in pure),
        len(pure),
        sum(c.worse for c in comp),
        len(comp),
        met,
    )
