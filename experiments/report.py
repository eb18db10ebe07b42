"""Write ``results/<process>/report.md`` (+ PNG figures) from the runs in the MLflow store.

    python -m experiments.report env=bof        # or env=paint

Everything comes from the tracking store, so the report and a reviewer's MLflow comparison agree:
evaluation runs (experiment ``<env>-evaluation``, written by ``experiments.evaluate``) give the
KPI tables, training runs (experiment ``<env>``) the learning curves. Per scenario set and policy:
return as the interquartile mean over (training seeds × episodes) with a 95 % stratified-bootstrap
CI (rliable), ``gap_closed`` between PID (0) and the MPC oracle (1), ``gap_closed_est`` between
PID (0) and the MPC on estimates (1, ``baseline:mpc_est``: the oracle's planner started from the
estimated state), the probability of improvement over PID, the domain KPIs with their bands, and
for ``drift`` the recovery after the drift start. Below each table the oracle's lead over the PID
is split into information (oracle − MPC on estimates) and control (MPC on estimates − PID).
Baselines are deterministic (one run each); trained policies have one run per training seed
(the latest evaluation of each training run counts). The report opens with issue 13's goals
judged on one learned policy family per process, the same on every set (``headline`` in
``conf/evaluate.yaml``; :mod:`experiments.lib.goals`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import hydra
import matplotlib
import mlflow
import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

matplotlib.use("Agg")
import matplotlib.pyplot as plt

import envs
from agents.builder import trusting_pickles
from envs.core.params import PlantVariant
from experiments.lib.cli import readable_errors, start
from experiments.lib.config_checks import check_tracking
from experiments.lib.evaluation_job import env_for, residual_for, resolve_combined_policy
from experiments.lib.goals import goals_section
from experiments.lib.kpi_tables import CEILING_TITLE, ceilings
from experiments.lib.plants import job_plant
from experiments.lib.scenario_sets import load_scenario_set
from experiments.lib.stats import (
    gap_closed,
    iqm_with_ci,
    paired_delta_with_ci,
    probability_of_improvement,
)
from experiments.lib.tracking import git_commit, setup_tracking

__all__ = ["decomposition", "main", "write_report"]

# the reference rows, weakest first: practice, PID, MPC on estimates, MPC oracle (the fifth is
# the perfect-endpoint ceiling row)
BASELINE_ORDER = ("operator", "pid", "mpc_est", "mpc")
# leading columns of a scenario table (the KPIs of :data:`KPIS` follow)
LEAD_COLUMNS = (
    "policy",
    "runs × episodes",
    "return IQM [95 % CI]",
    "gap closed",
    "gap closed (est)",
    "Δ vs PID [95 % CI]",
    "P(Δ > 0)",
    "P(> PID)",
)
# (row title, KPI key, format) per process: domain KPIs beside return, bands always named
KPIS = {
    "bof": (
        ("C hit ±0.02 wt%", "hit_c_0.02", "{:.0%}"),
        ("C hit ±0.01 wt%", "hit_c_0.01", "{:.0%}"),
        ("T hit ±15 K", "hit_t_15", "{:.0%}"),
        ("T hit ±10 K", "hit_t_10", "{:.0%}"),
        ("double hit ±0.02 %/±15 K", "double_hit_0.02_15", "{:.0%}"),
        ("P in spec", "p_in_spec", "{:.0%}"),
        ("slag FeO [%]", "slag_feo_pct", "{:.1f}"),
        ("O2 [Nm3/t]", "oxygen_nm3_t", "{:.1f}"),
    ),
    "paint": (
        ("base in spec (±tol)", "in_spec_base_rate", "{:.1%}"),
        ("base Cpk", "cpk_base", "{:.2f}"),
        ("clear in spec (±tol)", "in_spec_clear_rate", "{:.1%}"),
        ("clear Cpk", "cpk_clear", "{:.2f}"),
        ("paint per body [L]", "paint_total_l_per_body", "{:.2f}"),
        ("energy per body [kWh]", "energy_kwh_per_body", "{:.1f}"),
        ("defect risk (sag+peel+dry+pop)", "defect_risk", "{:.1%}"),
    ),
}
# unit of an episode's return per process (the decomposition line)
RETURN_UNIT = {"bof": "kEUR per episode", "paint": "hEUR (100 EUR) per shift"}
DEFECTS = ("sag_risk", "orange_peel_risk", "dry_spray_risk", "solvent_pop_risk")


# ---------------------------------------------------------------- reading the store
def evaluation_runs(process: str, plant: PlantVariant, env_id: str | None = None) -> pd.DataFrame:
    """Latest evaluation run per (policy, scenario set) on ``plant`` (selected by its hash, so a
    variant given as overrides never mixes with the named one) and env version, with tags."""
    exp = mlflow.get_experiment_by_name(f"{process}-evaluation")
    if exp is None:
        raise ValueError(f"no evaluation runs for {process!r}: run experiments.evaluate first")
    runs = mlflow.search_runs(
        [exp.experiment_id],
        filter_string=f"{plant_filter(plant, env_id)} and attributes.status = 'FINISHED'",
        order_by=["start_time DESC"],
    )
    if len(runs) == 0:
        raise ValueError(
            f"no finished evaluation runs for {process}/{plant.name} (plant hash "
            f"{plant.plant_hash()})"
        )
    # one run per (policy, set, family): the same policy evaluated another way (heat-local) is
    # another family and keeps its own row
    return runs.drop_duplicates(["tags.policy", "tags.scenario_set", "tags.policy_family"])


def plant_filter(plant: PlantVariant, env_id: str | None = None) -> str:
    """MLflow filter of the runs on ``plant``: by plant hash, never by name; and, given an env
    id, by that version of the env (an earlier version's runs never feed a table)."""
    by_plant = f"tags.plant_hash = '{plant.plant_hash()}'"
    return by_plant if env_id is None else f"{by_plant} and tags.env_id = '{env_id}'"


def episodes(run_id: str) -> dict[str, Any]:
    """The per-episode record ``experiments.evaluate`` logged with a run."""
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="episodes.json")
    return cast(dict[str, Any], json.loads(Path(path).read_text()))


