"""The report's section "With workers": each server with 1 and 2 worker
processes, unpinned, with the CPU of every process involved (report.py
renders the rest of docs/benchmarks.md)."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks.targets import median as _median

SECTION = "workers"


def in_section(srv: dict[str, Any], section: str) -> bool:
    """Whether a server of a results document takes part in a section
    (documents from before the sections: every server is in the main one)."""
    return section in srv.get("sections", ["main"])


def scenario_section(sc: dict[str, Any]) -> str:
    return str(sc.get("section", "main"))


def _per_process(doc: dict[str, Any], scenario: str, server: str, fld: str) -> list[float]:
    """The median over the good runs of a per-process list (root first), or []
    when the runs saw different process counts."""
    lists = [
        r["data"].get(fld) or []
        for r in doc["runs"]
        if r["ok"] and r["scenario"] == scenario and r["server"] == server
    ]
    if not lists or len({len(x) for x in lists}) != 1:
        return []
    return [statistics.median(column) for column in zip(*lists, strict=True)]


def _fmt(value: float | None, fmt: str) -> str:
    return "-" if value is None else format(value, fmt)


def _servers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        s
        for s in doc["servers"]
        if s["key"] not in doc["skipped_servers"] and in_section(s, SECTION)
    ]


def _cpu_cell(doc: dict[str, Any], scenario: str, srv: dict[str, Any]) -> str:
    total = _median(doc, scenario, srv["key"], "server_cpu_pct")
    text = _fmt(total, ".0f")
    split = _per_process(doc, scenario, srv["key"], "server_proc_cpu_pct")
    if total is not None and len(split) > 1:
        text += " (" + " + ".join(f"{v:.0f}" for v in split) + ")"
    return text


def _loadgen_cell(doc: dict[str, Any], scenario: str, server: str) -> str:
    mine = _median(doc, scenario, server, "loadgen_cpu_pct")
    cpus = _median(doc, scenario, server, "cpus") or 1
    return "-" if mine is None else f"{mine:.0f} / {mine / cpus:.0f}"


def _clients_cell(doc: dict[str, Any], scenario: str, srv: dict[str, Any]) -> str:
    gained = _per_process(doc, scenario, srv["key"], "server_proc_new_sockets")
    serving = gained[1:] if srv.get("workers", 1) > 1 else gained[:1]
    return " / ".join(f"{v:,.0f}" for v in serving) if serving else "-"


def _table(doc: dict[str, Any], sc: dict[str, Any]) -> list[str]:
    shown = [m for m in sc["metrics"] if m["field"] not in ("server_cpu_pct", "loadgen_cpu_pct")]
    lines = [
        "| server | workers | "
        + " | ".join(m["label"] for m in shown)
        + " | server CPU % (per process) | loadgen CPU %: of a core / of the machine "
        "| machine busy % | clients per worker | runs |",
        "|---|---:|" + "---:|" * len(shown) + "---:|---:|---:|---:|---:|",
    ]
    notes = []
    for srv in _servers(doc):
        cell = doc["summary"].get(sc["key"], {}).get(srv["key"])
        if cell is None:
            continue
        cols = [_fmt(_median(doc, sc["key"], srv["key"], m["field"]), m["fmt"]) for m in shown]
        lines.append(
            f"| {srv['label']} | {srv.get('workers', 1)} | "
            + " | ".join(cols)
            + f" | {_cpu_cell(doc, sc['key'], srv)} | {_loadgen_cell(doc, sc['key'], srv['key'])}"
            f" | {_fmt(_median(doc, sc['key'], srv['key'], 'machine_cpu_pct'), '.0f')}"
            f" | {_clients_cell(doc, sc['key'], srv)} | {cell['ok_runs']}/{cell['runs']} |"
        )
        if cell["errors"]:
            more = len(cell["errors"]) - 1
            notes.append(
                f"- {srv['label']}: {cell['errors'][0]}" + (f" (and {more} more)" if more else "")
            )
    if notes:
        lines += ["", "Failed runs (not in the medians):", "", *notes]
    return lines


def _ratio(a: float | None, b: float | None) -> str:
    return "-" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def _ratios(doc: dict[str, Any], scenarios: list[dict[str, Any]]) -> list[str]:
    """2 workers against 1 for each server, and hubbub against Node at 1 and 2."""
    servers = {s["key"]: s for s in _servers(doc)}
    twos = [s for s in servers.values() if s.get("workers", 1) > 1 and s.get("one_worker")]
    pairs = [(f"{s['label']} / 1 worker", s["key"], s["one_worker"]) for s in twos]
    node_two = next((s["key"] for s in twos if s["role"] == "peer"), None)
    for two in twos:
        if two["role"] != "hubbub" or node_two is None:
            continue
        one = servers.get(two["one_worker"])
        node_one = servers[node_two].get("one_worker")
        if one is not None and node_one:
            pairs.append((f"{one['label']} / Node, 1 worker", one["key"], node_one))
        pairs.append((f"{two['label']} / Node cluster, 2 workers", two["key"], node_two))
    if not pairs:
        return []
    heads = [sc for sc in scenarios if sc["key"] in doc["summary"]]
    lines = [
        "| comparison | "
        + " | ".join(f"{sc['key']} {sc['metrics'][0]['label']}" for sc in heads)
        + " |",
        "|---|" + "---:|" * len(heads),
    ]
    for label, a, b in pairs:
        cols = []
        for sc in heads:
            fld = sc["metrics"][0]["field"]
            cols.append(_ratio(_median(doc, sc["key"], a, fld), _median(doc, sc["key"], b, fld)))
        lines.append(f"| {label} | " + " | ".join(cols) + " |")
    return lines


def _ipc_line(doc: dict[str, Any]) -> list[str]:
    ipc = doc.get("ipc_cost")
    if not ipc:
        return []
    return [
        f"The IPC adapter's own cost (`python -m benchmarks.ipc_cost`: {ipc['broadcasts']:,} "
        f"broadcasts of {ipc['payload_bytes']} bytes between two workers' meshes in one "
        "process, no clients, in the same run): "
        f"**{ipc['per_other_worker_us']:.1f} µs of CPU per broadcast for each other worker** "
        "(encode, frame, write, read, decode, match the rooms), against "
        f"{ipc['in_memory_us']:.1f} µs for the same broadcast on one process's in-memory "
        "adapter. docs/scaling.md works out what that means for more cores.",
        "",
    ]


def render(doc: dict[str, Any]) -> list[str]:
    scenarios = [sc for sc in doc["scenarios"] if scenario_section(sc) == SECTION]
    if not scenarios:
        return []
    cpus = doc["machine"].get("cpus")
    pace = scenarios[0].get("connect_concurrency")
    out = [
        "## With workers",
        "",
        "The same servers with one worker process and with two: `hubbub run --workers 2` (a "
        "supervisor, two workers each on a listening socket of its own for the one address "
        "(SO_REUSEPORT), the IPC adapter between them) "
        "on the embedded server and on gevent, and Node socket.io as a cluster (a node:cluster "
        "primary with `@socket.io/sticky`, least-connection, handing each connection to a "
        "worker; `@socket.io/cluster-adapter` between the workers). A server with two workers "
        f"uses every core of this {cpus}-core machine, so nothing in this section is pinned: "
        "servers and load generator share all the cores, with one worker and with two alike, "
        "and each table gives the load generator's CPU next to the server's.",
        "",
        "- server CPU % is the server's whole process tree (supervisor and workers, primary and "
        "workers; /proc/<pid>/stat) over the measuring window, in % of one core, then per "
        "process, root first;",
        "- loadgen CPU % is the load generator's own CPU time over the window (getrusage), in "
        "% of one core and of the whole machine; machine busy % is how busy all cores were "
        "(/proc/stat, every process on the machine, the load generator's share included);",
        f"- clients connect {pace} at a time, as clients arriving over time do: a balancer "
        "that counts connections (sticky's least-connection) hears of each one from its "
        "worker after the handshake, so a burst of hundreds all goes to one worker. Clients "
        "per worker are the sockets each worker process gained from before the first "
        "connection to the end of the window (/proc/<pid>/fd);",
        "- fan-out and many senders stop sending at the end of the window and wait for "
        "every event still owed: delivered % is the share of the deliveries owed (each event "
        "to each client in the room, whichever worker holds it) that arrived; below 100 the "
        "run counts as failed.",
        "",
    ]
    for sc in scenarios:
        out += [f"### {sc['title']}", ""]
        if sc["key"] not in doc["summary"]:
            out += ["Not run.", ""]
            continue
        out += [*_table(doc, sc), ""]
    ratios = _ratios(doc, scenarios)
    if ratios:
        out += ["### Ratios with workers", "", *ratios, ""]
    out += _ipc_line(doc)
    return out
