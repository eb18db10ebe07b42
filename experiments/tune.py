"""Hyper-parameter search with Optuna: TPE, median pruning on paired evaluations, resumable.

    python -m experiments.tune env=bof agent=ppo n_trials=20
    python -m experiments.tune env=bof agent=ppo n_trials=40      # the same study, up to 40 trials
    python -m experiments.tune env=paint agent=ppo tune.timesteps=1000000 n_trials=30
    python -m experiments.tune env=bof agent=ppo base=pid tune/space=ppo_residual n_trials=20

Each trial trains the agent of the composed train config (conf/tune.yaml = conf/train.yaml plus
the ``tune`` section and ``conf/tune/space/<agent>.yaml``) with sampled values, using the train
job's building blocks (``build_train_env`` and ``eval_env_makers`` of experiments.train, so a
residual base, ``base=pid|operator``, is wired exactly as ``experiments.train base=pid`` wires
it; ``build_agent``, the library's ``EvalCallback``, the MLflow logger output). Every
``tune.every_steps`` env-steps the policy is evaluated on the tuning episodes — the same seeds
for every trial (common random numbers), ``tune.first_seed``.. and disjoint from the evaluation
seeds — and the score reported to the pruner is the mean paired return difference to the PID
alone on those seeds, for every base (issue 13: the PID is the yardstick a learned policy has to
beat; with ``base=pid`` a zero correction scores exactly 0). An env without the PID's action
layout (``action_mode=absolute``) is scored by its plain mean return. The median pruner stops a
trial whose score falls below the median of earlier trials at the same step.

The study lives in an Optuna journal file (``tune.storage``, under results/, git-ignored): an
interrupted search started again with the same command resumes into the same study, and several
workers started side by side share it (``n_trials`` counts finished trials of the whole study).
Every trial is an MLflow child run (tag ``mlflow.parentRunId``) of one parent run per study, in
the experiment ``<tracking.experiment>-tune`` (kept apart from the runs the reports read). At the
end the best trial's values are written as an hparams option (``tune.output``) with its
provenance; train with it by ``python -m experiments.train hparams=<file name>``:

| base | default file (conf/hparams/) | package | what it sets |
| --- | --- | --- | --- |
| none | ``<env>_<agent>_tuned.yaml`` | ``agent`` | ``agent.*`` |
| pid, operator | ``<env>_<agent>_on_<base>_tuned.yaml`` | ``_global_`` | ``agent.*``, ``base`` |

A residual file is ``_global_`` because its values live in two groups: it selects the base with
``override /base: <base>`` (so ``hparams=…`` alone trains the tuned problem) and sets
``base.scale`` / ``base.estimator_features``. It gets its own name, so the ``${env}_${agent}``
option a plain run picks up automatically never turns a plain run into a residual one. Both
record the base under ``agent.tuned.base``; training them on another base is refused
(experiments.lib.config_checks).
"""

from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import hydra
import mlflow
import numpy as np
import optuna
import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig
from optuna.storages.journal import JournalFileBackend, JournalStorage
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.vec_env import VecNormalize

from agents.builder import build_agent
from agents.evaluation import evaluate, n_actions
from agents.loading import load_baseline
from agents.residual import ResidualConfig
from experiments.lib.callbacks import EvalCallback
from experiments.lib.config_checks import ConfigError, validate_train_config
from experiments.lib.plants import plant_tags
from experiments.lib.scenario_sets import load_scenario_set, scenario_names
from experiments.lib.tracking import MLflowOutputFormat, flatten, git_commit, setup_tracking
from experiments.train import (
    build_train_env,
    eval_env_makers,
    make_policy,
    plant_of,
    residual_settings,
    resolve_config,
)

REPO = Path(__file__).resolve().parents[1]
TUNE_KEYS = ("tune", "n_trials")  # the keys conf/tune.yaml adds to the train config
TYPES = ("float", "int", "categorical", "width")
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
PARENT_ATTR = "mlflow_parent_run_id"
SETTINGS_ATTR = "settings"
SEARCHABLE_BASE = ("base.scale", "base.estimator_features")  # base.name is the study's choice
YARDSTICK = "pid"  # issue 13: the controller a learned policy has to beat

optuna.logging.set_verbosity(optuna.logging.WARNING)


# --- config --------------------------------------------------------------------------------------


def _get(tree: Mapping[str, Any], path: str) -> Any:
    node: Any = tree
    for part in path.split("."):
        node = node[part]
    return node


