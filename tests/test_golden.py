"""Golden trajectories: each plant's own practice in closed loop, seed 0, against committed files.

- plantrl/BOF-v2: the operator practice over one heat;
- plantrl/PaintLine-v1: the recipe (zero adjust action) over a whole drift-scenario shift, so
  lots, climate, wear and the delayed DFT gauge are all exercised.

Any change to dynamics, sensors, reward or observation layout shows up here. Such a change must
come with an env version bump (docstring Version History) and a regenerated file:
``PLANTRL_REGEN_GOLDEN=1 pytest tests/test_golden.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

import envs
from agents.baselines.operator import OperatorPolicy
from envs.steel import BOFEnv

DATA = Path(__file__).with_name("data")
GOLDEN = DATA / "bof_v2_operator_seed0.npz"
PAINT_GOLDEN = DATA / "paint_v1_recipe_drift_seed0.npz"


def operator_rollout(seed: int = 0) -> dict[str, np.ndarray]:
    env, policy = BOFEnv(), OperatorPolicy()
    obs, info = env.reset(seed=seed)
    observations, rewards, truth = (
        [obs],
        [],
        [[info["truth"]["true_c_pct"], info["truth"]["true_temp_c"]]],
    )
    done = False
    while not done:
        obs, reward, done, _, info = env.step(policy.act(obs))
        observations.append(obs)
        rewards.append(reward)
        truth.append([info["truth"]["true_c_pct"], info["truth"]["true_temp_c"]])
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


def recipe_rollout(seed: int = 0) -> dict[str, np.ndarray]:
    """The paint line's recipe (zero adjust action) over one drift-scenario shift."""
    env = envs.make("paint", scenario="drift")
    obs, _ = env.reset(seed=seed)
    observations, rewards, costs = [obs], [], []
    done, action = False, np.zeros(env.action_space.shape, dtype=np.float32)
    while not done:
        obs, reward, terminated, truncated, info = env.step(action)
        done = terminated or truncated
        observations.append(obs)
        rewards.append(reward)
        costs.append(info["product_kpi"]["cost_eur"])
    return {"obs": np.array(observations), "reward": np.array(rewards), "cost": np.array(costs)}


def test_paint_recipe_trajectory_matches_golden_file():
    got = recipe_rollout()
    if os.environ.get("PLANTRL_REGEN_GOLDEN") == "1":
        PAINT_GOLDEN.parent.mkdir(exist_ok=True)
        np.savez_compressed(PAINT_GOLDEN, **got)
    ref = np.load(PAINT_GOLDEN)
    assert got["obs"].shape == ref["obs"].shape, "shift length changed"
    np.testing.assert_allclose(got["obs"], ref["obs"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got["reward"], ref["reward"], rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(got["cost"], ref["cost"], rtol=1e-9, atol=1e-9)
