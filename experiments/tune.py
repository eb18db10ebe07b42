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
provenance: ``conf/hparams/<env>_<agent>_tuned.yaml`` (package ``agent``) for ``base=none``,
``conf/hparams/<env>_<agent>_on_<base>_tuned.yaml`` (package ``_global_``: it selects its base and
sets its scale; why, in experiments/lib/tune_study.py) for a residual base. Train with it by
``python -m experiments.train hparams=<file name>``.

| module | for |
| --- | --- |
| this job | checks, trials (training, paired evaluation, pruning), the study, MLflow runs |
| :mod:`experiments.lib.tune_space` | searchable keys and sampling of ``conf/tune/space/*`` |
| :mod:`experiments.lib.tune_study` | the score's yardstick, default names, the best file |
"""

from __future__ import annotations

import copy
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

from agents.builder import action_names, build_agent
from agents.evaluation import evaluate, n_actions
from agents.loading import load_baseline
from agents.residual import ResidualConfig
from experiments.lib.callbacks import EvalCallback
from experiments.lib.cli import readable_errors, start
from experiments.lib.config_checks import ConfigError, residual_settings, validate_train_config
from experiments.lib.plants import plant_tags
from experiments.lib.scenario_sets import load_scenario_set, scenario_names
from experiments.lib.tracking import MLflowOutputFormat, flatten, git_commit, setup_tracking
from experiments.lib.tune_space import check_space, config_values, sample, set_key
from experiments.lib.tune_study import (
    FINISHED,
    YARDSTICK,
    default_names,
    has_yardstick,
    objective,
    tuning_seeds,
    write_best,
)
from experiments.train import (
    build_train_env,
    eval_env_makers,
    make_policy,
    plant_of,
    resolve_config,
)

TUNE_KEYS = ("tune", "n_trials")  # the keys conf/tune.yaml adds to the train config
PARENT_ATTR = "mlflow_parent_run_id"
SETTINGS_ATTR = "settings"

optuna.logging.set_verbosity(optuna.logging.WARNING)


# --- config --------------------------------------------------------------------------------------


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
        set_key(tc, name, value)
    tc["train"]["total_timesteps"] = int(t["timesteps"])
    validate_train_config(tc)  # a space that yields an invalid value fails with the key's name
    residual = residual_settings(tc)  # the sampled base.scale included

    seed = int(tc["seed"])  # one training seed for all trials (CRN)
    train_env = build_train_env(tc, residual, seed)  # the train job's env, wrapper and all
    model = build_agent(tc["agent"], train_env, seed, action_names(tc["env"]["id"]))
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


def tune(cfg: DictConfig) -> dict[str, Any]:
    """The whole search for a composed ``tune`` config (tests call it with ``hydra.compose``).

    Returns:
        ``study`` name, ``n_trials`` finished in the study, ``best_value``, ``best_trial``,
        ``best_params`` (config values) and the ``output`` file written.
    """
    c = resolve_config(cfg)
    validate_train_config(c)  # types first: check_tune_config compares train.n_envs
    check_tune_config(c)
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
@readable_errors
def main(cfg: DictConfig) -> None:
    tune(cfg)


if __name__ == "__main__":
    start(main)
