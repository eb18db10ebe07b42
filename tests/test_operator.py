"""The operator's standard practice (zero adjustment) as a policy."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import envs
from agents.baselines.operator import OperatorPolicy
from agents.policy import Policy, RandomPolicy
from envs.steel import layout

N_ACT = len(layout.ACTUATORS)


def rollout(action_fn, seed: int, max_steps: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Rewards and observations of one seeded episode on plantrl/BOF-v2 (adjust mode)."""
    env = gym.make("plantrl/BOF-v2")
    obs, _ = env.reset(seed=seed)
    all_obs, rewards = [obs], []
    for _ in range(max_steps):
        obs, reward, terminated, truncated, _ = env.step(action_fn(obs))
        all_obs.append(obs)
        rewards.append(reward)
        if terminated or truncated:
            return np.array(all_obs), np.array(rewards)
    raise AssertionError(f"episode did not end in {max_steps} steps")


def test_operator_is_the_zero_action():
    policy = OperatorPolicy()
    assert isinstance(policy, Policy)
    obs = np.random.default_rng(0).uniform(0, 100, (7, 26)).astype(np.float32)
    actions = policy.act(obs)
    assert actions.shape == (7, N_ACT) and actions.dtype == np.float32
    assert not actions.any()
    single = policy.act(obs[0])
    assert single.shape == (N_ACT,) and not single.any()


def test_operator_refuses_absolute_mode():
    with pytest.raises(ValueError, match="adjust"):
        OperatorPolicy(action_mode="absolute")
    with pytest.raises(ValueError, match="shape"):
        OperatorPolicy().act(np.zeros((2, 3, 26)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_operator_rollout_equals_zero_action_rollout(seed):
    policy = OperatorPolicy()
    obs_op, rew_op = rollout(lambda o: policy.act(o[None])[0], seed)
    obs_zero, rew_zero = rollout(lambda o: np.zeros(N_ACT, dtype=np.float32), seed)
    np.testing.assert_array_equal(rew_op, rew_zero)
    np.testing.assert_array_equal(obs_op, obs_zero)


def test_operator_on_vector_env_equals_zero_action():
    n = 4
    policy = OperatorPolicy()
    results = []
    for act in (policy.act, lambda o: np.zeros((len(o), N_ACT), dtype=np.float32)):
        venv = envs.make_vec("bof", num_envs=n, autoreset_mode="same_step")
        obs, _ = venv.reset(seed=9)
        rewards = []
        for _ in range(150):
            obs, reward, *_ = venv.step(act(obs))
            rewards.append(reward)
        results.append(np.array(rewards))
    np.testing.assert_array_equal(results[0], results[1])


def test_operator_beats_random_adjustments():
    """Sanity of the baseline: practice is far better than random adjustments around it."""
    policy, rand = OperatorPolicy(), RandomPolicy(N_ACT, seed=0)
    seeds = range(4)
    op = np.mean([rollout(lambda o: policy.act(o[None])[0], s)[1].sum() for s in seeds])
    rn = np.mean([rollout(lambda o: rand.act(o[None])[0], s)[1].sum() for s in seeds])
    assert op > rn
