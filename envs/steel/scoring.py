"""Reward and scoring of the BOF blow: running cost, the tapped heat's cost, KPIs, hit flags.

Split from :mod:`envs.steel.core` (which calls the kernels every step) so that the money and the
metallurgists' yardstick read in one place:

| function | does |
| --- | --- |
| :func:`step_cost` | running cost of one step (materials, iron to slag, safety) |
| :func:`endpoint_cost`, :func:`offgrade_cost` | the tapped heat's cost (misses, off-grade) |
| :func:`heat_kpis` | a heat's KPIs (``UNIT_KPI`` row) |
| :func:`heat_kpi_columns`, :func:`heat_kpi_table` | KPIs and hit flags of ended heats |
| :func:`hit_flags`, :func:`kpi_dict` | the same for rows or one heat, by name |
| :func:`hit_rate_ceiling` | hit rates of a perfect endpoint under the tap measurement's σ |

The tap is judged on the tap sample's lab analysis and an immersion thermocouple
(``BOFParams.tap_c_sd_pct``, ``tap_temp_sd_c``; docs/physics/bof_v2_sources.md §3.4), never on
the in-blow sub-lance; off-grade outcomes pay sourced-structure step costs (§4.3).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numba import njit

from envs.steel.layout import (
    BAND_C,
    BAND_P,
    BAND_T,
    HIT_BANDS_C,
    HIT_BANDS_T,
    HIT_FLAG_NAMES,
    UNIT_KPI,
    A,
    D,
    K,
    P,
    X,
)
from envs.steel.params import BOFParams
from envs.steel.physics import (
    KELVIN,
    M_FE,
    M_FEO,
    MAX_O2_FACTOR,
    bath_mass,
    iron_in_slag,
    slag_mass,
)

__all__ = [
    "ABANDON_C_PCT",
    "endpoint_cost",
    "heat_kpi_columns",
    "heat_kpi_table",
    "heat_kpis",
    "hit_flags",
    "hit_rate_ceiling",
    "huber",
    "kpi_dict",
    "offgrade_cost",
    "step_cost",
    "steps_left",
]

ABANDON_C_PCT = 0.4  # wt%: a blow ended above this carbon was abandoned, not tapped


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
def offgrade_cost(
    p: np.ndarray, c_meas: float, t_meas_c: float, p_pct: float, abandoned: bool
) -> float:
    """Step cost (EUR) of an off-grade tap, on top of the smooth miss terms.

    | outcome (tap measurement) | cost | why (docs/physics/bof_v2_sources.md §4.3) |
    | --- | --- | --- |
    | P over ``p_spec_pct`` | ``offgrade_p_eur_t`` × heat size | downgrade or dephos re-blow |
    | C above aim + 0.02 or T below aim − 15 K | ``reblow_eur`` | a re-blow |
    | C below aim − 0.02 or T above aim + 15 K | ``recarb_eur`` | recarburise or hold |

    An abandoned blow (not tapped) pays all three: no continuation can be charged more off-grade
    cost than abandoning, so the horizon term of :func:`endpoint_cost` stays a true bound.
    """
    cost = 0.0
    if p_pct > p[P.p_spec_pct] or abandoned:
        cost += p[P.offgrade_p_eur_t] * p[P.heat_size_t]
    aim_c, aim_t = p[P.aim_c_pct], p[P.aim_temp_c]
    if c_meas > aim_c + BAND_C or t_meas_c < aim_t - BAND_T or abandoned:
        cost += p[P.reblow_eur]
    if c_meas < aim_c - BAND_C or t_meas_c > aim_t + BAND_T or abandoned:
        cost += p[P.recarb_eur]
    return cost


@njit(cache=True, error_model="numpy")
def endpoint_cost(
    p: np.ndarray,
    x: np.ndarray,
    c_meas: float,
    t_meas_c: float,
    steps_left: float,
    worst_step: float,
) -> float:
    """Terminal cost (EUR) scored on the tap measurement (lab C, thermocouple T) and bath P.

    Huber in units of the ±0.02 wt% C and ±15 K bands (quadratic inside, linear outside), P
    above spec per 0.005 wt%, the off-grade step costs of :func:`offgrade_cost`, and a
    horizon-aware term: a blow ended with carbon still above ``ABANDON_C_PCT`` (stage-II carbon:
    clearly no tap) is an abandoned blow, charged at least the worst running cost of every step
    the blow could still have run (``steps_left``, to the earlier of the forced ends) and every
    off-grade step cost, so that ending early can never pay (DESIGN.md, reward design caution).
    Below that, a carbon miss costs its Huber term and its off-grade step like any miss.
    """
    w = bath_mass(x)
    p_pct = 100.0 * x[X.p] / w
    abandoned = 100.0 * x[X.c] / w > ABANDON_C_PCT
    cost = p[P.miss_cost_eur] * (
        huber((c_meas - p[P.aim_c_pct]) / BAND_C)
        + huber((t_meas_c - p[P.aim_temp_c]) / BAND_T)
        + max(p_pct - p[P.p_spec_pct], 0.0) / BAND_P
    )
    cost += offgrade_cost(p, c_meas, t_meas_c, p_pct, abandoned)
    if abandoned:
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
    abandoned = 100.0 * x[X.c] / w > ABANDON_C_PCT
    off = offgrade_cost(p, c_meas, t_meas, 100.0 * x[X.p] / w, abandoned) > 0.0
    out[K.offgrade] = 1.0 if off else 0.0


# ---------------------------------------------------------------- KPIs of ended heats
_BANDS_C = np.array(HIT_BANDS_C)
_BANDS_T = np.array(HIT_BANDS_T)
N_KPI_COLUMNS = len(UNIT_KPI) + len(HIT_FLAG_NAMES)


@njit(cache=True)
def heat_kpi_columns(kpi, params, rows, out):  # type: ignore[no-untyped-def]
    """KPIs and hit flags (order: ``UNIT_KPI``, then ``HIT_FLAG_NAMES``) of the heats in ``rows``
    into the columns ``rows`` of ``out`` (one row per name); flags scored on the
    tap measurement against each plant's aims and P spec."""
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
    """Hit flags at the bands of docs/physics/bof.md §6 on the tap measurement, per row.

    ``kpi`` rows are ``UNIT_KPI`` values, ``params`` rows the plants' parameter arrays (aims and
    P spec are per plant).
    """
    kpi, params = np.atleast_2d(kpi), np.atleast_2d(params)
    table = heat_kpi_table(kpi, params, np.arange(kpi.shape[0]))
    return dict(zip(HIT_FLAG_NAMES, table[len(UNIT_KPI) :], strict=True))


