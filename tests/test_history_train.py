"""The window in the train job (memory=none|window): the default trains exactly as before the
option existed; a tiny run with memory=window records it, and its policy evaluates from
``runs:/<id>``, the registry and its policy folder as the policy that keeps its own window."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from budgets import tiny_training
from mlflow.tracking import MlflowClient
from omegaconf import open_dict

import envs
from agents.evaluation import evaluate
from agents.history import HistoryPolicy, HistoryWrapper, MemoryConfig
from agents.loading import load_saved_policy
from agents.residual import ResidualConfig, ResidualWrapper
from experiments import train as train_job
from experiments.lib.config_checks import ConfigError
from experiments.lib.evaluation_job import evaluate_policy
from experiments.lib.scenario_sets import load_scenario_set

TINY = tiny_training(eval_episodes=2)
# campaigns of 3 heats, so the window holds taps in training and in every evaluation below
CAMPAIGN = ("env.kwargs.campaign_heats=3",)


@pytest.mark.usefixtures("isolated_mlflow")
def test_default_config_trains_as_before_the_memory_option(
    tmp_path: Path, compose_train: Any
) -> None:
    """memory=none is the default, and it trains bit-identically to a config without the
    memory node (how every run before the option was composed)."""
    cfg = compose_train(tmp_path / "a", *TINY)
    assert cfg.memory == {"name": "none", "units": 0}
    with_node = train_job.train(cfg)
    before = compose_train(tmp_path / "b", *TINY)
    with open_dict(before):
        del before["memory"]
    without_node = train_job.train(before)
    assert with_node == without_node  # every KPI of the final table, to the last bit


@pytest.mark.usefixtures("isolated_mlflow")
def test_bad_window_length_fails_before_training(tmp_path: Path, compose_train: Any) -> None:
    cfg = compose_train(tmp_path, *TINY, "memory=window", "memory.units=0")
    with pytest.raises(ConfigError, match=r"memory: memory=window needs memory.units >= 1"):
        train_job.train(cfg)
    assert not (tmp_path / "results" / "checkpoints").exists()  # nothing trained or saved


@pytest.mark.usefixtures("isolated_mlflow")
def test_trained_window_policy_evaluates_from_run_registry_and_folder(
    tmp_path: Path, compose_train: Any
) -> None:
    overrides = (
        *TINY,
        *CAMPAIGN,
        "memory=window",
        "memory.units=2",
        "base=pid",
        "base.scale=0.3",
        "base.estimator_features=true",
        "base.campaign_features=true",  # trained on campaigns: it learns from the last taps
        "register_model=true",
    )
    summary = train_job.train(compose_train(tmp_path, *overrides))
    assert np.isfinite(summary["return_mean"])
    uri = f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    (exp,) = [e for e in client.search_experiments() if e.name == "debug"]
    (run,) = client.search_runs([exp.experiment_id])
    assert (run.data.params["memory.name"], run.data.params["memory.units"]) == ("window", "2")
    assert run.data.tags["mlflow.runName"].endswith("-on-pid-window2")
    run_dir = tmp_path / "results" / "checkpoints" / run.info.run_id
    c = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert c["memory"] == {"name": "window", "units": 2}

    # the drift set's 20-heat campaigns (the set decides the episodes, not the run's 3-heat ones)
    job = {**c, "policy": f"runs:/{run.info.run_id}", "scenario_sets": ["drift"], "episodes": 2}
    job["base"] = None  # as evaluate.yaml composes it: the run's record decides
    job["tracking"] = {**c["tracking"], "experiment": "bof-evaluation"}
    from_run = evaluate_policy(job, c["plant_name"])["drift"]
    (ev,) = [e for e in client.search_experiments() if e.name == "bof-evaluation"]
    (eval_run,) = client.search_runs([ev.experiment_id])
    # its own family in reports: never pooled with plain PPO, PPO on the PID without a window,
    # or one trained on single heats
    assert eval_run.data.tags["policy_family"] == "ppo-window2-campaign3-on-pid"

    # the same episodes, the network acting on the training wrappers (residual, then window)
    seeds = load_scenario_set("bof", "drift").with_episodes(2).seeds
    saved = load_saved_policy(run_dir / "final")
    assert isinstance(saved, HistoryPolicy)  # the folder's config recorded the window
    residual, memory = ResidualConfig("pid", 0.3, True), MemoryConfig("window", 2)

    def training_env() -> HistoryWrapper:
        env = envs.make("bof", scenario="drift")
        return HistoryWrapper(ResidualWrapper(env, residual), memory)

    direct = evaluate(saved.policy, training_env, seeds)
    assert len(direct.units) == 40  # 2 campaigns of 20 heats: the window held taps
    assert from_run["return_mean"] == pytest.approx(float(direct.returns.mean()), rel=1e-12)

    # the registered version and a copied policy folder give the same numbers
    from_registry = evaluate_policy(
        {**job, "policy": f"models:/{c['env']['registered_model']}@candidate"}, c["plant_name"]
    )["drift"]
    assert from_registry["return_mean"] == from_run["return_mean"]
    folder = tmp_path / "policy"
    shutil.copytree(run_dir / "final", folder)
    from_folder = evaluate_policy({**job, "policy": str(folder)}, c["plant_name"])["drift"]
    assert from_folder["return_mean"] == from_run["return_mean"]
