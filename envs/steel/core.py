"""Compiled process core of the BOF blow: one physics implementation for env, vector env and MPC.

Model (lumped, one explicit update per control step; sources in :mod:`envs.steel.params` and
``shared/physics/bof_sources.md``):

- **Oxygen split** (bof_sources §2.2): the oxygen reaching the bath each step (blown O2 x
  utilisation + ore oxygen) is offered to Si, Mn, C and Fe in proportion to affinity demands
  ``a_j * [%j]`` (a_C = 1, ``a_Fe`` grows with lance height). This one rule gives stage I (Si and Mn
  first) and stage II (oxygen-limited decarburisation, carbon rate rising as Si falls).
- **Carbon** = min(oxygen-limited, mass-transfer-limited): ``ΔC_O2 = 12.011 φ_C n_O/(1+PCR)`` and
  ``ΔC_MT = (C − C_eq) W/100 · (1 − exp(−k_C Δt))`` — the stage-III decay integrated *exactly*
  over the step, so one update per 10-s step matches a 1-s sub-stepped run (tested). The critical
  carbon ``C* = C_eq + 100 r_C,O2/(k_C W)`` is therefore not a parameter and rises with the
  blowing rate, as Fujii & Ura [S6] measured. Oxygen offered to carbon and not taken oxidises
  iron (the over-blow iron loss).
- **FeO** is reduced by carbon in the emulsion at a rate scaled by the stirring of the CO
  evolution of the previous step, within the carbon transport capacity left: weak stirring in the
  Si period and at low carbon leaves FeO high, strong mid-blow CO evolution lowers it — the
  U-shaped FeO path [S7].
- **Mn** is a reversible exchange (FeO) + [Mn] = (MnO) + Fe towards the quotient
  (%MnO)/([%Mn](%FeO)) = K(T), K falling with temperature [SMn]: oxidised early, reverting
  mid-blow when the slag is hot and FeO is low, re-oxidised late [S11].
- **P** approaches ε_P x the Suito–Inoue partition [S1] by the exchange 2[P] + 5(FeO) =
  (P2O5) + 5Fe, exactly integrated over the step.
- **Heat**: reaction heat from standard formation enthalpies (kJ/mol: CO 110.5, CO2 393.5,
  SiO2 910.7 (+126 as 2CaO·SiO2 in basic slag), MnO 385.2, FeO 272.0, P2O5 1492, Fe2O3 824.2;
  elements and O2 at 298 K as reference), of which the bath keeps ``heat_efficiency`` and of
  the CO→CO2 post-combustion increment only ``post_combustion_share``; minus scrap
  melting (1.42 MJ/kg [S9]) as a first-order lag, ore and lime sensible heat, and losses
  ``heat_loss_k_min · C_th``. ``C_th = W c_steel + S c_slag + refractory``.
  Calibration (experiments/calibrate_bof.py): with these enthalpies, the sourced scrap heat and
  lime's sensible heat, the nominal heat (15 % scrap) reaches 1650 °C only with
  ``heat_efficiency = 1`` and half the post-combustion heat retained; the off-gas sensible heat
  is thus not modelled separately. The heat capacity (with 0.3 MJ/(K t) refractory) is then
  set so that +1 % scrap gives −17 K (plain heat balance −16…−20 K; published rule −13…−15 K)
  and +0.1 % Si +21 K (derived +13…+21 K).

Bookkeeping states (cumulative carbon and oxygen to the off-gas, heat terms) let the tests close
the C, O, Fe and heat balances from the inventories independently of the update code.

All arrays are float64; ``p`` is :meth:`BOFParams.to_array`, ``x`` one plant's state row.
Randomness never enters here: per-heat and per-step standard normals are drawn by the env's
``np.random.Generator`` and passed in (DESIGN.md, "Process core").
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numba import njit

from envs.core.jit import active_block, copy_row, hot_loop, whole_block
from envs.core.sensors import sensor_bank_advance, sensor_bank_reset, sensor_bank_step_block
from envs.steel.params import BOFParams

_I = BOFParams.index
# parameter indices (compile-time constants for numba)
P_HEAT, P_HM, P_SCRAP = _I("heat_size_t"), _I("hot_metal_t"), _I("scrap_t")
P_HMC, P_HMSI, P_HMMN, P_HMP, P_HMT = (
    _I("hm_c_pct"),
    _I("hm_si_pct"),
    _I("hm_mn_pct"),
    _I("hm_p_pct"),
    _I("hm_temp_c"),
)
P_HMC_SD, P_HMSI_SD, P_HMMN_SD, P_HMP_SD, P_HMT_SD = (
    _I("hm_c_sd_pct"),
    _I("hm_si_sd_pct"),
    _I("hm_mn_sd_pct"),
    _I("hm_p_sd_pct"),
    _I("hm_temp_sd_c"),
)
P_SCRAP_SD, P_SCRAP_C, P_SCRAP_H = _I("scrap_weigh_sd_t"), _I("scrap_c_pct"), _I("scrap_melt_mj_kg")
P_SCRAP_Q_SD, P_SCRAP_TAU, P_MGO = (
    _I("scrap_quality_sd"),
    _I("scrap_melt_tau_min"),
    _I("slag_mgo_kg_t"),
)
P_ETA_O2, P_A_SI, P_A_MN, P_A_FE, P_FE_H = (
    _I("o2_utilisation"),
    _I("affinity_si"),
    _I("affinity_mn"),
    _I("affinity_fe"),
    _I("fe_lance_per_m"),
)
P_KC, P_KC_H, P_CEQ, P_HREF = (
    _I("kc_per_min"),
    _I("kc_lance_per_m"),
    _I("c_eq_pct"),
    _I("lance_ref_m"),
)
P_PCR, P_PCR_H = _I("pcr_ref"), _I("pcr_lance_per_m")
P_KRED, P_CHALF = _I("feo_reduction_per_min"), _I("feo_reduction_c_half_pct")
P_KMN, P_MNQ, P_MNQ_T = _I("mn_exchange_per_min"), _I("mn_quotient_ref"), _I("mn_quotient_temp_k")
P_KP, P_EPSP, P_TAU_LIME = _I("p_rate_per_min"), _I("p_partition_eff"), _I("lime_dissolve_tau_min")
P_CP_ST, P_CP_SL, P_CREF = _I("steel_cp_kj_kgk"), _I("slag_cp_kj_kgk"), _I("refractory_mj_k_t")
P_ETA_H, P_ETA_PC, P_LOSS = (
    _I("heat_efficiency"),
    _I("post_combustion_share"),
    _I("heat_loss_k_min"),
)
P_ORE_H, P_LIME_H = _I("ore_sensible_mj_kg"), _I("lime_sensible_mj_kg")
P_AIM_C, P_AIM_T, P_P_SPEC, P_T_LIM, P_FOAM_LIM = (
    _I("aim_c_pct"),
    _I("aim_temp_c"),
    _I("p_spec_pct"),
    _I("temp_limit_c"),
    _I("foam_limit"),
)
P_PR_O2, P_PR_ORE, P_PR_LIME, P_PR_FE, P_MISS = (
    _I("price_o2_eur_nm3"),
    _I("price_ore_eur_kg"),
    _I("price_lime_eur_kg"),
    _I("price_fe_eur_kg"),
    _I("miss_cost_eur"),
)
P_HMA_C, P_HMA_SI, P_HMA_T = (
    _I("hm_analysis_c_sd_pct"),
    _I("hm_analysis_si_sd_pct"),
    _I("hm_analysis_temp_sd_c"),
)
P_SL_FRAC, P_SL_C_SD, P_SL_T_SD = (
    _I("sublance_o2_frac"),
    _I("sublance_c_sd_pct"),
    _I("sublance_temp_sd_c"),
)
P_PR_Q, P_PR_H0, P_PR_H1, P_PR_H2 = (
    _I("practice_o2_nm3_t_min"),
    _I("practice_lance_start_m"),
    _I("practice_lance_main_m"),
    _I("practice_lance_end_m"),
)
P_PR_B, P_PR_LX, P_PR_FEO, P_PR_TRIM = (
    _I("practice_basicity"),
    _I("practice_lime_extra_kg_t"),
    _I("practice_end_feo_pct"),
    _I("practice_o2_trim"),
)
P_REF_C, P_REF_SI, P_REF_T, P_REF_SCRAP = (
    _I("practice_ref_c_pct"),
    _I("practice_ref_si_pct"),
    _I("practice_ref_hm_temp_c"),
    _I("practice_ref_scrap_pct"),
)
P_PR_ORE0, P_PR_ORE_K, P_PR_TSI, P_PR_TSCR, P_PR_THM, P_PR_TC = (
    _I("practice_ore_base_kg_t"),
    _I("practice_ore_per_k"),
    _I("practice_t_per_si"),
    _I("practice_t_per_scrap"),
    _I("practice_t_per_hm_temp"),
    _I("practice_t_per_c"),
)
N_PARAMS = len(BOFParams.field_names())

# state layout -----------------------------------------------------------------------------
(
    X_TIME,
    X_FE,
    X_C,
    X_SI,
    X_MN,
    X_P,
    X_SCRAP,
    X_FEO,
    X_SIO2,
    X_MNO,
    X_P2O5,
    X_CAO,
    X_MGO,
    X_LIME_UND,
    X_TEMP,
    X_VO2,
    X_ORE,
    X_LIME,
    X_Q,
    X_H,
    X_RC,
    X_PCR,
    X_FOAM,
    X_CGAS,
    X_NCO2,
    X_OGAS,
    X_OIN,
    X_OLOST,
    X_FE_ORE,
    X_QCHEM,
    X_QLOSS,
    X_QSCRAP,
    X_QADD,
    X_C0,
    X_FE0,
    X_FEO0,
    X_VEND,
    X_VPLAN,
    X_ORE_PLAN,
    X_LIME_PLAN,
    X_HM_KG,
    X_SCRAP_KG,
    X_SCRAP_H,
    X_HMM_C,
    X_HMM_SI,
    X_HMM_MN,
    X_HMM_P,
    X_HMM_T,
    X_SL_DONE,
    X_SL_C,
    X_SL_T,
    X_ZSL_C,
    X_ZSL_T,
    X_ZEND_C,
    X_ZEND_T,
    X_COST,
    X_STEP,
    X_SLOP,
    X_OVERT,
    X_FE_LOSS_PREV,
    X_TAP_VALID,
    X_TAP_C,
    X_TAP_T,
    X_TAP_P,
    X_HEAT_IDX,
    X_H_CACHE,
    X_PCR_EFF,
    X_AFE_EFF,
    X_E_KC,
    X_FOAM_F,
) = range(70)
N_STATE = 70

# heat-level standard normals drawn per heat: true HM C, Si, Mn, P, T; scrap weighing; scrap
# quality; analysis errors C, Si, T; sub-lance C, T; end measurement C, T
N_HEAT_NOISE = 14

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

# actuators --------------------------------------------------------------------------------
A_O2, A_LANCE, A_ORE, A_LIME, A_END = range(5)
N_ACT = 5
# per-plant constants derived once per heat from the parameters and the control step (exp() of
# the first-order lags, actuator limits): they cost most of a physics step if recomputed
D_E_SCRAP, D_E_LIME, D_E_MN, D_E_P, D_DT, D_WORST = range(6)
D_LO, D_HI, D_SPAN, D_RATE = 6, 6 + N_ACT, 6 + 2 * N_ACT, 6 + 3 * N_ACT
N_DERIVED = 6 + 4 * N_ACT
LN10 = math.log(10.0)
MAX_BLOW_MIN = 35.0  # forced end: no shop blows this long; keeps episodes bounded
MAX_O2_FACTOR = 1.5  # forced end at 1.5 x the planned oxygen
ABANDON_C_PCT = 0.4  # wt%: a blow ended above this carbon was abandoned, not tapped


@njit(cache=True, error_model="numpy")
def bath_mass(x: np.ndarray) -> float:
    return x[X_FE] + x[X_C] + x[X_SI] + x[X_MN] + x[X_P]


@njit(cache=True, error_model="numpy")
def slag_mass(x: np.ndarray) -> float:
    return x[X_FEO] + x[X_SIO2] + x[X_MNO] + x[X_P2O5] + x[X_CAO] + x[X_MGO]


@njit(cache=True, error_model="numpy")
def heat_capacity_mj_k(p: np.ndarray, x: np.ndarray) -> float:
    return (bath_mass(x) * p[P_CP_ST] + slag_mass(x) * p[P_CP_SL]) / 1000.0 + p[P_CREF] * p[P_HEAT]


@njit(cache=True, error_model="numpy")
def nominal_o2_flow(p: np.ndarray) -> float:
    """Standard oxygen flow of this plant, Nm3/min."""
    return p[P_PR_Q] * p[P_HEAT]


@njit(cache=True, error_model="numpy")
def actuator_limits(
    p: np.ndarray, lo: np.ndarray, hi: np.ndarray, span: np.ndarray, rate: np.ndarray, dt_s: float
) -> None:
    """Engineering limits, adjust spans and per-step rate limits of the five actuators."""
    q_nom = nominal_o2_flow(p)
    lo[A_O2], hi[A_O2], span[A_O2], rate[A_O2] = (
        0.6 * q_nom,
        1.3 * q_nom,
        0.25 * q_nom,
        (0.015 * q_nom * dt_s),
    )  # 15 % of nominal flow per 10 s: valve and control loop speed
    lo[A_LANCE], hi[A_LANCE], span[A_LANCE], rate[A_LANCE] = 1.2, 3.2, 0.6, 0.1 * dt_s
    lo[A_ORE], hi[A_ORE], span[A_ORE], rate[A_ORE] = 0.0, 6.0 * p[P_HEAT], 3.0 * p[P_HEAT], np.inf
    lo[A_LIME], hi[A_LIME], span[A_LIME], rate[A_LIME] = (
        0.0,
        20.0 * p[P_HEAT],  # the practice feeds ≈ 45–55 kg/t within ≈ 5 min: ≤ 12 kg/(t min)
        10.0 * p[P_HEAT],
        (np.inf),
    )
    # end-of-blow oxygen target, Nm3; in adjust mode ±15 % of the static plan
    lo[A_END], hi[A_END], span[A_END], rate[A_END] = 0.0, 75.0 * p[P_HEAT], 0.0, np.inf


@njit(cache=True, error_model="numpy")
def static_plan(p: np.ndarray, x: np.ndarray) -> None:
    """Operator's static charge balance on the *measured* hot-metal analysis (sets the plan).

    Oxygen: stoichiometric demand of the C, Si, Mn removal and the FeO of the expected slag,
    divided by the utilisation, times a trim fitted on the nominal plant. Lime: basicity target
    on the SiO2 from Si plus a fixed extra. Ore: a linear end-temperature prediction (rules of
    thumb fitted on the nominal plant) converted to coolant.
    """
    hm, scrap, heat = x[X_HM_KG], x[X_SCRAP_KG], p[P_HEAT] * 1000.0
    c_rm = hm * x[X_HMM_C] / 100.0 + scrap * p[P_SCRAP_C] / 100.0 - heat * p[P_AIM_C] / 100.0
    si_rm = hm * x[X_HMM_SI] / 100.0
    mn_rm = 0.6 * hm * x[X_HMM_MN] / 100.0
    sio2 = si_rm * M_SIO2 / M_SI
    lime = p[P_PR_B] * sio2 + p[P_PR_LX] * p[P_HEAT]
    slag = (sio2 + lime + p[P_MGO] * p[P_HEAT]) / (1.0 - p[P_PR_FEO] / 100.0 - 0.08)
    fe_slag = slag * p[P_PR_FEO] / 100.0 * M_FE / M_FEO
    kmol_o = c_rm / M_C * (1.0 + p[P_PCR]) + 2.0 * si_rm / M_SI + mn_rm / M_MN + fe_slag / M_FE
    scrap_pct = 100.0 * scrap / (hm + scrap)
    t_excess = (
        p[P_PR_TSI] * (x[X_HMM_SI] - p[P_REF_SI])
        + p[P_PR_TC] * (x[X_HMM_C] - p[P_REF_C])
        + p[P_PR_THM] * (x[X_HMM_T] - p[P_REF_T])
        + p[P_PR_TSCR] * (scrap_pct - p[P_REF_SCRAP])
    )
    ore = max(0.0, p[P_PR_ORE0] * p[P_HEAT] + p[P_PR_ORE_K] * t_excess)
    o2 = kmol_o / 2.0 * NM3_PER_KMOL / p[P_ETA_O2] * p[P_PR_TRIM] - 0.21 * ore
    x[X_VPLAN], x[X_ORE_PLAN], x[X_LIME_PLAN] = o2, ore, lime


@njit(cache=True, error_model="numpy")
def practice_setpoints(p: np.ndarray, x: np.ndarray, dt_s: float, out: np.ndarray) -> None:
    """Standard practice: fixed oxygen flow, three-step lance pattern, ore and lime per oxygen.

    Lime goes in over the first 30 % of the planned oxygen, ore between 10 % and 50 % (early, so
    it melts and cools before the sub-lance), both proportional to the blown oxygen; the blow
    ends at the planned oxygen. ``dt_s`` is unused (kept so every practice has one signature).
    """
    q_nom = nominal_o2_flow(p)
    frac = x[X_VO2] / x[X_VPLAN]
    out[A_O2] = q_nom
    if frac < 0.15:
        out[A_LANCE] = p[P_PR_H0]
    elif frac < 0.80:
        out[A_LANCE] = p[P_PR_H1]
    else:
        out[A_LANCE] = p[P_PR_H2]
    q = x[X_Q] if x[X_Q] > 0.0 else q_nom
    # fed per blown oxygen inside fixed windows of the plan, as a shop's bunker program does;
    # the amount delivered matches the plan to within one step's feed (dt_s is not needed)
    out[A_ORE] = x[X_ORE_PLAN] * q / (0.4 * x[X_VPLAN]) if 0.10 <= frac < 0.50 else 0.0
    out[A_LIME] = x[X_LIME_PLAN] * q / (0.3 * x[X_VPLAN]) if frac < 0.30 else 0.0
    out[A_END] = x[X_VPLAN]


@njit(cache=True, error_model="numpy")
def init_heat(p: np.ndarray, x: np.ndarray, z: np.ndarray) -> None:
    """Charge a new heat into state row ``x`` from heat-level standard normals ``z``.

    Keeps the last tapping analysis and heat index (campaign mode) and resets everything else.
    """
    tap = (x[X_TAP_VALID], x[X_TAP_C], x[X_TAP_T], x[X_TAP_P], x[X_HEAT_IDX])
    x[:] = 0.0
    x[X_TAP_VALID], x[X_TAP_C], x[X_TAP_T], x[X_TAP_P], x[X_HEAT_IDX] = tap
    c = max(3.0, p[P_HMC] + p[P_HMC_SD] * z[0])
    si = max(0.02, p[P_HMSI] + p[P_HMSI_SD] * z[1])
    mn = max(0.02, p[P_HMMN] + p[P_HMMN_SD] * z[2])
    ph = max(0.01, p[P_HMP] + p[P_HMP_SD] * z[3])
    hm = p[P_HM] * 1000.0
    scrap = max(0.0, (p[P_SCRAP] + p[P_SCRAP_SD] * z[5]) * 1000.0)
    x[X_C], x[X_SI], x[X_MN], x[X_P] = (
        hm * c / 100.0,
        hm * si / 100.0,
        hm * mn / 100.0,
        (hm * ph / 100.0),
    )
    x[X_FE] = hm - x[X_C] - x[X_SI] - x[X_MN] - x[X_P]
    x[X_SCRAP] = scrap
    x[X_TEMP] = p[P_HMT] + p[P_HMT_SD] * z[4] + KELVIN
    x[X_MGO] = p[P_MGO] * p[P_HEAT]
    x[X_FEO] = 0.5 * p[P_HEAT]  # carry-over slag film: keeps slag fractions defined at ignition
    x[X_SCRAP_H] = p[P_SCRAP_H] * max(0.7, 1.0 + p[P_SCRAP_Q_SD] * z[6])
    x[X_HM_KG], x[X_SCRAP_KG] = hm, scrap
    x[X_HMM_C] = c + p[P_HMA_C] * z[7]
    x[X_HMM_SI] = max(0.0, si + p[P_HMA_SI] * z[8])
    x[X_HMM_MN], x[X_HMM_P] = mn, ph  # spectrometer Mn, P: precise enough to take as exact
    x[X_HMM_T] = x[X_TEMP] - KELVIN + p[P_HMA_T] * z[9]
    x[X_ZSL_C], x[X_ZSL_T], x[X_ZEND_C], x[X_ZEND_T] = z[10], z[11], z[12], z[13]
    x[X_C0] = x[X_C] + scrap * p[P_SCRAP_C] / 100.0
    x[X_FE0] = x[X_FE] + scrap * (1.0 - p[P_SCRAP_C] / 100.0)
    x[X_FEO0] = x[X_FEO]
    x[X_FE_LOSS_PREV] = iron_in_slag(x)  # the carry-over slag film is not this heat's loss
    x[X_PCR] = p[P_PCR]
    static_plan(p, x)
    x[X_VEND] = x[X_VPLAN]
    x[X_Q] = nominal_o2_flow(p)
    x[X_H] = p[P_PR_H0]
    x[X_H_CACHE] = -1.0  # no lance height yet: kinetics computed on the first step


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
        + kmol_co2 * (H_CO + p[P_ETA_PC] * (H_CO2 - H_CO))
        - kmol_fe2o3 * H_FE2O3
    )
    return p[P_ETA_H] * gross


@njit(cache=True, error_model="numpy")
def _lance_kinetics(p: np.ndarray, x: np.ndarray, lance: float, dtm: float) -> None:
    """Post-combustion ratio, Fe affinity, k_C decay and foam factor at this lance height."""
    dh = lance - p[P_HREF]
    x[X_PCR_EFF] = min(max(p[P_PCR] + p[P_PCR_H] * dh, 0.03), 0.25)
    x[X_AFE_EFF] = p[P_A_FE] * math.exp(p[P_FE_H] * dh)
    x[X_E_KC] = math.exp(-p[P_KC] * math.exp(-p[P_KC_H] * dh) * dtm)
    x[X_FOAM_F] = math.exp(0.8 * dh)  # softer blow, more foam (PHYSICS.md, est.)
    x[X_H_CACHE] = lance


@njit(cache=True, error_model="numpy")
def derive(p: np.ndarray, dt_s: float, d: np.ndarray) -> None:
    """Per-plant constants for control step ``dt_s``: lag decays, actuator limits, cost bound."""
    dtm = dt_s / 60.0
    d[D_E_SCRAP] = math.exp(-dtm / p[P_SCRAP_TAU])
    d[D_E_LIME] = math.exp(-dtm / p[P_TAU_LIME])
    d[D_E_MN] = math.exp(-p[P_KMN] * dtm)
    d[D_E_P] = math.exp(-p[P_KP] * dtm)
    d[D_DT] = dt_s
    d[D_WORST] = worst_step_cost(p, dt_s)
    actuator_limits(
        p,
        d[D_LO : D_LO + N_ACT],
        d[D_HI : D_HI + N_ACT],
        d[D_SPAN : D_SPAN + N_ACT],
        d[D_RATE : D_RATE + N_ACT],
        dt_s,
    )


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
    """Advance one plant by one control step with actual actuator values (engineering units).

    ``d`` holds the plant's derived constants (:func:`derive`, same ``dt_s``).
    """
    dtm = dt_s / 60.0
    w = bath_mass(x)
    c_pct, si_pct, mn_pct = 100.0 * x[X_C] / w, 100.0 * x[X_SI] / w, 100.0 * x[X_MN] / w
    if lance != x[X_H_CACHE]:  # lance-dependent kinetics, recomputed only when the lance moves
        _lance_kinetics(p, x, lance, dtm)
    pcr, a_fe = x[X_PCR_EFF], x[X_AFE_EFF]

    # scrap melting and lime dissolution: first-order lags, exact over the step
    melt = x[X_SCRAP] * (1.0 - d[D_E_SCRAP])
    x[X_SCRAP] -= melt
    x[X_C] += melt * p[P_SCRAP_C] / 100.0
    x[X_FE] += melt * (1.0 - p[P_SCRAP_C] / 100.0)
    ore_kg, lime_kg = ore_rate * dtm, lime_rate * dtm
    x[X_LIME_UND] += lime_kg
    dissolved = x[X_LIME_UND] * (1.0 - d[D_E_LIME])
    x[X_LIME_UND] -= dissolved
    x[X_CAO] += dissolved

    # oxygen offered this step, kmol O: blown (x utilisation) + ore (Fe2O3 -> 2 Fe + 3 O)
    kmol_fe2o3 = ore_kg / M_FE2O3
    n_o = 2.0 * p[P_ETA_O2] * q_o2 * dtm / NM3_PER_KMOL + 3.0 * kmol_fe2o3
    x[X_FE] += 2.0 * kmol_fe2o3 * M_FE
    x[X_FE_ORE] += 2.0 * kmol_fe2o3 * M_FE
    x[X_OIN] += n_o * M_O
    x[X_OLOST] += 2.0 * (1.0 - p[P_ETA_O2]) * q_o2 * dtm / NM3_PER_KMOL * M_O

    # carbon's demand saturates: in stage II the carbon rate is flat, oxygen-limited (the
    # plateau of practice), and only the mass-transfer limit bends it down in stage III
    d_si, d_mn = p[P_A_SI] * si_pct, p[P_A_MN] * mn_pct
    d_c = C_DEMAND_SAT * c_pct / (c_pct + C_DEMAND_HALF)
    d_sum = d_si + d_mn + d_c + a_fe
    kmol_si = min(n_o * d_si / d_sum / 2.0, x[X_SI] / M_SI)
    kmol_mn = min(n_o * d_mn / d_sum, x[X_MN] / M_MN)
    kg_c_o2 = M_C * n_o * d_c / d_sum / (1.0 + pcr)
    kg_c_mt = max(0.0, (c_pct - p[P_CEQ]) * w / 100.0 * (1.0 - x[X_E_KC]))
    kg_c = min(kg_c_o2, kg_c_mt)
    kmol_c = kg_c / M_C
    kmol_o_fe = n_o - 2.0 * kmol_si - kmol_mn - kmol_c * (1.0 + pcr)  # the rest oxidises iron
    kmol_o_fe = min(kmol_o_fe, x[X_FE] / M_FE)
    x[X_SI] -= kmol_si * M_SI
    x[X_SIO2] += kmol_si * M_SIO2
    x[X_MN] -= kmol_mn * M_MN
    x[X_MNO] += kmol_mn * M_MNO
    x[X_C] -= kg_c
    x[X_FE] -= kmol_o_fe * M_FE
    x[X_FEO] += kmol_o_fe * M_FEO

    # FeO + C -> Fe + CO in the emulsion, driven by the stirring of last step's CO evolution
    stir = min(x[X_RC] / (0.0025 * w), 2.0)  # 1 at 0.25 %C/min
    c_now = 100.0 * x[X_C] / w
    want = p[P_KRED] * stir * x[X_FEO] / M_FEO * c_now / (c_now + p[P_CHALF]) * dtm
    kmol_red = min(want, max(0.0, kg_c_mt - kg_c) / M_C, x[X_FEO] / M_FEO)
    x[X_FEO] -= kmol_red * M_FEO
    x[X_FE] += kmol_red * M_FE
    x[X_C] -= kmol_red * M_C

    kmol_mn_ex = _mn_exchange(p, x, w, 1.0 - d[D_E_MN])
    kmol_p2o5 = _p_exchange(p, x, w, 1.0 - d[D_E_P])

    kmol_co2 = kmol_c * pcr
    kmol_co = kmol_c * (1.0 - pcr) + kmol_red
    x[X_CGAS] += (kmol_c + kmol_red) * M_C
    x[X_NCO2] += kmol_co2
    x[X_OGAS] += (kmol_co + 2.0 * kmol_co2) * M_O
    kmol_feo_net = kmol_o_fe - kmol_red - kmol_mn_ex - 5.0 * kmol_p2o5
    q_chem = _add_heat(
        p, x, kmol_feo_net, kmol_si, kmol_mn + kmol_mn_ex, kmol_p2o5, kmol_co, kmol_co2, kmol_fe2o3
    )
    c_th = heat_capacity_mj_k(p, x)
    q_loss = p[P_LOSS] * c_th * dtm
    q_scrap = melt * x[X_SCRAP_H]
    q_add = ore_kg * p[P_ORE_H] + lime_kg * p[P_LIME_H]
    x[X_TEMP] += (q_chem - q_loss - q_scrap - q_add) / c_th
    x[X_QCHEM] += q_chem
    x[X_QLOSS] += q_loss
    x[X_QSCRAP] += q_scrap
    x[X_QADD] += q_add

    x[X_RC] = (kg_c + kmol_red * M_C) / dtm
    x[X_PCR] = pcr
    x[X_FOAM] = _foam_index(p, x, w)
    x[X_VO2] += q_o2 * dtm
    x[X_ORE] += ore_kg
    x[X_LIME] += lime_kg
    x[X_Q], x[X_H] = q_o2, lance
    x[X_TIME] += dtm


@njit(cache=True, error_model="numpy")
def _mn_exchange(p: np.ndarray, x: np.ndarray, w: float, approach: float) -> float:
    """(FeO) + [Mn] = (MnO) + Fe towards K(T); returns kmol Mn oxidised (negative: reverted).

    ``approach`` = 1 − exp(−k_Mn Δt): the share of the gap to equilibrium closed in the step.
    """
    s = slag_mass(x)
    feo_pct = max(100.0 * x[X_FEO] / s, 0.1)
    mn_pct = 100.0 * x[X_MN] / w
    mno_pct = 100.0 * x[X_MNO] / s
    quotient = p[P_MNQ] * math.exp(p[P_MNQ_T] * (1.0 / x[X_TEMP] - 1.0 / (1650.0 + KELVIN)))
    mn_eq = mno_pct / (quotient * feo_pct)
    kmol = (mn_pct - mn_eq) * w / 100.0 * approach / M_MN
    kmol = min(kmol, x[X_FEO] / M_FEO, x[X_MN] / M_MN)  # oxidation needs FeO and Mn
    kmol = max(kmol, -x[X_MNO] / M_MNO, -x[X_FE] / M_FE)  # reversion needs MnO
    x[X_MN] -= kmol * M_MN
    x[X_MNO] += kmol * M_MNO
    x[X_FEO] -= kmol * M_FEO
    x[X_FE] += kmol * M_FE
    return kmol


@njit(cache=True, error_model="numpy")
def _p_exchange(p: np.ndarray, x: np.ndarray, w: float, approach: float) -> float:
    """2[P] + 5(FeO) = (P2O5) + 5Fe towards ε_P x Suito–Inoue; returns kmol P2O5 formed."""
    s = slag_mass(x)
    feo_pct = 100.0 * x[X_FEO] / s
    p_slag_pct = 100.0 * x[X_P2O5] * (2.0 * M_P / M_P2O5) / s
    lp = p[P_EPSP] * suito_partition(
        100.0 * x[X_P2O5] / s,
        100.0 * x[X_CAO] / s,
        100.0 * x[X_MGO] / s,
        100.0 * x[X_MNO] / s,
        0.777 * feo_pct,
        x[X_TEMP],
    )
    p_pct = 100.0 * x[X_P] / w
    p_eq = p_slag_pct / lp
    kg_p = (p_pct - p_eq) * w / 100.0 * approach
    kmol = kg_p / (2.0 * M_P)
    kmol = min(kmol, x[X_FEO] / (5.0 * M_FEO), x[X_P] / (2.0 * M_P))
    kmol = max(kmol, -x[X_P2O5] / M_P2O5)
    x[X_P] -= 2.0 * kmol * M_P
    x[X_P2O5] += kmol * M_P2O5
    x[X_FEO] -= 5.0 * kmol * M_FEO
    x[X_FE] += 5.0 * kmol * M_FE
    return kmol


@njit(cache=True, error_model="numpy")
def _foam_index(p: np.ndarray, x: np.ndarray, w: float) -> float:
    """Slag-foam index (1 = normal mid-blow foam): slag volume x gas rate x FeO, softer lance.

    Slopping risk rises with FeO and soft blowing mid-blow (PHYSICS.md, est.); the acoustic
    foam sensor reads this index with noise.
    """
    s = slag_mass(x)
    feo_pct = 100.0 * x[X_FEO] / s
    gas = x[X_RC] / (0.0025 * w)
    return (s / (0.06 * p[P_HEAT] * 1000.0)) * gas * (0.5 + feo_pct / 40.0) * x[X_FOAM_F]


# signals measured each step (order = sensor bank order)
SIG_Q, SIG_H, SIG_RC, SIG_PCR, SIG_FOAM = range(5)
N_SIGNALS = 5
SIGNAL_NAMES = ("oxygen_flow", "lance_height", "offgas_decarb_rate", "offgas_pcr", "slag_foam")


@njit(cache=True, error_model="numpy", inline="always")
def true_signals(p: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    out[SIG_Q] = x[X_Q] / p[P_HEAT]
    out[SIG_H] = x[X_H]
    out[SIG_RC] = x[X_RC] / p[P_HEAT]
    out[SIG_PCR] = x[X_PCR]
    out[SIG_FOAM] = x[X_FOAM]


N_OBS = 26


@njit(cache=True, error_model="numpy", inline="always")
def _put(obs: np.ndarray, j: int, v: float, lo: np.ndarray, hi: np.ndarray) -> None:
    obs[j] = min(max(v, lo[j]), hi[j])


@njit(cache=True, error_model="numpy", inline="always")
def observe_dynamic(
    p: np.ndarray, x: np.ndarray, meas: np.ndarray, lo: np.ndarray, hi: np.ndarray, obs: np.ndarray
) -> None:
    """The observation entries that change every step (float32, clipped to the Box)."""
    heat = p[P_HEAT]
    _put(obs, 0, x[X_TIME], lo, hi)
    _put(obs, 1, x[X_VO2] / heat, lo, hi)
    _put(obs, 2, meas[SIG_Q], lo, hi)
    _put(obs, 3, meas[SIG_H], lo, hi)
    _put(obs, 4, meas[SIG_RC], lo, hi)
    _put(obs, 5, meas[SIG_PCR], lo, hi)
    _put(obs, 6, meas[SIG_FOAM], lo, hi)
    _put(obs, 7, x[X_ORE] / heat, lo, hi)
    _put(obs, 8, x[X_LIME] / heat, lo, hi)
    _put(obs, 17, x[X_VEND] / heat, lo, hi)


@njit(cache=True, error_model="numpy", inline="always")
def observe_events(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, obs: np.ndarray) -> None:
    """Entries that change only at events: the sub-lance reading and the last tap."""
    _put(obs, 18, x[X_SL_DONE], lo, hi)
    _put(obs, 19, x[X_SL_C], lo, hi)
    _put(obs, 20, x[X_SL_T], lo, hi)
    _put(obs, 21, x[X_TAP_VALID], lo, hi)
    _put(obs, 22, x[X_TAP_C], lo, hi)
    _put(obs, 23, x[X_TAP_T], lo, hi)
    _put(obs, 24, x[X_TAP_P], lo, hi)


@njit(cache=True, error_model="numpy")
def observe(
    p: np.ndarray, x: np.ndarray, meas: np.ndarray, lo: np.ndarray, hi: np.ndarray, obs: np.ndarray
) -> None:
    """Whole observation row at a heat start: only what a shop measures.

    Charge analysis, heat size and plan are constant through a heat, so the step writes only the
    dynamic entries and, when they happen, the events (the obs buffer keeps the rest).
    """
    observe_dynamic(p, x, meas, lo, hi, obs)
    observe_events(x, lo, hi, obs)
    heat = p[P_HEAT]
    _put(obs, 9, x[X_HMM_C], lo, hi)
    _put(obs, 10, x[X_HMM_SI], lo, hi)
    _put(obs, 11, x[X_HMM_MN], lo, hi)
    _put(obs, 12, x[X_HMM_P], lo, hi)
    _put(obs, 13, x[X_HMM_T], lo, hi)
    _put(obs, 14, x[X_HM_KG] / (x[X_HM_KG] + x[X_SCRAP_KG]), lo, hi)
    _put(obs, 15, heat, lo, hi)
    _put(obs, 16, x[X_VPLAN] / heat, lo, hi)
    _put(obs, 25, x[X_HEAT_IDX], lo, hi)


N_TRUTH = 4  # true bath C (wt%), bath T (degC), slag FeO (wt%), bath P (wt%), for info and plots


@njit(cache=True, error_model="numpy", inline="always")
def truth(x: np.ndarray, out: np.ndarray) -> None:
    w, s = bath_mass(x), slag_mass(x)
    out[0], out[1] = 100.0 * x[X_C] / w, x[X_TEMP] - KELVIN
    out[2], out[3] = 100.0 * x[X_FEO] / s, 100.0 * x[X_P] / w


@njit(cache=True, error_model="numpy")
def worst_step_cost(p: np.ndarray, dt_s: float) -> float:
    """Upper bound (EUR) of one step's running cost: max flows, all oxygen to iron, limits hit."""
    q_max = 1.3 * nominal_o2_flow(p)
    dtm = dt_s / 60.0
    fe_kg = 2.0 * q_max * dtm / NM3_PER_KMOL * M_FE + 3.0 * 6.0 * p[P_HEAT] * dtm / M_FE2O3 * M_FE
    return (
        dtm * (q_max * p[P_PR_O2] + 6.0 * p[P_HEAT] * p[P_PR_ORE] + 10.0 * p[P_HEAT] * p[P_PR_LIME])
        + fe_kg * p[P_PR_FE]
        + 2.0 * p[P_MISS] * dt_s / 60.0
    )


