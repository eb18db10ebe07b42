"""Oven and cure of the paint line [B5]: cure dose, its per-plant Chebyshev fit, over-bake time.

The oven air follows its set-point with a lag of a few bodies (:func:`envs.paint.physics.climate`);
each body's object temperature is a first-order lag toward the oven air over the dwell (thin
panels and heavy sills). The cure dose ``∫ k(T_obj) dt`` is integrated by 5-point
Gauss–Legendre on the heavy section (closed-form T_obj), ``α = 1 − e^{−dose}``, with k from
``α_ref`` after ``cure_ref_min`` at ``cure_ref_c``; over-bake is the thin section's closed-form
time above ``overbake_temp_c``.

Speed: when a plant is derived, ln(dose) is fitted as a Chebyshev series in the oven air over
the set-point range (degree 5) plus a first-order term in the entry temperature (degree 3); a
step evaluates the series instead of five exponentials (α to 2e-4 of the quadrature, tested) and
keeps the per-plant constants small (they stream from memory for every plant of a batch).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from envs.core.layout import Layout
from envs.paint.layout import DERIVED, D, P, X
from envs.paint.physics import KELVIN, R_GAS

__all__ = ["chebyshev_fit", "cure_alpha", "cure_ln_dose", "oven_cure", "time_above_min"]


def _size(layout: Layout, name: str) -> int:
    return layout.fields[layout.names.index(name)].size


# Gauss–Legendre nodes and weights on [−1, 1] (5 points: exact for degree-9 polynomials; the cure
# integrand is smooth, the error against a 4000-step trapezoid is < 0.1 % at recipe, tested)
GL_X = (-0.9061798459386640, -0.5384693101056831, 0.0, 0.5384693101056831, 0.9061798459386640)
GL_W = (
    0.2369268850561891,
    0.4786286704993665,
    0.5688888888888889,
    0.4786286704993665,
    0.2369268850561891,
)
N_GL = len(GL_X)
CURE_T_MID, CURE_T_HALF = 150.0, 35.0  # the fit covers 115–185 °C oven air
N_CHEB, N_CHEB_SLOPE = _size(DERIVED, "cheb"), _size(DERIVED, "cheb_slope")


@njit(cache=True, error_model="numpy")
def time_above_min(t_air: float, t_in: float, t_lim: float, tau: float, dwell: float) -> float:
    """Minutes a first-order object (τ) heated from t_in toward t_air spends above t_lim."""
    if t_air <= t_lim:
        return 0.0
    if t_in >= t_lim:
        return dwell
    return max(dwell - tau * math.log((t_air - t_in) / (t_air - t_lim)), 0.0)


@njit(cache=True, error_model="numpy")
def cure_ln_dose(p: np.ndarray, dwell_min: float, t_air: float, t_in: float) -> float:
    """ln of the heavy-section cure dose after the dwell, oven air ``t_air``, entry ``t_in``.

    ``dose = k_ref ∫ exp(−E/R (1/T_obj − 1/T_ref)) dt`` with ``T_obj = T_air − (T_air − T_in)
    e^{−t/τ_heavy}`` [B5]; 5-point Gauss–Legendre over the dwell; ``α = 1 − e^{−dose}``, and
    k_ref from α = cure_alpha_ref after cure_ref_min at cure_ref_c.
    """
    e_r = p[P.cure_ea_kj_mol] * 1000.0 / R_GAS
    inv_ref = 1.0 / (p[P.cure_ref_c] + KELVIN)
    acc = 0.0
    for i in range(N_GL):
        t_i = 0.5 * dwell_min * (GL_X[i] + 1.0)
        t_obj = t_air - (t_air - t_in) * math.exp(-t_i / p[P.tau_obj_heavy_min])
        acc += 0.5 * dwell_min * GL_W[i] * math.exp(-e_r * (1.0 / (t_obj + KELVIN) - inv_ref))
    k_ref = -math.log(1.0 - p[P.cure_alpha_ref]) / p[P.cure_ref_min]
    return math.log(k_ref * acc)


@njit(cache=True, error_model="numpy")
def cure_alpha(p: np.ndarray, dwell_min: float, t_air: float, t_in: float) -> float:
    """Heavy-section cure index α = 1 − e^{−dose} (direct quadrature, see cure_ln_dose)."""
    return -math.expm1(-math.exp(cure_ln_dose(p, dwell_min, t_air, t_in)))


@njit(cache=True, error_model="numpy")
def chebyshev_fit(p: np.ndarray, d: np.ndarray) -> None:
    """Chebyshev interpolants (at Chebyshev nodes) of ln dose and its entry-temperature slope."""
    dwell, t_nom = d[D.dwell_min], p[P.booth_temp_c]
    for k in range(N_CHEB):
        d[D.cheb + k] = 0.0
    for k in range(N_CHEB_SLOPE):
        d[D.cheb_slope + k] = 0.0
    for m, off in ((N_CHEB, D.cheb), (N_CHEB_SLOPE, D.cheb_slope)):
        for j in range(m):
            theta = math.pi * (j + 0.5) / m
            t_air = CURE_T_MID + CURE_T_HALF * math.cos(theta)
            if off == D.cheb:
                f = cure_ln_dose(p, dwell, t_air, t_nom)
            else:
                up = cure_ln_dose(p, dwell, t_air, t_nom + 1.0)
                f = 0.5 * (up - cure_ln_dose(p, dwell, t_air, t_nom - 1.0))
            for k in range(m):
                weight = 1.0 if k == 0 else 2.0
                d[off + k] += weight / m * f * math.cos(k * theta)


@njit(cache=True, error_model="numpy", inline="always")
def _clenshaw(d: np.ndarray, off: int, m: int, u: float) -> float:
    """Σ c_k T_k(u) for the m coefficients at d[off:]."""
    b1, b2 = 0.0, 0.0
    for k in range(m - 1, 0, -1):
        b1, b2 = d[off + k] + 2.0 * u * b1 - b2, b1
    return d[off] + u * b1 - b2


@njit(cache=True, error_model="numpy", inline="always")
def oven_cure(p: np.ndarray, d: np.ndarray, x: np.ndarray) -> None:
    """Heavy-section cure index (the plant's Chebyshev fit, linear in the entry temperature),
    thin-section time above the over-bake temperature (closed form), heat-up ramp."""
    t_air, t_in = x[X.oven_t], x[X.t_booth]
    u = min(max((t_air - CURE_T_MID) * (1.0 / CURE_T_HALF), -1.0), 1.0)
    ln_dose = _clenshaw(d, D.cheb, N_CHEB, u)
    ln_dose += (t_in - p[P.booth_temp_c]) * _clenshaw(d, D.cheb_slope, N_CHEB_SLOPE, u)
    x[X.alpha] = -math.expm1(-math.exp(ln_dose))
    t_lim, tau = p[P.overbake_temp_c], p[P.tau_obj_thin_min]
    x[X.overbake_min] = time_above_min(t_air, t_in, t_lim, tau, d[D.dwell_min])
    x[X.ramp_rel] = (t_air - t_in) * d[D.inv_ramp_nom]
