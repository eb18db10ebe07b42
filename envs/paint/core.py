"""Compiled process core of an automotive topcoat line: one control step is one car body.

Model (lumped, closed forms, no sub-steps; sources and the calibrated/sourced/est. status of every
constant in :mod:`envs.paint.params`, relations from ``shared/PHYSICS.md`` §2 and
``shared/physics/paint_sources.md`` §B):

- **Film build** (the mass balance, [B1]): per station and body the bells spray
  ``V = n_bells · Q · t_on`` mL with ``t_on = on_fraction · t_c``; the solids deposited on the
  painted exterior are ``TE · VS · V`` and ``DFT = TE · VS · V / A`` (1 mL of solids on 1 m² is
  1 µm). The style's geometry factor g is carried in TE (``TE_geo``), so solids = DFT × A holds
  exactly (tested). Per body the delivered flow scatters by ``flow_noise_rel`` and the deposition
  by ``<layer>_te_scatter_rel`` (geometry, path; calibrated so the nominal Cpk is 1.0–1.33).
- **Droplets** [B3]: ``d32 = d_ref (N/N_ref)^-a (Q/Q_ref)^b (μ/μ_ref)^c (1 − k_U U/U_ref)/(1 − k_U)
  · wear``; viscosity Arrhenius in the paint temperature times the lot multiplier.
- **Transfer efficiency** [B2]: ``TE = TE_geo [TE_0 + (TE_max − TE_0)(1 − e^{−U/U_c})]
  e^{−k_v max(0, v − 0.3)} (1 − k_sa ((SA − SA_opt)/SA_opt)²) (1 − e^{−(d32/d_c)²}) f_RH``; f_RH
  is flat over a broad RH plateau and falls below it (dry spray, static) and slightly above it.
- **In-flight evaporation** [B4]: the share of solvent lost between bell and body scales as
  ``(d32_nom/d32)²`` (surface per volume times flight time) times the evaporation driving force:
  ``p_sat(T_paint) − RH p_sat(T_booth)`` for waterborne paint, ``p_sat(T_paint)`` (no solvent in
  the booth air) for solvent-borne; Magnus formula for p_sat (Alduchov & Eskridge, J. Appl.
  Meteor. 35:601, 1996). It thickens the arriving film (viscosity at impact) and drives dry spray.
- **Flash-off of the waterborne base** [B4], [Kiil06]: constant-rate evaporation
  ``ṁ'' = k_m (M_w/(R T)) (p_sat(T_film) − RH p_sat(T_air))`` in the ambient flash (booth air) and
  in the heated flash (booth air heated, same absolute humidity; film at the mean temperature of
  the panel heating toward the flash air) until the polymer volume fraction reaches 0.74; then a
  skin-limited exponential decay that no longer sees humidity. The water left when the clear goes
  on drives solvent pop.
- **Booth climate**: set-points (nominal + agent offsets) act through a transport delay of one
  body and a first-order lag (exact discretisation) on temperature and water vapour pressure
  (a moisture balance; RH follows); an imperfect HVAC leaks a share of the outdoor−set-point
  difference of each. Outdoor climate: daily sinusoid + weather wander (drift bank);
  outdoor RH from a fixed dew point (so it swings against temperature) plus a wander.
- **Oven** [B5]: the oven air follows its set-point with a lag of a few bodies; each body's object
  temperature is a first-order lag toward the oven air over the dwell (thin panels and heavy
  sills). Cure dose ``∫ k(T_obj) dt`` by 5-point Gauss–Legendre on the heavy section (closed-form
  T_obj), ``α = 1 − e^{−dose}``, k from ``α_ref`` after ``cure_ref_min`` at ``cure_ref_c``;
  over-bake from the thin section's closed-form time above ``overbake_temp_c``.
- **Energy**: booth HVAC = fresh-air mass × the energy to bring it to the booth state (moist-air
  enthalpies, ASHRAE form: heat and humidify, or chill to the booth dew point and reheat) + fans;
  oven and heated flash = losses × (T − T_outdoor) + body and skid heat, / burner efficiency.
  Sizing in :mod:`envs.paint.params`.
- **Defects** (logistic risks, thresholds calibrated/est.): sag (arriving wet film over a critical
  thickness that rises with viscosity at impact and, for waterborne, with the ambient flash rate),
  orange peel (d32 and viscosity at impact), dry spray (in-flight evaporation), solvent pop
  (residual base water, oven ramp, clear build). Under-cure on the heavy-section α, over-bake
  on the thin-section time above the limit.
- **Paint lots**: a lot change is an event (probability 1/batch_interval per body and layer) with
  an i.i.d. new lot (viscosity, volume solids), logged by the kitchen (bodies since the change).

Cost per body (EUR): paint, energy, a DFT-miss penalty per layer that is zero in the inner half
of the band and grows outside (C¹), rework × defect risks, under-cure/over-bake. Reward =
−cost/100. There is no early termination (an episode is a shift of bodies; the env truncates),
so no horizon-aware terminal penalty is needed (DESIGN.md, reward design caution).

Interface (arrays float64 unless said; n = plants of the batch):

| array | shape | content |
| --- | --- | --- |
| ``params`` | (n, N_PARAMS) | :meth:`PaintLineParams.to_array` per plant |
| ``derived`` | (n, N_DERIVED) | :func:`derive` (by :func:`derive_batch`, :func:`reset_batch`) |
| ``state`` | (n, N_STATE) | ``X_*``; actuals ``X_ACT + A_*``; layers ``X_L0 + l·XL_STRIDE`` |
| ``actions`` | (n, N_ACT) | normalised, ``ACTUATOR_NAMES`` order; mode 0 adjust, 1 absolute |
| ``bits`` | (n_active, n_words) uint16 | :func:`envs.core.noise.draw_bits`, layout below |
| ``z_reset`` | (len(idx), N_RESET_NOISE) | standard normals per started shift |
| drift bank | N_DRIFTS rows, DRIFT_NAMES order | :func:`default_drifts` (or no rows) |
| sensor bank | N_SIGNALS rows, SIGNAL_NAMES order | :func:`default_sensors` (or no rows) |
| ``obs`` | (n, N_OBS) float32 | :data:`OBS_TABLE`, clipped to [OBS_LOW, OBS_HIGH] |
| ``kpi`` | (n, N_KPI) | :data:`KPI_NAMES` of the body just painted, every step |
| ``acc`` | (n, N_ACC) | the shift's sums of body KPIs (:func:`accumulate_body`) |

Bits of a plant-step: ``[0, N_PROCESS_WORDS)`` process words (style of the body after next, flow
and deposition scatter, lot events and new lots), then the drift bank's ``n_drift_words``, then
the sensor bank's words. The control step is the takt ``3600/jph`` s (:func:`cycle_time_s`); the
banks must be built for it, so ``jph`` must not be randomised across the plants of a batch.

Speed: p_sat and the logistic are tabulated (interpolated, errors < 1e-5 and 4e-5, tested), the
cure dose is a per-plant Chebyshev fit, divisions by constants are folded into ``derived``: the
bare kernel (:func:`plant_step_batch`) costs ≈ 1.2–1.35 × the BOF kernel in the same process at
256–4096 plants. Randomness never enters here: the env draws the words and the reset normals.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np
from numba import njit

from envs.core.disturbances import DriftSpec, drift_bank_reset, drift_bank_step_block
from envs.core.jit import active_block, copy_row, hot_loop, whole_block
from envs.core.noise import normal, uniform
from envs.core.sensors import (
    SensorSpec,
    sensor_bank_advance,
    sensor_bank_reset,
    sensor_bank_step_block,
)
from envs.paint.params import LAYERS, STYLES, PaintLineParams

_I = PaintLineParams.index
LAYER_STRIDE = _I("clear_n_bells") - _I("base_n_bells")
N_LAYERS, N_STYLES = len(LAYERS), len(STYLES)
N_PARAMS = len(PaintLineParams.field_names())

# parameter indices (compile-time constants for numba) ------------------------------------------
P_JPH, P_SHIFT0 = _I("jph"), _I("shift_start_h")
P_FLASH_AMB, P_FLASH_HEAT, P_OVEN_PITCH = (
    _I("flash_ambient_pitches"),
    _I("flash_heated_pitches"),
    _I("oven_pitches"),
)
P_DFT_DELAY, P_INLINE = _I("dft_delay_bodies"), _I("inline_wft")
P_STYLE_P, P_AREA, P_TE_GEO = _I("style_p_sedan"), _I("area_sedan_m2"), _I("te_geo_sedan")
# layer block: add layer * LAYER_STRIDE
P_NB, P_ON, P_VS, P_MU, P_RHO, P_EA = (
    _I("base_n_bells"),
    _I("base_on_fraction"),
    _I("base_vs"),
    _I("base_visc_mpas"),
    _I("base_density_kg_l"),
    _I("base_visc_ea_kj_mol"),
)
P_PRICE, P_TARGET, P_TOL, P_D32REF, P_SAOPT, P_RHW = (
    _I("base_price_eur_l"),
    _I("base_dft_target_um"),
    _I("base_dft_tol_um"),
    _I("base_d32_ref_um"),
    _I("base_sa_opt_nl_min"),
    _I("base_te_rh_weight"),
)
P_EVAP, P_DRY_CRIT, P_SAG_CRIT, P_OP_D, P_SCATTER = (
    _I("base_evap_inflight"),
    _I("base_dry_spray_e_crit"),
    _I("base_sag_crit_wet_um"),
    _I("base_orange_peel_d_um"),
    _I("base_te_scatter_rel"),
)
P_REC_N, P_REC_SA, P_REC_U, P_WB = (
    _I("base_recipe_speed_krpm"),
    _I("base_recipe_shaping_air_nl_min"),
    _I("base_recipe_voltage_kv"),
    _I("base_waterborne"),
)
P_A_N, P_B_Q, P_C_MU, P_K_U = (
    _I("d32_speed_exp"),
    _I("d32_flow_exp"),
    _I("d32_visc_exp"),
    _I("d32_volt_k"),
)
P_N_REF, P_Q_REF, P_U_REF = _I("ref_speed_krpm"), _I("ref_flow_ml_min"), _I("ref_voltage_kv")
P_TE0, P_TEMAX, P_UC, P_KV, P_VDOWN, P_KSA, P_DC = (
    _I("te_0"),
    _I("te_max"),
    _I("te_u_c_kv"),
    _I("te_k_v"),
    _I("down_draft_m_s"),
    _I("te_k_sa"),
    _I("te_d_c_um"),
)
P_RH_LO, P_RH_HI, P_K_DRY, P_K_WET, P_FLOW_SD = (
    _I("te_rh_lo_pct"),
    _I("te_rh_hi_pct"),
    _I("te_k_rh_dry"),
    _I("te_k_rh_wet"),
    _I("flow_noise_rel"),
)
P_TB, P_RHB, P_TAU_BOOTH, P_BOOTH_DELAY, P_LEAK_T, P_LEAK_RH = (
    _I("booth_temp_c"),
    _I("booth_rh_pct"),
    _I("booth_tau_min"),
    _I("booth_delay_bodies"),
    _I("hvac_leak_temp"),
    _I("hvac_leak_rh"),
)
P_TOUT, P_TAMP, P_TPEAK, P_TDEW, P_TPAINT, P_TVREF = (
    _I("outdoor_temp_mean_c"),
    _I("outdoor_temp_amp_k"),
    _I("outdoor_peak_h"),
    _I("outdoor_dewpoint_c"),
    _I("paint_temp_c"),
    _I("visc_ref_temp_c"),
)
P_KM, P_KM_HEAT, P_T_FLASH, P_PHI, P_SKIN_AMB, P_SKIN_HEAT, P_VISC_EVAP = (
    _I("evap_km_m_s"),
    _I("flash_km_factor"),
    _I("flash_temp_c"),
    _I("phi_crit"),
    _I("skin_tau_ambient_min"),
    _I("skin_tau_heated_min"),
    _I("visc_evap_k"),
)
P_REC_OVEN, P_TAU_OVEN, P_TAU_THIN, P_TAU_HEAVY = (
    _I("recipe_oven_c"),
    _I("oven_air_tau_min"),
    _I("tau_obj_thin_min"),
    _I("tau_obj_heavy_min"),
)
P_CURE_T, P_CURE_MIN, P_CURE_A, P_CURE_EA, P_CURE_AMIN, P_OB_T, P_OB_MAX = (
    _I("cure_ref_c"),
    _I("cure_ref_min"),
    _I("cure_alpha_ref"),
    _I("cure_ea_kj_mol"),
    _I("cure_alpha_min"),
    _I("overbake_temp_c"),
    _I("overbake_max_min"),
)
P_SUPPLY, P_FRESH, P_FAN, P_HEAT_EFF, P_COP = (
    _I("booth_supply_m3_s"),
    _I("fresh_air_frac"),
    _I("fan_kw"),
    _I("hvac_heat_eff"),
    _I("chiller_cop"),
)
P_OVEN_LOSS, P_FLASH_LOSS, P_BODY_HEAT, P_SKID_HEAT, P_BURNER = (
    _I("oven_loss_kw_k"),
    _I("flash_loss_kw_k"),
    _I("body_heat_kj_km2"),
    _I("skid_heat_kj_k"),
    _I("burner_eff"),
)
P_SAG_W, P_SAG_VX, P_SAG_FX, P_OP_VK, P_OP_W, P_DRY_W = (
    _I("sag_width_rel"),
    _I("sag_visc_k"),
    _I("sag_flash_k"),
    _I("orange_peel_visc_k"),
    _I("orange_peel_width"),
    _I("dry_spray_width"),
)
P_POP_CRIT, P_POP_W, P_POP_RAMP, P_POP_CLEAR = (
    _I("pop_water_crit"),
    _I("pop_width"),
    _I("pop_ramp_k"),
    _I("pop_clear_k"),
)
P_LOT, P_VISC_LOT, P_VS_LOT = (
    _I("batch_interval_bodies"),
    _I("visc_batch_rel"),
    _I("vs_batch_rel"),
)
P_PRICE_E, P_MISS, P_REWORK, P_UNDER_COST, P_OVER_COST = (
    _I("price_energy_eur_kwh"),
    _I("dft_miss_cost_eur"),
    _I("rework_cost_eur"),
    _I("undercure_cost_eur"),
    _I("overbake_cost_eur"),
)

# physical constants ------------------------------------------------------------------------------
KELVIN = 273.15
R_GAS = 8.314462618  # J/(mol K)
M_WATER = 0.018015  # kg/mol
P_ATM_KPA = 101.325
RHO_AIR = 1.2  # kg/m3, booth supply air
ZAHN4_K, ZAHN4_C = 14.8, 5.0  # ν[cSt] = 14.8 (t − 5) [Pat79]
REWARD_SCALE_EUR = 100.0  # reward = −cost / 100 EUR
# Gauss–Legendre nodes and weights on [−1, 1] (5 points: exact for degree-9 polynomials; the cure
# integrand is smooth, the error against a 4000-step trapezoid is < 0.1 % at recipe, tested)
GL_X = (-0.9061798459386640, -0.5384693101056831, 0.0, 0.5384693101056831, 0.9061798459386640)
GL_W = (
    0.2369268850561891,
    0.4786286704993665,
    0.5688888888888889,
    0.4786286704993665,
    0.2369268850561891,
)
N_GL = 5
# The cure dose is fitted per plant when the plant is derived: ln(dose) as a Chebyshev series in
# the oven air over the set-point range (degree 5) plus a first-order term in the entry
# temperature (degree 3); a step evaluates the series instead of N_GL exponentials (α to 2e-4 of
# the quadrature, tested) and keeps the per-plant constants small (they stream from memory for
# every plant of a batch).
CURE_T_MID, CURE_T_HALF = 150.0, 35.0  # the fit covers 115–185 °C oven air
N_CHEB, N_CHEB_SLOPE = 6, 4
CURE_WIDTH = 0.005  # α below α_min by this much = one logit unit of under-cure risk (est.)
OVERBAKE_WIDTH_MIN = 1.5  # minutes above the allowed time per logit unit of over-bake (est.)

# state layout ----------------------------------------------------------------------------------
(
    X_BODY,  # bodies painted since reset (= index of the next body)
    X_STYLE,  # style of the body painted last
    X_NEXT_STYLE,  # style of the next body (known: mixed-model line)
    X_TOD,  # time of day of the next body, h
    X_COS,  # cos and sin of the daily phase 2π(tod − peak)/24 of the next body (rotated per body)
    X_SIN,
    X_T_OUT,
    X_RH_OUT,
    X_T_BOOTH,
    X_RH_BOOTH,
    X_PSAT_OUT,  # kPa at outdoor temperature
    X_PV_OUT,  # outdoor water vapour pressure, kPa
    X_PSAT_BOOTH,  # kPa at booth temperature
    X_PV_BOOTH,  # water vapour pressure of the booth air, kPa
    X_T_SP_DEL,  # booth set-points on their way through the HVAC (one-body transport delay)
    X_RH_SP_DEL,
    X_OVEN_T,  # oven air temperature
    X_DT_OUT,  # drift values: outdoor temperature and RH deviations, bell-wear multiplier
    X_DRH_OUT,
    X_WEAR,
    X_WATER_RES,  # residual water share of the base film when the clear goes on
    X_RATE_AMB,  # ambient flash rate of the base, µm/min
    X_ALPHA,  # heavy-section cure index
    X_OVERBAKE_MIN,  # thin-section minutes above the over-bake temperature
    X_RAMP_REL,  # oven heat-up ramp relative to the recipe's
    X_E_HVAC,
    X_E_OVEN,
    X_SAG,
    X_OP,
    X_DRY,
    X_POP,
    X_UNDER,
    X_OVER,
    X_COST,
    X_ACT,  # 11 actuator actuals from here (A_* order)
) = range(35)
N_ACT = 11
X_L0 = X_ACT + N_ACT  # first layer block; add layer * XL_STRIDE
(
    XL_TPAINT_DEV,  # paint-temperature deviation (drift)
    XL_LOT_LN_VISC,  # ln viscosity multiplier of the paint lot in use
    XL_LOT_VS,  # volume-solids multiplier of the lot
    XL_DR_VISC,  # drift-bank viscosity multiplier (scenarios), and its log
    XL_DR_LN_VISC,
    XL_DR_VS,  # drift-bank volume-solids multiplier
    XL_SINCE_LOT,  # bodies painted with the current lot (logged by the paint kitchen)
    XL_LN_MU_REL,  # ln(viscosity / nominal viscosity)
    XL_D32,
    XL_TE,
    XL_VS,
    XL_PAINT_ML,
    XL_SOLIDS_ML,
    XL_DFT,
    XL_WFT,
    XL_EVAP,
    XL_SAG,
    XL_OP,
    XL_DRY,
) = range(19)
XL_STRIDE = 19
N_STATE = X_L0 + N_LAYERS * XL_STRIDE

# actuators (per layer block of four, then the line) ----------------------------------------------
A_Q, A_N, A_SA, A_U = range(4)  # add 4 * layer
A_T_OFF, A_RH_OFF, A_OVEN = 8, 9, 10
ACTUATOR_NAMES = (
    "base_flow",
    "base_bell_speed",
    "base_shaping_air",
    "base_voltage",
    "clear_flow",
    "clear_bell_speed",
    "clear_shaping_air",
    "clear_voltage",
    "booth_temp_offset",
    "booth_rh_offset",
    "oven_setpoint",
)
ACTUATOR_UNITS = ("mL/min", "krpm", "NL/min", "kV") * 2 + ("K", "%RH", "degC")
FLOW_SPAN_REL = 0.25  # adjust span of the flows: ±25 % of the mix-weighted recipe flow

# per-step process-noise words (raw uint16, envs.core.noise) --------------------------------------
W_STYLE_HI, W_STYLE_LO, W_FLOW, W_SCATTER = 0, 1, 2, 4  # W_FLOW / W_SCATTER: + layer
W_LOT = 6  # + 4 layer: lot-change event (two words), new lot's viscosity and solids normals
N_PROCESS_WORDS = 14
# per-episode standard normals for reset_batch: first body style, lot ages (base, clear)
N_RESET_NOISE = 7  # first style; per layer: lot age, lot viscosity, lot solids

# derived constants -------------------------------------------------------------------------------
(
    D_DT,  # cycle time, s
    D_TC_MIN,
    D_TC_H,
    D_E_BOOTH,
    D_E_OVEN,
    D_PV_OUT,  # outdoor vapour pressure from the dew point, kPa
    D_TE_DRAFT,  # down-draft factor of TE
    D_T_AMB_MIN,
    D_T_HEAT_MIN,
    D_DWELL_MIN,
    D_FLASH_GAIN,  # (τ/t)(1 − e^{−t/τ}): mean panel lag over the heated flash
    D_FLASH_BODY,  # share of the flash temperature rise the body takes up
    D_KM_RATE,  # µm/min per (kPa / K) of the ambient flash
    D_RATE_AMB_NOM,
    D_INV_RAMP_NOM,  # 1 / (recipe oven − nominal booth temperature), 1/K
    D_HVAC_K,  # kWh per kJ/kg of fresh-air enthalpy change, per body
    D_FAN_KWH,
    D_OVEN_LOSS_KWH_K,
    D_FLASH_LOSS_KWH_K,
    D_COS_STEP,  # rotation of the daily phase per body
    D_SIN_STEP,
    # constants folded once so the step multiplies instead of dividing (≈ 1.5 ns per division)
    D_LN_NREF,
    D_LN_QREF,
    D_INV_UC,
    D_INV_DC,
    D_INV_TVREF,
    D_INV_RATE_NOM,
    D_PHI_FACTOR,  # 1/φ_crit − 1: solvent per solids at the end of the constant rate
    D_INV_SAG_W,
    D_INV_OP_W,
    D_INV_DRY_W,
    D_INV_POP_W,
    D_INV_TARGET_CLEAR,
) = range(33)
D_STYLE_CUM = 33  # 3 cumulative style probabilities
D_INV_AREA = D_STYLE_CUM + N_STYLES  # per style
D_T_ON = D_INV_AREA + N_STYLES  # per layer (as all D_* below): spray-on time, min
D_D32_NOM = D_T_ON + N_LAYERS  # d32 at recipe, nominal, sedan
D_DRIVE_NOM = D_D32_NOM + N_LAYERS  # nominal in-flight evaporation driving force, kPa
D_EA_R = D_DRIVE_NOM + N_LAYERS  # viscosity E_a/R, K
D_D32_B = D_EA_R + N_LAYERS  # d32 = e^{ln} (B − A U) wear: B = d_ref/(1 − k_U)
D_D32_A = D_D32_B + N_LAYERS  # A = d_ref k_U/(U_ref (1 − k_U))
D_INV_SAOPT = D_D32_A + N_LAYERS
D_EVAP_K = D_INV_SAOPT + N_LAYERS  # e_nom d32_nom² / drive_nom
D_INV_OP_D = D_EVAP_K + N_LAYERS
D_INV_TOL = D_INV_OP_D + N_LAYERS
D_RECIPE_Q = D_INV_TOL + N_LAYERS  # per layer and style: recipe flow, mL/min (+ 3 layer + s)
D_SPAN = D_RECIPE_Q + N_LAYERS * N_STYLES  # adjust spans of the actuators (A_* order)
D_CHEB = D_SPAN + N_ACT  # ln(cure dose) vs oven air, entry at the nominal booth temperature
D_CHEB_SLOPE = D_CHEB + N_CHEB  # ∂ln(dose)/∂T_entry vs oven air, 1/K
N_DERIVED = D_CHEB_SLOPE + N_CHEB_SLOPE

# actuator limits and per-body rate limits (A_* order; the same for every plant, est.): bell
# speed 10 krpm per body (turbine run-up between bodies), booth set-point offsets 0.5 K and
# 5 %RH per body (HVAC set-point ramps), oven set-point 5 K per body; flow, shaping air and
# voltage switch between bodies
ACT_LO = np.array([50.0, 15.0, 100.0, 30.0] * 2 + [-4.0, -40.0, 120.0])
ACT_HI = np.array([600.0, 70.0, 600.0, 100.0] * 2 + [4.0, 25.0, 180.0])
ACT_RATE = np.array([np.inf, 10.0, np.inf, np.inf] * 2 + [0.5, 5.0, 5.0])


# ---------------------------------------------------------------- scalar physics
def magnus_kpa(t_c: float) -> float:
    """Saturation vapour pressure of water over liquid, kPa (Magnus; Alduchov & Eskridge 1996)."""
    return 0.61094 * math.exp(17.625 * t_c / (t_c + 243.04))


# Magnus tabulated every 0.05 K on [−50, 100] °C: a step evaluates p_sat five times, and a table
# look-up with linear interpolation (relative error < 1e-5, tested) costs a third of an exp.
PSAT_T0, PSAT_DT, PSAT_N = -50.0, 0.05, 3001
PSAT_TABLE = np.array([magnus_kpa(PSAT_T0 + k * PSAT_DT) for k in range(PSAT_N)])


@njit(cache=True, error_model="numpy")
def p_sat_kpa(t_c: float) -> float:
    """Saturation vapour pressure of water, kPa: the Magnus table, interpolated (clamped ends)."""
    u = min(max((t_c - PSAT_T0) / PSAT_DT, 0.0), PSAT_N - 1.000001)
    k = int(u)
    return PSAT_TABLE[k] + (u - k) * (PSAT_TABLE[k + 1] - PSAT_TABLE[k])


@njit(cache=True, error_model="numpy")
def moist_air_enthalpy(t_c: float, pv_kpa: float) -> float:
    """kJ per kg dry air: 1.006 T + w (2501 + 1.86 T), w = 0.622 p_v/(P − p_v) (ASHRAE)."""
    w = 0.622 * pv_kpa / (P_ATM_KPA - pv_kpa)
    return 1.006 * t_c + w * (2501.0 + 1.86 * t_c)


def logistic_exact(z: float) -> float:
    return 1.0 / (1.0 + math.exp(-z))


# the eight risks of a body go through the logistic: tabulated on [−16, 16] every 1/64 (16 KB,
# stays in L1), linear interpolation: relative error < 4e-5, also in the tails (tested)
LOGIT_Z, LOGIT_PER_UNIT = 16.0, 64.0
LOGIT_N = int(2 * LOGIT_Z * LOGIT_PER_UNIT) + 1
LOGISTIC_TABLE = np.array([logistic_exact(-LOGIT_Z + k / LOGIT_PER_UNIT) for k in range(LOGIT_N)])


@njit(cache=True, error_model="numpy")
def logistic(z: float) -> float:
    """1/(1 + e^{−z}) from the table (clamped beyond ±16: risks below 1.2e-7 read as that)."""
    u = min(max((z + LOGIT_Z) * LOGIT_PER_UNIT, 0.0), LOGIT_N - 1.000001)
    k = int(u)
    return LOGISTIC_TABLE[k] + (u - k) * (LOGISTIC_TABLE[k + 1] - LOGISTIC_TABLE[k])


@njit(cache=True, error_model="numpy")
def band_penalty(z: float) -> float:
    """DFT-miss penalty in units of the miss cost; z = deviation / tolerance.

    Zero in the inner half of the band, quadratic to 0.5 at the band edge, then linear (C¹).
    """
    u = max(abs(z) - 0.5, 0.0) * 2.0
    return 0.5 * u * u if u <= 1.0 else u - 0.5


@njit(cache=True, error_model="numpy")
def zahn4_seconds(mu_mpas: float, density_kg_l: float) -> float:
    """Zahn #4 cup time of a paint, s: ν[cSt] = μ/ρ = 14.8 (t − 5) [Pat79]."""
    return mu_mpas / density_kg_l / ZAHN4_K + ZAHN4_C