@njit(cache=True, error_model="numpy")
def iron_in_slag(x: np.ndarray) -> float:
    return x[X_FEO] * M_FE / M_FEO


@njit(cache=True, error_model="numpy", inline="always")
def step_cost(
    p: np.ndarray, x: np.ndarray, dv: float, d_ore: float, d_lime: float, dt_s: float
) -> float:
    """Running cost of one step (EUR): materials, iron oxidised, slopping and over-temperature.

    Safety terms are priced per minute of violation at the miss cost, bounded (foam 1 unit
    above the limit, 50 K over temperature saturate) so ``worst_step_cost`` is a true bound.
    """
    fe_now = iron_in_slag(x)
    fe_cost = (fe_now - x[X_FE_LOSS_PREV]) * p[P_PR_FE]
    x[X_FE_LOSS_PREV] = fe_now
    slop = min(max(x[X_FOAM] - p[P_FOAM_LIM], 0.0), 1.0)
    overt = min(max(x[X_TEMP] - KELVIN - p[P_T_LIM], 0.0) / 50.0, 1.0)
    if slop > 0.0:
        x[X_SLOP] = 1.0
    if overt > 0.0:
        x[X_OVERT] = 1.0
    return (
        dv * p[P_PR_O2]
        + d_ore * p[P_PR_ORE]
        + d_lime * p[P_PR_LIME]
        + fe_cost
        + (slop + overt) * p[P_MISS] * dt_s / 60.0
    )


