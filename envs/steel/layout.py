"""Array layouts of the BOF plant: what every column of every row the compiled core reads means.

Declared once, as :class:`envs.core.layout.Layout` field lists; every index constant and count
the kernels use is generated from them (``X = STATE.at``; ``x[X.temp]``), never typed by hand.
Parameters are the columns of :class:`envs.steel.params.BOFParams` (``P = BOFParams.indices()``).

| layout | alias | row of | one row per |
| --- | --- | --- | --- |
| :data:`STATE` | ``X`` | the process state (bath, slag, plan, bookkeeping) | plant |
| :data:`DERIVED` | ``D`` | constants derived from the parameters and the control step | plant |
| :data:`HEAT_NOISE` | ``Z`` | standard normals drawn at each heat start | heat start |
| :data:`ACTUATORS` | ``A`` | the actions and actuator values | plant |
| :data:`SIGNALS` | ``S`` | the sensor bank's per-step signals, in bank order | plant |
| :data:`OBSERVATION` | ``O`` | what a policy sees (the Box) | plant |
| :data:`UNIT_KPI` | ``K`` | KPIs of an ended heat (the BOF's unit and product) | plant |
| :data:`TRUTH` | ``TR`` | true values never observed (infos, plots) | plant |
| :data:`DRIFTS` | | campaign drifts and the parameter each multiplies | plant |

No numba and no physics here: the physics (:mod:`envs.steel.physics`) and the step
(:mod:`envs.steel.core`) read these names.
"""

from __future__ import annotations

from typing import Any

from envs.core.layout import ControlledVariable, Field, Layout
from envs.core.sensors import SensorSpec
from envs.steel.params import BOFParams

__all__ = [
    "ACTUATORS",
    "BAND_C",
    "BAND_P",
    "BAND_T",
    "CONTROLLED",
    "DERIVED",
    "DRIFTS",
    "DRIFT_TARGETS",
    "HEAT_NOISE",
    "HIT_BANDS_C",
    "HIT_BANDS_T",
    "HIT_FLAG_NAMES",
    "OBSERVATION",
    "SIGNALS",
    "STATE",
    "STEP_LABEL",
    "TR",
    "TRUTH",
    "UNIT_KPI",
    "A",
    "D",
    "K",
    "O",
    "P",
    "S",
    "X",
    "Z",
    "default_drifts",
    "default_sensors",
]

P = BOFParams.indices()