@njit(cache=True, error_model="numpy")
def dry_stage(h: float, h_star: float, rate: float, t_min: float, tau_min: float) -> float:
    """Solvent left (µm) after ``t_min`` of drying: constant ``rate`` down to ``h_star`` (polymer
    fraction φ_crit [Kiil06]), then skin-limited decay ``e^{−t/τ}`` that no longer sees the air."""
    rate = max(rate, 1e-9)
    t_left = t_min
    if h > h_star:
        t1 = (h - h_star) / rate
        if t1 >= t_min:
            return h - rate * t_min
        t_left = t_min - t1
        h = h_star
    return h * math.exp(-t_left / tau_min)


@njit(cache=True, error_model="numpy")
def time_above_min(t_air: float, t_in: float, t_lim: float, tau: float, dwell: float) -> float:
    """Minutes a first-order object (τ) heated from t_in toward t_air spends above t_lim."""
    if t_air <= t_lim:
        return 0.0
    if t_in >= t_lim:
        return dwell
    return max(dwell - tau * math.log((t_air - t_in) / (t_air - t_lim)), 0.0)


# ---------------------------------------------------------------- application physics (one layer)
@njit(cache=True, error_model="numpy", inline="always")
def ln_visc_rel(d: np.ndarray, layer: int, t_paint: float, ln_mult: float) -> float:
    """ln(μ/μ_nominal): Arrhenius in the paint temperature plus the lot multiplier [B4]."""
    return ln_mult + d[D_EA_R + layer] * (1.0 / (t_paint + KELVIN) - d[D_INV_TVREF])


