"""The operator's fixed recipe and production runs of the paint line without the Gymnasium shell.

Used by the physics tests, the calibration script and the docs. The recipe itself lives in the
compiled code (:func:`envs.paint.derive.recipe_flow`, :func:`envs.paint.derive.practice_setpoints`),
so the env's zero adjust action and :func:`run_production` with ``action=None`` paint the same
bodies. A run builds the bundle a :class:`envs.paint.batch.PaintBatch` builds
(:func:`envs.paint.batch.new_paint_plants`) and steps it with :func:`envs.paint.core.step_batch`
exactly as an env does (same drift and sensor banks, same noise layout), several plants side by
side, seeded by ``seed``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core.actions import ACTION_MODES
from envs.core.bundle import StepOutput
from envs.core.disturbances import DriftBank, DriftSpec
from envs.core.noise import draw_bits
from envs.core.sensors import SensorBank, SensorSpec, merge_specs
from envs.paint import core
from envs.paint.batch import new_paint_plants
from envs.paint.derive import derive, practice_setpoints
from envs.paint.layout import (
    ACTUATORS,
    N_ACT,
    N_DERIVED,
    N_OBS,
    N_PROCESS_WORDS,
    N_PRODUCT_KPI,
    N_RESET_NOISE,
    PRODUCT_KPI,
    W,
    default_drifts,
    default_sensors,
)
from envs.paint.params import STYLES, PaintLineParams

__all__ = [
    "ProductionRun",
    "build_banks",
    "cpk",
    "recipe_setpoints",
    "run_production",
]

NEUTRAL_WORD = 1 << 15  # a word whose table normal is ≈ 0 (the median level)


def recipe_setpoints(params: PaintLineParams | None = None) -> dict[str, dict[str, float]]:
    """The operator's recipe in engineering units, per body style (``ACTUATORS`` keys)."""
    p = (params or PaintLineParams()).to_array()
    d = np.zeros(N_DERIVED)
    derive(p, d)
    out = np.zeros(N_ACT)
    table = {}
    for s, style in enumerate(STYLES):
        practice_setpoints(p, d, s, out)
        table[style] = dict(zip(ACTUATORS.names, out.tolist(), strict=True))
    return table


def cpk(values: np.ndarray, target: float, tol: float) -> float:
    """Process capability against the band target ± tol: min(USL − μ, μ − LSL)/(3σ) [AIAG]."""
    mu, sd = float(np.mean(values)), float(np.std(values, ddof=1))
    return min(target + tol - mu, mu - target + tol) / (3.0 * sd)


@dataclasses.dataclass
class ProductionRun:
    """KPIs, observations and rewards of a run: arrays (n_plants, n_bodies, …); the final state
    and derived rows, (n_plants, …), for internals (``X``, ``D`` of :mod:`envs.paint.layout`)."""

    kpi: np.ndarray
    obs: np.ndarray
    reward: np.ndarray
    params: PaintLineParams
    state: np.ndarray
    derived: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        """KPI ``name`` of every plant and body, (n_plants, n_bodies)."""
        return self.kpi[..., PRODUCT_KPI.index(name)]

    def mean(self, name: str) -> float:
        return float(self[name].mean())

    def cpk(self, layer: str) -> float:
        """Cpk of the true DFT of ``layer`` ("base" or "clear"), pooled over plants and bodies."""
        target = getattr(self.params, f"{layer}_dft_target_um")
        tol = getattr(self.params, f"{layer}_dft_tol_um")
        return cpk(self[f"dft_{layer}_um"].ravel(), target, tol)

    def ppm_out(self, layer: str) -> float:
        """Out-of-spec bodies per million (true DFT outside the band)."""
        return 1e6 * (1.0 - float(self[f"in_spec_{layer}"].mean()))


