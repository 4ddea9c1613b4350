"""The frontier's table as the map panel and the sheets show it: the tightest point says whether
its balance is proved the tightest possible, since its search shares the time with the others."""

from __future__ import annotations

from typing import Any

from gis import frontier_chart


def _table(floor: float | None) -> dict[str, Any]:
    point = {"status": "optimal", "objective": 120.0, "bound": 120.0, "gap": 0.0}
    return {
        "points": [
            {**point, "label": "tightest", "tolerance": 0.0034, "max_deviation": 0.0032,
             "balance_floor": floor},
            {**point, "label": "±5 %", "tolerance": 0.05, "max_deviation": 0.041,
             "balance_floor": None, "objective": 100.0, "bound": 99.0, "gap": 0.01},
        ],
        "balanced": "±5 %",
        "chosen": "tightest",
        "rule": frontier_chart.__name__,
    }  # fmt: skip


def test_a_proved_floor_is_named_on_the_tightest_point_only() -> None:
    rows = frontier_chart.rows(_table(0.0031))
    assert rows[0][0] == "tightest (±0.32 %), none below ±0.31 % (proved) (plan)"
    assert rows[1][0] == "±5 % (±4.10 %) (balanced)"


def test_an_unproved_tightest_balance_says_so() -> None:
    rows = frontier_chart.rows(_table(None))
    assert rows[0][0] == "tightest (±0.32 %), not proved the tightest (plan)"
    assert "not proved the tightest" in frontier_chart.panel_html(_table(None))


def test_a_tightest_point_without_a_plan_claims_nothing() -> None:
    table = _table(None)
    table["points"][0] = {**table["points"][0], "objective": None, "status": "no_solution"}
    assert frontier_chart.rows(table)[0][0] == "tightest (±0.32 %) (plan)"


def test_the_printed_line_carries_the_proof_of_the_tightest_balance() -> None:
    line = frontier_chart.frontier_line(_table(None))
    assert line == (
        "±0.3 %: 120, gap 0.0 % [not proved the tightest] · ±4.1 %: 100, gap 1.0 % (balanced)"
        " household-km"
    )
    assert "[none below ±0.31 % (proved)]" in frontier_chart.frontier_line(_table(0.0031))