def unit_kpi_means(record: dict[str, Any]) -> dict[str, float]:
    units = record["units"]
    keys = units[0].keys() if units else []
    out = {k: float(np.mean([u[k] for u in units])) for k in keys}
    if all(k in out for k in DEFECTS):
        out["defect_risk"] = sum(out[k] for k in DEFECTS)
    return out


# ---------------------------------------------------------------- tables
def family_rows(runs: pd.DataFrame) -> dict[str, list[pd.Series]]:
    """Runs of one scenario set grouped by policy family, baselines first, each family's runs
    in training-seed order (so the bootstrap draws do not depend on when runs were logged)."""
    groups: dict[str, list[pd.Series]] = {}
    for _, row in runs.iterrows():
        groups.setdefault(str(row["tags.policy_family"]), []).append(row)
    order = [f for f in BASELINE_ORDER if f in groups] + sorted(set(groups) - set(BASELINE_ORDER))
    return {f: sorted(groups[f], key=_seed_order) for f in order}


def _seed_order(row: pd.Series) -> tuple[int, str]:
    seed = str(row.get("tags.training_seed") or "")
    return (int(seed) if seed.lstrip("-").isdigit() else -1, str(row.get("tags.policy", "")))


def ceiling_cells(process: str, ceiling: dict[str, float]) -> list[str]:
    """The table row of a perfect controller: the hit-rate ceilings under the KPI columns of
    :data:`KPIS` (``—`` elsewhere), so each hit KPI is read next to what is attainable."""
    cells = [CEILING_TITLE] + ["—"] * (len(LEAD_COLUMNS) - 1)
    for _, key, _ in KPIS[process]:
        value = ceiling.get(key)
        cells.append("—" if value is None else f"{100 * value:.2f} %")
    return cells


