"""Draw the benchmark chart: ``chart.py RESULTS_JSON OUT_PNG``.

Runs in the peers venv (benchmarks/.venv-peers), where matplotlib lives, so
it imports nothing from hubbub or from the harness.
"""

from __future__ import annotations

import json
import sys
from typing import Any

import matplotlib  # type: ignore[import-not-found, unused-ignore]

matplotlib.use("Agg")  # no display: files only
import matplotlib.pyplot as plt  # type: ignore[import-not-found, unused-ignore]

PANELS: list[tuple[str, str, str, bool]] = [
    ("echo", "acks_per_s", "1. echo: acks/s", False),
    ("fanout-1k", "deliveries_per_s", "2a. fan-out 1k: deliveries/s", True),
    ("fanout-10k", "deliveries_per_s", "2b. fan-out 10k: deliveries/s", True),
    ("idle-10k", "rss_per_conn_bytes", "3a. idle 10k: RSS bytes/conn (lower is better)", False),
    ("idle-10k", "connects_per_s", "3a. idle 10k: connects/s", False),
    ("polling", "acks_per_s", "4. long-polling: acks/s", False),
]
COLOURS = {"hubbub": "#2a7ab0", "peer": "#999999", "ceiling": "#e0a030"}
COMPILED_COLOUR = "#164a6e"  # hubbub's compiled build, darker than its pure rows


def median(doc: dict[str, Any], scenario: str, server: str, field: str) -> float | None:
    cell = doc["summary"].get(scenario, {}).get(server)
    if not cell or not cell["ok_runs"]:
        return None
    value = cell["median"].get(field)
    return None if value is None or value < 0 else float(value)


def main(src: str, dst: str) -> None:
    with open(src) as f:
        doc = json.load(f)
    servers = [s for s in doc["servers"] if s["key"] not in doc["skipped_servers"]]
    panels = [p for p in PANELS if p[0] in doc["summary"]]
    if not panels:
        raise SystemExit("nothing to draw")
    cols = 3
    rows = (len(panels) + cols - 1) // cols
    # room for every bar: each hubbub runtime has two (pure and compiled)
    height = max(3.6, 1.0 + 0.35 * len(servers))
    fig, axes = plt.subplots(rows, cols, figsize=(5.2 * cols, height * rows), squeeze=False)
    for ax in axes.flat[len(panels) :]:
        ax.axis("off")
    for ax, (scenario, field, title, log) in zip(axes.flat, panels, strict=False):
        labels, values, colours = [], [], []
        for s in servers:
            v = median(doc, scenario, s["key"], field)
            if v is None:
                continue
            labels.append(s["label"].replace(" (", "\n("))
            values.append(v)
            compiled = s.get("build") == "compiled"
            colours.append(COMPILED_COLOUR if compiled else COLOURS.get(s["role"], "#999999"))
        ax.barh(labels, values, color=colours)
        ax.invert_yaxis()
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        ax.tick_params(axis="x", labelsize=8)
        if log and values:
            ax.set_xscale("log")
        for i, v in enumerate(values):
            ax.text(v, i, f" {v:,.0f}", va="center", fontsize=7)
        ax.margins(x=0.25)
    # the report carries the note; the chart says only that there is one
    note = " (see the note in docs/benchmarks.md)" if doc.get("note") else ""
    fig.suptitle(f"hubbub benchmarks, {doc['taken']}{note}", fontsize=10)
    fig.tight_layout()
    fig.savefig(dst, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
