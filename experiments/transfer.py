"""Transfer between plant variants: zero-shot matrix, fine-tuning, single-plant vs randomised.

    python -m experiments.transfer                   # BOF: every stage (conf/transfer.yaml)
    python -m experiments.transfer env=paint
    python -m experiments.transfer stages=[zero_shot] targets=[held_out]

Stages (``stages=``):

- ``zero_shot``: every source run (``conf/sources/<env>.yaml``: one group per training recipe,
  one run per seed) on every target plant's scenario sets, unchanged: return, Δ vs the target's
  own PID, and ``gap_closed`` against both references of the evaluation protocol (the MPC on
  estimates and the MPC oracle) with 95 % CIs (rliable), beside the target's operator and PID.
- ``fine_tune``: each ``fine_tune.source`` run warm-started at each ``fine_tune.targets`` plant
  with ``budget`` steps vs training there from scratch with the same budget and with
  ``scratch_budget``: the samples each needs to reach the target's PID level, the final scores.

Targets are split names (``train``, ``held_out``, ``ood`` of ``conf/splits/<env>.yaml``) or
plant names; a plant given on the command line (``plant=bof_custom plant.params.…``) joins
them, classed held-out or out-of-distribution by its parameters. Tables report each split apart
and pool it: the mean over the split's (plant, set) cells of the gap closed, with a bootstrap
over training runs and episodes (:func:`experiments.lib.stats.pooled_gaps`). "Does randomised
training transfer better out of distribution?" is the difference of the two groups' pooled gaps
on the ood split, with its CI.

Every evaluation is an ordinary ``experiments.evaluate`` run, found again by key when the job is
re-run (:mod:`experiments.lib.scores`); fine-tuning and scratch runs are ordinary training runs,
found again by their tags. Outputs: ``results/<env>/transfer.md``, ``transfer.png`` (heat-maps)
and one MLflow parent run (experiment ``<env>-transfer``) with a child run per (source group,
target plant).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from shlex import quote
from typing import Any, cast

import hydra
import matplotlib
import mlflow
import numpy as np
import pandas as pd
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from envs.core.params import PlantVariant
from experiments.lib.cli import readable_errors, start
from experiments.lib.config_checks import ConfigError, check_tracking
from experiments.lib.plants import job_plant
from experiments.lib.scores import EpisodeScores, episode_scores
from experiments.lib.splits import SPLITS, Splits, check_episodes, load_splits
from experiments.lib.stats import (
    GapCell,
    difference_with_ci,
    gap_closed_with_ci,
    interval,
    paired_delta_with_ci,
    pooled_gaps,
)
from experiments.lib.tracking import git_commit, setup_tracking

__all__ = ["SourceGroup", "ZeroShotCell", "main", "run_transfer", "source_groups"]

STAGES = ("zero_shot", "fine_tune")
# the reference controllers built for every target: practice, PID, MPC on estimates, oracle
REFERENCES = {
    "operator": "baseline:operator",
    "pid": "baseline:pid",
    "mpc_est": "baseline:mpc_est",
    "mpc": "baseline:mpc",
}
# issue 15's goal: zero-shot on held-out plants closes ≥ 60 % of the PID → MPC-on-estimates gap
HELD_OUT_GOAL = 0.6


@dataclasses.dataclass(frozen=True)
class SourceGroup:
    """The training runs of one recipe (one per seed), as ``runs:/<id>`` specs."""

    name: str
    label: str
    specs: tuple[str, ...]
    seeds: tuple[str, ...]


def finished_runs(experiment_name: str, where: str) -> pd.DataFrame:
    """The finished runs of an experiment a filter selects (none if it does not exist)."""
    experiment = mlflow.get_experiment_by_name(experiment_name)
    if experiment is None:
        return pd.DataFrame()
    query = f"{where} and attributes.status = 'FINISHED'"
    return cast(pd.DataFrame, mlflow.search_runs([experiment.experiment_id], query))


def source_groups(groups: Mapping[str, Any], process: str) -> list[SourceGroup]:
    """The finished training runs each group's filter selects in experiment ``<process>``.

    Raises:
        ConfigError: a group without a filter, or one that selects no finished run with a
            logged policy (naming the filter and how to train the sources).
    """
    out = []
    for name, group in groups.items():
        if not isinstance(group, Mapping) or not group.get("filter"):
            raise ConfigError(f"sources.groups.{name} needs a filter (an MLflow run filter)")
        runs = finished_runs(process, str(group["filter"]))
        if len(runs) == 0 or "tags.model_uri" not in runs:
            raise ConfigError(
                f"sources.groups.{name} selects no finished training run in experiment "
                f"{process!r} (filter: {group['filter']}): train them first "
                f"(make transfer-sources-{process})"
            )
        runs = runs[runs["tags.model_uri"].notna()]
        if "tags.init_from" in runs:  # a warm-started run is a fine-tune, never a source
            runs = runs[runs["tags.init_from"].isna()]
        seeds = runs["tags.seed"]
        if seeds.duplicated().any():
            raise ConfigError(
                f"sources.groups.{name} selects several runs of seed(s) "
                f"{sorted(set(seeds[seeds.duplicated()]))} (filter: {group['filter']}): "
                "narrow the filter to one run per seed"
            )
        runs = runs.assign(seed_order=runs["tags.seed"].astype(int)).sort_values("seed_order")
        out.append(
            SourceGroup(
                str(name),
                str(group.get("label", name)),
                tuple(f"runs:/{r}" for r in runs["run_id"]),
                tuple(str(s) for s in runs["tags.seed"]),
            )
        )
    return out


def job_targets(
    c: Mapping[str, Any], splits: Splits, plant_choice: str | None, explicit: Collection[str]
) -> list[PlantVariant]:
    """The target plants: the ``targets`` list, plus the plant given on the command line."""
    targets = splits.targets([str(t) for t in c["targets"]])
    if any(key == "plant" or key.startswith("plant.") for key in explicit):
        cli_plant = job_plant(c["plant"], c["env"]["name"], plant_choice)
        if cli_plant.plant_hash() not in {p.plant_hash() for p in targets}:
            targets.append(cli_plant)
    return targets


def _job(c: Mapping[str, Any]) -> dict[str, Any]:
    """What :func:`episode_scores` needs of this job's config."""
    return {
        "env": c["env"],
        "tracking": c["tracking"],
        "trust_pickle": c.get("trust_pickle", False),
    }


