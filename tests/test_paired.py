"""Paired-return training (agents/paired.py): chosen episode seeds, exact reference pairing."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs
from agents.evaluation import evaluate
from agents.loading import load_baseline
from agents.paired import PairedReturnVectorWrapper, ReferenceReturns, episode_seed
from agents.residual import ResidualConfig, ResidualVectorWrapper
from experiments.lib.config_checks import ConfigError, validate_train_config

PROCESSES = {"bof": "plantrl/BOF-v2", "paint": "plantrl/PaintLine-v1"}


def _native(env_id: str, n: int, **kwargs: object) -> gym.vector.VectorEnv:
    return gym.make_vec(
        env_id,
        num_envs=n,
        vectorization_mode="vector_entry_point",
        autoreset_mode="same_step",
        **kwargs,
    )


def _run(venv: gym.vector.VectorEnv, steps: int, seed: int) -> tuple[list[float], np.ndarray]:
    """Zero actions for ``steps``: the finished episodes' returns and every step's rewards."""
    venv.reset(seed=seed)
    n_act = venv.single_action_space.shape[0]
    total, returns, rewards = np.zeros(venv.num_envs), [], []
    for _ in range(steps):
        _, reward, terminated, truncated, _ = venv.step(np.zeros((venv.num_envs, n_act)))
        rewards.append(reward)
        total += reward
        for i in np.flatnonzero(terminated | truncated):
            returns.append(float(total[i]))
            total[i] = 0.0
    return returns, np.asarray(rewards)


@pytest.mark.parametrize("process", ["bof", "paint"])
def test_the_reference_itself_earns_exactly_zero(process: str) -> None:
    """The PID acting on the paired env meets its own reference: every unit pays back exactly
    what it earned (same seeds → same episodes, units aligned), also after autoresets."""
    env_id = PROCESSES[process]
    steps = 260 if process == "bof" else 120
    kwargs = {} if process == "bof" else {"scenario": "nominal", "shift_bodies": 40}
    paired = PairedReturnVectorWrapper(_native(env_id, 3, **kwargs), "pid", episodes_ahead=2)
    pid = ResidualVectorWrapper(paired, ResidualConfig("pid", 1.0, False))
    returns, rewards = _run(pid, steps, seed=5)
    assert len(returns) >= 3  # episodes ended and restarted from the wrapper's seeds
    assert np.allclose(returns, 0.0, atol=1e-9)
    assert not np.allclose(rewards, 0.0)  # running costs are paid per step, units net at ends


def test_reference_returns_equal_a_single_env_evaluation() -> None:
    seed = episode_seed(3, 1, 4)
    single = evaluate(
        load_baseline("pid", "bof", 8), lambda: envs.make("plantrl/BOF-v2"), [seed]
    ).returns
    units = ReferenceReturns("plantrl/BOF-v2", {}, "pid", batch=2).compute([seed])[seed]
    assert units.shape == (1,)  # a nominal heat is one unit
    assert units[0] == pytest.approx(single[0], abs=1e-12)


def test_same_run_seed_same_numbers_other_seed_other_episodes() -> None:
    def rewards(seed: int) -> np.ndarray:
        paired = PairedReturnVectorWrapper(_native("plantrl/BOF-v2", 2), "operator", 1)
        return _run(paired, 120, seed)[1]

    first, again, other = rewards(0), rewards(0), rewards(1)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)


def test_episode_seeds_are_distinct_and_above_every_evaluation_seed() -> None:
    seeds = {episode_seed(s, i, k) for s in range(3) for i in range(8) for k in range(50)}
    assert len(seeds) == 3 * 8 * 50
    assert min(seeds) >= 1 << 63


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="reference must be one of"):
        ReferenceReturns("plantrl/BOF-v2", {}, "mpc", batch=2)
    with pytest.raises(ValueError, match="episodes_ahead"):
        PairedReturnVectorWrapper(_native("plantrl/BOF-v2", 2), "pid", episodes_ahead=0)
    with pytest.raises(TypeError, match="native vector env"):
        sync = gym.make_vec(
            "plantrl/BOF-v2",
            num_envs=2,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP},
        )
        PairedReturnVectorWrapper(sync, "pid")
    cfg = {"train": {"total_timesteps": 100, "n_envs": 2, "paired_reference": "oracle"}}
    with pytest.raises(ConfigError, match=r"train\.paired_reference"):
        validate_train_config(cfg)