@njit(cache=True, error_model="numpy")
def steps_left(p: np.ndarray, d: np.ndarray, x: np.ndarray, max_steps: float) -> float:
    """Most steps the blow could still run: to the 1.5x-plan oxygen at *minimum* flow, or 35 min."""
    q_min_per_step = d[D_LO + A_O2] * d[D_DT] / 60.0
    by_oxygen = math.ceil(max(MAX_O2_FACTOR * x[X_VPLAN] - x[X_VO2], 0.0) / q_min_per_step)
    return min(max_steps - x[X_STEP], by_oxygen)


@njit(cache=True, error_model="numpy")
def huber(z: float) -> float:
    a = abs(z)
    return 0.5 * z * z if a <= 1.0 else a - 0.5


@njit(cache=True, error_model="numpy")
def endpoint_cost(
    p: np.ndarray,
    x: np.ndarray,
    c_meas: float,
    t_meas_c: float,
    steps_left: float,
    worst_step: float,
) -> float:
    """Terminal cost (EUR) scored on the end-of-blow measurement.

    Huber in units of the ±0.02 wt% C and ±15 K bands (quadratic inside, linear outside), P
    above spec, and a horizon-aware term: a blow ended with carbon still above
    ``ABANDON_C_PCT`` (stage-II carbon: clearly no tap) is an abandoned blow, charged at least the
    worst running cost of every step the blow could still have run (``steps_left``, to the
    earlier of the forced ends), so that ending early can never pay (DESIGN.md, reward design
    caution). Below that, a carbon miss costs its Huber term like any miss (a re-blow).
    """
    w = bath_mass(x)
    p_pct = 100.0 * x[X_P] / w
    cost = p[P_MISS] * (
        huber((c_meas - p[P_AIM_C]) / 0.02)
        + huber((t_meas_c - p[P_AIM_T]) / 15.0)
        + max(p_pct - p[P_P_SPEC], 0.0) / 0.005
    )
    if 100.0 * x[X_C] / w > ABANDON_C_PCT:
        cost += steps_left * worst_step
    return cost


