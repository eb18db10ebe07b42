"""The paint line's step: actions → physics → sensors → observation → reward → KPIs, and the
batch kernels that run it on a bundle of plants (:class:`envs.core.bundle.Plants`).

One control step is one car body (the takt ``3600/jph`` s). The physics the step chains is in
:mod:`envs.paint.physics` (booths, films, climate, defects, energy, cost) and
:mod:`envs.paint.oven` (cure); the per-plant constants in :mod:`envs.paint.derive`; every row
layout in :mod:`envs.paint.layout`. Reward = −cost/100 (EUR per body). There is no early
termination (an episode is a shift of bodies; the batch truncates), so no horizon-aware terminal
penalty is needed (DESIGN.md, reward design caution).

The bundle of a paint batch (:func:`envs.paint.batch.new_paint_plants`):

| field | content |
| --- | --- |
| ``params``, ``derived``, ``state`` | ``P``, ``D`` (:func:`derive_batch`), ``X`` rows |
| ``obs`` | ``OBSERVATION`` rows (float32), clipped to [obs_low, obs_high] |
| ``step_kpi`` | ``PRODUCT_KPI`` of the body each plant painted last (every step) |
| ``unit_acc`` | ``UNIT_ACC``: the shift's sums of body KPIs (:func:`accumulate_body`) |
| ``unit_kpi`` | ``UNIT_KPI`` of the shift that ended last (:func:`shift_kpis`, NaN before) |
| ``units_done`` | shifts ended this episode (0 or 1: an episode is a shift) |
| drift bank | ``DRIFTS`` rows (or none: no drifts) |
| sensor bank | ``SIGNALS`` rows (or none: exact readings) |
| ``scratch`` | :class:`StepScratch` (:func:`step_scratch`) |
| ``max_steps`` | bodies per shift |

The bodies painted in a shift are counted in the state (``X.body``, an observation too), which
the shift end compares with ``max_steps``. Noise of a plant-step (one uint16 row per *active*
plant): ``PROCESS_WORDS`` (style of the body after next, flow and deposition scatter, lot events
and new lots), then the drift bank's words, then the sensor bank's. The banks must be built for
the takt, so ``jph`` must not be randomised across the plants of a batch. Randomness never
enters here: the batch draws the words and the reset normals.

The shift summary (:func:`shift_kpis`: means, Cpk) is a small numpy function the batch calls for
the plants whose shift ended: it runs once per shift, not per body, and its numpy arithmetic is
the reference the golden files were recorded with.

Speed: the bare plant phase (:func:`plant_phase`, timed by :mod:`envs.paint.profile`) costs
≈ 1.2–1.35 × the BOF kernel in the same process at 256–4096 plants. It runs the parts of
:func:`plant_step` plant by plant over a block (:func:`body_start`, the booth's wet bulb,
:func:`body_finish`): the wet bulb's Newton steps, a chain of exponentials and divisions
(≈ 80 ns per body when each plant waits on its own), then overlap across plants (≈ 35 ns), with
the same numbers.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from envs.core.actions import rate_limited, setpoint
from envs.core.bundle import Plants
from envs.core.disturbances import drift_bank_reset
from envs.core.jit import active_block, copy_row, hot_loop
from envs.core.noise import uniform
from envs.core.sensors import sensor_bank_advance, sensor_bank_reset
from envs.core.steps import drifts_of_block, sensors_of_block
from envs.paint.derive import derive, practice_setpoints
from envs.paint.layout import (
    AC,
    ACT_HI,
    ACT_LO,
    ACT_RATE,
    AS,
    DR,
    LAYER_STRIDE,
    N_ACT,
    N_CLIMATE_SIGNALS,
    N_LAYERS,
    N_PROCESS_WORDS,
    N_SIGNALS,
    N_STATION_ACT,
    N_STYLES,
    N_UNIT_KPI,
    P_LAYER_STRIDE,
    PK,
    RESET_LOT_STRIDE,
    RL,
    SHIFT_MEAN_COLS,
    SIG,
    STATION_STRIDE,
    XL,
    A,
    D,
    O,
    P,
    R,
    W,
    X,
)
from envs.paint.oven import oven_cure
from envs.paint.physics import (
    WET_BULB_NEWTON_STEPS,
    climate,
    cost_eur,
    defects,
    energy,
    flash,
    ln_visc_rel,
    needs_wet_bulb,
    new_lot,
    nominal_pv_booth,
    p_sat_kpa,
    paint_lots,
    station,
    wet_bulb_c,
    wet_bulb_newton,
    zahn4_seconds,
)

__all__ = [
    "BLOCK",
    "REWARD_SCALE_EUR",
    "StepScratch",
    "derive_batch",
    "plant_phase",
    "plant_step",
    "reset_batch",
    "shift_kpis",
    "step_batch",
    "step_scratch",
]

REWARD_SCALE_EUR = 100.0  # reward = −cost / 100 EUR
BLOCK = 64  # plants per block of the step: their rows stay in cache from drifts to observation


# ---------------------------------------------------------------- actions
@njit(cache=True, error_model="numpy", inline="always")
def _setpoints(p, d, x, mode, action, style, out):  # type: ignore[no-untyped-def]
    """Map an action to actuals with the shared rule (:mod:`envs.core.actions`): around the
    style's recipe (``out``, written) or absolute, clipped, rate-limited per body."""
    practice_setpoints(p, d, style, out)
    for j in range(N_ACT):
        target = setpoint(mode, action[j], out[j], ACT_LO[j], ACT_HI[j], d[D.span + j])
        x[X.act + j] = rate_limited(x[X.act + j], target, ACT_RATE[j])


