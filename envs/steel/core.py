"""The BOF plant's step: actions → physics → sensors → observation → reward → KPIs, over a batch.

The physics of one plant is :mod:`envs.steel.physics`; this module runs it for a bundle of plants
(:class:`envs.core.bundle.Plants`, built by :class:`envs.steel.batch.BOFBatch`), one control step
at a time, with the actuator mapping of :mod:`envs.core.actions` and the sensor bank of
:mod:`envs.core.sensors`. Kernels:

| kernel | does |
| --- | --- |
| :func:`plant_step` | one plant: actuators, physics, running cost, end of blow and its scoring |
| :func:`step_batch` | one control step of every active plant: plant, sensors, observation, reward |
| :func:`reset_batch` | charge a new heat into some plants (drift reset, parameters, observation) |
| :func:`advance_drifts` | campaign drifts one heat on, before the next heat is charged |
| :func:`derive_batch`, :func:`truth_batch` | per-plant constants; the true state for infos |

The reward terms, a heat's KPIs and the hit flags live in :mod:`envs.steel.scoring` (re-exported
here for the batch).

Randomness never enters here: the batch draws the heat-level normals and the sensor noise words
with its ``np.random.Generator`` and passes them in (DESIGN.md, "Process core").
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from envs.core.actions import MODE_ADJUST, rate_limited, setpoint
from envs.core.disturbances import drift_bank_reset
from envs.core.jit import active_block, copy_row, hot_loop
from envs.core.sensors import sensor_bank_advance, sensor_bank_reset
from envs.core.steps import drifts_of_block, sensors_of_block
from envs.steel.layout import BAND_C, BAND_P, BAND_T, SIGNALS, A, D, O, P, S, X
from envs.steel.physics import (
    KELVIN,
    MAX_BLOW_MIN,
    MAX_O2_FACTOR,
    N_ACT,
    bath_mass,
    derive,
    end_fraction,
    init_heat,
    physics_step,
    practice_setpoints,
    truth,
)
from envs.steel.scoring import (
    endpoint_cost,
    heat_kpi_columns,
    heat_kpi_table,
    heat_kpis,
    hit_flags,
    hit_rate_ceiling,
    kpi_dict,
    offgrade_cost,
    step_cost,
    steps_left,
)

__all__ = [
    "BLOCK",
    "StepScratch",
    "advance_drifts",
    "coolant_action",
    "derive_batch",
    "end_action",
    "heat_kpi_columns",
    "heat_kpi_table",
    "hit_flags",
    "hit_rate_ceiling",
    "kpi_dict",
    "offgrade_cost",
    "plant_phase",
    "plant_step",
    "reset_batch",
    "step_batch",
    "step_scratch",
    "truth_batch",
]

FloatArray = npt.NDArray[np.float64]
N_SIGNALS = len(SIGNALS)
BLOCK = 128  # plants per block of the step: their rows stay in cache from the plant to the sensors

# ---- the action design of the adjust mode (BOF-v2: actions a learner can explore safely) ----
# End of blow. The end-oxygen target is a plant state the action steers, not a threshold re-set
# every step: it moves toward the commanded value by at most END_RATE_PER_MIN of the plan per
# minute, and before the sub-lance is taken it stays at or above the sub-lance point plus
# END_MARGIN of the plan. Why: a target re-set every step ends the blow at the first passage of
# the *lowest* noisy command (zero-mean noise σ 0.37 ended half the blows below 0.95 × plan),
# while a rate-limited target only wanders ≈ ±1 % of the plan under that noise (a first-passage
# simulation: end at 1.009 ± 0.005 × plan vs 1.005 ± 0.003 for the noiseless plan). The rate
# (6 %/min ≈ 1 % per 10-s step, about the blowing rate) still lets a controller that decides
# after the sub-lance reach any stop in the late blow: the tuned PID's stops lie within ±4.4 %
# of the plan, reached within 5 steps, while 0.85 → 1.0 × plan takes ≈ 15 steps.
END_SPAN = 0.15  # adjust span of the end-oxygen command: ±15 % of the plan
END_MARGIN = 0.05  # share of the plan the target keeps above the sub-lance point before it
END_RATE_PER_MIN = 0.06  # share of the plan the target may move per minute
# Dead band of the one-sided levers (the end command, and feeding where practice feeds nothing):
# |a| ≤ DEAD_BAND does nothing, DEAD_BAND → 1 spans the whole trim, so a deterministic policy
# reaches every value (a = ±(DEAD_BAND + (1 − DEAD_BAND)·g) for a trim share g) while Gaussian
# noise of σ 0.37 leaves only E[max(|a| − 0.5, 0)]/0.5 ≈ 3 % of the span on average.
DEAD_BAND = 0.5
# Feeders. Inside the practice window (ore 10–50 %, lime 0–30 % of the planned oxygen:
# physics.practice_setpoints) the action is a symmetric trim of the heat's total: a = ±1 held
# over the window adds or removes ±ORE/LIME_TRIM_KG_T, fed at the practice's pace, so zero-mean
# noise adds no material; only the part of an upward trim the plan cannot mirror (plan below
# the trim) goes through the dead band. After the sub-lance, ore is the dynamic-stage coolant
# (one-sided, dead band, up to the actuator span). Elsewhere the feeders are off.
ORE_WINDOW = (0.10, 0.50)  # share of the planned oxygen (physics.practice_setpoints)
LIME_WINDOW = (0.0, 0.30)
ORE_TRIM_KG_T = 10.0  # ≈ ±50 K of bath temperature (≈ 5 K per kg/t at 250 t)
LIME_TRIM_KG_T = 20.0  # ≈ ±40 % of the practice lime; the MPC oracle cut 14.5 kg/t


# ---------------------------------------------------------------- sensors and observation
@njit(cache=True, error_model="numpy", inline="always")
def true_signals(p: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    out[S.oxygen_flow] = x[X.o2_flow] / p[P.heat_size_t]
    out[S.lance_height] = x[X.lance]
    out[S.offgas_decarb_rate] = x[X.decarb_rate] / p[P.heat_size_t]
    out[S.offgas_pcr] = x[X.pcr]
    out[S.slag_foam] = x[X.foam]


@njit(cache=True, error_model="numpy", inline="always")
def _put(obs: np.ndarray, j: int, v: float, lo: np.ndarray, hi: np.ndarray) -> None:
    obs[j] = min(max(v, lo[j]), hi[j])


@njit(cache=True, error_model="numpy", inline="always")
def observe_dynamic(
    p: np.ndarray, x: np.ndarray, meas: np.ndarray, lo: np.ndarray, hi: np.ndarray, obs: np.ndarray
) -> None:
    """The observation entries that change every step (float32, clipped to the Box)."""
    heat = p[P.heat_size_t]
    _put(obs, O.blow_time, x[X.time], lo, hi)
    _put(obs, O.oxygen_blown, x[X.o2_blown] / heat, lo, hi)
    _put(obs, O.oxygen_flow, meas[S.oxygen_flow], lo, hi)
    _put(obs, O.lance_height, meas[S.lance_height], lo, hi)
    _put(obs, O.offgas_decarb_rate, meas[S.offgas_decarb_rate], lo, hi)
    _put(obs, O.offgas_pcr, meas[S.offgas_pcr], lo, hi)
    _put(obs, O.slag_foam_index, meas[S.slag_foam], lo, hi)
    _put(obs, O.ore_added, x[X.ore] / heat, lo, hi)
    _put(obs, O.lime_added, x[X.lime] / heat, lo, hi)
    _put(obs, O.oxygen_end_target, x[X.o2_end] / heat, lo, hi)


@njit(cache=True, error_model="numpy", inline="always")
def observe_events(
    p: np.ndarray, x: np.ndarray, lo: np.ndarray, hi: np.ndarray, obs: np.ndarray
) -> None:
    """Entries that change only at events: the sub-lance reading and the last tap, each as its
    deviation from the aim in band units (``BAND_C``, ``BAND_T``, ``BAND_P``) and 0 while its
    flag is 0, so a running normaliser keeps a band at the scale of the readings' spread."""
    sl, tap = x[X.sublance_done] > 0.0, x[X.tap_valid] > 0.0
    _put(obs, O.sublance_taken, x[X.sublance_done], lo, hi)
    dc = (x[X.sublance_c] - p[P.aim_c_pct]) / BAND_C if sl else 0.0
    dt = (x[X.sublance_temp] - p[P.aim_temp_c]) / BAND_T if sl else 0.0
    _put(obs, O.sublance_c_dev, dc, lo, hi)
    _put(obs, O.sublance_temp_dev, dt, lo, hi)
    _put(obs, O.last_tap_valid, x[X.tap_valid], lo, hi)
    dc = (x[X.tap_c] - p[P.aim_c_pct]) / BAND_C if tap else 0.0
    dt = (x[X.tap_temp] - p[P.aim_temp_c]) / BAND_T if tap else 0.0
    dp = (x[X.tap_p] - p[P.p_spec_pct]) / BAND_P if tap else 0.0
    _put(obs, O.last_tap_c_dev, dc, lo, hi)
    _put(obs, O.last_tap_temp_dev, dt, lo, hi)
    _put(obs, O.last_tap_p_dev, dp, lo, hi)


