"""Hyper-parameter search with Optuna: TPE, median pruning on paired evaluations, resumable.

    python -m experiments.tune env=bof agent=ppo n_trials=20
    python -m experiments.tune env=bof agent=ppo n_trials=40      # the same study, up to 40 trials
    python -m experiments.tune env=paint agent=ppo tune.timesteps=1000000 n_trials=30

Each trial trains the agent of the composed train config (conf/tune.yaml = conf/train.yaml plus
the ``tune`` section and ``conf/tune/space/<agent>.yaml``) with sampled values, using the train
job's building blocks (``make_train_env``, ``build_agent``, the library's ``EvalCallback``, the
MLflow logger output). Every ``tune.every_steps`` env-steps the policy is evaluated on the tuning
episodes — the same seeds for every trial (common random numbers), ``tune.first_seed``.. and
disjoint from the evaluation seeds — and the score reported to the pruner is the paired mean
difference to the operator practice on those seeds (return per episode; the plain mean return
when the env has no operator, ``action_mode=absolute``). The median pruner stops a trial whose
score falls below the median of earlier trials at the same step.

The study lives in an Optuna journal file (``tune.storage``, under results/, git-ignored): an
interrupted search started again with the same command resumes into the same study, and several
workers started side by side share it (``n_trials`` counts finished trials of the whole study).
Every trial is an MLflow child run (tag ``mlflow.parentRunId``) of one parent run per study, in
the experiment ``<tracking.experiment>-tune`` (kept apart from the runs the reports read). At the
end the best trial's values are written as an hparams option (``tune.output``, by default
``conf/hparams/<env>_<agent>_tuned.yaml``) with its provenance; train with it by
``python -m experiments.train hparams=<env>_<agent>_tuned``.
"""

from __future__ import annotations

import copy
import datetime
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
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

import envs
from agents.baselines.operator import OperatorPolicy
from agents.builder import build_agent, make_train_env
from agents.evaluation import evaluate, n_actions
from experiments.lib.callbacks import EvalCallback
from experiments.lib.config_checks import ConfigError, validate_train_config
from experiments.lib.plants import plant_tags
from experiments.lib.scenario_sets import load_scenario_set, scenario_names
from experiments.lib.tracking import MLflowOutputFormat, flatten, git_commit, setup_tracking
from experiments.train import make_policy, plant_of, resolve_config

REPO = Path(__file__).resolve().parents[1]
TUNE_KEYS = ("tune", "n_trials")  # the keys conf/tune.yaml adds to the train config
TYPES = ("float", "int", "categorical", "width")
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
PARENT_ATTR = "mlflow_parent_run_id"
SETTINGS_ATTR = "settings"

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


def check_space(space: list[Mapping[str, Any]], c: Mapping[str, Any]) -> None:
    """Every search-space entry names an ``agent.algo`` key of the config and a valid range.

    Raises:
        ConfigError: naming the entry and what is wrong with it.
    """
    if not space:
        raise ConfigError("tune.space.params is empty: nothing to search")
    for entry in space:
        name, kind = str(entry.get("name")), entry.get("type")
        if not name.startswith("agent.algo."):
            raise ConfigError(
                f"tune.space entry {name!r}: only agent.algo.* keys can be searched (the tuned "
                "file is an hparams option of the agent package)"
            )
        parent = name.rpartition(".")[0]
        try:
            node = _get(c, parent)
        except (KeyError, TypeError):
            node = None
        if not isinstance(node, Mapping):
            raise ConfigError(f"tune.space entry {name!r}: {parent} is not in the agent config")
        if kind not in TYPES:
            raise ConfigError(f"tune.space entry {name!r}: type {kind!r} is not one of {TYPES}")
        if kind in ("float", "int") and not float(entry["low"]) < float(entry["high"]):
            raise ConfigError(f"tune.space entry {name!r}: needs low < high")
        if kind in ("categorical", "width") and not entry.get("choices"):
            raise ConfigError(f"tune.space entry {name!r}: needs a non-empty list of choices")


