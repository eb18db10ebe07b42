"""Per-actuator initial exploration (agent.log_std_per_action, agents/builder.py)."""

from __future__ import annotations

import numpy as np
import pytest

from agents.builder import action_names, build_agent
from agents.vecenv import make_sb3_vec_env

PPO = {
    "algo": {
        "_target_": "stable_baselines3.PPO",
        "policy": "MlpPolicy",
        "n_steps": 8,
        "batch_size": 8,
        "policy_kwargs": {"log_std_init": -1.0},
        "device": "cpu",
    }
}


def test_named_actuators_get_their_sigma_the_others_keep_log_std_init() -> None:
    names = action_names("bof")
    assert names == ["oxygen_flow", "lance_height", "ore_feed", "lime_feed", "end_oxygen"]
    cfg = {**PPO, "log_std_per_action": {"lime_feed": -2.5, "end_oxygen": -2.0}}
    model = build_agent(cfg, make_sb3_vec_env("bof", n_envs=2, seed=0), 0, names)
    log_std = model.policy.log_std.detach().numpy()
    assert np.allclose(log_std, [-1.0, -1.0, -1.0, -2.5, -2.0])
    assert len(action_names("paint")) == make_sb3_vec_env("paint", 1).action_space.shape[0]


def test_unknown_actuator_and_policies_without_a_log_std_are_refused() -> None:
    venv = make_sb3_vec_env("bof", n_envs=2, seed=0)
    with pytest.raises(ValueError, match=r"unknown actuator\(s\) \['lime'\]; valid: \["):
        build_agent({**PPO, "log_std_per_action": {"lime": -2.0}}, venv, 0, action_names("bof"))
    sac = {
        "algo": {"_target_": "stable_baselines3.SAC", "policy": "MlpPolicy", "device": "cpu"},
        "log_std_per_action": {"lime_feed": -2.0},
    }
    with pytest.raises(ValueError, match="needs a Gaussian policy"):
        build_agent(sac, venv, 0, action_names("bof"))