def build_banks(
    params: PaintLineParams,
    drifts: bool | Mapping[str, Mapping[str, Any]] = True,
    sensors: bool | Mapping[str, Mapping[str, Any]] = True,
) -> tuple[DriftBank | None, SensorBank | None]:
    """The default drift and sensor banks of ``params`` (``False``: none; a mapping: overrides
    of single fields, ``{name: {field: value}}``)."""
    drift_bank: DriftBank | None = None
    sensor_bank: SensorBank | None = None
    if drifts is not False:
        d_over = None if drifts is True else drifts
        d_specs = merge_specs(default_drifts(params), d_over, DriftSpec, "drift")
        drift_bank = DriftBank(d_specs)
    if sensors is not False:
        s_over = None if sensors is True else sensors
        s_specs = merge_specs(default_sensors(params), s_over, SensorSpec, "sensor")
        sensor_bank = SensorBank(s_specs, params.cycle_time_s)
    return drift_bank, sensor_bank


def run_production(
    params: PaintLineParams | None = None,
    n_bodies: int = 480,
    *,
    n_plants: int = 1,
    seed: int = 0,
    action: np.ndarray | None = None,
    mode: str = "adjust",
    drifts: bool | Mapping[str, Mapping[str, Any]] = True,
    sensors: bool | Mapping[str, Mapping[str, Any]] = True,
    process_noise: bool = True,
) -> ProductionRun:
    """Paint ``n_bodies`` bodies on ``n_plants`` copies of a line and record every body.

    Args:
        params: plant parameters (nominal if None).
        n_bodies: bodies per plant (one shift at 50 JPH and 8 h is 400).
        n_plants: plants run side by side (independent draws).
        seed: seed of the run's generator (episode normals, then the words of every step).
        action: normalised action, (11,) for every body or (n_bodies, 11); None = zeros (the
            recipe in adjust mode).
        mode: "adjust" or "absolute".
        drifts, sensors: see :func:`build_banks`.
        process_noise: False sets the per-body flow and deposition scatter words to the median
            level (normal ≈ 0); the style words stay random (fix the mix with ``style_p_*``).
    """
    params = params or PaintLineParams()
    n = int(n_plants)
    rng = np.random.default_rng(seed)
    drift_bank, sensor_bank = build_banks(params, drifts, sensors)
    # a missing bank is an empty one: no drifts, exact readings
    plants = new_paint_plants(
        params,
        n,
        sensors=sensor_bank or SensorBank({}, params.cycle_time_s),
        drifts=drift_bank or DriftBank({}),
        mode=ACTION_MODES.index(mode),
        shift_bodies=n_bodies,
    )
    z = rng.standard_normal((n, N_RESET_NOISE))
    core.reset_batch(plants, np.arange(n, dtype=np.int64), z, True)
    acts = np.zeros((n_bodies, N_ACT)) if action is None else np.asarray(action, float)
    acts = np.broadcast_to(acts, (n_bodies, N_ACT))
    # process words, the drift bank's, the sensor bank's (the step's noise layout)
    n_words = plants.scratch.sensor_word0 + (sensor_bank.n_noise if sensor_bank else 0)
    kpi_all = np.zeros((n, n_bodies, N_PRODUCT_KPI))
    obs_all = np.zeros((n, n_bodies, N_OBS), dtype=np.float32)
    rew_all = np.zeros((n, n_bodies))
    active = np.ones(n, dtype=np.bool_)
    out = StepOutput(plants.obs, np.zeros(n), np.zeros(n, dtype=np.bool_))
    for k in range(n_bodies):
        bits = draw_bits(rng, n, n_words)
        if not process_noise:
            bits[:, W.flow : N_PROCESS_WORDS] = NEUTRAL_WORD
        a = np.ascontiguousarray(np.broadcast_to(acts[k], (n, N_ACT)))
        core.step_batch(plants, a, bits, active, out)
        kpi_all[:, k], obs_all[:, k], rew_all[:, k] = plants.step_kpi, plants.obs, out.reward
    return ProductionRun(
        kpi=kpi_all,
        obs=obs_all,
        reward=rew_all,
        params=params,
        state=plants.state,
        derived=plants.derived,
    )
