"""Physics of the paint line's booths, films and climate: one body, closed forms, no sub-steps.

Per-plant functions on the rows ``(p, d, x)`` — parameters, derived constants, state — read by
the names of :mod:`envs.paint.layout`; the oven and cure are in :mod:`envs.paint.oven`, the
per-plant constants in :mod:`envs.paint.derive`, the step that chains them in
:mod:`envs.paint.core`. Sources and the calibrated/sourced/est. status of every constant are in
:mod:`envs.paint.params`; relations documented in ``docs/physics/paint.md`` §3:

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
  ``(d32_ref/d32)²`` (surface per volume times flight time) times the evaporation driving force
  at the droplet's temperature, the booth air's wet bulb: ``A P (T_booth − T_wb)`` for waterborne
  paint (psychrometer equation, A from Fan 1987), ``p_sat(T_booth)`` (no solvent in the booth
  air) for solvent-borne, both relative to a fixed reference climate (23 °C / 70 %RH), never to
  the plant's set-points; Magnus formula for p_sat (Alduchov & Eskridge, J. Appl. Meteor.
  35:601, 1996). It thickens the arriving film (viscosity at impact) and drives dry spray.
- **Flash-off of the waterborne base** [B4], [Kiil06]: constant-rate evaporation
  ``ṁ'' = k_m (M_w/(R T)) (p_sat(T_film) − RH p_sat(T_air))`` in the ambient flash (booth air) and
  in the heated flash (booth air heated, same absolute humidity; film at the mean temperature of
  the panel heating toward the flash air) until the polymer volume fraction reaches 0.74; then a
  skin-limited exponential decay that no longer sees humidity. The water left when the clear goes
  on drives solvent pop.
- **Booth climate**: set-points (nominal + agent offsets; RH clipped to the 5–95 % an HVAC
  makes) act through a transport delay of one
  body and a first-order lag (exact discretisation) on temperature and water vapour pressure
  (a moisture balance; RH follows); an imperfect HVAC leaks a share of the outdoor−set-point
  difference of each. Outdoor climate: daily sinusoid + weather wander (drift bank);
  outdoor RH from a fixed dew point (so it swings against temperature) plus a wander. The oven
  air follows its set-point with a lag of a few bodies.
- **Energy**: booth HVAC = fresh-air mass × the energy to bring it to the booth state (moist-air
  enthalpies, ASHRAE form: heat and humidify, or chill to the booth dew point and reheat) + fans;
  oven and heated flash = losses × (T − T_outdoor) + body and skid heat, / burner efficiency.
  Sizing in :mod:`envs.paint.params`.
- **Defects** (logistic risks, thresholds calibrated/est.): sag (arriving wet film over a critical
  thickness that rises with viscosity at impact and, for waterborne, with the ambient flash rate),
  orange peel (ln d32 ratio and viscosity at impact), dry spray (ln ratio of the in-flight
  evaporation), widths fitted to the sourced booth window [PF-CC]; solvent pop (residual base
  water, oven ramp, clear build). Under-cure on the heavy-section dose ratio, over-bake on the
  thin-section time above the limit.
- **Paint lots**: a lot change is an event (probability 1/batch_interval per body and layer) with
  an i.i.d. new lot (viscosity, volume solids), logged by the kitchen (bodies since the change).
- **Cost** per body (EUR): paint, energy, a DFT-miss penalty per layer that is zero in the inner
  half of the band and grows outside (C¹), rework × defect risks, under-cure/over-bake.

Speed: p_sat and the logistic are tabulated (interpolated, errors < 1e-5 and 4e-5, tested) and
divisions by constants are folded into the derived row (so are the cure's minimum dose and the
body heat per style). The wet bulb is solved once per body, outside the stations
(:func:`wet_bulb_newton`, run over a block of plants by :func:`envs.paint.core.plant_phase`).
``droplet_d32`` and ``transfer_efficiency`` take eight arguments: they are the published
relations [B2], [B3], one input per physical quantity, and are inlined.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from envs.core.noise import normal, uniform
from envs.paint.layout import (
    AS,
    LAYER_STRIDE,
    LOT_WORDS_STRIDE,
    N_LAYERS,
    P_LAYER_STRIDE,
    STATION_STRIDE,
    WL,
    XL,
    A,
    D,
    P,
    W,
    X,
)

# physical constants ------------------------------------------------------------------------------
KELVIN = 273.15
R_GAS = 8.314462618  # J/(mol K)
M_WATER = 0.018015  # kg/mol
P_ATM_KPA = 101.325
RHO_AIR = 1.2  # kg/m3, booth supply air
ZAHN4_K, ZAHN4_C = 14.8, 5.0  # ν[cSt] = 14.8 (t − 5) [Pat79]
# Under-cure is judged on the heavy-section cure dose: one logit unit per 5 % of dose (est.). The
# dose falls ≈ 4–5 %/K of oven air near the window edge (E 66 kJ/mol), so the risk goes from 5 %
# to 95 % over ≈ 6 K, not within 2 K (docs/physics/paint.md §3.8, paint_v1_sources.md §2.4).
CURE_WIDTH_LN = 0.05
OVERBAKE_WIDTH_MIN = 1.5  # minutes above the allowed time per logit unit of over-bake (est.)
# The reference climate of the in-flight evaporation and of the flash rate: the centre of the
# sourced waterborne window, 23 °C / 70 %RH ([PF-CC] 25.6 ± 2.8 °C, 65 ± 10 %RH; [GBM] 65–75 %RH;
# [GFS] 23 °C). A fixed climate, not the plant's set-points, so that a booth at a given climate
# has the same physics whichever parameter or action put it there (issue 12).
REF_BOOTH_T_C, REF_BOOTH_RH_PCT = 23.0, 70.0
# psychrometer coefficient of a well-ventilated wet bulb, 1/K: p_v = p_sat(T_wb) − A P (T − T_wb);
# 6.23e-4 measured for the WMO reference psychrometer at 23 degC, 40–50 %RH (Fan, J. Atmos.
# Oceanic Technol. 4:239, 1987). The evaporation is normalised at the reference climate with the
# same A, so A sets only the curvature of the drive, not its level.
PSYCHRO_A = 6.23e-4
# the HVAC's capability: a commanded RH outside 5–95 % cannot be produced (paint_v1_sources §4.3)
RH_SP_MIN, RH_SP_MAX = 5.0, 95.0
# the Magnus formula is validated down to −40 °C [AE96]: vapour pressures below p_sat(−40 °C)
# (a dew point below any booth or outdoor state) are floored there before inverting it
PV_MIN_KPA = 0.61094 * math.exp(17.625 * -40.0 / (-40.0 + 243.04))
# the pop logit's oven ramp is relative to a fixed 135 K (the v0 recipe, 157.7 − 23 °C), so the
# same ramp gives the same pop on every plant
RAMP_REF_K = 135.0


# ---------------------------------------------------------------- scalar physics
def magnus_kpa(t_c: float) -> float:
    """Saturation vapour pressure of water over liquid, kPa (Magnus; Alduchov & Eskridge 1996)."""
    return 0.61094 * math.exp(17.625 * t_c / (t_c + 243.04))


# Magnus tabulated every 0.05 K on [−50, 100] °C: a step evaluates p_sat five times, and a table
# look-up with linear interpolation (relative error < 1e-5, tested) costs a third of an exp.
PSAT_T0, PSAT_T1, PSAT_DT = -50.0, 100.0, 0.05
PSAT_N = round((PSAT_T1 - PSAT_T0) / PSAT_DT) + 1  # table points
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


WET_BULB_NEWTON_STEPS = 4  # from the dry bulb: the error falls ≈ 8 K → 1e-11 K


@njit(cache=True, error_model="numpy", inline="always")
def wet_bulb_newton(t_c: float, pv_kpa: float, tw: float) -> float:
    """One Newton step toward the wet bulb (:func:`wet_bulb_c`) from the iterate ``tw``, °C."""
    ap = PSYCHRO_A * P_ATM_KPA
    ps = 0.61094 * math.exp(17.625 * tw / (tw + 243.04))
    slope = ps * 17.625 * 243.04 / ((tw + 243.04) * (tw + 243.04))
    return tw - (ps - pv_kpa - ap * (t_c - tw)) / (slope + ap)


@njit(cache=True, error_model="numpy")
def wet_bulb_c(t_c: float, pv_kpa: float) -> float:
    """Wet-bulb temperature, °C: root of p_sat(T_wb) − A P (T − T_wb) = p_v (Newton from the dry
    bulb; f is convex and increasing, so the iterates fall monotonically onto the root).

    The vector step runs the same steps iteration by iteration over a block of plants
    (:func:`envs.paint.core.plant_phase`): the same numbers, but independent plants' steps
    overlap instead of waiting on one chain of exponentials and divisions.
    """
    tw = t_c
    for _ in range(WET_BULB_NEWTON_STEPS):
        tw = wet_bulb_newton(t_c, pv_kpa, tw)
    return tw


@njit(cache=True, error_model="numpy", inline="always")
def needs_wet_bulb(p: np.ndarray) -> bool:
    """Whether a layer is waterborne (its in-flight evaporation needs the booth's wet bulb)."""
    return p[P.base_waterborne] > 0.5 or p[P.base_waterborne + P_LAYER_STRIDE] > 0.5


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


# ---------------------------------------------------------------- application physics (one layer)
@njit(cache=True, error_model="numpy", inline="always")
def ln_visc_rel(d: np.ndarray, layer: int, t_paint: float, ln_mult: float) -> float:
    """ln(μ/μ_nominal): Arrhenius in the paint temperature plus the lot multiplier [B4]."""
    return ln_mult + d[D.ea_r + layer] * (1.0 / (t_paint + KELVIN) - d[D.inv_tvref])


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
        -p[P.d32_speed_exp] * (math.log(speed) - d[D.ln_nref])
        + p[P.d32_flow_exp] * (math.log(flow) - d[D.ln_qref])
        + p[P.d32_visc_exp] * ln_mu
    )
    return math.exp(ln) * (d[D.d32_b + layer] - d[D.d32_a + layer] * kv) * wear