@njit(cache=True, error_model="numpy", inline="always")
def droplet_d32(
    p: np.ndarray,
    d: np.ndarray,
    layer: int,
    speed: float,
    flow: float,
    ln_mu: float,
    kv: float,
    wear: float,
) -> float:
    """Sauter mean diameter, µm [B3]: d_ref (N/N_ref)^−a (Q/Q_ref)^b (μ/μ_ref)^c
    (1 − k_U U/U_ref)/(1 − k_U) · wear (d_ref at U_ref)."""
    ln = (
        -p[P_A_N] * (math.log(speed) - d[D_LN_NREF])
        + p[P_B_Q] * (math.log(flow) - d[D_LN_QREF])
        + p[P_C_MU] * ln_mu
    )
    return math.exp(ln) * (d[D_D32_B + layer] - d[D_D32_A + layer] * kv) * wear


@njit(cache=True, error_model="numpy", inline="always")
def rh_factor(p: np.ndarray, b: int, rh: float) -> float:
    """f_RH of TE: flat on [te_rh_lo, te_rh_hi], quadratic loss outside (broad optimum) [B2];
    the dry loss is counted per 25 %RH, the humid one per 10 %RH."""
    w = p[P_RHW + b]
    if rh < p[P_RH_LO]:
        z = (p[P_RH_LO] - rh) * 0.04
        return max(1.0 - w * p[P_K_DRY] * z * z, 0.2)
    if rh > p[P_RH_HI]:
        z = (rh - p[P_RH_HI]) * 0.1
        return max(1.0 - w * p[P_K_WET] * z * z, 0.2)
    return 1.0


@njit(cache=True, error_model="numpy", inline="always")
def transfer_efficiency(
    p: np.ndarray,
    d: np.ndarray,
    layer: int,
    te_geo: float,
    kv: float,
    shaping_air: float,
    d32: float,
    rh: float,
) -> float:
    """Lumped TE of PHYSICS.md §2 [B2]: geometry × voltage saturation × down-draft loss ×
    shaping-air optimum × fines loss × f_RH (the down-draft factor is per plant, in ``d``)."""
    te = p[P_TE0] + (p[P_TEMAX] - p[P_TE0]) * (1.0 - math.exp(-kv * d[D_INV_UC]))
    r = shaping_air * d[D_INV_SAOPT + layer] - 1.0
    q = d32 * d[D_INV_DC]
    shaping = max(1.0 - p[P_KSA] * r * r, 0.0)
    fines = 1.0 - math.exp(-q * q)
    rh_f = rh_factor(p, layer * LAYER_STRIDE, rh)
    return te_geo * te * d[D_TE_DRAFT] * shaping * fines * rh_f


@njit(cache=True, error_model="numpy", inline="always")
def evap_drive_kpa(p: np.ndarray, b: int, t_film: float, pv_air: float) -> float:
    """Evaporation driving force, kPa: p_sat(T) − p_v for water, p_sat(T) as the solvent proxy."""
    ps = p_sat_kpa(t_film)
    if p[P_WB + b] > 0.5:
        return max(ps - pv_air, 1e-6)
    return ps


# ---------------------------------------------------------------- per-plant constants
@njit(cache=True, error_model="numpy")
def cure_ln_dose(p: np.ndarray, dwell_min: float, t_air: float, t_in: float) -> float:
    """ln of the heavy-section cure dose after the dwell, oven air ``t_air``, entry ``t_in``.

    ``dose = k_ref ∫ exp(−E/R (1/T_obj − 1/T_ref)) dt`` with ``T_obj = T_air − (T_air − T_in)
    e^{−t/τ_heavy}`` [B5]; 5-point Gauss–Legendre over the dwell; ``α = 1 − e^{−dose}``, and
    k_ref from α = cure_alpha_ref after cure_ref_min at cure_ref_c.
    """
    e_r = p[P_CURE_EA] * 1000.0 / R_GAS
    inv_ref = 1.0 / (p[P_CURE_T] + KELVIN)
    acc = 0.0
    for i in range(N_GL):
        t_i = 0.5 * dwell_min * (GL_X[i] + 1.0)
        t_obj = t_air - (t_air - t_in) * math.exp(-t_i / p[P_TAU_HEAVY])
        acc += 0.5 * dwell_min * GL_W[i] * math.exp(-e_r * (1.0 / (t_obj + KELVIN) - inv_ref))
    k_ref = -math.log(1.0 - p[P_CURE_A]) / p[P_CURE_MIN]
    return math.log(k_ref * acc)


@njit(cache=True, error_model="numpy")
def cure_alpha(p: np.ndarray, dwell_min: float, t_air: float, t_in: float) -> float:
    """Heavy-section cure index α = 1 − e^{−dose} (direct quadrature, see cure_ln_dose)."""
    return -math.expm1(-math.exp(cure_ln_dose(p, dwell_min, t_air, t_in)))


@njit(cache=True, error_model="numpy")
def _chebyshev_fit(p: np.ndarray, d: np.ndarray) -> None:
    """Chebyshev interpolants (at Chebyshev nodes) of ln dose and its entry-temperature slope."""
    dwell, t_nom = d[D_DWELL_MIN], p[P_TB]
    for k in range(N_CHEB):
        d[D_CHEB + k] = 0.0
    for k in range(N_CHEB_SLOPE):
        d[D_CHEB_SLOPE + k] = 0.0
    for m, off in ((N_CHEB, D_CHEB), (N_CHEB_SLOPE, D_CHEB_SLOPE)):
        for j in range(m):
            theta = math.pi * (j + 0.5) / m
            t_air = CURE_T_MID + CURE_T_HALF * math.cos(theta)
            if off == D_CHEB:
                f = cure_ln_dose(p, dwell, t_air, t_nom)
            else:
                up = cure_ln_dose(p, dwell, t_air, t_nom + 1.0)
                f = 0.5 * (up - cure_ln_dose(p, dwell, t_air, t_nom - 1.0))
            for k in range(m):
                weight = 1.0 if k == 0 else 2.0
                d[off + k] += weight / m * f * math.cos(k * theta)