@njit(cache=True, error_model="numpy")
def observe(
    p: np.ndarray, x: np.ndarray, meas: np.ndarray, lo: np.ndarray, hi: np.ndarray, obs: np.ndarray
) -> None:
    """Whole observation row at a heat start: only what a shop measures.

    Charge analysis, heat size and plan are constant through a heat, so the step writes only the
    dynamic entries and, when they happen, the events (the obs buffer keeps the rest).
    """
    observe_dynamic(p, x, meas, lo, hi, obs)
    observe_events(p, x, lo, hi, obs)
    heat = p[P.heat_size_t]
    _put(obs, O.hm_c, x[X.hm_meas_c], lo, hi)
    _put(obs, O.hm_si, x[X.hm_meas_si], lo, hi)
    _put(obs, O.hm_mn, x[X.hm_meas_mn], lo, hi)
    _put(obs, O.hm_p, x[X.hm_meas_p], lo, hi)
    _put(obs, O.hm_temp, x[X.hm_meas_temp], lo, hi)
    _put(obs, O.hot_metal_ratio, x[X.hm_kg] / (x[X.hm_kg] + x[X.scrap_kg]), lo, hi)
    _put(obs, O.heat_size, heat, lo, hi)
    _put(obs, O.oxygen_planned, x[X.o2_plan] / heat, lo, hi)
    _put(obs, O.heat_in_campaign, x[X.heat_idx], lo, hi)