# ---------------------------------------------------------------- state of one plant
STATE = Layout(
    "state",
    [
        Field("time", "min", doc="blow time"),
        # bath and slag inventories
        Field("fe", "kg", doc="iron in the bath"),
        Field("c", "kg", doc="carbon in the bath"),
        Field("si", "kg", doc="silicon in the bath"),
        Field("mn", "kg", doc="manganese in the bath"),
        Field("p", "kg", doc="phosphorus in the bath"),
        Field("scrap", "kg", doc="scrap not yet melted (both size classes)"),
        Field("scrap_heavy", "kg", doc="heavy scrap not yet melted (part of scrap)"),
        Field("feo", "kg", doc="FeO in the slag"),
        Field("sio2", "kg", doc="SiO2 in the slag"),
        Field("mno", "kg", doc="MnO in the slag"),
        Field("p2o5", "kg", doc="P2O5 in the slag"),
        Field("cao", "kg", doc="dissolved lime (CaO) in the slag"),
        Field("mgo", "kg", doc="MgO in the slag"),
        Field("lime_undissolved", "kg", doc="lime charged, not yet dissolved"),
        Field("temp", "K", doc="bath temperature"),
        # what has been blown and fed, and the actuators' last values
        Field("o2_blown", "Nm3", doc="oxygen blown"),
        Field("ore", "kg", doc="ore fed"),
        Field("lime", "kg", doc="lime fed"),
        Field("o2_flow", "Nm3/min", doc="oxygen flow of the last step (rate limit)"),
        Field("lance", "m", doc="lance height of the last step (rate limit)"),
        Field("decarb_rate", "kg/min", doc="carbon removed per minute in the last step"),
        Field("pcr", "-", doc="post-combustion ratio CO2/(CO+CO2) of the last step"),
        Field("foam", "-", doc="slag-foam index (1 = normal mid-blow foam)"),
        # bookkeeping: the balances close on these (tests)
        Field("c_gas", "kg", doc="carbon to the off-gas"),
        Field("n_co2", "kmol", doc="CO2 to the off-gas"),
        Field("o_gas", "kg", doc="oxygen to the off-gas"),
        Field("o_in", "kg", doc="oxygen reaching the bath (blown x utilisation + ore)"),
        Field("o_lost", "kg", doc="blown oxygen not reaching the bath"),
        Field("fe_ore", "kg", doc="iron from ore"),
        Field("q_chem", "MJ", doc="reaction heat retained"),
        Field("q_loss", "MJ", doc="heat lost"),
        Field("q_scrap", "MJ", doc="heat to melt scrap"),
        Field("q_add", "MJ", doc="sensible heat of ore and lime"),
        Field("c0", "kg", doc="carbon charged"),
        Field("fe0", "kg", doc="iron charged"),
        Field("feo0", "kg", doc="FeO of the carry-over slag"),
        # the plan and the end-of-blow decision
        Field("o2_end", "Nm3", doc="end-of-blow oxygen target (the agent's)"),
        Field("o2_plan", "Nm3", doc="statically planned oxygen"),
        Field("ore_plan", "kg", doc="statically planned ore"),
        Field("lime_plan", "kg", doc="statically planned lime"),
        # the charge and its measured analysis
        Field("hm_kg", "kg", doc="hot metal charged"),
        Field("scrap_kg", "kg", doc="scrap charged"),
        Field("scrap_melt_heat", "MJ/kg", doc="heat to melt this heat's scrap"),
        Field("hm_meas_c", "wt%", doc="measured hot-metal C"),
        Field("hm_meas_si", "wt%", doc="measured hot-metal Si"),
        Field("hm_meas_mn", "wt%", doc="measured hot-metal Mn"),
        Field("hm_meas_p", "wt%", doc="measured hot-metal P"),
        Field("hm_meas_temp", "degC", doc="measured hot-metal temperature"),
        # the sub-lance and the tap measurement (errors drawn at the heat start)
        Field("sublance_done", "-", doc="1 once the sub-lance sample is taken"),
        Field("sublance_c", "wt%", doc="sub-lance carbon reading"),
        Field("sublance_temp", "degC", doc="sub-lance temperature reading"),
        Field("z_sublance_c", "-", doc="standard normal of the sub-lance C error"),
        Field("z_sublance_temp", "-", doc="standard normal of the sub-lance T error"),
        Field("z_end_c", "-", doc="standard normal of the tap analysis C error"),
        Field("z_end_temp", "-", doc="standard normal of the tap thermocouple T error"),
        # cost and safety of the heat
        Field("cost", "EUR", doc="running cost of the heat"),
        Field("step", "-", doc="control steps of the heat"),
        Field("slopped", "-", doc="1 once the foam passed its limit"),
        Field("over_temp", "-", doc="1 once the bath passed its temperature limit"),
        Field("fe_loss_prev", "kg", doc="iron in the slag at the last step (its cost)"),
        # the last tap, carried across the heats of a campaign
        Field("tap_valid", "-", doc="1 once a heat of the campaign was tapped"),
        Field("tap_c", "wt%", doc="measured carbon of the last tap"),
        Field("tap_temp", "degC", doc="measured temperature of the last tap"),
        Field("tap_p", "wt%", doc="phosphorus of the last tap"),
        Field("heat_idx", "-", doc="heats done in the campaign"),
        # lance-height kinetics, recomputed only when the lance moves
        Field("lance_cache", "m", doc="lance height the kinetics below belong to (-1: none)"),
        Field("pcr_eff", "-", doc="post-combustion ratio at that lance height"),
        Field("a_fe_eff", "-", doc="iron's oxygen affinity at that lance height"),
        Field("e_kc", "-", doc="exp(-k_C dt): carbon mass-transfer decay over a step"),
        Field("foam_factor", "-", doc="foam multiplier of the lance height"),
    ],
)
X = STATE.at

