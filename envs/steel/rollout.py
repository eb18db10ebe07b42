"""Planning through the plant's own step: copies of BOF plants rolled on under candidate actions.

The public entry the MPC oracle (:mod:`agents.baselines.bof_mpc`) plans with. A planner takes a
copy of a batch's plants (:func:`planning_copy`, through :func:`envs.core.bundle.snapshot`) and
rolls candidate action sequences forward from it with the very function the env steps,
:func:`envs.steel.core.plant_step` (inlined here), so the planner, the env and the vector env
cannot disagree about the physics. A BOF plant is deterministic given its state (sensor noise
affects only what a policy sees), so a rollout needs no noise: it predicts the heat exactly.

Candidate sequences are piecewise constant: step h of a rollout plays block
``step_block[min(h, horizon − 1)]`` of the sequence (``(n_blocks, n_act)`` normalised actions), and
every rollout runs to the end of the heat (the blow always ends: the step forces it at
``plants.max_steps``), so its cost is the running cost of the remaining steps plus the endpoint
cost the step adds when the blow ends.

| function | returns |
| --- | --- |
| :func:`planning_copy` | a bundle of copies of the plants to roll forward |
| :func:`rollout` | (cost EUR, steps) of one plant blown to the end of its heat |
| :func:`rollout_costs` | the cost of every candidate sequence of every active plant |
| :func:`practice_actions` | standard practice's actuator values as absolute-mode actions |
"""

from __future__ import annotations

import numpy as np
from numba import njit

from envs.core.actions import MODE_ADJUST
from envs.core.bundle import Plants, snapshot
from envs.steel.core import plant_step, step_scratch
from envs.steel.layout import ACTUATORS, D, X

__all__ = ["planning_copy", "practice_actions", "practice_actuals", "rollout", "rollout_costs"]

N_ACT = len(ACTUATORS)


def planning_copy(plants: Plants, *, endpoint_errors: bool = False) -> Plants:
    """Copies of the plants of a bundle (their own arrays and work arrays) to roll forward.

    The state row carries the pre-drawn errors of the end-of-blow measurement on which the
    endpoint cost is scored. Knowing them would let a planner aim the measured, not the true,
    bath at the aims — a clairvoyance no controller can have — so the copy has them zeroed
    unless ``endpoint_errors`` (the env's exact reward, for tests that a rollout reproduces it).
    """
    copy = snapshot(plants)._replace(scratch=step_scratch(plants.state.shape[0]))
    if not endpoint_errors:
        copy.state[:, [X.z_end_c, X.z_end_temp]] = 0.0
    return copy


@njit(cache=True, error_model="numpy")
def rollout(
    plants: Plants, i: int, seq: np.ndarray, step_block: np.ndarray, step_costs: np.ndarray
) -> tuple[float, int]:
    """Blow plant ``i`` of ``plants`` (changed in place) to the end of its heat with block
    actions ``seq`` (n_blocks, n_act).

    Step h plays block ``step_block[min(h, horizon − 1)]`` of ``seq``. Returns
    ``(total cost EUR, steps)``; per-step costs go to ``step_costs`` if it is not empty.
    """
    last = step_block.shape[0] - 1
    record = step_costs.shape[0] > 0
    total, h = 0.0, 0
    while True:
        b = step_block[min(h, last)]
        cost, ended = plant_step(plants, i, seq[b])
        if record:
            step_costs[h] = cost
        total += cost
        h += 1
        if ended or h > plants.max_steps:
            return total, h


@njit(cache=True, error_model="numpy")
def rollout_costs(
    plants: Plants,
    candidates: np.ndarray,
    step_block: np.ndarray,
    active: np.ndarray,
    costs: np.ndarray,
) -> None:
    """Cost (EUR, to the end of the heat) of every candidate of every active plant.

    ``candidates`` is ``(n_plants, K, n_blocks, n_act)``, ``costs`` ``(n_plants, K)``. Every
    candidate starts from the plant's state as it is; the state is left as it was, so one copy
    serves every iteration of an optimiser.
    """
    state, none = plants.state, np.empty(0)
    start = np.empty(state.shape[1])
    for i in range(state.shape[0]):
        if not active[i]:
            continue
        for j in range(state.shape[1]):
            start[j] = state[i, j]
        for k in range(candidates.shape[1]):
            for j in range(state.shape[1]):
                state[i, j] = start[j]
            costs[i, k] = rollout(plants, i, candidates[i, k], step_block, none)[0]
        for j in range(state.shape[1]):
            state[i, j] = start[j]


@njit(cache=True, error_model="numpy")
def practice_actuals(plants: Plants, i: int, out: np.ndarray) -> None:
    """Actuator values of plant ``i`` (state changed) under the zero action for ``out.shape[0]``
    steps (standard practice when ``plants.mode`` is adjust); after the blow ends the last
    values are held."""
    zero = np.zeros(N_ACT)
    act = plants.scratch.work[1]
    ended = False
    for h in range(out.shape[0]):
        if not ended:
            ended = plant_step(plants, i, zero)[1]
        out[h] = act


def practice_actions(plants: Plants, rows: np.ndarray, horizon: int) -> np.ndarray:
    """Standard practice of the plants ``rows`` over the next ``horizon`` steps as absolute-mode
    actions in [-1, 1]: ``(len(rows), horizon, n_act)``, rolled on copies of the plants."""
    copy = planning_copy(plants)._replace(mode=MODE_ADJUST)
    per_step = np.empty((horizon, N_ACT))
    out = np.empty((len(rows), horizon, N_ACT))
    for r, i in enumerate(rows):
        practice_actuals(copy, int(i), per_step)
        lo = copy.derived[i, D.lo : D.lo + N_ACT]
        hi = copy.derived[i, D.hi : D.hi + N_ACT]
        out[r] = 2.0 * (per_step - lo) / (hi - lo) - 1.0
    return out
