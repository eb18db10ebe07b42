"""One bundle of arrays for a batch of plants: what every compiled kernel of every process takes.

A batch of N plants lives in arrays, one row per plant, whose columns each process declares in its
``layout.py`` (:mod:`envs.core.layout`). :class:`Plants` groups all of them, with the few scalars
of the batch, into one NamedTuple, so a kernel takes the bundle plus what changes each call
(actions, noise words, the active mask, the step's output arrays) — never a long positional list.
numba passes a NamedTuple of arrays like a struct of array views: no copies, no boxing per field.

| field | shape | content |
| --- | --- | --- |
| ``params`` | (n, n_params) float64 | parameters of the unit now running (after drifts) |
| ``base_params`` | (n, n_params) float64 | the episode's parameters (after randomisation) |
| ``derived`` | (n, n_derived) float64 | per-plant constants derived from params and dt |
| ``state`` | (n, n_state) float64 | the process state (``STATE`` layout) |
| ``obs`` | (n, n_obs) float32 | each plant's observation, clipped to [obs_low, obs_high] |
| ``obs_low``, ``obs_high`` | (n_obs,) float64 | the observation Box |
| ``step_kpi`` | (n, n_step_kpi) float64 | KPIs of the last step (``STEP_KPI`` layout) |
| ``unit_kpi`` | (n, n_unit_kpi) float64 | KPIs of the last ended unit (heat, shift) |
| ``unit_acc`` | (n, n_acc) float64 | sums a unit keeps while it runs (may have 0 columns) |
| ``units_done`` | (n,) int64 | units finished in this episode |
| ``sensor_cfg``, ``sensor_cols``, ``sensor_state`` | | the sensor bank (``envs.core.sensors``) |
| ``drift_cfg``, ``drift_cols``, ``drift_state``, ``drift_values`` | | the drift bank |
| ``drift_targets`` | (n_drifts,) int64 | parameter columns the drifts multiply (may be empty) |
| ``scratch`` | NamedTuple | the process's work arrays (a hot loop cannot allocate) |
| ``mode`` | int | ``MODE_ADJUST`` or ``MODE_ABSOLUTE`` (:mod:`envs.core.actions`) |
| ``dt_s`` | float | control step, s |
| ``max_steps`` | int | longest unit in steps (a forced end) |

:func:`new_plants` builds one, sized by the process's layout; :func:`snapshot` copies one
(planning, MPC rollouts).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from envs.core.disturbances import DriftBank
from envs.core.sensors import SensorBank, SensorState

__all__ = ["Plants", "StepOutput", "new_plants", "snapshot"]


class Plants(NamedTuple):
    """A batch of plants as one bundle of arrays (see the module's table)."""

    params: np.ndarray
    base_params: np.ndarray
    derived: np.ndarray
    state: np.ndarray
    obs: np.ndarray
    obs_low: np.ndarray
    obs_high: np.ndarray
    step_kpi: np.ndarray
    unit_kpi: np.ndarray
    unit_acc: np.ndarray
    units_done: np.ndarray
    sensor_cfg: np.ndarray
    sensor_cols: np.ndarray
    sensor_state: SensorState
    drift_cfg: np.ndarray
    drift_cols: np.ndarray
    drift_state: np.ndarray
    drift_values: np.ndarray
    drift_targets: np.ndarray
    scratch: Any
    mode: int
    dt_s: float
    max_steps: int


class StepOutput(NamedTuple):
    """What one batch step writes for every plant: arrays made for this step, which a vector
    env may return as they are."""

    obs: np.ndarray  # (n, n_obs) float32; may be the bundle's own ``obs``
    reward: np.ndarray  # (n,) float64
    unit_end: np.ndarray  # (n,) bool: a unit (heat, shift) ended this step


def new_plants(
    n: int,
    params: np.ndarray,
    layout: Any,
    *,
    sensors: SensorBank,
    drifts: DriftBank,
    scratch: Any,
    mode: int,
    dt_s: float,
    max_steps: int,
    drift_targets: np.ndarray | None = None,
) -> Plants:
    """A bundle of ``n`` plants, every plant starting from the parameter row ``params``, sized
    by the process's ``layout`` module: ``STATE``, ``DERIVED``, ``OBSERVATION`` (the Box) and
    ``UNIT_KPI``, and where the process has them ``PRODUCT_KPI`` (the step KPIs) and ``UNIT_ACC``
    (the sums a unit keeps while it runs).

    Derived constants and state are zero until the process derives and resets them.
    """
    base = np.tile(np.asarray(params, dtype=np.float64), (n, 1))
    targets = np.zeros(0, dtype=np.int64) if drift_targets is None else drift_targets
    obs = layout.OBSERVATION
    return Plants(
        params=base.copy(),
        base_params=base,
        derived=np.zeros((n, len(layout.DERIVED))),
        state=np.zeros((n, len(layout.STATE))),
        obs=np.zeros((n, len(obs)), dtype=np.float32),
        obs_low=np.ascontiguousarray(obs.low, dtype=np.float64),
        obs_high=np.ascontiguousarray(obs.high, dtype=np.float64),
        step_kpi=np.zeros((n, len(getattr(layout, "PRODUCT_KPI", ())))),
        unit_kpi=np.zeros((n, len(layout.UNIT_KPI))),
        unit_acc=np.zeros((n, len(getattr(layout, "UNIT_ACC", ())))),
        units_done=np.zeros(n, dtype=np.int64),
        sensor_cfg=sensors.cfg,
        sensor_cols=sensors.noise_cols,
        sensor_state=sensors.new_state(n),
        drift_cfg=drifts.cfg,
        drift_cols=drifts.noise_cols,
        drift_state=drifts.new_state(n),
        drift_values=np.ones((n, drifts.n_drifts)),
        drift_targets=np.asarray(targets, dtype=np.int64),
        scratch=scratch,
        mode=int(mode),
        dt_s=float(dt_s),
        max_steps=int(max_steps),
    )


def snapshot(plants: Plants, rows: np.ndarray | None = None, repeat: int = 1) -> Plants:
    """A deep copy of the bundle (of plants ``rows``, each repeated ``repeat`` times): a planner
    rolls copies forward without touching the plants themselves. Configuration arrays shared by
    every plant (sensor and drift configs, observation bounds) are shared, not copied; the
    scratch is the caller's to give (``plants._replace(scratch=...)``) when the count changes."""
    idx = np.arange(plants.state.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    idx = np.repeat(idx, repeat)

    def take(a: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(a[idx])

    return plants._replace(
        params=take(plants.params),
        base_params=take(plants.base_params),
        derived=take(plants.derived),
        state=take(plants.state),
        obs=take(plants.obs),
        step_kpi=take(plants.step_kpi),
        unit_kpi=take(plants.unit_kpi),
        unit_acc=take(plants.unit_acc),
        units_done=take(plants.units_done),
        sensor_state=SensorState(
            take(plants.sensor_state.fields),
            np.ascontiguousarray(plants.sensor_state.ring[:, idx]),
            plants.sensor_state.head.copy(),
        ),
        drift_state=take(plants.drift_state),
        drift_values=take(plants.drift_values),
    )
