"""The BOF plant's step: actions → physics → sensors → observation → reward → KPIs, over a batch.

The physics of one plant is :mod:`envs.steel.physics`; this module runs it for a bundle of plants
(:class:`envs.core.bundle.Plants`, built by :class:`envs.steel.batch.BOFBatch`), one control step
at a time, with the actuator mapping of :mod:`envs.core.actions` and the sensor bank of
:mod:`envs.core.sensors`. Kernels:

| kernel | does |
| --- | --- |
| :func:`step_cost`, :func:`endpoint_cost`, :func:`heat_kpis` | reward terms; a heat's KPIs |
| :func:`plant_step` | one plant: actuators, physics, running cost, end of blow and its scoring |
| :func:`step_batch` | one control step of every active plant: plant, sensors, observation, reward |
| :func:`reset_batch` | charge a new heat into some plants (drift reset, parameters, observation) |
| :func:`advance_drifts` | campaign drifts one heat on, before the next heat is charged |
| :func:`derive_batch`, :func:`truth_batch` | per-plant constants; the true state for infos |
| :func:`heat_kpi_columns` | heat KPIs and hit flags of the ended heats (vector-env infos) |

Randomness never enters here: the batch draws the heat-level normals and the sensor noise words
with its ``np.random.Generator`` and passes them in (DESIGN.md, "Process core").
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
from numba import njit

from envs.core.actions import rate_limited, setpoint
from envs.core.disturbances import drift_bank_reset
from envs.core.jit import active_block, copy_row, hot_loop
from envs.core.sensors import sensor_bank_advance, sensor_bank_reset
from envs.core.steps import drifts_of_block, sensors_of_block
from envs.steel.layout import (
    HIT_BANDS_C,
    HIT_BANDS_T,
    HIT_FLAG_NAMES,
    SIGNALS,
    UNIT_KPI,
    A,
    D,
    K,
    O,
    P,
    S,
    X,
)
from envs.steel.physics import (
    END_SPAN_SHARE,
    KELVIN,
    M_FE,
    M_FEO,
    MAX_BLOW_MIN,
    MAX_O2_FACTOR,
    N_ACT,
    bath_mass,
    derive,
    end_fraction,
    init_heat,
    iron_in_slag,
    physics_step,
    practice_setpoints,
    slag_mass,
    truth,
)

__all__ = [
    "BLOCK",
    "StepScratch",
    "advance_drifts",
    "derive_batch",
    "heat_kpi_columns",
    "heat_kpi_table",
    "hit_flags",
    "kpi_dict",
    "plant_phase",
    "plant_step",
    "reset_batch",
    "step_batch",
    "step_scratch",
    "truth_batch",
]

N_SIGNALS = len(SIGNALS)
BLOCK = 128  # plants per block of the step: their rows stay in cache from the plant to the sensors
ABANDON_C_PCT = 0.4  # wt%: a blow ended above this carbon was abandoned, not tapped


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
def observe_events(x: np.ndarray, lo: np.ndarray, hi: np.ndarray, obs: np.ndarray) -> None:
    """Entries that change only at events: the sub-lance reading and the last tap."""
    _put(obs, O.sublance_taken, x[X.sublance_done], lo, hi)
    _put(obs, O.sublance_c, x[X.sublance_c], lo, hi)
    _put(obs, O.sublance_temp, x[X.sublance_temp], lo, hi)
    _put(obs, O.last_tap_valid, x[X.tap_valid], lo, hi)
    _put(obs, O.last_tap_c, x[X.tap_c], lo, hi)
    _put(obs, O.last_tap_temp, x[X.tap_temp], lo, hi)
    _put(obs, O.last_tap_p, x[X.tap_p], lo, hi)


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


# ---------------------------------------------------------------- reward and heat KPIs
@njit(cache=True, error_model="numpy", inline="always")
def step_cost(
    p: np.ndarray, x: np.ndarray, dv: float, d_ore: float, d_lime: float, dt_s: float
) -> float:
    """Running cost of one step (EUR): materials, iron oxidised, slopping and over-temperature.

    Safety terms are priced per minute of violation at the miss cost, bounded (foam 1 unit
    above the limit, 50 K over temperature saturate) so ``worst_step_cost`` is a true bound.
    """
    fe_now = iron_in_slag(x)
    fe_cost = (fe_now - x[X.fe_loss_prev]) * p[P.price_fe_eur_kg]
    x[X.fe_loss_prev] = fe_now
    slop = min(max(x[X.foam] - p[P.foam_limit], 0.0), 1.0)
    overt = min(max(x[X.temp] - KELVIN - p[P.temp_limit_c], 0.0) / 50.0, 1.0)
    if slop > 0.0:
        x[X.slopped] = 1.0
    if overt > 0.0:
        x[X.over_temp] = 1.0
    return (
        dv * p[P.price_o2_eur_nm3]
        + d_ore * p[P.price_ore_eur_kg]
        + d_lime * p[P.price_lime_eur_kg]
        + fe_cost
        + (slop + overt) * p[P.miss_cost_eur] * dt_s / 60.0
    )


@njit(cache=True, error_model="numpy")
def steps_left(p: np.ndarray, d: np.ndarray, x: np.ndarray, max_steps: float) -> float:
    """Most steps the blow could still run: to the 1.5x-plan oxygen at *minimum* flow, or 35 min."""
    q_min_per_step = d[D.lo + A.oxygen_flow] * d[D.dt] / 60.0
    by_oxygen = math.ceil(max(MAX_O2_FACTOR * x[X.o2_plan] - x[X.o2_blown], 0.0) / q_min_per_step)
    return min(max_steps - x[X.step], by_oxygen)


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
    p_pct = 100.0 * x[X.p] / w
    cost = p[P.miss_cost_eur] * (
        huber((c_meas - p[P.aim_c_pct]) / 0.02)
        + huber((t_meas_c - p[P.aim_temp_c]) / 15.0)
        + max(p_pct - p[P.p_spec_pct], 0.0) / 0.005
    )
    if 100.0 * x[X.c] / w > ABANDON_C_PCT:
        cost += steps_left * worst_step
    return cost


@njit(cache=True, error_model="numpy")
def heat_kpis(p: np.ndarray, x: np.ndarray, c_meas: float, t_meas: float, out: np.ndarray) -> None:
    w, s, heat = bath_mass(x), slag_mass(x), p[P.heat_size_t]
    out[K.endpoint_c_pct], out[K.endpoint_temp_c], out[K.endpoint_p_pct] = (
        100 * x[X.c] / w,
        x[X.temp] - KELVIN,
        100 * x[X.p] / w,
    )
    out[K.slag_feo_pct], out[K.measured_c_pct], out[K.measured_temp_c] = (
        100 * x[X.feo] / s,
        c_meas,
        t_meas,
    )
    out[K.blow_time_min], out[K.oxygen_nm3_t], out[K.ore_kg_t] = (
        x[X.time],
        x[X.o2_blown] / heat,
        x[X.ore] / heat,
    )
    out[K.lime_kg_t], out[K.iron_loss_kg_t] = (
        x[X.lime] / heat,
        (iron_in_slag(x) - x[X.feo0] * M_FE / M_FEO) / heat,
    )
    out[K.heat_cost_eur], out[K.slopping], out[K.over_temperature] = (
        x[X.cost],
        x[X.slopped],
        x[X.over_temp],
    )
    out[K.endpoint_mn_pct], out[K.unmelted_scrap_t] = 100 * x[X.mn] / w, x[X.scrap] / 1000.0


# ---------------------------------------------------------------- the plant's own step
@njit(cache=True, error_model="numpy", inline="always")
def _setpoints(p, d, x, mode, action, practice, out):  # type: ignore[no-untyped-def]
    """Actual actuator values for an action (clipped to [-1, 1]), engineering units: the shared
    set-point rule and rate limit (:mod:`envs.core.actions`) around standard practice."""
    practice_setpoints(p, x, d[D.dt], practice)
    for j in range(N_ACT):
        span = d[D.span + j] if j != A.end_oxygen else END_SPAN_SHARE * x[X.o2_plan]
        target = setpoint(mode, action[j], practice[j], d[D.lo + j], d[D.hi + j], span)
        # oxygen flow and lance move at a limited rate; the feeds and the end target jump
        if j == A.oxygen_flow:
            prev = x[X.o2_flow]
        elif j == A.lance_height:
            prev = x[X.lance]
        else:
            prev = target
        out[j] = rate_limited(prev, target, d[D.rate + j])


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
        w = bath_mass(x)
        c_meas = max(0.0, 100.0 * x[X.c] / w + p[P.sublance_c_sd_pct] * x[X.z_end_c])
        t_meas = x[X.temp] - KELVIN + p[P.sublance_temp_sd_c] * x[X.z_end_temp]
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
                observe_events(x, lo_obs, hi_obs, obs[i])
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


# ---------------------------------------------------------------- KPIs of ended heats
_BANDS_C = np.array(HIT_BANDS_C)
_BANDS_T = np.array(HIT_BANDS_T)
N_KPI_COLUMNS = len(UNIT_KPI) + len(HIT_FLAG_NAMES)


@njit(cache=True)
def heat_kpi_columns(kpi, params, rows, out):  # type: ignore[no-untyped-def]
    """KPIs and hit flags (order: ``UNIT_KPI``, then ``HIT_FLAG_NAMES``) of the heats in ``rows``
    into the columns ``rows`` of ``out`` (one row per name); flags scored on the end-of-blow
    measurement against each plant's aims and P spec."""
    bands_c, bands_t = _BANDS_C, _BANDS_T
    n_kpi, n_c, n_t = kpi.shape[1], bands_c.shape[0], bands_t.shape[0]
    for i in rows:
        for j in range(n_kpi):
            out[j, i] = kpi[i, j]
        dc = abs(kpi[i, K.measured_c_pct] - params[i, P.aim_c_pct])
        dt = abs(kpi[i, K.measured_temp_c] - params[i, P.aim_temp_c])
        for b in range(n_c):
            out[n_kpi + b, i] = 1.0 if dc <= bands_c[b] else 0.0
        for b in range(n_t):
            out[n_kpi + n_c + b, i] = 1.0 if dt <= bands_t[b] else 0.0
        for b in range(n_c):
            both = dc <= bands_c[b] and dt <= bands_t[b]
            out[n_kpi + n_c + n_t + b, i] = 1.0 if both else 0.0
        in_spec = kpi[i, K.endpoint_p_pct] <= params[i, P.p_spec_pct]
        out[n_kpi + 2 * n_c + n_t, i] = 1.0 if in_spec else 0.0


