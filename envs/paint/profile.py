"""Benchmark-only kernels of the paint line: the parts of a step timed alone, on a batch's bundle.

``experiments/benchmarks/envs.py`` splits the time of one vector step into the bare plant phase,
the random draws, the drift and sensor banks and the Python shell. These kernels run those parts
with the batch's own bundle (:attr:`envs.paint.batch.PaintBatch.plants`), noise layout and
blocks of plants, so what is timed is the code the step runs:

| kernel | what it runs |
| --- | --- |
| :func:`plant_step_batch` | ``core.plant_phase`` over every plant (drift values, physics, KPIs) |
| :func:`envs.core.steps.drift_bank_pass` | the drift bank alone |
| :func:`envs.core.steps.sensor_bank_pass` | the sensor bank alone |

:func:`timing_cases` gives each, and the whole compiled step, as a compiled entry with the
arguments of one call (the same contract as :func:`envs.steel.profile.timing_cases`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from envs.core.bundle import StepOutput
from envs.core.disturbances import drift_bank_step_batch
from envs.core.jit import bound_entry, hot_loop, whole_block
from envs.core.noise import draw_bits
from envs.core.steps import drift_bank_pass, sensor_bank_pass
from envs.paint import core
from envs.paint.batch import PaintBatch
from envs.paint.layout import N_ACT, N_PROCESS_WORDS, N_SIGNALS

__all__ = ["plant_step_batch", "timing_cases"]


@hot_loop
def plant_step_batch(plants, actions, words):  # type: ignore[no-untyped-def]
    """Bare kernel: :func:`envs.paint.core.plant_phase` over every plant in the blocks of the
    step, with the drift values of ``plants.scratch.dv`` (drifts × plants, see
    :func:`timing_cases`) and process words ``words`` (a row per plant); no drift bank,
    sensors or observation."""
    idx = plants.scratch.idx
    n, block = plants.state.shape[0], idx.shape[0]
    for lo in range(0, n, block):
        m = whole_block(lo, min(lo + block, n), idx)
        core.plant_phase(plants, actions, words, lo, lo, m)


def timing_cases(
    batch: PaintBatch, rng: np.random.Generator
) -> dict[str, tuple[Callable[..., Any], tuple[Any, ...]]]:
    """``{part: (compiled entry, arguments)}`` of one call of each part of the vector step, on
    the batch's bundle as it is now (zero actions, every plant active):

    - ``kernel``: the whole compiled step (the batch's bound :func:`envs.paint.core.step_batch`);
    - ``plant``: :func:`plant_step_batch` with the plant's disturbance inputs as its step gives
      them (process words of every plant, the drift values of one body);
    - ``drift_bank``, ``sensor_bank``: the banks alone, noise in the step's layout, the sensors
      fed the true signals of real plants (so clipping and noise act as in a step).

    A caller replays a call from fresh copies of its arguments (the kernels change them).
    """
    plants, n = batch.plants, batch.n
    actions = np.zeros((n, N_ACT))
    # the plant's inputs: process words of every plant, the drift values of one body
    words = draw_bits(rng, n, N_PROCESS_WORDS)
    values = np.empty((n, batch.drifts.n_drifts))
    drift_words = draw_bits(rng, n, batch.drifts.n_noise)
    drift_state = plants.drift_state.copy()
    drift_bank_step_batch(plants.drift_cfg, plants.drift_cols, drift_state, drift_words, values)
    scratch = core.step_scratch(n, batch.drifts.n_drifts, batch.drifts.n_noise)
    plant_plants = plants._replace(scratch=scratch._replace(dv=np.ascontiguousarray(values.T)))
    # the banks: noise rows in the step's layout, true signals of real plants for one block
    block = plants.scratch.idx.shape[0]
    noise = draw_bits(rng, n, batch.n_words)
    true_values = np.empty((N_SIGNALS, block))
    for k in range(block):
        core.true_signals(plants.params[k], plants.state[k], true_values[:, k])
    drift_values = np.empty((batch.drifts.n_drifts, block))
    sensor_word0 = np.int64(plants.scratch.sensor_word0)
    out = StepOutput(np.empty_like(plants.obs), np.empty(n), np.empty(n, dtype=np.bool_))
    cases: dict[str, tuple[Any, ...]] = {
        "kernel": (core.step_batch, plants, actions, noise, np.ones(n, np.bool_), out),
        "plant": (plant_step_batch, plant_plants, actions, words),
        "drift_bank": (drift_bank_pass, plants, noise, np.int64(N_PROCESS_WORDS), drift_values),
        "sensor_bank": (sensor_bank_pass, plants, noise, sensor_word0, true_values),
    }
    return {name: (bound_entry(k, *args), tuple(args)) for name, (k, *args) in cases.items()}
