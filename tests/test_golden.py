"""Golden trajectory: the operator practice's closed loop on plantrl/BOF-v1, seed 0.

Any change to dynamics, sensors, reward or observation layout shows up here. Such a change must
come with an env version bump (BOF-v1 -> BOF-v1, docstring Version History) and a regenerated
file: ``PLANTRL_REGEN_GOLDEN=1 pytest tests/test_golden.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from agents.baselines.operator import OperatorPolicy
from envs.steel.bof_env import BOFEnv

GOLDEN = Path(__file__).with_name("data") / "bof_v1_operator_seed0.npz"


def operator_rollout(seed: int = 0) -> dict[str, np.ndarray]:
    env, policy = BOFEnv(), OperatorPolicy()
    obs, info = env.reset(seed=seed)
    observations, rewards, truth = [obs], [], [[info["true_c_pct"], info["true_temp_c"]]]
    done = False
    while not done:
        obs, reward, done, _, info = env.step(policy.act(obs))
        observations.append(obs)
        rewards.append(reward)
        truth.append([info["true_c_pct"], info["true_temp_c"]])
    return {"obs": np.array(observations), "reward": np.array(rewards), "truth": np.array(truth)}


def test_operator_trajectory_matches_golden_file():
    got = operator_rollout()
    if os.environ.get("PLANTRL_REGEN_GOLDEN") == "1":
        GOLDEN.parent.mkdir(exist_ok=True)
        np.savez_compressed(GOLDEN, **got)
    ref = np.load(GOLDEN)
    assert got["obs"].shape == ref["obs"].shape, "episode length changed"
    # tolerances only for compiler-level differences (fused multiply-add), not for physics
    np.testing.assert_allclose(got["obs"], ref["obs"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["reward"], ref["reward"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got["truth"], ref["truth"], rtol=1e-9, atol=1e-9)
