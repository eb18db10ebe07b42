"""plantrl environments: simulated plants as Gymnasium environments.

Importing this package registers every environment id in the ``plantrl/`` namespace, so any tool
that speaks Gymnasium can use the plants without the rest of plantrl (no torch, SB3, Hydra or
MLflow is imported here):

>>> import gymnasium as gym, envs
>>> env = gym.make("plantrl/BOF-v1", plant="bof_250t")
>>> venv = gym.make_vec("plantrl/BOF-v1", num_envs=8, vectorization_mode="vector_entry_point")
>>> paint = gym.make("plantrl/PaintLine-v0", plant="paint_50jph", scenario="drift")
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

__all__ = ["ENV_IDS", "make", "make_vec"]

ENV_IDS = {
    "bof": "plantrl/BOF-v1",
    "paint": "plantrl/PaintLine-v0",
}

if "plantrl/BOF-v1" not in gym.registry:
    gym.register(
        id="plantrl/BOF-v1",
        entry_point="envs.steel.env:BOFEnv",
        vector_entry_point="envs.steel.env:BOFVectorEnv",
        # every blow ends by itself (forced end at 35 min), so no TimeLimit wrapper is needed
        max_episode_steps=None,
    )
if "plantrl/PaintLine-v0" not in gym.registry:
    gym.register(
        id="plantrl/PaintLine-v0",
        entry_point="envs.paint.env:PaintEnv",
        vector_entry_point="envs.paint.env:PaintVectorEnv",
        # the env truncates at the end of its shift itself (shift_bodies), so no TimeLimit
        max_episode_steps=None,
    )


def make(env: str, plant: Any = None, **kwargs: Any) -> gym.Env:
    """Build a registered env by process name (``"bof"``) or id, with a plant variant."""
    env_id = ENV_IDS.get(env, env)
    if env_id not in gym.registry:
        raise ValueError(
            f"unknown env {env!r}; valid: {sorted(ENV_IDS)} or ids {sorted(ENV_IDS.values())}"
        )
    return gym.make(env_id, plant=plant, **kwargs)


def make_vec(env: str, num_envs: int, plant: Any = None, **kwargs: Any) -> gym.vector.VectorEnv:
    """The native vector env of a process: ``num_envs`` plants stepped in one compiled call."""
    env_id = ENV_IDS.get(env, env)
    if env_id not in gym.registry:
        raise ValueError(
            f"unknown env {env!r}; valid: {sorted(ENV_IDS)} or ids {sorted(ENV_IDS.values())}"
        )
    return gym.make_vec(
        env_id, num_envs=num_envs, vectorization_mode="vector_entry_point", plant=plant, **kwargs
    )