# ---------------------------------------------------------------- zero-shot
@dataclasses.dataclass(frozen=True)
class ZeroShotCell:
    """One source group on one target plant and scenario set, with the target's references.

    | field | meaning |
    | --- | --- |
    | ``scores`` | (runs × episodes) returns of the group's runs |
    | ``refs`` | per reference (operator, pid, mpc_est, mpc): returns on the same episodes |
    """

    group: str
    plant: str
    plant_hash: str
    split: str
    scenario_set: str
    scores: np.ndarray
    refs: Mapping[str, np.ndarray]

    def delta_pid(self) -> tuple[float, float, float, float]:
        return paired_delta_with_ci(self.scores, self.refs["pid"])

    def gap(self, reference: str) -> tuple[float, float, float]:
        return gap_closed_with_ci(self.scores, self.refs["pid"], self.refs[reference])


def references(
    c: Mapping[str, Any], plant: PlantVariant, scenario_set: str, episodes: int | None
) -> dict[str, EpisodeScores]:
    """The target's own controllers on the set: built for that plant, evaluated once."""
    return {
        name: episode_scores(_job(c), spec, plant, scenario_set, episodes)
        for name, spec in REFERENCES.items()
    }


def zero_shot(
    c: Mapping[str, Any],
    groups: Sequence[SourceGroup],
    targets: Sequence[PlantVariant],
    splits: Splits,
    episodes: Mapping[str, int | None],
) -> list[ZeroShotCell]:
    """Every group's runs, unchanged, on every target plant × scenario set."""
    cells = []
    for plant in targets:
        for name, n in episodes.items():
            refs = references(c, plant, name, n)
            for group in groups:
                runs = [episode_scores(_job(c), s, plant, name, n) for s in group.specs]
                cells.append(
                    ZeroShotCell(
                        group.name,
                        plant.name,
                        plant.plant_hash(),
                        splits.split_of(plant),
                        name,
                        np.stack([r.returns for r in runs]),
                        {k: v.returns for k, v in refs.items()},
                    )
                )
    return cells