N_KPI = 16
(
    K_C,
    K_T,
    K_P,
    K_FEO,
    K_C_MEAS,
    K_T_MEAS,
    K_TIME,
    K_O2,
    K_ORE,
    K_LIME,
    K_FE_LOSS,
    K_COST,
    K_SLOP,
    K_OVERT,
    K_MN,
    K_SCRAP_LEFT,
) = range(N_KPI)
KPI_NAMES = (
    "endpoint_c_pct",
    "endpoint_temp_c",
    "endpoint_p_pct",
    "slag_feo_pct",
    "measured_c_pct",
    "measured_temp_c",
    "blow_time_min",
    "oxygen_nm3_t",
    "ore_kg_t",
    "lime_kg_t",
    "iron_loss_kg_t",
    "heat_cost_eur",
    "slopping",
    "over_temperature",
    "endpoint_mn_pct",
    "unmelted_scrap_t",
)


@njit(cache=True, error_model="numpy")
def heat_kpis(p: np.ndarray, x: np.ndarray, c_meas: float, t_meas: float, out: np.ndarray) -> None:
    w, s, heat = bath_mass(x), slag_mass(x), p[P_HEAT]
    out[K_C], out[K_T], out[K_P] = 100 * x[X_C] / w, x[X_TEMP] - KELVIN, 100 * x[X_P] / w
    out[K_FEO], out[K_C_MEAS], out[K_T_MEAS] = 100 * x[X_FEO] / s, c_meas, t_meas
    out[K_TIME], out[K_O2], out[K_ORE] = x[X_TIME], x[X_VO2] / heat, x[X_ORE] / heat
    out[K_LIME], out[K_FE_LOSS] = (
        x[X_LIME] / heat,
        (iron_in_slag(x) - x[X_FEO0] * M_FE / M_FEO) / heat,
    )
    out[K_COST], out[K_SLOP], out[K_OVERT] = x[X_COST], x[X_SLOP], x[X_OVERT]
    out[K_MN], out[K_SCRAP_LEFT] = 100 * x[X_MN] / w, x[X_SCRAP] / 1000.0


