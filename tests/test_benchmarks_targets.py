"""The benchmark report's targets and its comparison with the previous report,
computed from a hand-made results document (no servers run)."""

from __future__ import annotations

from typing import Any

# benchmarks/ is a folder of the checkout (conftest puts it on the path)
from benchmarks import report, targets
from benchmarks.harness import SCENARIOS, SERVERS


def _doc(cells: dict[str, dict[str, dict[str, float]]]) -> dict[str, Any]:
    """A results document with one run per cell, holding the given medians."""
    summary = {
        scenario: {
            server: {
                "runs": 1,
                "ok_runs": 1,
                "errors": [],
                "samples": {k: [v] for k, v in medians.items()},
                "median": dict(medians),
            }
            for server, medians in per_server.items()
        }
        for scenario, per_server in cells.items()
    }
    return {
        "taken": "2026-12-02 06:00 UTC",
        "note": "",
        "elapsed_s": 61,
        "config": {
            "runs": 1,
            "warmup": 0.5,
            "duration": 2.0,
            "idle_hold": 6.0,
            "ping_interval": 5.0,
        },
        "machine": {
            "cpu": "test",
            "cpus": 2,
            "memory_gb": 1.0,
            "kernel": "6",
            "loadavg_at_start": [0.0, 0.0, 0.0],
            "open_files_limit": 20000,
            "server_cpu": 0,
            "loadgen_cpu": 1,
        },
        "versions": {},
        "servers": [
            {"key": s.key, "label": s.label, "role": s.role, "polling": s.polling, "build": s.build}
            for s in SERVERS
        ],
        "skipped_servers": {},
        "scenarios": [
            {
                "key": s.key,
                "title": s.title,
                "clients": s.clients,
                "transport": s.transport,
                "skip_reason": None,
                "metrics": [m.__dict__ for m in s.metrics],
            }
            for s in SCENARIOS
            if s.key in cells
        ],
        "summary": summary,
        "compiled_build": {
            "mypyc": "mypy 1.0",
            "modules": ["hubbub.jsonmod"],
            "where": "benchmarks/build/hubbub-compiled/src",
        },
    }


DOC = _doc(
    {
        "echo": {
            "node": {"acks_per_s": 40_000},
            "hubbub-asyncio": {"acks_per_s": 50_000},
            "hubbub-asyncio-compiled": {"acks_per_s": 85_000},
            "hubbub-gevent": {"acks_per_s": 20_000},
        },
        "fanout-1k": {
            "ceiling": {"deliveries_per_s": 1_000_000},
            "hubbub-asyncio": {"deliveries_per_s": 200_000},
            "hubbub-gevent": {"deliveries_per_s": 310_000},
            "hubbub-gevent-compiled": {"deliveries_per_s": 290_000},
        },
        "idle-10k": {
            "node": {"rss_per_conn_bytes": 15_000, "connects_per_s": 2_000},
            "hubbub-asyncio": {"rss_per_conn_bytes": 3_000, "connects_per_s": 4_000},
            "hubbub-asyncio-compiled": {"rss_per_conn_bytes": 2_400, "connects_per_s": 4_100},
        },
    }
)


def _result(what_starts: str) -> targets.TargetResult:
    target = next(t for t in targets.TARGETS if t.what.startswith(what_starts))
    return targets.evaluate(DOC, target)


def test_a_target_met_by_the_compiled_build_only() -> None:
    r = _result("embedded: echo")
    assert r.needed == 80_000
    assert r.pure == (50_000, "hubbub-asyncio")
    assert r.compiled == (85_000, "hubbub-asyncio-compiled")
    assert r.met_by == ("compiled",)


def test_a_fixed_figure_lower_is_better() -> None:
    r = _result("embedded: idle memory")
    assert r.reference is None and r.needed == 2560
    assert r.met_by == ("compiled",)


def test_the_best_runtime_counts_and_either_build_meets_it() -> None:
    r = _result("fan-out 1,000: at least 0.3x")
    assert r.needed == 300_000
    assert r.pure == (310_000, "hubbub-gevent")
    assert r.compiled == (290_000, "hubbub-gevent-compiled")
    assert r.met_by == ("pure",)


