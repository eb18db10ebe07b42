"""Issue 13's learning goals, judged on the report's own numbers for one policy per process.

A learned policy counts only if the *same* policy family (``headline``, e.g.
``ppo-mixture-on-pid``) is judged on every scenario set. Each goal names the set it is judged on,
what is measured there and the target; :func:`goals_section` writes the markdown table with a
verdict per goal and, where a goal is missed, by how much.

"Beats the PID with P(> PID) ≥ 0.9" is read as **P(Δ > 0) ≥ 0.9**: the share of bootstrap
resamples (training seeds × episodes, paired on the same episodes) in which the policy's mean
return is above the PID's — how sure one can be that it beats the PID on average. rliable's
P(> PID) (the share of single episodes won) is printed beside it; ≥ 0.9 there would ask a policy
to win nine units in ten against a PID whose per-unit noise is several times the mean gain.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["GOALS", "Goal", "competence_goal", "goals_section"]

Stats = Mapping[str, Mapping[str, float]]  # family -> the numbers behind its report row
P_TARGET = 0.9
GAP_EST_TARGET = 0.5


@dataclasses.dataclass(frozen=True)
class Goal:
    """One goal: its wording, the scenario set it is judged on, and its judge.

    ``judge(policy, pid)`` gets the numbers of the policy's and the PID's rows on that set and
    returns ``(measured, met, shortfall)``: what was measured, whether the target holds, and
    (when it does not) by how much it is missed.
    """

    text: str
    scenario_set: str
    judge: Callable[[Mapping[str, float], Mapping[str, float]], tuple[str, bool, str]]


def _num(row: Mapping[str, float], key: str) -> float:
    value = row.get(key, math.nan)
    return float(value) if value is not None else math.nan


def beats_pid(policy: Mapping[str, float], pid: Mapping[str, float]) -> tuple[str, bool, str]:
    """Paired Δ vs PID with its CI, P(Δ > 0) ≥ 0.9 (rliable's P(> PID) beside it)."""
    p = _num(policy, "p_delta")
    measured = (
        f"Δ vs PID {_num(policy, 'delta'):+.3f} [{_num(policy, 'delta_low'):+.3f}, "
        f"{_num(policy, 'delta_high'):+.3f}], P(Δ > 0) {p:.2f}, P(> PID) {_num(policy, 'poi'):.2f}"
    )
    met = p >= P_TARGET
    return measured, met, "" if met else f"P(Δ > 0) {p:.2f} < {P_TARGET}"


def closes_half_the_estimate_gap(
    policy: Mapping[str, float], pid: Mapping[str, float]
) -> tuple[str, bool, str]:
    """gap closed (est) ≥ 0.5: half the way from the PID to the MPC on estimates."""
    gap = _num(policy, "gap_est")
    met = gap >= GAP_EST_TARGET
    short = "" if met else f"{GAP_EST_TARGET - gap:.2f} short of 0.5"
    return f"gap closed (est) {gap:.2f}", met, short


def beats_pid_and_recovers_faster(
    policy: Mapping[str, float], pid: Mapping[str, float]
) -> tuple[str, bool, str]:
    """Beats the PID (as :func:`beats_pid`) and recovers from the drift in fewer units."""
    measured, met, short = beats_pid(policy, pid)
    mine, theirs = _num(policy, "recovery_units"), _num(pid, "recovery_units")
    faster = mine < theirs
    measured += f"; recovery {mine:.1f} vs PID {theirs:.1f} units"
    if not faster:
        short = "; ".join(s for s in (short, f"recovery {mine - theirs:+.1f} units") if s)
    return measured, met and faster, short


def cheaper_at_equal_cpk(
    policy: Mapping[str, float], pid: Mapping[str, float]
) -> tuple[str, bool, str]:
    """Beats the PID on cost (return) with Cpk ≥ the PID's on both paint layers."""
    measured, met, short = beats_pid(policy, pid)
    misses = []
    for layer in ("base", "clear"):
        mine, theirs = _num(policy, f"cpk_{layer}"), _num(pid, f"cpk_{layer}")
        measured += f"; {layer} Cpk {mine:.2f} vs PID {theirs:.2f}"
        if not mine >= theirs:
            misses.append(f"{layer} Cpk {mine - theirs:+.2f}")
    if misses:
        short = "; ".join(s for s in (short, *misses) if s)
    return measured, met and not misses, short


GOALS: dict[str, tuple[Goal, ...]] = {
    "bof": (
        Goal("nominal: beats the PID", "nominal", beats_pid),
        Goal(
            "nominal: closes ≥ 50 % of the PID → MPC-on-estimates gap",
            "nominal",
            closes_half_the_estimate_gap,
        ),
        Goal(
            "drift campaigns: beats the PID, recovers in fewer heats",
            "drift",
            beats_pid_and_recovers_faster,
        ),
        Goal(
            "drift at a random heat and size: beats the PID, recovers in fewer heats",
            "drift_varied",
            beats_pid_and_recovers_faster,
        ),
        Goal("faulty sensors: beats the PID", "sensor_faults", beats_pid),
    ),
    "paint": (
        Goal(
            "nominal: beats the PID on cost at equal or better Cpk (both layers)",
            "nominal",
            cheaper_at_equal_cpk,
        ),
        Goal(
            "drift shifts: beats the PID, recovers in fewer bodies",
            "drift",
            beats_pid_and_recovers_faster,
        ),
        Goal(
            "drift at a random body and size: beats the PID, recovers in fewer bodies",
            "drift_varied",
            beats_pid_and_recovers_faster,
        ),
        Goal("faulty sensors: beats the PID", "sensor_faults", beats_pid),
    ),
}


def competence_goal(benchmark: Mapping[str, Any] | None) -> tuple[str, str, str] | None:
    """(measured, verdict, shortfall) of the time-to-competence goal from the training
    benchmark's JSON (``results/benchmarks/training.json``), or None if it has no such part."""
    tc = (benchmark or {}).get("competence")
    if not tc:
        return None
    cap_min = float(tc["cap_s"]) / 60.0
    first, clearly = tc["first"].get("pid_above"), tc["first"].get("pid_clearly")
    last = tc["rows"][-1]
    measured = (
        f"mean first above the PID's after {first['steps']:,} steps ({first['train_s']:.0f} s)"
        if first
        else "never above the PID's mean"
    )
    if clearly:
        measured += f"; above by > 2 paired s.e. after {clearly['train_s']:.0f} s"
        met = clearly["train_s"] <= float(tc["cap_s"])
        return measured, "met" if met else "missed", ""
    measured += (
        f"; not above by 2 paired s.e. within {cap_min:.0f} min "
        f"({last['steps']:,} steps, last Δ {last['pid']['delta']:+.3f} ± {last['pid']['se']:.3f})"
    )
    return measured, "missed", "no clear win within the cap"


def goals_section(
    process: str,
    headline: str,
    stats_by_set: Mapping[str, Stats],
    benchmark: Mapping[str, Any] | None = None,
) -> str:
    """Markdown: each of the process's goals judged on the ``headline`` family's rows."""
    lines = [
        f"## Goals (issue 13), judged on one policy: `{headline}`\n",
        "The same policy family on every scenario set; P(Δ > 0) is the goal's "
        '"P(> PID) ≥ 0.9" (`experiments/lib/goals.py` says why); what was tried is in '
        "`docs/learning.md`.\n",
        "| goal | set | measured | verdict |",
        "|---|---|---|---|",
    ]
    for goal in GOALS.get(process, ()):
        rows = stats_by_set.get(goal.scenario_set, {})
        if headline not in rows or "pid" not in rows:
            who = headline if headline not in rows else "pid"
            lines.append(
                f"| {goal.text} | `{goal.scenario_set}` | `{who}` not evaluated on this set "
                "| not judged |"
            )
            continue
        measured, met, short = goal.judge(rows[headline], rows["pid"])
        verdict = "**met**" if met else f"missed: {short}"
        lines.append(f"| {goal.text} | `{goal.scenario_set}` | {measured} | {verdict} |")
    if process == "bof":
        ttc = competence_goal(benchmark)
        if ttc is None:
            lines.append(
                "| default main job beats the PID within 10 min on 2 cores | `nominal` | "
                "no time-to-competence benchmark in `results/benchmarks/training.json` "
                "| not judged |"
            )
        else:
            measured, verdict, short = ttc
            text = "**met**" if verdict == "met" else f"missed: {short}"
            lines.append(
                "| default main job beats the PID within 10 min on 2 cores "
                "(`experiments/benchmarks/training.py`) | `nominal` | "
                f"{measured} | {text} |"
            )
    return "\n".join(lines) + "\n"