def _gap_cells(cells: Sequence[ZeroShotCell], split: str, reference: str) -> list[GapCell]:
    """The split's (plant, set) cells with every group's scores, for :func:`pooled_gaps`."""
    keyed: dict[tuple[str, str], list[ZeroShotCell]] = {}
    for cell in cells:
        if cell.split == split:
            keyed.setdefault((cell.plant_hash, cell.scenario_set), []).append(cell)
    return [
        GapCell({x.group: x.scores for x in xs}, xs[0].refs["pid"], xs[0].refs[reference])
        for xs in keyed.values()
    ]


def _ci(point: float, low: float, high: float, fmt: str = "{:+.2f}") -> str:
    if not np.isfinite(point):
        return "n/a"
    return f"{fmt.format(point)} [{fmt.format(low)}, {fmt.format(high)}]"


def zero_shot_tables(cells: Sequence[ZeroShotCell], groups: Sequence[SourceGroup]) -> str:
    """Per split: every (target, set, group) row, then the split's pooled gaps."""
    out = []
    for split in SPLITS:
        rows = [x for x in cells if x.split == split]
        if not rows:
            continue
        out.append(f"### {split.replace('_', '-')} plants\n")
        out.append(
            "| target | set | source | return | Δ vs PID [95 % CI] | P(Δ > 0) "
            "| gap closed (MPC est) [95 % CI] | gap closed (oracle) [95 % CI] "
            "| operator | PID | MPC est | oracle |"
        )
        out.append("|" + " --- |" * 12)
        for x in rows:
            d = x.delta_pid()
            r = x.refs
            out.append(
                f"| {x.plant} | {x.scenario_set} | {x.group} | {x.scores.mean():.3f} "
                f"| {_ci(d[0], d[1], d[2], '{:+.3f}')} | {d[3]:.2f} "
                f"| {_ci(*x.gap('mpc_est'))} | {_ci(*x.gap('mpc'))} "
                f"| {r['operator'].mean():.3f} | {r['pid'].mean():.3f} "
                f"| {r['mpc_est'].mean():.3f} | {r['mpc'].mean():.3f} |"
            )
        out.append("")
        for reference, title in (("mpc_est", "MPC on estimates"), ("mpc", "oracle")):
            pooled = pooled_gaps(_gap_cells(cells, split, reference))
            text = ", ".join(f"{g.name} {_ci(*interval(pooled[g.name]))}" for g in groups)
            out.append(f"- pooled gap closed vs the {title} (mean over cells): {text}")
        out.append("")
    return "\n".join(out)


def zero_shot_goals(cells: Sequence[ZeroShotCell], groups: Sequence[SourceGroup]) -> list[str]:
    """Issue 15's two zero-shot goals, judged with their CIs."""
    lines = []
    held = pooled_gaps(_gap_cells(cells, "held_out", "mpc_est"))
    for g in groups:
        if g.name not in held:
            continue
        point, low, high = interval(held[g.name])
        verdict = (
            "**met**" if point >= HELD_OUT_GOAL else f"**missed** by {HELD_OUT_GOAL - point:.2f}"
        )
        sure = " (CI above the goal)" if low >= HELD_OUT_GOAL else ""
        lines.append(
            f"- zero-shot on held-out plants closes ≥ {HELD_OUT_GOAL:.0%} of the PID → MPC-on-"
            f"estimates gap, `{g.name}`: {_ci(point, low, high)}: {verdict}{sure}"
        )
    ood = pooled_gaps(_gap_cells(cells, "ood", "mpc_est"))
    names = {g.name for g in groups}
    if {"single", "randomised"} <= names and ood:
        point, low, high, p = difference_with_ci(ood["randomised"], ood["single"])
        verdict = "**met**" if low > 0 else "**missed**"
        lines.append(
            "- randomised training transfers better than single-plant training out of "
            f"distribution: Δ pooled gap closed (MPC est), randomised − single = "
            f"{_ci(point, low, high)}, P(Δ > 0) {p:.2f}: {verdict}"
            + ("" if low > 0 else " (the CI does not exclude 0)")
        )
    return lines


