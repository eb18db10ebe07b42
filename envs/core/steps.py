"""Compiled pieces of a process's blocked step that only read the bundle: the banks of a block.

Every process steps its plants in blocks (their rows stay in cache) and runs the drift and sensor
banks over each block between its own physics (docs/adding_a_process.md). The bank calls need
the bundle's bank arrays and the block's place in the noise rows; these helpers pass them from
the bundle (:class:`envs.core.bundle.Plants`), so a core writes ``sensors_of_block(plants, …)``
instead of ten arguments. ``*_pass`` run a bank alone over the whole batch in the step's blocks:
the benchmark times a bank with them.

All are compiled without reference counting like the step loops (:mod:`envs.core.jit`);
``inline="always"`` puts the block helpers into the caller's IR.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from envs.core.disturbances import drift_bank_step_block
from envs.core.jit import Index, hot_loop, whole_block
from envs.core.sensors import sensor_bank_advance, sensor_bank_step_block

__all__ = ["drift_bank_pass", "drifts_of_block", "sensor_bank_pass", "sensors_of_block"]


@njit(cache=True, inline="always")
def sensors_of_block(
    plants: Any, idx: np.ndarray, m: Index, noise: np.ndarray, r0: Index, col0: Index, values: Any
) -> None:
    """The sensor bank over the block's plants ``idx[:m]``: column k of ``values`` holds plant
    ``idx[k]``'s true signals and becomes its readings; noise row ``r0 + k``, the bank's words
    from column ``col0`` (:func:`envs.core.sensors.sensor_bank_step_block`)."""
    sensor_bank_step_block(
        plants.sensor_cfg,
        plants.sensor_cols,
        plants.sensor_state,
        idx,
        m,
        noise,
        r0,
        col0,
        plants.dt_s,
        values,
    )


@njit(cache=True, inline="always")
def drifts_of_block(
    plants: Any, idx: np.ndarray, m: Index, noise: np.ndarray, r0: Index, col0: Index, values: Any
) -> None:
    """The drift bank over the block's plants ``idx[:m]``: their drift values of this step into
    ``values`` (drifts × block columns; :func:`envs.core.disturbances.drift_bank_step_block`)."""
    drift_bank_step_block(
        plants.drift_cfg, plants.drift_cols, plants.drift_state, idx, m, noise, r0, col0, values
    )


@hot_loop
def sensor_bank_pass(plants, noise, col0, values):  # type: ignore[no-untyped-def]
    """The sensor bank alone over every plant, in blocks of the scratch's size (``values``: the
    true signals of one block, turned into readings in place), then the ring advances."""
    idx = plants.scratch.idx
    n, block, r0 = plants.state.shape[0], idx.shape[0], np.int64(0)
    for lo in range(0, n, block):
        m = whole_block(lo, min(lo + block, n), idx)
        sensors_of_block(plants, idx, m, noise, r0, col0, values)
        r0 += m
    sensor_bank_advance(plants.sensor_state)


@hot_loop
def drift_bank_pass(plants, noise, col0, values):  # type: ignore[no-untyped-def]
    """The drift bank alone over every plant, in blocks of the scratch's size."""
    idx = plants.scratch.idx
    n, block, r0 = plants.state.shape[0], idx.shape[0], np.int64(0)
    for lo in range(0, n, block):
        m = whole_block(lo, min(lo + block, n), idx)
        drifts_of_block(plants, idx, m, noise, r0, col0, values)
        r0 += m
