"""The tank's compiled step: actions → physics → sensors → observation → reward → KPIs."""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from envs.core.actions import rate_limited, setpoint
from envs.core.bundle import Plants
from envs.core.disturbances import drift_bank_reset
from envs.core.jit import active_block, copy_row, hot_loop
from envs.core.sensors import sensor_bank_advance, sensor_bank_reset
from envs.core.steps import drifts_of_block, sensors_of_block
from tank.layout import DRIFTS, OB, SIGNALS, A, D, K, P, X, Z

BLOCK = 64  # plants per block of the step
N_SIGNALS = len(SIGNALS)  # numba reads ints, not Layout objects


class StepScratch(NamedTuple):
    """Work arrays of :func:`step_batch` (a hot loop cannot allocate)."""

    idx: np.ndarray  # int64 (BLOCK,)
    cost: np.ndarray  # (BLOCK,)
    drift: np.ndarray  # (n_drifts, BLOCK)
    values: np.ndarray  # (n_signals, BLOCK)


def step_scratch(n_plants: int) -> StepScratch:
    b = min(BLOCK, n_plants)
    return StepScratch(
        np.empty(b, dtype=np.int64),
        np.empty(b),
        np.empty((len(DRIFTS), b)),
        np.empty((len(SIGNALS), b)),
    )


@njit(cache=True, error_model="numpy")
def derive(p: np.ndarray, dt_s: float, d: np.ndarray) -> None:
    tau_min = p[P.area_m2] / p[P.drain_m2_min]
    d[D.dt_min] = dt_s / 60.0
    d[D.decay] = math.exp(-d[D.dt_min] / tau_min)
    d[D.low], d[D.high] = 0.0, p[P.inflow_max_m3_min]
    d[D.span], d[D.rate] = 0.5 * p[P.inflow_max_m3_min], 0.2 * p[P.inflow_max_m3_min]


@njit(cache=True, error_model="numpy")
def derive_batch(plants: Plants) -> None:
    for i in range(plants.params.shape[0]):
        derive(plants.params[i], plants.dt_s, plants.derived[i])


@njit(cache=True, error_model="numpy", inline="always")
def observe(p: np.ndarray, x: np.ndarray, level_reading: float, obs: np.ndarray) -> None:
    obs[OB.level] = min(max(level_reading, 0.0), 10.0)
    obs[OB.inflow], obs[OB.level_aim], obs[OB.step] = x[X.inflow], p[P.level_aim_m], x[X.step]


@njit(cache=True, error_model="numpy")
def reset_batch(plants: Plants, idx: np.ndarray, z: np.ndarray) -> None:
    """Start a shift for the plants ``idx`` (start normals ``z[k]`` for ``idx[k]``)."""
    truth = np.empty(N_SIGNALS)
    for k in range(idx.shape[0]):
        i = idx[k]
        p, x = plants.params[i], plants.state[i]
        x[:] = 0.0
        x[X.level] = max(p[P.level_aim_m] + p[P.level0_sd_m] * z[k, Z.level], 0.0)
        x[X.inflow] = p[P.inflow_nominal_m3_min]
        if plants.drift_cfg.shape[0] > 0:
            drift_bank_reset(plants.drift_cfg, plants.drift_state[i], plants.drift_values[i])
            x[X.drain_factor] = plants.drift_values[i, 0]
        else:
            x[X.drain_factor] = 1.0
        truth[0] = x[X.level]
        sensor_bank_reset(plants.sensor_cfg, plants.sensor_state, i, truth)
        observe(p, x, truth[0], plants.obs[i])
        plants.units_done[i] = 0


@njit(cache=True, error_model="numpy", inline="always")
def plant_step(p: np.ndarray, d: np.ndarray, x: np.ndarray, mode: int, action: np.ndarray) -> float:
    """One control step of one tank; returns its cost (EUR)."""
    target = setpoint(
        mode, action[A.inflow], p[P.inflow_nominal_m3_min], d[D.low], d[D.high], d[D.span]
    )
    x[X.inflow] = rate_limited(x[X.inflow], target, d[D.rate])
    steady = x[X.inflow] / (p[P.drain_m2_min] * x[X.drain_factor])  # level the pump would hold
    decay = d[D.decay] ** x[X.drain_factor]
    x[X.level] = steady + (x[X.level] - steady) * decay  # exact over the step
    dt_min = d[D.dt_min]
    error = x[X.level] - p[P.level_aim_m]
    cost = x[X.inflow] * dt_min * p[P.price_eur_m3] + p[P.miss_eur_m2_min] * error * error * dt_min
    x[X.step] += 1.0
    x[X.cost] += cost
    x[X.abs_error] += abs(error) * dt_min
    return cost


@hot_loop
def step_batch(plants, actions, noise, active, out):  # type: ignore[no-untyped-def]
    """One step of every active tank; returns the number of shifts that ended."""
    idx, cost, drift, values = plants.scratch
    n, r0, n_ended, zero = plants.state.shape[0], np.int64(0), 0, np.int64(0)
    sensor_col = np.int64(plants.drift_cols.shape[0])
    for lo in range(0, n, BLOCK):
        hi = min(lo + BLOCK, n)
        for i in range(lo, hi):
            out.unit_end[i] = False
        m = active_block(active, lo, hi, idx, out.reward, plants.obs, out.obs)
        drifts_of_block(plants, idx, m, noise, r0, zero, drift)
        for k in range(m):
            i = idx[k]
            p, x = plants.params[i], plants.state[i]
            if drift.shape[0] > 0:
                x[X.drain_factor] = drift[0, k]
            cost[k] = plant_step(p, plants.derived[i], x, plants.mode, actions[i])
            values[0, k] = x[X.level]
        sensors_of_block(plants, idx, m, noise, r0, sensor_col, values)
        for k in range(m):
            i = idx[k]
            p, x = plants.params[i], plants.state[i]
            observe(p, x, values[0, k], plants.obs[i])
            copy_row(plants.obs, out.obs, i)
            out.reward[i] = -cost[k]
            if x[X.step] >= plants.max_steps:
                kpi = plants.unit_kpi[i]
                kpi[K.mean_abs_error_m] = x[X.abs_error] / (x[X.step] * plants.derived[i, D.dt_min])
                kpi[K.cost_eur], kpi[K.steps] = x[X.cost], x[X.step]
                plants.units_done[i] += 1
                out.unit_end[i] = True
                n_ended += 1
        r0 += m
    sensor_bank_advance(plants.sensor_state)
    return n_ended