def _set(tree: dict[str, Any], path: str, value: Any) -> None:
    *parents, leaf = path.split(".")
    node = tree
    for part in parents:
        node = node[part]
    node[leaf] = value


def _check_key(name: str, c: Mapping[str, Any]) -> None:
    """A searched key is an ``agent.algo`` key of the config or a searchable ``base`` key."""
    if name.startswith("base."):
        if name not in SEARCHABLE_BASE:
            raise ConfigError(
                f"tune.space entry {name!r}: of the base only {list(SEARCHABLE_BASE)} can be "
                "searched (the base itself is the study's choice: base=pid|operator)"
            )
        if not residual_settings(c).active:
            raise ConfigError(
                f"tune.space entry {name!r} needs a residual base (base=pid or base=operator): "
                "base=none has no correction to scale; drop the entry or choose a base"
            )
        return
    if not name.startswith("agent.algo."):
        raise ConfigError(
            f"tune.space entry {name!r}: only agent.algo.* keys and {list(SEARCHABLE_BASE)} can "
            "be searched (the tuned file is an hparams option, which sets agent and base only)"
        )
    parent = name.rpartition(".")[0]
    try:
        node = _get(c, parent)
    except (KeyError, TypeError):
        node = None
    if not isinstance(node, Mapping):
        raise ConfigError(f"tune.space entry {name!r}: {parent} is not in the agent config")


def check_space(space: list[Mapping[str, Any]], c: Mapping[str, Any]) -> None:
    """Every search-space entry names a searchable key of the config and a valid range.

    Raises:
        ConfigError: naming the entry and what is wrong with it.
    """
    if not space:
        raise ConfigError("tune.space.params is empty: nothing to search")
    for entry in space:
        name, kind = str(entry.get("name")), entry.get("type")
        _check_key(name, c)
        if kind not in TYPES:
            raise ConfigError(f"tune.space entry {name!r}: type {kind!r} is not one of {TYPES}")
        if kind in ("float", "int") and not float(entry["low"]) < float(entry["high"]):
            raise ConfigError(f"tune.space entry {name!r}: needs low < high")
        if kind in ("categorical", "width") and not entry.get("choices"):
            raise ConfigError(f"tune.space entry {name!r}: needs a non-empty list of choices")
        if name == "base.scale" and kind == "float" and not float(entry["low"]) > 0.0:
            raise ConfigError(f"tune.space entry {name!r}: needs low > 0 (a correction's gain)")


def _check_residual(c: Mapping[str, Any]) -> ResidualConfig:
    """The base node is valid and its residual wrapper can act on the env.

    Raises:
        ConfigError: naming the ``base`` key or the env option that is wrong.
    """
    residual = residual_settings(c)
    mode = c["env"]["kwargs"].get("action_mode", "adjust")
    if residual.active and mode != "adjust":
        raise ConfigError(
            f"base = {residual.base!r} needs env.kwargs.action_mode='adjust' (the base acts as "
            f"adjustments around practice), got {mode!r}: drop the action_mode override or "
            "tune with base=none"
        )
    return residual