def scenario_table(
    process: str, runs: pd.DataFrame, ceiling: dict[str, float] | None = None
) -> tuple[str, dict[str, dict[str, float]]]:
    """Markdown table of one scenario set, and per policy family the numbers behind its row
    (``mean`` return, ``delta``/``delta_low``/``delta_high``/``p_delta`` paired against the PID,
    ``poi``, ``gap``, ``gap_est``, the KPI means of :data:`KPIS` and, on a drift set, the
    median ``recovery_units``). With ``ceiling`` (:func:`experiments.lib.kpi_tables.ceilings`
    of the plant) a last row gives the hit rates a perfect controller would score (the
    measurement's own error caps them)."""
    groups = family_rows(runs)
    records = {f: [episodes(r["run_id"]) for r in rows] for f, rows in groups.items()}
    returns = {f: np.array([rec["returns"] for rec in recs]) for f, recs in records.items()}
    means = {f: float(r.mean()) for f, r in returns.items()}
    kpis = {f: [unit_kpi_means(rec) for rec in recs] for f, recs in records.items()}
    pid, oracle, est = means.get("pid"), means.get("mpc"), means.get("mpc_est")
    header = [*LEAD_COLUMNS, *(title for title, _, _ in KPIS[process])]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    stats: dict[str, dict[str, float]] = {}
    for fam, scores in returns.items():
        iqm, lo, hi = iqm_with_ci(scores)
        gap = gap_closed(pid, means[fam], oracle) if pid is not None and oracle else np.nan
        gap_est = gap_closed(pid, means[fam], est) if pid is not None and est else np.nan
        poi = probability_of_improvement(scores, returns["pid"]) if "pid" in returns else np.nan
        delta = (
            paired_delta_with_ci(scores, returns["pid"])
            if "pid" in returns and fam != "pid"
            else None
        )
        row = {"mean": means[fam], "runs": float(scores.shape[0]), "poi": poi}
        row |= {"gap": gap, "gap_est": gap_est, "recovery_units": recovery_units(groups[fam])}
        if delta is not None:
            row |= dict(zip(("delta", "delta_low", "delta_high", "p_delta"), delta, strict=True))
        cells = [
            fam,
            f"{scores.shape[0]} × {scores.shape[1]}",
            f"{iqm:.3f} [{lo:.3f}, {hi:.3f}]",
            "—" if not np.isfinite(gap) else f"{gap:.2f}",
            "—" if not np.isfinite(gap_est) else f"{gap_est:.2f}",
            "—" if delta is None else f"{delta[0]:+.3f} [{delta[1]:+.3f}, {delta[2]:+.3f}]",
            "—" if delta is None else f"{delta[3]:.3f}",
            "—" if fam == "pid" or not np.isfinite(poi) else f"{poi:.2f}",
        ]
        for _, key, fmt in KPIS[process]:
            vals = [k[key] for k in kpis[fam] if key in k]
            if vals:
                row[key] = float(np.mean(vals))
            cells.append(fmt.format(row[key]) if vals else "—")
        stats[fam] = row
        lines.append("| " + " | ".join(cells) + " |")
    if ceiling:
        lines.append("| " + " | ".join(ceiling_cells(process, ceiling)) + " |")
    return "\n".join(lines) + "\n", stats


def recovery_units(rows: list[pd.Series]) -> float:
    """Median recovery time of a family's runs (mean over runs; NaN off a drift set)."""
    values = [r.get("metrics.drift/recovery_units_median", np.nan) for r in rows]
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def decomposition(means: dict[str, float], unit: str) -> str:
    """The oracle's lead over the PID split into information and control (mean returns).

    information = oracle − MPC on estimates (what knowing the true state is worth to the same
    planner); control = MPC on estimates − PID (what planning with the model on the estimates
    the PID also has is worth). Returns a markdown line, or ``""`` when a reference is missing.
    """
    if any(k not in means for k in ("pid", "mpc_est", "mpc")):
        return ""
    pid, est, oracle = means["pid"], means["mpc_est"], means["mpc"]
    lead = oracle - pid
    info, control = oracle - est, est - pid
    share = (
        f" ({info / lead:.0%} information, {control / lead:.0%} control)"
        if abs(lead) > 1e-12
        else ""
    )
    return (
        f"Oracle lead over the PID: {lead:+.3f} {unit} = information (oracle − MPC on "
        f"estimates) {info:+.3f} + control (MPC on estimates − PID) {control:+.3f}{share}; "
        "mean returns.\n"
    )