@njit(cache=True, error_model="numpy", inline="always")
def rh_factor(p: np.ndarray, b: int, rh: float) -> float:
    """f_RH of TE: flat on [te_rh_lo, te_rh_hi], quadratic loss outside (broad optimum) [B2];
    the dry loss is counted per 25 %RH, the humid one per 10 %RH."""
    w = p[P.base_te_rh_weight + b]
    if rh < p[P.te_rh_lo_pct]:
        z = (p[P.te_rh_lo_pct] - rh) * 0.04
        return max(1.0 - w * p[P.te_k_rh_dry] * z * z, 0.2)
    if rh > p[P.te_rh_hi_pct]:
        z = (rh - p[P.te_rh_hi_pct]) * 0.1
        return max(1.0 - w * p[P.te_k_rh_wet] * z * z, 0.2)
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
    """Lumped TE of docs/physics/paint.md §3.3 [B2]: geometry × voltage saturation × down-draft
    loss × shaping-air optimum × fines loss × f_RH (the down-draft factor is per plant, in
    ``d``)."""
    te = p[P.te_0] + (p[P.te_max] - p[P.te_0]) * (1.0 - math.exp(-kv * d[D.inv_uc]))
    r = shaping_air * d[D.inv_saopt + layer] - 1.0
    q = d32 * d[D.inv_dc]
    # the shaping-air optimum: 1 − k r² near it, but never 0 far from it (a pattern too wide or
    # too narrow loses paint, it does not stop depositing): 1/(1 + k r²)
    shaping = 1.0 / (1.0 + p[P.te_k_sa] * r * r)
    fines = 1.0 - math.exp(-q * q)
    rh_f = rh_factor(p, layer * P_LAYER_STRIDE, rh)
    return te_geo * te * d[D.te_draft] * shaping * fines * rh_f


