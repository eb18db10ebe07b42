"""The time-to-competence part of ``experiments.benchmarks.training``: built from the composed
train config with the train job's own functions, paired against the PID, judged honestly.

Fast (no training); the end-to-end ``--quick`` run is in ``test_benchmarks.py`` (slow).
"""

from __future__ import annotations

import numpy as np
import pytest

from agents.evaluation import EpisodeResults
from agents.residual import FEATURES
from experiments.benchmarks import training
from experiments.lib.config_checks import ConfigError


def results(seeds: list[int], returns: list[float]) -> EpisodeResults:
    n = len(seeds)
    return EpisodeResults(seeds, np.asarray(returns), np.ones(n, dtype=np.int64), [])


def row(steps: int, train_s: float, above: bool, clearly: bool) -> dict:
    return {"steps": steps, "train_s": train_s, "pid": {"above": above, "clearly": clearly}}


@pytest.mark.parametrize(
    ("overrides", "base"),
    [(["base=none"], "none"), (["base=pid", "base.estimator_features=false"], "pid")],
)
def test_training_env_without_estimator_features_observes_the_plain_plant(overrides, base):
    c = training.compose_train_config(overrides)
    setup = training.competence_setup(c)
    raw = setup.make_raw_env().observation_space.shape[0]
    assert setup.train_env.observation_space.shape == (raw,)
    assert setup.residual.base == base
    setup.train_env.close()


def test_training_env_follows_the_composed_base_with_estimator_features():
    """base=pid base.estimator_features=true: the train job's wiring appends the PID's
    estimates to what the agent and its evaluation env observe; the PID acts on the raw env."""
    c = training.compose_train_config(["base=pid", "base.estimator_features=true"])
    setup = training.competence_setup(c)
    raw = setup.make_raw_env().observation_space.shape[0]
    with_features = (raw + len(FEATURES["bof"].names),)
    assert setup.train_env.observation_space.shape == with_features
    assert setup.model.observation_space.shape == with_features
    assert setup.make_eval_env().observation_space.shape == with_features
    assert setup.residual.estimator_features and setup.residual.scale == c["base"]["scale"]
    setup.train_env.close()


def test_composed_config_takes_overrides_like_the_train_job():
    c = training.compose_train_config(["train.n_envs=8", "train.paired_reference=pid", "seed=3"])
    assert (c["train"]["n_envs"], c["train"]["paired_reference"], c["seed"]) == (8, "pid", 3)
    assert c["plant_name"] == "bof_250t"


@pytest.mark.parametrize(
    ("override", "message"),
    [("resume=abc", "trains from scratch"), ("train.paired_reference=mpc", "paired_reference")],
)
def test_composed_config_rejects_bad_overrides_with_a_clear_error(override, message):
    with pytest.raises(ConfigError, match=message):
        training.compose_train_config([override])


def test_paired_difference_and_two_standard_errors():
    seeds = [1, 2, 3, 4]
    pid = results(seeds, [0.0, 1.0, 2.0, 3.0])
    refs = {"pid": pid, "operator": results(seeds, [-1.0, 0.0, 1.0, 2.0])}
    small = training.curve_row(results(seeds, [0.1, 1.0, 2.2, 2.9]), refs)
    assert small["pid"]["delta"] == pytest.approx(0.05)
    se = np.std([0.1, 0.0, 0.2, -0.1], ddof=1) / 2.0
    assert small["pid"]["se"] == pytest.approx(se)
    assert small["pid"]["above"] and not small["pid"]["clearly"]
    assert small["operator"]["clearly"]  # +1.05 on every episode
    with pytest.raises(ValueError, match="same episode seeds"):
        training.paired(results([9, 2, 3, 4], [0.0] * 4), pid)


def test_first_row_skips_the_untrained_policy():
    rows = [row(0, 0.0, True, True), row(4096, 5.0, True, False), row(8192, 9.0, True, True)]
    assert training.first_row(rows, "pid", "above") is rows[1]
    assert training.first_row(rows, "pid", "clearly") is rows[2]
    assert training.first_row(rows[:2], "pid", "clearly") is None


def test_competence_status_is_pass_fail_or_not_within_the_cap():
    assert training.competence_status(row(8192, 599.0, True, True), 700.0) == "PASS"
    assert training.competence_status(row(8192, 601.0, True, True), 700.0) == "FAIL"
    assert training.competence_status(None, 650.0) == "FAIL"  # trained past 10 min, never above
    assert training.competence_status(None, 40.0) == "not within the cap"


def test_evaluation_interval_is_rounded_up_to_whole_rollouts():
    c = training.compose_train_config(["train.n_envs=8", "agent.algo.n_steps=256"])  # 2048
    args = training.parse_args(["--ttc-every", "3000", "--ttc-steps", "5000"])
    assert training.competence_budget(args, c) == (4096, 5000)
    quick = training.parse_args(["--quick"])
    assert training.competence_budget(quick, c) == (2048, 4096)
    assert (quick.ttc_episodes, quick.ttc_minutes) == (8, 1.0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--ttc-episodes", "1"], "needs at least 2"),
        (["--ttc-minutes", "0"], "--ttc-minutes = 0.0: must be > 0"),
        (["--ttc-every", "-5"], "--ttc-every = -5: must be > 0"),
    ],
)
def test_bad_caps_fail_with_a_clear_message(argv, message, capsys):
    with pytest.raises(SystemExit):
        training.parse_args(argv)
    assert message in capsys.readouterr().err


def test_summary_rows_state_the_target_and_a_first_time_beyond_the_job_budget():
    clearly = {**row(1_200_000, 300.0, True, True), "wall_s": 360.0}
    tc = {
        "config": {"train": {"total_timesteps": 1_000_000}},
        "n_episodes": 64,
        "rows": [row(0, 0.0, False, False), clearly],
        "first": {"pid_above": clearly, "pid_clearly": clearly, "operator_clearly": None},
    }
    above, target, operator = training.competence_summary(tc)
    assert "(64 nominal seeds, paired)" in above and "beyond the job's 1,000,000" in above
    assert target.endswith("| beats the PID (paired, > 2 s.e.) within 10 min | PASS |")
    assert "not within the cap (1,200,000 steps, 300 s training, 360 s wall)" in operator