@njit(cache=True, error_model="numpy", inline="always")
def _clenshaw(d: np.ndarray, off: int, m: int, u: float) -> float:
    """Σ c_k T_k(u) for the m coefficients at d[off:]."""
    b1, b2 = 0.0, 0.0
    for k in range(m - 1, 0, -1):
        b1, b2 = d[off + k] + 2.0 * u * b1 - b2, b1
    return d[off] + u * b1 - b2


@njit(cache=True, error_model="numpy")
def cycle_time_s(p: np.ndarray) -> float:
    """Takt (control step), s."""
    return 3600.0 / p[P_JPH]


@njit(cache=True, error_model="numpy")
def _nominal_pv_booth(p: np.ndarray) -> float:
    return p[P_RHB] / 100.0 * p_sat_kpa(p[P_TB])


@njit(cache=True, error_model="numpy")
def recipe_flow(p: np.ndarray, d: np.ndarray, layer: int, style: int) -> float:
    """Recipe flow per bell (mL/min) that hits the DFT target at nominal conditions.

    The operator's recipe is set once per style for the nominal booth climate and paint, with the
    recipe speed, shaping air and voltage; d32 moves with the flow, so iterate (contracts fast).
    It uses the plant's own parameters (flows commissioned on this line), never the lot, the
    drifts or the climate of the day: those are what an adjustment policy can correct.
    """
    b = layer * LAYER_STRIDE
    ln_mu = ln_visc_rel(d, layer, p[P_TPAINT], 0.0)
    need = p[P_TARGET + b] * p[P_AREA + style] / (p[P_VS + b] * p[P_NB + b] * d[D_T_ON + layer])
    kv, air = p[P_REC_U + b], p[P_REC_SA + b]
    q = need / 0.7
    for _ in range(12):
        d32 = droplet_d32(p, d, layer, p[P_REC_N + b], q, ln_mu, kv, 1.0)
        te = transfer_efficiency(p, d, layer, p[P_TE_GEO + style], kv, air, d32, p[P_RHB])
        q = need / te
    return q


@njit(cache=True, error_model="numpy")
def _spans(p: np.ndarray, d: np.ndarray, span: np.ndarray) -> None:
    """Adjust spans: flows ±25 % of the mix-weighted recipe flow of the station (the recipe
    itself changes per style); speed 15 krpm, shaping air 150 NL/min, voltage 20 kV, booth
    ±3 K and ±35 %RH, oven ±20 K (``d`` must hold the recipe flows)."""
    wsum = p[P_STYLE_P] + p[P_STYLE_P + 1] + p[P_STYLE_P + 2]
    for layer in range(N_LAYERS):
        a = 4 * layer
        q_mix = 0.0
        for s in range(N_STYLES):
            q_mix += p[P_STYLE_P + s] / wsum * d[D_RECIPE_Q + N_STYLES * layer + s]
        span[a + A_Q], span[a + A_N] = FLOW_SPAN_REL * q_mix, 15.0
        span[a + A_SA], span[a + A_U] = 150.0, 20.0
    span[A_T_OFF], span[A_RH_OFF], span[A_OVEN] = 3.0, 35.0, 20.0


def actuator_limits(
    p: np.ndarray, lo: np.ndarray, hi: np.ndarray, span: np.ndarray, rate: np.ndarray
) -> None:
    """Write the engineering limits, adjust spans and per-body rate limits of the 11 actuators of
    plant ``p`` (``ACTUATOR_NAMES`` order; only the flow spans depend on the plant)."""
    d = np.zeros(N_DERIVED)
    derive(p, d)
    lo[:], hi[:], span[:], rate[:] = ACT_LO, ACT_HI, d[D_SPAN : D_SPAN + N_ACT], ACT_RATE


@njit(cache=True, error_model="numpy")
def _derive_base(p: np.ndarray, d: np.ndarray) -> None:
    """Constants that do not need the recipe flows (the recipe needs these)."""
    tc = cycle_time_s(p)
    tc_min = tc / 60.0
    d[D_DT], d[D_TC_MIN], d[D_TC_H] = tc, tc_min, tc / 3600.0
    d[D_E_BOOTH] = math.exp(-tc_min / p[P_TAU_BOOTH])
    d[D_E_OVEN] = math.exp(-tc_min / p[P_TAU_OVEN])
    d[D_PV_OUT] = p_sat_kpa(p[P_TDEW])
    d[D_TE_DRAFT] = math.exp(-p[P_KV] * max(0.0, p[P_VDOWN] - 0.3))
    for layer in range(N_LAYERS):
        d[D_T_ON + layer] = p[P_ON + layer * LAYER_STRIDE] * tc_min
    wsum = p[P_STYLE_P] + p[P_STYLE_P + 1] + p[P_STYLE_P + 2]
    d[D_STYLE_CUM] = p[P_STYLE_P] / wsum
    d[D_STYLE_CUM + 1] = (p[P_STYLE_P] + p[P_STYLE_P + 1]) / wsum
    d[D_STYLE_CUM + 2] = 1.0
    step = 2.0 * math.pi * d[D_TC_H] / 24.0
    d[D_COS_STEP], d[D_SIN_STEP] = math.cos(step), math.sin(step)
    d[D_LN_NREF], d[D_LN_QREF] = math.log(p[P_N_REF]), math.log(p[P_Q_REF])
    d[D_INV_UC], d[D_INV_DC] = 1.0 / p[P_UC], 1.0 / p[P_DC]
    d[D_INV_TVREF] = 1.0 / (p[P_TVREF] + KELVIN)
    d[D_PHI_FACTOR] = 1.0 / p[P_PHI] - 1.0
    d[D_INV_SAG_W], d[D_INV_OP_W] = 1.0 / p[P_SAG_W], 1.0 / p[P_OP_W]
    d[D_INV_DRY_W], d[D_INV_POP_W] = 1.0 / p[P_DRY_W], 1.0 / p[P_POP_W]
    d[D_INV_TARGET_CLEAR] = 1.0 / p[P_TARGET + LAYER_STRIDE]
    for s in range(N_STYLES):
        d[D_INV_AREA + s] = 1.0 / p[P_AREA + s]
    for layer in range(N_LAYERS):
        b = layer * LAYER_STRIDE
        d[D_EA_R + layer] = p[P_EA + b] * 1000.0 / R_GAS
        d[D_D32_B + layer] = p[P_D32REF + b] / (1.0 - p[P_K_U])
        d[D_D32_A + layer] = d[D_D32_B + layer] * p[P_K_U] / p[P_U_REF]
        d[D_INV_SAOPT + layer] = 1.0 / p[P_SAOPT + b]
        d[D_INV_OP_D + layer] = 1.0 / p[P_OP_D + b]
        d[D_INV_TOL + layer] = 1.0 / p[P_TOL + b]


@njit(cache=True, error_model="numpy")
def _derive_flash_oven(p: np.ndarray, d: np.ndarray) -> None:
    """Flash and oven times, evaporation and cure constants, energy factors."""
    tc_min = d[D_TC_MIN]
    d[D_T_AMB_MIN] = p[P_FLASH_AMB] * tc_min
    t_heat = p[P_FLASH_HEAT] * tc_min
    d[D_T_HEAT_MIN] = t_heat
    d[D_FLASH_GAIN] = p[P_TAU_THIN] / t_heat * (1.0 - math.exp(-t_heat / p[P_TAU_THIN]))
    d[D_FLASH_BODY] = 1.0 - math.exp(-t_heat / p[P_TAU_THIN])
    # ṁ''/ρ_w in µm/min per kPa/K: k_m M_w/(R T) Δp [kg/(m² s)] / 1000 kg/m³ · 1e6 µm/m · 60 s/min
    d[D_KM_RATE] = p[P_KM] * M_WATER / R_GAS * 1000.0 / 1000.0 * 1e6 * 60.0
    pv_nom = _nominal_pv_booth(p)
    drive = evap_drive_kpa(p, 0, p[P_TB], pv_nom)
    d[D_RATE_AMB_NOM] = d[D_KM_RATE] * drive / (p[P_TB] + KELVIN)
    d[D_INV_RATE_NOM] = 1.0 / d[D_RATE_AMB_NOM]
    dwell = p[P_OVEN_PITCH] * tc_min
    d[D_DWELL_MIN] = dwell
    _chebyshev_fit(p, d)
    d[D_INV_RAMP_NOM] = 1.0 / (p[P_REC_OVEN] - p[P_TB])
    d[D_HVAC_K] = RHO_AIR * p[P_SUPPLY] * p[P_FRESH] * d[D_DT] / 3600.0
    d[D_FAN_KWH] = p[P_FAN] * d[D_DT] / 3600.0
    d[D_OVEN_LOSS_KWH_K] = p[P_OVEN_LOSS] * d[D_DT] / (p[P_BURNER] * 3600.0)
    d[D_FLASH_LOSS_KWH_K] = p[P_FLASH_LOSS] * d[D_DT] / (p[P_BURNER] * 3600.0)


@njit(cache=True, error_model="numpy")
def derive(p: np.ndarray, d: np.ndarray) -> None:
    """Per-plant constants (the control step is the takt, 3600/jph s): lags, recipe, limits."""
    _derive_base(p, d)
    _derive_flash_oven(p, d)
    pv_nom = _nominal_pv_booth(p)
    for layer in range(N_LAYERS):
        b = layer * LAYER_STRIDE
        for s in range(N_STYLES):
            d[D_RECIPE_Q + N_STYLES * layer + s] = recipe_flow(p, d, layer, s)
        ln_mu = ln_visc_rel(d, layer, p[P_TPAINT], 0.0)
        q = d[D_RECIPE_Q + N_STYLES * layer]
        d32 = droplet_d32(p, d, layer, p[P_REC_N + b], q, ln_mu, p[P_REC_U + b], 1.0)
        drive = evap_drive_kpa(p, b, p[P_TPAINT], pv_nom)
        d[D_D32_NOM + layer], d[D_DRIVE_NOM + layer] = d32, drive
        d[D_EVAP_K + layer] = p[P_EVAP + b] * d32 * d32 / drive
    _spans(p, d, d[D_SPAN : D_SPAN + N_ACT])


# ---------------------------------------------------------------- actions
@njit(cache=True, error_model="numpy", inline="always")
def practice_setpoints(p: np.ndarray, d: np.ndarray, style: int, out: np.ndarray) -> None:
    """The operator's fixed recipe for a body of ``style``: flows per style, the rest fixed."""
    for layer in range(N_LAYERS):
        b, a = layer * LAYER_STRIDE, 4 * layer
        out[a + A_Q] = d[D_RECIPE_Q + N_STYLES * layer + style]
        out[a + A_N] = p[P_REC_N + b]
        out[a + A_SA] = p[P_REC_SA + b]
        out[a + A_U] = p[P_REC_U + b]
    out[A_T_OFF], out[A_RH_OFF], out[A_OVEN] = 0.0, 0.0, p[P_REC_OVEN]


@njit(cache=True, error_model="numpy", inline="always")
def _setpoints(p, d, x, mode, action, style, out):
    """Map an action (clipped to [-1, 1] here) to actuals: adjust or absolute, clip, rate limit."""
    practice_setpoints(p, d, style, out)
    for j in range(N_ACT):
        a = min(max(action[j], -1.0), 1.0)
        lo, hi = ACT_LO[j], ACT_HI[j]
        if mode == 0:  # adjust around the recipe; zero reproduces it exactly
            target = out[j] + a * d[D_SPAN + j]
        else:
            target = lo + 0.5 * (a + 1.0) * (hi - lo)
        target = min(max(target, lo), hi)
        prev, rate = x[X_ACT + j], ACT_RATE[j]
        x[X_ACT + j] = min(max(target, prev - rate), prev + rate)


@njit(cache=True, error_model="numpy", inline="always")
def draw_style(d: np.ndarray, u: float) -> int:
    if u < d[D_STYLE_CUM]:
        return 0
    if u < d[D_STYLE_CUM + 1]:
        return 1
    return 2


