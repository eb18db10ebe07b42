"""What a score of experiments.tune means, where a study and its result are named, and the
best-parameter file it writes.

Every trial is scored by the mean paired return difference to the PID alone on the tuning seeds
(issue 13's yardstick, whatever the base); an env whose actions are not the PID's adjustments
(``action_mode=absolute``) by its plain mean return.

The best trial's values are written as an hparams option (``tune.output``) with its provenance;
train with it by ``python -m experiments.train hparams=<file name>``:

| base | default file (conf/hparams/) | package | what it sets |
| --- | --- | --- | --- |
| none | ``<env>_<agent>_tuned.yaml`` | ``agent`` | ``agent.*`` |
| pid, operator | ``<env>_<agent>_on_<base>_tuned.yaml`` | ``_global_`` | ``agent.*``, ``base`` |

A residual file is ``_global_`` because its values live in two groups: it selects the base with
``override /base: <base>`` (so ``hparams=…`` alone trains the tuned problem) and sets
``base.scale`` / ``base.estimator_features``. It gets its own name, so the ``${env}_${agent}``
option a plain run picks up automatically never turns a plain run into a residual one. Both
record the base under ``agent.tuned.base``; training them on another base is refused
(:func:`experiments.lib.config_checks.check_tuned_base`).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
import yaml

from agents.residual import ResidualConfig
from experiments.lib.config_checks import residual_settings
from experiments.lib.tracking import git_commit
from experiments.lib.tune_space import config_values

__all__ = [
    "FINISHED",
    "YARDSTICK",
    "default_names",
    "has_yardstick",
    "objective",
    "provenance",
    "tuning_seeds",
    "write_best",
]

REPO = Path(__file__).resolve().parents[2]
FINISHED = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
YARDSTICK = "pid"  # issue 13: the controller a learned policy has to beat


def tuning_seeds(c: Mapping[str, Any]) -> range:
    """The tuning episodes' seeds, the same for every trial (common random numbers)."""
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
