"""MPC oracle of the BOF blow: cross-entropy MPC on the plant's own compiled step.

The upper reference of DESIGN.md's evaluation protocol: it reads the *true* state and parameters
of each attached plant (``env.unwrapped.batch``) and plans, within the heat being blown, by rolling
candidate action sequences through the process's planning entry :mod:`envs.steel.rollout` — the
very plant step the env steps — from copies of the true state. The physics is never
re-implemented, so the oracle, the env and the vector env cannot disagree about it. It is not a
deployable controller.

Planning, per heat:

- **Shrinking horizon**: every candidate is rolled to the end of the blow, so its cost is the
  running cost of the remaining steps *plus* the endpoint cost the plant step adds when the blow
  ends (C/T miss, P over spec, the abandoned-blow bound).
- **Piecewise-constant blocks** of ``block_steps`` control steps cover the first
  ``horizon_steps``; past them the last block is held to the end of the blow (the end-oxygen
  target included), so the search dimension is ``n_blocks × 5`` however long the blow.
- **Receding**: replan every ``replan_every`` steps and at each new heat, warm-started from the
  shifted previous plan (:class:`agents.baselines.mpc.SamplingMPCOracle`).
- The oracle plans within the current heat only: in a campaign the next heat's charge is drawn
  when it starts, so nothing is known about it.

What "true state" includes: the plant is deterministic given its state (sensor noise affects only
what a policy sees, never the physics), so a rollout from the copied state predicts the heat
exactly. The state row also carries the pre-drawn *errors of the tap measurement* (lab C,
thermocouple T) on which the endpoint cost is scored (``z_end_c``, ``z_end_temp`` of
:data:`envs.steel.layout.STATE`).
Knowing them would let the oracle aim the measured, not the true, bath at the aims — a
clairvoyance no controller can have. By default (``endpoint_noise="zero"``) the planning copies
have them zeroed: the oracle aims the true bath at the aims (optimal in expectation for the
symmetric Huber miss cost) and the realised cost still pays the measurement error.
``endpoint_noise="true"`` keeps them (the env's exact reward, used by the tests that check a
rollout reproduces the env).

>>> oracle = BOFMPCOracle(horizon_steps=20, block_steps=10, samples=8, iterations=1)
>>> oracle.layout.n_blocks
2
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.baselines.mpc import (
    BlockLayout,
    BoolArray,
    CEMConfig,
    CostFn,
    FloatArray,
    IntArray,
    SamplingMPCOracle,
    load_config,
)
from envs.core.actions import MODE_ADJUST
from envs.core.bundle import Plants
from envs.steel import BOFBatch, layout, resolve_variant, rollout

__all__ = ["CONFIG_PATH", "BOFMPCOracle"]

CONFIG_PATH = Path(__file__).resolve().parents[2] / "conf" / "baselines" / "bof_mpc.yaml"
ENDPOINT_NOISE = ("zero", "true")


class BOFMPCOracle(SamplingMPCOracle):
    """Cross-entropy MPC oracle of the BOF on the true state (see the module docstring).

    Args:
        horizon_steps: control steps planned explicitly (then the last block is held to the end
            of the blow); 10 s each at the default ``dt_s``.
        block_steps: control steps per piecewise-constant block.
        replan_every: control steps between plans (and a plan at every heat start).
        samples: candidate sequences per episode and optimiser iteration.
        iterations: optimiser iterations per plan.
        elite_frac: share of the candidates that refit the sampling distribution.
        smoothing: weight of the old mean/std in the refit.
        init_std: sampling std of a plan, in normalised action units.
        min_std: floor of the sampling std.
        warm_std: sampling std of a warm-started replan (``None``: ``init_std``).
        fresh_iterations: iterations of a unit's first plan (``None``: ``iterations``).
        plan_from: ``"best"`` sequence evaluated or final sampling ``"mean"``.
        seed: seed of the per-episode generators (same seed, same numbers).
        endpoint_noise: ``"zero"`` (default: the planning copies do not know the errors of the
            end-of-blow measurement) or ``"true"`` (they do; the env's exact reward).
    """

    n_act = len(layout.ACTUATORS)

    def __init__(
        self,
        horizon_steps: int = 60,
        block_steps: int = 10,
        replan_every: int = 3,
        samples: int = 64,
        iterations: int = 4,
        elite_frac: float = 0.1,
        smoothing: float = 0.2,
        init_std: float = 0.5,
        min_std: float = 0.05,
        warm_std: float | None = None,
        fresh_iterations: int | None = None,
        plan_from: str = "best",
        seed: int = 0,
        endpoint_noise: str = "zero",
    ) -> None:
        if endpoint_noise not in ENDPOINT_NOISE:
            raise ValueError(
                f"endpoint_noise must be one of {ENDPOINT_NOISE}, got {endpoint_noise!r}"
            )
        self.endpoint_noise = endpoint_noise
        config = CEMConfig(
            samples,
            iterations,
            elite_frac,
            smoothing,
            init_std,
            min_std,
            seed,
            warm_std,
            fresh_iterations,
            plan_from,
        )
        super().__init__(BlockLayout.uniform(horizon_steps, block_steps), config, replan_every)

    @classmethod
    def from_config(
        cls, path: str | Path | None = None, plant: Any = None, **overrides: Any
    ) -> BOFMPCOracle:
        """The oracle of ``conf/baselines/bof_mpc.yaml`` (or ``path``), with keyword overrides,
        built for ``plant`` (a variant, name or mapping): it then attaches only to that plant's
        envs. ``None``: it plans on whatever plant it attaches to."""
        oracle = cls(**load_config(path or CONFIG_PATH, overrides))
        oracle.plant = None if plant is None else resolve_variant(plant)
        return oracle

    # process hooks --------------------------------------------------------------------------
    def _check_batch(self, batch: Any) -> None:
        if not isinstance(batch, BOFBatch) or batch.n != 1:
            raise TypeError(
                "BOFMPCOracle attaches to single BOF envs (env.unwrapped.batch a BOFBatch of one "
                f"plant), got {type(batch).__name__}"
            )

    def _position(self, batch: Any) -> tuple[int, int] | None:
        heat = int(batch.heats_done[0])
        if heat >= batch.campaign_heats:
            return None  # the campaign (episode) is over
        return heat, int(batch.state[0, layout.X.step])

    def _copies(self, batches: list[Any]) -> list[Plants]:
        """Planning copies of the attached plants (the true state, taken now)."""
        keep = self.endpoint_noise == "true"
        return [rollout.planning_copy(b.plants, endpoint_errors=keep) for b in batches]

    def _cost_fn(self, batches: list[Any], active: BoolArray) -> CostFn:
        copies, step_block = self._copies(batches), self._step_block

        def cost(candidates: FloatArray, act: BoolArray) -> FloatArray:
            out = np.zeros(candidates.shape[:2])
            for i, plants in enumerate(copies):  # one plant per attached env
                if act[i]:
                    j = slice(i, i + 1)
                    rollout.rollout_costs(plants, candidates[j], step_block, act[j], out[j])
            return out

        return cost

    def _prior(self, batches: list[Any], rows: IntArray) -> FloatArray:
        """Zeros in adjust mode; in absolute mode the practice's actuator values, normalised."""
        prior = np.zeros((len(batches), self.layout.n_blocks, self.n_act))
        if self.mode == MODE_ADJUST:
            return prior
        first = np.zeros(1, dtype=np.int64)
        for i in rows:
            plants = batches[i].plants
            actions = rollout.practice_actions(plants, first, self.layout.horizon)
            prior[i] = self.layout.average(actions[0])
        return prior
