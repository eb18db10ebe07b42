"""The tiny training budget the tests train with: seconds per run, every part of the job run.

Two plants, PPO rollouts of 64 steps (one epoch on one minibatch), a checkpoint at the end,
evaluations of a single episode. Tests add what they vary (``register_model=true``, a
tracking experiment, an action mode).
"""

from __future__ import annotations


def tiny_training(
    steps: int = 256, eval_every: int = 256, eval_episodes: int = 1, final_episodes: int = 2
) -> tuple[str, ...]:
    """Train-job overrides for ``steps`` env-steps with the debug preset."""
    return (
        "experiment=debug",
        f"train.total_timesteps={steps}",
        "train.n_envs=2",
        f"train.checkpoint_every_steps={steps}",
        f"eval.every_steps={eval_every}",
        f"eval.n_episodes={eval_episodes}",
        f"eval.final_episodes={final_episodes}",
        "agent.algo.n_steps=64",
        "agent.algo.batch_size=64",
        "agent.algo.n_epochs=1",
    )
