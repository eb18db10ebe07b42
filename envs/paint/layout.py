"""Every array row of the paint line, declared once: state, derived constants, noise, observation,
actuators, signals, drifts and KPIs (:mod:`envs.core.layout`), plus the default sensor and drift
specs of the process. No numba and no physics here: the kernels (:mod:`envs.paint.physics`,
:mod:`envs.paint.core`) read these names, and docs, spaces, infos and agents read the same lists.

Index tuples (numba freezes them as compile-time constants, so ``x[X.t_booth]`` costs what
``x[8]`` did):

| alias | layout | a row of |
| --- | --- | --- |
| ``P`` | :class:`PaintLineParams` | parameters; layer blocks ``P_LAYER_STRIDE`` apart |
| ``X``, ``XL`` | ``STATE``, ``LAYER_STATE`` | layer l from ``X.layers + l * LAYER_STRIDE`` |
| ``D`` | ``DERIVED`` | per-plant constants (blocks per style, layer, actuator) |
| ``W``, ``WL`` | ``PROCESS_WORDS``, ``LOT_WORDS`` | the step's process noise words (uint16) |
| ``R``, ``RL`` | ``RESET_NOISE``, ``RESET_LOT`` | standard normals of a shift start |
| ``O`` | ``OBSERVATION`` | the observation Box (name, unit, low, high) |
| ``A``, ``AS`` | ``ACTUATORS``, ``STATION`` | actuators; station l at ``l * STATION_STRIDE`` |
| ``SIG`` | ``SIGNALS`` | the sensor bank's signals, in bank order |
| ``DR`` | ``DRIFTS`` | the drift bank's drifts, in bank order |
| ``PK`` | ``PRODUCT_KPI`` | KPIs of one body (``step_kpi`` of the bundle) |
| ``UK``, ``AC`` | ``UNIT_KPI``, ``UNIT_ACC`` | KPIs of a shift, the shift's running sums |

Per-layer fields of a flat layout (``dft_base_um``, ``dft_clear_um``) are generated side by side
by :func:`per_layer`, so ``PK.dft_base_um + layer`` is the layer's column by construction.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from envs.core.disturbances import DriftSpec
from envs.core.layout import ControlledVariable, Field, Layout
from envs.core.sensors import SensorSpec
from envs.paint.params import LAYERS, STYLES, PaintLineParams

__all__ = [
    "ACTUATORS",
    "CONTROLLED",
    "DERIVED",
    "DRIFTS",
    "LAYER_STATE",
    "OBSERVATION",
    "PROCESS_WORDS",
    "PRODUCT_KPI",
    "RESET_NOISE",
    "SHIFT_MEAN_KPIS",
    "SIGNALS",
    "STATE",
    "STATION",
    "STEP_LABEL",
    "UNIT_ACC",
    "UNIT_KPI",
    "default_drifts",
    "default_sensors",
    "per_layer",
]

N_LAYERS, N_STYLES = len(LAYERS), len(STYLES)


def per_layer(fmt: str, unit: str = "-", low: float = -math.inf, high: float = math.inf) -> list:
    """One field per layer, side by side: ``fmt.format(layer)`` for base, clear."""
    return [Field(fmt.format(layer), unit, low, high) for layer in LAYERS]


# ---------------------------------------------------------------- parameters
P = PaintLineParams.indices()
P_LAYER_STRIDE = P.clear_n_bells - P.base_n_bells  # the clear block mirrors the base block

# ---------------------------------------------------------------- state
LAYER_STATE = Layout(
    "layer_state",
    [
        Field("tpaint_dev", "K", doc="paint-temperature deviation (drift)"),
        Field("lot_ln_visc", doc="ln viscosity multiplier of the paint lot in use"),
        Field("lot_vs", doc="volume-solids multiplier of the lot"),
        Field("dr_visc", doc="drift-bank viscosity multiplier (scenarios)"),
        Field("dr_ln_visc", doc="its log, kept with it (changes rarely)"),
        Field("dr_vs", doc="drift-bank volume-solids multiplier"),
        Field("since_lot", "bodies", doc="bodies painted with the current lot (paint kitchen log)"),
        Field("ln_mu_rel", doc="ln(viscosity / nominal viscosity)"),
        Field("d32", "um"),
        Field("te"),
        Field("vs"),
        Field("paint_ml", "mL"),
        Field("solids_ml", "mL"),
        Field("dft", "um"),
        Field("wft", "um"),
        Field("evap", doc="share of the solvent lost in flight"),
        Field("sag", doc="risk"),
        Field("op", doc="orange-peel risk"),
        Field("dry", doc="dry-spray risk"),
    ],
)
XL = LAYER_STATE.at
LAYER_STRIDE = len(LAYER_STATE)

# ---------------------------------------------------------------- actuators
# per bell station (base, clear), then the line; limits and per-body rate limits are the same
# for every plant (est.): bell speed 10 krpm per body (turbine run-up between bodies), booth
# set-point offsets 0.5 K and 5 %RH per body (HVAC set-point ramps), oven set-point 5 K per body;
# flow, shaping air and voltage switch between bodies. High voltage is capped at 90 kV, the top of
# the range tested on bells (60–90 kV [IMECE97]; 100 kV is the generator maximum [SK]), as
# paint_v1_sources.md §3.3 recommends. (name, unit, low, high, rate per body)
_STATION = (
    ("flow", "mL/min", 50.0, 600.0, math.inf),
    ("bell_speed", "krpm", 15.0, 70.0, 10.0),
    ("shaping_air", "NL/min", 100.0, 600.0, math.inf),
    ("voltage", "kV", 30.0, 90.0, math.inf),
)
_LINE = (
    ("booth_temp_offset", "K", -4.0, 4.0, 0.5),
    ("booth_rh_offset", "%RH", -40.0, 25.0, 5.0),
    ("oven_setpoint", "degC", 120.0, 180.0, 5.0),
)
_ACTUATOR_ROWS: tuple[tuple[str, str, float, float, float], ...] = (
    *(
        (f"{layer}_{name}", unit, lo, hi, rate)
        for layer in LAYERS
        for name, unit, lo, hi, rate in _STATION
    ),
    *_LINE,
)
STATION = Layout("station", [Field(name, unit, lo, hi) for name, unit, lo, hi, _ in _STATION])
AS = STATION.at
STATION_STRIDE = len(STATION)
ACTUATORS = Layout("actuator", [Field(n, u, lo, hi) for n, u, lo, hi, _ in _ACTUATOR_ROWS])
A = ACTUATORS.at
N_ACT = len(ACTUATORS)
N_STATION_ACT = N_LAYERS * STATION_STRIDE  # the bell stations' actuators come first
ACT_LO, ACT_HI = ACTUATORS.low, ACTUATORS.high
ACT_RATE = np.array([row[4] for row in _ACTUATOR_ROWS])

STATE = Layout(
    "state",
    [
        Field("body", "bodies", doc="bodies painted since reset (= index of the next body)"),
        Field("style", doc="style of the body painted last"),
        Field("next_style", doc="style of the next body (known: mixed-model line)"),
        Field("tod", "h", doc="time of day of the next body"),
        Field("cos", doc="cos of the daily phase 2π(tod − peak)/24 (rotated per body)"),
        Field("sin", doc="sin of the daily phase"),
        Field("t_out", "degC"),
        Field("rh_out", "%RH"),
        Field("t_booth", "degC"),
        Field("rh_booth", "%RH"),
        Field("psat_out", "kPa", doc="at outdoor temperature"),
        Field("pv_out", "kPa", doc="outdoor water vapour pressure"),
        Field("psat_booth", "kPa", doc="at booth temperature"),
        Field("pv_booth", "kPa", doc="water vapour pressure of the booth air"),
        Field("t_sp_del", "degC", doc="booth set-point on its way through the HVAC (delay)"),
        Field("rh_sp_del", "%RH"),
        Field("oven_t", "degC", doc="oven air temperature"),
        Field("dt_out", "K", doc="drift: outdoor temperature deviation"),
        Field("drh_out", "%RH", doc="drift: outdoor RH deviation"),
        Field("wear", doc="drift: bell-wear multiplier of d32"),
        Field("water_res", doc="residual water share of the base film when the clear goes on"),
        Field("rate_amb", "um/min", doc="ambient flash rate of the base"),
        Field("alpha", doc="heavy-section cure index"),
        Field("overbake_min", "min", doc="thin-section minutes above the over-bake temperature"),
        Field("ramp_rel", doc="oven heat-up ramp relative to the recipe's"),
        Field("e_hvac", "kWh"),
        Field("e_oven", "kWh"),
        Field("sag", doc="risks of the body, layers combined"),
        Field("op"),
        Field("dry"),
        Field("pop"),
        Field("under"),
        Field("over"),
        Field("hv", doc="electrostatic side-effect risk of the body, layers combined"),
        Field("cost", "EUR", doc="summed over the shift"),
        Field("act", size=N_ACT, doc="actuator actuals (ACTUATORS order)"),
        Field("layers", size=N_LAYERS * LAYER_STRIDE, doc="LAYER_STATE per layer"),
    ],
)
X = STATE.at
N_STATE = len(STATE)

# ---------------------------------------------------------------- derived (per-plant constants)
DERIVED = Layout(
    "derived",
    [
        Field("dt", "s", doc="cycle time"),
        Field("tc_min", "min"),
        Field("tc_h", "h"),
        Field("e_booth", doc="booth lag factor per body"),
        Field("e_oven", doc="oven-air lag factor per body"),
        Field("pv_out", "kPa", doc="outdoor vapour pressure from the dew point"),
        Field("te_draft", doc="down-draft factor of TE"),
        Field("t_amb_min", "min"),
        Field("t_heat_min", "min"),
        Field("dwell_min", "min"),
        Field("flash_gain", doc="(τ/t)(1 − e^{−t/τ}): mean panel lag over the heated flash"),
        Field("flash_body", doc="share of the flash temperature rise the body takes up"),
        Field("km_rate", doc="µm/min per (kPa / K) of the ambient flash"),
        Field("rate_amb_nom", "um/min", doc="ambient flash rate, reference climate"),
        Field("inv_ramp_nom", "1/K", doc="1 / the reference oven ramp (physics.RAMP_REF_K)"),
        Field("hvac_k", doc="kWh per kJ/kg of fresh-air enthalpy change, per body"),
        Field("fan_kwh", "kWh"),
        Field("oven_loss_kwh_k", "kWh/K"),
        Field("flash_loss_kwh_k", "kWh/K"),
        Field("cos_step", doc="rotation of the daily phase per body"),
        Field("sin_step"),
        # constants folded once so the step multiplies instead of dividing (≈ 1.5 ns per division)
        Field("ln_nref"),
        Field("ln_qref"),
        Field("inv_uc"),
        Field("inv_dc"),
        Field("inv_tvref"),
        Field("inv_rate_nom"),
        Field("phi_factor", doc="1/φ_crit − 1: solvent per solids at the end of the constant rate"),
        Field("inv_sag_w"),
        Field("inv_op_w"),
        Field("inv_dry_w"),
        Field("inv_pop_w"),
        Field("inv_target_clear"),
        Field("style_cum", size=N_STYLES, doc="cumulative style probabilities"),
        Field("inv_area", size=N_STYLES, doc="per style"),
        Field("heat_kwh_k", "kWh/K", size=N_STYLES, doc="body + skid heat per K, per style"),
        Field("ln_dose_min", doc="ln of the cure dose −ln(1 − α_min) that cure_alpha_min needs"),
        Field("t_on", "min", size=N_LAYERS, doc="per layer: spray-on time"),
        Field("d32_nom", "um", size=N_LAYERS, doc="d32 at recipe, nominal, sedan"),
        Field("drive_nom", "kPa", size=N_LAYERS, doc="in-flight drive, reference climate"),
        Field("ea_r", "K", size=N_LAYERS, doc="viscosity E_a/R"),
        Field("d32_b", size=N_LAYERS, doc="d32 = e^{ln} (B − A U) wear: B = d_ref/(1 − k_U)"),
        Field("d32_a", size=N_LAYERS, doc="A = d_ref k_U/(U_ref (1 − k_U))"),
        Field("inv_saopt", size=N_LAYERS),
        Field("evap_k", size=N_LAYERS, doc="e_ref d32_ref² / drive_nom"),
        Field("inv_op_d", size=N_LAYERS),
        Field("inv_tol", size=N_LAYERS),
        Field("recipe_q", "mL/min", size=N_LAYERS * N_STYLES, doc="per layer, then style"),
        Field("span", size=N_ACT, doc="adjust spans of the actuators (ACTUATORS order)"),
        # the cure fit (envs.paint.oven): ln(cure dose) vs oven air as a Chebyshev series of
        # degree 5 at the nominal entry temperature, and its entry-temperature slope (degree 3)
        Field("cheb", size=6, doc="ln(cure dose) vs oven air"),
        Field("cheb_slope", "1/K", size=4, doc="∂ln(dose)/∂T_entry vs oven air"),
    ],
)
D = DERIVED.at
N_DERIVED = len(DERIVED)

# ---------------------------------------------------------------- noise
# the step's process words (raw uint16, envs.core.noise): style of the body after next (two words
# for a uniform), flow and deposition scatter per layer, then per layer a lot-change event (two
# words) and the new lot's viscosity and solids normals
LOT_WORDS = Layout("lot_words", ["event_hi", "event_lo", "visc", "vs"])
WL = LOT_WORDS.at
LOT_WORDS_STRIDE = len(LOT_WORDS)
PROCESS_WORDS = Layout(
    "process_words",
    [
        Field("style_hi"),
        Field("style_lo"),
        Field("flow", size=N_LAYERS),
        Field("scatter", size=N_LAYERS),
        Field("lots", size=N_LAYERS * LOT_WORDS_STRIDE),
    ],
)
W = PROCESS_WORDS.at
N_PROCESS_WORDS = len(PROCESS_WORDS)
# standard normals of a shift start: the first body's style, per layer the lot's age, viscosity
# and solids
RESET_LOT = Layout("reset_lot", ["age", "visc", "vs"])
RL = RESET_LOT.at
RESET_LOT_STRIDE = len(RESET_LOT)
RESET_NOISE = Layout("reset_noise", [Field("style"), Field("lots", size=N_LAYERS * len(RESET_LOT))])
R = RESET_NOISE.at
N_RESET_NOISE = len(RESET_NOISE)

# ---------------------------------------------------------------- observation
# name, unit, low, high: the Box (identical for every variant); the env docstring's table
OBSERVATION = Layout(
    "observation",
    [
        Field("booth_temp", "degC", 0.0, 60.0),
        Field("booth_rh", "%RH", 0.0, 100.0),
        Field("outdoor_temp", "degC", -50.0, 60.0),
        Field("outdoor_rh", "%RH", 0.0, 100.0),
        *per_layer("paint_temp_{}", "degC", 0.0, 60.0),
        *per_layer("visc_{}", "s Zahn#4", 0.0, 150.0),
        *per_layer("dft_{}_measured", "um", 0.0, 200.0),
        Field("dft_measured_body_style", "code", 0.0, 2.0),
        *per_layer("wft_{}_inline", "um wet", 0.0, 500.0),
        Field("inline_wft_available", "0/1", 0.0, 1.0),
        *(Field(f"next_style_{style}", "0/1", 0.0, 1.0) for style in STYLES),
        *(Field(f.name, f.unit, 0.0, f.high) for f in ACTUATORS.fields[:N_STATION_ACT]),
        Field("booth_temp_setpoint", "degC", 0.0, 60.0),
        Field("booth_rh_setpoint", "%RH", 0.0, 100.0),
        Field("oven_setpoint", "degC", 0.0, 250.0),
        Field("oven_air_temp", "degC", 0.0, 250.0),
        *per_layer("bodies_since_lot_{}", "bodies", 0.0, 100000.0),
        Field("time_of_day", "h", 0.0, 24.0),
        Field("body_index", "bodies", 0.0, 1e6),
        *per_layer("dft_target_{}", "um", 0.0, 200.0),
    ],
)
O = OBSERVATION.at  # noqa: E741 - the observation's index tuple, as X is the state's
N_OBS = len(OBSERVATION)
OBS_LOW, OBS_HIGH = OBSERVATION.low, OBSERVATION.high

# ---------------------------------------------------------------- signals and sensors
# the sensor bank's signals, in bank order: the first ones are read straight into the observation
SIGNALS = Layout(
    "signal",
    [
        Field("booth_temp", "degC"),
        Field("booth_rh", "%RH"),
        Field("outdoor_temp", "degC"),
        Field("outdoor_rh", "%RH"),
        *per_layer("paint_temp_{}", "degC"),
        *per_layer("visc_{}_cup", "s Zahn#4"),
        *per_layer("dft_{}", "um"),
        Field("dft_body_style", "code", doc="style of the body the DFT gauge reads"),
        *per_layer("wft_{}", "um"),
    ],
)
SIG = SIGNALS.at
N_SIGNALS = len(SIGNALS)
N_CLIMATE_SIGNALS = SIG.dft_base  # booth, outdoor, paint temperatures and cup viscosities


def default_sensors(params: PaintLineParams) -> dict[str, SensorSpec]:
    """Sensor specs in :data:`SIGNALS` order (noise est.; DFT delay = dft_delay_bodies).

    The post-oven DFT gauge reads the body painted ``dft_delay_bodies`` steps earlier, and the
    style of that body travels with it through the same delay (the gauge knows the body it
    measures). The build control step must be the takt, ``params.cycle_time_s``.
    """
    delay = params.dft_delay_bodies * params.cycle_time_s
    dft = SensorSpec(noise_std=params.dft_noise_um, delay_s=delay, low=0.0, high=200.0)
    wft = SensorSpec(noise_std=params.wft_noise_um, low=0.0, high=500.0)
    specs = {
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
    assert tuple(specs) == SIGNALS.names  # the kernel writes signals by position
    return specs


# ---------------------------------------------------------------- drifts
# the drift bank's drifts, in bank order (the kernel reads drift values by position)
DRIFTS = Layout(
    "drift",
    [
        Field("outdoor_temp", "K", doc="deviation from the daily sinusoid (weather)"),
        Field("outdoor_rh", "%RH", doc="deviation from the dew-point RH"),
        *per_layer("paint_temp_{}", "K"),  # deviation from paint_temp_c
        *per_layer("visc_{}"),  # viscosity multiplier on top of the lot's (circulation loop)
        *per_layer("vs_{}"),  # volume-solids multiplier on top of the lot's (scenario drifts)
        Field("bell_wear", doc="multiplier of d32 (cup wear)"),
    ],
)
DR = DRIFTS.at
N_DRIFTS = len(DRIFTS)


def default_drifts(params: PaintLineParams) -> dict[str, DriftSpec]:
    """Drift-bank specs in :data:`DRIFTS` order, stepped once per body (rates per body).

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

    specs = {
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
    assert tuple(specs) == DRIFTS.names  # the kernel reads drift values by position
    return specs


# ---------------------------------------------------------------- KPIs
# per body (the product), written every step
PRODUCT_KPI = Layout(
    "product_kpi",
    [
        *per_layer("dft_{}_um", "um"),
        *per_layer("in_spec_{}", "0/1"),
        *per_layer("te_{}"),
        *per_layer("paint_{}_l", "L"),
        Field("paint_total_l", "L"),
        Field("energy_hvac_kwh", "kWh"),
        Field("energy_oven_kwh", "kWh"),
        Field("energy_kwh", "kWh"),
        Field("sag_risk"),
        Field("orange_peel_risk"),
        Field("dry_spray_risk"),
        Field("solvent_pop_risk"),
        Field("hv_side_effect_risk"),
        Field("cure_ok", "0/1"),
        Field("booth_temp_c", "degC"),
        Field("booth_rh_pct", "%RH"),
        Field("cost_eur", "EUR"),
        Field("body_style", "code"),
        *per_layer("d32_{}_um", "um"),
        Field("base_residual_water"),
        Field("cure_alpha_heavy"),
        Field("outdoor_temp_c", "degC"),
    ],
)
PK = PRODUCT_KPI.at
N_PRODUCT_KPI = len(PRODUCT_KPI)

# body KPIs whose shift mean the shift summary reports (the compiled step sums them)
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
    "hv_side_effect_risk",
    "cure_ok",
)
SHIFT_MEAN_COLS = np.array([PRODUCT_KPI.index(k) for k in SHIFT_MEAN_KPIS], dtype=np.int64)
N_SHIFT_MEANS = len(SHIFT_MEAN_KPIS)

