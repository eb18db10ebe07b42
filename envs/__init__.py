"""plantrl environments: simulated plants as Gymnasium environments.

Importing this package registers every process (:func:`register_process`, the recipe in
``docs/adding_a_process.md``) and its environment id in the ``plantrl/`` namespace, so any tool
that speaks Gymnasium can use the plants without the rest of plantrl (no torch, SB3, Hydra or
MLflow is imported here):

>>> import gymnasium as gym, envs
>>> env = gym.make("plantrl/BOF-v2", plant="bof_250t")
>>> venv = gym.make_vec("plantrl/BOF-v2", num_envs=8, vectorization_mode="vector_entry_point")
>>> paint = gym.make("plantrl/PaintLine-v1", plant="paint_50jph", scenario="drift")
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym

from envs.core.compile_cache import configure_compile_cache
from envs.core.registry import ENV_IDS, ProcessSpec, process, processes, register_process

# before any process module decorates a kernel (the imports above compile nothing): see the module
COMPILE_CACHE = configure_compile_cache()

__all__ = [
    "ENV_IDS",
    "ProcessSpec",
    "make",
    "make_vec",
    "process",
    "processes",
    "register_process",
]

register_process(
    ProcessSpec(
        name="bof",
        env_id="plantrl/BOF-v2",
        entry_point="envs.steel.env:BOFEnv",
        vector_entry_point="envs.steel.env:BOFVectorEnv",
        layout="envs.steel.layout",
        params="envs.steel.params:BOFParams",
    )
)
register_process(
    ProcessSpec(
        name="paint",
        env_id="plantrl/PaintLine-v1",
        entry_point="envs.paint.env:PaintEnv",
        vector_entry_point="envs.paint.env:PaintVectorEnv",
        layout="envs.paint.layout",
        params="envs.paint.params:PaintLineParams",
        test_kwargs={"shift_bodies": 60},
    )
)


def make(env: str, plant: Any = None, **kwargs: Any) -> gym.Env:
    """Build a registered env by process name (``"bof"``) or id, with a plant variant."""
    return gym.make(process(env).env_id, plant=plant, **kwargs)


def make_vec(env: str, num_envs: int, plant: Any = None, **kwargs: Any) -> gym.vector.VectorEnv:
    """The native vector env of a process: ``num_envs`` plants stepped in one compiled call."""
    return gym.make_vec(
        process(env).env_id,
        num_envs=num_envs,
        vectorization_mode="vector_entry_point",
        plant=plant,
        **kwargs,
    )
