"""Fit the operator's static charge-balance model to the nominal BOF plant and check the rules.

A shop's static model is a regression on its own heats; ours is fitted on the simulator's
nominal heat by bisection and finite differences, so that under standard practice the nominal
heat (exact analyses, no disturbance) ends at the carbon and temperature aims. Prints the fitted
``practice_*`` values (paste them into ``envs/steel/params.py`` or a plant YAML) and the
rule-of-thumb sensitivities of the envelope (docs/physics/bof.md §8, §9).

    python -m experiments.calibration.bof [--plant envs/conf/plant/bof_250t.yaml]
"""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np

from envs.core.params import load_variant
from envs.steel import BOFParams, run_practice_heat
from envs.steel.layout import HEAT_NOISE, Z


def end_c_t(params: BOFParams, z: np.ndarray | None = None, **kw: Any) -> tuple[float, float]:
    """End carbon (wt%) and temperature (degC) of a practice heat (``kw``: its perturbations)."""
    end = run_practice_heat(params, z, **kw).end
    return end["c_pct"], end["temp_c"]


def bisect(f, lo: float, hi: float, iters: int = 40) -> float:
    """Root of a monotone scalar function on [lo, hi]."""
    flo = f(lo)
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        fm = f(mid)
        if (fm > 0) == (flo > 0):
            lo, flo = mid, fm
        else:
            hi = mid
    return 0.5 * (lo + hi)


def fit_practice(params: BOFParams) -> BOFParams:
    """Alternate oxygen trim (end C) and ore base (end T) until both aims are met.

    Both are bisections: the ore moves the scrap melting and the stage-III FeO, so a linear
    step on the ore does not settle. The ore per K is the finite-difference slope at the fit.
    """
    for _ in range(8):
        current = params

        def carbon_miss(trim: float, current: BOFParams = current) -> float:
            return end_c_t(current.replace(practice_o2_trim=trim))[0] - current.aim_c_pct

        trim = bisect(carbon_miss, 0.8, 1.2)
        params = params.replace(practice_o2_trim=round(trim, 4))
        current = params

        def temp_miss(ore_t: float, current: BOFParams = current) -> float:
            return end_c_t(current.replace(practice_ore_base_kg_t=ore_t))[1] - current.aim_temp_c

        ore_t = 0.0 if temp_miss(0.0) <= 0.0 else bisect(temp_miss, 0.0, 60.0)
        d_ore = 1000.0
        ore = ore_t * params.heat_size_t
        k_per_kg = (end_c_t(params, ore_kg=ore)[1] - end_c_t(params, ore_kg=ore + d_ore)[1]) / d_ore
        params = params.replace(
            practice_ore_base_kg_t=round(ore_t, 3), practice_ore_per_k=round(1.0 / k_per_kg, 2)
        )
    return params


def sensitivities(params: BOFParams) -> dict[str, float]:
    """End-temperature response per unit change, ore held at the nominal plan (rules of thumb)."""
    ore = params.practice_ore_base_kg_t * params.heat_size_t
    base = end_c_t(params, ore_kg=ore)[1]
    z = np.zeros(len(HEAT_NOISE))
    out = {}
    # each rule moves the true hot-metal value and keeps its analysis exact (no analysis error)
    for name, true_z, analysis_z, sd, step in (
        ("t_per_si", Z.hm_si, Z.analysis_si, params.hm_si_sd_pct, 0.1),
        ("t_per_c", Z.hm_c, Z.analysis_c, params.hm_c_sd_pct, 0.1),
        ("t_per_hm_temp", Z.hm_temp, Z.analysis_temp, params.hm_temp_sd_c, 10.0),
    ):
        zz = z.copy()
        zz[true_z] = step / sd
        zz[analysis_z] = 0.0
        out[name] = (end_c_t(params, zz, ore_kg=ore)[1] - base) / step
    charge = params.hot_metal_t + params.scrap_t
    more_scrap = params.replace(
        scrap_t=params.scrap_t + 0.01 * charge, hot_metal_t=params.hot_metal_t - 0.01 * charge
    )
    out["t_per_scrap"] = end_c_t(more_scrap, ore_kg=ore)[1] - base
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plant", default=None, help="plant YAML (default: BOFParams defaults)")
    args = parser.parse_args()
    params = load_variant(args.plant, BOFParams).params if args.plant else BOFParams()
    assert isinstance(params, BOFParams)  # load_variant builds params of the class it is given
    fitted = fit_practice(params)
    sens = sensitivities(fitted)
    fitted = fitted.replace(**{f"practice_{k}": round(v, 2) for k, v in sens.items()})
    fitted = fit_practice(fitted)
    print("# fitted static model")
    for name in (
        "practice_o2_trim",
        "practice_ore_base_kg_t",
        "practice_ore_per_k",
        "practice_t_per_si",
        "practice_t_per_c",
        "practice_t_per_hm_temp",
        "practice_t_per_scrap",
    ):
        print(f"{name}: {getattr(fitted, name)}")
    end = run_practice_heat(fitted).end
    print(
        f"# nominal heat: C {end['c_pct']:.4f} %, T {end['temp_c']:.1f} degC, "
        f"O2 {end['oxygen_nm3_t']:.1f} Nm3/t, {end['time_min']:.1f} min"
    )
    print(
        f"# rules: +0.1 % Si -> {0.1 * sens['t_per_si']:+.1f} K, +1 % scrap -> "
        f"{sens['t_per_scrap']:+.1f} K"
    )


if __name__ == "__main__":
    main()
