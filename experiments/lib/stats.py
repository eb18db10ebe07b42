"""Evaluation statistics: drift recovery, gap closed, IQM with bootstrap CIs, P(improvement).

- **Drift recovery** (DESIGN.md, the seed's own case): in a ``drift`` scenario the drift starts
  at a known unit (heat, body). A unit is *in spec* when all of the scenario's recovery KPIs are
  1 (e.g. both paint layers in their DFT band). The policy has *recovered* at the first unit
  ``u ≥ start`` from which the share of in-spec units in the window ``[u − w + 1, u]`` is at
  least ``q`` (``recovery_window`` w, ``recovery_share`` q of the scenario set) *after* the
  drift first pushed that share below ``q`` (windows judged whole, see
  :func:`episode_recovery`); the recovery time is ``u − start`` units, and the out-of-spec
  products are those between ``start`` and ``u``. An episode that never recovers is
  *censored*: its recovery time is reported as the units it still had (a lower bound) and it
  counts in the "not recovered" share.
- **gap_closed** = (cost_PID − cost_policy) / (cost_PID − cost_oracle) with cost = −return: 0 is
  PID, 1 the MPC oracle (DESIGN.md, "Evaluation protocol").
- **Across training seeds** (Agarwal et al. 2021, "Deep RL at the edge of the statistical
  precipice"): the interquartile mean of a (runs × episodes) score matrix with a 95 %
  stratified-bootstrap confidence interval, and the probability of improvement of one policy
  over another, both from the ``rliable`` library (its reference implementation). The evaluation
  episodes play the role of rliable's tasks: every run meets the same episodes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import warnings
from collections.abc import Iterator, Mapping, Sequence

import numpy as np

__all__ = [
    "GapCell",
    "Recovery",
    "difference_with_ci",
    "drift_recovery",
    "gap_closed",
    "gap_closed_with_ci",
    "interval",
    "iqm_with_ci",
    "paired_delta_with_ci",
    "pooled_gaps",
    "probability_of_improvement",
]


@dataclasses.dataclass(frozen=True)
class Recovery:
    """Drift response of one policy over a scenario set's episodes."""

    units: list[int]  # per episode: units from the drift start to recovery (censored: to the end)
    recovered: list[bool]
    out_of_spec: list[int]  # per episode: out-of-spec units from the start to recovery (or end)

    def summary(self) -> dict[str, float]:
        n = max(len(self.units), 1)
        return {
            "recovery_units_median": float(np.median(self.units)) if self.units else np.nan,
            "recovered_share": sum(self.recovered) / n,
            "out_of_spec_mean": float(np.mean(self.out_of_spec)) if self.out_of_spec else np.nan,
        }


def in_spec_flags(series: Sequence[Mapping[str, float]], kpis: Sequence[str]) -> np.ndarray:
    """1 where every KPI in ``kpis`` is 1 (≥ 0.5) for that unit, else 0."""
    if not kpis:
        raise ValueError("a recovery analysis needs at least one recovery KPI")
    missing = [k for k in kpis if series and k not in series[0]]
    if missing:
        raise ValueError(f"recovery KPIs {missing} not in the units' KPIs {sorted(series[0])}")
    return np.array([all(u[k] >= 0.5 for k in kpis) for u in series], dtype=float)


def episode_recovery(
    flags: np.ndarray, start: int, window: int, share: float
) -> tuple[int, bool, int]:
    """(units to recovery, recovered?, out-of-spec units) of one episode's in-spec flags.

    Windows are judged whole and after the drift start: ``s(u)`` is the in-spec share of
    ``flags[u − w + 1 : u + 1]`` for ``u ≥ start + w − 1``. The drift *hit* at the first ``u``
    with ``s(u) < q``; the policy *recovered* at the first later ``u`` with ``s(u) ≥ q``. A
    policy the drift never pushed below ``q`` has recovery time 0 and no out-of-spec products
    charged to the drift.
    """
    n = len(flags)
    if start + window > n:
        raise ValueError(f"drift start {start} + window {window} exceeds the {n} units")
    shares = np.convolve(flags, np.ones(window) / window, mode="valid")  # s(u) at index u-w+1
    first = start  # s(u) for u = start + w - 1 sits at index start
    below = np.flatnonzero(shares[first:] < share - 1e-12)
    if below.size == 0:
        return 0, True, 0
    hit = first + int(below[0])
    back = np.flatnonzero(shares[hit:] >= share - 1e-12)
    if back.size == 0:
        return n - start, False, int((flags[start:] < 0.5).sum())
    u = hit + int(back[0]) + window - 1  # the unit that closes the first good window
    return u - start, True, int((flags[start : u + 1] < 0.5).sum())


