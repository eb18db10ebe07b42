"""Residual control (agents/residual.py): a zero correction is the base controller exactly, on a
single env and across the autoresets of the native vector env; the wrapper is a valid,
deterministic Gymnasium env; a trained residual policy evaluates as the combined policy."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml
from gymnasium.utils.env_checker import check_env
from mlflow.tracking import MlflowClient

import envs
from agents.evaluation import evaluate
from agents.loading import load_baseline, load_saved_policy
from agents.residual import (
    FEATURES,
    ResidualConfig,
    ResidualController,
    ResidualPolicy,
    ResidualVectorWrapper,
    ResidualWrapper,
    residual_config,
)
from experiments import train as train_job
from experiments.lib.config_checks import ConfigError
from experiments.lib.evaluation_job import evaluate_policy

CASES = [
    ("bof", ResidualConfig("operator", 1.0)),
    ("bof", ResidualConfig("pid", 0.5)),
    ("bof", ResidualConfig("pid", 0.5, estimator_features=True)),
    ("paint", ResidualConfig("operator", 1.0)),
    ("paint", ResidualConfig("pid", 0.5)),
    ("paint", ResidualConfig("pid", 0.5, estimator_features=True)),
]
IDS = [f"{p}-{c.base}{'-features' if c.estimator_features else ''}" for p, c in CASES]


def base_alone(process: str, base: str, env: gym.Env) -> object:
    """The base controller as evaluation builds it for ``env``'s plant (one plant)."""
    n_act = int(env.action_space.shape[0])  # type: ignore[index]
    policy = load_baseline(base, process, n_act, env.unwrapped.variant)  # type: ignore[attr-defined]
    if hasattr(policy, "reset"):
        policy.reset(1)
    return policy


# ------------------------------------------------------------------ zero correction = base
@pytest.mark.parametrize(("process", "config"), CASES, ids=IDS)
def test_zero_correction_is_the_base_controller_exactly(
    process: str, config: ResidualConfig
) -> None:
    wrapped = ResidualWrapper(envs.make(process), config)
    raw = envs.make(process)
    base = base_alone(process, config.base, raw)
    obs, _ = wrapped.reset(seed=7)
    o, _ = raw.reset(seed=7)
    n_obs = o.shape[0]
    n_features = len(FEATURES[process]) if config.estimator_features else 0
    assert wrapped.observation_space.shape == (n_obs + n_features,)
    zero = np.zeros(raw.action_space.shape[0], np.float32)  # type: ignore[index]
    done, steps = False, 0
    while not done:
        a = base.act(o[None])[0]  # type: ignore[attr-defined]
        obs, r, term, trunc, info = wrapped.step(zero)
        o, r_raw, term_raw, trunc_raw, _ = raw.step(a)
        np.testing.assert_array_equal(info["base_action"], a)
        np.testing.assert_array_equal(obs[:n_obs], o)
        assert r == r_raw and (term, trunc) == (term_raw, trunc_raw)
        done, steps = term or trunc, steps + 1
    assert steps > 50  # a whole heat / shift was compared


@pytest.mark.parametrize("process", ["bof", "paint"])
def test_vector_wrapper_resets_each_plants_base_at_its_autoreset(process: str) -> None:
    """Three plants through at least one autoreset each: the batched base equals one fresh
    controller per plant, rebuilt whenever that plant's episode ends."""
    config = ResidualConfig("pid", 0.5, estimator_features=True)
    n = 3
    venv = ResidualVectorWrapper(
        gym.make_vec(
            envs.process(process).env_id,
            num_envs=n,
            vectorization_mode="vector_entry_point",
            autoreset_mode="same_step",
        ),
        config,
    )
    raw = gym.make_vec(
        envs.process(process).env_id,
        num_envs=n,
        vectorization_mode="vector_entry_point",
        autoreset_mode="same_step",
    )
    n_act = int(raw.single_action_space.shape[0])  # type: ignore[index]
    plant = raw.unwrapped.variant  # type: ignore[attr-defined]

    def fresh() -> ResidualController:
        c = ResidualController(config, process, n_act, plant)
        c.reset(1)
        return c

    per_plant = [fresh() for _ in range(n)]
    obs, _ = venv.reset(seed=11)
    o, _ = raw.reset(seed=11)
    n_obs = o.shape[1]
    ended = np.zeros(n, dtype=int)
    zero = np.zeros((n, n_act), np.float32)
    while ended.min() < 2:
        a = np.concatenate([c.act(o[i : i + 1]) for i, c in enumerate(per_plant)])
        features = np.concatenate([c.augment(o[i : i + 1]) for i, c in enumerate(per_plant)])
        np.testing.assert_array_equal(obs, features)
        obs, r, term, trunc, info = venv.step(zero)
        o, r_raw, _, _, info_raw = raw.step(a.astype(np.float32))
        np.testing.assert_array_equal(obs[:, :n_obs], o)
        np.testing.assert_array_equal(r, r_raw)
        done = term | trunc
        for i in np.flatnonzero(done):  # the ended episode's last observation, with estimates
            final = info_raw["final_obs"][i]
            per_plant[i].act(final[None])
            expected = per_plant[i].augment(final[None])[0]
            np.testing.assert_array_equal(info["final_obs"][i], expected)
            per_plant[i] = fresh()
        ended += done


