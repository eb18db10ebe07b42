"""Hyper-parameter search (experiments.tune): a tiny study completes with every trial an MLflow
child run of one parent, an interrupted study resumes into the same study, the best-parameter
file composes into a training config that builds the agent, and bad input fails before training.

Budgets are tiny (256 env-steps on 2 plants, 2 tuning episodes); every study writes under its
own tmp ``paths.root`` (journal file and MLflow store under ``<root>/results``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from hydra import compose, initialize
from hydra.core.hydra_config import HydraConfig
from hydra.errors import MissingConfigException
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig, OmegaConf
from optuna.storages.journal import JournalFileBackend, JournalStorage

from agents.builder import build_agent, make_train_env
from experiments import tune as tune_job
from experiments.lib.config_checks import ConfigError, validate_train_config
from experiments.train import resolve_config

TINY = (
    "experiment=debug",
    "train.n_envs=2",
    "agent.algo.n_epochs=2",
    "tune.timesteps=256",
    "tune.every_steps=128",
    "tune.n_episodes=2",
    "tune.n_startup_trials=1",
    "tune.n_warmup_steps=0",
    # rollouts of 64 x 2 env-steps: the ppo space's n_steps / batch_size would exceed the budget
    "tune.space.params=[{name:agent.algo.learning_rate,type:float,low:1e-5,high:1e-3,log:true},"
    "{name:agent.algo.gamma,type:categorical,choices:[0.99,0.995]},"
    "{name:agent.algo.policy_kwargs.net_arch,type:width,choices:[16,32],depth:2}]",
    "agent.algo.n_steps=64",
    "agent.algo.batch_size=64",
)


def compose_tune(root: Path, *overrides: str) -> DictConfig:
    """The config as ``python -m experiments.tune <overrides> paths.root=<root>`` sees it."""
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose(
            "tune",
            overrides=[
                *TINY,
                f"paths.root={root}",
                f"tune.output={root}/hparams/bof_ppo_tuned.yaml",
                *overrides,
            ],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)
    return cfg


def run_tune(root: Path, *overrides: str) -> dict[str, Any]:
    return tune_job.tune(compose_tune(root, *overrides))


def tune_runs(root: Path) -> list[Any]:
    uri = f"sqlite:///{root / 'results' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("debug-tune")
    assert exp is not None, "tuning runs go to <tracking.experiment>-tune"
    return client.search_runs([exp.experiment_id])


@pytest.fixture(scope="module")
def resumed(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[str, Any], dict[str, Any]]:
    """A study stopped after 1 trial, then started again with n_trials=2 on the same storage."""
    root = tmp_path_factory.mktemp("tune")
    first = run_tune(root, "n_trials=1")
    second = run_tune(root, "n_trials=2")
    return root, first, second


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A study of 2 trials run in one go."""
    root = tmp_path_factory.mktemp("tune")
    return root, run_tune(root, "n_trials=2")


def trials(root: Path) -> list[optuna.trial.FrozenTrial]:
    storage = JournalStorage(JournalFileBackend(str(root / "results/tune/studies.journal")))
    return optuna.load_study(study_name="bof-ppo-bof_250t", storage=storage).trials


def test_two_trials_complete_as_child_runs_of_one_parent(
    fresh: tuple[Path, dict[str, Any]],
) -> None:
    tmp_path, out = fresh
    assert out["n_trials"] == 2
    runs = tune_runs(tmp_path)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert {r.data.tags["optuna.trial"] for r in children} == {"0", "1"}
    # every trial was evaluated on the tuning seeds and paired with the PID (issue 13's yardstick)
    for r in children:
        assert "eval/paired_delta" in r.data.metrics
        assert r.data.tags["tune.objective"].startswith("mean paired return difference to the pid")
        # the score is the policy's mean return minus the PID's on the same seeds
        delta = r.data.metrics["eval/return_mean"] - r.data.metrics["yardstick/pid_return_mean"]
        assert r.data.metrics["eval/paired_delta"] == pytest.approx(delta)
        assert r.data.params["tune.first_seed"] == "700000"
    assert Path(out["output"]).is_file()