def drift_recovery(
    series: Sequence[Sequence[Mapping[str, float]]],
    start: int | Sequence[int | None],
    kpis: Sequence[str],
    window: int,
    share: float,
) -> Recovery:
    """Recovery of every episode (see the module docstring).

    ``start`` is the drift's first unit in every episode, or one start per episode (drawn per
    episode: ``EpisodeResults.drift_starts``); episodes whose start is ``None`` or negative had
    no drift and are left out.
    """
    if isinstance(start, int):
        starts: list[int | None] = [start] * len(series)
    else:
        starts = list(start)
        if len(starts) != len(series):
            raise ValueError(f"{len(starts)} drift starts for {len(series)} episodes")
    out = [
        episode_recovery(in_spec_flags(s, kpis), u0, window, share)
        for s, u0 in zip(series, starts, strict=True)
        if u0 is not None and u0 >= 0
    ]
    return Recovery([o[0] for o in out], [o[1] for o in out], [o[2] for o in out])


def gap_closed(return_pid: float, return_policy: float, return_oracle: float) -> float:
    """(cost_PID − cost_policy)/(cost_PID − cost_oracle) with cost = −return; NaN if no gap."""
    gap = return_oracle - return_pid
    if not np.isfinite(gap) or abs(gap) < 1e-12:
        return float("nan")
    return float((return_policy - return_pid) / gap)


@contextlib.contextmanager
def _rliable_seeded(seed: int) -> Iterator[np.random.RandomState]:
    """rliable's StratifiedBootstrap draws its indices from NumPy's global RNG (np.random.choice)
    whatever ``random_state`` says: seed that RNG for the call and put its state back after."""
    saved = np.random.get_state()  # noqa: NPY002 - the legacy RNG is the one rliable draws from
    np.random.seed(seed)  # noqa: NPY002
    try:
        with warnings.catch_warnings():  # arch deprecates RandomState; rliable still passes one
            warnings.simplefilter("ignore", FutureWarning)
            yield np.random.RandomState(seed)
    finally:
        np.random.set_state(saved)  # noqa: NPY002


def iqm_with_ci(scores: np.ndarray, reps: int = 2000, seed: int = 0) -> tuple[float, float, float]:
    """IQM of a (runs × episodes) score matrix and its 95 % stratified-bootstrap CI (rliable).

    Runs are resampled within episodes and episodes are resampled too (rliable's
    ``task_bootstrap``), so the interval covers the choice of training seeds and of episodes.
    """
    from rliable import library as rly
    from rliable import metrics

    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    with _rliable_seeded(seed) as random_state:
        point, interval = rly.get_interval_estimates(
            {"x": scores},
            lambda x: np.array([metrics.aggregate_iqm(x)]),
            task_bootstrap=True,  # episodes too: a deterministic baseline (one run) gets a CI
            reps=reps,
            random_state=random_state,
        )
    return float(point["x"][0]), float(interval["x"][0, 0]), float(interval["x"][1, 0])


def gap_closed_with_ci(
    scores: np.ndarray,
    pid: np.ndarray,
    reference: np.ndarray,
    reps: int = 2000,
    seed: int = 0,
) -> tuple[float, float, float]:
    """Share of the PID → reference gap a policy closes, with a 95 % stratified-bootstrap CI.

    ``gap = (mean(scores) − mean(pid)) / (mean(reference) − mean(pid))`` on the same episodes:
    0 is the PID, 1 the reference (the MPC on estimates, or the oracle). ``scores`` is
    (runs × episodes), ``pid`` and ``reference`` per episode (deterministic controllers). The
    three are stacked into one (runs × episodes × 3) array so rliable's stratified bootstrap
    resamples the training runs within each episode and the episodes *jointly* for all three
    (``task_bootstrap``): the pairing on seeds is kept. NaN if the gap is 0.
    """
    from rliable import library as rly

    x = np.atleast_2d(np.asarray(scores, dtype=float))
    refs = [np.asarray(a, dtype=float).reshape(-1) for a in (pid, reference)]
    if any(r.shape[0] != x.shape[1] for r in refs):
        raise ValueError(f"all need the same episodes: {x.shape[1]} vs {[len(r) for r in refs]}")
    stacked = np.stack([x, *(np.broadcast_to(r, x.shape) for r in refs)], axis=-1)

    def gap(s: np.ndarray) -> np.ndarray:
        p, o = s[..., 1].mean(), s[..., 2].mean()
        return np.array([gap_closed(p, s[..., 0].mean(), o)])

    point = float(gap(stacked)[0])
    if not np.isfinite(point):
        return point, float("nan"), float("nan")
    with _rliable_seeded(seed) as random_state:
        _, interval = rly.get_interval_estimates(
            {"x": stacked}, gap, task_bootstrap=True, reps=reps, random_state=random_state
        )
    return point, float(interval["x"][0, 0]), float(interval["x"][1, 0])