# ---------------------------------------------------------------- actuators (the action order)
ACTUATORS = Layout(
    "actuator",
    [
        Field("oxygen_flow", "Nm3/min"),
        Field("lance_height", "m"),
        Field("ore_feed", "kg/min"),
        Field("lime_feed", "kg/min"),
        Field("end_oxygen", "Nm3", doc="end-of-blow oxygen target"),
    ],
)
A = ACTUATORS.at

# per-plant constants derived once per heat from the parameters and the control step (exp() of
# the first-order lags, actuator limits): they cost most of a physics step if recomputed
DERIVED = Layout(
    "derived",
    [
        Field("e_lime", "-", doc="exp(-dt/tau): lime dissolution over a step"),
        Field("e_mn", "-", doc="exp(-k dt): Mn exchange over a step"),
        Field("e_p", "-", doc="exp(-k dt): P exchange over a step"),
        Field("dt", "s", doc="control step"),
        Field("worst_step_cost", "EUR", doc="bound of one step's running cost"),
        Field("lo", doc="actuator lower limits", size=len(ACTUATORS)),
        Field("hi", doc="actuator upper limits", size=len(ACTUATORS)),
        Field("span", doc="actuator adjust spans", size=len(ACTUATORS)),
        Field("rate", doc="actuator rate limits per step", size=len(ACTUATORS)),
    ],
)
D = DERIVED.at

# heat-level standard normals drawn per heat start
HEAT_NOISE = Layout(
    "heat_noise",
    [
        Field("hm_c", doc="true hot-metal C"),
        Field("hm_si", doc="true hot-metal Si"),
        Field("hm_mn", doc="true hot-metal Mn"),
        Field("hm_p", doc="true hot-metal P"),
        Field("hm_temp", doc="true hot-metal temperature"),
        Field("scrap_weight", doc="scrap weighing"),
        Field("scrap_quality", doc="scrap melting heat"),
        Field("analysis_c", doc="hot-metal analysis error, C"),
        Field("analysis_si", doc="hot-metal analysis error, Si"),
        Field("analysis_temp", doc="hot-metal temperature measurement error"),
        Field("sublance_c", doc="sub-lance C error"),
        Field("sublance_temp", doc="sub-lance T error"),
        Field("end_c", doc="tap analysis C error (scaled by tap_c_sd_pct)"),
        Field("end_temp", doc="tap thermocouple T error (scaled by tap_temp_sd_c)"),
    ],
)
Z = HEAT_NOISE.at

# ---------------------------------------------------------------- sensors
# the signals measured each step, in sensor-bank order (their models: default_sensors)
SIGNALS = Layout(
    "signal",
    [
        Field("oxygen_flow", "Nm3/(t min)"),
        Field("lance_height", "m"),
        Field("offgas_decarb_rate", "kg C/(t min)"),
        Field("offgas_pcr", "-"),
        Field("slag_foam", "-"),
    ],
)
S = SIGNALS.at


def default_sensors(params: BOFParams) -> dict[str, SensorSpec]:
    """Per-step signals and their sensor models (order = :data:`SIGNALS`)."""
    return {
        "oxygen_flow": SensorSpec(noise_rel=0.0, low=0.0, high=6.0),
        "lance_height": SensorSpec(low=0.0, high=4.0),
        "offgas_decarb_rate": SensorSpec(
            noise_rel=params.offgas_noise_rel, delay_s=params.offgas_delay_s, low=0.0, high=10.0
        ),
        "offgas_pcr": SensorSpec(noise_std=0.01, delay_s=params.offgas_delay_s, low=0.0, high=1.0),
        "slag_foam": SensorSpec(noise_std=0.1, low=0.0, high=5.0),
    }