def heatmap(cells: Sequence[ZeroShotCell], out: Path) -> Path:
    """Gap closed per (source group, set) × target, against each reference."""
    targets = list(dict.fromkeys((x.split, x.plant) for x in cells))
    targets.sort(key=lambda t: SPLITS.index(t[0]))
    rows = list(dict.fromkeys((x.group, x.scenario_set) for x in cells))
    fig, axes = plt.subplots(1, 2, figsize=(2.2 + 1.1 * len(targets) * 2, 1.2 + 0.5 * len(rows)))
    fig.subplots_adjust(wspace=0.08)
    for k, (ax, (reference, title)) in enumerate(
        zip(axes, (("mpc_est", "vs MPC on estimates"), ("mpc", "vs MPC oracle")), strict=True)
    ):
        grid = np.full((len(rows), len(targets)), np.nan)
        for x in cells:
            i, j = rows.index((x.group, x.scenario_set)), targets.index((x.split, x.plant))
            grid[i, j] = x.gap(reference)[0]
        image = ax.imshow(np.clip(grid, -2, 2), cmap="RdYlGn", vmin=-1.5, vmax=1.5, aspect="auto")
        for (i, j), value in np.ndenumerate(grid):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(
            range(len(targets)),
            [f"{p}\n({s})" for s, p in targets],
            rotation=60,
            ha="right",
            fontsize=7,
        )
        # the rows are the same in both panels: labelled once, on the left
        ax.set_yticks(
            range(len(rows)), [f"{g} / {s}" for g, s in rows] if k == 0 else [], fontsize=7
        )
        ax.set_title(f"zero-shot gap closed {title}", fontsize=9)
    fig.colorbar(image, ax=axes, shrink=0.8, label="gap closed (0 = PID, 1 = reference)")
    path = out / "transfer.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


# ---------------------------------------------------------------- fine-tuning
# the three ways to reach a target plant the fine-tuning stage compares
ROLES = ("warm", "scratch", "scratch_full")
ROLE_TITLES = {
    "warm": "warm start from the source, `budget` steps",
    "scratch": "from scratch, the same `budget`",
    "scratch_full": "from scratch, `scratch_budget` steps",
}


@dataclasses.dataclass(frozen=True)
class TrainedRun:
    """A fine-tuning-stage training run and its learning curve on the target plant."""

    role: str
    seed: int
    budget: int
    run_id: str
    curve: tuple[tuple[int, float], ...]  # (env-steps, eval/return_mean) in step order


def _study_tags(role: str, source: str, plant: PlantVariant, budget: int, seed: int) -> dict:
    return {
        "study": "transfer-fine-tune",
        "role": role,
        "source_policy": source if role == "warm" else "none",
        "target_hash": plant.plant_hash(),
        "budget": str(budget),
        "seed_index": str(seed),
    }