@njit(cache=True, error_model="numpy", inline="always")
def draw_style(d: np.ndarray, u: float) -> int:
    """The style of a body from a uniform and the plant's cumulative style mix."""
    for s in range(N_STYLES - 1):
        if u < d[D.style_cum + s]:
            return s
    return N_STYLES - 1


# ---------------------------------------------------------------- the price of high voltage
HV_CAP_KV = ACT_HI[A.base_voltage]  # the actuator cap (90 kV), where the risk reaches its set size


@njit(cache=True, error_model="numpy", inline="always")
def hv_side_effects(p: np.ndarray, x: np.ndarray) -> float:
    """Electrostatic side-effect risk of the body just painted, layers combined (written to
    ``X.hv``; the cost charges it at ``rework_cost_eur``).

    Without it high voltage would be a free lever: in the physics it only raises TE and shrinks
    droplets (docs/physics/paint.md §6.1). Its sourced side effects (paint_v1_sources.md §3):
    an effect base loses flake orientation as its electrostatic share rises (clouding, flop;
    effect bases are sprayed partly without electrostatics [Khanna08], [PF-met]), and high
    voltage starves recesses (Faraday cage) and builds edges [PCF], [Sundial]. Per layer the risk
    is 0 up to ``<layer>_hv_onset_kv`` and rises quadratically (C¹: no kink at the onset) to
    ``<layer>_hv_risk_at_cap`` at the 90 kV cap; the sizes are estimates, only the directions
    are sourced.
    """
    keep = 1.0
    for layer in range(N_LAYERS):
        b = layer * P_LAYER_STRIDE
        onset = p[P.base_hv_onset_kv + b]
        kv = x[X.act + layer * STATION_STRIDE + AS.voltage]
        if kv > onset and HV_CAP_KV > onset:
            u = min((kv - onset) / (HV_CAP_KV - onset), 1.0)
            keep *= 1.0 - p[P.base_hv_risk_at_cap + b] * u * u
    x[X.hv] = 1.0 - keep
    return x[X.hv]