@njit(cache=True, error_model="numpy", inline="always")
def _setpoints(p, d, x, mode, action, practice, out):
    """Map an action (clipped to [-1, 1] here) to actual actuator values, engineering units."""
    practice_setpoints(p, x, d[D_DT], practice)
    for j in range(N_ACT):
        a = min(max(action[j], -1.0), 1.0)
        lo, hi = d[D_LO + j], d[D_HI + j]
        if mode == 0:  # adjust around standard practice; zero reproduces it exactly
            span = d[D_SPAN + j] if j != A_END else 0.15 * x[X_VPLAN]
            target = practice[j] + a * span
        else:
            target = lo + 0.5 * (a + 1.0) * (hi - lo)
        target = min(max(target, lo), hi)
        prev = x[X_Q] if j == A_O2 else (x[X_H] if j == A_LANCE else target)
        rate = d[D_RATE + j]
        out[j] = min(max(target, prev - rate), prev + rate)


@njit(cache=True, error_model="numpy", inline="always")
def _sublance(p: np.ndarray, x: np.ndarray) -> bool:
    """Take the in-blow sub-lance sample once the oxygen passes its share of the plan."""
    if x[X_SL_DONE] == 0.0 and x[X_VO2] >= p[P_SL_FRAC] * x[X_VPLAN]:
        w = bath_mass(x)
        x[X_SL_DONE] = 1.0
        x[X_SL_C] = max(0.0, 100.0 * x[X_C] / w + p[P_SL_C_SD] * x[X_ZSL_C])
        x[X_SL_T] = x[X_TEMP] - KELVIN + p[P_SL_T_SD] * x[X_ZSL_T]
        return True
    return False


