"""Per-plant constants of the paint line: derived once per plant (and again when its parameters
change), so the step multiplies instead of dividing and never recomputes the recipe.

The operator's recipe lives here too: per style, the flow per bell that hits each layer's DFT
target at nominal conditions (:func:`recipe_flow`), with the recipe's speed, shaping air and
voltage, booth set-points and oven (:func:`practice_setpoints`). The env's zero adjust action
reproduces it exactly.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from envs.paint.layout import (
    ACT_HI,
    ACT_LO,
    ACT_RATE,
    AS,
    N_ACT,
    N_DERIVED,
    N_LAYERS,
    N_STYLES,
    P_LAYER_STRIDE,
    STATION_STRIDE,
    A,
    D,
    P,
)
from envs.paint.oven import chebyshev_fit
from envs.paint.physics import (
    KELVIN,
    M_WATER,
    R_GAS,
    RAMP_REF_K,
    REF_BOOTH_T_C,
    RHO_AIR,
    cycle_time_s,
    droplet_d32,
    evap_drive_kpa,
    inflight_drive_kpa,
    ln_visc_rel,
    p_sat_kpa,
    reference_pv_booth,
    transfer_efficiency,
    wet_bulb_c,
)

__all__ = ["actuator_limits", "derive", "practice_setpoints", "recipe_flow"]

# Adjust spans, sized to what the process can use (docs/physics/paint.md §2.1): a full action
# (a = ±1) keeps a nominal body inside its quality window and still covers the documented
# disturbances. Every number below is quoted with its source or derivation there.
FLOW_SPAN_BANDS = 0.5  # flows: ± half the DFT tolerance of film at the mix-weighted recipe flow
SPEED_SPAN_KRPM = 5.0  # bell speed ±11–13 %: holds d32 against ≈ ±30 % of viscosity [B4]
SHAPING_AIR_SPAN_REL = 0.2  # ±20 % of the recipe: the tested 120–180 L/min [IMECE97]
VOLTAGE_SPAN_KV = 10.0  # ±10 kV: 80 kV clear recipe up to the 90 kV cap (60–90 kV [IMECE97])
BOOTH_TEMP_SPAN_K = 3.0  # the booth window ±2.8 K ≈ ±3 K [PF-CC]
BOOTH_RH_SPAN_PCT = 10.0  # the waterborne RH window ±10 %RH [PF-CC], plus the leak's offset
OVEN_SPAN_K = 5.0  # +10 % line speed needs ≈ +4–5 K of oven air (paint_v1_sources.md §2.2)


@njit(cache=True, error_model="numpy")
def recipe_flow(p: np.ndarray, d: np.ndarray, layer: int, style: int) -> float:
    """Recipe flow per bell (mL/min) that hits the DFT target at nominal conditions.

    The operator's recipe is set once per style for the nominal booth climate and paint, with the
    recipe speed, shaping air and voltage; d32 moves with the flow, so iterate (contracts fast).
    It uses the plant's own parameters (flows commissioned on this line), never the lot, the
    drifts or the climate of the day: those are what an adjustment policy can correct.
    """
    b = layer * P_LAYER_STRIDE
    ln_mu = ln_visc_rel(d, layer, p[P.paint_temp_c], 0.0)
    need = (
        p[P.base_dft_target_um + b]
        * p[P.area_sedan_m2 + style]
        / (p[P.base_vs + b] * p[P.base_n_bells + b] * d[D.t_on + layer])
    )
    kv, air = p[P.base_recipe_voltage_kv + b], p[P.base_recipe_shaping_air_nl_min + b]
    q = need / 0.7
    for _ in range(12):
        d32 = droplet_d32(p, d, layer, p[P.base_recipe_speed_krpm + b], q, ln_mu, kv, 1.0)
        te = transfer_efficiency(
            p, d, layer, p[P.te_geo_sedan + style], kv, air, d32, p[P.booth_rh_pct]
        )
        q = need / te
    return q


@njit(cache=True, error_model="numpy")
def _leak_offset_rh(p: np.ndarray) -> float:
    """RH set-point offset (%RH) that holds the nominal booth RH at the site's mean outdoor climate
    against the HVAC leak (``physics.climate``: p_v = p_v,sp + leak (p_v,out − p_v,sp))."""
    leak, psat_booth = p[P.hvac_leak_rh], p_sat_kpa(p[P.booth_temp_c])
    pv_target = p[P.booth_rh_pct] / 100.0 * psat_booth
    pv_sp = (pv_target - leak * p_sat_kpa(p[P.outdoor_dewpoint_c])) / max(1.0 - leak, 1e-6)
    return 100.0 * pv_sp / psat_booth - p[P.booth_rh_pct]


@njit(cache=True, error_model="numpy")
def _spans(p: np.ndarray, d: np.ndarray, span: np.ndarray) -> None:
    """Adjust spans (``d`` must hold the recipe flows): flows ± half a tolerance band of film at
    the mix-weighted recipe flow, bell speed ±5 krpm, shaping air ±20 % of the recipe, voltage
    ±10 kV, booth ±3 K and ±(10 %RH + the leak's offset), oven ±5 K (module constants)."""
    wsum = p[P.style_p_sedan] + p[P.style_p_sedan + 1] + p[P.style_p_sedan + 2]
    for layer in range(N_LAYERS):
        a, b = layer * STATION_STRIDE, layer * P_LAYER_STRIDE
        q_mix = 0.0
        for s in range(N_STYLES):
            q_mix += p[P.style_p_sedan + s] / wsum * d[D.recipe_q + N_STYLES * layer + s]
        # DFT ∝ flow at a given TE: a relative flow trim is the same relative film trim
        band_rel = p[P.base_dft_tol_um + b] / p[P.base_dft_target_um + b]
        span[a + AS.flow] = FLOW_SPAN_BANDS * band_rel * q_mix
        span[a + AS.bell_speed] = SPEED_SPAN_KRPM
        span[a + AS.shaping_air] = SHAPING_AIR_SPAN_REL * p[P.base_recipe_shaping_air_nl_min + b]
        span[a + AS.voltage] = VOLTAGE_SPAN_KV
    span[A.booth_temp_offset] = BOOTH_TEMP_SPAN_K
    span[A.booth_rh_offset] = BOOTH_RH_SPAN_PCT + abs(_leak_offset_rh(p))
    span[A.oven_setpoint] = OVEN_SPAN_K


def actuator_limits(
    p: np.ndarray, lo: np.ndarray, hi: np.ndarray, span: np.ndarray, rate: np.ndarray
) -> None:
    """Write the engineering limits, adjust spans and per-body rate limits of the 11 actuators of
    plant ``p`` (``ACTUATOR_NAMES`` order; only the flow spans depend on the plant)."""
    d = np.zeros(N_DERIVED)
    derive(p, d)
    lo[:], hi[:], span[:], rate[:] = ACT_LO, ACT_HI, d[D.span : D.span + N_ACT], ACT_RATE


@njit(cache=True, error_model="numpy")
def _derive_base(p: np.ndarray, d: np.ndarray) -> None:
    """Constants that do not need the recipe flows (the recipe needs these)."""
    tc = cycle_time_s(p)
    tc_min = tc / 60.0
    d[D.dt], d[D.tc_min], d[D.tc_h] = tc, tc_min, tc / 3600.0
    d[D.e_booth] = math.exp(-tc_min / p[P.booth_tau_min])
    d[D.e_oven] = math.exp(-tc_min / p[P.oven_air_tau_min])
    d[D.pv_out] = p_sat_kpa(p[P.outdoor_dewpoint_c])
    d[D.te_draft] = math.exp(-p[P.te_k_v] * max(0.0, p[P.down_draft_m_s] - 0.3))
    for layer in range(N_LAYERS):
        d[D.t_on + layer] = p[P.base_on_fraction + layer * P_LAYER_STRIDE] * tc_min
    wsum = p[P.style_p_sedan] + p[P.style_p_sedan + 1] + p[P.style_p_sedan + 2]
    d[D.style_cum] = p[P.style_p_sedan] / wsum
    d[D.style_cum + 1] = (p[P.style_p_sedan] + p[P.style_p_sedan + 1]) / wsum
    d[D.style_cum + 2] = 1.0
    step = 2.0 * math.pi * d[D.tc_h] / 24.0
    d[D.cos_step], d[D.sin_step] = math.cos(step), math.sin(step)
    d[D.ln_nref], d[D.ln_qref] = math.log(p[P.ref_speed_krpm]), math.log(p[P.ref_flow_ml_min])
    d[D.inv_uc], d[D.inv_dc] = 1.0 / p[P.te_u_c_kv], 1.0 / p[P.te_d_c_um]
    d[D.inv_tvref] = 1.0 / (p[P.visc_ref_temp_c] + KELVIN)
    d[D.phi_factor] = 1.0 / p[P.phi_crit] - 1.0
    d[D.inv_sag_w], d[D.inv_op_w] = 1.0 / p[P.sag_width_rel], 1.0 / p[P.orange_peel_width]
    d[D.inv_dry_w], d[D.inv_pop_w] = 1.0 / p[P.dry_spray_width], 1.0 / p[P.pop_width]
    d[D.inv_target_clear] = 1.0 / p[P.base_dft_target_um + P_LAYER_STRIDE]
    for s in range(N_STYLES):
        d[D.inv_area + s] = 1.0 / p[P.area_sedan_m2 + s]
        d[D.heat_kwh_k + s] = (
            p[P.body_heat_kj_km2] * p[P.area_sedan_m2 + s] + p[P.skid_heat_kj_k]
        ) / (p[P.burner_eff] * 3600.0)
    d[D.ln_dose_min] = math.log(-math.log1p(-p[P.cure_alpha_min]))
    for layer in range(N_LAYERS):
        b = layer * P_LAYER_STRIDE
        d[D.ea_r + layer] = p[P.base_visc_ea_kj_mol + b] * 1000.0 / R_GAS
        d[D.d32_b + layer] = p[P.base_d32_ref_um + b] / (1.0 - p[P.d32_volt_k])
        d[D.d32_a + layer] = d[D.d32_b + layer] * p[P.d32_volt_k] / p[P.ref_voltage_kv]
        d[D.inv_saopt + layer] = 1.0 / p[P.base_sa_opt_nl_min + b]
        d[D.inv_op_d + layer] = 1.0 / p[P.base_orange_peel_d_um + b]
        d[D.inv_tol + layer] = 1.0 / p[P.base_dft_tol_um + b]


@njit(cache=True, error_model="numpy")
def _derive_flash_oven(p: np.ndarray, d: np.ndarray) -> None:
    """Flash and oven times, evaporation and cure constants, energy factors."""
    tc_min = d[D.tc_min]
    d[D.t_amb_min] = p[P.flash_ambient_pitches] * tc_min
    t_heat = p[P.flash_heated_pitches] * tc_min
    d[D.t_heat_min] = t_heat
    d[D.flash_gain] = (
        p[P.tau_obj_thin_min] / t_heat * (1.0 - math.exp(-t_heat / p[P.tau_obj_thin_min]))
    )
    d[D.flash_body] = 1.0 - math.exp(-t_heat / p[P.tau_obj_thin_min])
    # ṁ''/ρ_w in µm/min per kPa/K: k_m M_w/(R T) Δp [kg/(m² s)] / 1000 kg/m³ · 1e6 µm/m · 60 s/min
    d[D.km_rate] = p[P.evap_km_m_s] * M_WATER / R_GAS * 1000.0 / 1000.0 * 1e6 * 60.0
    # the sag term compares the ambient flash rate with its rate in the reference climate (a
    # fixed climate, not the plant's set-points: same climate, same physics)
    drive = evap_drive_kpa(p, 0, REF_BOOTH_T_C, reference_pv_booth())
    d[D.rate_amb_nom] = d[D.km_rate] * drive / (REF_BOOTH_T_C + KELVIN)
    d[D.inv_rate_nom] = 1.0 / d[D.rate_amb_nom]
    # residence times are lengths in pitches: minutes ∝ 1/JPH (a faster line, a shorter bake)
    dwell = p[P.oven_pitches] * tc_min
    d[D.dwell_min] = dwell
    chebyshev_fit(p, d)
    d[D.inv_ramp_nom] = 1.0 / RAMP_REF_K
    d[D.hvac_k] = RHO_AIR * p[P.booth_supply_m3_s] * p[P.fresh_air_frac] * d[D.dt] / 3600.0
    d[D.fan_kwh] = p[P.fan_kw] * d[D.dt] / 3600.0
    d[D.oven_loss_kwh_k] = p[P.oven_loss_kw_k] * d[D.dt] / (p[P.burner_eff] * 3600.0)
    d[D.flash_loss_kwh_k] = p[P.flash_loss_kw_k] * d[D.dt] / (p[P.burner_eff] * 3600.0)


@njit(cache=True, error_model="numpy")
def derive(p: np.ndarray, d: np.ndarray) -> None:
    """Per-plant constants (the control step is the takt, 3600/jph s): lags, recipe, limits."""
    _derive_base(p, d)
    _derive_flash_oven(p, d)
    pv_ref = reference_pv_booth()
    for layer in range(N_LAYERS):
        b = layer * P_LAYER_STRIDE
        for s in range(N_STYLES):
            d[D.recipe_q + N_STYLES * layer + s] = recipe_flow(p, d, layer, s)
        ln_mu = ln_visc_rel(d, layer, p[P.paint_temp_c], 0.0)
        q = d[D.recipe_q + N_STYLES * layer]
        d32 = droplet_d32(
            p,
            d,
            layer,
            p[P.base_recipe_speed_krpm + b],
            q,
            ln_mu,
            p[P.base_recipe_voltage_kv + b],
            1.0,
        )
        d[D.d32_nom + layer] = d32
        # in-flight evaporation is normalised once, on the paint's reference droplet (d32_ref)
        # in the reference climate: never on this plant's set-points or recipe, so the same
        # droplet in the same booth air loses the same solvent on every plant (issue 12)
        drive = inflight_drive_kpa(p, b, REF_BOOTH_T_C, wet_bulb_c(REF_BOOTH_T_C, pv_ref))
        d_ref = p[P.base_d32_ref_um + b]
        d[D.drive_nom + layer] = drive
        d[D.evap_k + layer] = p[P.base_evap_inflight + b] * d_ref * d_ref / drive
    _spans(p, d, d[D.span : D.span + N_ACT])


@njit(cache=True, error_model="numpy", inline="always")
def practice_setpoints(p: np.ndarray, d: np.ndarray, style: int, out: np.ndarray) -> None:
    """The operator's fixed recipe for a body of ``style``: flows per style, the rest fixed."""
    for layer in range(N_LAYERS):
        b, a = layer * P_LAYER_STRIDE, layer * STATION_STRIDE
        out[a + AS.flow] = d[D.recipe_q + N_STYLES * layer + style]
        out[a + AS.bell_speed] = p[P.base_recipe_speed_krpm + b]
        out[a + AS.shaping_air] = p[P.base_recipe_shaping_air_nl_min + b]
        out[a + AS.voltage] = p[P.base_recipe_voltage_kv + b]
    out[A.booth_temp_offset], out[A.booth_rh_offset], out[A.oven_setpoint] = (
        0.0,
        0.0,
        p[P.recipe_oven_c],
    )