@njit(cache=True, error_model="numpy", inline="always")
def evap_drive_kpa(p: np.ndarray, b: int, t_film: float, pv_air: float) -> float:
    """Evaporation driving force of a film, kPa: p_sat(T) − p_v for water, p_sat(T) as the
    solvent proxy."""
    ps = p_sat_kpa(t_film)
    if p[P.base_waterborne + b] > 0.5:
        return max(ps - pv_air, 1e-6)
    return ps


@njit(cache=True, error_model="numpy", inline="always")
def inflight_drive_kpa(p: np.ndarray, b: int, t_air: float, t_wb: float) -> float:
    """Evaporation driving force of a droplet in flight, kPa (``t_wb``: the air's wet bulb,
    :func:`wet_bulb_c`, read by waterborne layers only).

    A 20–50 µm droplet takes the air's wet-bulb temperature within a few ms of a flight of
    tens of ms, so water evaporates against ``p_sat(T_wb) − p_v = A P (T − T_wb)`` (the
    psychrometer equation): rises with booth temperature and falls with RH, and is 0 at
    saturation. Solvent-borne paint: ``p_sat(T_air)`` as the solvent proxy (no solvent in the
    booth air).
    """
    if p[P.base_waterborne + b] > 0.5:
        return PSYCHRO_A * P_ATM_KPA * max(t_air - t_wb, 0.0)
    return p_sat_kpa(t_air)