def recovery_table(runs: pd.DataFrame) -> str:
    """Drift response per family: recovery time, share recovered, out-of-spec products."""
    lines = [
        "| policy | recovery [units], median | recovered | out-of-spec products per episode |",
        "|---|---|---|---|",
    ]
    for fam, rows in family_rows(runs).items():
        col = {
            k: [r.get(f"metrics.drift/{k}", np.nan) for r in rows]
            for k in ("recovery_units_median", "recovered_share", "out_of_spec_mean")
        }
        units, share = np.nanmean(col["recovery_units_median"]), np.nanmean(col["recovered_share"])
        lines.append(
            f"| {fam} | {units:.1f} | {share:.0%} | {np.nanmean(col['out_of_spec_mean']):.1f} |"
        )
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- figures
def learning_curves(
    process: str, plant: PlantVariant, out: Path, env_id: str | None = None
) -> Path | None:
    """eval/return_mean of every training run on ``plant``, one colour per algorithm (and
    residual base), operator dashed; runs evaluated on campaigns are left out (another scale)."""
    exp = mlflow.get_experiment_by_name(process)
    if exp is None:
        return None
    runs = mlflow.search_runs(
        [exp.experiment_id],
        filter_string=f"{plant_filter(plant, env_id)} and attributes.status = 'FINISHED'",
    )
    if len(runs) == 0:
        return None
    client = mlflow.MlflowClient()
    fig, ax = plt.subplots(figsize=(7, 4))
    colours: dict[str, Any] = {}
    for _, run in runs.iterrows():
        if str(run.get("params.env.kwargs.campaign_heats", "None")) not in ("None", "nan"):
            continue  # evaluated on campaigns: another axis than the per-unit returns here
        algo = str(run.get("tags.algorithm", "?"))
        base = str(run.get("tags.residual_base", "none"))
        if base not in ("none", "None", "nan"):
            algo += f"-on-{base}"
        hist = client.get_metric_history(run["run_id"], "eval/return_mean")
        if not hist:
            continue
        colour = colours.setdefault(algo, f"C{len(colours)}")
        steps = [m.step for m in hist]
        ax.plot(steps, [m.value for m in hist], color=colour, alpha=0.7, label=algo)
        op = run.get("metrics.kpi/operator/return_mean")
        if op is not None and np.isfinite(op):
            ax.axhline(op, color="grey", ls="--", lw=0.8)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))
    ax.legend(unique.values(), unique.keys(), title="policy family (one line per seed)")
    ax.set(xlabel="env steps", ylabel="mean eval return", title=f"{process}: learning curves")
    ax.text(0.01, 0.01, "dashed: operator practice", transform=ax.transAxes, fontsize=8)
    path = out / "learning_curves.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def trajectory(process: str, env_id: str, plant: Any, spec: str, seed: int) -> dict[str, Any]:
    """One nominal episode of a policy: controlled variables, their targets, commanded actions
    (in the action mode the policy was trained in, as experiments.evaluate scored it)."""
    options = env_for(spec, {"name": process, "id": env_id, "kwargs": {}})["kwargs"]
    env = envs.make(env_id, plant=plant, scenario="nominal", **options)
    obs_shape, act_shape = env.observation_space.shape, env.action_space.shape
    assert obs_shape is not None and act_shape is not None
    variant = getattr(env.unwrapped, "variant", None)  # baselines are built for this plant
    # a residual run is drawn as the combined policy it was trained as (base + correction)
    residual = residual_for(spec, None)
    policy, _ = resolve_combined_policy(
        spec, residual, process, obs_shape[0], act_shape[0], variant, options
    )
    if hasattr(policy, "reset"):
        policy.reset(1)
    if hasattr(policy, "attach"):
        policy.attach([env])
    obs, info = env.reset(seed=seed)
    controlled = envs.process(env_id).layout_module.CONTROLLED  # what the plant is steered to
    rec: dict[str, list] = {"cv": [], "act": []}
    done = False
    while not done:
        action = np.asarray(policy.act(obs[None, :]))[0]
        obs, _, term, trunc, info = env.step(action)
        done = term or trunc
        rec["act"].append(action)
        rec["cv"].append(tuple(info[cv.info][cv.key] for cv in controlled))
    plant_env: Any = env.unwrapped
    rec["params"] = plant_env.params
    return rec