def test_interrupted_study_resumes_into_the_same_study(
    resumed: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    root, first, second = resumed
    assert first["study"] == second["study"] == "bof-ppo-bof_250t"
    assert (first["n_trials"], second["n_trials"]) == (1, 2)
    runs = tune_runs(root)
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1, "the resumed search continues the study's parent run"
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert sorted(r.data.tags["optuna.trial"] for r in children) == ["0", "1"]
    # continuing with another budget would mix incomparable scores: refused, nothing run
    with pytest.raises(ConfigError, match=r"differ: \['tune.timesteps'\]"):
        run_tune(root, "n_trials=3", "tune.timesteps=512")
    # a third start with the target already reached runs no trial
    again = run_tune(root, "n_trials=2")
    assert again["n_trials"] == 2 and len(tune_runs(root)) == 3


def test_same_seeds_same_trials(
    fresh: tuple[Path, dict[str, Any]],
    resumed: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    """Trial 0 of two studies with the same seeds: the same sample, the same paired scores."""
    a, b = trials(fresh[0])[0], trials(resumed[0])[0]
    assert a.params == b.params
    assert a.intermediate_values == b.intermediate_values and a.value == b.value


def test_best_parameter_file_composes_into_a_training_config(
    resumed: tuple[Path, dict[str, Any], dict[str, Any]],
) -> None:
    root, _, best = resumed
    path = Path(best["output"])
    text = path.read_text()
    assert text.startswith("# @package agent\n")
    prov = yaml.safe_load(text)["tuned"]
    assert prov["study"] == best["study"] and prov["trial"] == best["best_trial"]
    assert prov["score"] == pytest.approx(best["best_value"])
    assert prov["tuning_seeds"] == "700000..700001" and prov["commit"]
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose(
            "train",
            overrides=[
                "experiment=debug",
                "train.n_envs=2",
                "hparams=bof_ppo_tuned",
                f"hydra.searchpath=[pkg://envs.conf,file://{path.parent.parent}]",
                f"paths.root={root}",
            ],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)
    c = resolve_config(cfg)
    validate_train_config(c)
    for key, value in best["best_params"].items():
        assert OmegaConf.select(cfg, key) == value, key
    # keys the search did not touch come from the hparams option it started from (bof_ppo)
    assert c["agent"]["algo"]["policy_kwargs"]["log_std_init"] == -1.0
    env = make_train_env(
        c["env"]["id"], 2, 0, c["plant"], dict(c["env"]["kwargs"]), True, True, 0.99
    )
    model = build_agent(c["agent"], env, 0)
    assert model.learning_rate == pytest.approx(best["best_params"]["agent.algo.learning_rate"])


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("n_trials=0", "n_trials = 0 is invalid"),
        ("n_trials=-3", "n_trials = -3 is invalid"),
        ("tune.first_seed=100000", "overlap the evaluation seeds"),
        ("tune.first_seed=200001", "overlap the evaluation seeds of scenario set"),
        ("tune.space.params=[{name:train.n_envs,type:int,low:2,high:8}]", "only agent.algo"),
        ("tune.space.params=[{name:agent.algo.lr,type:float,low:1,high:0.1}]", "low < high"),
        ("tune.space.params=[{name:agent.algo.gamma,type:uniform}]", "type 'uniform'"),
        ("tune.timesteps=1", "smaller than train.n_envs"),
    ],
)
def test_bad_input_fails_clearly(tmp_path: Path, override: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        run_tune(tmp_path, override)
    assert not (tmp_path / "results" / "tune").exists(), "nothing is created before the check"


def test_unknown_agent_fails_clearly(tmp_path: Path) -> None:
    with pytest.raises(MissingConfigException, match="agent"):
        compose_tune(tmp_path, "agent=dqn")


def test_tune_config_is_the_train_config_plus_the_tune_section(tmp_path: Path) -> None:
    """conf/tune.yaml repeats conf/train.yaml's defaults and body: they must not drift apart."""
    overrides = ["agent=sac", "env=paint", f"paths.root={tmp_path}"]
    with initialize(version_base="1.3", config_path="../conf"):
        train_cfg = compose("train", overrides=overrides)
        tune_cfg = compose("tune", overrides=overrides)
    tuned = OmegaConf.to_container(tune_cfg)
    assert isinstance(tuned, dict)
    assert {k: v for k, v in tuned.items() if k not in tune_job.TUNE_KEYS} == (
        OmegaConf.to_container(train_cfg)
    )
    assert tuned["tune"]["space"]["params"][0]["name"].startswith("agent.algo.")  # sac space


def test_a_pruned_trial_stops_at_its_first_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pruner's verdict on an intermediate evaluation ends the trial's training there."""
    open_study = tune_job.open_study

    def always_prune(c: Any) -> optuna.Study:
        study = open_study(c)
        study.pruner = optuna.pruners.ThresholdPruner(lower=1e9)  # every score is below
        return study

    monkeypatch.setattr(tune_job, "open_study", always_prune)
    with pytest.raises(RuntimeError, match="no trial completed"):
        run_tune(tmp_path, "n_trials=1")
    (child,) = [r for r in tune_runs(tmp_path) if "mlflow.parentRunId" in r.data.tags]
    assert child.data.tags["optuna.state"] == "pruned"
    assert child.info.status == "FINISHED", "a pruned trial is a regular end, not a failure"
    uri = f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}"
    history = MlflowClient(tracking_uri=uri).get_metric_history(
        child.info.run_id, "eval/paired_delta"
    )
    assert [m.step for m in history] == [128], "no training or evaluation after the prune"