@njit(cache=True, error_model="numpy")
def cycle_time_s(p: np.ndarray) -> float:
    """Takt (control step), s."""
    return 3600.0 / p[P.jph]


@njit(cache=True, error_model="numpy")
def nominal_pv_booth(p: np.ndarray) -> float:
    """Vapour pressure of the booth at the plant's nominal set-points, kPa."""
    return p[P.booth_rh_pct] / 100.0 * p_sat_kpa(p[P.booth_temp_c])


@njit(cache=True, error_model="numpy")
def reference_pv_booth() -> float:
    """Vapour pressure of the reference climate (REF_BOOTH_T_C, REF_BOOTH_RH_PCT), kPa."""
    return REF_BOOTH_RH_PCT / 100.0 * p_sat_kpa(REF_BOOTH_T_C)


# ---------------------------------------------------------------- one body
@njit(cache=True, error_model="numpy", inline="always")
def climate(p: np.ndarray, d: np.ndarray, x: np.ndarray) -> None:
    """Time of day, outdoor climate, booth climate (delay + lag + leak), oven air lag.

    The daily phase is rotated by a fixed angle per body (no cos, no modulo in the step).
    """
    t_out = p[P.outdoor_temp_mean_c] + p[P.outdoor_temp_amp_k] * x[X.cos] + x[X.dt_out]
    x[X.t_out] = t_out
    x[X.psat_out] = p_sat_kpa(t_out)
    rh_out = 100.0 * d[D.pv_out] / x[X.psat_out] + x[X.drh_out]
    x[X.rh_out] = min(max(rh_out, 2.0), 100.0)
    pv_out = x[X.rh_out] / 100.0 * x[X.psat_out]
    x[X.pv_out] = pv_out
    c, sn = x[X.cos], x[X.sin]
    x[X.cos] = c * d[D.cos_step] - sn * d[D.sin_step]
    x[X.sin] = sn * d[D.cos_step] + c * d[D.sin_step]
    tod = x[X.tod] + d[D.tc_h]
    x[X.tod] = tod - 24.0 if tod >= 24.0 else tod
    # a commanded RH outside what the HVAC can make (5–95 %) is not produced: clip it before
    # any psychrometric call (paint_v1_sources.md §4.3)
    t_sp = p[P.booth_temp_c] + x[X.act + A.booth_temp_offset]
    rh_sp = min(max(p[P.booth_rh_pct] + x[X.act + A.booth_rh_offset], RH_SP_MIN), RH_SP_MAX)
    if p[P.booth_delay_bodies] > 0.5:  # this body sees the set-points given one body earlier
        t_sp, x[X.t_sp_del] = x[X.t_sp_del], t_sp
        rh_sp, x[X.rh_sp_del] = x[X.rh_sp_del], rh_sp
    # the HVAC leaks outdoor heat and moisture: temperature and vapour pressure lag toward
    # set-point + leak (a moisture balance; the booth RH follows from its temperature)
    t_eq = t_sp + p[P.hvac_leak_temp] * (t_out - t_sp)
    pv_sp = rh_sp / 100.0 * p_sat_kpa(t_sp)
    pv_eq = pv_sp + p[P.hvac_leak_rh] * (pv_out - pv_sp)
    e = d[D.e_booth]
    x[X.t_booth] = t_eq + (x[X.t_booth] - t_eq) * e
    x[X.psat_booth] = p_sat_kpa(x[X.t_booth])
    pv = min(pv_eq + (x[X.pv_booth] - pv_eq) * e, x[X.psat_booth])
    x[X.pv_booth] = pv
    x[X.rh_booth] = max(100.0 * pv / x[X.psat_booth], 5.0)
    sp = x[X.act + A.oven_setpoint]
    x[X.oven_t] = sp + (x[X.oven_t] - sp) * d[D.e_oven]