def trajectory_figure(process: str, recs: dict[str, dict[str, Any]], out: Path) -> Path:
    """Controlled variables vs targets and bands, and actions vs their limits, per policy."""
    layout = envs.process(process).layout_module
    fig, axes = plt.subplots(3, 1, figsize=(8, 9), sharex=True)
    for k, (name, rec) in enumerate(recs.items()):
        cv, act = np.array(rec["cv"]), np.array(rec["act"])
        x = np.arange(1, len(cv) + 1)
        axes[0].plot(x, cv[:, 0], color=f"C{k}", label=name)
        axes[1].plot(x, cv[:, 1], color=f"C{k}")
        axes[2].plot(x, np.abs(act).mean(axis=1), color=f"C{k}")
    p = next(iter(recs.values()))["params"]
    for ax, cv in zip(axes[:2], layout.CONTROLLED, strict=True):
        aim, tol = cv.aim_and_band(p)
        ax.axhspan(aim - tol, aim + tol, color="green", alpha=0.12, label="target ± band")
        ax.axhline(aim, color="green", lw=0.8)
        ax.set_ylabel(cv.label)
        if cv.log_scale:
            ax.set_yscale("log")
    xlabel = layout.STEP_LABEL
    axes[2].axhline(1.0, color="red", lw=0.8, ls="--", label="action limit")
    axes[2].set(ylabel="mean |action| (1 = limit)", xlabel=xlabel, ylim=(0, 1.05))
    axes[0].legend(fontsize=8)
    axes[2].legend(fontsize=8)
    fig.suptitle(f"{process}: one nominal episode per policy (true values)")
    path = out / "trajectories.png"
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