def heat_kpi_table(kpi: np.ndarray, params: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(KPIs + flags, n) table: the KPIs and hit flags of the heats in ``rows``, NaN elsewhere."""
    out = np.full((N_KPI_COLUMNS, kpi.shape[0]), np.nan)
    heat_kpi_columns(kpi, params, np.asarray(rows, dtype=np.int64), out)
    return out


def hit_flags(kpi: np.ndarray, params: np.ndarray) -> dict[str, np.ndarray]:
    """Hit flags at the bands of docs/physics/bof.md §6 on the end-of-blow measurement, per row.

    ``kpi`` rows are ``UNIT_KPI`` values, ``params`` rows the plants' parameter arrays (aims and
    P spec are per plant).
    """
    kpi, params = np.atleast_2d(kpi), np.atleast_2d(params)
    table = heat_kpi_table(kpi, params, np.arange(kpi.shape[0]))
    return dict(zip(HIT_FLAG_NAMES, table[len(UNIT_KPI) :], strict=True))


def kpi_dict(row: np.ndarray, params: np.ndarray) -> dict[str, Any]:
    """Named KPIs of one ended heat, with hit flags at the docs/physics/bof.md §6 bands."""
    out = {name: float(v) for name, v in zip(UNIT_KPI.names, row, strict=True)}
    flags = hit_flags(row[None, :], params[None, :])
    out.update({k: float(v[0]) for k, v in flags.items()})
    return out