def test_a_target_without_its_reference_or_runtime_is_not_measured() -> None:
    assert not _result("gevent: long-polling").measured  # no polling scenario
    gevent_echo = _result("gevent: echo")
    assert gevent_echo.measured and gevent_echo.met_by == ()
    assert gevent_echo.compiled is None


BASELINE = {
    "taken": "2026-11-21 04:25 UTC",
    "commit": "abc1234",
    "medians": {
        "echo": {"hubbub-asyncio": {"acks_per_s": 60_000}, "hubbub-gevent": {"acks_per_s": 20_500}},
        "idle-10k": {"hubbub-asyncio": {"rss_per_conn_bytes": 2_500, "connects_per_s": 4_000}},
    },
}


def test_baseline_cells_flag_what_got_worse_beyond_the_noise() -> None:
    cells = {(c.scenario, c.field, c.server): c for c in targets.compare_baseline(DOC, BASELINE)}
    echo = cells[("echo", "acks_per_s", "hubbub-asyncio")]
    assert echo.worse and round(echo.ratio or 0, 2) == 0.83
    assert not cells[("echo", "acks_per_s", "hubbub-asyncio-compiled")].worse
    assert not cells[("echo", "acks_per_s", "hubbub-gevent")].worse  # within 10%
    # lower is better: 20% more memory per connection is worse
    assert cells[("idle-10k", "rss_per_conn_bytes", "hubbub-asyncio")].worse
    assert cells[("idle-10k", "rss_per_conn_bytes", "hubbub-asyncio-compiled")].ratio == 0.96
    assert ("fanout-1k", "deliveries_per_s", "hubbub-gevent") not in cells  # no baseline


def test_baseline_rates_are_scaled_by_nodes_change_memory_is_not() -> None:
    """On a machine where Node does half what it did, half the rate is no loss."""
    doc = _doc(
        {
            "echo": {"hubbub-asyncio": {"acks_per_s": 30_000}, "node": {"acks_per_s": 20_000}},
            "idle-10k": {
                "hubbub-asyncio": {"rss_per_conn_bytes": 3_000},
                "node": {"rss_per_conn_bytes": 15_000},
            },
        }
    )
    before = {
        "taken": "then",
        "commit": "abc",
        "medians": {
            "echo": {"hubbub-asyncio": {"acks_per_s": 60_000}, "node": {"acks_per_s": 40_000}},
            "idle-10k": {
                "hubbub-asyncio": {"rss_per_conn_bytes": 2_000},
                "node": {"rss_per_conn_bytes": 30_000},
            },
        },
    }
    cells = {(c.scenario, c.server): c for c in targets.compare_baseline(doc, before)}
    echo = cells[("echo", "hubbub-asyncio")]
    assert echo.peer_scale == 0.5 and echo.ratio == 1.0 and not echo.worse
    memory = cells[("idle-10k", "hubbub-asyncio")]
    assert memory.peer_scale is None and memory.ratio == 1.5 and memory.worse


def test_no_slower_is_met_when_one_build_of_each_cell_holds() -> None:
    cells = targets.compare_baseline(DOC, BASELINE)
    pure_worse, pure_n, comp_worse, comp_n, met = targets.no_slower(cells)
    assert (pure_worse, pure_n, comp_worse, comp_n, met) == (2, 4, 0, 3, True)
    slower = {**BASELINE, "medians": {"echo": {"hubbub-asyncio": {"acks_per_s": 100_000}}}}
    assert targets.no_slower(targets.compare_baseline(DOC, slower))[4] is False


def test_the_report_shows_both_builds() -> None:
    text = report.render(DOC, None, BASELINE)
    assert "| hubbub embedded (asyncio), compiled | 85,000 |" in text
    assert (
        "| embedded: echo at least 2x Node's acks/s | Node socket.io 4.8 40,000 | 80,000 "
        "| 50,000 | 85,000 | yes (compiled) |" in text
    )
    assert "| 310,000 (hubbub gevent) | 290,000 (hubbub gevent, compiled) | yes (pure) |" in text
    # the ratios' last column: compiled against pure
    assert "| echo acks/s | hubbub embedded (asyncio), compiled | 85,000 |" in text
    assert "| 2.12x | - | - | 1.70x |" in text
    assert "## Against the previous report" in text and "shared VM" in text
    assert "Compiled build: mypy 1.0 (mypyc)" in text
