"""Per-episode returns of a policy on one plant and scenario set, evaluated once and then reused.

Transfer matrices, the promotion gate and the fleet compare many policies on many plants on
the same episodes. Each (policy, plant, scenario set) is evaluated by ``experiments.evaluate``'s
own code (:func:`experiments.lib.evaluation_job.evaluate_policy`: one ordinary evaluation run in
``<env>-evaluation``, tagged ``eval_key``), and a later request finds that run and reads the
returns back from its ``episodes.json``:

| key | what must match |
| --- | --- |
| policy | ``eval_key``: the pinned spec and any ``base`` override (baselines: also ``policy``) |
| plant | ``plant_hash`` (never the name) |
| episodes | ``env_id``, ``scenario_set``, the set's first N seeds (a longer run serves fewer) |

Pinned: ``models:/name@alias`` becomes ``models:/name/<version>``. Baseline runs from before
the key are found by their ``policy`` tag.

A registered model is always pinned to its version first, so an alias that moves never serves
an old evaluation for a new policy.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException

from envs.core.params import PlantVariant
from experiments.lib.config_checks import ConfigError
from experiments.lib.evaluation_job import env_for, evaluate_policy, evaluation_key
from experiments.lib.scenario_sets import load_scenario_set

__all__ = ["EpisodeScores", "episode_scores", "evaluation_key", "pinned"]


@dataclasses.dataclass(frozen=True)
class EpisodeScores:
    """One policy's returns on one plant and scenario set, episode by episode.

    | field | meaning |
    | --- | --- |
    | ``spec`` | the (pinned) policy spec |
    | ``plant`` | plant name (the run's tag) |
    | ``scenario_set`` | scenario set name |
    | ``seeds`` | the episode seeds, in the set's order |
    | ``returns`` | (episodes,) returns on those seeds |
    | ``run_id`` | the evaluation run they were read from |
    | ``family`` | the run's ``policy_family`` tag |
    """

    spec: str
    plant: str
    scenario_set: str
    seeds: tuple[int, ...]
    returns: np.ndarray
    run_id: str
    family: str


def pinned(spec: str) -> str:
    """``models:/<name>@<alias>`` as ``models:/<name>/<version>``; other specs unchanged.

    Raises:
        ConfigError: the model or alias does not exist (naming the aliases that do).
    """
    if not spec.startswith("models:/") or "@" not in spec:
        return spec
    name, _, alias = spec[len("models:/") :].partition("@")
    client = mlflow.MlflowClient()
    try:
        version = client.get_model_version_by_alias(name, alias)
    except MlflowException as err:
        try:
            aliases = sorted(client.get_registered_model(name).aliases)
        except MlflowException:
            raise ConfigError(f"{spec}: no registered model {name!r} in the store") from err
        raise ConfigError(
            f"{spec}: model {name} has no alias {alias!r} (it has {aliases})"
        ) from err
    return f"models:/{name}/{version.version}"


def _stored(
    experiment_id: str, spec: str, key: str, env_id: str, plant: PlantVariant, set_name: str
) -> Any:
    """The newest stored evaluation run that serves the request (a pandas row) or None."""
    where = (
        f"tags.plant_hash = '{plant.plant_hash()}' and tags.scenario_set = '{set_name}' "
        f"and tags.env_id = '{env_id}' and attributes.status = 'FINISHED'"
    )
    keyed = mlflow.search_runs(
        [experiment_id], f"{where} and tags.eval_key = '{key}'", order_by=["start_time DESC"]
    )
    if len(keyed) == 0 and spec.startswith("baseline:"):
        keyed = mlflow.search_runs(
            [experiment_id], f"{where} and tags.policy = '{spec}'", order_by=["start_time DESC"]
        )
    return keyed


def _read(run: Any, seeds: list[int]) -> np.ndarray | None:
    """The returns of ``seeds`` (a prefix of the run's) or None if the run does not hold them."""
    path = mlflow.artifacts.download_artifacts(run_id=run["run_id"], artifact_path="episodes.json")
    with open(path) as f:
        record = json.load(f)
    if list(record["seeds"][: len(seeds)]) != seeds:
        return None
    return np.asarray(record["returns"][: len(seeds)], dtype=float)


def episode_scores(
    job: Mapping[str, Any],
    spec: str,
    plant: PlantVariant,
    scenario_set: str,
    episodes: int | None = None,
    base: Mapping[str, Any] | None = None,
) -> EpisodeScores:
    """The returns of ``spec`` on ``plant`` over the first ``episodes`` seeds of a scenario set.

    Args:
        job: the calling job's config: ``env`` (name, id, kwargs), ``tracking`` (its store;
            the evaluation experiment is ``<env>-evaluation``) and ``trust_pickle``.
        spec: any policy spec of ``experiments.evaluate`` (aliases are pinned first).
        plant: the plant (named or from the command line).
        scenario_set: the set's name.
        episodes: its first N seeds; ``None``: all.
        base: a residual override (``{"campaign_features": False, ...}``), as ``base=``.
    """
    mlflow.set_tracking_uri(job["tracking"]["uri"])  # never MLflow's default (./mlflow.db)
    spec = pinned(spec)
    process = job["env"]["name"]
    env = env_for(spec, job["env"])
    sset = load_scenario_set(process, scenario_set).with_episodes(episodes)
    key = evaluation_key(spec, base)
    tracking = {**job["tracking"], "experiment": f"{process}-evaluation"}

    def stored() -> EpisodeScores | None:
        """The newest stored evaluation that holds these seeds, if any."""
        experiment = mlflow.get_experiment_by_name(tracking["experiment"])
        if experiment is None:
            return None
        runs = _stored(experiment.experiment_id, spec, key, env["id"], plant, scenario_set)
        for _, run in runs.iterrows():
            returns = _read(run, sset.seeds)
            if returns is not None:
                family = str(run.get("tags.policy_family", ""))
                seeds = tuple(sset.seeds)
                return EpisodeScores(
                    spec, plant.name, scenario_set, seeds, returns, run["run_id"], family
                )
        return None

    found = stored()
    if found is not None:
        return found
    evaluate_policy(
        {
            **job,
            "env": env,
            "policy": spec,
            "plant": plant,
            "scenario_sets": [scenario_set],
            "episodes": episodes,
            "base": dict(base) if base else None,
            "tracking": tracking,
        },
        plant.name,
    )
    found = stored()
    assert found is not None  # the run just written holds exactly these seeds
    return found