# ---------------------------------------------------------------- one body
@njit(cache=True, error_model="numpy", inline="always")
def body_kpis(p: np.ndarray, x: np.ndarray, cost: float, out: np.ndarray) -> None:
    """``PRODUCT_KPI`` of the body just painted (true films, not the gauges' readings)."""
    for layer in range(N_LAYERS):
        b, s = layer * P_LAYER_STRIDE, X.layers + layer * LAYER_STRIDE
        dft = x[s + XL.dft]
        out[PK.dft_base_um + layer] = dft
        in_band = abs(dft - p[P.base_dft_target_um + b]) <= p[P.base_dft_tol_um + b]
        out[PK.in_spec_base + layer] = 1.0 if in_band else 0.0
        out[PK.te_base + layer] = x[s + XL.te]
        out[PK.paint_base_l + layer] = x[s + XL.paint_ml] * 0.001
        out[PK.d32_base_um + layer] = x[s + XL.d32]
    out[PK.paint_total_l] = out[PK.paint_base_l] + out[PK.paint_clear_l]
    out[PK.energy_hvac_kwh], out[PK.energy_oven_kwh] = x[X.e_hvac], x[X.e_oven]
    out[PK.energy_kwh] = x[X.e_hvac] + x[X.e_oven]
    out[PK.sag_risk], out[PK.orange_peel_risk] = x[X.sag], x[X.op]
    out[PK.dry_spray_risk], out[PK.solvent_pop_risk] = x[X.dry], x[X.pop]
    out[PK.hv_side_effect_risk] = x[X.hv]
    cure_ok = x[X.alpha] >= p[P.cure_alpha_min] and x[X.overbake_min] <= p[P.overbake_max_min]
    out[PK.cure_ok] = 1.0 if cure_ok else 0.0
    out[PK.booth_temp_c], out[PK.booth_rh_pct] = x[X.t_booth], x[X.rh_booth]
    out[PK.cost_eur], out[PK.body_style] = cost, x[X.style]
    out[PK.base_residual_water], out[PK.cure_alpha_heavy] = x[X.water_res], x[X.alpha]
    out[PK.outdoor_temp_c] = x[X.t_out]


@njit(cache=True, error_model="numpy", inline="always")
def body_start(plants: Plants, i: int, action: np.ndarray, words: np.ndarray) -> None:
    """First part of :func:`plant_step`: style, lots, actuators and climate of line ``i``."""
    p, d, x = plants.params[i], plants.derived[i], plants.state[i]
    style = int(x[X.next_style])
    x[X.style] = style
    x[X.next_style] = draw_style(d, uniform(words[W.style_hi], words[W.style_lo]))
    paint_lots(p, x, words)
    _setpoints(p, d, x, plants.mode, action, style, plants.scratch.practice)
    climate(p, d, x)


@njit(cache=True, error_model="numpy", inline="always")
def body_finish(plants: Plants, i: int, words: np.ndarray, t_wb: float) -> float:
    """Rest of :func:`plant_step` after :func:`body_start` (``t_wb``: the booth's wet bulb,
    read by waterborne layers): stations, flash, oven, risks, cost, body KPIs."""
    p, d, x = plants.params[i], plants.derived[i], plants.state[i]
    style = int(x[X.style])
    station(p, d, x, 0, style, words, t_wb)
    station(p, d, x, 1, style, words, t_wb)
    flash(p, d, x)
    oven_cure(p, d, x)
    defects(p, d, x)
    energy(p, d, x, style)
    cost = cost_eur(p, d, x) + p[P.rework_cost_eur] * hv_side_effects(p, x)
    x[X.cost] += cost
    x[X.body] += 1.0
    body_kpis(p, x, cost, plants.step_kpi[i])
    return cost


