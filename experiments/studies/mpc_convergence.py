"""Is an MPC reference converged? Its nominal return against horizon, samples and iterations.

``gap_closed = (cost_PID − cost_policy) / (cost_PID − cost_oracle)`` only means something if the
oracle is close to the true optimum, and the information/control split of the report only if
the MPC on estimates is converged too. This study evaluates either planner — the oracle
(``--baseline mpc``, ``conf/baselines/<process>_mpc.yaml``) or the MPC on estimates
(``--baseline mpc_est``, ``conf/baselines/<process>_mpc_est.yaml``: the same planner from the
estimated state) — on fixed nominal episodes (seeds 200000…) at increasing horizon × samples,
and along iterations and the replanning period, next to the operator's practice (the zero
action). Every configuration meets the same episodes, so differences are paired. The chosen
configuration should sit where doubling samples or horizon moves the mean return by only a few
percent of the operator → reference gap.

    python -m experiments.studies.mpc_convergence --process bof|paint [--baseline mpc|mpc_est]
        [--quick] [--out PATH]

A full run writes ``results/<process>/mpc_convergence.md`` (``mpc_est_convergence.md`` for the
MPC on estimates); ``--quick`` (a small grid on two short episodes: a smoke test) prints the
report unless ``--out`` is given.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

import envs  # noqa: F401  (registers the env ids)
from agents.baselines import bof_mpc, bof_mpc_est, paint_mpc, paint_mpc_est
from agents.baselines.mpc import load_config
from agents.baselines.operator import OperatorPolicy
from agents.evaluation import EpisodeResults, evaluate
from experiments.lib.kpi_tables import final_table
from experiments.lib.machine_info import ROOT, machine_info

SEED0 = 200000  # evaluation seeds of the oracle studies (training and tuning use others)
# the planners a study can be run for: the oracle and the MPC on estimates (issue 13)
BASELINES = ("mpc", "mpc_est")
TITLES = {"mpc": "MPC oracle", "mpc_est": "MPC on estimates"}


@dataclasses.dataclass(frozen=True)
class Study:
    """What is varied for one process, and on which episodes."""

    env_id: str
    env_kwargs: dict[str, Any]
    oracle: Any  # the planner studied: its class (``from_config``, ``n_act``)
    config_path: Path
    horizon_key: str
    horizon_unit: str
    horizons: tuple[int, ...]
    samples: tuple[int, ...]
    sweeps: dict[str, tuple[Any, ...]]  # 1-d sweeps around the chosen config
    doubled: tuple[str, ...]  # settings whose doubling the report checks
    episodes: int
    quick_env_kwargs: dict[str, Any]
    extra: tuple[tuple[str, dict[str, Any]], ...] = ()  # (label, overrides): context rows
    full_env_kwargs: dict[str, Any] | None = None  # the study's episodes are shortened: check
    # the MPC on estimates: its class, config, and the context rows that apply to it (an
    # estimate-based planner cannot know what only the oracle may, e.g. the BOF's tap errors)
    estimates: Any = None
    estimates_config: Path | None = None
    estimates_extra: tuple[tuple[str, dict[str, Any]], ...] = ()
    estimates_sweeps: dict[str, tuple[Any, ...]] = dataclasses.field(default_factory=dict)
    baseline: str = "mpc"

    def for_baseline(self, baseline: str) -> Study:
        """The same study for the planner ``baseline`` (one of :data:`BASELINES`)."""
        if baseline not in BASELINES:
            raise ValueError(f"baseline must be one of {BASELINES}, got {baseline!r}")
        if baseline == "mpc":
            return dataclasses.replace(self, baseline=baseline)
        if self.estimates is None or self.estimates_config is None:
            raise ValueError(f"no MPC on estimates is declared for {self.env_id}")
        return dataclasses.replace(
            self,
            oracle=self.estimates,
            config_path=self.estimates_config,
            extra=self.estimates_extra,
            sweeps={**self.sweeps, **self.estimates_sweeps},
            baseline=baseline,
        )

    @property
    def title(self) -> str:
        return TITLES[self.baseline]

    def quick(self) -> Study:
        """A few points of each sweep on two short episodes."""
        return dataclasses.replace(
            self,
            env_kwargs={**self.env_kwargs, **self.quick_env_kwargs},
            horizons=self.horizons[1:3],
            samples=self.samples[:2],
            sweeps={k: v[:2] for k, v in self.sweeps.items()},
            episodes=2,
            full_env_kwargs=None,
        )


STUDIES = {
    "bof": Study(
        "plantrl/BOF-v2",
        {"scenario": "nominal"},
        bof_mpc.BOFMPCOracle,
        bof_mpc.CONFIG_PATH,
        "horizon_steps",
        "control steps of 10 s; the last block is held to the end of the blow",
        (10, 20, 40, 80, 160),
        (16, 32, 64, 128, 256),
        {"iterations": (1, 2, 4, 8, 16), "replan_every": (1, 3, 6, 12)},
        ("samples", "horizon_steps", "iterations"),
        32,
        {},
        (("Clairvoyant (knows the end-of-blow measurement errors)", {"endpoint_noise": "true"}),),
        estimates=bof_mpc_est.BOFMPCEstimates,
        estimates_config=bof_mpc_est.CONFIG_PATH,
    ),
    "paint": Study(
        "plantrl/PaintLine-v1",
        # half shifts (200 bodies, 4 h): the grid costs ~40 configurations x 8 episodes; the
        # chosen config is also run on full shifts (full_env_kwargs)
        {"scenario": "nominal", "shift_bodies": 200},
        paint_mpc.PaintMPCOracle,
        paint_mpc.CONFIG_PATH,
        "horizon",
        "bodies; the first one a block, the rest of the horizon one block",
        (2, 4, 8, 16),
        (32, 64, 128, 256),
        {"scenarios": (1, 2, 4, 8, 16, 32), "iterations": (1, 2, 4, 8), "fine_bodies": (1, 2)},
        ("samples", "horizon", "iterations", "scenarios"),
        8,
        {"shift_bodies": 20},
        (("Playing the best candidate instead of the sampling mean", {"plan_from": "best"}),),
        full_env_kwargs={"scenario": "nominal"},
        estimates=paint_mpc_est.PaintMPCEstimates,
        estimates_config=paint_mpc_est.CONFIG_PATH,
        estimates_extra=(
            ("Playing the best candidate instead of the sampling mean", {"plan_from": "best"}),
        ),
        # the estimator's own setting: how fast the solids estimate follows the gauge
        estimates_sweeps={"solids_gain": (0.02, 0.05, 0.1, 0.2)},
    ),
}


@dataclasses.dataclass
class Run:
    """One evaluated policy: returns per episode and wall time."""

    results: EpisodeResults
    seconds: float

    @property
    def ms_per_step(self) -> float:
        """Wall time per control step of one episode (episodes batched, one core)."""
        return 1000.0 * self.seconds / float(self.results.lengths.sum())


def evaluate_timed(
    study: Study, policy: Any, seeds: list[int], env_kwargs: dict[str, Any] | None = None
) -> Run:
    """``evaluate`` on the study's env (or one built with ``env_kwargs``), timed."""
    kwargs = study.env_kwargs if env_kwargs is None else env_kwargs
    t0 = time.perf_counter()
    res = evaluate(policy, lambda: gym.make(study.env_id, **kwargs), seeds)
    return Run(res, time.perf_counter() - t0)