@njit(cache=True, error_model="numpy", inline="always")
def plant_step(p, d, x, mode, action, practice, act, dt_s, max_steps, kpi_row):
    """The plant's own step: actuators, physics, running cost, end of blow and its scoring.

    Returns ``(cost_eur, ended)``. This is the "kernel" the benchmark compares the rest against.
    """
    _setpoints(p, d, x, mode, action, practice, act)
    x[X_VEND] = act[A_END]
    v0, ore0, lime0 = x[X_VO2], x[X_ORE], x[X_LIME]
    physics_step(p, d, x, act[A_O2], act[A_LANCE], act[A_ORE], act[A_LIME], dt_s)
    x[X_STEP] += 1.0
    cost = step_cost(p, x, x[X_VO2] - v0, x[X_ORE] - ore0, x[X_LIME] - lime0, dt_s)
    ended = (
        x[X_VO2] >= x[X_VEND]
        or x[X_VO2] >= MAX_O2_FACTOR * x[X_VPLAN]
        or x[X_TIME] >= MAX_BLOW_MIN
        or x[X_STEP] >= max_steps
    )
    if ended:
        w = bath_mass(x)
        c_meas = max(0.0, 100.0 * x[X_C] / w + p[P_SL_C_SD] * x[X_ZEND_C])
        t_meas = x[X_TEMP] - KELVIN + p[P_SL_T_SD] * x[X_ZEND_T]
        cost += endpoint_cost(p, x, c_meas, t_meas, steps_left(p, d, x, max_steps), d[D_WORST])
        x[X_COST] += cost
        heat_kpis(p, x, c_meas, t_meas, kpi_row)
        x[X_TAP_VALID], x[X_TAP_C], x[X_TAP_T] = 1.0, c_meas, t_meas
        x[X_TAP_P] = 100.0 * x[X_P] / w
    else:
        x[X_COST] += cost
    return cost, ended