def probability_of_improvement(scores_x: np.ndarray, scores_y: np.ndarray) -> float:
    """P(X > Y) averaged over episodes (Mann–Whitney per episode across runs; rliable)."""
    from rliable import metrics

    x = np.atleast_2d(np.asarray(scores_x, dtype=float))
    y = np.atleast_2d(np.asarray(scores_y, dtype=float))
    if x.shape[1] != y.shape[1]:
        raise ValueError(f"both need the same episodes: {x.shape[1]} vs {y.shape[1]} columns")
    return float(metrics.probability_of_improvement(x, y))


def paired_delta_with_ci(
    scores: np.ndarray, reference: np.ndarray, reps: int = 2000, seed: int = 0
) -> tuple[float, float, float, float]:
    """Mean paired difference to a reference on the same episodes, its 95 % CI and P(Δ > 0).

    ``scores`` is (runs × episodes), ``reference`` (1 × episodes) or (episodes,): a
    deterministic baseline on the same seeds. The bootstrap resamples training runs and
    episodes (both sources of doubt, as :func:`iqm_with_ci`); ``P(Δ > 0)`` is the share of
    resamples whose mean difference is positive: how sure one can be that the policy beats the
    reference *on average* (rliable's P(X > Y) is the share of episodes it wins, a different
    question). Returns ``(mean, low, high, p_positive)``.
    """
    x = np.atleast_2d(np.asarray(scores, dtype=float))
    ref = np.asarray(reference, dtype=float).reshape(-1)
    if x.shape[1] != ref.shape[0]:
        raise ValueError(f"both need the same episodes: {x.shape[1]} vs {ref.shape[0]}")
    diff = x - ref[None, :]
    rng = np.random.default_rng(seed)
    runs = rng.integers(0, diff.shape[0], size=(reps, diff.shape[0]))
    eps = rng.integers(0, diff.shape[1], size=(reps, diff.shape[1]))
    means = np.array([diff[r][:, e].mean() for r, e in zip(runs, eps, strict=True)])
    low, high = np.percentile(means, [2.5, 97.5])
    return float(diff.mean()), float(low), float(high), float(np.mean(means > 0))


@dataclasses.dataclass(frozen=True)
class GapCell:
    """One (plant, scenario set) of a pooled gap: each group's (runs × episodes) returns and the
    PID's and the reference's returns on the same episodes."""

    scores: Mapping[str, np.ndarray]
    pid: np.ndarray
    reference: np.ndarray


def pooled_gaps(
    cells: Sequence[GapCell], reps: int = 2000, seed: int = 0
) -> dict[str, tuple[float, np.ndarray]]:
    """Per group: the mean over cells of the gap closed, and its bootstrap distribution.

    Each resample draws every group's training runs once (the same runs in every cell: a run
    is one policy) and each cell's episodes once (the same episodes for every group and for
    the PID and reference: the pairing is kept). The mean of the per-cell gaps weighs every
    (plant, set) alike whatever its return scale. Differences between groups are read off the
    two distributions resample by resample (:func:`difference_with_ci`).
    """
    groups = sorted({g for cell in cells for g in cell.scores})
    rng = np.random.default_rng(seed)
    n_runs = {g: np.atleast_2d(cells[0].scores[g]).shape[0] for g in groups}
    run_draws = {g: rng.integers(0, n_runs[g], size=(reps, n_runs[g])) for g in groups}
    out: dict[str, tuple[float, np.ndarray]] = {}
    ep_draws = [rng.integers(0, len(c.pid), size=(reps, len(c.pid))) for c in cells]
    for g in groups:
        point = float(
            np.mean(
                [gap_closed(c.pid.mean(), np.mean(c.scores[g]), c.reference.mean()) for c in cells]
            )
        )
        draws = np.zeros(reps)
        for cell, eps in zip(cells, ep_draws, strict=True):
            x = np.atleast_2d(cell.scores[g])
            runs_mean = x[run_draws[g]].mean(axis=1)  # (reps, episodes): the drawn runs' mean
            s = np.take_along_axis(runs_mean, eps, axis=1).mean(axis=1)
            p, o = cell.pid[eps].mean(axis=1), cell.reference[eps].mean(axis=1)
            with np.errstate(divide="ignore", invalid="ignore"):
                draws += (s - p) / (o - p)
        out[g] = (point, draws / len(cells))
    return out


def difference_with_ci(
    a: tuple[float, np.ndarray], b: tuple[float, np.ndarray]
) -> tuple[float, float, float, float]:
    """``a − b`` of two :func:`pooled_gaps` entries: point, 95 % CI, P(a − b > 0)."""
    diff = a[1] - b[1]
    low, high = np.nanpercentile(diff, [2.5, 97.5])
    return a[0] - b[0], float(low), float(high), float(np.mean(diff > 0))


def interval(entry: tuple[float, np.ndarray]) -> tuple[float, float, float]:
    """Point and 95 % percentile interval of a :func:`pooled_gaps` entry."""
    low, high = np.nanpercentile(entry[1], [2.5, 97.5])
    return entry[0], float(low), float(high)