# ---------------------------------------------------------------- one body
@njit(cache=True, error_model="numpy", inline="always")
def _climate(p: np.ndarray, d: np.ndarray, x: np.ndarray) -> None:
    """Time of day, outdoor climate, booth climate (delay + lag + leak), oven air lag.

    The daily phase is rotated by a fixed angle per body (no cos, no modulo in the step).
    """
    t_out = p[P_TOUT] + p[P_TAMP] * x[X_COS] + x[X_DT_OUT]
    x[X_T_OUT] = t_out
    x[X_PSAT_OUT] = p_sat_kpa(t_out)
    rh_out = 100.0 * d[D_PV_OUT] / x[X_PSAT_OUT] + x[X_DRH_OUT]
    x[X_RH_OUT] = min(max(rh_out, 2.0), 100.0)
    pv_out = x[X_RH_OUT] / 100.0 * x[X_PSAT_OUT]
    x[X_PV_OUT] = pv_out
    c, sn = x[X_COS], x[X_SIN]
    x[X_COS] = c * d[D_COS_STEP] - sn * d[D_SIN_STEP]
    x[X_SIN] = sn * d[D_COS_STEP] + c * d[D_SIN_STEP]
    tod = x[X_TOD] + d[D_TC_H]
    x[X_TOD] = tod - 24.0 if tod >= 24.0 else tod
    t_sp, rh_sp = p[P_TB] + x[X_ACT + A_T_OFF], p[P_RHB] + x[X_ACT + A_RH_OFF]
    if p[P_BOOTH_DELAY] > 0.5:  # this body sees the set-points given one body earlier
        t_sp, x[X_T_SP_DEL] = x[X_T_SP_DEL], t_sp
        rh_sp, x[X_RH_SP_DEL] = x[X_RH_SP_DEL], rh_sp
    # the HVAC leaks outdoor heat and moisture: temperature and vapour pressure lag toward
    # set-point + leak (a moisture balance; the booth RH follows from its temperature)
    t_eq = t_sp + p[P_LEAK_T] * (t_out - t_sp)
    pv_sp = rh_sp / 100.0 * p_sat_kpa(t_sp)
    pv_eq = pv_sp + p[P_LEAK_RH] * (pv_out - pv_sp)
    e = d[D_E_BOOTH]
    x[X_T_BOOTH] = t_eq + (x[X_T_BOOTH] - t_eq) * e
    x[X_PSAT_BOOTH] = p_sat_kpa(x[X_T_BOOTH])
    pv = min(pv_eq + (x[X_PV_BOOTH] - pv_eq) * e, x[X_PSAT_BOOTH])
    x[X_PV_BOOTH] = pv
    x[X_RH_BOOTH] = max(100.0 * pv / x[X_PSAT_BOOTH], 5.0)
    sp = x[X_ACT + A_OVEN]
    x[X_OVEN_T] = sp + (x[X_OVEN_T] - sp) * d[D_E_OVEN]


@njit(cache=True, error_model="numpy", inline="always")
def _station(
    p: np.ndarray, d: np.ndarray, x: np.ndarray, layer: int, style: int, words: np.ndarray
) -> None:
    """Droplets, TE, film build (mass balance) and in-flight evaporation of one layer."""
    b, s, a = layer * LAYER_STRIDE, X_L0 + layer * XL_STRIDE, X_ACT + 4 * layer
    flow, speed, air, kv = x[a + A_Q], x[a + A_N], x[a + A_SA], x[a + A_U]
    t_paint = p[P_TPAINT] + x[s + XL_TPAINT_DEV]
    ln_mu = ln_visc_rel(d, layer, t_paint, x[s + XL_LOT_LN_VISC] + x[s + XL_DR_LN_VISC])
    d32 = droplet_d32(p, d, layer, speed, flow, ln_mu, kv, x[X_WEAR])
    te = transfer_efficiency(p, d, layer, p[P_TE_GEO + style], kv, air, d32, x[X_RH_BOOTH])
    te = min(te * (1.0 + p[P_SCATTER + b] * normal(words[W_SCATTER + layer])), 0.99)
    flow_body = flow * max(1.0 + p[P_FLOW_SD] * normal(words[W_FLOW + layer]), 0.0)
    paint_ml = p[P_NB + b] * flow_body * d[D_T_ON + layer]
    vs = p[P_VS + b] * x[s + XL_LOT_VS] * x[s + XL_DR_VS]
    solids = te * vs * paint_ml  # mL of solids on the painted exterior
    dft = solids * d[D_INV_AREA + style]
    # in-flight loss ∝ surface/volume × flight time ∝ 1/d32², times the driving force
    drive = evap_drive_kpa(p, b, t_paint, x[X_PV_BOOTH])
    evap = min(d[D_EVAP_K + layer] * drive / (d32 * d32), 0.6)
    x[s + XL_LN_MU_REL], x[s + XL_D32], x[s + XL_TE], x[s + XL_VS] = ln_mu, d32, te, vs
    x[s + XL_PAINT_ML], x[s + XL_SOLIDS_ML], x[s + XL_DFT] = paint_ml, solids, dft
    x[s + XL_WFT] = dft + dft * (1.0 - vs) * (1.0 - evap) / vs  # solids + solvent still wet
    x[s + XL_EVAP] = evap


@njit(cache=True, error_model="numpy", inline="always")
def _flash(p: np.ndarray, d: np.ndarray, x: np.ndarray) -> None:
    """Base solvent left when the clear goes on: ambient flash, then heated flash [B4], [Kiil06]."""
    s = X_L0
    dft = x[s + XL_DFT]
    h0 = x[s + XL_WFT] - dft
    h_star = dft * d[D_PHI_FACTOR]
    t_b = x[X_T_BOOTH]
    if p[P_WB] > 0.5:
        drive_amb = max(x[X_PSAT_BOOTH] - x[X_PV_BOOTH], 1e-6)
    else:
        drive_amb = x[X_PSAT_BOOTH]
    rate_amb = d[D_KM_RATE] * drive_amb / (t_b + KELVIN)
    h1 = dry_stage(h0, h_star, rate_amb, d[D_T_AMB_MIN], p[P_SKIN_AMB])
    t_film = p[P_T_FLASH] - (p[P_T_FLASH] - t_b) * d[D_FLASH_GAIN]
    drive = evap_drive_kpa(p, 0, t_film, x[X_PV_BOOTH])
    rate_heat = p[P_KM_HEAT] * d[D_KM_RATE] * drive / (t_film + KELVIN)
    h2 = dry_stage(h1, h_star, rate_heat, d[D_T_HEAT_MIN], p[P_SKIN_HEAT])
    x[X_WATER_RES] = h2 / (h2 + dft)
    x[X_RATE_AMB] = rate_amb


@njit(cache=True, error_model="numpy", inline="always")
def _oven(p: np.ndarray, d: np.ndarray, x: np.ndarray) -> None:
    """Heavy-section cure index (the plant's Chebyshev fit, linear in the entry temperature),
    thin-section time above the over-bake temperature (closed form), heat-up ramp."""
    t_air, t_in = x[X_OVEN_T], x[X_T_BOOTH]
    u = min(max((t_air - CURE_T_MID) * (1.0 / CURE_T_HALF), -1.0), 1.0)
    ln_dose = _clenshaw(d, D_CHEB, N_CHEB, u)
    ln_dose += (t_in - p[P_TB]) * _clenshaw(d, D_CHEB_SLOPE, N_CHEB_SLOPE, u)
    x[X_ALPHA] = -math.expm1(-math.exp(ln_dose))
    x[X_OVERBAKE_MIN] = time_above_min(t_air, t_in, p[P_OB_T], p[P_TAU_THIN], d[D_DWELL_MIN])
    x[X_RAMP_REL] = (t_air - t_in) * d[D_INV_RAMP_NOM]


@njit(cache=True, error_model="numpy", inline="always")
def _layer_defects(p: np.ndarray, d: np.ndarray, x: np.ndarray, layer: int) -> None:
    """Sag, orange peel and dry-spray risks of one layer (logistic, thresholds calibrated).

    Viscosity at impact: the paint's, raised by the solvent lost in flight. Sag: the arriving wet
    film over a critical film that grows with ln viscosity at impact and, for waterborne paint,
    with the ambient flash rate (both linear, est.). Orange peel: relative d32 over
    its threshold plus viscosity at impact. Dry spray: in-flight evaporation over its threshold.
    """
    b, s = layer * LAYER_STRIDE, X_L0 + layer * XL_STRIDE
    evap = x[s + XL_EVAP]
    ln_mu_imp = x[s + XL_LN_MU_REL] + p[P_VISC_EVAP] * (evap - p[P_EVAP + b])
    crit = p[P_SAG_CRIT + b] * max(1.0 + p[P_SAG_VX] * ln_mu_imp, 0.2)
    if p[P_WB + b] > 0.5:  # a slow flash keeps the waterborne film runny for longer
        crit *= max(1.0 + p[P_SAG_FX] * (x[X_RATE_AMB] * d[D_INV_RATE_NOM] - 1.0), 0.2)
    x[s + XL_SAG] = logistic((x[s + XL_WFT] / crit - 1.0) * d[D_INV_SAG_W])
    rel_d = x[s + XL_D32] * d[D_INV_OP_D + layer] - 1.0
    x[s + XL_OP] = logistic((rel_d + p[P_OP_VK] * ln_mu_imp) * d[D_INV_OP_W])
    x[s + XL_DRY] = logistic((evap - p[P_DRY_CRIT + b]) * d[D_INV_DRY_W])


@njit(cache=True, error_model="numpy", inline="always")
def _defects(p: np.ndarray, d: np.ndarray, x: np.ndarray) -> None:
    """Per-body risks: layers combined as independent events; pop, under-cure, over-bake."""
    _layer_defects(p, d, x, 0)
    _layer_defects(p, d, x, 1)
    sb, sc = X_L0, X_L0 + XL_STRIDE
    x[X_SAG] = 1.0 - (1.0 - x[sb + XL_SAG]) * (1.0 - x[sc + XL_SAG])
    x[X_OP] = 1.0 - (1.0 - x[sb + XL_OP]) * (1.0 - x[sc + XL_OP])
    x[X_DRY] = 1.0 - (1.0 - x[sb + XL_DRY]) * (1.0 - x[sc + XL_DRY])
    z = (x[X_WATER_RES] - p[P_POP_CRIT]) * d[D_INV_POP_W]
    z += p[P_POP_RAMP] * (x[X_RAMP_REL] - 1.0)
    z += p[P_POP_CLEAR] * (x[sc + XL_DFT] * d[D_INV_TARGET_CLEAR] - 1.0)
    x[X_POP] = logistic(z)
    x[X_UNDER] = logistic((p[P_CURE_AMIN] - x[X_ALPHA]) * (1.0 / CURE_WIDTH))
    over = x[X_OVERBAKE_MIN]  # no time above the limit, no over-bake
    x[X_OVER] = logistic((over - p[P_OB_MAX]) * (1.0 / OVERBAKE_WIDTH_MIN)) if over > 0.0 else 0.0


@njit(cache=True, error_model="numpy", inline="always")
def hvac_kj_per_kg(p: np.ndarray, x: np.ndarray) -> float:
    """Energy bought per kg of fresh air brought to the booth state (moist-air enthalpies).

    Humid outdoor air (more water than the booth's) is cooled to the booth dew point by the
    chiller and reheated (the hot-humid "chiller + reheat" of PHYSICS.md); otherwise the air is
    heated and humidified, or cooled, along the enthalpy difference.
    """
    t_b, pv_b, t_o, pv_o = x[X_T_BOOTH], x[X_PV_BOOTH], x[X_T_OUT], x[X_PV_OUT]
    h_b, h_o = moist_air_enthalpy(t_b, pv_b), moist_air_enthalpy(t_o, pv_o)
    if pv_o > pv_b:  # dehumidify: cool to the booth dew point (inverse Magnus), then reheat
        g = math.log(pv_b / 0.61094)
        t_dew = 243.04 * g / (17.625 - g)
        h_coil = moist_air_enthalpy(t_dew, pv_b)
        return max(h_o - h_coil, 0.0) / p[P_COP] + max(h_b - h_coil, 0.0) / p[P_HEAT_EFF]
    if h_b >= h_o:
        return (h_b - h_o) / p[P_HEAT_EFF]
    return (h_o - h_b) / p[P_COP]