BLOCK = 128  # plants per block of the step: their rows stay in cache from the plant to the sensors


@hot_loop
def plant_phase(
    params, derived, state, actions, mode, dt_s, max_steps, kpi, idx, m, work, cost, ended
):  # type: ignore[no-untyped-def]
    """The plant step of the block's plants ``idx[:m]``; cost (EUR) and end flag in ``cost[k]``,
    ``ended[k]``. ``work`` is (2, N_ACT) scratch. This is the "kernel" the benchmark compares the
    rest of a step against (:func:`plant_step_batch` runs it over every plant)."""
    practice, act = work[0], work[1]
    for k in range(m):
        i = idx[k]
        c, e = plant_step(
            params[i],
            derived[i],
            state[i],
            mode,
            actions[i],
            practice,
            act,
            dt_s,
            max_steps,
            kpi[i],
        )
        cost[k], ended[k] = c, e


class StepScratch(NamedTuple):
    """Work arrays of :func:`step_batch` (one block's worth; a compiled hot loop cannot
    allocate): :func:`step_scratch` makes them once per batch."""

    idx: np.ndarray  # int64 (BLOCK,): plants of the block
    cost: np.ndarray  # (BLOCK,): their step cost, EUR
    ended: np.ndarray  # bool (BLOCK,): their blow ended
    work: np.ndarray  # (2, N_ACT): practice set-points and actuator values of one plant
    values: np.ndarray  # (N_SIGNALS, BLOCK): true signals, then readings