# ---------------------------------------------------------------- the plant's own step
@njit(cache=True, error_model="numpy", inline="always")
def dead_band(a: float) -> float:
    """Share of a one-sided lever's span for action ``a`` (clipped to [-1, 1]): 0 inside
    ±``DEAD_BAND``, then linear to ±1."""
    a = min(max(a, -1.0), 1.0)
    m = max(abs(a) - DEAD_BAND, 0.0) / (1.0 - DEAD_BAND)
    return m if a >= 0.0 else -m


@njit(cache=True, error_model="numpy", inline="always")
def _trim(a: float, plan_kg: float, trim_kg: float, pace: float) -> float:
    """Feed-rate trim (kg/min) in a practice window: a trim of the heat's total fed at ``pace``
    (the window's share per minute), symmetric as far as the plan allows (``min(trim, plan)``),
    the rest of an upward trim through the dead band. Exactly 0 for a = 0, so that the zero
    action feeds the practice's own rate bit for bit."""
    a = min(max(a, -1.0), 1.0)
    sym = min(trim_kg, plan_kg)
    extra = (trim_kg - sym) * max(dead_band(a), 0.0)
    return (a * sym + extra) * pace


def end_action(target: FloatArray, plan: FloatArray) -> FloatArray:
    """The adjust-mode end action whose command is ``target`` (Nm³, for a plan of ``plan``
    Nm³): the inverse of the dead band, clipped to [-1, 1]; 0 for the plan itself. Controllers
    that compute an end-oxygen target (PID, planners) call it instead of re-deriving the map."""
    g = (np.asarray(target, float) / np.asarray(plan, float) - 1.0) / END_SPAN
    a = np.sign(g) * (DEAD_BAND + (1.0 - DEAD_BAND) * np.minimum(np.abs(g), 1.0))
    return np.where(g == 0.0, 0.0, a)