@njit(cache=True, error_model="numpy", inline="always")
def station(
    p: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    layer: int,
    style: int,
    words: np.ndarray,
    t_wb: float,
) -> None:
    """Droplets, TE, film build (mass balance) and in-flight evaporation of one layer
    (``t_wb``: the booth's wet bulb, °C, read by a waterborne layer)."""
    b, s = layer * P_LAYER_STRIDE, X.layers + layer * LAYER_STRIDE
    a = X.act + layer * STATION_STRIDE
    flow, speed, air, kv = (
        x[a + AS.flow],
        x[a + AS.bell_speed],
        x[a + AS.shaping_air],
        x[a + AS.voltage],
    )
    t_paint = p[P.paint_temp_c] + x[s + XL.tpaint_dev]
    ln_mu = ln_visc_rel(d, layer, t_paint, x[s + XL.lot_ln_visc] + x[s + XL.dr_ln_visc])
    d32 = droplet_d32(p, d, layer, speed, flow, ln_mu, kv, x[X.wear])
    te = transfer_efficiency(p, d, layer, p[P.te_geo_sedan + style], kv, air, d32, x[X.rh_booth])
    te = min(te * (1.0 + p[P.base_te_scatter_rel + b] * normal(words[W.scatter + layer])), 0.99)
    flow_body = flow * max(1.0 + p[P.flow_noise_rel] * normal(words[W.flow + layer]), 0.0)
    paint_ml = p[P.base_n_bells + b] * flow_body * d[D.t_on + layer]
    vs = p[P.base_vs + b] * x[s + XL.lot_vs] * x[s + XL.dr_vs]
    solids = te * vs * paint_ml  # mL of solids on the painted exterior
    dft = solids * d[D.inv_area + style]
    # in-flight loss ∝ surface/volume × flight time ∝ 1/d32², times the driving force at the
    # droplets' (wet-bulb) temperature in the booth air
    drive = inflight_drive_kpa(p, b, x[X.t_booth], t_wb)
    evap = min(d[D.evap_k + layer] * drive / (d32 * d32), 0.6)
    x[s + XL.ln_mu_rel], x[s + XL.d32], x[s + XL.te], x[s + XL.vs] = ln_mu, d32, te, vs
    x[s + XL.paint_ml], x[s + XL.solids_ml], x[s + XL.dft] = paint_ml, solids, dft
    x[s + XL.wft] = dft + dft * (1.0 - vs) * (1.0 - evap) / vs  # solids + solvent still wet
    x[s + XL.evap] = evap


@njit(cache=True, error_model="numpy", inline="always")
def flash(p: np.ndarray, d: np.ndarray, x: np.ndarray) -> None:
    """Base solvent left when the clear goes on: ambient flash, then heated flash [B4], [Kiil06]."""
    s = X.layers
    dft = x[s + XL.dft]
    h0 = x[s + XL.wft] - dft
    h_star = dft * d[D.phi_factor]
    t_b = x[X.t_booth]
    if p[P.base_waterborne] > 0.5:
        drive_amb = max(x[X.psat_booth] - x[X.pv_booth], 1e-6)
    else:
        drive_amb = x[X.psat_booth]
    rate_amb = d[D.km_rate] * drive_amb / (t_b + KELVIN)
    h1 = dry_stage(h0, h_star, rate_amb, d[D.t_amb_min], p[P.skin_tau_ambient_min])
    t_film = p[P.flash_temp_c] - (p[P.flash_temp_c] - t_b) * d[D.flash_gain]
    drive = evap_drive_kpa(p, 0, t_film, x[X.pv_booth])
    rate_heat = p[P.flash_km_factor] * d[D.km_rate] * drive / (t_film + KELVIN)
    h2 = dry_stage(h1, h_star, rate_heat, d[D.t_heat_min], p[P.skin_tau_heated_min])
    x[X.water_res] = h2 / (h2 + dft)
    x[X.rate_amb] = rate_amb