def hit_rate_ceiling(params: BOFParams) -> dict[str, float]:
    """Hit rates of a perfect endpoint (true C and T exactly on the aims), per hit flag.

    The tap is scored on its measurement (``tap_c_sd_pct``, ``tap_temp_sd_c``; normal errors,
    independent), so no controller can expect more than P(|N(0, σ²)| ≤ band) = erf(band /
    (σ√2)) per band, and the product for a double hit. P is scored on the bath (no measurement
    error): its ceiling is 1. Names as :data:`envs.steel.layout.HIT_FLAG_NAMES`.

    >>> ceiling = hit_rate_ceiling(BOFParams())
    >>> round(ceiling["double_hit_0.02_15"], 4), round(ceiling["double_hit_0.01_10"], 3)
    (0.9998, 0.975)
    """
    sd_c, sd_t = params.tap_c_sd_pct, params.tap_temp_sd_c
    if not (sd_c >= 0.0 and sd_t >= 0.0):
        raise ValueError(f"tap σ must be ≥ 0, got tap_c_sd_pct={sd_c}, tap_temp_sd_c={sd_t}")

    def within(band: float, sd: float) -> float:
        return math.erf(band / (sd * math.sqrt(2.0))) if sd > 0.0 else 1.0

    c = [within(b, sd_c) for b in HIT_BANDS_C]
    t = [within(b, sd_t) for b in HIT_BANDS_T]
    values = [*c, *t, *(pc * pt for pc, pt in zip(c, t, strict=True)), 1.0]
    return dict(zip(HIT_FLAG_NAMES, values, strict=True))


def kpi_dict(row: np.ndarray, params: np.ndarray) -> dict[str, Any]:
    """Named KPIs of one ended heat, with hit flags at the docs/physics/bof.md §6 bands."""
    out = {name: float(v) for name, v in zip(UNIT_KPI.names, row, strict=True)}
    flags = hit_flags(row[None, :], params[None, :])
    out.update({k: float(v[0]) for k, v in flags.items()})
    return out
