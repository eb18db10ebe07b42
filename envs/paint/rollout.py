"""Planning on the paint line's own step: roll candidate action sequences forward from copies of
the true state, with given noise, through the very compiled step the env runs.

The MPC oracle (:mod:`agents.baselines.paint_mpc`) plans here and never re-implements physics:

1. :func:`new_plan` snapshots the plants to plan for (:func:`envs.core.bundle.snapshot`): their
   parameters, derived constants and true states, one row per plant, plus the bodies each may
   still plan (the horizon, cut at its shift's end) and which block of a candidate each body of
   the horizon plays.
2. :func:`future_words` makes the noise of the futures a plan averages over: the process words
   of the body style, flow and deposition scatter (sampled, in antithetic pairs) and paint lots
   (no lot change over a horizon) — the same words the step draws, in its layout.
3. :func:`rollout_costs` (compiled) paints every candidate under every future from the snapshot
   with :func:`envs.paint.core.plant_step` and returns the mean cost (EUR) of each candidate;
   :func:`rollout_one` plays one sequence and records its per-body costs (tests, diagnostics).

Drifts (weather, paint temperature, loop viscosity, bell wear) are held at their current true
values over the horizon: the plan's state rows carry them, and no drift bank is stepped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from envs.core.bundle import Plants, snapshot
from envs.core.noise import NORMAL_BITS, NORMAL_TABLE
from envs.core.sensors import SensorState
from envs.paint import core
from envs.paint.derive import practice_setpoints
from envs.paint.layout import (
    LOT_WORDS_STRIDE,
    N_ACT,
    N_LAYERS,
    N_PROCESS_WORDS,
    WL,
    W,
    X,
)

__all__ = [
    "MEDIAN_WORD",
    "Plan",
    "future_words",
    "horizon_words",
    "mirror",
    "new_plan",
    "next_recipe",
    "rollout_costs",
    "rollout_one",
]

# the 16-bit word whose table normal is closest to 0 (the median of the scatter)
MEDIAN_WORD = int(np.argmin(np.abs(NORMAL_TABLE))) << (16 - NORMAL_BITS)
NO_EVENT_WORD = 0xFFFF  # uniform(0xFFFF, 0xFFFF) = 1 − 1.2e-10: an event of p < 1 never fires
_PER_PLANT = (
    "params",
    "base_params",
    "derived",
    "state",
    "obs",
    "step_kpi",
    "unit_kpi",
    "unit_acc",
    "units_done",
    "drift_state",
    "drift_values",
)


class Plan(NamedTuple):
    """What a planner rolls forward (one row per planned plant)."""

    plants: Plants  # a snapshot: the rows candidates are painted on (their state is overwritten)
    start: np.ndarray  # (n, n_state): the true states every candidate starts from
    n_steps: np.ndarray  # int64 (n,): bodies each plant plans (the horizon, cut at its shift end)
    step_block: np.ndarray  # int64 (horizon,): the block of a candidate body h plays


def new_plan(sources: Sequence[Plants], horizon: int, step_block: np.ndarray) -> Plan:
    """A plan over every plant of the bundles ``sources`` (e.g. one per attached env), stacked
    in order; ``step_block[h]`` is the block of a candidate's actions body h plays."""
    rows = [snapshot(p) for p in sources]
    stacked: dict[str, Any] = {
        name: np.concatenate([getattr(r, name) for r in rows]) for name in _PER_PLANT
    }
    n = stacked["state"].shape[0]
    scratch = core.step_scratch(n, 0, 0)
    # the sensors are not stepped while planning: the plan carries an empty sensor state
    stacked["sensor_state"] = SensorState(
        np.empty((n, 0)), np.empty((0, n, 0)), np.zeros(1, dtype=np.int64)
    )
    plants = rows[0]._replace(**stacked, scratch=scratch)
    left = np.concatenate([r.max_steps - r.state[:, X.body] for r in rows])
    n_steps = np.minimum(horizon, left).astype(np.int64)
    start = plants.state.copy()
    return Plan(plants, start, n_steps, np.ascontiguousarray(step_block, dtype=np.int64))


def next_recipe(plants: Plants) -> np.ndarray:
    """The operator's recipe set-points (engineering units) for each plant's next body."""
    out = np.empty((plants.state.shape[0], N_ACT))
    for i in range(out.shape[0]):
        style = int(plants.state[i, X.next_style])
        practice_setpoints(plants.params[i], plants.derived[i], style, out[i])
    return out


