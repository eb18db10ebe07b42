"""The operator's fixed recipe and production runs of the paint line without the Gymnasium shell.

Used by the physics tests, the calibration script and the docs. The recipe itself lives in the
compiled core (:func:`core.recipe_flow`, :func:`core.practice_setpoints`), so the env's zero
adjust action and :func:`run_production` with ``action=None`` paint the same bodies. A run goes
through :func:`core.step_batch` exactly as an env does (same drift and sensor banks, same bit
layout), several plants side by side, seeded by ``seed``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core.disturbances import DriftBank, DriftSpec
from envs.core.noise import draw_bits
from envs.core.sensors import SensorBank, SensorSpec, merge_specs
from envs.paint import core
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
    """The operator's recipe in engineering units, per body style (``ACTUATOR_NAMES`` keys)."""
    p = (params or PaintLineParams()).to_array()
    d = np.zeros(core.N_DERIVED)
    core.derive(p, d)
    out = np.zeros(core.N_ACT)
    table = {}
    for s, style in enumerate(STYLES):
        core.practice_setpoints(p, d, s, out)
        table[style] = dict(zip(core.ACTUATOR_NAMES, out.tolist(), strict=True))
    return table


def cpk(values: np.ndarray, target: float, tol: float) -> float:
    """Process capability against the band target ± tol: min(USL − μ, μ − LSL)/(3σ) [AIAG]."""
    mu, sd = float(np.mean(values)), float(np.std(values, ddof=1))
    return min(target + tol - mu, mu - target + tol) / (3.0 * sd)


@dataclasses.dataclass
class ProductionRun:
    """KPIs, observations and rewards of a run: arrays (n_plants, n_bodies, …); the final state
    and derived rows of the core, (n_plants, …), for internals (``core.X_*``, ``core.D_*``)."""

    kpi: np.ndarray
    obs: np.ndarray
    reward: np.ndarray
    params: PaintLineParams
    state: np.ndarray
    derived: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        """KPI ``name`` of every plant and body, (n_plants, n_bodies)."""
        return self.kpi[..., core.KPI_NAMES.index(name)]

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
        d_specs = merge_specs(core.default_drifts(params), d_over, DriftSpec, "drift")
        drift_bank = DriftBank(d_specs)
    if sensors is not False:
        s_over = None if sensors is True else sensors
        s_specs = merge_specs(core.default_sensors(params), s_over, SensorSpec, "sensor")
        sensor_bank = SensorBank(s_specs, params.cycle_time_s)
    return drift_bank, sensor_bank


def _bank_arrays(bank: DriftBank | SensorBank, n: int) -> tuple:
    return bank.cfg, bank.noise_cols, bank.new_state(n), bank.n_noise


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
    dcfg, dcols, dstate, n_drift = _bank_arrays(drift_bank or DriftBank({}), n)
    scfg, scols, sstate, n_sens = _bank_arrays(
        sensor_bank or SensorBank({}, params.cycle_time_s), n
    )
    p = np.tile(params.to_array(), (n, 1))
    d, x = np.zeros((n, core.N_DERIVED)), np.zeros((n, core.N_STATE))
    obs = np.zeros((n, core.N_OBS), dtype=np.float32)
    dt = params.cycle_time_s
    z = rng.standard_normal((n, core.N_RESET_NOISE))
    core.reset_batch(
        p,
        d,
        x,
        np.arange(n),
        True,
        z,
        dcfg,
        dstate,
        scfg,
        sstate,
        dt,
        core.OBS_LOW,
        core.OBS_HIGH,
        obs,
    )
    acts = np.zeros((n_bodies, core.N_ACT)) if action is None else np.asarray(action, float)
    acts = np.broadcast_to(acts, (n_bodies, core.N_ACT))
    mode_code = ("adjust", "absolute").index(mode)
    n_words = core.N_PROCESS_WORDS + n_drift + n_sens
    kpi_all = np.zeros((n, n_bodies, core.N_KPI))
    obs_all = np.zeros((n, n_bodies, core.N_OBS), dtype=np.float32)
    rew_all = np.zeros((n, n_bodies))
    reward, kpi, active = np.zeros(n), np.zeros((n, core.N_KPI)), np.ones(n, dtype=np.bool_)
    acc, bodies, shift_end = np.zeros((n, core.N_ACC)), np.zeros(n, np.int64), np.zeros(n, bool)
    scratch = core.step_scratch(n, dcfg.shape[0])
    for k in range(n_bodies):
        bits = draw_bits(rng, n, n_words)
        if not process_noise:
            bits[:, core.W_FLOW : core.N_PROCESS_WORDS] = NEUTRAL_WORD
        a = np.ascontiguousarray(np.broadcast_to(acts[k], (n, core.N_ACT)))
        core.step_batch(
            p, d, x, a, mode_code, bits, n_drift, dcfg, dcols, dstate, scfg, scols, sstate,
            dt, core.OBS_LOW, core.OBS_HIGH, obs, obs, reward, kpi, active, acc, bodies, n_bodies,
            shift_end, scratch,
        )  # fmt: skip
        kpi_all[:, k], obs_all[:, k], rew_all[:, k] = kpi, obs, reward
    return ProductionRun(
        kpi=kpi_all, obs=obs_all, reward=rew_all, params=params, state=x, derived=d
    )