def coolant_action(feed: FloatArray, span: FloatArray) -> FloatArray:
    """The adjust-mode ore action that feeds ``feed`` kg/min of coolant after the sub-lance
    (``span``: the ore actuator's adjust span, kg/min): 0 for no feed, else past the dead band."""
    share = np.clip(np.asarray(feed, float) / np.asarray(span, float), 0.0, 1.0)
    return np.where(share > 0.0, DEAD_BAND + (1.0 - DEAD_BAND) * share, 0.0)


@njit(cache=True, error_model="numpy", inline="always")
def _setpoints(p, d, x, mode, action, practice, out):  # type: ignore[no-untyped-def]
    """Actual actuator values for an action (clipped to [-1, 1]), engineering units.

    Oxygen flow and lance: the shared set-point rule and rate limit (:mod:`envs.core.actions`)
    around standard practice. Adjust mode: ore and lime are the trims of the module constants
    (symmetric around practice), the end target follows its command at a bounded rate and,
    before the sub-lance, keeps above the sub-lance point plus ``END_MARGIN`` (see the
    constants for why). Absolute mode: every set-point maps [-1, 1] to its limits; the end
    target's rate limit and floor hold there too (they are rules of the plant, not of the
    action scaling).
    """
    practice_setpoints(p, x, d[D.dt], practice)
    for j in range(A.ore_feed):  # oxygen flow and lance height: rate-limited set-points
        target = setpoint(mode, action[j], practice[j], d[D.lo + j], d[D.hi + j], d[D.span + j])
        prev = x[X.o2_flow] if j == A.oxygen_flow else x[X.lance]
        out[j] = rate_limited(prev, target, d[D.rate + j])
    plan, heat = x[X.o2_plan], p[P.heat_size_t]
    frac = x[X.o2_blown] / plan
    sublance = x[X.sublance_done] > 0.0
    if mode == MODE_ADJUST:
        q = x[X.o2_flow] if x[X.o2_flow] > 0.0 else practice[A.oxygen_flow]
        ore, lime = 0.0, 0.0
        if ORE_WINDOW[0] <= frac < ORE_WINDOW[1]:
            pace = q / ((ORE_WINDOW[1] - ORE_WINDOW[0]) * plan)
            trim = _trim(action[A.ore_feed], x[X.ore_plan], ORE_TRIM_KG_T * heat, pace)
            ore = practice[A.ore_feed] + trim
        elif sublance:  # the dynamic stage's coolant: one-sided, dead band
            ore = d[D.span + A.ore_feed] * max(dead_band(action[A.ore_feed]), 0.0)
        if LIME_WINDOW[0] <= frac < LIME_WINDOW[1]:
            pace = q / ((LIME_WINDOW[1] - LIME_WINDOW[0]) * plan)
            trim = _trim(action[A.lime_feed], x[X.lime_plan], LIME_TRIM_KG_T * heat, pace)
            lime = practice[A.lime_feed] + trim
        out[A.ore_feed] = min(max(ore, d[D.lo + A.ore_feed]), d[D.hi + A.ore_feed])
        out[A.lime_feed] = min(max(lime, d[D.lo + A.lime_feed]), d[D.hi + A.lime_feed])
        command = plan * (1.0 + END_SPAN * dead_band(action[A.end_oxygen]))
    else:
        for j in (A.ore_feed, A.lime_feed):
            out[j] = setpoint(mode, action[j], practice[j], d[D.lo + j], d[D.hi + j], 0.0)
        j = A.end_oxygen
        command = setpoint(mode, action[j], practice[j], d[D.lo + j], d[D.hi + j], 0.0)
    lo_end, hi_end = d[D.lo + A.end_oxygen], d[D.hi + A.end_oxygen]
    command = min(max(command, lo_end), hi_end)
    target = rate_limited(x[X.o2_end], command, END_RATE_PER_MIN * plan * d[D.dt] / 60.0)
    if not sublance:  # no stop before the sub-lance reading (and a margin after it)
        target = max(target, (p[P.sublance_o2_frac] + END_MARGIN) * plan)
    out[A.end_oxygen] = target