# ------------------------------------------------------------------ a valid Gymnasium env
@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
@pytest.mark.parametrize(("process", "config"), CASES, ids=IDS)
def test_wrapper_passes_check_env(process: str, config: ResidualConfig) -> None:
    check_env(ResidualWrapper(envs.make(process), config), skip_render_check=True)


@pytest.mark.parametrize("process", ["bof", "paint"])
def test_wrapper_is_deterministic(process: str) -> None:
    """Same seed and corrections: the same observations and rewards; another seed differs."""
    config = ResidualConfig("pid", 0.3, estimator_features=True)

    def roll(seed: int) -> tuple[np.ndarray, np.ndarray]:
        env = ResidualWrapper(envs.make(process), config)
        rng = np.random.default_rng(0)
        obs, _ = env.reset(seed=seed)
        trace, rewards = [obs], []
        for _ in range(60):
            obs, r, term, trunc, _ = env.step(rng.uniform(-1, 1, env.action_space.shape))
            trace.append(obs)
            rewards.append(r)
            if term or trunc:
                obs, _ = env.reset()
        return np.array(trace), np.array(rewards)

    a, b, c = roll(5), roll(5), roll(6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


def test_features_are_declared_and_inside_their_box() -> None:
    env = ResidualWrapper(envs.make("bof"), ResidualConfig("pid", 0.5, True))
    n_obs = envs.make("bof").observation_space.shape[0]  # type: ignore[index]
    obs, _ = env.reset(seed=3)
    seen_known = False
    for _ in range(200):
        assert env.observation_space.contains(obs)
        est = FEATURES["bof"].dict_of(obs[n_obs:])
        seen_known |= est["est_temp_known"] == 1.0
        obs, _, term, trunc, _ = env.step(np.zeros(5, np.float32))
        if term or trunc:
            break
    assert seen_known  # the sub-lance temperature reached the features


def test_action_is_base_plus_scaled_correction_clipped() -> None:
    env = ResidualWrapper(envs.make("bof"), ResidualConfig("pid", 0.25))
    env.reset(seed=1)
    base: Any = env.unwrapped  # the env's own action record is what the batch receives
    correction = np.array([1.0, -1.0, 0.5, 0.0, 1.0], np.float32)
    expected = env.controller.combine(env._base_action, correction[None])[0]
    np.testing.assert_allclose(
        expected, np.clip(env._base_action[0] + 0.25 * correction, -1.0, 1.0), rtol=1e-6
    )
    env.step(correction)
    np.testing.assert_array_equal(base.batch._actions[0].astype(np.float32), expected)


# ------------------------------------------------------------------ bad input
@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"name": "mpc"}, r"unknown residual base 'mpc'; valid: \['none', 'operator', 'pid'\]"),
        ({"name": "pid", "scale": 0.0}, "scale must be finite and > 0"),
        ({"name": "operator", "estimator_features": True}, "needs base=pid"),
        ({"name": "pid", "gain": 1.0}, r"unknown key\(s\) \['gain'\]"),
        ({"name": "none", "campaign_features": False}, "needs a base"),
        ({"name": "pid", "campaign_features": "maybe"}, "expected true or false"),
    ],
)
def test_bad_residual_config_is_refused(node: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        residual_config(node)


# ------------------------------------------------------------------ heat-local correction
def test_heat_local_is_the_same_policy_on_single_heats() -> None:
    """On one-heat episodes every campaign input the correction acts on is 0 already: hiding
    them changes no bit of what it sees (why a correction trained on single heats may be run
    heat-local). Only the terminal observation holds the heat's own tap; the heat ends by
    termination, so no action, normalisation statistic or value bootstrap uses it."""
    seen = {}
    for local in (False, True):
        config = ResidualConfig("pid", 0.5, True, campaign_features=not local)
        env = ResidualWrapper(envs.make("bof", scenario="nominal"), config)
        obs, _ = env.reset(seed=7)
        rows, term, trunc, rng = [obs], False, False, np.random.default_rng(0)
        while not (term or trunc):
            obs, _, term, trunc, _ = env.step(rng.uniform(-1, 1, env.action_space.shape))
            rows.append(obs)
        assert term and not trunc
        seen[local] = np.array(rows[:-1])  # what the correction acted on
    assert np.array_equal(seen[False], seen[True])


def test_heat_local_hides_the_campaign_inputs_in_a_campaign() -> None:
    """In a campaign the last tap, the heat count and the campaign loop's aim shifts reach a
    heat-local correction as 0; the base still acts on them (same env actions as before)."""
    from envs.steel.layout import OBSERVATION

    hidden = ["last_tap_valid", "last_tap_c_dev", "last_tap_temp_dev", "last_tap_p_dev"]
    hidden.append("heat_in_campaign")
    cols = [getattr(OBSERVATION.at, n) for n in hidden]
    n_obs = len(OBSERVATION)
    runs = {}
    for local in (False, True):
        config = ResidualConfig("pid", 0.5, True, campaign_features=not local)
        env = ResidualWrapper(envs.make("bof", campaign_heats=3), config)
        obs, _ = env.reset(seed=3)
        rows, done = [obs], False
        while not done:
            obs, _, term, trunc, _ = env.step(np.zeros(env.action_space.shape))
            rows.append(obs)
            done = term or trunc
        runs[local] = np.array(rows)
    full, local = runs[False], runs[True]
    assert full[:, cols].any() and not local[:, cols].any()
    shifts = [n_obs + FEATURES["bof"].at.aim_shift_c, n_obs + FEATURES["bof"].at.aim_shift_temp]
    assert full[:, shifts].any() and not local[:, shifts].any()
    others = [k for k in range(full.shape[1]) if k not in cols + shifts]
    assert np.array_equal(full[:, others], local[:, others])  # the plant ran the same way


def test_heat_local_hides_nothing_where_there_is_no_campaign() -> None:
    """A paint shift is one episode: no input carries a campaign, the option is a no-op."""
    for shown in (True, False):
        config = ResidualConfig("pid", 0.5, True, campaign_features=shown)
        controller = ResidualController(config, "paint", 11, None, {"action_mode": "adjust"})
        assert not controller.heat_local
    bof = ResidualController(ResidualConfig("pid", 0.5, True, False), "bof", 5, None, {})
    assert bof.heat_local


def test_absolute_action_mode_is_refused() -> None:
    with pytest.raises(ValueError, match="action_mode='adjust'"):
        ResidualWrapper(envs.make("bof", action_mode="absolute"), ResidualConfig("pid", 0.5))


# ------------------------------------------------------------------ combined policy
class LinearPolicy:
    """A fixed deterministic 'learned' correction on the observation with estimates."""

    def __init__(self, n_in: int, n_act: int) -> None:
        self.w = np.random.default_rng(0).normal(0.0, 1e-3, (n_in, n_act))

    def act(self, obs: np.ndarray) -> np.ndarray:
        z = np.nan_to_num(np.asarray(obs, dtype=np.float64))
        return np.tanh(z @ self.w).astype(np.float32)


@pytest.mark.parametrize("process", ["bof", "paint"])
def test_residual_policy_on_the_raw_env_equals_the_policy_on_the_wrapper(process: str) -> None:
    config = ResidualConfig("pid", 0.5, estimator_features=True)
    wrapped = ResidualWrapper(envs.make(process), config)
    n_in, n_act = wrapped.observation_space.shape[0], wrapped.action_space.shape[0]  # type: ignore[index]
    learned = LinearPolicy(n_in, n_act)
    plant = wrapped.unwrapped.variant  # type: ignore[attr-defined]
    seeds = [3, 4]
    on_wrapper = evaluate(learned, lambda: ResidualWrapper(envs.make(process), config), seeds)
    combined = ResidualPolicy(learned, ResidualController(config, process, n_act, plant))
    on_raw = evaluate(combined, lambda: envs.make(process), seeds)
    np.testing.assert_array_equal(on_wrapper.returns, on_raw.returns)


# ------------------------------------------------------------------ train job → evaluate
TINY_PID = (
    "experiment=debug",
    "train.total_timesteps=256",
    "train.n_envs=2",
    "train.checkpoint_every_steps=256",
    "eval.every_steps=256",
    "eval.n_episodes=2",
    "eval.final_episodes=2",
    "agent.algo.n_steps=64",
    "agent.algo.batch_size=64",
    "agent.algo.n_epochs=1",
    "base=pid",
    "base.scale=0.3",
    "base.estimator_features=true",
)


@pytest.mark.usefixtures("isolated_mlflow")
def test_trained_residual_policy_evaluates_as_the_combined_policy(
    tmp_path: Path, compose_train: Any
) -> None:
    summary = train_job.train(compose_train(tmp_path, *TINY_PID))
    assert np.isfinite(summary["return_mean"])
    uri = f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}"
    client = MlflowClient(tracking_uri=uri)
    (exp,) = [e for e in client.search_experiments() if e.name == "debug"]
    (run,) = client.search_runs([exp.experiment_id])
    params = run.data.params
    assert (params["base.name"], params["base.scale"], params["base.estimator_features"]) == (
        "pid",
        "0.3",
        "True",
    )
    assert run.data.tags["residual_base"] == "pid"
    # the references (the PID row is the zero correction: the base exactly) are logged beside
    assert {
        "kpi/pid/return_mean",
        "kpi/operator/return_mean",
        "kpi/mpc_est/return_mean",
    } <= set(run.data.metrics)
    run_dir = tmp_path / "results" / "checkpoints" / run.info.run_id
    c = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert c["base"] == {
        "name": "pid",
        "scale": 0.3,
        "estimator_features": True,
        "campaign_features": False,  # the default: heat-local
    }

    job = {**c, "policy": f"runs:/{run.info.run_id}", "scenario_sets": ["nominal"], "episodes": 2}
    job["base"] = None  # as evaluate.yaml composes it: the run's record decides
    job["tracking"] = {**c["tracking"], "experiment": "bof-evaluation"}
    result = evaluate_policy(job, c["plant_name"])["nominal"]

    # the same episodes, the inner policy acting on the training wrapper
    from experiments.lib.scenario_sets import load_scenario_set

    seeds = load_scenario_set("bof", "nominal").with_episodes(2).seeds
    inner = load_saved_policy(run_dir / "final")
    config = ResidualConfig("pid", 0.3, True, campaign_features=False)
    direct = evaluate(
        inner, lambda: ResidualWrapper(envs.make("bof", scenario="nominal"), config), seeds
    )
    assert result["return_mean"] == pytest.approx(float(direct.returns.mean()), rel=1e-12)
    (ev,) = [e for e in client.search_experiments() if e.name == "bof-evaluation"]
    (eval_run,) = client.search_runs([ev.experiment_id])
    assert eval_run.data.tags["residual_base"] == "pid"
    # pooled in reports as its own family, never with plain PPO runs
    assert eval_run.data.tags["policy_family"] == "ppo-on-pid-heatlocal"

    # a saved policy folder is rebuilt the same way; a contradicting base= is refused
    folder = tmp_path / "policy"
    shutil.copytree(run_dir / "final", folder)
    again = evaluate_policy({**job, "policy": str(folder)}, c["plant_name"])["nominal"]
    assert again["return_mean"] == result["return_mean"]
    with pytest.raises(ConfigError, match="contradicts what"):
        evaluate_policy({**job, "base": {"name": "operator"}}, c["plant_name"])

    # trained heat-local, it never learned from the campaign inputs: showing them is refused
    shown = {**c["base"], "campaign_features": True}
    with pytest.raises(ConfigError, match="contradicts what"):
        evaluate_policy({**job, "base": shown}, c["plant_name"])


