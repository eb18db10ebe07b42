"""Issue 13's goals in the report: each judged on one policy family's rows, misses quantified."""

from __future__ import annotations

from typing import Any

import pytest

from experiments.lib.goals import GOALS, competence_goal, goals_section

PID = {"mean": -5.0, "recovery_units": 9.0, "cpk_base": 0.92, "cpk_clear": 1.20}


def policy_row(**overrides: float) -> dict[str, float]:
    row = {
        "mean": -4.8,
        "delta": 0.2,
        "delta_low": 0.05,
        "delta_high": 0.4,
        "p_delta": 0.99,
        "poi": 0.7,
        "gap_est": 0.6,
        "recovery_units": 8.0,
        "cpk_base": 0.95,
        "cpk_clear": 1.25,
    }
    return row | overrides


def bof_stats(**overrides: float) -> dict[str, Any]:
    return {
        s: {"pid": PID, "ppo-mixture-on-pid": policy_row(**overrides)}
        for s in ("nominal", "drift", "drift_varied", "sensor_faults")
    }


def verdicts(section: str) -> list[str]:
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    return [row.rstrip(" |").rsplit(" | ", 1)[1] for row in rows]


def test_every_goal_met_when_the_numbers_hold() -> None:
    section = goals_section("bof", "ppo-mixture-on-pid", bof_stats())
    assert verdicts(section)[: len(GOALS["bof"])] == ["**met**"] * len(GOALS["bof"])
    assert "`ppo-mixture-on-pid`" in section.splitlines()[0]


def test_misses_say_by_how_much() -> None:
    section = goals_section(
        "bof", "ppo-mixture-on-pid", bof_stats(p_delta=0.43, gap_est=0.31, recovery_units=9.5)
    )
    got = verdicts(section)
    assert got[0] == "missed: P(Δ > 0) 0.43 < 0.9"
    assert got[1] == "missed: 0.19 short of 0.5"
    assert got[2] == "missed: P(Δ > 0) 0.43 < 0.9; recovery +0.5 units"


def test_paint_nominal_needs_cost_and_both_cpks() -> None:
    stats = {"nominal": {"pid": PID, "x": policy_row(cpk_clear=1.10)}}
    got = verdicts(goals_section("paint", "x", stats))
    assert got[0] == "missed: clear Cpk -0.10"  # cheaper but a worse clear coat is no win
    assert all(v == "not judged" for v in got[1:])  # never evaluated there: said, not skipped


def test_a_family_missing_from_a_set_is_not_judged() -> None:
    stats = bof_stats()
    del stats["drift"]["ppo-mixture-on-pid"]
    section = goals_section("bof", "ppo-mixture-on-pid", stats)
    assert "`ppo-mixture-on-pid` not evaluated on this set | not judged" in section


@pytest.mark.parametrize(
    ("clearly", "verdict"), [(None, "missed"), ({"steps": 65536 * 9, "train_s": 150.0}, "met")]
)
def test_competence_from_the_training_benchmark(clearly: Any, verdict: str) -> None:
    first = {"steps": 1179648, "train_s": 193.0}
    last = {"steps": 2293760, "pid": {"delta": 0.109, "se": 0.167}}
    bench = {
        "competence": {
            "cap_s": 600.0,
            "first": {"pid_above": first, "pid_clearly": clearly},
            "rows": [last],
        }
    }
    measured, got, _ = competence_goal(bench) or ("", "", "")
    assert got == verdict
    assert "1,179,648 steps" in measured
    assert competence_goal({}) is None