@njit(cache=True, error_model="numpy", inline="always")
def _sublance(p: np.ndarray, x: np.ndarray) -> bool:
    """Take the in-blow sub-lance sample once the oxygen passes its share of the plan."""
    if x[X.sublance_done] == 0.0 and x[X.o2_blown] >= p[P.sublance_o2_frac] * x[X.o2_plan]:
        w = bath_mass(x)
        x[X.sublance_done] = 1.0
        x[X.sublance_c] = max(0.0, 100.0 * x[X.c] / w + p[P.sublance_c_sd_pct] * x[X.z_sublance_c])
        x[X.sublance_temp] = x[X.temp] - KELVIN + p[P.sublance_temp_sd_c] * x[X.z_sublance_temp]
        return True
    return False


@njit(cache=True, error_model="numpy", inline="always")
def plant_step(plants, i, action):  # type: ignore[no-untyped-def]
    """Plant ``i`` of the bundle one control step on under ``action`` (normalised): actuators,
    physics, running cost, end of blow and its scoring (KPIs into ``plants.unit_kpi[i]``).

    Returns ``(cost_eur, ended)``. The env's step, the MPC rollouts (:mod:`envs.steel.rollout`)
    and the benchmark's bare plant kernel (:mod:`envs.steel.profile`) all run this function.
    """
    p, d, x = plants.params[i], plants.derived[i], plants.state[i]
    practice, act = plants.scratch.work[0], plants.scratch.work[1]
    dt_s, max_steps = plants.dt_s, plants.max_steps
    _setpoints(p, d, x, plants.mode, action, practice, act)
    x[X.o2_end] = act[A.end_oxygen]
    v0, ore0, lime0 = x[X.o2_blown], x[X.ore], x[X.lime]
    # the last step of a blow runs only until the blown oxygen reaches the end target (or the
    # forced end at 1.5 x plan): the endpoint does not depend on the control step
    target = min(x[X.o2_end], MAX_O2_FACTOR * x[X.o2_plan])
    frac = end_fraction(x, act[A.oxygen_flow], dt_s, target)
    if frac > 0.0:
        physics_step(
            p,
            d,
            x,
            act[A.oxygen_flow],
            act[A.lance_height],
            act[A.ore_feed],
            act[A.lime_feed],
            dt_s * frac,
        )
    x[X.step] += 1.0
    cost = step_cost(p, x, x[X.o2_blown] - v0, x[X.ore] - ore0, x[X.lime] - lime0, dt_s * frac)
    ended = (
        frac < 1.0
        or x[X.o2_blown] >= x[X.o2_end]
        or x[X.o2_blown] >= MAX_O2_FACTOR * x[X.o2_plan]
        or x[X.time] >= MAX_BLOW_MIN
        or x[X.step] >= max_steps
    )
    if ended:
        # the tap is judged on the tap sample's lab C and an immersion thermocouple, each with
        # its own σ (BOFParams tap_*; the in-blow sub-lance keeps sublance_*)
        w = bath_mass(x)
        c_meas = max(0.0, 100.0 * x[X.c] / w + p[P.tap_c_sd_pct] * x[X.z_end_c])
        t_meas = x[X.temp] - KELVIN + p[P.tap_temp_sd_c] * x[X.z_end_temp]
        left = steps_left(p, d, x, max_steps)
        cost += endpoint_cost(p, x, c_meas, t_meas, left, d[D.worst_step_cost])
        x[X.cost] += cost
        heat_kpis(p, x, c_meas, t_meas, plants.unit_kpi[i])
        x[X.tap_valid], x[X.tap_c], x[X.tap_temp] = 1.0, c_meas, t_meas
        x[X.tap_p] = 100.0 * x[X.p] / w
    else:
        x[X.cost] += cost
    return cost, ended