@njit(cache=True, error_model="numpy", inline="always")
def _energy(p: np.ndarray, d: np.ndarray, x: np.ndarray, style: int) -> None:
    """Booth HVAC (fresh air conditioned to the booth state + fans) and oven + heated flash energy
    of one body, kWh."""
    x[X_E_HVAC] = d[D_HVAC_K] * hvac_kj_per_kg(p, x) + d[D_FAN_KWH]
    heat = (p[P_BODY_HEAT] * p[P_AREA + style] + p[P_SKID_HEAT]) / (p[P_BURNER] * 3600.0)
    t_out, t_b = x[X_T_OUT], x[X_T_BOOTH]
    oven = d[D_OVEN_LOSS_KWH_K] * (x[X_OVEN_T] - t_out) + heat * (x[X_OVEN_T] - t_b)
    flash = d[D_FLASH_LOSS_KWH_K] * (p[P_T_FLASH] - t_out)
    flash += heat * (p[P_T_FLASH] - t_b) * d[D_FLASH_BODY]
    x[X_E_OVEN] = max(oven, 0.0) + max(flash, 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def _cost(p: np.ndarray, d: np.ndarray, x: np.ndarray) -> float:
    """EUR of one body: paint, energy, DFT misses, expected rework, cure failures."""
    cost = (x[X_E_HVAC] + x[X_E_OVEN]) * p[P_PRICE_E]
    for layer in range(N_LAYERS):
        b, s = layer * LAYER_STRIDE, X_L0 + layer * XL_STRIDE
        cost += x[s + XL_PAINT_ML] * 0.001 * p[P_PRICE + b]
        z = (x[s + XL_DFT] - p[P_TARGET + b]) * d[D_INV_TOL + layer]
        cost += p[P_MISS] * band_penalty(z)
    cost += p[P_REWORK] * (x[X_SAG] + x[X_OP] + x[X_DRY] + x[X_POP])
    cost += p[P_UNDER_COST] * x[X_UNDER] + p[P_OVER_COST] * x[X_OVER]
    return cost


# KPIs per body, written every step ---------------------------------------------------------------
KPI_NAMES = (
    "dft_base_um",
    "dft_clear_um",
    "in_spec_base",
    "in_spec_clear",
    "te_base",
    "te_clear",
    "paint_base_l",
    "paint_clear_l",
    "paint_total_l",
    "energy_hvac_kwh",
    "energy_oven_kwh",
    "energy_kwh",
    "sag_risk",
    "orange_peel_risk",
    "dry_spray_risk",
    "solvent_pop_risk",
    "cure_ok",
    "booth_temp_c",
    "booth_rh_pct",
    "cost_eur",
    "body_style",
    "d32_base_um",
    "d32_clear_um",
    "base_residual_water",
    "cure_alpha_heavy",
    "outdoor_temp_c",
)
N_KPI = len(KPI_NAMES)
(
    K_DFT_B,
    K_DFT_C,
    K_INSPEC_B,
    K_INSPEC_C,
    K_TE_B,
    K_TE_C,
    K_PAINT_B,
    K_PAINT_C,
    K_PAINT,
    K_E_HVAC,
    K_E_OVEN,
    K_E,
    K_SAG,
    K_OP,
    K_DRY,
    K_POP,
    K_CURE_OK,
    K_T_BOOTH,
    K_RH_BOOTH,
    K_COST,
    K_STYLE,
    K_D32_B,
    K_D32_C,
    K_WATER,
    K_ALPHA,
    K_T_OUT,
) = range(N_KPI)


@njit(cache=True, error_model="numpy", inline="always")
def body_kpis(p: np.ndarray, x: np.ndarray, cost: float, out: np.ndarray) -> None:
    for layer in range(N_LAYERS):
        b, s = layer * LAYER_STRIDE, X_L0 + layer * XL_STRIDE
        dft = x[s + XL_DFT]
        out[K_DFT_B + layer] = dft
        out[K_INSPEC_B + layer] = 1.0 if abs(dft - p[P_TARGET + b]) <= p[P_TOL + b] else 0.0
        out[K_TE_B + layer] = x[s + XL_TE]
        out[K_PAINT_B + layer] = x[s + XL_PAINT_ML] * 0.001
        out[K_D32_B + layer] = x[s + XL_D32]
    out[K_PAINT] = out[K_PAINT_B] + out[K_PAINT_C]
    out[K_E_HVAC], out[K_E_OVEN] = x[X_E_HVAC], x[X_E_OVEN]
    out[K_E] = x[X_E_HVAC] + x[X_E_OVEN]
    out[K_SAG], out[K_OP], out[K_DRY], out[K_POP] = x[X_SAG], x[X_OP], x[X_DRY], x[X_POP]
    cure_ok = x[X_ALPHA] >= p[P_CURE_AMIN] and x[X_OVERBAKE_MIN] <= p[P_OB_MAX]
    out[K_CURE_OK] = 1.0 if cure_ok else 0.0
    out[K_T_BOOTH], out[K_RH_BOOTH], out[K_COST] = x[X_T_BOOTH], x[X_RH_BOOTH], cost
    out[K_STYLE], out[K_WATER], out[K_ALPHA] = x[X_STYLE], x[X_WATER_RES], x[X_ALPHA]
    out[K_T_OUT] = x[X_T_OUT]


@njit(cache=True, error_model="numpy", inline="always")
def _lots(p: np.ndarray, x: np.ndarray, words: np.ndarray) -> None:
    """Paint-kitchen lot changes: with probability 1/batch_interval per body and layer a new lot
    with i.i.d. viscosity (lognormal) and volume solids (normal) multipliers [B4] (est.)."""
    for layer in range(N_LAYERS):
        s, w = X_L0 + layer * XL_STRIDE, W_LOT + 4 * layer
        if uniform(words[w], words[w + 1]) * p[P_LOT] < 1.0:
            _new_lot(p, x, s, normal(words[w + 2]), normal(words[w + 3]))
            x[s + XL_SINCE_LOT] = 0.0
        x[s + XL_SINCE_LOT] += 1.0  # bodies painted with the lot now in use, this one included


@njit(cache=True, error_model="numpy", inline="always")
def _new_lot(p: np.ndarray, x: np.ndarray, s: int, z_visc: float, z_vs: float) -> None:
    x[s + XL_LOT_LN_VISC] = p[P_VISC_LOT] * z_visc
    x[s + XL_LOT_VS] = max(1.0 + p[P_VS_LOT] * z_vs, 0.5)


@njit(cache=True, error_model="numpy", inline="always")
def plant_step(p, d, x, mode, action, words, practice, kpi_row):
    """One body through the line: style, actuators, climate, stations, flash, oven, risks, cost.

    ``words`` is the plant's uint16 row; its first ``N_PROCESS_WORDS`` are used. ``practice`` is
    scratch of length ``N_ACT`` (the recipe set-points). Returns the body's cost in EUR. This is
    the "kernel" the benchmark compares the rest against.
    """
    style = int(x[X_NEXT_STYLE])
    x[X_STYLE] = style
    x[X_NEXT_STYLE] = draw_style(d, uniform(words[W_STYLE_HI], words[W_STYLE_LO]))
    _lots(p, x, words)
    _setpoints(p, d, x, mode, action, style, practice)
    _climate(p, d, x)
    _station(p, d, x, 0, style, words)
    _station(p, d, x, 1, style, words)
    _flash(p, d, x)
    _oven(p, d, x)
    _defects(p, d, x)
    _energy(p, d, x, style)
    cost = _cost(p, d, x)
    x[X_COST] += cost
    x[X_BODY] += 1.0
    body_kpis(p, x, cost, kpi_row)
    return cost


# ---------------------------------------------------------------- disturbances
# drift order = DriftBank order (the kernel reads drift values by position)
DRIFT_NAMES = (
    "outdoor_temp",  # K, deviation from the daily sinusoid (weather)
    "outdoor_rh",  # %RH, deviation from the dew-point RH
    "paint_temp_base",  # K, deviation from paint_temp_c
    "paint_temp_clear",
    "visc_base",  # multiplier of the viscosity on top of the lot's (circulation-loop wander)
    "visc_clear",
    "vs_base",  # multiplier of the volume solids on top of the lot's (scenario drifts)
    "vs_clear",
    "bell_wear",  # multiplier of d32 (cup wear)
)
DR_T_OUT, DR_RH_OUT, DR_TPAINT, DR_VISC, DR_VS, DR_WEAR = 0, 1, 2, 4, 6, 8  # + layer
N_DRIFTS = len(DRIFT_NAMES)


@njit(cache=True, error_model="numpy", inline="always")
def apply_drifts(x: np.ndarray, dv: np.ndarray, col: int) -> None:
    """Copy the drift values of this body (column ``col`` of ``dv``, drifts × plants) into the
    state (the log only when it changes)."""
    x[X_DT_OUT], x[X_DRH_OUT], x[X_WEAR] = dv[DR_T_OUT, col], dv[DR_RH_OUT, col], dv[DR_WEAR, col]
    for layer in range(N_LAYERS):
        s = X_L0 + layer * XL_STRIDE
        x[s + XL_TPAINT_DEV] = dv[DR_TPAINT + layer, col]
        visc, vs = dv[DR_VISC + layer, col], dv[DR_VS + layer, col]
        if visc != x[s + XL_DR_VISC]:
            x[s + XL_DR_VISC], x[s + XL_DR_LN_VISC] = visc, math.log(visc)
        x[s + XL_DR_VS] = vs


def default_drifts(params: PaintLineParams) -> dict[str, DriftSpec]:
    """Drift-bank specs in :data:`DRIFT_NAMES` order, stepped once per body (rates per body).

    Weather, paint temperature and the circulation-loop viscosity: Ornstein–Uhlenbeck with the
    stationary sd and correlation time of the parameters (est.). Bell wear: a linear trend of the
    d32 multiplier. The volume-solids multipliers are off by default: they are the hook for
    scenario drifts ("the solids begin to drift at body 100"). Paint lots are not drifts: a lot
    change is an event with an i.i.d. new lot (viscosity, solids), drawn in the step from process
    words (a drift bank's random steps accumulate, so lots would random-walk over a campaign).
    """
    tc_h = params.cycle_time_s / 3600.0

    def ou(sd: float, tau_h: float, bound: float) -> DriftSpec:
        theta = tc_h / tau_h
        return DriftSpec(
            mean=0.0, ou_theta=theta, ou_sigma=sd * math.sqrt(2.0 * theta), low=-bound, high=bound
        )

    def ou_mult(sd: float, tau_h: float) -> DriftSpec:
        spec = ou(sd, tau_h, 0.3)
        return dataclasses.replace(spec, mean=1.0, low=0.7, high=1.3)

    return {
        "outdoor_temp": ou(params.weather_sd_k, params.weather_tau_h, 25.0),
        "outdoor_rh": ou(params.weather_rh_sd_pct, params.weather_tau_h, 60.0),
        "paint_temp_base": ou(params.paint_temp_sd_k, params.paint_temp_tau_h, 8.0),
        "paint_temp_clear": ou(params.paint_temp_sd_k, params.paint_temp_tau_h, 8.0),
        "visc_base": ou_mult(params.visc_loop_sd_rel, params.visc_loop_tau_h),
        "visc_clear": ou_mult(params.visc_loop_sd_rel, params.visc_loop_tau_h),
        "vs_base": DriftSpec(low=0.8, high=1.2),
        "vs_clear": DriftSpec(low=0.8, high=1.2),
        "bell_wear": DriftSpec(
            trend_per_step=params.bell_wear_per_kbody / 1000.0, low=0.8, high=1.5
        ),
    }


# ---------------------------------------------------------------- measurement
SIGNAL_NAMES = (
    "booth_temp",
    "booth_rh",
    "outdoor_temp",
    "outdoor_rh",
    "paint_temp_base",
    "paint_temp_clear",
    "visc_base_cup",
    "visc_clear_cup",
    "dft_base",
    "dft_clear",
    "dft_body_style",
    "wft_base",
    "wft_clear",
)
N_SIGNALS = len(SIGNAL_NAMES)
(
    SIG_T_BOOTH,
    SIG_RH_BOOTH,
    SIG_T_OUT,
    SIG_RH_OUT,
    SIG_TPAINT,  # + layer
    _SIG_TPAINT_C,
    SIG_CUP,  # + layer
    _SIG_CUP_C,
    SIG_DFT,  # + layer
    _SIG_DFT_C,
    SIG_DFT_STYLE,
    SIG_WFT,  # + layer
    _SIG_WFT_C,
) = range(N_SIGNALS)


@njit(cache=True, error_model="numpy", inline="always")
def true_signals(p: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    """True values of the measured signals for the body just painted (``SIGNAL_NAMES`` order)."""
    out[SIG_T_BOOTH], out[SIG_RH_BOOTH] = x[X_T_BOOTH], x[X_RH_BOOTH]
    out[SIG_T_OUT], out[SIG_RH_OUT] = x[X_T_OUT], x[X_RH_OUT]
    for layer in range(N_LAYERS):
        b, s = layer * LAYER_STRIDE, X_L0 + layer * XL_STRIDE
        out[SIG_TPAINT + layer] = p[P_TPAINT] + x[s + XL_TPAINT_DEV]
        mu = p[P_MU + b] * math.exp(x[s + XL_LN_MU_REL])
        out[SIG_CUP + layer] = zahn4_seconds(mu, p[P_RHO + b])
        out[SIG_DFT + layer] = x[s + XL_DFT]
        out[SIG_WFT + layer] = x[s + XL_WFT]
    out[SIG_DFT_STYLE] = x[X_STYLE]


def default_sensors(params: PaintLineParams) -> dict[str, SensorSpec]:
    """Sensor specs in :data:`SIGNAL_NAMES` order (noise est.; DFT delay = dft_delay_bodies).

    The post-oven DFT gauge reads the body painted ``dft_delay_bodies`` steps earlier, and the
    style of that body travels with it through the same delay (the gauge knows the body it
    measures). The build control step must be the takt, ``params.cycle_time_s``.
    """
    delay = params.dft_delay_bodies * params.cycle_time_s
    dft = SensorSpec(noise_std=params.dft_noise_um, delay_s=delay, low=0.0, high=200.0)
    wft = SensorSpec(noise_std=params.wft_noise_um, low=0.0, high=500.0)
    return {
        "booth_temp": SensorSpec(noise_std=0.1, low=0.0, high=60.0),
        "booth_rh": SensorSpec(noise_std=1.0, low=0.0, high=100.0),
        "outdoor_temp": SensorSpec(noise_std=0.2, low=-50.0, high=60.0),
        "outdoor_rh": SensorSpec(noise_std=2.0, low=0.0, high=100.0),
        "paint_temp_base": SensorSpec(noise_std=0.1, low=0.0, high=60.0),
        "paint_temp_clear": SensorSpec(noise_std=0.1, low=0.0, high=60.0),
        "visc_base_cup": SensorSpec(noise_std=0.3, low=0.0, high=150.0),
        "visc_clear_cup": SensorSpec(noise_std=0.3, low=0.0, high=150.0),
        "dft_base": dft,
        "dft_clear": dft,
        "dft_body_style": SensorSpec(delay_s=delay, low=0.0, high=2.0),
        "wft_base": wft,
        "wft_clear": wft,
    }


# ---------------------------------------------------------------- observation
# name, unit, low, high — the observation layout of :func:`observe` (identical for every variant)
OBS_TABLE: tuple[tuple[str, str, float, float], ...] = (
    ("booth_temp", "degC", 0.0, 60.0),
    ("booth_rh", "%RH", 0.0, 100.0),
    ("outdoor_temp", "degC", -50.0, 60.0),
    ("outdoor_rh", "%RH", 0.0, 100.0),
    ("paint_temp_base", "degC", 0.0, 60.0),
    ("paint_temp_clear", "degC", 0.0, 60.0),
    ("visc_base", "s Zahn#4", 0.0, 150.0),
    ("visc_clear", "s Zahn#4", 0.0, 150.0),
    ("dft_base_measured", "um", 0.0, 200.0),
    ("dft_clear_measured", "um", 0.0, 200.0),
    ("dft_measured_body_style", "code", 0.0, 2.0),
    ("wft_base_inline", "um wet", 0.0, 500.0),
    ("wft_clear_inline", "um wet", 0.0, 500.0),
    ("inline_wft_available", "0/1", 0.0, 1.0),
    ("next_style_sedan", "0/1", 0.0, 1.0),
    ("next_style_suv", "0/1", 0.0, 1.0),
    ("next_style_hatch", "0/1", 0.0, 1.0),
    ("base_flow", "mL/min", 0.0, 600.0),
    ("base_bell_speed", "krpm", 0.0, 70.0),
    ("base_shaping_air", "NL/min", 0.0, 600.0),
    ("base_voltage", "kV", 0.0, 100.0),
    ("clear_flow", "mL/min", 0.0, 600.0),
    ("clear_bell_speed", "krpm", 0.0, 70.0),
    ("clear_shaping_air", "NL/min", 0.0, 600.0),
    ("clear_voltage", "kV", 0.0, 100.0),
    ("booth_temp_setpoint", "degC", 0.0, 60.0),
    ("booth_rh_setpoint", "%RH", 0.0, 100.0),
    ("oven_setpoint", "degC", 0.0, 250.0),
    ("oven_air_temp", "degC", 0.0, 250.0),
    ("bodies_since_lot_base", "bodies", 0.0, 100000.0),
    ("bodies_since_lot_clear", "bodies", 0.0, 100000.0),
    ("time_of_day", "h", 0.0, 24.0),
    ("body_index", "bodies", 0.0, 1e6),
    ("dft_target_base", "um", 0.0, 200.0),
    ("dft_target_clear", "um", 0.0, 200.0),
)
N_OBS = len(OBS_TABLE)
OBS_LOW = np.array([r[2] for r in OBS_TABLE], dtype=np.float64)
OBS_HIGH = np.array([r[3] for r in OBS_TABLE], dtype=np.float64)
O_METEO, O_DFT, O_WFT, O_INLINE, O_STYLE, O_ACT, O_BOOTH_SP = 0, 8, 11, 13, 14, 17, 25
O_OVEN_SP, O_OVEN_T, O_LOT, O_TOD, O_BODY, O_TARGET = 27, 28, 29, 31, 32, 33


@njit(cache=True, error_model="numpy", inline="always")
def _put(obs: np.ndarray, j: int, v: float, lo: np.ndarray, hi: np.ndarray) -> None:
    obs[j] = min(max(v, lo[j]), hi[j])


@njit(cache=True, error_model="numpy", inline="always")
def observe(p, d, x, meas, lo, hi, obs):
    """Observation row (float32, clipped to the Box): readings, next style, actuals, line state."""
    for j in range(8):  # booth, outdoor, paint temperatures, viscosities
        _put(obs, O_METEO + j, meas[j], lo, hi)
    _put(obs, O_DFT, meas[SIG_DFT], lo, hi)
    _put(obs, O_DFT + 1, meas[SIG_DFT + 1], lo, hi)
    _put(obs, O_DFT + 2, meas[SIG_DFT_STYLE], lo, hi)
    inline = p[P_INLINE] > 0.5
    _put(obs, O_WFT, meas[SIG_WFT] if inline else 0.0, lo, hi)
    _put(obs, O_WFT + 1, meas[SIG_WFT + 1] if inline else 0.0, lo, hi)
    obs[O_INLINE] = 1.0 if inline else 0.0
    nxt = int(x[X_NEXT_STYLE])
    for s in range(N_STYLES):
        obs[O_STYLE + s] = 1.0 if s == nxt else 0.0
    for j in range(8):
        _put(obs, O_ACT + j, x[X_ACT + j], lo, hi)
    _put(obs, O_BOOTH_SP, p[P_TB] + x[X_ACT + A_T_OFF], lo, hi)
    _put(obs, O_BOOTH_SP + 1, p[P_RHB] + x[X_ACT + A_RH_OFF], lo, hi)
    _put(obs, O_OVEN_SP, x[X_ACT + A_OVEN], lo, hi)
    _put(obs, O_OVEN_T, x[X_OVEN_T], lo, hi)
    _put(obs, O_LOT, x[X_L0 + XL_SINCE_LOT], lo, hi)
    _put(obs, O_LOT + 1, x[X_L0 + XL_STRIDE + XL_SINCE_LOT], lo, hi)
    _put(obs, O_TOD, x[X_TOD], lo, hi)
    _put(obs, O_BODY, x[X_BODY], lo, hi)
    _put(obs, O_TARGET, p[P_TARGET], lo, hi)
    _put(obs, O_TARGET + 1, p[P_TARGET + LAYER_STRIDE], lo, hi)


# ---------------------------------------------------------------- reset and batch loops
@njit(cache=True, error_model="numpy")
def _norm_cdf(z: float) -> float:
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


@njit(cache=True, error_model="numpy")
def init_plant(p: np.ndarray, d: np.ndarray, x: np.ndarray, z: np.ndarray) -> None:
    """Start of a shift: recipe actuals, booth and oven at their set-points, nominal films.

    Drift-derived entries (``apply_drifts``) must already be in ``x``; ``z`` are the
    ``N_RESET_NOISE`` standard normals (first style; per layer lot age, viscosity, solids).
    """
    style = draw_style(d, _norm_cdf(z[0]))
    x[X_NEXT_STYLE], x[X_STYLE], x[X_BODY], x[X_COST] = style, style, 0.0, 0.0
    practice_setpoints(p, d, style, x[X_ACT : X_ACT + N_ACT])
    tod = p[P_SHIFT0] % 24.0
    phase = 2.0 * math.pi * (tod - p[P_TPEAK]) / 24.0
    x[X_TOD], x[X_COS], x[X_SIN] = tod, math.cos(phase), math.sin(phase)
    x[X_T_OUT] = p[P_TOUT] + p[P_TAMP] * x[X_COS] + x[X_DT_OUT]
    x[X_PSAT_OUT] = p_sat_kpa(x[X_T_OUT])
    x[X_RH_OUT] = min(max(100.0 * d[D_PV_OUT] / x[X_PSAT_OUT] + x[X_DRH_OUT], 2.0), 100.0)
    x[X_T_SP_DEL], x[X_RH_SP_DEL] = p[P_TB], p[P_RHB]
    x[X_PV_OUT] = x[X_RH_OUT] / 100.0 * x[X_PSAT_OUT]
    x[X_T_BOOTH] = p[P_TB] + p[P_LEAK_T] * (x[X_T_OUT] - p[P_TB])
    x[X_PSAT_BOOTH] = p_sat_kpa(x[X_T_BOOTH])
    pv_sp = _nominal_pv_booth(p)
    pv = min(pv_sp + p[P_LEAK_RH] * (x[X_PV_OUT] - pv_sp), x[X_PSAT_BOOTH])
    x[X_PV_BOOTH] = pv
    x[X_RH_BOOTH] = max(100.0 * pv / x[X_PSAT_BOOTH], 5.0)
    x[X_OVEN_T] = p[P_REC_OVEN]
    x[X_RATE_AMB] = d[D_RATE_AMB_NOM]
    for layer in range(N_LAYERS):
        b, s = layer * LAYER_STRIDE, X_L0 + layer * XL_STRIDE
        # the shift starts inside a lot: its own viscosity and solids, an exponential age
        zl = z[1 + 3 * layer : 4 + 3 * layer]
        u = min(_norm_cdf(zl[0]), 1.0 - 1e-12)
        x[s + XL_SINCE_LOT] = math.floor(-p[P_LOT] * math.log(1.0 - u))
        _new_lot(p, x, s, zl[1], zl[2])
        vs = p[P_VS + b]
        x[s + XL_DFT], x[s + XL_VS] = p[P_TARGET + b], vs * x[s + XL_LOT_VS] * x[s + XL_DR_VS]
        x[s + XL_WFT] = p[P_TARGET + b] * (vs + (1.0 - vs) * (1.0 - p[P_EVAP + b])) / vs
        x[s + XL_D32], x[s + XL_EVAP] = d[D_D32_NOM + layer], p[P_EVAP + b]
        ln_mult = x[s + XL_LOT_LN_VISC] + x[s + XL_DR_LN_VISC]
        x[s + XL_LN_MU_REL] = ln_visc_rel(d, layer, p[P_TPAINT] + x[s + XL_TPAINT_DEV], ln_mult)


@njit(cache=True, error_model="numpy")
def _neutral_drifts(x: np.ndarray) -> None:
    """Drift entries of the state when the plant runs without a drift bank."""
    x[X_DT_OUT], x[X_DRH_OUT], x[X_WEAR] = 0.0, 0.0, 1.0
    for layer in range(N_LAYERS):
        s = X_L0 + layer * XL_STRIDE
        x[s + XL_TPAINT_DEV], x[s + XL_DR_VISC], x[s + XL_DR_LN_VISC] = 0.0, 1.0, 0.0
        x[s + XL_DR_VS] = 1.0


@njit(cache=True, error_model="numpy")
def derive_batch(params: np.ndarray, derived: np.ndarray) -> None:
    """:func:`derive` for every plant."""
    for i in range(params.shape[0]):
        derive(params[i], derived[i])


@njit(cache=True, error_model="numpy")
def reset_batch(
    params,
    derived,
    state,
    idx,
    rederive,
    z_reset,
    drift_cfg,
    drift_state,
    sens_cfg,
    sens_state,
    dt_s,
    obs_lo,
    obs_hi,
    obs,
):
    """Start a shift for the plants in ``idx`` (episode normals ``z_reset[k]`` for idx[k]).

    ``rederive`` recomputes the per-plant constants ``derived`` from ``params`` (needed when the
    parameters changed, e.g. randomised; the oven cure fit makes it the costly part of a reset).

    ``drift_cfg`` has :data:`N_DRIFTS` rows in :data:`DRIFT_NAMES` order, or none (no drifts);
    ``sens_cfg`` :data:`N_SIGNALS` rows in :data:`SIGNAL_NAMES` order, or none (exact readings).
    ``dt_s`` must be the takt 3600/jph (the banks were built for it). Delay buffers start full of
    the nominal films (the bodies already in the oven were painted to target).
    """
    dv = np.empty((drift_cfg.shape[0], 1))
    true_sig = np.empty(N_SIGNALS)
    for k in range(idx.shape[0]):
        i = idx[k]
        p, d, x = params[i], derived[i], state[i]
        if rederive:
            derive(p, d)
        x[:] = 0.0
        _neutral_drifts(x)
        if drift_cfg.shape[0] > 0:
            drift_bank_reset(drift_cfg, drift_state[i], dv[:, 0])
            apply_drifts(x, dv, 0)
        init_plant(p, d, x, z_reset[k])
        true_signals(p, x, true_sig)
        sensor_bank_reset(sens_cfg, sens_state, i, true_sig)
        observe(p, d, x, true_sig, obs_lo, obs_hi, obs[i])


# ---------------------------------------------------------------- shift accumulation
# per-body KPIs summed over a shift (the batch turns the sums into the shift summary): the
# means, TE, then sum and sum of squares of DFT per layer
SHIFT_MEAN_KPIS = (
    "in_spec_base",
    "in_spec_clear",
    "paint_base_l",
    "paint_clear_l",
    "paint_total_l",
    "energy_hvac_kwh",
    "energy_oven_kwh",
    "energy_kwh",
    "cost_eur",
    "sag_risk",
    "orange_peel_risk",
    "dry_spray_risk",
    "solvent_pop_risk",
    "cure_ok",
)
SHIFT_MEAN_COLS = np.array([KPI_NAMES.index(k) for k in SHIFT_MEAN_KPIS], dtype=np.int64)
A_BODIES = 0
A_MEANS = 1
A_TE = A_MEANS + len(SHIFT_MEAN_KPIS)
A_DFT = A_TE + 2
N_ACC = A_DFT + 4


@njit(cache=True, error_model="numpy", inline="always")
def accumulate_body(kpi_row: np.ndarray, acc_row: np.ndarray) -> None:
    """Add one body's KPIs to its shift's sums."""
    acc_row[A_BODIES] += 1.0
    for j in range(SHIFT_MEAN_COLS.shape[0]):
        acc_row[A_MEANS + j] += kpi_row[SHIFT_MEAN_COLS[j]]
    for layer in range(N_LAYERS):
        acc_row[A_TE + layer] += kpi_row[K_TE_B + layer]
        v = kpi_row[K_DFT_B + layer]
        acc_row[A_DFT + 2 * layer] += v
        acc_row[A_DFT + 2 * layer + 1] += v * v


# ---------------------------------------------------------------- step loops
BLOCK = 64  # plants per block of the step: their rows stay in cache from drifts to observation


@hot_loop
def plant_phase(
    params, derived, state, actions, mode, bits, r0, dv, dcol0, kpi, practice, idx, m, cost
):  # type: ignore[no-untyped-def]
    """The plant step of the block's plants ``idx[:m]``: block column k applies its drift values
    (column ``dcol0 + k`` of ``dv``, drifts × plants; none without a drift bank) and paints a
    body with the process words of row ``r0 + k`` of ``bits``; its cost (EUR) goes to ``cost[k]``.
    ``practice`` is scratch of length N_ACT. This is the "kernel" the benchmark compares the rest
    of a step against (:func:`plant_step_batch` runs it over every plant)."""
    drifting = dv.shape[0] > 0
    for k in range(m):
        i = idx[k]
        x = state[i]
        if drifting:
            apply_drifts(x, dv, dcol0 + k)
        cost[k] = plant_step(
            params[i], derived[i], x, mode, actions[i], bits[r0 + k], practice, kpi[i]
        )


class StepScratch(NamedTuple):
    """Work arrays of :func:`step_batch` (one block's worth; a compiled hot loop cannot
    allocate): :func:`step_scratch` makes them once per batch."""

    idx: np.ndarray  # int64 (BLOCK,): plants of the block
    cost: np.ndarray  # (BLOCK,): their body's cost, EUR
    practice: np.ndarray  # (N_ACT,): the recipe set-points of one plant
    dv: np.ndarray  # (n_drifts, BLOCK): drift values of the body
    values: np.ndarray  # (N_SIGNALS, BLOCK): true signals, then readings


def step_scratch(n_plants: int, n_drifts: int) -> StepScratch:
    """The work arrays of :func:`step_batch` for ``n_plants`` lines with ``n_drifts`` drifts."""
    b = min(BLOCK, n_plants)
    return StepScratch(
        np.empty(b, dtype=np.int64),
        np.empty(b),
        np.empty(N_ACT),
        np.empty((n_drifts, b)),
        np.empty((N_SIGNALS, b)),
    )


@hot_loop
def step_batch(
    params,
    derived,
    state,
    actions,
    mode,
    bits,
    n_drift_words,
    drift_cfg,
    drift_cols,
    drift_state,
    sens_cfg,
    sens_cols,
    sens_state,
    dt_s,
    obs_lo,
    obs_hi,
    obs,
    obs_out,
    reward,
    kpi,
    active,
    acc,
    bodies,
    shift_bodies,
    shift_end,
    scratch,
):  # type: ignore[no-untyped-def]
    """One body for every active plant: drifts, plant step, sensors, observation, reward, shift
    sums; returns the number of plants whose shift is over.

    ``bits`` (uint16) holds one row per *active* plant, in plant order, laid out as
    ``[0, N_PROCESS_WORDS)`` process words, then ``n_drift_words`` for the drift bank, then the
    sensor bank's words. Inactive plants (``active[i]`` False) are left as they are, reward 0.
    ``obs`` keeps each plant's observation, and every row, inactive plants' included, is also
    copied to ``obs_out`` (the array a vector env returns; it may be ``obs`` itself) while it is
    in cache. ``kpi[i]`` receives the KPIs of the body plant i just painted, ``acc[i]`` (N_ACC)
    adds them to the shift's sums, ``bodies[i]`` counts them, and ``shift_end[i]`` is set once
    ``bodies[i]`` reaches ``shift_bodies``. Rewards are −cost/100 EUR. ``scratch`` is
    :func:`step_scratch` of the batch.

    Blocks of :data:`BLOCK` plants go through the drift bank, the plant step
    (:func:`plant_phase`), the sensors (both banks part by part over the block:
    :mod:`envs.core.disturbances`, :mod:`envs.core.sensors`), then observation, reward and shift
    sums; each plant sees the same operations in the same order as in one loop, so the numbers
    are those of one loop.
    """
    idx, cost, practice, dv, values = scratch
    # integers passed on as int64, never as literals: a literal argument would compile the
    # callee once more, specialised on its value (numba's literal dispatch)
    n, r0, n_ended, zero = state.shape[0], np.int64(0), 0, np.int64(0)
    s0 = np.int64(N_PROCESS_WORDS)
    s1 = s0 + n_drift_words
    for lo in range(0, n, BLOCK):
        hi = min(lo + BLOCK, n)
        m = active_block(active, lo, hi, idx, reward, obs, obs_out)
        drift_bank_step_block(drift_cfg, drift_cols, drift_state, idx, m, bits, r0, s0, dv)
        plant_phase(
            params, derived, state, actions, mode, bits, r0, dv, zero, kpi, practice, idx, m, cost
        )
        for k in range(m):
            i = idx[k]
            true_signals(params[i], state[i], values[:, k])
        sensor_bank_step_block(sens_cfg, sens_cols, sens_state, idx, m, bits, r0, s1, dt_s, values)
        for k in range(m):
            i = idx[k]
            observe(params[i], derived[i], state[i], values[:, k], obs_lo, obs_hi, obs[i])
            copy_row(obs, obs_out, i)
            reward[i] = -cost[k] / REWARD_SCALE_EUR
            accumulate_body(kpi[i], acc[i])
            bodies[i] += 1
        for i in range(lo, hi):
            shift_end[i] = bodies[i] >= shift_bodies
            n_ended += shift_end[i]
        r0 += m
    sensor_bank_advance(sens_state)
    return n_ended


@hot_loop
def plant_step_batch(params, derived, state, actions, mode, bits, dv, kpi, scratch):  # type: ignore[no-untyped-def]
    """Bare kernel for the benchmark: :func:`plant_phase` over every plant in the blocks of
    :func:`step_batch` (``scratch`` from :func:`step_scratch`), with given drift values ``dv``
    (drifts × plants) and process words ``bits`` (a row per plant); no drift bank, sensors or
    observation."""
    idx, cost, practice, _, _ = scratch
    n = state.shape[0]
    for lo in range(0, n, BLOCK):
        m = whole_block(lo, min(lo + BLOCK, n), idx)
        plant_phase(
            params, derived, state, actions, mode, bits, lo, dv, lo, kpi, practice, idx, m, cost
        )
