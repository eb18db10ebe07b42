"""The evaluation job's code (``python -m experiments.evaluate``, a thin entry point over it):
evaluate a policy — trained, baseline or exported — on named scenario sets; track in MLflow.

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

A policy trained with residual control (``base=operator|pid``, :mod:`agents.residual`) is
evaluated as the combined policy: the base, scale and estimator features its training run
recorded (``base.*`` params, or the ``base`` node of a policy folder's ``config.yaml``) rebuild
the base controller for the evaluated plant around the learned correction
(:class:`agents.residual.ResidualPolicy`); the runs are tagged ``residual_base``. ``base=`` on
the command line must agree with what the run recorded (it is needed only for a source that
records nothing, an ONNX file).

The env a policy was trained on is read the same way (:func:`recorded_env`: the run's ``env.*``
params, a policy folder's ``config.yaml``, an ONNX file's ``env_name``/``env_id``/``action_mode``
metadata): its action mode and env version are adopted unless the command line sets them, and an
explicit ``env.kwargs.action_mode=`` or ``env.id=`` that contradicts the record is refused (a
policy acting in another mode than it learned gives plausible, wrong numbers). A policy of
another process is refused with the ``env=`` it needs. Every run is tagged ``action_mode``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import mlflow
import numpy as np
import yaml
from mlflow.exceptions import MlflowException

import envs
from agents.builder import trusting_pickles
from agents.evaluation import EpisodeResults, evaluate
from agents.onnx_runtime import METADATA_KEY
from agents.residual import ResidualConfig, ResidualController, ResidualPolicy, residual_config
from envs.core.config import SCENARIO_DIR
from envs.core.params import PlantVariant
from experiments.lib.config_checks import ConfigError, check_tracking
from experiments.lib.plants import job_plant, log_plant, plant_tags
from experiments.lib.policy_specs import RUN_ID, check_spec, describe, resolve_policy
from experiments.lib.scenario_sets import ScenarioSet, load_scenario_set
from experiments.lib.stats import drift_recovery, gap_closed
from experiments.lib.sweep import child_run_name, parent_run_id, sweep_tags
from experiments.lib.tracking import git_commit, setup_tracking

__all__ = [
    "PolicyEnv",
    "env_for",
    "evaluate_policy",
    "evaluation_key",
    "job_env",
    "recorded_env",
    "recorded_residual",
    "resolve_combined_policy",
]


def evaluation_key(spec: str, base: Mapping[str, Any] | None = None) -> str:
    """What identifies a policy's evaluations: its spec and the residual override it ran with."""
    text = json.dumps({"policy": spec, "base": dict(base) if base else None}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# env options a scenario set decides, whatever the job's env.kwargs say
EPISODE_KEYS = frozenset({"scenario", "campaign_heats", "randomize"})


@dataclasses.dataclass(frozen=True)
class JobEnv:
    """The env a job runs a policy on: the policy's recorded env adopted, the plant resolved.

    ``kwargs`` are the env options without :data:`EPISODE_KEYS` (the scenario set defines the
    episodes: profile, campaign length, randomisation; a training run's own choices of these,
    e.g. campaign_heats=20, never reach its evaluation).
    """

    process: str
    id: str
    plant: PlantVariant
    kwargs: dict[str, Any]
    n_obs: int
    n_act: int


def job_env(
    c: Mapping[str, Any], spec: str, plant_name: str | None, explicit: Collection[str] = ()
) -> JobEnv:
    """The :class:`JobEnv` of a job's config ``c`` for the policy ``spec`` (:func:`env_for`)."""
    env = env_for(spec, dict(c["env"]), explicit)
    process, env_id = env["name"], env["id"]
    plant = job_plant(c["plant"], process, plant_name)
    kwargs = {k: v for k, v in env["kwargs"].items() if v is not None and k not in EPISODE_KEYS}
    n_obs, n_act = env_sizes(env_id, plant, kwargs)
    return JobEnv(process, env_id, plant, kwargs, n_obs, n_act)


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


def _run_of(spec: str) -> str | None:
    """The MLflow run that trained the policy ``spec`` names (runs:/, a run id, models:/)."""
    if spec.startswith("runs:/"):
        return spec[len("runs:/") :].strip("/").split("/")[0]
    if RUN_ID.match(spec):
        return spec
    if spec.startswith("models:/"):
        client = mlflow.MlflowClient()
        name, _, alias = spec[len("models:/") :].partition("@")
        try:
            if alias:
                version = client.get_model_version_by_alias(name, alias)
            else:
                name, _, number = name.partition("/")
                version = client.get_model_version(name, number)
        except MlflowException:
            return None  # resolve_policy reports the unknown model
        return version.tags.get("run_id") or version.run_id
    return None


def _training_params(run_id: str) -> dict[str, str] | None:
    """The params the training run logged; None for an unknown run (resolve_policy says so)."""
    try:
        return dict(mlflow.get_run(run_id).data.params)
    except MlflowException:
        return None


def recorded_residual(spec: str) -> ResidualConfig | None:
    """The residual settings the policy's training recorded (an exported ONNX file: its
    interface record); None where nothing is recorded (baselines, ONNX files without the
    record, runs from before residual control: those are ``base=none``)."""
    if spec.startswith("baseline:"):
        return None
    run_id = _run_of(spec)
    if run_id is not None:
        params = _training_params(run_id)
        if params is None:
            return None
        node: dict[str, Any] = {
            k[len("base.") :]: v for k, v in params.items() if k.startswith("base.")
        }
        return residual_config(node)
    if spec.endswith(".onnx"):  # an exported correction records its base in the file
        record = _onnx_metadata(spec).get(METADATA_KEY)
        return residual_config(json.loads(record).get("residual")) if record else None
    config = Path(spec) / "config.yaml"
    if config.is_file():
        return residual_config(yaml.safe_load(config.read_text()).get("base"))
    return None


# env options a policy is trained for and means nothing without: adopted from its record
POLICY_ENV_OPTIONS = ("action_mode",)


@dataclasses.dataclass(frozen=True)
class PolicyEnv:
    """The env a policy's training recorded (None where a source does not record it).

    | field | meaning | example |
    | --- | --- | --- |
    | ``name`` | process (``env`` group option) | ``"bof"`` |
    | ``id`` | registered env id, with its version | ``"plantrl/BOF-v2"`` |
    | ``options`` | the :data:`POLICY_ENV_OPTIONS` it used | ``{"action_mode": "absolute"}`` |
    """

    name: str | None
    id: str | None
    options: dict[str, str]


def _recorded(name: Any, env_id: Any, options: dict[str, Any]) -> PolicyEnv:
    def known(value: Any) -> str | None:
        return None if value in (None, "", "None") else str(value)

    kept = {k: str(v) for k, v in options.items() if k in POLICY_ENV_OPTIONS and known(v)}
    return PolicyEnv(known(name), known(env_id), kept)


def _onnx_metadata(path: str) -> dict[str, str]:
    import onnx

    try:
        model = onnx.load(path, load_external_data=False)
    except Exception:  # a bad file is resolve_policy's to report, with its path
        return {}
    return {p.key: p.value for p in model.metadata_props}


def recorded_env(spec: str) -> PolicyEnv | None:
    """The env the policy's training recorded; None where nothing is recorded (baselines act in
    any mode; an ONNX file without metadata: the job's config decides)."""
    if spec.startswith("baseline:"):
        return None
    run_id = _run_of(spec)
    if run_id is not None:
        params = _training_params(run_id)
        if params is None:
            return None
        options = {k: params.get(f"env.kwargs.{k}") for k in POLICY_ENV_OPTIONS}
        return _recorded(params.get("env.name"), params.get("env.id"), options)
    if spec.endswith(".onnx"):
        meta = _onnx_metadata(spec)
        return _recorded(meta.get("env_name"), meta.get("env_id"), meta) if meta else None
    config = Path(spec) / "config.yaml"
    if config.is_file():
        env = (yaml.safe_load(config.read_text()) or {}).get("env") or {}
        return _recorded(env.get("name"), env.get("id"), env.get("kwargs") or {})
    return None


def env_for(spec: str, env: dict[str, Any], explicit: Collection[str] = ()) -> dict[str, Any]:
    """The job's ``env`` node with what the policy was trained on adopted.

    Args:
        spec: the policy.
        env: the job's ``env`` node (``name``, ``id``, ``kwargs``).
        explicit: config keys the command line set (``env.kwargs.action_mode``, ``env.id``):
            these are never replaced, and one that contradicts the record is an error.

    Raises:
        ConfigError: another process, an env version that is not registered, or an explicit
            override that contradicts the record.
    """
    recorded = recorded_env(spec)
    if recorded is None:
        return env
    if recorded.name is not None and recorded.name != env["name"]:
        raise ConfigError(
            f"{spec} was trained on {recorded.id or recorded.name} (env={recorded.name}), the "
            f"job's env is {env['id']}: evaluate it with env={recorded.name}"
        )
    adopted = {**env, "kwargs": dict(env["kwargs"])}
    if recorded.id is not None and recorded.id != env["id"]:
        if "env.id" in explicit or recorded.id not in gym.registry:
            raise ConfigError(
                f"{spec} was trained on {recorded.id}, the job's env is {env['id']}: another "
                "version observes and acts differently; evaluate it with "
                f"env.id={recorded.id} (registered in the checkout it was trained with)"
            )
        adopted["id"] = recorded.id
    for key, value in recorded.options.items():
        have = env["kwargs"].get(key)
        if have is not None and str(have) == value:
            continue
        if f"env.kwargs.{key}" in explicit:
            raise ConfigError(
                f"env.kwargs.{key}={have} contradicts {spec}, trained with {key}={value}: drop "
                f"the override (the policy's own {key} is adopted)"
            )
        adopted["kwargs"][key] = value
        if have is not None:  # the job's config said otherwise: say which one counts
            print(f"{spec}: evaluated with env.kwargs.{key}={value}, as it was trained")
    return adopted


def heat_local(config: ResidualConfig) -> ResidualConfig:
    """``config`` with the campaign inputs hidden from the correction."""
    return dataclasses.replace(config, campaign_features=False)


def trained_on_single_units(spec: str) -> bool:
    """True if the run behind ``spec`` trained on one-unit episodes (no campaign): then every
    campaign input it saw was 0, and hiding them (``base.campaign_features=false``) changes
    nothing it was trained on (``tests/test_residual.py``)."""
    run_id = _run_of(spec)
    params = None if run_id is None else _training_params(run_id)
    if params is None:
        return False
    if params.get("env.kwargs.campaign_heats", "None") not in ("None", "1"):
        return False
    profile = (
        SCENARIO_DIR / params.get("env.name", "?") / f"{params.get('env.kwargs.scenario')}.yaml"
    )
    if not profile.is_file():
        return False  # a profile given as a path or mapping: not known to be single units
    return int((yaml.safe_load(profile.read_text()) or {}).get("campaign_heats") or 1) == 1


def residual_for(spec: str, requested: Any) -> ResidualConfig:
    """The residual settings to evaluate ``spec`` with: the recorded ones, or ``base=`` where
    nothing is recorded; a ``base=`` that contradicts the record is an error."""
    recorded = recorded_residual(spec)
    try:
        asked = None if requested is None else residual_config(requested)
    except ValueError as err:
        raise ConfigError(f"base: {err}") from err
    if spec.startswith("baseline:") and asked is not None and asked.active:
        raise ConfigError(f"base={asked.base} applies to a trained correction, not to {spec}")
    if asked is not None and recorded is not None and asked == heat_local(recorded):
        if trained_on_single_units(spec):
            return asked  # it never saw a campaign input: the same policy, made heat-local
        raise ConfigError(
            f"base.campaign_features=false: {spec} was trained on campaigns, so it learned from "
            "the campaign inputs this would hide; train it heat-local instead "
            "(base.campaign_features=false in the train job)"
        )
    if asked is not None and recorded is not None and asked != recorded:
        raise ConfigError(
            f"base={asked.to_dict()} contradicts what {spec} was trained with "
            f"({recorded.to_dict()}); drop the base= override"
        )
    return recorded or asked or ResidualConfig()


def resolve_combined_policy(
    spec: str,
    residual: ResidualConfig,
    process: str,
    n_obs: int,
    n_act: int,
    plant: Any = None,
    env_kwargs: dict[str, Any] | None = None,
) -> tuple[Any, dict[str, str]]:
    """:func:`resolve_policy` for the raw env; a residual correction comes back combined with
    its base, built for ``plant`` (:class:`agents.residual.ResidualPolicy`), and tagged."""
    if not residual.active:
        return resolve_policy(spec, process, n_obs, n_act, plant, env_kwargs)
    base = ResidualController(residual, process, n_act, plant, env_kwargs)
    # the learned correction sees the env's observation + the base's estimates
    inner, meta = resolve_policy(spec, process, n_obs + base.n_features, n_act, plant, env_kwargs)
    # its own family: a correction on the PID is never pooled with plain agents of its algorithm
    family = f"{meta.get('policy_family', describe(spec)['policy_family'])}-on-{residual.base}"
    if base.heat_local:
        family += "-heatlocal"  # a correction that never sees the campaign: its own family
    return ResidualPolicy(inner, base), {
        **meta,
        "policy_family": family,
        "residual_base": residual.base,
    }


def check_evaluate_config(c: dict[str, Any]) -> None:
    """The settings checked before the store is opened (nothing is created for a bad command).

    Raises:
        ConfigError: naming the key (``policy``, ``episodes``, ``tracking.uri``).
    """
    check_spec(c["policy"])
    episodes = c.get("episodes")
    if episodes is not None and (
        isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1
    ):
        raise ConfigError(
            f"episodes = {episodes!r} is invalid: must be null (each set's own) or an integer ≥ 1"
        )
    check_tracking(c["tracking"], write=True)


def evaluate_policy(
    c: dict[str, Any], plant_name: str | None, explicit: Collection[str] = ()
) -> dict[str, dict[str, float]]:
    """The whole job for a resolved config: every scenario set, one MLflow run each.

    ``plant_name`` is the ``plant=`` choice (or the name a chained job's run carries); the plant
    itself is ``c["plant"]``, resolved once (:func:`experiments.lib.plants.job_plant`) and used
    for the envs and for building the baselines. ``explicit``: the config keys the command line
    set; the policy's recorded env settings replace the others (:func:`env_for`).
    """
    check_evaluate_config(c)
    spec = str(c["policy"])
    experiment_id = setup_tracking(c["tracking"])
    je = job_env(c, spec, plant_name, explicit)
    process, env_id, plant, env_kwargs = je.process, je.id, je.plant, je.kwargs
    n_obs, n_act = je.n_obs, je.n_act
    sets = [load_scenario_set(process, name) for name in c["scenario_sets"]]  # fail before running
    residual = residual_for(spec, c.get("base"))
    results = {}
    for sset in (s.with_episodes(c["episodes"]) for s in sets):
        with trusting_pickles(bool(c.get("trust_pickle", False))):  # old pickled folders only
            policy, meta = resolve_combined_policy(
                spec, residual, process, n_obs, n_act, plant, env_kwargs
            )

        def make_env(name: str = sset.name) -> Any:
            return envs.make(env_id, plant=plant, scenario=name, **env_kwargs)

        res = evaluate(policy, make_env, sset.seeds)
        summary = summarise(res, sset)
        tags = {
            **describe(str(c["policy"])),
            **meta,
            "env_id": env_id,
            "action_mode": str(env_kwargs.get("action_mode", "adjust")),  # the envs' default
            "process": process,
            **plant_tags(plant),
            "scenario_set": sset.name,
            "episodes": str(len(sset.seeds)),
            "git_commit": git_commit(),
            # what experiments.lib.scores finds this evaluation by (spec + base override)
            "eval_key": evaluation_key(spec, c.get("base")),
        }
        run_name = f"eval-{tags['policy_family']}-{sset.name}"
        with mlflow.start_run(
            experiment_id=experiment_id,
            run_name=child_run_name(run_name),
            tags={**tags, **sweep_tags()},
            parent_run_id=parent_run_id(),  # a job of an evaluation sweep: its child
        ):
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