@hot_loop
def plant_phase(plants, actions, idx, m, cost, ended):  # type: ignore[no-untyped-def]
    """The plant step of the block's plants ``idx[:m]``; cost (EUR) and end flag in ``cost[k]``,
    ``ended[k]``. This is the "kernel" the benchmark compares the rest of a step against
    (:func:`envs.steel.profile.plant_step_batch` runs it over every plant)."""
    for k in range(m):
        i = idx[k]
        c, e = plant_step(plants, i, actions[i])
        cost[k], ended[k] = c, e


class StepScratch(NamedTuple):
    """Work arrays of the step kernels (one block's worth; a compiled hot loop cannot allocate):
    the bundle's ``scratch``, made once per batch by :func:`step_scratch`."""

    idx: np.ndarray  # int64 (BLOCK,): plants of the block
    cost: np.ndarray  # (BLOCK,): their step cost, EUR
    ended: np.ndarray  # bool (BLOCK,): their blow ended
    work: np.ndarray  # (2, n_act): practice set-points and actuator values of one plant
    values: np.ndarray  # (n_signals, BLOCK): true signals, then readings


def step_scratch(n_plants: int) -> StepScratch:
    """The work arrays of the step kernels for a batch of ``n_plants``."""
    b = min(BLOCK, n_plants)
    return StepScratch(
        np.empty(b, dtype=np.int64),
        np.empty(b),
        np.empty(b, dtype=np.bool_),
        np.empty((2, N_ACT)),
        np.empty((N_SIGNALS, b)),
    )


# ---------------------------------------------------------------- batch kernels
@hot_loop
def step_batch(plants, actions, noise, active, out):  # type: ignore[no-untyped-def]
    """One control step for every active plant: plant step, sensors, observation, reward.

    ``noise`` holds one row of 16-bit noise words per *active* plant, in plant order. Inactive
    plants (``active[i]`` False: just reset by a next-step autoreset) are left as they are, with
    reward 0. ``plants.obs`` keeps each plant's observation (the step writes the entries that
    change); every row, inactive plants' included, is also copied to ``out.obs`` (the array a
    vector env returns; it may be ``plants.obs`` itself), while it is in cache.
    ``out.unit_end[i]`` is set when plant i's blow ended this step; its KPIs are in
    ``plants.unit_kpi[i]``. Rewards ``out.reward`` are ``−cost / 1000`` (kEUR). Returns the
    number of heats that ended.

    Blocks of :data:`BLOCK` plants go through the plant step (:func:`plant_phase`), then the
    sensors signal by signal (:func:`envs.core.sensors.sensor_bank_step_block`), then the
    sub-lance, observation and reward; each plant sees the same operations in the same order as
    in one loop, so the numbers are those of one loop. (The true state for the single env's
    info comes from :func:`truth_batch`, kept out of this loop.)
    """
    idx, cost, ended, _, values = plants.scratch
    params, state, obs = plants.params, plants.state, plants.obs
    lo_obs, hi_obs, obs_out = plants.obs_low, plants.obs_high, out.obs
    reward, heat_end = out.reward, out.unit_end
    # integers passed on as int64, never as literals: a literal argument would compile the
    # callee once more, specialised on its value (numba's literal dispatch)
    n, r0, n_ended, zero = state.shape[0], np.int64(0), 0, np.int64(0)
    for lo in range(0, n, BLOCK):
        hi = min(lo + BLOCK, n)
        for i in range(lo, hi):
            heat_end[i] = False
        m = active_block(active, lo, hi, idx, reward, obs, obs_out)
        plant_phase(plants, actions, idx, m, cost, ended)
        for k in range(m):
            i = idx[k]
            true_signals(params[i], state[i], values[:, k])
        sensors_of_block(plants, idx, m, noise, r0, zero, values)
        for k in range(m):
            i = idx[k]
            p, x = params[i], state[i]
            event = _sublance(p, x) or ended[k]
            observe_dynamic(p, x, values[:, k], lo_obs, hi_obs, obs[i])
            if event:
                observe_events(p, x, lo_obs, hi_obs, obs[i])
            copy_row(obs, obs_out, i)
            heat_end[i] = ended[k]
            n_ended += ended[k]
            reward[i] = -cost[k] / 1000.0
        r0 += m
    sensor_bank_advance(plants.sensor_state)
    return n_ended