def trained_run(
    c: Mapping[str, Any], role: str, source: str, plant: PlantVariant, budget: int, seed: int
) -> TrainedRun:
    """The stage's training run for (role, target, budget, seed): found by its tags if a
    previous job trained it, else trained now (:func:`experiments.lib.fine_tune.fine_tune`)."""
    from experiments.lib.fine_tune import fine_tune

    process = c["env"]["name"]
    tags = _study_tags(role, source, plant, budget, seed)
    found = finished_runs(process, " and ".join(f"tags.{k} = '{v}'" for k, v in tags.items()))
    if len(found):
        run_id = str(found["run_id"].iloc[0])
    else:
        # the curve's resolution: eval_every, coarser for long runs (at most 20 points)
        every = max(int(c["fine_tune"]["eval_every"]), budget // 20)
        result = fine_tune(
            source,
            plant,
            budget,
            seed,
            tracking={**c["tracking"], "experiment": process},
            paths=c["paths"],
            extra_overrides=[
                f"eval.every_steps={every}",
                f"train.checkpoint_every_steps={every}",
                # the train job's closing table (incl. the MPC on estimates: ≈ 7 s per paint
                # shift) is not what this stage scores: the target's scenario sets are
                f"eval.final_episodes={int(c['fine_tune']['final_episodes'])}",
            ],
            run_tags=tags,
            warm_start=role == "warm",
        )
        run_id = result.run_id
    history = mlflow.MlflowClient().get_metric_history(run_id, "eval/return_mean")
    curve = tuple(sorted((int(m.step), float(m.value)) for m in history))
    return TrainedRun(role, seed, budget, run_id, curve)


def pid_level(c: Mapping[str, Any], run_id: str, plant: PlantVariant) -> float:
    """The target PID's mean return on the held-apart episodes a training run evaluates its
    learning curve on (its ``eval.*`` params): the level the curve must reach."""
    import envs
    from agents.evaluation import evaluate
    from agents.loading import load_baseline

    params = mlflow.get_run(run_id).data.params
    first, n = int(params["eval.first_seed"]), int(params["eval.n_episodes"])
    kwargs = {
        k: v
        for k, v in c["env"]["kwargs"].items()
        if v is not None and k not in ("scenario", "randomize", "campaign_heats")
    }

    def make_env() -> Any:
        return envs.make(c["env"]["id"], plant=plant, scenario=params["eval.scenario"], **kwargs)

    n_act = make_env().action_space.shape[0]
    pid = load_baseline("pid", c["env"]["name"], n_act, plant, kwargs)
    return float(evaluate(pid, make_env, range(first, first + n)).returns.mean())


def steps_to_reach(curve: Sequence[tuple[int, float]], level: float) -> int | None:
    """The first evaluated step whose return is at least ``level`` (None: never)."""
    return next((step for step, value in curve if value >= level), None)


@dataclasses.dataclass(frozen=True)
class FineTuneResult:
    """One target's fine-tuning comparison."""

    plant: PlantVariant
    runs: Mapping[str, list[TrainedRun]]  # role → one run per seed
    scores: Mapping[str, Mapping[str, np.ndarray]]  # role → set → (runs × episodes)
    pid: Mapping[str, np.ndarray]  # set → the target PID's returns
    level: float  # the target PID on the learning curves' episodes


def fine_tuning(
    c: Mapping[str, Any],
    groups: Sequence[SourceGroup],
    splits: Splits,
    episodes: Mapping[str, int | None],
) -> list[FineTuneResult]:
    """Warm start vs scratch (same budget) vs scratch (full budget) at every fine-tune target."""
    ft = c["fine_tune"]
    by_name = {g.name: g for g in groups}
    if ft["source"] not in by_name:
        raise ConfigError(f"fine_tune.source = {ft['source']!r}: one of {sorted(by_name)}")
    source = by_name[ft["source"]]
    seeds = int(ft["seeds"])
    if seeds > len(source.specs):
        raise ConfigError(
            f"fine_tune.seeds = {seeds}, but source group {source.name} has "
            f"{len(source.specs)} runs: train more or lower fine_tune.seeds"
        )
    budgets = {"warm": int(ft["budget"]), "scratch": int(ft["budget"])}
    budgets["scratch_full"] = int(ft["scratch_budget"])
    results = []
    for plant in splits.targets([str(t) for t in ft["targets"]]):
        runs = {
            role: [
                trained_run(c, role, source.specs[i], plant, budgets[role], i) for i in range(seeds)
            ]
            for role in ROLES
        }
        scores = {
            role: {
                name: np.stack(
                    [
                        episode_scores(_job(c), f"runs:/{r.run_id}", plant, name, n).returns
                        for r in rs
                    ]
                )
                for name, n in episodes.items()
            }
            for role, rs in runs.items()
        }
        pid = {
            name: episode_scores(_job(c), "baseline:pid", plant, name, n).returns
            for name, n in episodes.items()
        }
        level = pid_level(c, runs["scratch_full"][0].run_id, plant)
        results.append(FineTuneResult(plant, runs, scores, pid, level))
    return results


def _paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float, float]:
    """Mean of ``a − b`` over runs paired by seed and the same episodes, 95 % CI, P(> 0)."""
    return paired_delta_with_ci(a - b, np.zeros(a.shape[1]))