def full_episodes(study: Study, seeds: list[int]) -> list[str]:
    """The chosen planner against the operator on unshortened episodes (markdown lines)."""
    if study.full_env_kwargs is None:
        return []
    kw = study.full_env_kwargs
    oracle = evaluate_timed(study, study.oracle.from_config(), seeds, kw)
    op = evaluate_timed(study, OperatorPolicy(study.oracle.n_act), seeds, kw)
    d, se = paired(oracle, op)
    per_episode = oracle.seconds / len(seeds)
    return [
        f"\n## Full episodes (`{kw}`), chosen config\n",
        f"Operator {op.results.returns.mean():.3f}, {study.title} "
        f"{oracle.results.returns.mean():.3f}; paired Δ {d:+.3f} ± {se:.3f} "
        f"({100 * d / abs(op.results.returns.mean()):.1f} % of the operator's cost); "
        f"{oracle.ms_per_step:.2f} ms per control step, {per_episode:.0f} s per episode.\n",
        final_table(
            {f"{study.baseline} (chosen)": oracle.results, "operator": op.results}
        ).to_markdown(),
    ]


def paired(a: Run, b: Run) -> tuple[float, float]:
    """Mean and standard error of the paired return difference a − b."""
    d = a.results.returns - b.results.returns
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


class Sweeps:
    """Runs the planner at config overrides, each distinct config once (grids share points)."""

    def __init__(self, study: Study, chosen: dict[str, Any], seeds: list[int]) -> None:
        self.study, self.chosen, self.seeds = study, chosen, seeds
        self.cache: dict[str, Run] = {}
        # compile the kernels (or load them from the numba cache) before anything is timed
        evaluate_timed(study, study.oracle.from_config(samples=4, iterations=1), seeds[:1])

    def __call__(self, **over: Any) -> Run:
        key = repr(sorted({**self.chosen, **over}.items()))
        if key not in self.cache:
            oracle = self.study.oracle.from_config(**over)
            r = self.cache[key] = evaluate_timed(self.study, oracle, self.seeds)
            ret = r.results.returns.mean()
            print(f"{over!s:55s} return {ret:9.3f}  {r.ms_per_step:7.2f} ms/step", flush=True)
        return self.cache[key]


