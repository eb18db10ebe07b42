"""The promotion gate's decision: pure numbers in, a verdict with its reasons out (no MLflow).

A gate *cell* is one (plant, scenario set); in each the candidate, the incumbent and the PID
met the same episode seeds, so every comparison is paired episode by episode.

| rule | passes when |
| --- | --- |
| no worse anywhere | on no cell does the 95 % CI of Δ(candidate − incumbent) lie below 0 (1) |
| better on average | mean over cells of P(candidate > incumbent) ≥ the configured level (2) |
| with confidence | and the mean over cells of the standardised paired Δ > 0 |
| better than the PID | the mean paired Δ(candidate − PID) > 0 on every cell |

(1) :func:`~experiments.lib.stats.paired_delta_with_ci` (bootstrap over episodes).
(2) ``gate.min_probability_of_improvement``; rliable's probability of improvement
(:func:`~experiments.lib.stats.probability_of_improvement`) with the episodes as tasks: with one
run each, the share of episodes the candidate wins (ties count ½).

The incumbent is the current champion; when there is none it is the PID itself (the first two
rules then compare with the PID). Returns are rewards (higher is better); the standardised
paired Δ of a cell is mean(Δ)/sd(Δ), so cells of different return scales weigh the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from experiments.lib.config_checks import ConfigError
from experiments.lib.stats import paired_delta_with_ci, probability_of_improvement

__all__ = ["CellScores", "GateRow", "GateSettings", "GateVerdict", "judge"]


@dataclasses.dataclass(frozen=True)
class GateSettings:
    """The ``gate:`` node of ``conf/promote.yaml``.

    | field | meaning | range |
    | --- | --- | --- |
    | ``min_probability_of_improvement`` | the cells' mean P(cand. > incumbent) | (0, 1] |
    | ``reps`` | bootstrap resamples of each paired-Δ CI | ≥ 100 |
    | ``seed`` | bootstrap seed (same seed → same CIs) | any integer |
    | ``max_rejudgements`` | times the gate re-runs when the incumbent changed meanwhile | ≥ 1 |
    """

    min_probability_of_improvement: float = 0.6
    reps: int = 2000
    seed: int = 0
    max_rejudgements: int = 3

    @classmethod
    def from_config(cls, node: Mapping[str, Any]) -> GateSettings:
        """Checked settings; every bad value named with its key (``gate.<field>``)."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(node) - known)
        if unknown:
            raise ConfigError(f"gate: unknown keys {unknown}; valid: {sorted(known)}")
        settings = cls(**dict(node))
        p = settings.min_probability_of_improvement
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 < p <= 1:
            raise ConfigError(f"gate.min_probability_of_improvement = {p!r}: a number in (0, 1]")
        for key, low in (("reps", 100), ("max_rejudgements", 1)):
            value = getattr(settings, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise ConfigError(f"gate.{key} = {value!r}: an integer ≥ {low}")
        return settings


@dataclasses.dataclass(frozen=True)
class CellScores:
    """Per-episode returns of the three policies on one gate cell (same seeds, same order)."""

    plant: str
    scenario_set: str
    candidate: np.ndarray
    incumbent: np.ndarray
    pid: np.ndarray

    def __post_init__(self) -> None:
        sizes = {len(self.candidate), len(self.incumbent), len(self.pid)}
        if len(sizes) != 1 or sizes == {0}:
            raise ValueError(
                f"gate cell {self.plant}/{self.scenario_set}: candidate, incumbent and PID need "
                f"the same episodes (got {len(self.candidate)}, {len(self.incumbent)}, "
                f"{len(self.pid)})"
            )


@dataclasses.dataclass(frozen=True)
class GateRow:
    """One cell's numbers (returns are per-episode means)."""

    plant: str
    scenario_set: str
    episodes: int
    candidate: float
    incumbent: float
    pid: float
    delta_incumbent: tuple[float, float, float]  # mean, 95 % CI low, high
    delta_pid: float
    p_improvement: float  # P(candidate > incumbent) on this cell's episodes
    standardised_delta: float  # mean(Δ)/sd(Δ) vs the incumbent


@dataclasses.dataclass(frozen=True)
class GateVerdict:
    """The decision: ``passed``, one reason per failed rule (naming plant, set and numbers)."""

    passed: bool
    reasons: list[str]
    rows: list[GateRow]
    incumbent: str  # the incumbent's spec, "baseline:pid" when there is no champion
    p_improvement: float  # averaged over the cells
    standardised_delta: float  # averaged over the cells

    def markdown(self) -> str:
        """The per-cell table (returns, Δ vs incumbent with its CI, Δ vs PID, P(better))."""
        lines = [
            f"**{'promoted' if self.passed else 'rejected'}** against {self.incumbent}: "
            f"P(candidate > incumbent) = {self.p_improvement:.3f}, mean standardised "
            f"Δ = {self.standardised_delta:+.3f}",
            "",
            "| plant | set | episodes | candidate | incumbent | PID | Δ vs incumbent [95 % CI] "
            "| Δ vs PID | P(cand > inc) |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in self.rows:
            d, lo, hi = r.delta_incumbent
            lines.append(
                f"| {r.plant} | {r.scenario_set} | {r.episodes} | {r.candidate:.4g} | "
                f"{r.incumbent:.4g} | {r.pid:.4g} | {d:+.4g} [{lo:+.4g}, {hi:+.4g}] | "
                f"{r.delta_pid:+.4g} | {r.p_improvement:.2f} |"
            )
        lines += ["", *(f"- {reason}" for reason in self.reasons)]
        return "\n".join(lines)


def _standardised(diff: np.ndarray) -> float:
    """mean/sd of the paired differences; a constant difference counts by its sign."""
    sd = float(np.std(diff, ddof=1)) if len(diff) > 1 else 0.0
    if sd < 1e-12:
        return float(np.sign(diff.mean()))
    return float(diff.mean() / sd)


def _row(cell: CellScores, settings: GateSettings) -> GateRow:
    cand, inc, pid = (
        np.asarray(a, dtype=float) for a in (cell.candidate, cell.incumbent, cell.pid)
    )
    d, lo, hi, _ = paired_delta_with_ci(cand, inc, reps=settings.reps, seed=settings.seed)
    return GateRow(
        plant=cell.plant,
        scenario_set=cell.scenario_set,
        episodes=len(cand),
        candidate=float(cand.mean()),
        incumbent=float(inc.mean()),
        pid=float(pid.mean()),
        delta_incumbent=(d, lo, hi),
        delta_pid=float((cand - pid).mean()),
        p_improvement=probability_of_improvement(cand[None, :], inc[None, :]),
        standardised_delta=_standardised(cand - inc),
    )


def judge(cells: Sequence[CellScores], incumbent: str, settings: GateSettings) -> GateVerdict:
    """Apply the three rules of the module docstring to every cell.

    Args:
        cells: the gate cells' returns (at least one).
        incumbent: the incumbent's spec, for the reasons (``baseline:pid`` if none).
        settings: thresholds and bootstrap settings.
    """
    if not cells:
        raise ConfigError("the gate has no cells: give splits.gate plants and scenario_sets")
    rows = [_row(cell, settings) for cell in cells]
    reasons = []
    for r in rows:
        d, lo, hi = r.delta_incumbent
        if hi < 0:
            reasons.append(
                f"{r.plant}/{r.scenario_set}: worse than the incumbent {incumbent}: "
                f"Δ return {d:+.4g} [95 % CI {lo:+.4g}, {hi:+.4g}] over {r.episodes} episodes"
            )
    p_mean = float(np.mean([r.p_improvement for r in rows]))
    z_mean = float(np.mean([r.standardised_delta for r in rows]))
    if p_mean < settings.min_probability_of_improvement:
        reasons.append(
            f"all cells: P(candidate > {incumbent}) = {p_mean:.3f} averaged over {len(rows)} "
            f"cells, below gate.min_probability_of_improvement = "
            f"{settings.min_probability_of_improvement}"
        )
    if z_mean <= 0:
        reasons.append(
            f"all cells: mean standardised paired Δ vs {incumbent} = {z_mean:+.3f}, not above 0"
        )
    for r in rows:
        if r.delta_pid <= 0:
            reasons.append(
                f"{r.plant}/{r.scenario_set}: not better than the PID: mean Δ return "
                f"{r.delta_pid:+.4g} ({r.candidate:.4g} vs {r.pid:.4g}) over {r.episodes} episodes"
            )
    return GateVerdict(not reasons, reasons, rows, incumbent, p_mean, z_mean)