def check_tune_config(c: Mapping[str, Any]) -> None:
    """Numbers, seeds, base and space of the ``tune`` section (the train part:
    validate_train_config).

    Raises:
        ConfigError: naming the key, e.g. ``n_trials = 0 is invalid: must be a positive integer``.
    """
    t = c["tune"]
    _check_residual(c)
    for key, value in (
        ("n_trials", c["n_trials"]),
        ("tune.n_episodes", t["n_episodes"]),
        ("tune.timesteps", t["timesteps"]),
        ("tune.every_steps", t["every_steps"]),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{key} = {value!r} is invalid: must be a positive integer")
    if t["timesteps"] < c["train"]["n_envs"]:
        raise ConfigError(
            f"tune.timesteps = {t['timesteps']} is smaller than train.n_envs = "
            f"{c['train']['n_envs']}: not a single vector step would run"
        )
    tuning = range(int(t["first_seed"]), int(t["first_seed"]) + int(t["n_episodes"]))
    first = int(c["eval"]["first_seed"])
    n_eval = max(int(c["eval"]["n_episodes"]), int(c["eval"]["final_episodes"]))
    held_apart = {"eval.first_seed": range(first, first + n_eval)}
    process = c["env"]["name"]
    for name in scenario_names(process):
        listed = load_scenario_set(process, name).seeds
        held_apart[f"scenario set {name}"] = range(min(listed), max(listed) + 1)
    for what, span in held_apart.items():
        if tuning.start < span.stop and span.start < tuning.stop:
            raise ConfigError(
                f"tuning seeds {tuning.start}..{tuning.stop - 1} overlap the evaluation seeds of "
                f"{what} ({span.start}..{span.stop - 1}): choose another tune.first_seed"
            )
    check_space(list(t["space"]["params"]), c)


def sample(trial: optuna.Trial, space: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Config values (``{dotted key: value}``) of one trial from the search space."""
    values: dict[str, Any] = {}
    for e in space:
        name, kind = str(e["name"]), e["type"]
        if kind == "float":
            values[name] = trial.suggest_float(
                name, float(e["low"]), float(e["high"]), log=bool(e.get("log", False))
            )
        elif kind == "int":
            values[name] = trial.suggest_int(
                name, int(e["low"]), int(e["high"]), log=bool(e.get("log", False))
            )
        elif kind == "categorical":
            values[name] = trial.suggest_categorical(name, list(e["choices"]))
        else:  # width: one width for `depth` hidden layers (lists are not Optuna choices)
            width = trial.suggest_categorical(name, [int(w) for w in e["choices"]])
            values[name] = [width] * int(e.get("depth", 2))
    return values


def config_values(params: Mapping[str, Any], space: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Optuna's stored params of a trial as config values (widths back to ``net_arch`` lists)."""
    kinds = {str(e["name"]): e for e in space}
    out: dict[str, Any] = {}
    for name, value in params.items():
        e = kinds.get(name)
        out[name] = [value] * int(e.get("depth", 2)) if e and e["type"] == "width" else value
    return out


# --- one trial -----------------------------------------------------------------------------------


class PairedEvalCallback(EvalCallback):
    """Evaluation on the tuning seeds, paired with the PID's returns, reported to Optuna.

    Logs ``eval/return_mean`` …, ``eval/paired_delta`` (the score: mean over the seeds of the
    policy's return minus the PID's on the same seed) and ``eval/paired_delta_se`` (its standard
    error over the seeds, to read a difference against its noise); stops training when the
    pruner says so.
    """

    def __init__(
        self,
        trial: optuna.Trial,
        yardstick: np.ndarray | None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.trial, self.yardstick = trial, yardstick
        self.score: float | None = None
        self.scored_at, self.pruned = -1, False

    def _on_step(self) -> bool:
        super()._on_step()
        return not self.pruned

    def run_eval(self) -> dict[str, float]:
        env = self.model.get_env()
        vecnorm = env if isinstance(env, VecNormalize) else None
        res = evaluate(self.make_policy(self.model, vecnorm), self.make_env, self.seeds)
        paired = res.returns if self.yardstick is None else res.returns - self.yardstick
        self.score, self.scored_at = float(paired.mean()), int(self.num_timesteps)
        se = float(paired.std(ddof=1) / np.sqrt(len(paired))) if len(paired) > 1 else 0.0
        self.last = {**res.summary(), "paired_delta": self.score, "paired_delta_se": se}
        for key, value in self.last.items():
            self.logger.record(f"eval/{key}", value)
        self.logger.dump(self.num_timesteps)
        self.trial.report(self.score, self.num_timesteps)
        self.pruned = self.trial.should_prune()
        return self.last


def run_trial(
    trial: optuna.Trial, c: Mapping[str, Any], yardstick: np.ndarray | None, parent: Any
) -> float:
    """Train one sampled configuration; its last paired evaluation score (or TrialPruned)."""
    t = c["tune"]
    values = sample(trial, list(t["space"]["params"]))
    tc = copy.deepcopy(dict(c))
    for name, value in values.items():
        _set(tc, name, value)
    tc["train"]["total_timesteps"] = int(t["timesteps"])
    validate_train_config(tc)  # a space that yields an invalid value fails with the key's name
    residual = residual_settings(tc)  # the sampled base.scale included

    seed = int(tc["seed"])  # one training seed for all trials (CRN)
    train_env = build_train_env(tc, residual, seed)  # the train job's env, wrapper and all
    model = build_agent(tc["agent"], train_env, seed)
    # nested under the active parent run (MLflow tags it mlflow.parentRunId), in its experiment
    with mlflow.start_run(
        run_name=f"trial-{trial.number}", nested=True, experiment_id=parent.info.experiment_id
    ) as run:
        trial.set_user_attr("mlflow_run_id", run.info.run_id)
        log_trial(tc, values, trial, yardstick)
        writer = MLflowOutputFormat()
        model.set_logger(Logger(folder=None, output_formats=[writer]))
        eval_cb = PairedEvalCallback(
            trial,
            yardstick,
            eval_env_makers(tc, residual)[1],  # the env the policy acts on (wrapped with a base)
            tuning_seeds(tc),
            int(t["every_steps"]),
            make_policy(tc["agent"]),
        )
        try:
            model.learn(int(t["timesteps"]), callback=[eval_cb])
            if not eval_cb.pruned and eval_cb.scored_at != model.num_timesteps:
                eval_cb.run_eval()  # the score is the policy at the end of its budget
        finally:
            writer.flush()
            train_env.close()
        mlflow.set_tag("optuna.state", "pruned" if eval_cb.pruned else "complete")
        assert eval_cb.score is not None
        if not eval_cb.pruned:
            mlflow.log_metric("score", eval_cb.score, step=model.num_timesteps)
    # raised outside the run, which a pruned trial ends as FINISHED (not FAILED)
    if eval_cb.pruned:
        raise optuna.TrialPruned(f"pruned at {eval_cb.scored_at} steps")
    return eval_cb.score


def log_trial(
    tc: Mapping[str, Any],
    values: Mapping[str, Any],
    trial: optuna.Trial,
    yardstick: np.ndarray | None,
) -> None:
    """A trial's child run: its config, sampled values, objective and the yardstick's level."""
    t = tc["tune"]
    mlflow.log_params(flatten({k: v for k, v in tc.items() if k not in TUNE_KEYS}))
    mlflow.log_params(flatten({"tune": {k: v for k, v in t.items() if k != "space"}}))
    mlflow.log_params({f"sampled.{k}": str(v) for k, v in values.items()})
    mlflow.set_tags(
        {
            "optuna.trial": str(trial.number),
            "optuna.study": trial.study.study_name,
            "residual_base": residual_settings(tc).base,
            "tune.objective": objective(tc),
        }
    )
    if yardstick is not None:  # what a score of 0 means: the PID's return on these seeds
        mlflow.log_metric(f"yardstick/{YARDSTICK}_return_mean", float(yardstick.mean()))


def tuning_seeds(c: Mapping[str, Any]) -> range:
    first = int(c["tune"]["first_seed"])
    return range(first, first + int(c["tune"]["n_episodes"]))


def has_yardstick(c: Mapping[str, Any]) -> bool:
    """The PID acts as adjustments around practice: an env in ``absolute`` mode has none."""
    return bool(c["env"]["kwargs"].get("action_mode", "adjust") == "adjust")


def objective(c: Mapping[str, Any]) -> str:
    """What a trial's score is (tags, provenance, study settings)."""
    if has_yardstick(c):
        return f"mean paired return difference to the {YARDSTICK} alone on the tuning seeds"
    return "mean return on the tuning seeds (action_mode=absolute: no PID to pair with)"


def yardstick_returns(c: Mapping[str, Any]) -> np.ndarray | None:
    """The PID's returns on the tuning seeds, on the plain env (``None`` without a PID).

    The same for every base: with ``base=pid`` it is also the zero correction's return (the
    wrapper is the PID exactly), so a score > 0 is a gain over the controller corrected.
    """
    if not has_yardstick(c):
        return None
    make_raw_env = eval_env_makers(c, ResidualConfig())[0]
    kwargs = {k: v for k, v in c["env"]["kwargs"].items() if v is not None}
    pid = load_baseline(
        YARDSTICK, c["env"]["name"], n_actions(make_raw_env), plant_of(dict(c)), kwargs
    )
    return evaluate(pid, make_raw_env, tuning_seeds(c)).returns


# --- the study -----------------------------------------------------------------------------------


def open_study(c: Mapping[str, Any]) -> optuna.Study:
    """Create or load the study in the journal file (the sampler seeded by its history)."""
    t = c["tune"]
    path = Path(str(t["storage"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    storage = JournalStorage(JournalFileBackend(str(path)))
    name = str(t["study"])
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=int(t["n_startup_trials"]), n_warmup_steps=int(t["n_warmup_steps"])
    )
    study = optuna.create_study(
        study_name=name, storage=storage, direction="maximize", load_if_exists=True
    )
    # offset by the trials already there: a resumed study does not replay its first samples
    study.sampler = optuna.samplers.TPESampler(
        seed=int(t["seed"]) + len(study.trials), n_startup_trials=int(t["n_startup_trials"])
    )
    study.pruner = pruner
    check_same_settings(study, c)
    return study


def study_settings(c: Mapping[str, Any]) -> dict[str, Any]:
    """What makes trial scores comparable: the same plant, env, agent base, residual base,
    objective, budget and seeds.

    Sampler and pruner settings, tracking, paths and the output file may change on a resume.
    """
    t = c["tune"]
    train = {k: v for k, v in c["train"].items() if k not in ("progress_bar", "total_timesteps")}
    train.pop("checkpoint_every_steps", None)
    settings = {
        "env": c["env"],
        "plant": plant_tags(plant_of(dict(c))),
        "agent": c["agent"],
        "base": residual_settings(c).to_dict(),
        "objective": objective(c),
        "seed": c["seed"],
        "train": train,
        "eval.scenario": c["eval"]["scenario"],
        "tune": {
            k: t[k] for k in ("timesteps", "every_steps", "first_seed", "n_episodes", "space")
        },
    }
    return cast(dict[str, Any], json.loads(json.dumps(settings)))


def check_same_settings(study: optuna.Study, c: Mapping[str, Any]) -> None:
    """A new study records its settings; a resumed one must be continued with the same.

    Raises:
        ConfigError: naming the settings that differ from those the study was started with.
    """
    now = study_settings(c)
    before = study.user_attrs.get(SETTINGS_ATTR)
    if before is None:
        study.set_user_attr(SETTINGS_ATTR, now)
        return
    old, new = flatten(before), flatten(now)
    changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
    if changed:
        raise ConfigError(
            f"study {study.study_name!r} was started with other settings, so its trial scores "
            f"would not be comparable; these differ: {changed}. Use the study's settings or "
            "another tune.study"
        )


def default_names(c: Mapping[str, Any], residual: ResidualConfig) -> tuple[str, Path]:
    """The study name and best-parameter file of a search that names neither.

    A residual search is its own study (``…-on-<base>``, as the train job names its runs) and
    its own file ``<env>_<agent>_on_<base>_tuned.yaml``: the ``${env}_${agent}`` hparams option
    is picked up by every plain run, which must not become a residual one.
    """
    env, agent = c["env"]["name"], c["agent"]["name"]
    study, stem = f"{env}-{agent}-{c['plant_name']}", f"{env}_{agent}"
    if residual.active:
        study, stem = f"{study}-on-{residual.base}", f"{stem}_on_{residual.base}"
    return study, Path(str(c["paths"]["root"])) / "conf" / "hparams" / f"{stem}_tuned.yaml"


def provenance(
    c: Mapping[str, Any], study: optuna.Study, base: Mapping[str, Any]
) -> dict[str, Any]:
    """Where the best values come from (``agent.tuned`` of the written file)."""
    t, best = c["tune"], study.best_trial
    seeds = tuning_seeds(c)
    return {
        "study": study.study_name,
        "storage": str(t["storage"]),
        "trial": best.number,
        "score": float(best.value) if best.value is not None else None,
        "score_is": objective(c),
        "base": dict(base),  # the residual base these values were tuned for (config_checks)
        "trials_finished": len([tr for tr in study.trials if tr.state in FINISHED]),
        "tuning_seeds": f"{seeds.start}..{seeds.stop - 1}",
        "training_seed": int(c["seed"]),
        "timesteps": int(t["timesteps"]),
        "env_id": c["env"]["id"],
        "plant": c["plant_name"],
        "mlflow_run_id": best.user_attrs.get("mlflow_run_id"),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": git_commit(),
    }


def write_best(c: Mapping[str, Any], study: optuna.Study, hparams_choice: str | None) -> Path:
    """The best trial's values as an hparams option with its provenance (module docstring).

    The agent values are merged into the hparams option the search started from (its keys that
    were not searched stay), so ``hparams=<file name>`` replaces it completely. A residual
    search's file is ``# @package _global_``: it selects its base and sets its scale too.
    """
    t = c["tune"]
    agent: dict[str, Any] = {}
    if hparams_choice:
        src = REPO / "conf" / "hparams" / f"{hparams_choice}.yaml"
        if src.is_file():
            text = src.read_text()
            agent = yaml.safe_load(text) or {}
            if text.startswith("# @package _global_"):  # a residual tuned file as the start
                agent = agent.get("agent", {})
    agent.pop("tuned", None)
    tree: dict[str, Any] = {"agent": agent, "base": dict(residual_settings(c).to_dict())}
    for name, value in config_values(study.best_trial.params, list(t["space"]["params"])).items():
        *parents, leaf = name.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    prov = provenance(c, study, tree["base"])
    agent["tuned"] = prov
    out = Path(str(t["output"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"# Tuned by experiments.tune (study {study.study_name}, trial {prov['trial']}, score "
        f"{prov['score']}); train with hparams={out.stem}\n"
    )
    if residual_settings(c).active:
        base = tree["base"]
        doc: dict[str, Any] = {
            # the group choice, so `hparams=<file>` alone trains the tuned residual problem
            "defaults": [{"override /base": base.pop("name")}, "_self_"],
            "agent": agent,
            "base": base,
        }
        out.write_text("# @package _global_\n" + header + yaml.safe_dump(doc, sort_keys=False))
    else:
        out.write_text("# @package agent\n" + header + yaml.safe_dump(agent, sort_keys=False))
    return out


def tune(cfg: DictConfig) -> dict[str, Any]:
    """The whole search for a composed ``tune`` config (tests call it with ``hydra.compose``).

    Returns:
        ``study`` name, ``n_trials`` finished in the study, ``best_value``, ``best_trial``,
        ``best_params`` (config values) and the ``output`` file written.
    """
    c = resolve_config(cfg)
    check_tune_config(c)
    validate_train_config(c)
    t = c["tune"]
    study_name, output = default_names(c, residual_settings(c))
    t["study"] = study_name if t["study"] is None else t["study"]
    t["output"] = str(output) if t["output"] is None else t["output"]
    torch.set_num_threads(int(c["train"]["torch_threads"]))
    tracking = {**c["tracking"], "experiment": f"{c['tracking']['experiment']}-tune"}
    experiment_id = setup_tracking(tracking)
    study = open_study(c)
    n_target = int(c["n_trials"])
    yardstick = yardstick_returns(c)  # the same seeds for every trial: computed once

    parent_id = study.user_attrs.get(PARENT_ATTR)
    with mlflow.start_run(
        run_id=parent_id,
        experiment_id=None if parent_id else experiment_id,
        run_name=None if parent_id else f"tune-{study.study_name}",
    ) as parent:
        if parent_id is None:
            study.set_user_attr(PARENT_ATTR, parent.info.run_id)
            mlflow.set_tags(
                {
                    "optuna.study": study.study_name,
                    "optuna.storage": str(t["storage"]),
                    "env_id": c["env"]["id"],
                    "algorithm": c["agent"]["name"],
                    "residual_base": residual_settings(c).base,
                    "tune.objective": objective(c),
                    "git_commit": git_commit(),
                    **plant_tags(plant_of(c)),
                }
            )
            if yardstick is not None:
                mlflow.log_metric(f"yardstick/{YARDSTICK}_return_mean", float(yardstick.mean()))
            mlflow.log_params(flatten({"tune": {k: v for k, v in t.items() if k != "space"}}))
            mlflow.log_text(yaml.safe_dump(t["space"], sort_keys=False), "tune/space.yaml")
        done = len(study.get_trials(deepcopy=False, states=FINISHED))
        if done < n_target:
            study.optimize(
                lambda trial: run_trial(trial, c, yardstick, parent),
                callbacks=[optuna.study.MaxTrialsCallback(n_target, states=FINISHED)],
                n_trials=n_target - done,  # other workers may finish some: the callback stops
            )
        finished = study.get_trials(deepcopy=False, states=FINISHED)
        complete = [tr for tr in finished if tr.state == optuna.trial.TrialState.COMPLETE]
        if not complete:
            raise RuntimeError(f"study {study.study_name}: no trial completed (all pruned/failed)")
        out = write_best(c, study, HydraConfig.get().runtime.choices.get("hparams"))
        best = study.best_trial
        mlflow.log_metric("best_score", float(best.value or 0.0), step=len(finished))
        mlflow.set_tags({"best_trial": str(best.number), "tuned_file": str(out)})
        mlflow.log_artifact(str(out), "tune")
    print(
        f"study {study.study_name}: {len(finished)} trials finished, best trial {best.number} "
        f"score {best.value:.4g}; parameters written to {out}"
    )
    return {
        "study": study.study_name,
        "n_trials": len(finished),
        "best_value": float(best.value or 0.0),
        "best_trial": best.number,
        "best_params": config_values(best.params, list(t["space"]["params"])),
        "output": out,
    }


@hydra.main(version_base="1.3", config_path="../conf", config_name="tune")
def main(cfg: DictConfig) -> None:
    tune(cfg)


if __name__ == "__main__":
    main()