@njit(cache=True, error_model="numpy")
def derive_batch(plants):  # type: ignore[no-untyped-def]
    """:func:`envs.steel.physics.derive` for every plant (its parameters and control step)."""
    for i in range(plants.params.shape[0]):
        derive(plants.params[i], plants.dt_s, plants.derived[i])


@njit(cache=True, error_model="numpy")
def truth_batch(state, out):  # type: ignore[no-untyped-def]
    """True values (``TRUTH`` layout) of every plant's ``state`` row into ``out`` (infos, plots;
    never observed). It takes the state, not the bundle: the single env calls it every step,
    and unboxing two arrays costs a tenth of unboxing the bundle."""
    for i in range(state.shape[0]):
        truth(state[i], out[i])


@njit(cache=True, error_model="numpy")
def advance_drifts(plants, idx, noise):  # type: ignore[no-untyped-def]
    """The campaign drifts of the plants ``idx`` one heat on (``noise``: one row of 16-bit words
    per plant of ``idx``), before their next heat is charged with :func:`reset_batch`."""
    values = np.empty((plants.drift_cfg.shape[0], idx.shape[0]))
    m, zero = idx.shape[0], np.int64(0)
    drifts_of_block(plants, idx, m, noise, zero, zero, values)
    for k in range(m):
        for j in range(values.shape[0]):
            plants.drift_values[idx[k], j] = values[j, k]


@njit(cache=True, error_model="numpy")
def reset_batch(plants, idx, z_heat, new_episode, new_params, true_out):  # type: ignore[no-untyped-def]
    """Charge a new heat into the plants of ``idx`` (heat-level normals ``z_heat[k]`` for idx[k],
    ``HEAT_NOISE`` layout); their true values go to ``true_out``.

    With ``new_params`` the heat's parameters are set anew, and the per-plant constants derived
    from them: the plant's ``base_params`` with the columns ``plants.drift_targets`` multiplied
    by its campaign drift values (no targets outside campaign mode). Without, the plant keeps its
    parameters and constants (a plant neither randomised nor drifting: they never change, and
    skipping the copy spares a reset most of its memory traffic). ``new_episode`` starts a new
    campaign: the drifts restart at their means, the state is cleared (no last tap) and the heat
    count restarts at 0.
    """
    params, state, targets = plants.params, plants.state, plants.drift_targets
    true_sig = np.empty(N_SIGNALS)
    for k in range(idx.shape[0]):
        i = idx[k]
        p, x = params[i], state[i]
        if new_episode and targets.shape[0] > 0:  # drifts act only across a campaign's heats
            drift_bank_reset(plants.drift_cfg, plants.drift_state[i], plants.drift_values[i])
        if new_params:
            for j in range(p.shape[0]):  # not p[:] = …: its shape check compiles for seconds
                p[j] = plants.base_params[i, j]
            for c in range(targets.shape[0]):
                p[targets[c]] *= plants.drift_values[i, c]
            derive(p, plants.dt_s, plants.derived[i])
        if new_episode:
            x[:] = 0.0
            plants.units_done[i] = 0
        x[X.heat_idx] = plants.units_done[i]
        init_heat(p, x, z_heat[k])
        true_signals(p, x, true_sig)
        sensor_bank_reset(plants.sensor_cfg, plants.sensor_state, i, true_sig)
        observe(p, x, true_sig, plants.obs_low, plants.obs_high, plants.obs[i])
        truth(x, true_out[i])