# ---------------------------------------------------------------- endpoint bands
# the scales the endpoint is judged in (docs/physics/bof.md §6): one band of carbon, temperature
# and phosphorus miss; the reward's Huber terms and the event observations use them
BAND_C = 0.02  # wt%
BAND_T = 15.0  # K
BAND_P = 0.005  # wt% over spec

# ---------------------------------------------------------------- observation (the Box)
OBSERVATION = Layout(
    "observation",
    [
        Field("blow_time", "min", 0.0, 40.0),
        Field("oxygen_blown", "Nm3/t", 0.0, 120.0),
        Field("oxygen_flow", "Nm3/(t min)", 0.0, 6.0),
        Field("lance_height", "m", 0.0, 4.0),
        Field("offgas_decarb_rate", "kg C/(t min)", 0.0, 10.0),
        Field("offgas_pcr", "-", 0.0, 1.0),
        Field("slag_foam_index", "-", 0.0, 5.0),
        Field("ore_added", "kg/t", 0.0, 400.0),
        Field("lime_added", "kg/t", 0.0, 500.0),
        Field("hm_c", "wt%", 0.0, 6.0),
        Field("hm_si", "wt%", 0.0, 3.0),
        Field("hm_mn", "wt%", 0.0, 2.0),
        Field("hm_p", "wt%", 0.0, 1.0),
        Field("hm_temp", "degC", 1000.0, 1600.0),
        Field("hot_metal_ratio", "-", 0.0, 1.0),
        Field("heat_size", "t", 0.0, 400.0),
        Field("oxygen_planned", "Nm3/t", 0.0, 120.0),
        Field("oxygen_end_target", "Nm3/t", 0.0, 120.0),
        # event readings: deviations from the aims in band units (0 until taken), and a flag
        Field("sublance_taken", "-", 0.0, 1.0),
        Field("sublance_c_dev", "band", -5.0, 250.0, doc="(C - aim_c) / 0.02 wt%"),
        Field("sublance_temp_dev", "band", -40.0, 40.0, doc="(T - aim_temp) / 15 K"),
        Field("last_tap_valid", "-", 0.0, 1.0),
        Field("last_tap_c_dev", "band", -5.0, 250.0, doc="(C - aim_c) / 0.02 wt%"),
        Field("last_tap_temp_dev", "band", -40.0, 40.0, doc="(T - aim_temp) / 15 K"),
        Field("last_tap_p_dev", "band", -10.0, 100.0, doc="(P - p_spec) / 0.005 wt%"),
        Field("heat_in_campaign", "-", 0.0, 10000.0),
    ],
)
O = OBSERVATION.at  # noqa: E741 - the short alias every layout has (X, D, A, ...)

# ---------------------------------------------------------------- KPIs and truth
# KPIs of an ended heat: the BOF's unit (what ends an episode) and its product
UNIT_KPI = Layout(
    "unit_kpi",
    [
        Field("endpoint_c_pct", "wt%", doc="true bath carbon at the end of the blow"),
        Field("endpoint_temp_c", "degC", doc="true bath temperature"),
        Field("endpoint_p_pct", "wt%", doc="true bath phosphorus"),
        Field("slag_feo_pct", "wt%", doc="slag FeO"),
        Field("measured_c_pct", "wt%", doc="tap sample's carbon (lab analysis, tap_c_sd_pct)"),
        Field("measured_temp_c", "degC", doc="tap temperature (thermocouple, tap_temp_sd_c)"),
        Field("blow_time_min", "min"),
        Field("oxygen_nm3_t", "Nm3/t"),
        Field("ore_kg_t", "kg/t"),
        Field("lime_kg_t", "kg/t"),
        Field("iron_loss_kg_t", "kg/t", doc="iron oxidised into the slag"),
        Field("heat_cost_eur", "EUR", doc="running and endpoint cost of the heat"),
        Field("slopping", "-", doc="1 if the foam passed its limit"),
        Field("over_temperature", "-", doc="1 if the bath passed its temperature limit"),
        Field("endpoint_mn_pct", "wt%"),
        Field("unmelted_scrap_t", "t"),
        Field("offgrade", "-", doc="1 if an off-grade step cost was charged (P, C or T)"),
    ],
)
K = UNIT_KPI.at