@njit(cache=True, error_model="numpy", inline="always")
def plant_step(plants: Plants, i: int, action: np.ndarray, words: np.ndarray) -> float:
    """One body through line ``i`` of ``plants``: style, actuators, climate, stations, flash,
    oven, risks, cost, body KPIs (into ``step_kpi[i]``). ``words`` is the plant's uint16 row;
    its first ``N_PROCESS_WORDS`` are used. Returns the body's cost in EUR.

    The very step the env, the practice runs and the MPC rollouts (:mod:`envs.paint.rollout`)
    run (:func:`plant_phase` runs the same parts plant by plant over a block); the work row of
    the recipe set-points is ``plants.scratch.practice``.
    """
    body_start(plants, i, action, words)
    x = plants.state[i]
    t_wb = x[X.t_booth]  # unused without a waterborne layer
    if needs_wet_bulb(plants.params[i]):
        t_wb = wet_bulb_c(x[X.t_booth], x[X.pv_booth])
    return body_finish(plants, i, words, t_wb)


# ---------------------------------------------------------------- drifts, sensors, observation
@njit(cache=True, error_model="numpy", inline="always")
def apply_drifts(x: np.ndarray, dv: np.ndarray, col: int) -> None:
    """Copy the drift values of this body (column ``col`` of ``dv``, drifts × plants) into the
    state (the log only when it changes)."""
    x[X.dt_out], x[X.drh_out] = dv[DR.outdoor_temp, col], dv[DR.outdoor_rh, col]
    x[X.wear] = dv[DR.bell_wear, col]
    for layer in range(N_LAYERS):
        s = X.layers + layer * LAYER_STRIDE
        x[s + XL.tpaint_dev] = dv[DR.paint_temp_base + layer, col]
        visc, vs = dv[DR.visc_base + layer, col], dv[DR.vs_base + layer, col]
        if visc != x[s + XL.dr_visc]:
            x[s + XL.dr_visc], x[s + XL.dr_ln_visc] = visc, math.log(visc)
        x[s + XL.dr_vs] = vs


@njit(cache=True, error_model="numpy")
def _neutral_drifts(x: np.ndarray) -> None:
    """Drift entries of the state when the plant runs without a drift bank."""
    x[X.dt_out], x[X.drh_out], x[X.wear] = 0.0, 0.0, 1.0
    for layer in range(N_LAYERS):
        s = X.layers + layer * LAYER_STRIDE
        x[s + XL.tpaint_dev], x[s + XL.dr_visc], x[s + XL.dr_ln_visc] = 0.0, 1.0, 0.0
        x[s + XL.dr_vs] = 1.0