def check_tune_config(c: Mapping[str, Any]) -> None:
    """Numbers, seeds and space of the ``tune`` section (the train part: validate_train_config).

    Raises:
        ConfigError: naming the key, e.g. ``n_trials = 0 is invalid: must be a positive integer``.
    """
    t = c["tune"]
    base = (c.get("base") or {}).get("name", "none")
    if base != "none":
        # trials build their envs without the residual wrapper: a search for a residual agent
        # would tune a different problem than the one it is meant for
        raise ConfigError(
            f"base = {base!r}: experiments.tune searches plain agents only (base=none) for now"
        )
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
    """Evaluation on the tuning seeds, paired with the baseline's returns, reported to Optuna.

    Logs ``eval/return_mean`` … and ``eval/paired_delta`` (mean over the seeds of the policy's
    return minus the baseline's on the same seed); stops training when the pruner says so.
    """

    def __init__(
        self,
        trial: optuna.Trial,
        baseline_returns: np.ndarray | None,
        *args: Any,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.trial, self.baseline = trial, baseline_returns
        self.score: float | None = None
        self.scored_at, self.pruned = -1, False

    def _on_step(self) -> bool:
        super()._on_step()
        return not self.pruned

    def run_eval(self) -> dict[str, float]:
        env = self.model.get_env()
        vecnorm = env if isinstance(env, VecNormalize) else None
        res = evaluate(self.make_policy(self.model, vecnorm), self.make_env, self.seeds)
        paired = res.returns if self.baseline is None else res.returns - self.baseline
        self.score, self.scored_at = float(paired.mean()), int(self.num_timesteps)
        self.last = {**res.summary(), "paired_delta": self.score}
        for key, value in self.last.items():
            self.logger.record(f"eval/{key}", value)
        self.logger.dump(self.num_timesteps)
        self.trial.report(self.score, self.num_timesteps)
        self.pruned = self.trial.should_prune()
        return self.last


def run_trial(
    trial: optuna.Trial, c: Mapping[str, Any], baseline: np.ndarray | None, parent: Any
) -> float:
    """Train one sampled configuration; its last paired evaluation score (or TrialPruned)."""
    t = c["tune"]
    space = list(t["space"]["params"])
    values = sample(trial, space)
    tc = copy.deepcopy(dict(c))
    for name, value in values.items():
        _set(tc, name, value)
    tc["train"]["total_timesteps"] = int(t["timesteps"])
    validate_train_config(tc)  # a space that yields an invalid value fails with the key's name

    env_id, seed = tc["env"]["id"], int(tc["seed"])  # one training seed for all trials (CRN)
    env_kwargs = {k: v for k, v in tc["env"]["kwargs"].items() if v is not None}
    train_env = make_train_env(
        env_id,
        tc["train"]["n_envs"],
        seed,
        tc["plant"],
        env_kwargs,
        tc["train"]["normalize_obs"],
        tc["train"]["normalize_reward"],
        float(tc["agent"]["algo"].get("gamma", 0.99)),
    )
    model = build_agent(tc["agent"], train_env, seed)
    # nested under the active parent run (MLflow tags it mlflow.parentRunId), in its experiment
    with mlflow.start_run(
        run_name=f"trial-{trial.number}", nested=True, experiment_id=parent.info.experiment_id
    ) as run:
        trial.set_user_attr("mlflow_run_id", run.info.run_id)
        mlflow.log_params(flatten({k: v for k, v in tc.items() if k not in TUNE_KEYS}))
        mlflow.log_params(flatten({"tune": {k: v for k, v in t.items() if k != "space"}}))
        mlflow.log_params({f"sampled.{k}": str(v) for k, v in values.items()})
        mlflow.set_tags({"optuna.trial": str(trial.number), "optuna.study": trial.study.study_name})
        writer = MLflowOutputFormat()
        model.set_logger(Logger(folder=None, output_formats=[writer]))
        eval_cb = PairedEvalCallback(
            trial,
            baseline,
            lambda: eval_env(tc),
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


def tuning_seeds(c: Mapping[str, Any]) -> range:
    first = int(c["tune"]["first_seed"])
    return range(first, first + int(c["tune"]["n_episodes"]))


def eval_env(c: Mapping[str, Any]) -> gym.Env:
    kwargs = {k: v for k, v in c["env"]["kwargs"].items() if v is not None}
    return envs.make(
        c["env"]["id"], plant=c["plant"], **{**kwargs, "scenario": c["eval"]["scenario"]}
    )


def baseline_returns(c: Mapping[str, Any]) -> np.ndarray | None:
    """The operator practice's returns on the tuning seeds (``None`` without an operator)."""
    if c["env"]["kwargs"].get("action_mode", "adjust") != "adjust":
        return None
    operator = OperatorPolicy(n_actions(lambda: eval_env(c)))
    return evaluate(operator, lambda: eval_env(c), tuning_seeds(c)).returns


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
    """What makes trial scores comparable: the same plant, env, agent base, budget and seeds.

    Sampler and pruner settings, tracking, paths and the output file may change on a resume.
    """
    t = c["tune"]
    train = {k: v for k, v in c["train"].items() if k not in ("progress_bar", "total_timesteps")}
    train.pop("checkpoint_every_steps", None)
    settings = {
        "env": c["env"],
        "plant": plant_tags(plant_of(dict(c))),
        "agent": c["agent"],
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


def write_best(c: Mapping[str, Any], study: optuna.Study, hparams_choice: str | None) -> Path:
    """The best trial's values as an hparams option (package agent) with its provenance.

    The values are merged into the hparams option the search started from (its keys that were
    not searched stay), so ``hparams=<env>_<agent>_tuned`` replaces it completely.
    """
    t = c["tune"]
    best = study.best_trial
    base: dict[str, Any] = {}
    if hparams_choice:
        src = REPO / "conf" / "hparams" / f"{hparams_choice}.yaml"
        if src.is_file():
            base = yaml.safe_load(src.read_text()) or {}
    base.pop("tuned", None)
    tree: dict[str, Any] = {"agent": base}
    for name, value in config_values(best.params, list(t["space"]["params"])).items():
        *parents, leaf = name.split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    finished = [tr for tr in study.trials if tr.state in FINISHED]
    seeds = tuning_seeds(c)
    provenance = {
        "study": study.study_name,
        "storage": str(t["storage"]),
        "trial": best.number,
        "score": float(best.value) if best.value is not None else None,
        "score_is": "mean paired return difference to the operator on the tuning seeds"
        if c["env"]["kwargs"].get("action_mode", "adjust") == "adjust"
        else "mean return on the tuning seeds",
        "trials_finished": len(finished),
        "tuning_seeds": f"{seeds.start}..{seeds.stop - 1}",
        "training_seed": int(c["seed"]),
        "timesteps": int(t["timesteps"]),
        "env_id": c["env"]["id"],
        "plant": c["plant_name"],
        "mlflow_run_id": best.user_attrs.get("mlflow_run_id"),
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": git_commit(),
    }
    tree["agent"]["tuned"] = provenance
    out = Path(str(t["output"]))
    out.parent.mkdir(parents=True, exist_ok=True)
    header = (
        "# @package agent\n"
        f"# Tuned by experiments.tune (study {study.study_name}, trial {best.number}, score "
        f"{provenance['score']}); train with hparams={out.stem}\n"
    )
    out.write_text(header + yaml.safe_dump(tree["agent"], sort_keys=False))
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
    if t["study"] is None:
        t["study"] = f"{c['env']['name']}-{c['agent']['name']}-{c['plant_name']}"
    torch.set_num_threads(int(c["train"]["torch_threads"]))
    tracking = {**c["tracking"], "experiment": f"{c['tracking']['experiment']}-tune"}
    experiment_id = setup_tracking(tracking)
    study = open_study(c)
    n_target = int(c["n_trials"])
    baseline = baseline_returns(c)

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
                    "git_commit": git_commit(),
                    **plant_tags(plant_of(c)),
                }
            )
            mlflow.log_params(flatten({"tune": {k: v for k, v in t.items() if k != "space"}}))
            mlflow.log_text(yaml.safe_dump(t["space"], sort_keys=False), "tune/space.yaml")
        done = len(study.get_trials(deepcopy=False, states=FINISHED))
        if done < n_target:
            study.optimize(
                lambda trial: run_trial(trial, c, baseline, parent),
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