# the shift's sums, kept by the compiled step while the shift runs
UNIT_ACC = Layout(
    "unit_acc",
    [
        Field("bodies"),
        Field("means", size=N_SHIFT_MEANS, doc="sums of the SHIFT_MEAN_KPIS"),
        Field("te", size=N_LAYERS, doc="sums of TE per layer"),
        Field("dft", size=2 * N_LAYERS, doc="per layer: sum and sum of squares of the DFT"),
    ],
)
AC = UNIT_ACC.at
N_ACC = len(UNIT_ACC)


def _unit_of(kpi: str) -> str:
    unit = PRODUCT_KPI.fields[PRODUCT_KPI.names.index(kpi)].unit
    return "-" if unit == "0/1" else unit  # a 0/1 flag's mean is a rate


def _shift_name(kpi: str) -> str:
    if kpi.endswith(("_l", "_kwh", "_eur")):
        return f"{kpi}_per_body"
    return kpi if kpi.endswith("_risk") else f"{kpi}_rate"


# the unit (a shift): its KPIs when it ends
UNIT_KPI = Layout(
    "unit_kpi",
    [
        Field("bodies", "bodies"),
        *(
            Field(_shift_name(k), PRODUCT_KPI.fields[PRODUCT_KPI.index(k)].unit)
            for k in SHIFT_MEAN_KPIS
        ),
        *per_layer("te_{}"),
        *(
            f
            for layer in LAYERS
            for f in (
                Field(f"dft_{layer}_mean_um", "um"),
                Field(f"dft_{layer}_sd_um", "um"),
                Field(f"cpk_{layer}"),
            )
        ),
    ],
)
UK = UNIT_KPI.at
N_UNIT_KPI = len(UNIT_KPI)
SHIFT_KPI_NAMES = UNIT_KPI.names

# what the line is controlled to: each layer's true DFT on every body, against target ± tolerance
CONTROLLED = tuple(
    ControlledVariable(
        "product_kpi",
        f"dft_{layer}_um",
        f"{layer}_dft_target_um",
        f"{layer}_dft_tol_um",
        f"{layer} DFT [µm]",
    )
    for layer in LAYERS
)
STEP_LABEL = "body"
