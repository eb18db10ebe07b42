"""Physics of the BOF blow: per-plant functions on rows ``(p, d, x)``, compiled with numba.

Model (lumped, one explicit update per control step; sources in :mod:`envs.steel.params` and
``docs/physics/bof.md``, which documents every equation below):

- **Oxygen split** (docs/physics/bof.md §3.2): the oxygen reaching the bath each step (blown O2 x
  utilisation + ore oxygen) is offered to Si, Mn, C and Fe in proportion to affinity demands
  ``a_j * [%j]`` (a_C = 1, ``a_Fe`` grows with lance height). This one rule gives stage I (Si and Mn
  first) and stage II (oxygen-limited decarburisation, carbon rate rising as Si falls).
- **Carbon** = min(oxygen-limited, mass-transfer-limited): ``ΔC_O2 = 12.011 φ_C n_O/(1+PCR)`` and
  ``ΔC_MT = (C − C_eq) W/100 · (1 − exp(−k_C Δt))``, the stage-III decay integrated exactly. The
  critical carbon ``C* = C_eq + 100 r_C,O2/(k_C W)`` is not a parameter and rises with the
  blowing rate, as Fujii & Ura [S6] measured; ``kc_per_min`` puts it near 0.3 % at nominal flow.
  Oxygen offered to carbon and not taken oxidises iron (the over-blow iron loss).
- **FeO** (:func:`_feo_balance`) is formed by that oxygen and reduced by carbon in the emulsion,
  first order in FeO at a rate set by the stirring (CO evolution, at least the jet); integrated
  exactly over the step (no saw-tooth at any step size). In the Si period and in stage III more
  oxygen reaches iron than the emulsion returns; mid-blow it does: the U-shaped path [S7].
- **Mn** (FeO) + [Mn] = (MnO) + Fe towards (%MnO)/([%Mn](%FeO)) = K(T), K falling with
  temperature [SMn], and **P** 2[P] + 5(FeO) = (P2O5) + 5Fe towards ε_P x Suito–Inoue [S1]:
  first-order approaches whose equilibrium is taken at the step's end composition (implicit).
- **Scrap** (:mod:`envs.steel.scrap`) melts at a front speed set by bath superheat and carbon.
- **Heat**: reaction heat from standard formation enthalpies (kJ/mol: CO 110.5, CO2 393.5,
  SiO2 910.7 (+126 as 2CaO·SiO2 in basic slag), MnO 385.2, FeO 272.0, P2O5 1492, Fe2O3 824.2;
  elements and O2 at 298 K as reference), of which the bath keeps ``heat_efficiency`` and of
  the CO→CO2 increment ``post_combustion_share``; minus scrap melting (1.42 MJ/kg [S9]), ore
  and lime sensible heat, losses ``heat_loss_k_min · C_th`` (C_th: bath, slag, refractory).

Bookkeeping states (carbon and oxygen to the off-gas, heat terms) let the tests close the C, O,
Fe and heat balances from the inventories independently of the update code.
All arrays are float64; ``p`` is :meth:`BOFParams.to_array` (columns ``P``), ``d`` one plant's
derived constants (``D``) and ``x`` its state row (``X``), laid out in :mod:`envs.steel.layout`.
The step that runs them (actions, sensors, observation, reward) is :mod:`envs.steel.core`.
Randomness never enters here: per-heat and per-step standard normals are drawn by the env's
``np.random.Generator`` and passed in (DESIGN.md, "Process core").
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from envs.steel.layout import ACTUATORS, TR, A, D, P, X, Z
from envs.steel.scrap import melt_scrap

N_ACT = len(ACTUATORS)

# molar masses (kg/kmol) and formation enthalpies (kJ/mol = MJ/kmol)
M_C, M_SI, M_MN, M_P, M_FE, M_O = 12.011, 28.086, 54.938, 30.974, 55.845, 15.999
M_FEO, M_SIO2, M_MNO, M_P2O5, M_FE2O3 = 71.844, 60.084, 70.937, 141.945, 159.69
H_CO, H_CO2, H_MNO, H_FEO, H_P2O5, H_FE2O3 = 110.5, 393.5, 385.2, 272.0, 1492.0, 824.2
# Si ends as 2CaO.SiO2 in the basic slag: SiO2 formation 910.7 plus silicate formation from the
# oxides, about 126 kJ/mol (est., standard enthalpy of Ca2SiO4 from CaO and SiO2)
H_SIO2 = 910.7 + 126.0
NM3_PER_KMOL = 22.414
KELVIN = 273.15
C_DEMAND_SAT, C_DEMAND_HALF = 4.0, 0.05  # wt%: carbon's oxygen demand ~ 4 at any C above ~0.3 %
LN10 = math.log(10.0)
MAX_BLOW_MIN = 35.0  # forced end: no shop blows this long; keeps episodes bounded
MAX_O2_FACTOR = 1.5  # forced end at 1.5 x the planned oxygen
# adjust span of the end-oxygen target: ±15 % of the static plan, set per heat (the action's
# span column holds no fixed value for it)
END_SPAN_SHARE = 0.15


@njit(cache=True, error_model="numpy")
def bath_mass(x: np.ndarray) -> float:
    return x[X.fe] + x[X.c] + x[X.si] + x[X.mn] + x[X.p]


@njit(cache=True, error_model="numpy")
def slag_mass(x: np.ndarray) -> float:
    return x[X.feo] + x[X.sio2] + x[X.mno] + x[X.p2o5] + x[X.cao] + x[X.mgo]


@njit(cache=True, error_model="numpy")
def heat_capacity_mj_k(p: np.ndarray, x: np.ndarray) -> float:
    return (bath_mass(x) * p[P.steel_cp_kj_kgk] + slag_mass(x) * p[P.slag_cp_kj_kgk]) / 1000.0 + p[
        P.refractory_mj_k_t
    ] * p[P.heat_size_t]


@njit(cache=True, error_model="numpy")
def nominal_o2_flow(p: np.ndarray) -> float:
    """Standard oxygen flow of this plant, Nm3/min."""
    return p[P.practice_o2_nm3_t_min] * p[P.heat_size_t]


@njit(cache=True, error_model="numpy")
def actuator_limits(
    p: np.ndarray, lo: np.ndarray, hi: np.ndarray, span: np.ndarray, rate: np.ndarray, dt_s: float
) -> None:
    """Engineering limits, adjust spans and per-step rate limits of the five actuators."""
    q_nom = nominal_o2_flow(p)
    lo[A.oxygen_flow], hi[A.oxygen_flow], span[A.oxygen_flow], rate[A.oxygen_flow] = (
        0.6 * q_nom,
        1.3 * q_nom,
        0.25 * q_nom,
        (0.015 * q_nom * dt_s),
    )  # 15 % of nominal flow per 10 s: valve and control loop speed
    lo[A.lance_height], hi[A.lance_height], span[A.lance_height], rate[A.lance_height] = (
        1.2,
        3.2,
        0.6,
        0.1 * dt_s,
    )
    lo[A.ore_feed], hi[A.ore_feed], span[A.ore_feed], rate[A.ore_feed] = (
        0.0,
        6.0 * p[P.heat_size_t],
        3.0 * p[P.heat_size_t],
        np.inf,
    )
    lo[A.lime_feed], hi[A.lime_feed], span[A.lime_feed], rate[A.lime_feed] = (
        0.0,
        20.0 * p[P.heat_size_t],  # the practice feeds ≈ 45–55 kg/t within ≈ 5 min: ≤ 12 kg/(t min)
        10.0 * p[P.heat_size_t],
        (np.inf),
    )
    # end-of-blow oxygen target, Nm3; in adjust mode ±15 % of the static plan
    lo[A.end_oxygen], hi[A.end_oxygen], span[A.end_oxygen], rate[A.end_oxygen] = (
        0.0,
        75.0 * p[P.heat_size_t],
        0.0,
        np.inf,
    )


@njit(cache=True, error_model="numpy")
def static_plan(p: np.ndarray, x: np.ndarray) -> None:
    """Operator's static charge balance on the *measured* hot-metal analysis (sets the plan).

    Oxygen: stoichiometric demand of the C, Si, Mn removal and the FeO of the expected slag,
    divided by the utilisation, times a trim fitted on the nominal plant. Lime: basicity target
    on the SiO2 from Si plus a fixed extra. Ore: a linear end-temperature prediction (rules of
    thumb fitted on the nominal plant) converted to coolant.
    """
    hm, scrap, heat = x[X.hm_kg], x[X.scrap_kg], p[P.heat_size_t] * 1000.0
    c_rm = (
        hm * x[X.hm_meas_c] / 100.0
        + scrap * p[P.scrap_c_pct] / 100.0
        - heat * p[P.aim_c_pct] / 100.0
    )
    si_rm = hm * x[X.hm_meas_si] / 100.0
    mn_rm = 0.6 * hm * x[X.hm_meas_mn] / 100.0
    sio2 = si_rm * M_SIO2 / M_SI
    lime = p[P.practice_basicity] * sio2 + p[P.practice_lime_extra_kg_t] * p[P.heat_size_t]
    slag = (sio2 + lime + p[P.slag_mgo_kg_t] * p[P.heat_size_t]) / (
        1.0 - p[P.practice_end_feo_pct] / 100.0 - 0.08
    )
    fe_slag = slag * p[P.practice_end_feo_pct] / 100.0 * M_FE / M_FEO
    kmol_o = c_rm / M_C * (1.0 + p[P.pcr_ref]) + 2.0 * si_rm / M_SI + mn_rm / M_MN + fe_slag / M_FE
    scrap_pct = 100.0 * scrap / (hm + scrap)
    t_excess = (
        p[P.practice_t_per_si] * (x[X.hm_meas_si] - p[P.practice_ref_si_pct])
        + p[P.practice_t_per_c] * (x[X.hm_meas_c] - p[P.practice_ref_c_pct])
        + p[P.practice_t_per_hm_temp] * (x[X.hm_meas_temp] - p[P.practice_ref_hm_temp_c])
        + p[P.practice_t_per_scrap] * (scrap_pct - p[P.practice_ref_scrap_pct])
    )
    ore = max(
        0.0, p[P.practice_ore_base_kg_t] * p[P.heat_size_t] + p[P.practice_ore_per_k] * t_excess
    )
    o2 = kmol_o / 2.0 * NM3_PER_KMOL / p[P.o2_utilisation] * p[P.practice_o2_trim] - 0.21 * ore
    x[X.o2_plan], x[X.ore_plan], x[X.lime_plan] = o2, ore, lime


@njit(cache=True, error_model="numpy", inline="always")
def _window(frac: float, start: float, end: float) -> float:
    """Share of a feed window [start, end] of the planned oxygen passed at oxygen share frac."""
    return min(max((frac - start) / (end - start), 0.0), 1.0)


@njit(cache=True, error_model="numpy")
def practice_setpoints(p: np.ndarray, x: np.ndarray, dt_s: float, out: np.ndarray) -> None:
    """Standard practice: fixed oxygen flow, three-step lance pattern, ore and lime per oxygen.

    Lime goes in over the first 30 % of the planned oxygen, ore between 10 % and 50 % (early, so
    it melts and cools before the sub-lance), both in proportion to the blown oxygen; the blow
    ends at the planned oxygen. A step of ``dt_s`` feeds what the schedule assigns to the oxygen
    it will blow, so the amounts are the plan's at any control step.
    """
    q_nom = nominal_o2_flow(p)
    frac = x[X.o2_blown] / x[X.o2_plan]
    out[A.oxygen_flow] = q_nom
    if frac < 0.15:
        out[A.lance_height] = p[P.practice_lance_start_m]
    elif frac < 0.80:
        out[A.lance_height] = p[P.practice_lance_main_m]
    else:
        out[A.lance_height] = p[P.practice_lance_end_m]
    q = x[X.o2_flow] if x[X.o2_flow] > 0.0 else q_nom
    # fed per blown oxygen inside fixed windows of the plan, as a shop's bunker program does
    dtm = dt_s / 60.0
    frac1 = frac + q * dtm / x[X.o2_plan]
    out[A.ore_feed] = x[X.ore_plan] * (_window(frac1, 0.1, 0.5) - _window(frac, 0.1, 0.5)) / dtm
    out[A.lime_feed] = x[X.lime_plan] * (_window(frac1, 0.0, 0.3) - _window(frac, 0.0, 0.3)) / dtm
    out[A.end_oxygen] = x[X.o2_plan]


@njit(cache=True, error_model="numpy")
def init_heat(p: np.ndarray, x: np.ndarray, z: np.ndarray) -> None:
    """Charge a new heat into state row ``x`` from heat-level standard normals ``z``.

    Keeps the last tapping analysis and heat index (campaign mode) and resets everything else.
    """
    tap = (x[X.tap_valid], x[X.tap_c], x[X.tap_temp], x[X.tap_p], x[X.heat_idx])
    x[:] = 0.0
    x[X.tap_valid], x[X.tap_c], x[X.tap_temp], x[X.tap_p], x[X.heat_idx] = tap
    c = max(3.0, p[P.hm_c_pct] + p[P.hm_c_sd_pct] * z[Z.hm_c])
    si = max(0.02, p[P.hm_si_pct] + p[P.hm_si_sd_pct] * z[Z.hm_si])
    mn = max(0.02, p[P.hm_mn_pct] + p[P.hm_mn_sd_pct] * z[Z.hm_mn])
    ph = max(0.01, p[P.hm_p_pct] + p[P.hm_p_sd_pct] * z[Z.hm_p])
    hm = p[P.hot_metal_t] * 1000.0
    scrap = max(0.0, (p[P.scrap_t] + p[P.scrap_weigh_sd_t] * z[Z.scrap_weight]) * 1000.0)
    x[X.c], x[X.si], x[X.mn], x[X.p] = (
        hm * c / 100.0,
        hm * si / 100.0,
        hm * mn / 100.0,
        (hm * ph / 100.0),
    )
    x[X.fe] = hm - x[X.c] - x[X.si] - x[X.mn] - x[X.p]
    x[X.scrap] = scrap
    x[X.scrap_heavy] = scrap * p[P.scrap_heavy_share]
    x[X.temp] = p[P.hm_temp_c] + p[P.hm_temp_sd_c] * z[Z.hm_temp] + KELVIN
    x[X.mgo] = p[P.slag_mgo_kg_t] * p[P.heat_size_t]
    # carry-over slag film: keeps slag fractions defined at ignition
    x[X.feo] = 0.5 * p[P.heat_size_t]
    x[X.scrap_melt_heat] = p[P.scrap_melt_mj_kg] * max(
        0.7, 1.0 + p[P.scrap_quality_sd] * z[Z.scrap_quality]
    )
    x[X.hm_kg], x[X.scrap_kg] = hm, scrap
    x[X.hm_meas_c] = c + p[P.hm_analysis_c_sd_pct] * z[Z.analysis_c]
    x[X.hm_meas_si] = max(0.0, si + p[P.hm_analysis_si_sd_pct] * z[Z.analysis_si])
    x[X.hm_meas_mn], x[X.hm_meas_p] = mn, ph  # spectrometer Mn, P: precise enough to take as exact
    x[X.hm_meas_temp] = x[X.temp] - KELVIN + p[P.hm_analysis_temp_sd_c] * z[Z.analysis_temp]
    x[X.z_sublance_c], x[X.z_sublance_temp], x[X.z_end_c], x[X.z_end_temp] = (
        z[Z.sublance_c],
        z[Z.sublance_temp],
        z[Z.end_c],
        z[Z.end_temp],
    )
    x[X.c0] = x[X.c] + scrap * p[P.scrap_c_pct] / 100.0
    x[X.fe0] = x[X.fe] + scrap * (1.0 - p[P.scrap_c_pct] / 100.0)
    x[X.feo0] = x[X.feo]
    x[X.fe_loss_prev] = iron_in_slag(x)  # the carry-over slag film is not this heat's loss
    x[X.pcr] = p[P.pcr_ref]
    static_plan(p, x)
    x[X.o2_end] = x[X.o2_plan]
    x[X.o2_flow] = nominal_o2_flow(p)
    x[X.lance] = p[P.practice_lance_start_m]
    x[X.lance_cache] = -1.0  # no lance height yet: kinetics computed on the first step


@njit(cache=True, error_model="numpy")
def suito_partition(
    p2o5_pct: float, cao_pct: float, mgo_pct: float, mno_pct: float, tfe_pct: float, temp_k: float
) -> float:
    """Equilibrium (%P)/[%P] after Suito & Inoue (1984) [S1]; T.Fe term capped at 25 %."""
    tfe = min(max(tfe_pct, 0.5), 25.0)
    log_lp = (
        0.0720 * (cao_pct + 0.3 * mgo_pct + 0.6 * p2o5_pct + 0.6 * mno_pct)
        + 11570.0 / temp_k
        - 10.520
    )
    # 10**(A + 2.5 log10 tfe) = e^(A ln 10) tfe^2 sqrt(tfe): one exp instead of log, pow, pow
    return math.exp(LN10 * log_lp) * tfe * tfe * math.sqrt(tfe)


@njit(cache=True, error_model="numpy")
def _add_heat(
    p: np.ndarray,
    x: np.ndarray,
    kmol_feo: float,
    kmol_sio2: float,
    kmol_mno: float,
    kmol_p2o5: float,
    kmol_co: float,
    kmol_co2: float,
    kmol_fe2o3: float,
) -> float:
    """Reaction heat retained by the bath (MJ) for net oxide formation in this step."""
    gross = (
        kmol_feo * H_FEO
        + kmol_sio2 * H_SIO2
        + kmol_mno * H_MNO
        + kmol_p2o5 * H_P2O5
        + kmol_co * H_CO
        + kmol_co2 * (H_CO + p[P.post_combustion_share] * (H_CO2 - H_CO))
        - kmol_fe2o3 * H_FE2O3
    )
    return p[P.heat_efficiency] * gross


@njit(cache=True, error_model="numpy")
def _lance_kinetics(p: np.ndarray, x: np.ndarray, lance: float, dtm: float) -> None:
    """Post-combustion ratio, Fe affinity, k_C decay and foam factor at this lance height."""
    dh = lance - p[P.lance_ref_m]
    x[X.pcr_eff] = min(max(p[P.pcr_ref] + p[P.pcr_lance_per_m] * dh, 0.03), 0.25)
    x[X.a_fe_eff] = p[P.affinity_fe] * math.exp(p[P.fe_lance_per_m] * dh)
    x[X.e_kc] = math.exp(-p[P.kc_per_min] * math.exp(-p[P.kc_lance_per_m] * dh) * dtm)
    x[X.foam_factor] = math.exp(0.8 * dh)  # softer blow, more foam (docs/physics/bof.md §3.8, est.)
    x[X.lance_cache] = lance


@njit(cache=True, error_model="numpy")
def derive(p: np.ndarray, dt_s: float, d: np.ndarray) -> None:
    """Per-plant constants for control step ``dt_s``: lag decays, actuator limits, cost bound."""
    dtm = dt_s / 60.0
    d[D.e_lime] = math.exp(-dtm / p[P.lime_dissolve_tau_min])
    d[D.e_mn] = math.exp(-p[P.mn_exchange_per_min] * dtm)
    d[D.e_p] = math.exp(-p[P.p_rate_per_min] * dtm)
    d[D.dt] = dt_s
    d[D.worst_step_cost] = worst_step_cost(p, dt_s)
    actuator_limits(
        p,
        d[D.lo : D.lo + N_ACT],
        d[D.hi : D.hi + N_ACT],
        d[D.span : D.span + N_ACT],
        d[D.rate : D.rate + N_ACT],
        dt_s,
    )


@njit(cache=True, error_model="numpy")
def _feo_balance(
    p: np.ndarray, x: np.ndarray, w: float, o_fe: float, stir: float, dtm: float
) -> float:
    """Slag FeO over the step: ``o_fe`` kmol FeO from the oxygen the other elements left, reduced
    by carbon in the emulsion (FeO + C -> Fe + CO) at κ = ``k_red · stir · C/(C + C_half)`` per
    minute. The FeO balance dF/dt = o_fe/Δt − κ F is linear within the step and is integrated
    exactly, so no step size makes it oscillate. Returns kmol FeO reduced (at most the carbon
    above C_eq)."""
    c_now, f0 = 100.0 * x[X.c] / w, x[X.feo] / M_FEO
    c_mid, kmol_red = c_now, 0.0
    for _ in range(2):  # κ at the step's mean carbon: predict with the start, correct once
        kappa = p[P.feo_reduction_per_min] * stir * c_mid / (c_mid + p[P.feo_reduction_c_half_pct])
        decay = math.exp(-kappa * dtm)
        share = (1.0 - decay) / (kappa * dtm) if kappa * dtm > 1e-9 else 1.0 - 0.5 * kappa * dtm
        kmol_red = f0 + o_fe - (f0 * decay + o_fe * share)
        c_mid = max(c_now - 50.0 * kmol_red * M_C / w, 0.0)
    c_left = max(c_now - p[P.c_eq_pct], 0.0) * w / 100.0
    kmol_red = min(max(kmol_red, 0.0), c_left / M_C)
    x[X.feo] += (o_fe - kmol_red) * M_FEO
    return kmol_red


@njit(cache=True, error_model="numpy")
def end_fraction(x: np.ndarray, q_o2: float, dt_s: float, o2_target: float) -> float:
    """Share of a step (``dt_s``, flow ``q_o2`` Nm³/min) that takes the blown oxygen to
    ``o2_target`` (Nm³): 1 short of it, less in a blow's last step (which so ends exactly at the
    target at any control step), 0 if already passed."""
    step = q_o2 * dt_s / 60.0
    left = o2_target - x[X.o2_blown]
    if step <= 0.0 or left >= step:
        return 1.0
    return max(left, 0.0) / step


@njit(cache=True, error_model="numpy")
def physics_step(
    p: np.ndarray,
    d: np.ndarray,
    x: np.ndarray,
    q_o2: float,
    lance: float,
    ore_rate: float,
    lime_rate: float,
    dt_s: float,
) -> None:
    """Advance one plant by ``dt_s`` seconds with actual actuator values (engineering units).

    ``d`` holds the plant's derived constants (:func:`derive`) for the control step ``d[D.dt]``;
    ``dt_s`` is that step or, for the last step of a blow, a part of it (:func:`end_fraction`).
    """
    dtm = dt_s / 60.0
    w = bath_mass(x)
    c_pct, si_pct, mn_pct = 100.0 * x[X.c] / w, 100.0 * x[X.si] / w, 100.0 * x[X.mn] / w
    if lance != x[X.lance_cache]:  # lance-dependent kinetics, recomputed only when the lance moves
        _lance_kinetics(p, x, lance, d[D.dt] / 60.0)
    pcr, a_fe = x[X.pcr_eff], x[X.a_fe_eff]
    # the lags' decays over this step: the derived ones, or their power for a partial step
    part = dt_s / d[D.dt]
    e_kc, e_lime, e_mn, e_p = x[X.e_kc], d[D.e_lime], d[D.e_mn], d[D.e_p]
    if part != 1.0:
        e_kc, e_lime, e_mn, e_p = e_kc**part, e_lime**part, e_mn**part, e_p**part

    melt = melt_scrap(p, x, x[X.temp] - KELVIN, c_pct, dt_s)
    ore_kg, lime_kg = ore_rate * dtm, lime_rate * dtm
    x[X.lime_undissolved] += lime_kg
    dissolved = x[X.lime_undissolved] * (1.0 - e_lime)
    x[X.lime_undissolved] -= dissolved
    x[X.cao] += dissolved

    # oxygen offered this step, kmol O: blown (x utilisation) + ore (Fe2O3 -> 2 Fe + 3 O)
    kmol_fe2o3 = ore_kg / M_FE2O3
    n_o = 2.0 * p[P.o2_utilisation] * q_o2 * dtm / NM3_PER_KMOL + 3.0 * kmol_fe2o3
    x[X.fe] += 2.0 * kmol_fe2o3 * M_FE
    x[X.fe_ore] += 2.0 * kmol_fe2o3 * M_FE
    x[X.o_in] += n_o * M_O
    x[X.o_lost] += 2.0 * (1.0 - p[P.o2_utilisation]) * q_o2 * dtm / NM3_PER_KMOL * M_O

    # carbon's demand saturates: in stage II the carbon rate is flat, oxygen-limited (the
    # plateau of practice), and only the mass-transfer limit bends it down in stage III
    d_si, d_mn = p[P.affinity_si] * si_pct, p[P.affinity_mn] * mn_pct
    d_c = C_DEMAND_SAT * c_pct / (c_pct + C_DEMAND_HALF)
    d_sum = d_si + d_mn + d_c + a_fe
    kmol_si = min(n_o * d_si / d_sum / 2.0, x[X.si] / M_SI)
    kmol_mn = min(n_o * d_mn / d_sum, x[X.mn] / M_MN)
    kg_c_o2 = M_C * n_o * d_c / d_sum / (1.0 + pcr)
    kg_c_mt = max(0.0, (c_pct - p[P.c_eq_pct]) * w / 100.0 * (1.0 - e_kc))
    kg_c = min(kg_c_o2, kg_c_mt)
    kmol_c = kg_c / M_C
    kmol_o_fe = n_o - 2.0 * kmol_si - kmol_mn - kmol_c * (1.0 + pcr)  # the rest oxidises iron
    kmol_o_fe = min(kmol_o_fe, x[X.fe] / M_FE)
    x[X.si] -= kmol_si * M_SI
    x[X.sio2] += kmol_si * M_SIO2
    x[X.mn] -= kmol_mn * M_MN
    x[X.mno] += kmol_mn * M_MNO
    x[X.c] -= kg_c
    x[X.fe] -= kmol_o_fe * M_FE
    # emulsion stirring: this step's CO evolution (1 at 0.25 %C/min), at least the jet's, which
    # throws the metal droplets into the slag [V2] (no lag: a lagged stir made FeO oscillate)
    stir = min(max(kg_c / dtm / (0.0025 * w), q_o2 / nominal_o2_flow(p)), 2.0)
    kmol_red = _feo_balance(p, x, w, kmol_o_fe, stir, dtm)
    x[X.fe] += kmol_red * M_FE
    x[X.c] -= kmol_red * M_C

    kmol_mn_ex = _mn_exchange(p, x, w, 1.0 - e_mn)
    kmol_p2o5 = _p_exchange(p, x, w, 1.0 - e_p)

    kmol_co2 = kmol_c * pcr
    kmol_co = kmol_c * (1.0 - pcr) + kmol_red
    x[X.c_gas] += (kmol_c + kmol_red) * M_C
    x[X.n_co2] += kmol_co2
    x[X.o_gas] += (kmol_co + 2.0 * kmol_co2) * M_O
    kmol_feo_net = kmol_o_fe - kmol_red - kmol_mn_ex - 5.0 * kmol_p2o5
    q_chem = _add_heat(
        p, x, kmol_feo_net, kmol_si, kmol_mn + kmol_mn_ex, kmol_p2o5, kmol_co, kmol_co2, kmol_fe2o3
    )
    c_th = heat_capacity_mj_k(p, x)
    q_loss = p[P.heat_loss_k_min] * c_th * dtm
    q_scrap = melt * x[X.scrap_melt_heat]
    q_add = ore_kg * p[P.ore_sensible_mj_kg] + lime_kg * p[P.lime_sensible_mj_kg]
    x[X.temp] += (q_chem - q_loss - q_scrap - q_add) / c_th
    x[X.q_chem] += q_chem
    x[X.q_loss] += q_loss
    x[X.q_scrap] += q_scrap
    x[X.q_add] += q_add

    x[X.decarb_rate] = (kg_c + kmol_red * M_C) / dtm
    x[X.pcr] = pcr
    x[X.foam] = _foam_index(p, x, w)
    x[X.o2_blown] += q_o2 * dtm
    x[X.ore] += ore_kg
    x[X.lime] += lime_kg
    x[X.o2_flow], x[X.lance] = q_o2, lance
    x[X.time] += dtm


@njit(cache=True, error_model="numpy")
def _mn_gap(
    x: np.ndarray, w: float, s0: float, approach: float, quotient: float, kmol: float
) -> float:
    """Implied extent minus ``kmol``: approach · ([Mn] − [Mn]_eq) W/100/M_Mn at the slag and bath
    that ``kmol`` Mn oxidised in the step would leave (falls as ``kmol`` grows); ``s0`` is the
    slag mass before it."""
    s = s0 + kmol * (M_MNO - M_FEO)
    feo_pct = max(100.0 * (x[X.feo] - kmol * M_FEO) / s, 0.1)
    mn_pct = 100.0 * (x[X.mn] - kmol * M_MN) / w
    mn_eq = 100.0 * (x[X.mno] + kmol * M_MNO) / s / (quotient * feo_pct)
    return approach * (mn_pct - mn_eq) * w / 100.0 / M_MN - kmol


@njit(cache=True, error_model="numpy", inline="always")
def _newton_extent(g0: float, g1: float, h: float, lo: float, hi: float) -> float:
    """One Newton step from 0 on a gap g0 at 0, g1 at h, kept in [lo, hi]: the gap falls with
    slope ≤ −1, so the step is damped, never amplified (a linearly implicit update)."""
    return min(max(-g0 * h / (g1 - g0), lo), hi)


@njit(cache=True, error_model="numpy")
def _mn_exchange(p: np.ndarray, x: np.ndarray, w: float, approach: float) -> float:
    """(FeO) + [Mn] = (MnO) + Fe towards K(T); returns kmol Mn oxidised (negative: reverted).

    ``approach`` = 1 − exp(−k_Mn Δt) of the gap to equilibrium, taken at the step's *end*
    composition (implicit): with the few tonnes of early slag, an equilibrium frozen at the start
    swings Mn and FeO from step to step. Bounded by the FeO and Mn (oxidation) or MnO (reversion).
    """
    quotient = p[P.mn_quotient_ref] * math.exp(
        p[P.mn_quotient_temp_k] * (1.0 / x[X.temp] - 1.0 / (1650.0 + KELVIN))
    )
    lo = -min(x[X.mno] / M_MNO, x[X.fe] / M_FE)
    hi = min(x[X.feo] / M_FEO, x[X.mn] / M_MN)
    h = 1e-7 * (hi - lo) + 1e-12
    s0 = slag_mass(x)
    g0 = _mn_gap(x, w, s0, approach, quotient, 0.0)
    g1 = _mn_gap(x, w, s0, approach, quotient, h)
    kmol = _newton_extent(g0, g1, h, lo, hi)
    x[X.mn] -= kmol * M_MN
    x[X.mno] += kmol * M_MNO
    x[X.feo] -= kmol * M_FEO
    x[X.fe] += kmol * M_FE
    return kmol


@njit(cache=True, error_model="numpy")
def _p_gap(
    p: np.ndarray, x: np.ndarray, w: float, s0: float, approach: float, kmol: float
) -> float:
    """Implied extent minus ``kmol``: approach · ([P] − [P]_eq) W/100/(2 M_P), at the slag and
    bath that ``kmol`` P2O5 formed in the step would leave (falls as ``kmol`` grows); ``s0`` is
    the slag mass before it."""
    feo, p2o5 = x[X.feo] - 5.0 * kmol * M_FEO, x[X.p2o5] + kmol * M_P2O5
    s = s0 + kmol * (M_P2O5 - 5.0 * M_FEO)
    lp = p[P.p_partition_eff] * suito_partition(
        100.0 * p2o5 / s,
        100.0 * x[X.cao] / s,
        100.0 * x[X.mgo] / s,
        100.0 * x[X.mno] / s,
        0.777 * 100.0 * feo / s,
        x[X.temp],
    )
    p_pct = 100.0 * (x[X.p] - 2.0 * kmol * M_P) / w
    p_eq = 100.0 * p2o5 * (2.0 * M_P / M_P2O5) / s / lp
    return approach * (p_pct - p_eq) * w / 100.0 / (2.0 * M_P) - kmol


@njit(cache=True, error_model="numpy")
def _p_exchange(p: np.ndarray, x: np.ndarray, w: float, approach: float) -> float:
    """2[P] + 5(FeO) = (P2O5) + 5Fe towards ε_P x Suito–Inoue; returns kmol P2O5 formed.

    As for Mn, the partition is taken at the step's end composition: with the few tonnes of early
    slag, an explicit update swung P2O5 and FeO from step to step.
    """
    lo = -x[X.p2o5] / M_P2O5
    hi = min(x[X.feo] / (5.0 * M_FEO), x[X.p] / (2.0 * M_P))
    h = 1e-7 * (hi - lo) + 1e-12
    s0 = slag_mass(x)
    g0, g1 = _p_gap(p, x, w, s0, approach, 0.0), _p_gap(p, x, w, s0, approach, h)
    kmol = _newton_extent(g0, g1, h, lo, hi)
    x[X.p] -= 2.0 * kmol * M_P
    x[X.p2o5] += kmol * M_P2O5
    x[X.feo] -= 5.0 * kmol * M_FEO
    x[X.fe] += 5.0 * kmol * M_FE
    return kmol


@njit(cache=True, error_model="numpy")
def _foam_index(p: np.ndarray, x: np.ndarray, w: float) -> float:
    """Slag-foam index (1 = normal mid-blow foam): slag volume x gas rate x FeO, softer lance.

    Slopping risk rises with FeO and soft blowing mid-blow (docs/physics/bof.md §3.8, est.); the
    acoustic foam sensor reads this index with noise.
    """
    s = slag_mass(x)
    feo_pct = 100.0 * x[X.feo] / s
    gas = x[X.decarb_rate] / (0.0025 * w)
    return (
        (s / (0.06 * p[P.heat_size_t] * 1000.0)) * gas * (0.5 + feo_pct / 40.0) * x[X.foam_factor]
    )


@njit(cache=True, error_model="numpy", inline="always")
def truth(x: np.ndarray, out: np.ndarray) -> None:
    """True bath C, T, slag FeO and bath P of state ``x`` into ``out`` (``TRUTH`` layout)."""
    w, s = bath_mass(x), slag_mass(x)
    out[TR.true_c_pct], out[TR.true_temp_c] = 100.0 * x[X.c] / w, x[X.temp] - KELVIN
    out[TR.true_feo_pct], out[TR.true_p_pct] = 100.0 * x[X.feo] / s, 100.0 * x[X.p] / w


@njit(cache=True, error_model="numpy")
def worst_step_cost(p: np.ndarray, dt_s: float) -> float:
    """Upper bound (EUR) of one step's running cost: max flows, all oxygen to iron, limits hit."""
    q_max = 1.3 * nominal_o2_flow(p)
    dtm = dt_s / 60.0
    fe_kg = (
        2.0 * q_max * dtm / NM3_PER_KMOL * M_FE
        + 3.0 * 6.0 * p[P.heat_size_t] * dtm / M_FE2O3 * M_FE
    )
    return (
        dtm
        * (
            q_max * p[P.price_o2_eur_nm3]
            + 6.0 * p[P.heat_size_t] * p[P.price_ore_eur_kg]
            + 10.0 * p[P.heat_size_t] * p[P.price_lime_eur_kg]
        )
        + fe_kg * p[P.price_fe_eur_kg]
        + 2.0 * p[P.miss_cost_eur] * dt_s / 60.0
    )


@njit(cache=True, error_model="numpy")
def iron_in_slag(x: np.ndarray) -> float:
    return x[X.feo] * M_FE / M_FEO