def step_scratch(n_plants: int) -> StepScratch:
    """The work arrays of :func:`step_batch` for a batch of ``n_plants``."""
    b = min(BLOCK, n_plants)
    return StepScratch(
        np.empty(b, dtype=np.int64),
        np.empty(b),
        np.empty(b, dtype=np.bool_),
        np.empty((2, N_ACT)),
        np.empty((N_SIGNALS, b)),
    )


@hot_loop
def step_batch(
    params,
    derived,
    state,
    actions,
    mode,
    sens_cfg,
    sens_cols,
    sens_state,
    noise,
    dt_s,
    obs_lo,
    obs_hi,
    obs,
    obs_out,
    reward,
    heat_end,
    kpi,
    max_steps,
    active,
    scratch,
):  # type: ignore[no-untyped-def]
    """One control step for every active plant: plant step, sensors, observation, reward.

    ``noise`` holds one row of 16-bit noise words per *active* plant, in plant order. Inactive
    plants (``active[i]`` False: just reset by a next-step autoreset) are left as they are, with
    reward 0. ``obs`` keeps each plant's observation (the step writes the entries that change);
    every row, inactive plants' included, is also copied to ``obs_out`` (the array a vector env
    returns; it may be ``obs`` itself), while it is in cache. ``heat_end[i]`` is set when plant
    i's blow ended this step; its KPIs are in ``kpi[i]``. Rewards are ``−cost / 1000`` (kEUR).
    ``scratch`` is :func:`step_scratch` of the batch. Returns the number of heats that ended.

    Blocks of :data:`BLOCK` plants go through the plant step (:func:`plant_phase`), then the
    sensors signal by signal (:func:`envs.core.sensors.sensor_bank_step_block`), then the
    sub-lance, observation and reward; each plant sees the same operations in the same order as
    in one loop, so the numbers are those of one loop. (The true state for the single env's
    info comes from :func:`truth_batch`, kept out of this loop.)
    """
    idx, cost, ended, work, values = scratch
    # integers passed on as int64, never as literals: a literal argument would compile the
    # callee once more, specialised on its value (numba's literal dispatch)
    n, r0, n_ended, zero = state.shape[0], np.int64(0), 0, np.int64(0)
    for lo in range(0, n, BLOCK):
        hi = min(lo + BLOCK, n)
        for i in range(lo, hi):
            heat_end[i] = False
        m = active_block(active, lo, hi, idx, reward, obs, obs_out)
        plant_phase(
            params, derived, state, actions, mode, dt_s, max_steps, kpi, idx, m, work, cost, ended
        )
        for k in range(m):
            i = idx[k]
            true_signals(params[i], state[i], values[:, k])
        sensor_bank_step_block(
            sens_cfg, sens_cols, sens_state, idx, m, noise, r0, zero, dt_s, values
        )
        for k in range(m):
            i = idx[k]
            p, x = params[i], state[i]
            event = _sublance(p, x) or ended[k]
            observe_dynamic(p, x, values[:, k], obs_lo, obs_hi, obs[i])
            if event:
                observe_events(x, obs_lo, obs_hi, obs[i])
            copy_row(obs, obs_out, i)
            heat_end[i] = ended[k]
            n_ended += ended[k]
            reward[i] = -cost[k] / 1000.0
        r0 += m
    sensor_bank_advance(sens_state)
    return n_ended


@njit(cache=True, error_model="numpy")
def derive_batch(params: np.ndarray, dt_s: float, derived: np.ndarray) -> None:
    """:func:`derive` for every plant."""
    for i in range(params.shape[0]):
        derive(params[i], dt_s, derived[i])


@njit(cache=True, error_model="numpy")
def truth_batch(state: np.ndarray, out: np.ndarray) -> None:
    """True bath C, T, slag FeO and bath P of every plant (info and plots, never observed)."""
    for i in range(state.shape[0]):
        truth(state[i], out[i])


@njit(cache=True, error_model="numpy")
def reset_batch(
    base_params,
    params,
    derived,
    state,
    heats_done,
    idx,
    new_episode,
    new_params,
    drift_cols,
    drift_values,
    z_heat,
    sens_cfg,
    sens_state,
    dt_s,
    obs_lo,
    obs_hi,
    obs,
    true_out,
):
    """Charge a new heat into the plants of ``idx`` (heat-level normals ``z_heat[k]`` for idx[k]).

    With ``new_params`` the heat's parameters are set anew, and the per-plant constants derived
    from them: the plant's ``base_params`` with the columns ``drift_cols`` multiplied by its
    campaign drift values ``drift_values[i]`` (none outside campaign mode). Without, the plant
    keeps its parameters and constants (a plant neither randomised nor drifting: they never
    change, and skipping the copy spares a reset most of its memory traffic). ``new_episode``
    starts a new campaign: the state is cleared (no last tap) and the heat count restarts at 0.
    """
    true_sig = np.empty(N_SIGNALS)
    for k in range(idx.shape[0]):
        i = idx[k]
        p, x = params[i], state[i]
        if new_params:
            for j in range(p.shape[0]):  # not p[:] = …: its shape check compiles for seconds
                p[j] = base_params[i, j]
            for c in range(drift_cols.shape[0]):
                p[drift_cols[c]] *= drift_values[i, c]
            derive(p, dt_s, derived[i])
        if new_episode:
            x[:] = 0.0
            heats_done[i] = 0
        x[X_HEAT_IDX] = heats_done[i]
        init_heat(p, x, z_heat[k])
        true_signals(p, x, true_sig)
        sensor_bank_reset(sens_cfg, sens_state, i, true_sig)
        observe(p, x, true_sig, obs_lo, obs_hi, obs[i])
        truth(x, true_out[i])


@hot_loop
def plant_step_batch(params, derived, state, actions, mode, dt_s, max_steps, kpi, scratch):  # type: ignore[no-untyped-def]
    """Bare kernel for the benchmark: :func:`plant_phase` over every plant in the blocks of
    :func:`step_batch` (``scratch`` from :func:`step_scratch`), no sensors or observation."""
    idx, cost, ended, work, _ = scratch
    n = state.shape[0]
    for lo in range(0, n, BLOCK):
        m = whole_block(lo, min(lo + BLOCK, n), idx)
        plant_phase(
            params, derived, state, actions, mode, dt_s, max_steps, kpi, idx, m, work, cost, ended
        )


@hot_loop
def physics_batch(params, derived, state, setpoints, dt_s):
    """Physics only, actuator values given."""
    for i in range(state.shape[0]):
        s = setpoints[i]
        physics_step(
            params[i], derived[i], state[i], s[A_O2], s[A_LANCE], s[A_ORE], s[A_LIME], dt_s
        )