def cell(r: Run, ref: Run, gap: float) -> str:
    """Mean return ± s.e. (paired Δ vs ``ref`` in % of ``gap`` ± s.e.; ms per step)."""
    ret, (d, se) = r.results.returns, paired(r, ref)
    mean = f"{ret.mean():.3f} ± {ret.std(ddof=1) / np.sqrt(ret.size):.3f}"
    return f"{mean} ({100 * d / gap:+.1f} ± {100 * se / gap:.1f} %; {r.ms_per_step:.1f} ms)"


def sections(study: Study, sweep: Sweeps, ref: Run, gap: float) -> list[str]:
    """The horizon × samples table, the 1-d sweeps and the doubling checks (markdown lines)."""
    hk, c = study.horizon_key, sweep.chosen
    out = [f"## Horizon × samples\n\n{hk}: {study.horizon_unit}.\n"]
    out += ["| " + hk + " \\ samples | " + " | ".join(map(str, study.samples)) + " |"]
    out += ["|---|" + "---|" * len(study.samples)]
    for h in study.horizons:
        row = [cell(sweep(**{hk: h, "samples": k}), ref, gap) for k in study.samples]
        out.append(f"| {h} | " + " | ".join(row) + " |")
    for key, values in study.sweeps.items():
        out += [f"\n## {key} (the rest as chosen)\n", f"| {key} | return |", "|---|---|"]
        out += [f"| {v} | {cell(sweep(**{key: v}), ref, gap)} |" for v in values]
    out += ["\n## Doubling the chosen config\n", "| change | Δ return, paired | % of gap |"]
    out += ["|---|---|---|"]
    for key in study.doubled:
        d, se = paired(sweep(**{key: 2 * c[key]}), ref)
        pct = f"{100 * d / gap:+.1f} ± {100 * se / gap:.1f}"
        out.append(f"| {key} × 2 ({2 * c[key]}) | {d:+.3f} ± {se:.3f} | {pct} |")
    for label, over in study.extra:
        out.append(f"\n{label}: {cell(sweep(**over), ref, gap)}")
    return out


def report(study: Study, process: str, cmd: str, chosen: dict[str, Any], seeds: list[int]) -> str:
    """Run the whole study and return the markdown report."""
    sweep = Sweeps(study, chosen, seeds)
    ref = sweep()
    n_act = study.oracle.n_act
    op = evaluate_timed(study, OperatorPolicy(n_act), seeds)
    gap = float(ref.results.returns.mean() - op.results.returns.mean())
    body = sections(study, sweep, ref, gap)
    info = machine_info()
    per_episode = ref.seconds / len(seeds)
    head = [
        f"# {study.title} convergence: {process}, nominal scenario\n",
        f"Command: `{cmd}`  ",
        f"Run {info['date']}, git `{info['git']}`, {info['cpu']}, load {info['load']}.  ",
        f"Episodes: {len(seeds)} seeds {seeds[0]}…{seeds[-1]} of `{study.env_id}` with "
        f"`{study.env_kwargs}`, the same for every row (paired).  ",
        f"Chosen config (`conf/baselines/{study.config_path.name}`): `{chosen}`.\n",
        f"Mean return per episode: operator (zero action) **{op.results.returns.mean():.3f}**, "
        f"chosen {study.title} **{ref.results.returns.mean():.3f}** (gap {gap:.3f}); it takes "
        f"{ref.ms_per_step:.2f} ms per control step, {per_episode:.1f} s per episode.\n",
        "Cells: mean return ± s.e. (paired Δ vs the chosen config in % of the operator → "
        "reference gap, ± s.e.; wall time per control step of one episode, one core, episodes "
        "batched).\n",
    ]
    chosen_row = f"{study.baseline} (chosen)"
    kpis = final_table({chosen_row: ref.results, "operator": op.results}).to_markdown()
    full = full_episodes(study, seeds)
    title = f"\n## KPIs, chosen {study.title} vs operator\n"
    return "\n".join([*head, *body, title, kpis, *full])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--process", choices=sorted(STUDIES), required=True)
    parser.add_argument(
        "--baseline", choices=BASELINES, default="mpc", help="the oracle or the MPC on estimates"
    )
    parser.add_argument("--quick", action="store_true", help="small grid, two short episodes")
    parser.add_argument("--out", type=Path, default=None, help="markdown path")
    args = parser.parse_args(argv)
    study = STUDIES[args.process].for_baseline(args.baseline)
    study = study.quick() if args.quick else study
    seeds = list(range(SEED0, SEED0 + study.episodes))
    chosen = load_config(study.config_path, {})
    cmd = "python -m experiments.studies.mpc_convergence " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    text = report(study, args.process, cmd, chosen, seeds)
    default = ROOT / "results" / args.process / f"{args.baseline}_convergence.md"
    out = args.out or (None if args.quick else default)
    if out is None:
        print(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
