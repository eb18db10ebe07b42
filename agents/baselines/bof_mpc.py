"""MPC oracle of the BOF blow: cross-entropy MPC on the plant's own compiled step.

The upper reference of DESIGN.md's evaluation protocol: it reads the *true* state and parameters
of each attached plant (``env.unwrapped.batch``) and plans, within the heat being blown, by rolling
candidate action sequences through :func:`envs.steel.core.plant_step` — the very kernel the env
steps — from copies of the true state. The physics is never re-implemented, so the oracle, the
env and the vector env cannot disagree about it. It is not a deployable controller.

Planning, per heat:

- **Shrinking horizon**: every candidate is rolled to the end of the blow (the ``ended`` flag of
  ``plant_step``), so its cost is the running cost of the remaining steps *plus* the endpoint cost
  ``plant_step`` adds when the blow ends (C/T miss, P over spec, the abandoned-blow bound).
- **Piecewise-constant blocks** of ``block_steps`` control steps cover the first
  ``horizon_steps``; past them the last block is held to the end of the blow (the end-oxygen
  target included), so the search dimension is ``n_blocks × 5`` however long the blow.
- **Receding**: replan every ``replan_every`` steps and at each new heat, warm-started from the
  shifted previous plan (:class:`agents.baselines.mpc.SamplingMPCOracle`).
- The oracle plans within the current heat only: in a campaign the next heat's charge is drawn
  when it starts, so nothing is known about it.

What "true state" includes: the plant is deterministic given its state (sensor noise affects only
what a policy sees, never the physics), so a rollout from the copied state predicts the heat
exactly. The state row also carries the pre-drawn *errors of the end-of-blow measurement* on which
the endpoint cost is scored (``X_ZEND_C``, ``X_ZEND_T``). Knowing them would let the oracle aim
the measured, not the true, bath at the aims — a clairvoyance no controller can have. By default
(``endpoint_noise="zero"``) the planning copies have them zeroed: the oracle aims the true bath at
the aims (optimal in expectation for the symmetric Huber miss cost) and the realised cost still
pays the measurement error. ``endpoint_noise="true"`` keeps them (the env's exact reward,
used by the tests that check the kernel reproduces the env).

>>> oracle = BOFMPCOracle(horizon_steps=20, block_steps=10, samples=8, iterations=1)
>>> oracle.layout.n_blocks
2
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numba import njit

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
from envs.steel import core
from envs.steel.batch import BOFBatch

__all__ = ["CONFIG_PATH", "BOFMPCOracle", "practice_actuals", "rollout", "rollout_costs"]

CONFIG_PATH = Path(__file__).resolve().parents[2] / "conf" / "baselines" / "bof_mpc.yaml"
ENDPOINT_NOISE = ("zero", "true")
MODE_ADJUST = 0  # envs.core.actions: the kernels' code of action_mode="adjust"


@njit(cache=True, error_model="numpy")
def rollout(
    p: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    mode: int,
    dt_s: float,
    max_steps: float,
    seq: np.ndarray,
    step_block: np.ndarray,
    practice: np.ndarray,
    act: np.ndarray,
    kpi: np.ndarray,
    step_costs: np.ndarray,
) -> tuple[float, int]:
    """Blow plant state ``x`` (changed in place) to the end of the heat with block actions ``seq``.

    Step h plays block ``step_block[min(h, horizon − 1)]`` of ``seq`` (n_blocks, 5). Returns
    ``(total cost EUR, steps)``; per-step costs go to ``step_costs`` if it is not empty. The blow
    always ends: ``plant_step`` forces the end at ``max_steps`` steps of the heat.
    """
    last = step_block.shape[0] - 1
    record = step_costs.shape[0] > 0
    total, h = 0.0, 0
    while True:
        b = step_block[min(h, last)]
        cost, ended = core.plant_step(p, d, x, mode, seq[b], practice, act, dt_s, max_steps, kpi)
        if record:
            step_costs[h] = cost
        total += cost
        h += 1
        if ended or h > max_steps:
            return total, h


@njit(cache=True, error_model="numpy")
def rollout_costs(
    params: np.ndarray,
    derived: np.ndarray,
    states: np.ndarray,
    mode: int,
    dt_s: np.ndarray,
    max_steps: np.ndarray,
    candidates: np.ndarray,
    step_block: np.ndarray,
    active: np.ndarray,
    costs: np.ndarray,
) -> None:
    """Cost (EUR, to the end of the blow) of every candidate of every active episode.

    ``candidates`` is ``(n_ep, K, n_blocks, 5)``; ``states`` the true state rows (copied, never
    changed); ``dt_s`` and ``max_steps`` per episode. One call per optimiser iteration.
    """
    practice, act = np.empty(core.N_ACT), np.empty(core.N_ACT)
    kpi, none = np.empty(core.N_KPI), np.empty(0)
    x = np.empty(states.shape[1])
    for i in range(states.shape[0]):
        if not active[i]:
            continue
        for k in range(candidates.shape[1]):
            x[:] = states[i]
            costs[i, k] = rollout(
                params[i],
                derived[i],
                x,
                mode,
                dt_s[i],
                max_steps[i],
                candidates[i, k],
                step_block,
                practice,
                act,
                kpi,
                none,
            )[0]


@njit(cache=True, error_model="numpy")
def practice_actuals(
    p: np.ndarray, d: np.ndarray, x: np.ndarray, dt_s: float, max_steps: float, out: np.ndarray
) -> None:
    """Actuator values of standard practice from state ``x`` (changed) for ``out.shape[0]`` steps.

    Plays the zero adjustment; after the blow ends the last values are held.
    """
    practice, act = np.empty(core.N_ACT), np.empty(core.N_ACT)
    kpi, zero = np.empty(core.N_KPI), np.zeros(core.N_ACT)
    ended = False
    for h in range(out.shape[0]):
        if not ended:
            ended = core.plant_step(
                p, d, x, MODE_ADJUST, zero, practice, act, dt_s, max_steps, kpi
            )[1]
        out[h] = act


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

    n_act = core.N_ACT

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
    def from_config(cls, path: str | Path | None = None, **overrides: Any) -> BOFMPCOracle:
        """The oracle of ``conf/baselines/bof_mpc.yaml`` (or ``path``), with keyword overrides."""
        return cls(**load_config(path or CONFIG_PATH, overrides))

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
        return heat, int(batch.state[0, core.X_STEP])

    def _snapshot(self, batches: list[Any]) -> tuple[FloatArray, ...]:
        params = np.stack([b.params[0] for b in batches])
        derived = np.stack([b.derived[0] for b in batches])
        states = np.stack([b.state[0] for b in batches])
        if self.endpoint_noise == "zero":
            states[:, [core.X_ZEND_C, core.X_ZEND_T]] = 0.0
        dt_s = np.array([b.dt_s for b in batches], dtype=np.float64)
        max_steps = np.array([b.max_steps for b in batches], dtype=np.float64)
        return params, derived, states, dt_s, max_steps

    def _cost_fn(self, batches: list[Any], active: BoolArray) -> CostFn:
        params, derived, states, dt_s, max_steps = self._snapshot(batches)
        step_block, mode = self._step_block, self.mode

        def cost(candidates: FloatArray, act: BoolArray) -> FloatArray:
            out = np.zeros(candidates.shape[:2])
            rollout_costs(
                params, derived, states, mode, dt_s, max_steps, candidates, step_block, act, out
            )
            return out

        return cost

    def _prior(self, batches: list[Any], rows: IntArray) -> FloatArray:
        """Zeros in adjust mode; in absolute mode the practice's actuator values, normalised."""
        prior = np.zeros((len(batches), self.layout.n_blocks, self.n_act))
        if self.mode == MODE_ADJUST:
            return prior
        params, derived, states, dt_s, max_steps = self._snapshot(batches)
        per_step = np.empty((self.layout.horizon, self.n_act))
        for i in rows:
            practice_actuals(params[i], derived[i], states[i], dt_s[i], max_steps[i], per_step)
            lo = derived[i, core.D_LO : core.D_LO + core.N_ACT]
            hi = derived[i, core.D_HI : core.D_HI + core.N_ACT]
            normalised = 2.0 * (per_step - lo) / (hi - lo) - 1.0
            prior[i] = self.layout.average(normalised)
        return prior