def fine_tune_section(
    results: Sequence[FineTuneResult], c: Mapping[str, Any]
) -> tuple[str, list[str]]:
    """The fine-tuning tables and the goal line (warm start reaches the from-scratch score with
    ≤ 20 % of its samples)."""
    ft = c["fine_tune"]
    share = int(ft["budget"]) / int(ft["scratch_budget"])
    text, goals = [], []
    for res in results:
        text.append(f"### fine-tuning at `{res.plant.name}` ({len(res.runs['warm'])} seeds)\n")
        text.append(
            "| run | budget [steps] | steps to the target PID's level | "
            + " | ".join(f"{s}: return (Δ vs PID)" for s in res.pid)
            + " |"
        )
        text.append("|" + " --- |" * (3 + len(res.pid)))
        for role in ROLES:
            reached = [steps_to_reach(r.curve, res.level) for r in res.runs[role]]
            shown = ", ".join("never" if s is None else f"{s:,}" for s in reached)
            cells = []
            for name, ref in res.pid.items():
                x = res.scores[role][name]
                d = paired_delta_with_ci(x, ref)
                cells.append(f"{x.mean():.3f} ({_ci(d[0], d[1], d[2], '{:+.3f}')})")
            text.append(
                f"| {ROLE_TITLES[role]} | {res.runs[role][0].budget:,} | {shown} | "
                + " | ".join(cells)
                + " |"
            )
        text.append("")
        met = True
        for name in res.pid:
            warm, full = res.scores["warm"][name], res.scores["scratch_full"][name]
            small = res.scores["scratch"][name]
            d_full, d_small = _paired(warm, full), _paired(warm, small)
            met &= d_full[0] >= 0
            text.append(
                f"- `{name}`: warm start − scratch (full budget) {_ci(*d_full[:3], '{:+.3f}')}, "
                f"P(Δ > 0) {d_full[3]:.2f}; warm start − scratch (same budget) "
                f"{_ci(*d_small[:3], '{:+.3f}')}, P(Δ > 0) {d_small[3]:.2f}"
            )
        text.append(
            f"- PID level on the learning curves' {c['fine_tune']['eval_every']:,}-step "
            f"evaluations (the training runs' held-apart episodes): {res.level:.3f}\n"
        )
        goals.append(
            f"- fine-tuning at `{res.plant.name}` reaches the from-scratch score with ≤ 20 % of "
            f"its samples (warm start {int(ft['budget']):,} = {share:.0%} of "
            f"{int(ft['scratch_budget']):,} steps; met if its mean return is at least the "
            f"from-scratch run's on every set): {'**met**' if met else '**missed**'}"
        )
    return "\n".join(text), goals


# ---------------------------------------------------------------- the job
def log_runs(
    c: Mapping[str, Any],
    cells: Sequence[ZeroShotCell],
    fine: Sequence[FineTuneResult],
    files: Sequence[Path],
) -> str:
    """One parent run for the job, a child run per (source group, target plant)."""
    experiment_id = setup_tracking(c["tracking"])
    with mlflow.start_run(
        experiment_id=experiment_id,
        run_name=f"transfer-{c['env']['name']}",
        tags={"git_commit": git_commit(), "process": c["env"]["name"]},
    ) as parent:
        mlflow.log_params(
            {
                "targets": ",".join(str(t) for t in c["targets"]),
                "stages": ",".join(c["stages"]),
                "scenario_sets": ",".join(c["scenario_sets"]),
            }
        )
        pairs = list(dict.fromkeys((x.group, x.plant, x.plant_hash, x.split) for x in cells))
        for group, plant, digest, split in pairs:
            with mlflow.start_run(
                experiment_id=experiment_id,
                run_name=f"{group}->{plant}",
                nested=True,
                tags={"source_group": group, "plant": plant, "plant_hash": digest, "split": split},
            ):
                for x in cells:
                    if (x.group, x.plant_hash) != (group, digest):
                        continue
                    d, est, ora = x.delta_pid(), x.gap("mpc_est"), x.gap("mpc")
                    metrics = {
                        "return_mean": float(x.scores.mean()),
                        "delta_pid": d[0],
                        "delta_pid_low": d[1],
                        "delta_pid_high": d[2],
                        "gap_closed_est": est[0],
                        "gap_closed_est_low": est[1],
                        "gap_closed_est_high": est[2],
                        "gap_closed": ora[0],
                        "gap_closed_low": ora[1],
                        "gap_closed_high": ora[2],
                    }
                    mlflow.log_metrics(
                        {f"{x.scenario_set}/{k}": v for k, v in metrics.items() if np.isfinite(v)}
                    )
        for res in fine:
            for role, runs in res.runs.items():
                for r in runs:
                    reached = steps_to_reach(r.curve, res.level)
                    mlflow.log_metric(
                        f"fine_tune/{res.plant.name}/{role}/s{r.seed}/steps_to_pid",
                        float("nan") if reached is None else reached,
                    )
        for path in files:
            mlflow.log_artifact(str(path))
        return str(parent.info.run_id)