# ---------------------------------------------------------------- the report
def write_report(c: dict[str, Any], plant_name: str | None) -> Path:
    """The report of the plant ``c["plant"]`` (``plant_name``: its ``plant=`` choice)."""
    code_commit = git_commit()  # before this job rewrites its own committed figures
    setup_tracking(c["tracking"])
    process, env_id = c["env"]["name"], c["env"]["id"]
    plant = job_plant(c["plant"], process, plant_name)
    out = Path(c["paths"]["results"]) / process
    out.mkdir(parents=True, exist_ok=True)
    runs = evaluation_runs(process, plant, env_id)
    sections = []
    stats_by_set: dict[str, dict[str, dict[str, float]]] = {}
    best_spec: dict[str, str] = {}
    for name in [s for s in c["scenario_sets"] if s in set(runs["tags.scenario_set"])]:
        sset = load_scenario_set(process, name)
        # only evaluations on the set's full episode list (quick looks with episodes=N differ)
        sub = runs[
            (runs["tags.scenario_set"] == name) & (runs["tags.episodes"] == str(len(sset.seeds)))
        ]
        if len(sub) == 0:
            continue
        table, stats = scenario_table(process, sub, ceilings(process, plant.params))
        stats_by_set[name] = stats
        text = f"### `{name}` — {sset.description}\n\n{table}"
        means = {fam: row["mean"] for fam, row in stats.items()}
        split = decomposition(means, RETURN_UNIT.get(process, "per episode"))
        if split:
            text += f"\n{split}"
        if sset.has_drift:
            where = (
                "drift start drawn per episode, recovery from each episode's own start"
                if sset.drift_start_varies
                else f"drift starts at unit {sset.drift_start}"
            )
            text += (
                f"\nDrift response ({where}; recovered when "
                f"{sset.recovery_share:.0%} of {sset.recovery_window} consecutive units have "
                f"{' and '.join(sset.recovery_kpis)} in spec again):\n\n{recovery_table(sub)}"
            )
        sections.append(text)
        if name == "nominal":
            for fam, rows in family_rows(sub).items():
                best = max(rows, key=lambda r: r.get("metrics.return_mean", -np.inf))
                best_spec[fam] = str(best["tags.policy"])
    figures = []
    curve = learning_curves(process, plant, out, env_id)
    if curve is not None:
        figures.append(f"![learning curves]({curve.name})")
    if best_spec:
        seed = load_scenario_set(process, "nominal").seeds[0]
        # drawing a policy loads it: an old pickled one only with trust_pickle=true (README)
        with trusting_pickles(bool(c.get("trust_pickle", False))):
            recs = {f: trajectory(process, env_id, plant, s, seed) for f, s in best_spec.items()}
        figures.append(f"![trajectories]({trajectory_figure(process, recs, out).name})")
    head = (
        f"# {process}: policies vs baselines on the scenario sets\n\n"
        f"- plant `{plant.name}` (hash `{plant.plant_hash()}`), env `{env_id}`, git "
        f"`{code_commit}`; regenerate with "
        f"`make study-{process}` (the study's training runs, the baselines and then "
        f"`python -m experiments.report env={process}`: Makefile target `study-%`).\n"
        "- return: interquartile mean over (training seeds × episodes) with a 95 % stratified-"
        "bootstrap CI over seeds and episodes (rliable); gap closed = (cost_PID − cost)/"
        "(cost_PID − cost_oracle) on the mean return (0 = PID, 1 = MPC oracle); gap closed "
        "(est): the same against the MPC on estimates (`baseline:mpc_est`, the oracle's planner "
        "started from the estimated state: 1 = what a shop's dynamic model reaches); Δ vs PID: "
        "mean paired return difference to the PID on the same episodes, 95 % bootstrap CI over "
        "training seeds and episodes; P(Δ > 0): share of those resamples in which the policy "
        "beats the PID on average; P(> PID): rliable's probability of improvement, the share "
        "of episodes on which a run beats the PID. Baselines are deterministic: one run each.\n"
        + (
            f"- {CEILING_TITLE}: the hit rates a controller that lands every heat exactly on the "
            "aims would score, because the tap is judged on a measurement with its own error "
            "(BOF: tap sample's lab C σ and thermocouple σ, `envs.steel.hit_rate_ceiling`); "
            "read each hit KPI against it.\n"
            if ceilings(process, plant.params)
            else ""
        )
        + "\n"
    )
    benchmark_file = Path(c["paths"]["results"]) / "benchmarks" / "training.json"
    benchmark = json.loads(benchmark_file.read_text()) if benchmark_file.exists() else None
    headline = c.get("headline") or {}
    if process not in headline:
        raise ValueError(f"headline.{process} is not set: name the policy family to judge")
    goals = goals_section(process, str(headline[process]), stats_by_set, benchmark)
    path = out / "report.md"
    body = "\n".join(sections) + "\n" + "\n\n".join(figures) + "\n"
    path.write_text(head + goals + "\n" + body)
    print(f"wrote {path}")
    return path


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
@readable_errors
def main(cfg: DictConfig) -> None:
    from hydra.core.hydra_config import HydraConfig

    c = cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))  # policy stays "???"
    check_tracking(c["tracking"], write=False)  # a report only reads the store
    write_report(c, HydraConfig.get().runtime.choices.get("plant"))


if __name__ == "__main__":
    start(main)