@njit(cache=True, error_model="numpy", inline="always")
def true_signals(p: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    """True values of the measured signals for the body just painted (``SIGNALS`` order)."""
    out[SIG.booth_temp], out[SIG.booth_rh] = x[X.t_booth], x[X.rh_booth]
    out[SIG.outdoor_temp], out[SIG.outdoor_rh] = x[X.t_out], x[X.rh_out]
    for layer in range(N_LAYERS):
        b, s = layer * P_LAYER_STRIDE, X.layers + layer * LAYER_STRIDE
        out[SIG.paint_temp_base + layer] = p[P.paint_temp_c] + x[s + XL.tpaint_dev]
        mu = p[P.base_visc_mpas + b] * math.exp(x[s + XL.ln_mu_rel])
        out[SIG.visc_base_cup + layer] = zahn4_seconds(mu, p[P.base_density_kg_l + b])
        out[SIG.dft_base + layer] = x[s + XL.dft]
        out[SIG.wft_base + layer] = x[s + XL.wft]
    out[SIG.dft_body_style] = x[X.style]


@njit(cache=True, error_model="numpy", inline="always")
def _put(obs: np.ndarray, j: int, v: float, lo: np.ndarray, hi: np.ndarray) -> None:
    obs[j] = min(max(v, lo[j]), hi[j])


@njit(cache=True, error_model="numpy", inline="always")
def observe(plants: Plants, i: int, meas: np.ndarray) -> None:
    """Observation row ``obs[i]`` (float32, clipped to the Box): readings ``meas`` (``SIGNALS``
    order), next style, actuals, line state."""
    p, x, obs = plants.params[i], plants.state[i], plants.obs[i]
    lo, hi = plants.obs_low, plants.obs_high
    for j in range(N_CLIMATE_SIGNALS):  # booth, outdoor, paint temperatures, viscosities
        _put(obs, O.booth_temp + j, meas[SIG.booth_temp + j], lo, hi)
    for layer in range(N_LAYERS):
        _put(obs, O.dft_base_measured + layer, meas[SIG.dft_base + layer], lo, hi)
    _put(obs, O.dft_measured_body_style, meas[SIG.dft_body_style], lo, hi)
    inline = p[P.inline_wft] > 0.5
    for layer in range(N_LAYERS):
        _put(obs, O.wft_base_inline + layer, meas[SIG.wft_base + layer] if inline else 0.0, lo, hi)
    obs[O.inline_wft_available] = 1.0 if inline else 0.0
    nxt = int(x[X.next_style])
    for s in range(N_STYLES):
        obs[O.next_style_sedan + s] = 1.0 if s == nxt else 0.0
    for j in range(N_STATION_ACT):
        _put(obs, O.base_flow + j, x[X.act + j], lo, hi)
    _put(obs, O.booth_temp_setpoint, p[P.booth_temp_c] + x[X.act + A.booth_temp_offset], lo, hi)
    _put(obs, O.booth_rh_setpoint, p[P.booth_rh_pct] + x[X.act + A.booth_rh_offset], lo, hi)
    _put(obs, O.oven_setpoint, x[X.act + A.oven_setpoint], lo, hi)
    _put(obs, O.oven_air_temp, x[X.oven_t], lo, hi)
    for layer in range(N_LAYERS):
        since = x[X.layers + layer * LAYER_STRIDE + XL.since_lot]
        _put(obs, O.bodies_since_lot_base + layer, since, lo, hi)
    _put(obs, O.time_of_day, x[X.tod], lo, hi)
    _put(obs, O.body_index, x[X.body], lo, hi)
    for layer in range(N_LAYERS):
        target = p[P.base_dft_target_um + layer * P_LAYER_STRIDE]
        _put(obs, O.dft_target_base + layer, target, lo, hi)


# ---------------------------------------------------------------- KPIs of the shift
@njit(cache=True, error_model="numpy", inline="always")
def accumulate_body(kpi_row: np.ndarray, acc_row: np.ndarray) -> None:
    """Add one body's KPIs to its shift's sums (``UNIT_ACC``)."""
    acc_row[AC.bodies] += 1.0
    for j in range(SHIFT_MEAN_COLS.shape[0]):
        acc_row[AC.means + j] += kpi_row[SHIFT_MEAN_COLS[j]]
    for layer in range(N_LAYERS):
        acc_row[AC.te + layer] += kpi_row[PK.te_base + layer]
        v = kpi_row[PK.dft_base_um + layer]
        acc_row[AC.dft + 2 * layer] += v
        acc_row[AC.dft + 2 * layer + 1] += v * v


def shift_kpis(acc: np.ndarray, params: np.ndarray) -> np.ndarray:
    """``UNIT_KPI`` rows from accumulator rows and parameter rows (numpy, once per shift).

    Cpk = min(USL − mean, mean − LSL) / (3 sd) of the true DFT over the shift's bodies, with
    the layer's target ± tolerance as the specification limits (AIAG PPAP practice;
    docs/physics/paint.md §6).
    """
    acc = np.atleast_2d(acc)
    params = np.atleast_2d(params)
    n = np.maximum(acc[:, AC.bodies], 1.0)
    out = np.empty((acc.shape[0], N_UNIT_KPI))
    out[:, 0] = acc[:, AC.bodies]
    k = 1 + SHIFT_MEAN_COLS.shape[0]
    out[:, 1:k] = acc[:, AC.means : AC.means + k - 1] / n[:, None]
    out[:, k : k + N_LAYERS] = acc[:, AC.te : AC.te + N_LAYERS] / n[:, None]
    k += N_LAYERS
    for layer in range(N_LAYERS):
        s, s2 = acc[:, AC.dft + 2 * layer], acc[:, AC.dft + 2 * layer + 1]
        mean = s / n
        var = np.maximum(s2 / n - mean**2, 0.0) * n / np.maximum(n - 1.0, 1.0)
        sd = np.sqrt(var)
        b = layer * P_LAYER_STRIDE
        target, tol = params[:, P.base_dft_target_um + b], params[:, P.base_dft_tol_um + b]
        margin = np.minimum(target + tol - mean, mean - target + tol)
        with np.errstate(divide="ignore", invalid="ignore"):
            cpk = np.where(sd > 0, margin / (3.0 * sd), np.inf)
        out[:, k : k + 3] = np.stack([mean, sd, cpk], axis=1)
        k += 3
    return out


# ---------------------------------------------------------------- reset
@njit(cache=True, error_model="numpy")
def _norm_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


@njit(cache=True, error_model="numpy")
def init_plant(p: np.ndarray, d: np.ndarray, x: np.ndarray, z: np.ndarray) -> None:
    """Start of a shift: recipe actuals, booth and oven at their set-points, nominal films.

    Drift-derived entries (``apply_drifts``) must already be in ``x``; ``z`` are the
    ``RESET_NOISE`` standard normals (first style; per layer lot age, viscosity, solids).
    """
    style = draw_style(d, _norm_cdf(z[R.style]))
    x[X.next_style], x[X.style], x[X.body], x[X.cost] = style, style, 0.0, 0.0
    practice_setpoints(p, d, style, x[X.act : X.act + N_ACT])
    tod = p[P.shift_start_h] % 24.0
    phase = 2.0 * math.pi * (tod - p[P.outdoor_peak_h]) / 24.0
    x[X.tod], x[X.cos], x[X.sin] = tod, math.cos(phase), math.sin(phase)
    x[X.t_out] = p[P.outdoor_temp_mean_c] + p[P.outdoor_temp_amp_k] * x[X.cos] + x[X.dt_out]
    x[X.psat_out] = p_sat_kpa(x[X.t_out])
    x[X.rh_out] = min(max(100.0 * d[D.pv_out] / x[X.psat_out] + x[X.drh_out], 2.0), 100.0)
    t_b = p[P.booth_temp_c]
    x[X.t_sp_del], x[X.rh_sp_del] = t_b, p[P.booth_rh_pct]
    x[X.pv_out] = x[X.rh_out] / 100.0 * x[X.psat_out]
    x[X.t_booth] = t_b + p[P.hvac_leak_temp] * (x[X.t_out] - t_b)
    x[X.psat_booth] = p_sat_kpa(x[X.t_booth])
    pv_sp = nominal_pv_booth(p)
    pv = min(pv_sp + p[P.hvac_leak_rh] * (x[X.pv_out] - pv_sp), x[X.psat_booth])
    x[X.pv_booth] = pv
    x[X.rh_booth] = max(100.0 * pv / x[X.psat_booth], 5.0)
    x[X.oven_t] = p[P.recipe_oven_c]
    x[X.rate_amb] = d[D.rate_amb_nom]
    for layer in range(N_LAYERS):
        b, s = layer * P_LAYER_STRIDE, X.layers + layer * LAYER_STRIDE
        # the shift starts inside a lot: its own viscosity and solids, an exponential age
        zl = R.lots + layer * RESET_LOT_STRIDE
        u = min(_norm_cdf(z[zl + RL.age]), 1.0 - 1e-12)
        x[s + XL.since_lot] = math.floor(-p[P.batch_interval_bodies] * math.log(1.0 - u))
        new_lot(p, x, s, z[zl + RL.visc], z[zl + RL.vs])
        vs, target, evap = (
            p[P.base_vs + b],
            p[P.base_dft_target_um + b],
            p[P.base_evap_inflight + b],
        )
        x[s + XL.dft], x[s + XL.vs] = target, vs * x[s + XL.lot_vs] * x[s + XL.dr_vs]
        x[s + XL.wft] = target * (vs + (1.0 - vs) * (1.0 - evap)) / vs
        x[s + XL.d32], x[s + XL.evap] = d[D.d32_nom + layer], evap
        ln_mult = x[s + XL.lot_ln_visc] + x[s + XL.dr_ln_visc]
        t_paint = p[P.paint_temp_c] + x[s + XL.tpaint_dev]
        x[s + XL.ln_mu_rel] = ln_visc_rel(d, layer, t_paint, ln_mult)


# ---------------------------------------------------------------- batch kernels
@njit(cache=True, error_model="numpy")
def derive_batch(plants: Plants) -> None:
    """:func:`envs.paint.derive.derive` for every plant."""
    for i in range(plants.params.shape[0]):
        derive(plants.params[i], plants.derived[i])


@njit(cache=True, error_model="numpy")
def reset_batch(plants: Plants, idx: np.ndarray, z: np.ndarray, rederive: bool) -> None:
    """Start a shift for the plants ``idx`` (int64), with the ``RESET_NOISE`` normals ``z[k]``
    for plant ``idx[k]``: state, drift and sensor banks, observation, the shift's sums.

    ``rederive`` recomputes the per-plant constants from ``params`` (needed when the parameters
    changed, e.g. randomised; the oven cure fit makes it the costly part of a reset). Delay
    buffers start full of the nominal films (the bodies already in the oven were painted to
    target).
    """
    drift_cfg = plants.drift_cfg
    dv = np.empty((drift_cfg.shape[0], 1))
    true_sig = np.empty(N_SIGNALS)
    for k in range(idx.shape[0]):
        i = idx[k]
        p, d, x = plants.params[i], plants.derived[i], plants.state[i]
        if rederive:
            derive(p, d)
        x[:] = 0.0
        _neutral_drifts(x)
        if drift_cfg.shape[0] > 0:
            drift_bank_reset(drift_cfg, plants.drift_state[i], dv[:, 0])
            apply_drifts(x, dv, 0)
        init_plant(p, d, x, z[k])
        true_signals(p, x, true_sig)
        sensor_bank_reset(plants.sensor_cfg, plants.sensor_state, i, true_sig)
        observe(plants, i, true_sig)
        plants.unit_acc[i, :] = 0.0
        plants.units_done[i] = 0


class StepScratch(NamedTuple):
    """Work arrays of the step (one block's worth; a compiled hot loop cannot allocate):
    :func:`step_scratch` makes them once per bundle."""

    idx: np.ndarray  # int64 (BLOCK,): plants of the block
    cost: np.ndarray  # (BLOCK,): their body's cost, EUR
    practice: np.ndarray  # (N_ACT,): the recipe set-points of one plant
    dv: np.ndarray  # (n_drifts, BLOCK): drift values of the body
    values: np.ndarray  # (N_SIGNALS, BLOCK): true signals, then readings
    t_wb: np.ndarray  # (BLOCK,): the booth's wet bulb, °C, Newton iterates on the way
    sensor_word0: int  # first noise word of the sensor bank in a plant's row


def step_scratch(n_plants: int, n_drifts: int, n_drift_words: int) -> StepScratch:
    """The work arrays of the step for ``n_plants`` lines with ``n_drifts`` drifts that take
    ``n_drift_words`` noise words per plant-step."""
    b = min(BLOCK, n_plants)
    return StepScratch(
        np.empty(b, dtype=np.int64),
        np.empty(b),
        np.empty(N_ACT),
        np.empty((n_drifts, b)),
        np.empty((N_SIGNALS, b)),
        np.empty(b),
        N_PROCESS_WORDS + int(n_drift_words),
    )


@hot_loop
def plant_phase(plants, actions, words, r0, dcol0, m):  # type: ignore[no-untyped-def]
    """The plant step of the block's plants ``scratch.idx[:m]``: block column k applies its
    drift values (column ``dcol0 + k`` of ``scratch.dv``, drifts × plants; none without a drift
    bank) and paints a body with the process words of row ``r0 + k`` of ``words``; its cost
    (EUR) goes to ``scratch.cost[k]``. The "kernel" the benchmark compares the rest of a step
    against (:func:`envs.paint.profile.plant_step_batch` runs it over every plant)."""
    idx, cost, dv, t_wb = (
        plants.scratch.idx,
        plants.scratch.cost,
        plants.scratch.dv,
        plants.scratch.t_wb,
    )
    state = plants.state
    drifting = dv.shape[0] > 0
    for k in range(m):
        i = idx[k]
        if drifting:
            apply_drifts(state[i], dv, dcol0 + k)
        body_start(plants, i, actions[i], words[r0 + k])
        t_wb[k] = state[i, X.t_booth]
    # plant_step's wet bulb, Newton step by Newton step over the block: the same numbers, but
    # the plants' chains of exponentials and divisions overlap (≈ 80 ns per body one at a time)
    for _ in range(WET_BULB_NEWTON_STEPS):
        for k in range(m):
            i = idx[k]
            if needs_wet_bulb(plants.params[i]):
                t_wb[k] = wet_bulb_newton(state[i, X.t_booth], state[i, X.pv_booth], t_wb[k])
    for k in range(m):
        i = idx[k]
        cost[k] = body_finish(plants, i, words[r0 + k], t_wb[k])


@hot_loop
def step_batch(plants, actions, noise, active, out):  # type: ignore[no-untyped-def]
    """One body for every active plant: drifts, plant step, sensors, observation, reward, shift
    sums; returns the number of plants whose shift is over (``out.unit_end``).

    ``noise`` (uint16) holds one row per *active* plant, in plant order (the module's noise
    layout). Inactive plants (``active[i]`` False) are left as they are, reward 0. ``obs`` keeps
    each plant's observation, and every row, inactive plants' included, is also copied to
    ``out.obs`` (the array a vector env returns; it may be ``plants.obs`` itself) while it is in
    cache. Rewards (``out.reward``) are −cost/100 EUR.

    Blocks of :data:`BLOCK` plants go through the drift bank, the plant step
    (:func:`plant_phase`), the sensors (both banks part by part over the block:
    :mod:`envs.core.disturbances`, :mod:`envs.core.sensors`), then observation, reward and shift
    sums; each plant sees the same operations in the same order as in one loop, so the numbers
    are those of one loop.
    """
    idx, cost, _, dv, values, _, s1 = plants.scratch
    state, obs, reward, ended = plants.state, plants.obs, out.reward, out.unit_end
    # integers passed on as int64, never as literals: a literal argument would compile the
    # callee once more, specialised on its value (numba's literal dispatch)
    n, r0, n_ended, zero = state.shape[0], np.int64(0), 0, np.int64(0)
    s0 = np.int64(N_PROCESS_WORDS)
    for lo in range(0, n, BLOCK):
        hi = min(lo + BLOCK, n)
        m = active_block(active, lo, hi, idx, reward, obs, out.obs)
        drifts_of_block(plants, idx, m, noise, r0, s0, dv)
        plant_phase(plants, actions, noise, r0, zero, m)
        for k in range(m):
            i = idx[k]
            true_signals(plants.params[i], state[i], values[:, k])
        sensors_of_block(plants, idx, m, noise, r0, s1, values)
        for k in range(m):
            i = idx[k]
            observe(plants, i, values[:, k])
            copy_row(obs, out.obs, i)
            reward[i] = -cost[k] / REWARD_SCALE_EUR
            accumulate_body(plants.step_kpi[i], plants.unit_acc[i])
        for i in range(lo, hi):
            ended[i] = state[i, X.body] >= plants.max_steps
            if ended[i]:
                plants.units_done[i] += 1
                n_ended += 1
        r0 += m
    sensor_bank_advance(plants.sensor_state)
    return n_ended