def run_transfer(c: dict[str, Any], plant_choice: str | None, explicit: Collection[str]) -> Path:
    """The whole job for a resolved config; returns the markdown report's path."""
    unknown = sorted(set(c["stages"]) - set(STAGES))
    if unknown or not c["stages"]:
        raise ConfigError(f"stages = {c['stages']}: a non-empty list of {list(STAGES)}")
    check_tracking(c["tracking"], write=True)
    process = c["env"]["name"]
    splits = load_splits(c["splits"], process)
    episodes = check_episodes(c["episodes"], c["scenario_sets"], "episodes")
    targets = job_targets(c, splits, plant_choice, explicit)
    setup_tracking(c["tracking"])
    groups = source_groups(c["sources"]["groups"], process)
    out = Path(c["out"])
    out.mkdir(parents=True, exist_ok=True)
    cells = zero_shot(c, groups, targets, splits, episodes) if "zero_shot" in c["stages"] else []
    fine = fine_tuning(c, groups, splits, episodes) if "fine_tune" in c["stages"] else []
    overrides = HydraConfig.get().overrides.task if HydraConfig.initialized() else []
    command = " ".join(["python -m experiments.transfer", *map(quote, overrides)])
    goals = zero_shot_goals(cells, groups) if cells else []
    body = []
    files = []
    if cells:
        files.append(heatmap(cells, out))
        body += [
            "## Zero-shot matrix\n",
            "![zero-shot gap closed](transfer.png)\n",
            zero_shot_tables(cells, groups),
        ]
    if fine:
        text, fine_goals = fine_tune_section(fine, c)
        goals += fine_goals
        body += ["## Fine-tuning\n", text]
    sources = "\n".join(
        f"- `{g.name}`: {g.label}; {len(g.specs)} runs (seeds {', '.join(g.seeds)}): "
        + ", ".join(f"`{s.removeprefix('runs:/')[:8]}`" for s in g.specs)
        for g in groups
    )
    sets = ", ".join(f"`{k}` (first {v} episodes)" for k, v in episodes.items())
    head = (
        f"# {process}: transfer between plant variants\n\n"
        f"Regenerate: `{command.strip()}` (git `{git_commit()}`). Sources:\n{sources}\n\n"
        f"Scenario sets {sets}; every policy and reference on the same seeds. Return: mean over "
        "runs × episodes; Δ vs PID: paired on the episodes, 95 % bootstrap CI over training runs "
        "and episodes; gap closed = (return − PID)/(reference − PID) with the target's own PID, "
        "MPC on estimates and MPC oracle (0 = PID, 1 = the reference), 95 % stratified-bootstrap "
        "CI (rliable, episodes resampled jointly for policy and references). Pooled: the mean "
        "of a split's per-cell gaps, runs and episodes resampled together.\n\n"
        "## Goals (issue 15)\n\n" + "\n".join(goals) + "\n\n"
    )
    path = out / "transfer.md"
    path.write_text(head + "\n".join(body) + "\n")
    files.append(path)
    run_id = log_runs(c, cells, fine, files)
    print(f"wrote {path}; MLflow parent run {run_id}")
    return path


@hydra.main(version_base="1.3", config_path="../conf", config_name="transfer")
@readable_errors
def main(cfg: DictConfig) -> Path:
    c = cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))
    hydra_cfg = HydraConfig.get()
    explicit = {o.split("=", 1)[0].lstrip("+~") for o in hydra_cfg.overrides.task}
    return run_transfer(c, hydra_cfg.runtime.choices.get("plant"), explicit)


if __name__ == "__main__":
    start(main)