@njit(cache=True, error_model="numpy", inline="always")
def layer_defects(p: np.ndarray, d: np.ndarray, x: np.ndarray, layer: int) -> None:
    """Sag, orange peel and dry-spray risks of one layer (logistic, thresholds calibrated).

    Viscosity at impact: the paint's, raised by the solvent lost in flight. Sag: the arriving wet
    film over a critical film that grows with ln viscosity at impact and, for waterborne paint,
    with the ambient flash rate (both linear, est.). Orange peel: relative d32 over
    its threshold plus viscosity at impact. Dry spray: in-flight evaporation over its threshold.
    """
    b, s = layer * P_LAYER_STRIDE, X.layers + layer * LAYER_STRIDE
    evap = x[s + XL.evap]
    ln_mu_imp = x[s + XL.ln_mu_rel] + p[P.visc_evap_k] * (evap - p[P.base_evap_inflight + b])
    crit = p[P.base_sag_crit_wet_um + b] * max(1.0 + p[P.sag_visc_k] * ln_mu_imp, 0.2)
    if p[P.base_waterborne + b] > 0.5:  # a slow flash keeps the waterborne film runny for longer
        crit *= max(1.0 + p[P.sag_flash_k] * (x[X.rate_amb] * d[D.inv_rate_nom] - 1.0), 0.2)
    x[s + XL.sag] = logistic((x[s + XL.wft] / crit - 1.0) * d[D.inv_sag_w])
    # orange peel and dry spray are logits of log ratios: the near-exponential growth of the
    # evaporation with temperature cannot turn into a cliff (paint_v1_sources.md §1.4)
    ln_d = math.log(x[s + XL.d32] * d[D.inv_op_d + layer])
    x[s + XL.op] = logistic((ln_d + p[P.orange_peel_visc_k] * ln_mu_imp) * d[D.inv_op_w])
    ln_e = math.log(max(evap, 1e-12) / p[P.base_dry_spray_e_crit + b])
    x[s + XL.dry] = logistic(ln_e * d[D.inv_dry_w])


@njit(cache=True, error_model="numpy", inline="always")
def defects(p: np.ndarray, d: np.ndarray, x: np.ndarray) -> None:
    """Per-body risks: layers combined as independent events; pop, under-cure, over-bake."""
    layer_defects(p, d, x, 0)
    layer_defects(p, d, x, 1)
    sb, sc = X.layers, X.layers + LAYER_STRIDE
    x[X.sag] = 1.0 - (1.0 - x[sb + XL.sag]) * (1.0 - x[sc + XL.sag])
    x[X.op] = 1.0 - (1.0 - x[sb + XL.op]) * (1.0 - x[sc + XL.op])
    x[X.dry] = 1.0 - (1.0 - x[sb + XL.dry]) * (1.0 - x[sc + XL.dry])
    z = (x[X.water_res] - p[P.pop_water_crit]) * d[D.inv_pop_w]
    z += p[P.pop_ramp_k] * (x[X.ramp_rel] - 1.0)
    z += p[P.pop_clear_k] * (x[sc + XL.dft] * d[D.inv_target_clear] - 1.0)
    x[X.pop] = logistic(z)
    # under-cure on the heavy-section dose (−ln(1 − α)) against the dose that α_min needs
    ln_dose = math.log(max(-math.log1p(-min(x[X.alpha], 1.0 - 1e-16)), 1e-300))
    x[X.under] = logistic((d[D.ln_dose_min] - ln_dose) * (1.0 / CURE_WIDTH_LN))
    over = x[X.overbake_min]  # no time above the limit, no over-bake
    x[X.over] = (
        logistic((over - p[P.overbake_max_min]) * (1.0 / OVERBAKE_WIDTH_MIN)) if over > 0.0 else 0.0
    )


