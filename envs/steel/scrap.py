"""Scrap melting in the BOF bath: the speed of a scrap surface and the melt of a step.

Scrap is charged as plates of two size classes (light, heavy: ``scrap_heavy_share``,
``scrap_light_mm``, ``scrap_heavy_mm``). Each surface recedes at one front speed set by the
coupled heat and carbon balances at the surface (Mori & Nomura 1969 [V4]; Szekely, Chuang &
Hlinka 1972 [V5]; docs/physics/bof.md §3.7): melting, controlled by heat transfer over the
scrap's own liquidus, in a hot low-carbon bath; dissolution, controlled by carbon diffusion
into the scrap surface, in a cold high-carbon one. A plate melts from both faces, so a class is
gone after a finite time, not approached as a lag. Called by
:func:`envs.steel.physics.physics_step`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from envs.steel.layout import P, X

# Fe-C liquidus as the straight chord from pure iron (1538 degC) to the eutectic (4.3 wt% C,
# 1147 degC) of the Fe-C diagram (textbook data): 90.9 K per wt% C; the scrap's own liquidus and
# the liquidus carbon at bath temperature both read it
T_FE_MELT_C, LIQUIDUS_K_PER_PCT = 1538.0, (1538.0 - 1147.0) / 4.3
SCRAP_RHO_KG_M3 = 7400.0  # solid steel near its solidus (est.; 7850 at room temperature)


@njit(cache=True, error_model="numpy")
def liquidus_c(c_pct: float) -> float:
    """Liquidus temperature (degC) of an Fe-C alloy with ``c_pct`` wt% C (chord of the diagram)."""
    return T_FE_MELT_C - LIQUIDUS_K_PER_PCT * c_pct


@njit(cache=True, error_model="numpy")
def scrap_front_velocity(p: np.ndarray, temp_c: float, c_pct: float, melt_mj_kg: float) -> float:
    """Speed (m/s) at which a scrap surface recedes in a bath at ``temp_c`` (degC), ``c_pct`` wt% C.

    At the surface the heat flux from the bath melts the scrap, ``h (T − T_liq(C_i)) = ρ ΔH v``,
    and carbon diffusing in from the bath lowers the surface's melting point,
    ``k_m (C − C_i) = v (C_i − C_s)`` ([V4], [V5]): one front speed that is heat-transfer
    controlled (melting, the scrap's own liquidus) in a hot low-carbon bath and carbon-diffusion
    controlled (dissolution below the scrap's melting point) in a cold high-carbon one. Solved in
    closed form for the surface carbon C_i. A bath below its own liquidus would freeze a shell
    onto the scrap [V4], [V8]; the speed is floored at 0 (the shell is not modelled).
    """
    rho_dh = SCRAP_RHO_KG_M3 * melt_mj_kg * 1e6  # J/m3: heat to warm and melt the front
    a = p[P.scrap_htc_kw_m2k] * 1e3 * LIQUIDUS_K_PER_PCT / rho_dh  # m/s per wt% of C_i
    b = p[P.scrap_htc_kw_m2k] * 1e3 * (temp_c - liquidus_c(p[P.scrap_c_pct])) / rho_dh
    dc = c_pct - p[P.scrap_c_pct]
    if dc <= 0.0:
        return max(b, 0.0)
    km = p[P.scrap_km_mm_s] * 1e-3
    # u = C_i − C_s > 0 solves a u² + (b + k_m) u − k_m ΔC = 0 (the cancellation-free root)
    u = 2.0 * km * dc / ((b + km) + math.sqrt((b + km) ** 2 + 4.0 * a * km * dc))
    return max(b + a * u, 0.0)


@njit(cache=True, error_model="numpy")
def melt_scrap(p: np.ndarray, x: np.ndarray, temp_c: float, c_pct: float, dt_s: float) -> float:
    """Melt the scrap of the step (kg, into the bath): plates of two size classes, each losing
    thickness from both faces at the front speed, ``dm/dt = −2 m0 v / L0``, so a class is gone
    after a finite time (a first-order lag never ends)."""
    if x[X.scrap] == 0.0:  # all melted (both classes end at exactly 0): nothing to melt
        return 0.0
    v = scrap_front_velocity(p, temp_c, c_pct, x[X.scrap_melt_heat])
    heavy0 = x[X.scrap_kg] * p[P.scrap_heavy_share]
    light = x[X.scrap] - x[X.scrap_heavy]
    melt_heavy = min(x[X.scrap_heavy], 2.0 * heavy0 * v * dt_s / (p[P.scrap_heavy_mm] * 1e-3))
    melt_light = min(
        light, 2.0 * (x[X.scrap_kg] - heavy0) * v * dt_s / (p[P.scrap_light_mm] * 1e-3)
    )
    x[X.scrap_heavy] -= melt_heavy
    x[X.scrap] = x[X.scrap_heavy] + light - melt_light
    melt = melt_heavy + melt_light
    x[X.c] += melt * p[P.scrap_c_pct] / 100.0
    x[X.fe] += melt * (1.0 - p[P.scrap_c_pct] / 100.0)
    return melt
