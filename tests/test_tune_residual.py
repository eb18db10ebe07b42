"""Hyper-parameter search of a residual policy (experiments.tune base=pid): the trials train the
correction exactly as the train job does, scored by the paired return difference to the PID; a
study of 2 trials completes, an interrupted one resumes into the same study, and its best file
(package ``_global_``) composes into a training config with ``base=pid`` and the tuned scale.

Budgets are tiny (256 env-steps on 2 plants, 2 tuning episodes), as in tests/test_tune.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hydra import compose, initialize
from hydra.core.hydra_config import HydraConfig
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf
from test_tune import compose_tune  # the tiny budget of the plain tune tests

from agents.baselines.operator import OperatorPolicy
from agents.builder import build_agent
from agents.evaluation import evaluate, n_actions
from agents.residual import ResidualConfig
from experiments import tune as tune_job
from experiments.lib.config_checks import ConfigError, residual_settings, validate_train_config
from experiments.lib.tune_space import check_space
from experiments.lib.tune_study import default_names, tuning_seeds
from experiments.train import build_train_env, eval_env_makers, resolve_config

STUDY = "bof-ppo-bof_250t-on-pid"
RESIDUAL = (
    "base=pid",
    "base.estimator_features=true",  # the observation grows by the PID's estimates: 26 + 5
    "tune.space.params=[{name:base.scale,type:float,low:0.2,high:1.0,log:true},"
    "{name:agent.algo.learning_rate,type:float,low:1e-5,high:1e-3,log:true},"
    "{name:agent.algo.policy_kwargs.log_std_init,type:float,low:-3.0,high:-0.5}]",
)


def run_residual(root: Path, *overrides: str) -> dict[str, Any]:
    cfg = compose_tune(
        root, *RESIDUAL, f"tune.output={root}/hparams/bof_ppo_on_pid_tuned.yaml", *overrides
    )
    return tune_job.tune(cfg)


def tune_runs(root: Path) -> list[Any]:
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'results' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("debug-tune")
    assert exp is not None
    return client.search_runs([exp.experiment_id])


BUILT: list[tuple[ResidualConfig, Any]] = []  # (residual settings, observation space) per trial


@pytest.fixture(scope="module")
def resumed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """A residual study stopped after 1 trial, then started again with n_trials=2; the train
    envs the trials built are recorded in ``BUILT``."""
    root = tmp_path_factory.mktemp("tune_residual")

    def recording(c: Any, residual: ResidualConfig, seed: int) -> Any:
        env = build_train_env(c, residual, seed)
        BUILT.append((residual, env.observation_space))
        return env

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(tune_job, "build_train_env", recording)
        first = run_residual(root, "n_trials=1")
        assert first["n_trials"] == 1 and first["study"] == STUDY
        return root, run_residual(root, "n_trials=2")


def test_residual_study_completes_two_trials_and_resumes_into_the_same_study(
    resumed: tuple[Path, dict[str, Any]],
) -> None:
    root, out = resumed
    assert out["study"] == STUDY and out["n_trials"] == 2
    runs = tune_runs(root)
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert sorted(r.data.tags["optuna.trial"] for r in children) == ["0", "1"]
    for r in children:
        assert r.data.tags["residual_base"] == "pid"
        assert "pid alone" in r.data.tags["tune.objective"]
        assert r.data.params["base.name"] == "pid"
        # the trial trained with its sampled scale (the wrapper read it from the config)
        assert float(r.data.params["base.scale"]) == float(r.data.params["sampled.base.scale"])
        for key in ("eval/paired_delta", "eval/paired_delta_se", "yardstick/pid_return_mean"):
            assert key in r.data.metrics, key
    # each trial learned on the train job's residual env: the PID's estimates observed
    sampled = sorted(float(r.data.params["sampled.base.scale"]) for r in children)
    assert sorted(residual.scale for residual, _ in BUILT) == sampled
    for residual, space in BUILT:
        assert residual.base == "pid" and residual.estimator_features
        assert space.shape == (31,)
    # the same yardstick for both trials (common random numbers on the tuning seeds)
    assert len({r.data.metrics["yardstick/pid_return_mean"] for r in children}) == 1
    # another base or feature set would tune another problem: refused, naming the setting
    with pytest.raises(ConfigError, match=r"differ: \['base.estimator_features'\]"):
        run_residual(root, "n_trials=3", "base.estimator_features=false")


def test_the_yardstick_is_the_zero_correction_on_the_tuning_seeds(tmp_path: Path) -> None:
    """Score 0 = the PID: the PID alone on the raw env and a zero correction on the residual
    env the trials evaluate give the same returns, seed for seed."""
    c = resolve_config(compose_tune(tmp_path, *RESIDUAL))
    pid_alone = tune_job.yardstick_returns(c)
    assert pid_alone is not None and pid_alone.shape == (2,)
    make_env = eval_env_makers(c, residual_settings(c))[1]
    zero = evaluate(OperatorPolicy(n_actions(make_env)), make_env, tuning_seeds(c))
    np.testing.assert_array_equal(zero.returns, pid_alone)


def test_residual_best_file_composes_into_a_pid_training_config(
    resumed: tuple[Path, dict[str, Any]],
) -> None:
    root, best = resumed
    path = Path(best["output"])
    assert path.name == "bof_ppo_on_pid_tuned.yaml"
    text = path.read_text()
    assert text.startswith("# @package _global_\n")
    prov = yaml.safe_load(text)["agent"]["tuned"]
    assert prov["study"] == STUDY and prov["trial"] == best["best_trial"]
    assert prov["base"]["name"] == "pid" and prov["base"]["estimator_features"] is True
    assert "pid alone" in prov["score_is"]

    def train_config(*extra: str) -> dict[str, Any]:
        with initialize(version_base="1.3", config_path="../conf"):
            cfg = compose(
                "train",
                overrides=[
                    "train.total_timesteps=2048",  # not experiment=debug: it sets base=none
                    "train.n_envs=2",
                    "hparams=bof_ppo_on_pid_tuned",  # no base= : the file selects it
                    f"hydra.searchpath=[pkg://envs.conf,file://{path.parent.parent}]",
                    f"paths.root={root}",
                    *extra,
                ],
                return_hydra_config=True,
            )
        HydraConfig.instance().set_config(cfg)
        c = resolve_config(cfg)
        validate_train_config(c)
        return c

    c = train_config()
    assert OmegaConf.create(c).base == {
        "name": "pid",
        "scale": pytest.approx(best["best_params"]["base.scale"]),
        "estimator_features": True,
        "campaign_features": False,
    }
    assert c["agent"]["algo"]["learning_rate"] == best["best_params"]["agent.algo.learning_rate"]
    assert c["agent"]["algo"]["gamma"] == 0.995, "unsearched keys come from bof_ppo"
    residual = residual_settings(c)
    env = build_train_env(c, residual, 0)
    assert env.observation_space.shape == (31,), "the PID's estimates are observed"
    model = build_agent(c["agent"], env, 0)
    assert model.policy.state_dict()["log_std"].numpy() == pytest.approx(
        best["best_params"]["agent.algo.policy_kwargs.log_std_init"]
    )
    env.close()
    # the values were tuned for a correction on the PID: another base is refused
    with pytest.raises(ConfigError, match="tuned for base 'pid': train with base=pid"):
        train_config("base=operator", "base.estimator_features=false")
    assert train_config("base=operator", "base.estimator_features=false", "~agent.tuned")


def test_default_study_and_file_names_keep_residual_searches_apart() -> None:
    c = {
        "env": {"name": "paint"},
        "agent": {"name": "sac"},
        "plant_name": "paint_line",
        "paths": {"root": "/repo"},
    }
    assert default_names(c, ResidualConfig()) == (
        "paint-sac-paint_line",
        Path("/repo/conf/hparams/paint_sac_tuned.yaml"),
    )
    assert default_names(c, ResidualConfig("operator")) == (
        "paint-sac-paint_line-on-operator",
        Path("/repo/conf/hparams/paint_sac_on_operator_tuned.yaml"),
    )


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            ("tune.space.params=[{name:base.scale,type:float,low:0.1,high:1}]",),
            "needs a residual base",
        ),
        (
            ("base=pid", "tune.space.params=[{name:base.name,type:categorical,choices:[pid]}]"),
            "the base itself is the study's choice",
        ),
        (
            ("base=pid", "tune.space.params=[{name:base.scale,type:float,low:0,high:1}]"),
            "needs low > 0",
        ),
        (("base=pid", "env.kwargs.action_mode=absolute"), "needs env.kwargs.action_mode='adjust'"),
        (("base=pid", "base.scale=-1"), "base: residual scale must be finite and > 0"),
        (("base=operator", "base.estimator_features=true"), "needs base=pid"),
    ],
)
def test_bad_residual_input_fails_clearly(
    tmp_path: Path, overrides: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        tune_job.tune(compose_tune(tmp_path, *overrides))
    assert not (tmp_path / "results" / "tune").exists(), "nothing is created before the check"


def test_the_residual_space_composes_and_passes_the_checks(tmp_path: Path) -> None:
    """conf/tune/space/ppo_residual.yaml: selected by its group, valid for base=pid only."""
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose(
            "tune",
            overrides=["base=pid", "tune/space=ppo_residual", f"paths.root={tmp_path}"],
            return_hydra_config=True,
        )
    HydraConfig.instance().set_config(cfg)
    c = resolve_config(cfg)
    tune_job.check_tune_config(c)
    names = [e["name"] for e in c["tune"]["space"]["params"]]
    assert names[0] == "base.scale" and "agent.algo.batch_size" in names
    c["base"] = {"name": "none", "scale": 1.0, "estimator_features": False}
    with pytest.raises(ConfigError, match="needs a residual base"):
        check_space(c["tune"]["space"]["params"], c)