@pytest.mark.parametrize(
    ("params", "single"),
    [
        ({"env.name": "bof", "env.kwargs.scenario": "nominal"}, True),
        (
            {
                "env.name": "bof",
                "env.kwargs.scenario": "nominal",
                "env.kwargs.campaign_heats": "20",
            },
            False,
        ),
        ({"env.name": "bof", "env.kwargs.scenario": "mixture"}, False),  # its profile: campaigns
    ],
)
def test_heat_local_evaluation_only_for_single_heat_training(
    params: dict[str, str], single: bool, tmp_path: Path, isolated_mlflow: None
) -> None:
    """base.campaign_features=false at evaluation is the trained policy only if the training
    never showed it a campaign; a campaign-trained run is refused with the way out."""
    import mlflow

    from experiments.lib.evaluation_job import residual_for, trained_on_single_units

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    base = {"base.name": "pid", "base.scale": "0.5", "base.estimator_features": "True"}
    with mlflow.start_run() as run:
        mlflow.log_params({**base, **params})
    spec = f"runs:/{run.info.run_id}"
    assert trained_on_single_units(spec) is single
    local = {"name": "pid", "scale": 0.5, "estimator_features": True, "campaign_features": False}
    if single:
        assert residual_for(spec, local) == ResidualConfig("pid", 0.5, True, False)
    else:
        with pytest.raises(ConfigError, match="trained on campaigns"):
            residual_for(spec, local)
