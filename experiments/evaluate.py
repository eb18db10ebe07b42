"""Evaluate a policy — trained, baseline or exported — on named scenario sets; track in MLflow.

    python -m experiments.evaluate policy=baseline:pid                 # BOF: nominal, drift, faults
    python -m experiments.evaluate env=paint policy=baseline:mpc scenario_sets=[nominal]
    python -m experiments.evaluate policy=models:/plantrl-bof@candidate episodes=8

Each scenario set (``envs/conf/scenarios/<env>/<name>.yaml``) fixes its episode seeds, so every
policy meets the same charges, body mixes, disturbances and sensor noise. One MLflow run per
(policy, scenario set) in the experiment ``<env>-evaluation``: aggregates as metrics (return, domain
KPIs, drift recovery), per-episode returns as ``episode/return`` steps, every episode's KPIs as
``episodes.json``, and ``gap_closed`` against the latest PID and MPC-oracle runs of the same plant
(``plant_hash``) and scenario set. Tags name the policy (``policy``, ``policy_family``:
operator/pid/mpc or the algorithm, and the training seed where known), env, plant (``plant``,
``plant_hash``; the full parameter set is ``plant.json``), scenario set and git commit — what
``experiments.report`` groups by. Baselines are built for the evaluated plant, overrides included.
"""

from __future__ import annotations

import json
from typing import Any, cast

import hydra
import mlflow
import numpy as np
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

import envs
from agents.evaluation import EpisodeResults, evaluate
from experiments.lib.plants import job_plant, log_plant, plant_tags
from experiments.lib.policy_specs import describe, resolve_policy
from experiments.lib.scenario_sets import ScenarioSet, load_scenario_set
from experiments.lib.stats import drift_recovery, gap_closed
from experiments.lib.tracking import git_commit, setup_tracking

__all__ = ["evaluate_policy", "main"]


def env_sizes(env_id: str, plant: Any, kwargs: dict[str, Any]) -> tuple[int, int]:
    env = envs.make(env_id, plant=plant, **kwargs)
    obs_shape, act_shape = env.observation_space.shape, env.action_space.shape
    assert obs_shape is not None and act_shape is not None  # flat Box spaces
    return obs_shape[0], act_shape[0]


def summarise(res: EpisodeResults, sset: ScenarioSet) -> dict[str, float]:
    """Aggregates of one scenario set: return, unit KPIs and, for drift sets, recovery."""
    summary = res.summary()
    if sset.has_drift:
        # a set whose start varies reads each episode's own start from its reset info
        starts: int | list[int | None] = (
            res.drift_starts if sset.drift_start_varies else int(sset.drift_start or 0)
        )
        rec = drift_recovery(
            res.series,
            starts,
            sset.recovery_kpis,
            sset.recovery_window,
            sset.recovery_share,
        )
        summary.update({f"drift/{k}": v for k, v in rec.summary().items()})
    return summary


# what makes two evaluation runs comparable: same env, same plant (by hash, never by name alone),
# same scenario set and episodes
SAME_EPISODES = ("env_id", "plant_hash", "scenario_set", "episodes")


def baseline_return(experiment_id: str, tags: dict[str, str], family: str) -> float | None:
    """Mean return of the latest evaluation run of baseline ``family`` on the same plant (hash)
    and episodes; runs logged without a plant hash never count."""
    query = " and ".join(
        [f"tags.policy_family = '{family}'"] + [f"tags.{k} = '{tags[k]}'" for k in SAME_EPISODES]
    )
    runs = mlflow.search_runs(
        [experiment_id], filter_string=query, order_by=["start_time DESC"], max_results=1
    )
    if len(runs) == 0 or "metrics.return_mean" not in runs:
        return None
    return float(runs["metrics.return_mean"].iloc[0])


def log_evaluation(
    res: EpisodeResults, summary: dict[str, float], tags: dict[str, str], experiment_id: str
) -> None:
    """Aggregates, per-episode returns and every episode's KPIs into the active run."""
    mlflow.log_metrics({k: v for k, v in summary.items() if np.isfinite(v)})
    for i, ret in enumerate(res.returns):
        mlflow.log_metric("episode/return", float(ret), step=i)
    episodes = {
        "seeds": res.seeds,
        "returns": res.returns.tolist(),
        "lengths": res.lengths.tolist(),
        "units": res.units,
        "series": res.series,
    }
    mlflow.log_text(json.dumps(episodes), "episodes.json")
    pid = baseline_return(experiment_id, tags, "pid")
    oracle = baseline_return(experiment_id, tags, "mpc")
    if tags["policy_family"] == "pid":
        pid = summary["return_mean"]
    if tags["policy_family"] == "mpc":
        oracle = summary["return_mean"]
    if pid is not None and oracle is not None:
        gap = gap_closed(pid, summary["return_mean"], oracle)
        if np.isfinite(gap):
            mlflow.log_metric("gap_closed", gap)


def evaluate_policy(c: dict[str, Any], plant_name: str | None) -> dict[str, dict[str, float]]:
    """The whole job for a resolved config: every scenario set, one MLflow run each.

    ``plant_name`` is the ``plant=`` choice (or the name a chained job's run carries); the plant
    itself is ``c["plant"]``, resolved once (:func:`experiments.lib.plants.job_plant`) and used
    for the envs and for building the baselines.
    """
    experiment_id = setup_tracking(c["tracking"])
    process, env_id = c["env"]["name"], c["env"]["id"]
    plant = job_plant(c["plant"], process, plant_name)
    env_kwargs = {k: v for k, v in c["env"]["kwargs"].items() if v is not None}
    env_kwargs.pop("scenario", None)
    n_obs, n_act = env_sizes(env_id, plant, env_kwargs)
    sets = [load_scenario_set(process, name) for name in c["scenario_sets"]]  # fail before running
    results = {}
    for sset in (s.with_episodes(c["episodes"]) for s in sets):
        spec = str(c["policy"])
        policy, meta = resolve_policy(spec, process, n_obs, n_act, plant, env_kwargs)

        def make_env(name: str = sset.name) -> Any:
            return envs.make(env_id, plant=plant, scenario=name, **env_kwargs)

        res = evaluate(policy, make_env, sset.seeds)
        summary = summarise(res, sset)
        tags = {
            **describe(str(c["policy"])),
            **meta,
            "env_id": env_id,
            "process": process,
            **plant_tags(plant),
            "scenario_set": sset.name,
            "episodes": str(len(sset.seeds)),
            "git_commit": git_commit(),
        }
        run_name = f"eval-{tags['policy_family']}-{sset.name}"
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags):
            mlflow.log_params({"policy": c["policy"], "first_seed": sset.seeds[0]})
            log_plant(plant)
            log_evaluation(res, summary, tags, experiment_id)
        print(
            f"{c['policy']} on {process}/{sset.name}, plant {plant.name} ({plant.plant_hash()}), "
            f"{len(sset.seeds)} episodes: "
            f"return {summary['return_mean']:.3f} ± {summary['return_std']:.3f}"
        )
        results[sset.name] = summary
    return results


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
def main(cfg: DictConfig) -> dict[str, dict[str, float]]:
    c = cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))
    return evaluate_policy(c, HydraConfig.get().runtime.choices.get("plant"))


if __name__ == "__main__":
    main()