@njit(cache=True, error_model="numpy", inline="always")
def hvac_kj_per_kg(p: np.ndarray, x: np.ndarray) -> float:
    """Energy bought per kg of fresh air brought to the booth state (moist-air enthalpies).

    Humid outdoor air (more water than the booth's) is cooled to the booth dew point by the
    chiller and reheated (the hot-humid "chiller + reheat" of docs/physics/paint.md §3.9);
    otherwise the air is heated and humidified, or cooled, along the enthalpy difference.
    """
    t_b, pv_b, t_o, pv_o = x[X.t_booth], x[X.pv_booth], x[X.t_out], x[X.pv_out]
    h_b, h_o = moist_air_enthalpy(t_b, pv_b), moist_air_enthalpy(t_o, pv_o)
    if pv_o > pv_b:  # dehumidify: cool to the booth dew point (inverse Magnus), then reheat
        g = math.log(max(pv_b, PV_MIN_KPA) / 0.61094)  # Magnus valid down to −40 °C [AE96]
        t_dew = 243.04 * g / (17.625 - g)
        h_coil = moist_air_enthalpy(t_dew, pv_b)
        return (
            max(h_o - h_coil, 0.0) / p[P.chiller_cop] + max(h_b - h_coil, 0.0) / p[P.hvac_heat_eff]
        )
    if h_b >= h_o:
        return (h_b - h_o) / p[P.hvac_heat_eff]
    return (h_o - h_b) / p[P.chiller_cop]


@njit(cache=True, error_model="numpy", inline="always")
def energy(p: np.ndarray, d: np.ndarray, x: np.ndarray, style: int) -> None:
    """Booth HVAC (fresh air conditioned to the booth state + fans) and oven + heated flash energy
    of one body, kWh."""
    x[X.e_hvac] = d[D.hvac_k] * hvac_kj_per_kg(p, x) + d[D.fan_kwh]
    heat = d[D.heat_kwh_k + style]
    t_out, t_b = x[X.t_out], x[X.t_booth]
    oven = d[D.oven_loss_kwh_k] * (x[X.oven_t] - t_out) + heat * (x[X.oven_t] - t_b)
    flash = d[D.flash_loss_kwh_k] * (p[P.flash_temp_c] - t_out)
    flash += heat * (p[P.flash_temp_c] - t_b) * d[D.flash_body]
    x[X.e_oven] = max(oven, 0.0) + max(flash, 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def cost_eur(p: np.ndarray, d: np.ndarray, x: np.ndarray) -> float:
    """EUR of one body: paint, energy, DFT misses, expected rework, cure failures."""
    cost = (x[X.e_hvac] + x[X.e_oven]) * p[P.price_energy_eur_kwh]
    for layer in range(N_LAYERS):
        b, s = layer * P_LAYER_STRIDE, X.layers + layer * LAYER_STRIDE
        cost += x[s + XL.paint_ml] * 0.001 * p[P.base_price_eur_l + b]
        z = (x[s + XL.dft] - p[P.base_dft_target_um + b]) * d[D.inv_tol + layer]
        cost += p[P.dft_miss_cost_eur] * band_penalty(z)
    cost += p[P.rework_cost_eur] * (x[X.sag] + x[X.op] + x[X.dry] + x[X.pop])
    cost += p[P.undercure_cost_eur] * x[X.under] + p[P.overbake_cost_eur] * x[X.over]
    return cost


@njit(cache=True, error_model="numpy", inline="always")
def paint_lots(p: np.ndarray, x: np.ndarray, words: np.ndarray) -> None:
    """Paint-kitchen lot changes: with probability 1/batch_interval per body and layer a new lot
    with i.i.d. viscosity (lognormal) and volume solids (normal) multipliers [B4] (est.)."""
    for layer in range(N_LAYERS):
        s, w = X.layers + layer * LAYER_STRIDE, W.lots + layer * LOT_WORDS_STRIDE
        if (
            uniform(words[w + WL.event_hi], words[w + WL.event_lo]) * p[P.batch_interval_bodies]
            < 1.0
        ):
            new_lot(p, x, s, normal(words[w + WL.visc]), normal(words[w + WL.vs]))
            x[s + XL.since_lot] = 0.0
        x[s + XL.since_lot] += 1.0  # bodies painted with the lot now in use, this one included


@njit(cache=True, error_model="numpy", inline="always")
def new_lot(p: np.ndarray, x: np.ndarray, s: int, z_visc: float, z_vs: float) -> None:
    x[s + XL.lot_ln_visc] = p[P.visc_batch_rel] * z_visc
    x[s + XL.lot_vs] = max(1.0 + p[P.vs_batch_rel] * z_vs, 0.5)
