"""Turn a results document (benchmarks/results/*.json) into docs/benchmarks.md,
and have the peers venv's matplotlib draw the chart beside it."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import report_workers, targets
from benchmarks.peers import BENCH_DIR, ROOT
from benchmarks.report_workers import in_section, scenario_section
from benchmarks.targets import HEADLINES, median, metric

BASELINE = BENCH_DIR / "baseline.json"

# Where the ceiling must show that the load generator has room to spare:
# (scenario, metric) it must reach twice the best Socket.IO server's value in.
GENERATOR_CHECKS: list[tuple[str, str]] = [
    ("echo", "acks_per_s"),
    ("fanout-1k", "deliveries_per_s"),
    ("fanout-10k", "deliveries_per_s"),
    ("idle-10k", "connects_per_s"),
    ("idle-max", "connects_per_s"),
]


def _spread(doc: dict[str, Any], scenario: str, server: str, fld: str) -> str:
    """Half the min-max range as a percentage of the median: how far to trust
    a cell measured on a shared machine."""
    cell = doc["summary"].get(scenario, {}).get(server)
    if not cell:
        return ""
    samples = cell["samples"].get(fld, [])
    med = cell["median"].get(fld)
    if len(samples) < 2 or not med:
        return ""
    return f" ±{50 * (max(samples) - min(samples)) / med:.0f}%"


def _fmt(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _label(doc: dict[str, Any], key: str) -> str:
    return next((s["label"] for s in doc["servers"] if s["key"] == key), key)


def _servers(doc: dict[str, Any], role: str | None = None) -> list[dict[str, Any]]:
    """The servers of the main section (report_workers renders the other)."""
    return [
        s
        for s in doc["servers"]
        if s["key"] not in doc["skipped_servers"]
        and (role is None or s["role"] == role)
        and in_section(s, "main")
    ]


def _scenario_table(doc: dict[str, Any], sc: dict[str, Any]) -> list[str]:
    metrics = sc["metrics"]
    lines = [
        "| server | " + " | ".join(m["label"] for m in metrics) + " | runs |",
        "|---|" + "---:|" * len(metrics) + "---:|",
    ]
    for srv in _servers(doc):
        if sc["transport"] == "polling" and not srv["polling"]:
            continue
        cell = doc["summary"].get(sc["key"], {}).get(srv["key"])
        if cell is None:
            continue
        cols = []
        for i, m in enumerate(metrics):
            v = median(doc, sc["key"], srv["key"], m["field"])
            text = _fmt(v, m["fmt"])
            if i == 0 and v is not None:
                text += _spread(doc, sc["key"], srv["key"], m["field"])
            cols.append(text)
        runs = f"{cell['ok_runs']}/{cell['runs']}"
        lines.append(f"| {srv['label']} | " + " | ".join(cols) + f" | {runs} |")
    notes = []
    for srv in _servers(doc):
        cell = doc["summary"].get(sc["key"], {}).get(srv["key"])
        if cell and cell["errors"]:
            notes.append(
                f"- {srv['label']}: {cell['errors'][0]}"
                + (f" (and {len(cell['errors']) - 1} more)" if len(cell["errors"]) > 1 else "")
            )
    if notes:
        lines += ["", "Failed runs (not in the medians):", "", *notes]
    return lines


def _ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    return f"{a / b:.2f}x"


def _ratio_table(doc: dict[str, Any]) -> list[str]:
    peer = {s["key"]: s for s in doc["servers"]}
    lines = [
        "| metric | hubbub runtime | hubbub | hubbub/Node | hubbub/python-socketio "
        "| hubbub/ceiling | compiled/pure |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for scenario, fld in HEADLINES:
        if scenario not in doc["summary"]:
            continue
        m = metric(doc, scenario, fld)
        better = "" if m["higher_is_better"] else " (lower is better)"
        for srv in _servers(doc, "hubbub"):
            mine = median(doc, scenario, srv["key"], fld)
            if mine is None:
                continue
            # the 0.9 scenario's Node is socket.io 0.9.17 (4.8 does not speak 0.9)
            node = "node-09" if scenario.startswith("v09") else "node"
            ratios = [
                _ratio(mine, median(doc, scenario, other, fld))
                if other in peer and other not in doc["skipped_servers"]
                else "-"
                for other in (node, "python-socketio", "ceiling")
            ]
            # a compiled row against the same runtime's pure build
            pure = targets.pure_key(srv["key"])
            ratios.append(
                _ratio(mine, median(doc, scenario, pure, fld)) if pure != srv["key"] else "-"
            )
            lines.append(
                f"| {scenario} {m['label']}{better} | {srv['label']} | {_fmt(mine, m['fmt'])} | "
                + " | ".join(ratios)
                + " |"
            )
    return lines


def _target_value(doc: dict[str, Any], t: targets.Target, best: tuple[float, str] | None) -> str:
    if best is None:
        return "-"
    text = _fmt(best[0], metric(doc, t.scenario, t.field)["fmt"])
    if len(t.runtimes) > 1:
        text += f" ({_label(doc, best[1])})"
    return text


def _targets(doc: dict[str, Any], baseline: dict[str, Any] | None) -> list[str]:
    """Each target against the pure and the compiled build of its runtime."""
    lines = [
        "| target | reference | needed | pure | compiled | met |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for r in targets.evaluate_all(doc):
        t = r.target
        if t.scenario not in doc["summary"]:
            continue
        fmt = metric(doc, t.scenario, t.field)["fmt"]
        if t.reference is None:
            reference = "-"
        else:
            reference = f"{_label(doc, t.reference)} {_fmt(r.reference, fmt)}"
        if not r.measured:
            met = "not measured"
        elif r.met_by:
            met = "yes (" + ", ".join(r.met_by) + ")"
        else:
            met = "**no**"
        lines.append(
            f"| {t.what} | {reference} | {_fmt(r.needed, fmt)} | "
            f"{_target_value(doc, t, r.pure)} | {_target_value(doc, t, r.compiled)} | {met} |"
        )
    if baseline is not None:
        cells = targets.compare_baseline(doc, baseline)
        if cells:
            pure_worse, pure_n, comp_worse, comp_n, met_all = targets.no_slower(cells)
            lines.append(
                f"| no scenario slower than before (see below) | {baseline['taken']} | "
                f"within {targets.NOISE:.0%} | {pure_worse} of {pure_n} cells worse | "
                f"{comp_worse} of {comp_n} cells worse | {'yes' if met_all else '**no**'} |"
            )
    return lines


def _baseline_table(doc: dict[str, Any], baseline: dict[str, Any]) -> list[str]:
    cells = targets.compare_baseline(doc, baseline)
    if not cells:
        return []
    lines = [
        "## Against the previous report",
        "",
        f"Each hubbub cell against the same cell of the report taken {baseline['taken']} "
        f"(hubbub {baseline['commit']}; its medians are in benchmarks/baseline.json). That "
        "report measured the pure-Python build only, so compiled rows are compared with "
        "their runtime's pure cell there. Rates are compared relative to Node: each "
        "baseline rate is scaled by Node's rate in this run over Node's rate then (the "
        "column 'Node now/then'), so a faster or slower machine, or a busier one, moves "
        "both alike; memory per connection and the connections held are compared as "
        "they are. The machine is a shared VM, where repeated runs of one cell vary by "
        f"10-25%: a cell is flagged when it is more than {targets.NOISE:.0%} worse."
        + (
            " This run is a quick one (shorter and fewer runs than the baseline's): "
            "its comparison is a smoke check only."
            if doc["config"].get("quick")
            else ""
        ),
        "",
        "| scenario | server | before | Node now/then | now | now/before, scaled | |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for c in cells:
        m = metric(doc, c.scenario, c.field)
        better = "" if c.higher_is_better else " (lower is better)"
        flag = "**worse**" if c.worse else ""
        ratio = "-" if c.ratio is None else f"{c.ratio:.2f}x"
        scale = "-" if c.peer_scale is None else f"{c.peer_scale:.2f}x"
        lines.append(
            f"| {c.scenario} {m['label']}{better} | {_label(doc, c.server)} | "
            f"{_fmt(c.before, m['fmt'])} | {scale} | {_fmt(c.now, m['fmt'])} | {ratio} | {flag} |"
        )
    return [*lines, ""]


def _generator_check(doc: dict[str, Any]) -> list[str]:
    lines = [
        "| scenario | ceiling | best Socket.IO server | ceiling / best | load generator CPU "
        "against the ceiling | verdict |",
        "|---|---:|---|---:|---:|---|",
    ]
    sio = [s for s in _servers(doc) if s["role"] != "ceiling"]
    for scenario, fld in GENERATOR_CHECKS:
        ceiling = median(doc, scenario, "ceiling", fld)
        best: tuple[float, str] | None = None
        for srv in sio:
            v = median(doc, scenario, srv["key"], fld)
            if v is not None and (best is None or v > best[0]):
                best = (v, srv["label"])
        if ceiling is None or best is None:
            continue
        m = metric(doc, scenario, fld)
        # connects are made while setting up; everything else while measuring
        cpu_field = "loadgen_setup_cpu_pct" if fld == "connects_per_s" else "loadgen_cpu_pct"
        cpu = median(doc, scenario, "ceiling", cpu_field)
        factor = ceiling / best[0] if best[0] else float("inf")
        if factor >= 2:
            verdict = "ok: >= 2x"
        elif cpu is not None and cpu < 80:
            # the generator idled part of the time: what stopped the ceiling
            # was the ceiling server, so the 2x is not shown but not refuted
            verdict = (
                f"< 2x, but the generator used {cpu:.0f}% of its core: the ceiling is the limit"
            )
        else:
            verdict = "NOT SHOWN: < 2x"
        lines.append(
            f"| {scenario} {m['label']} | {_fmt(ceiling, m['fmt'])} | {best[1]} "
            f"{_fmt(best[0], m['fmt'])} | {factor:.1f}x | {_fmt(cpu, '.0f')}% | {verdict} |"
        )
    return lines


def _builds(doc: dict[str, Any]) -> list[str]:
    """What the report says about the builds hubbub ran on, if a compiled one is in it."""
    if not any(s.get("build") == "compiled" for s in _servers(doc)):
        return []
    return [
        "hubbub runs on two builds: the rows marked 'compiled' import the hot modules "
        "(setup.py's HOT_MODULES) compiled with mypyc, the other hubbub rows the pure-Python "
        "package; each server checked at start that it imported the build its row names.",
        "",
    ]


def _build_setup(doc: dict[str, Any]) -> list[str]:
    build = doc.get("compiled_build")
    if not build:
        return []
    modules = ", ".join(build["modules"])
    return [
        f"- Compiled build: {build['mypyc']} (mypyc), built from the same sources into "
        f"{build['where']} (git-ignored; the pure rows import the checkout's src/): {modules}."
    ]


def render(doc: dict[str, Any], chart_name: str | None, baseline: dict[str, Any] | None) -> str:
    cfg = doc["config"]
    mach = doc["machine"]
    out: list[str] = ["# Benchmarks", ""]
    if doc.get("note"):
        out += [f"> **{doc['note']}**", ""]
    out += [
        "hubbub side by side with Node socket.io 4.8, python-socketio 5 and a raw websocket "
        "server with no Socket.IO on it (the ceiling), in the same run on the same machine. "
        "Every cell is the median of the runs that succeeded"
        + (" (± is half the min-max range of the first column)" if cfg["runs"] > 1 else "")
        + ". Regenerate with `./benchmarks/run` (`--quick` for a smoke check).",
        "",
        f"Taken {doc['taken']}; {cfg['runs']} run(s) per cell"
        + (
            ", interleaved (run 1 of every server, then run 2, ...)"
            if cfg.get("interleaved")
            else ", each server's runs one after another"
        )
        + ", "
        f"{cfg['warmup']:g} s warm-up + {cfg['duration']:g} s measured "
        f"(idle: {cfg['idle_hold']:g} s held, ping interval {cfg['ping_interval']:g} s); "
        f"whole run {doc['elapsed_s'] // 60} min {doc['elapsed_s'] % 60} s.",
        "",
        *_builds(doc),
    ]
    if chart_name:
        out += [f"![benchmarks]({chart_name})", ""]
    for sc in doc["scenarios"]:
        if scenario_section(sc) != "main":
            continue
        out += [f"## {sc['title']}", ""]
        if sc["skip_reason"]:
            out += [f"Skipped: {sc['skip_reason']}.", ""]
            continue
        if sc["key"] not in doc["summary"]:
            out += ["Not run.", ""]
            continue
        out += [*_scenario_table(doc, sc), ""]
        if sc["key"] == "idle-max":
            out += [
                f"Capped by the limit of {mach['open_files_limit']:,} open files per process "
                f"(the load generator holds one socket per client, the server one per "
                f"connection): {sc['clients']:,} clients are tried, not the machine's memory "
                "limit.",
                "",
            ]
        if sc["key"].startswith("idle"):
            out += [
                "RSS bytes/conn is the growth of the server's VmRSS (/proc/<pid>/status) from "
                "before the first connection to one second after the last, divided by the "
                "connections. Heartbeats on time: the share of gaps between a client's "
                "Engine.IO pings (from its connection on) no longer than the ping interval "
                "+ 0.5 s; the ceiling sends none.",
                "",
            ]
    main_run = any(
        scenario_section(sc) == "main" and sc["key"] in doc["summary"] for sc in doc["scenarios"]
    )
    if main_run:
        out += ["## Ratios", "", *_ratio_table(doc), ""]
        out += ["## Targets", "", *_targets(doc, baseline), ""]
        if baseline is not None:
            out += _baseline_table(doc, baseline)
        bounds = BENCH_DIR / "bounds.md"
        if bounds.exists():
            # written by hand from profiles of the run (the figures it quotes are
            # from the report it was written for): what holds hubbub back where a
            # target is not met
            out += [bounds.read_text().rstrip(), ""]
        out += [
            "## Is the load generator the bottleneck?",
            "",
            "It is not if, against the raw ceiling server, it reaches at least twice what the "
            "fastest Socket.IO server reaches in the same scenario: then the Socket.IO numbers "
            "are the servers' own. The load generator is C (epoll, one thread, messages encoded "
            "and masked once), pinned to its own core.",
            "",
            *_generator_check(doc),
            "",
        ]
    out += report_workers.render(doc)
    out += ["## Setup", ""]
    load = ", ".join(f"{x:.2f}" for x in mach["loadavg_at_start"])
    pin = (
        f"servers pinned to CPU {mach['server_cpu']}, load generator to CPU "
        f"{mach['loadgen_cpu']} (taskset)"
        if mach.get("server_cpu") is not None
        else "one CPU only: nothing pinned"
    )
    if any(scenario_section(sc) == "workers" for sc in doc["scenarios"]):
        pin += " (in the section With workers nothing is pinned)"
    out += [
        f"- Machine: {mach['cpu']}, {mach['cpus']} CPUs, {mach['memory_gb']} GB, Linux "
        f"{mach['kernel']}; load average at start {load}.",
        f"- {pin}; open files limit {mach['open_files_limit']:,} per process.",
        "- Each run starts a fresh server process; the load generator resets its "
        "connections when done, so no run inherits another's sockets.",
        "- Same app everywhere (benchmarks/servers, benchmarks/node): 'echo' answered by "
        "ack, 'join' a room, 'fanout' broadcasting a 100-byte event to it. One client "
        "triggers one broadcast per 'fanout', keeping about 80,000 deliveries in flight "
        "(80 triggers undelivered for 1,000 clients, 8 for 10,000). In the many-senders "
        "scenario every client takes its turn sending 'chat' with a 100-byte text, which "
        "the server broadcasts to the room: one broadcast per client packet, the same "
        "deliveries in flight.",
        "- The ceiling (picows) echoes frames as they come, and writes the event frames "
        "of all triggers read in one loop tick, encoded once, to every member in one "
        "write; it has no heartbeats and no long-polling.",
        "- Clients beyond 10,000 connect from 8 loopback source addresses, so the kernel's "
        "ephemeral port search does not slow the connects down.",
    ]
    out += _build_setup(doc)
    for where, vers in doc["versions"].items():
        shown = (v if v.startswith(k) else f"{k} {v}" for k, v in vers.items())
        out.append(f"- {where}: " + ", ".join(shown))
    if doc["skipped_servers"]:
        out += ["", "Servers not measured:", ""]
        for key, why in doc["skipped_servers"].items():
            out.append(f"- {key}: {why}")
    out.append("")
    return "\n".join(out)


def write(doc: dict[str, Any], out: Path, peers_python: Path | None) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    chart = out.with_suffix(".png")
    drawn = False
    if peers_python is not None and peers_python.exists():
        with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as tmp:
            json.dump(doc, tmp)
        res = subprocess.run(
            [str(peers_python), str(BENCH_DIR / "chart.py"), tmp.name, str(chart)],
            capture_output=True,
            text=True,
            check=False,
        )
        Path(tmp.name).unlink()
        drawn = res.returncode == 0
        if not drawn:
            print(f"benchmarks: chart failed: {res.stderr[-800:]}", file=sys.stderr)
    baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else None
    text = render(doc, chart.name if drawn else None, baseline)
    out.write_text(text)
    print(text)
    try:
        shown = out.resolve().relative_to(ROOT)
    except ValueError:
        shown = out
    print(f"benchmarks: wrote {shown}" + (f" and {chart.name}" if drawn else ""), file=sys.stderr)