# hit flags scored on the tap measurement, docs/physics/bof.md §6: ±0.01 and ±0.02 wt%
# C, ±10 and ±15 K, both at once per pair of bands, and P in spec
HIT_BANDS_C = (0.01, 0.02)  # wt%
HIT_BANDS_T = (10.0, 15.0)  # K
# their info names keep the bands as written (``hit_c_0.01``): names, not columns of a row
HIT_FLAG_NAMES: tuple[str, ...] = (
    *(f"hit_c_{bc}" for bc in HIT_BANDS_C),
    *(f"hit_t_{bt:g}" for bt in HIT_BANDS_T),
    *(f"double_hit_{bc}_{bt:g}" for bc, bt in zip(HIT_BANDS_C, HIT_BANDS_T, strict=True)),
    "p_in_spec",
)

# true values of the heat in the vessel, never observed (info["truth"], plots, estimator checks)
TRUTH = Layout(
    "truth",
    [
        Field("true_c_pct", "wt%", doc="bath carbon"),
        Field("true_temp_c", "degC", doc="bath temperature"),
        Field("true_feo_pct", "wt%", doc="slag FeO"),
        Field("true_p_pct", "wt%", doc="bath phosphorus"),
    ],
)
TR = TRUTH.at

# what the blow is controlled to: bath C and T at the end, against the aims and the hit bands
CONTROLLED = (
    ControlledVariable("truth", "true_c_pct", "aim_c_pct", 0.02, "bath C [wt%]", log_scale=True),
    ControlledVariable("truth", "true_temp_c", "aim_temp_c", 15.0, "bath T [°C]"),
)
STEP_LABEL = "control step (10 s)"

# ---------------------------------------------------------------- campaign drifts
# each drift multiplies one BOFParams field from heat to heat of a campaign
DRIFT_TARGETS: dict[str, str] = {
    "lance_wear_kc": "kc_per_min",
    "lance_wear_fe": "affinity_fe",
    "refractory_heat_loss": "heat_loss_k_min",
    "scrap_quality": "scrap_melt_mj_kg",
    "hot_metal_si": "hm_si_pct",
}
DRIFTS = Layout(
    "drift", [Field(name, doc=f"multiplies {target}") for name, target in DRIFT_TARGETS.items()]
)


def default_drifts() -> dict[str, dict[str, Any]]:
    """The per-heat drifts of a campaign (multipliers of :data:`DRIFT_TARGETS`' parameters).

    Magnitudes est.: refractory heat loss +30–50 % over a campaign of a few thousand heats
    (docs/physics/bof.md §10, variants), here compressed into an episode.
    """
    return {
        "lance_wear_kc": {
            "ou_theta": 0.05,
            "ou_sigma": 0.01,
            "trend_per_step": -0.002,
            "low": 0.5,
            "high": 1.5,
        },
        "lance_wear_fe": {
            "ou_theta": 0.05,
            "ou_sigma": 0.01,
            "trend_per_step": 0.003,
            "low": 0.5,
            "high": 2.0,
        },
        "refractory_heat_loss": {"trend_per_step": 0.01, "low": 0.5, "high": 2.0},
        "scrap_quality": {"ou_theta": 0.1, "ou_sigma": 0.02, "low": 0.7, "high": 1.3},
        "hot_metal_si": {"ou_theta": 0.1, "ou_sigma": 0.04, "low": 0.3, "high": 2.0},
    }
