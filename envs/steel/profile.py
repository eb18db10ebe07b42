"""Benchmark-only kernels of the BOF: parts of the step timed alone (experiments.benchmark_envs).

Each works on the bundle of a :class:`envs.steel.batch.BOFBatch`, over the blocks of plants the
step walks, so a part timed here is the very code the step runs:

| kernel | times |
| --- | --- |
| :func:`plant_step_batch` | the plant step of every plant (actuators, physics, cost, KPIs) |
| :func:`physics_batch` | the physics alone, with actuator values given |
| :func:`envs.core.steps.sensor_bank_pass` | the sensor bank alone |

:func:`timing_cases` gives each as a compiled entry with the arguments of one call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numba import njit

from envs.core.bundle import Plants, StepOutput
from envs.core.jit import bound_entry, hot_loop, whole_block
from envs.core.noise import draw_bits
from envs.core.steps import sensor_bank_pass
from envs.steel import core
from envs.steel.batch import BOFBatch
from envs.steel.layout import ACTUATORS, SIGNALS, A
from envs.steel.physics import physics_step, practice_setpoints

__all__ = ["physics_batch", "plant_step_batch", "timing_cases"]


@hot_loop
def plant_step_batch(plants: Plants, actions: np.ndarray) -> None:
    """Bare plant kernel: :func:`envs.steel.core.plant_phase` over every plant in the blocks of
    the step, no sensors or observation."""
    idx, cost, ended = plants.scratch.idx, plants.scratch.cost, plants.scratch.ended
    n = plants.state.shape[0]
    for lo in range(0, n, core.BLOCK):
        m = whole_block(lo, min(lo + core.BLOCK, n), idx)
        core.plant_phase(plants, actions, idx, m, cost, ended)


@hot_loop
def physics_batch(plants: Plants, setpoints: np.ndarray) -> None:
    """Physics only, actuator values ``setpoints`` (n, n_act) given."""
    params, derived, state, dt_s = plants.params, plants.derived, plants.state, plants.dt_s
    for i in range(state.shape[0]):
        s = setpoints[i]
        physics_step(
            params[i],
            derived[i],
            state[i],
            s[A.oxygen_flow],
            s[A.lance_height],
            s[A.ore_feed],
            s[A.lime_feed],
            dt_s,
        )


@njit(cache=True, error_model="numpy")
def _practice_and_signals(plants: Plants, setpoints: np.ndarray, values: np.ndarray) -> None:
    """Standard-practice set-points of every plant, and the true signals of the first block."""
    for i in range(plants.state.shape[0]):
        practice_setpoints(plants.params[i], plants.state[i], plants.dt_s, setpoints[i])
    for k in range(values.shape[1]):
        core.true_signals(plants.params[k], plants.state[k], values[:, k])


def timing_cases(
    batch: BOFBatch, rng: np.random.Generator
) -> dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]:
    """``{part: (compiled entry, arguments)}`` of one call of each part of the vector step, on
    the batch's bundle as it is now (zero actions, every plant active):

    - ``plant``: :func:`plant_step_batch`; ``physics``: :func:`physics_batch` at practice's
      set-points; ``kernel``: the whole compiled step :func:`envs.steel.core.step_batch`;
    - ``sensor_bank``: :func:`envs.core.steps.sensor_bank_pass` with the signals of real
      plants, so clipping and noise act as in a step.

    A caller replays a call from fresh copies of its arguments (the kernels change them).
    """
    plants, n = batch.plants, batch.n
    actions = np.zeros((n, len(ACTUATORS)))
    setpoints = np.empty((n, len(ACTUATORS)))
    values = np.empty((len(SIGNALS), min(core.BLOCK, n)))
    _practice_and_signals(plants, setpoints, values)
    noise = draw_bits(rng, n, batch.sensors.n_noise)
    active = np.ones(n, dtype=np.bool_)
    out = StepOutput(np.empty_like(plants.obs), np.empty(n), np.empty(n, dtype=np.bool_))
    cases: dict[str, tuple[Any, ...]] = {
        "plant": (plant_step_batch, plants, actions),
        "physics": (physics_batch, plants, setpoints),
        "kernel": (core.step_batch, plants, actions, noise, active, out),
        "sensor_bank": (sensor_bank_pass, plants, noise, np.int64(0), values),
    }
    timed: dict[str, tuple[Callable[..., Any], tuple[Any, ...]]] = {}
    for name, (kernel, *args) in cases.items():
        timed[name] = (bound_entry(kernel, *args), tuple(args))
    return timed