@njit(cache=True, error_model="numpy")
def rollout_one(plan, i, seq, words, step_costs):  # type: ignore[no-untyped-def]
    """Paint plant ``i``'s ``plan.n_steps[i]`` bodies from its true state with block actions
    ``seq`` (n_blocks, 11) and process words ``words[h]`` for body h; returns the summed cost
    (EUR), per-body costs go to ``step_costs`` if it is not empty."""
    plants = plan.plants
    x = plants.state[i]
    x[:] = plan.start[i]
    record = step_costs.shape[0] > 0
    total = 0.0
    for h in range(plan.n_steps[i]):
        cost = core.plant_step(plants, i, seq[plan.step_block[h]], words[h])
        if record:
            step_costs[h] = cost
        total += cost
    return total


@njit(cache=True, error_model="numpy")
def rollout_costs(plan, candidates, words, active, costs):  # type: ignore[no-untyped-def]
    """Mean cost (EUR) over the futures and the horizon of every candidate of every plant.

    ``candidates`` is ``(n, K, n_blocks, 11)``; ``words`` ``(n, n_futures, horizon,
    N_PROCESS_WORDS)`` (uint16, :func:`future_words`), the same futures for every candidate;
    ``costs`` ``(n, K)`` is written where ``active``. One call per optimiser iteration.
    """
    none = np.empty(0)
    n_sc = words.shape[1]
    for i in range(plan.start.shape[0]):
        if not active[i]:
            continue
        for k in range(candidates.shape[1]):
            total = 0.0
            for sc in range(n_sc):
                total += rollout_one(plan, i, candidates[i, k], words[i, sc], none)
            costs[i, k] = total / n_sc


# ---------------------------------------------------------------- the noise of planned futures
def horizon_words(style_u: np.ndarray, scatter: np.ndarray | None = None) -> np.ndarray:
    """Process words ``(horizon, N_PROCESS_WORDS)`` of one planned future.

    ``style_u`` are uniforms in (0, 1), one per body: the words of body h make the step draw
    the style of body h + 1 from the plant's own style mix with that uniform. ``scatter``
    (``(horizon, 2 · N_LAYERS)`` uint16: flow per layer, then TE per layer) are the scatter
    words; ``None`` puts every scatter at its median. No paint-lot change is planned.
    """
    words = np.full((style_u.shape[0], N_PROCESS_WORDS), MEDIAN_WORD, dtype=np.uint16)
    if scatter is not None:
        words[:, W.flow : W.flow + N_LAYERS] = scatter[:, :N_LAYERS]
        words[:, W.scatter : W.scatter + N_LAYERS] = scatter[:, N_LAYERS:]
    for layer in range(N_LAYERS):
        w = W.lots + layer * LOT_WORDS_STRIDE
        words[:, w + WL.event_hi] = NO_EVENT_WORD
        words[:, w + WL.event_lo] = NO_EVENT_WORD
    k = np.minimum((style_u * 4294967296.0).astype(np.uint64), np.uint64(0xFFFFFFFF))
    words[:, W.style_hi] = (k >> np.uint64(16)).astype(np.uint16)
    words[:, W.style_lo] = (k & np.uint64(0xFFFF)).astype(np.uint16)
    return words


def mirror(words: np.ndarray) -> np.ndarray:
    """The antithetic words: table normal −z where ``words`` give z (the table is symmetric)."""
    levels = (1 << NORMAL_BITS) - 1
    shift = 16 - NORMAL_BITS
    return ((levels - (words >> shift)) << shift).astype(np.uint16)


def future_words(rng: np.random.Generator, horizon: int, futures: int) -> np.ndarray:
    """Words ``(futures, horizon, N_PROCESS_WORDS)`` of the futures one plan averages over.

    One future: a style sample and the median scatter (certainty equivalent). More (an even
    number): sampled styles and scatter words, each pair sharing its styles with mirrored
    scatter (antithetic variates).
    """
    if futures == 1:
        return horizon_words(rng.random(horizon))[None]
    out = np.empty((futures, horizon, N_PROCESS_WORDS), dtype=np.uint16)
    n_scatter = 2 * N_LAYERS
    for pair in range(futures // 2):
        style_u = rng.random(horizon)
        scatter = rng.integers(0, 1 << 16, (horizon, n_scatter), dtype=np.uint16)
        out[2 * pair] = horizon_words(style_u, scatter)
        out[2 * pair + 1] = horizon_words(style_u, mirror(scatter))
    return out
