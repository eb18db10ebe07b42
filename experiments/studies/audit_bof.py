"""Audit of today's BOF model against the measurable targets of the BOF-v2 step (issue 12).

Issue 12 ("Plants v2", sections "BOF (BOF-v2)" and "Actions and observations a learner can
explore safely") sets targets the version step must meet. This audit measures the model as it is
— nothing here changes the plant — one table row per target: what is checked, the target
(quoted from the issue, with the operationalisation where the issue gives none), the value
measured now, PASS/FAIL and how it was measured. Re-running it after the v2 step checks the step.

    python -m experiments.studies.audit_bof [--quick] [--out PATH]

A full run writes ``results/bof/audit.md``; ``--quick`` (a smoke test on a few heats) prints the
table unless ``--out`` is given. Every draw is seeded: env heats use seeds ``SEED0…`` (disjoint
from the evaluation 100000…/200000…, exploration 300000… and tuning 500000… seeds), open-loop
heats of :func:`envs.steel.run_practice_heat` use heat-level normals from ``RNG_SEED``.
"""

from __future__ import annotations

import argparse
import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

import envs
from envs.steel import (
    BOFParams,
    HeatTrajectory,
    hit_rate_ceiling,
    offgrade_cost,
    run_practice_heat,
)
from envs.steel.layout import ACTUATORS, BAND_C, BAND_T, HEAT_NOISE, O, X, Z
from experiments.lib.machine_info import ROOT, machine_info
from experiments.lib.study_output import command_line, publish
from experiments.studies import exploration_noise

SEED0 = 600000  # env heats of this audit
RNG_SEED = 12  # heat-level normals of the open-loop (run_practice_heat) heats
DTS = (5.0, 10.0, 20.0)  # the documented control steps, s
EARLY_MIN = 5.0  # "early in the blow": blow time ≤ 5 min (Si period and the FeO turn)
FLIP_TOL = 0.01  # wt% FeO: smaller step changes are not counted as a direction


@dataclasses.dataclass(frozen=True)
class Row:
    check: str
    target: str
    value: str
    ok: bool | None  # None: not measured
    how: str


@dataclasses.dataclass
class Heats:
    """Env heats under the zero adjust action (the operator's practice), per control step."""

    kpi: dict[float, list[dict[str, float]]]  # final unit KPIs per heat
    feo: dict[float, list[tuple[np.ndarray, np.ndarray]]]  # (blow time min, true FeO %) per heat
    obs: np.ndarray  # every observation of the dt = 10 s heats (reset and steps)


def env_heats(n: int) -> Heats:
    """``n`` seeded nominal heats at every control step of ``DTS`` (same seeds: same charges)."""
    kpi: dict[float, list[dict[str, float]]] = {}
    feo: dict[float, list[tuple[np.ndarray, np.ndarray]]] = {}
    obs_rows: list[np.ndarray] = []
    zero = np.zeros(len(ACTUATORS), np.float32)
    for dt in DTS:
        env = envs.make("bof", scenario="nominal", dt_s=dt)
        kpi[dt], feo[dt] = [], []
        for seed in range(SEED0, SEED0 + n):
            obs, info = env.reset(seed=seed)
            t, f, rows, done = [obs[O.blow_time]], [info["truth"]["true_feo_pct"]], [obs], False
            while not done:
                obs, _, term, trunc, info = env.step(zero)
                t.append(obs[O.blow_time])
                f.append(info["truth"]["true_feo_pct"])
                rows.append(obs)
                done = term or trunc
            kpi[dt].append(dict(info["unit_kpi"]))
            feo[dt].append((np.array(t, float), np.array(f, float)))
            if dt == 10.0:
                obs_rows.extend(rows)
        env.close()
    return Heats(kpi, feo, np.array(obs_rows, float))


def heat_noise(n: int) -> np.ndarray:
    """Heat-level standard normals of ``n`` random open-loop heats (seeded)."""
    return np.random.default_rng(RNG_SEED).standard_normal((n, len(HEAT_NOISE)))


# ---------------------------------------------------------------- 1. endpoint vs control step
def check_endpoint_vs_step(h: Heats) -> Row:
    worst_c = worst_t = 0.0
    parts = []
    for i, a in enumerate(DTS):
        for b in DTS[i + 1 :]:
            dc = np.mean(
                [
                    abs(x["endpoint_c_pct"] - y["endpoint_c_pct"])
                    for x, y in zip(h.kpi[a], h.kpi[b], strict=True)
                ]
            )
            dt_ = np.mean(
                [
                    abs(x["endpoint_temp_c"] - y["endpoint_temp_c"])
                    for x, y in zip(h.kpi[a], h.kpi[b], strict=True)
                ]
            )
            worst_c, worst_t = max(worst_c, float(dc)), max(worst_t, float(dt_))
            parts.append(f"{a:g}/{b:g} s: {dc:.4f} wt%, {dt_:.1f} K")
    return Row(
        "1. Endpoint vs control step",
        '"over ≥ 40 random heats, 5 / 10 / 20 s steps give mean |ΔC| ≤ 0.003 wt% and |ΔT| ≤ 2 K '
        'between step sizes"',
        f"worst pair: mean |ΔC| {worst_c:.4f} wt%, |ΔT| {worst_t:.1f} K ({'; '.join(parts)})",
        worst_c <= 0.003 and worst_t <= 2.0,
        f"{len(h.kpi[10.0])} seeded nominal heats (seeds {SEED0}…), zero adjust action, env arg "
        "dt_s; true bath C and T at the end (unit_kpi endpoint_c_pct / endpoint_temp_c), mean "
        "over heats of the paired |difference|, per pair of step sizes",
    )


# ---------------------------------------------------------------- 2. FeO saw-tooth
def flips(t: np.ndarray, f: np.ndarray) -> tuple[int, float]:
    """Sign flips of the step-to-step FeO change with blow time ≤ EARLY_MIN, and the largest
    reversal (min of the two changes around a flip, wt% FeO)."""
    d = np.diff(f[t <= EARLY_MIN])
    d = d[np.abs(d) > FLIP_TOL]
    turn = d[1:] * d[:-1] < 0
    amp = np.minimum(np.abs(d[1:]), np.abs(d[:-1]))[turn]
    return int(turn.sum()), float(amp.max()) if amp.size else 0.0


def check_feo_sawtooth(h: Heats, z: np.ndarray) -> Row:
    ref = [
        flips(tr["time_min"], tr["feo_pct"])
        for tr in (run_practice_heat(None, zz, dt_s=1.0) for zz in z)
    ]
    ref_max = max(n for n, _ in ref)
    parts, ok = [], True
    for dt in DTS:
        res = [flips(t, f) for t, f in h.feo[dt]]
        n = np.array([k for k, _ in res])
        amp = max(a for _, a in res)
        ok &= bool(n.max() <= ref_max)
        parts.append(f"{dt:g} s: {n.mean():.1f} flips/heat (max {n.max()}), worst {amp:.1f} %-pt")
    return Row(
        "2. FeO saw-tooth",
        '"test the absence of step-to-step sign flips that the physics does not produce" (here: '
        "no more flips per heat than the 1-s reference)",
        "; ".join(parts)
        + f"; 1-s reference: {np.mean([n for n, _ in ref]):.1f} flips/heat (max {ref_max})",
        ok,
        f"true slag FeO (info truth true_feo_pct) of the check-1 heats, blow time ≤ {EARLY_MIN:g} "
        f"min; a flip is a sign change between consecutive changes larger than {FLIP_TOL} %-pt; "
        "amplitude = the smaller of the two changes; reference = the same practice sub-stepped at "
        f"1 s (run_practice_heat) on {len(z)} random heats",
    )


# ---------------------------------------------------------------- 3. critical carbon
def critical_carbon(c: np.ndarray, r: np.ndarray) -> float:
    """C where the decarburisation rate first falls below 90 % of its stage-II plateau (median
    rate while 0.6 ≤ C ≤ 2.5 wt%); the mean C of that step."""
    plateau = float(np.median(r[(c >= 0.6) & (c <= 2.5)]))
    k = np.flatnonzero((c < 0.6) & (r < 0.9 * plateau))
    return float("nan") if k.size == 0 else 0.5 * float(c[k[0] - 1] + c[k[0]])


def check_critical_carbon(z: np.ndarray) -> Row:
    cs = np.array(
        [
            critical_carbon(tr["c_pct"], tr["decarb_kg_min"])
            for tr in (run_practice_heat(None, zz, dt_s=1.0) for zz in z)
        ]
    )
    nom = critical_carbon(
        *(lambda tr: (tr["c_pct"], tr["decarb_kg_min"]))(run_practice_heat(dt_s=1.0))
    )
    med = float(np.nanmedian(cs))
    return Row(
        "3. Critical carbon",
        '"Critical carbon from a primary BOF source" (today "0.1–0.26 wt% across heats"); '
        "bof_v2_sources.md §1.3: C* ≈ 0.30 ± 0.05 % at nominal flow",
        f"median {med:.3f} wt%, range {np.nanmin(cs):.3f}–{np.nanmax(cs):.3f} wt%, nominal heat "
        f"{nom:.3f} wt% ({int(np.isnan(cs).sum())} heats without a fall)",
        0.25 <= med <= 0.35,
        f"{len(z)} random heats (seeded normals) under the practice, run_practice_heat at 1-s "
        "steps; C* = carbon of the first step whose rate (decarb_kg_min) is below 90 % of the "
        "stage-II plateau (median rate at 0.6–2.5 wt% C)",
    )


# ---------------------------------------------------------------- 4. unmelted scrap
def check_unmelted_scrap(h: Heats) -> Row:
    s = np.array([k["unmelted_scrap_t"] for dt in DTS for k in h.kpi[dt]])
    s10 = np.array([k["unmelted_scrap_t"] for k in h.kpi[10.0]])
    return Row(
        "4. Unmelted scrap at tap",
        '"Scrap melts … scrap that truly cannot melt in a heat is a KPI, not silent" (here: '
        "≤ 0.05 t at every standard-practice tap)",
        f"mean {s10.mean():.2f} t, max {s10.max():.2f} t at 10 s (all steps: max {s.max():.2f} t); "
        "reported as unit KPI unmelted_scrap_t",
        bool(s.max() <= 0.05),
        "unit KPI unmelted_scrap_t of the check-1 heats (zero adjust action)",
    )


# ---------------------------------------------------------------- 5. hit-rate ceiling
def check_hit_ceiling(units: list[dict[str, float]]) -> Row:
    p = BOFParams()
    sc, st = p.tap_c_sd_pct, p.tap_temp_sd_c
    ceiling = hit_rate_ceiling(p)
    ac, at, both = ceiling["hit_c_0.02"], ceiling["hit_t_15"], ceiling["double_hit_0.02_15"]
    tight = ceiling["double_hit_0.01_10"]
    ec = np.array([u["measured_c_pct"] - u["endpoint_c_pct"] for u in units])
    et = np.array([u["measured_temp_c"] - u["endpoint_temp_c"] for u in units])
    hc, ht = np.abs(ec) <= 0.02, np.abs(et) <= 15.0
    return Row(
        "5. Hit-rate ceiling (perfect endpoint)",
        '"Give the tap analysis a sourced accuracy … compute the ceiling it implies" (today '
        '"near 76 %" C, "near 71 %" double); bof_v2_sources.md §3.4: ceiling > 95 % for both bands',
        f"analytic: C ±0.02 {100 * ac:.2f} %, T ±15 K {100 * at:.2f} %, "
        f"both {100 * both:.2f} % (±0.01/±10: {100 * tight:.1f} %); "
        f"env: {100 * hc.mean():.1f} / {100 * ht.mean():.1f} / {100 * (hc & ht).mean():.1f} %",
        both >= 0.95 and tight >= 0.95,
        f"σ from BOFParams (tap_c_sd_pct {sc}, tap_temp_sd_c {st}: the tap sample's lab C and "
        "the thermocouple; the in-blow sub-lance keeps sublance_*): envs.steel.hit_rate_ceiling "
        "(normal CDFs); env = the tap measurement error (measured − true, unit KPIs) of "
        f"{len(units)} practice heats of check 7, i.e. the score of a perfect endpoint",
    )


# ---------------------------------------------------------------- 6. P-miss economics
def check_p_economics(z: np.ndarray, cut_kg_t: float = 14.5) -> Row:
    p = BOFParams()
    # the cut comes off the extra lime first, the rest off the basicity target (nominal SiO2)
    extra = min(cut_kg_t, p.practice_lime_extra_kg_t)
    basic = run_practice_heat(p).state[X.lime_plan] / p.heat_size_t - p.practice_lime_extra_kg_t
    lean = p.replace(
        practice_lime_extra_kg_t=p.practice_lime_extra_kg_t - extra,
        practice_basicity=p.practice_basicity * (basic - (cut_kg_t - extra)) / basic,
    )

    arr = p.to_array()

    def penalty(p_pct: float) -> float:
        """The env's P price: per 0.005 % over spec, plus the off-grade step (at the aims)."""
        step = offgrade_cost(arr, p.aim_c_pct, p.aim_temp_c, p_pct, False)
        return p.miss_cost_eur * max(p_pct - p.p_spec_pct, 0.0) / 0.005 + step

    gains, off = [], 0
    for zz in z:
        ha, hb = run_practice_heat(p, zz), run_practice_heat(lean, zz)
        lime_saved = (ha.state[X.lime] - hb.state[X.lime]) * p.price_lime_eur_kg
        pa, pb = ha.end["p_pct"], hb.end["p_pct"]
        if pb > p.p_spec_pct:
            off += 1
            gains.append(lime_saved - (penalty(pb) - penalty(pa)))
    typical = ", ".join(
        f"+{d:.3f} % → {penalty(p.p_spec_pct + d):.0f} EUR" for d in (0.001, 0.002, 0.005)
    )
    saved = cut_kg_t * p.heat_size_t * p.price_lime_eur_kg
    even = saved / p.miss_cost_eur * 0.005  # overshoot whose penalty equals the lime saved
    pays = sum(g > 0 for g in gains)
    return Row(
        "6. P-miss economics",
        '"Price P over spec … so no controller earns money by shipping off-grade steel"',
        f"P penalty per heat {typical}; lime cut {cut_kg_t} kg/t saves {saved:.0f} EUR "
        f"(break-even overshoot {even:.4f} %); "
        f"{off} of {len(z)} lean heats off-spec P, cutting pays in {pays} of them"
        + (f" (best {max(gains):+.0f} EUR)" if gains else ""),
        pays == 0 and saved < penalty(p.p_spec_pct + 0.001),
        f"prices from BOFParams (miss_cost_eur {p.miss_cost_eur:g} per 0.005 % over spec plus "
        f"the off-grade step offgrade_p_eur_t {p.offgrade_p_eur_t:g} EUR/t × heat size, "
        f"envs.steel.offgrade_cost; lime {p.price_lime_eur_kg} EUR/kg); {len(z)} random heats "
        "under the practice and with its "
        f"lime cut by {cut_kg_t} kg/t (the MPC oracle's cut; extra lime to 0, the rest off the "
        "basicity target): lime saved vs added P "
        "penalty per off-spec heat (other cost terms not counted). FAIL if any off-spec heat "
        "nets a gain or a 0.001 % overshoot costs less than the lime saved",
    )


# ---------------------------------------------------------------- 7. exploration safety
def noise_runs(episodes: int) -> dict[float, Any]:
    study = dataclasses.replace(exploration_noise.STUDIES["bof"], episodes=episodes)
    return exploration_noise.run("bof", study, (0.37,))


def check_exploration(res: dict[float, Any]) -> Row:
    base, noisy = res[0.0], res[0.37]
    diff, se = exploration_noise.paired(noisy, base)
    rel = diff / abs(float(base.returns.mean()))
    abandoned = sum(u["endpoint_c_pct"] > 0.4 for u in noisy.units)
    return Row(
        "7. Exploration safety (σ = 0.37)",
        '"keeps its mean return within 10 % of the noiseless practice, with no abandoned blow"',
        f"return {base.returns.mean():.2f} → {noisy.returns.mean():.2f} kEUR/heat "
        f"({100 * rel:+.1f} %, ± {100 * se / abs(float(base.returns.mean())):.1f} %); "
        f"{abandoned} of {len(noisy.units)} blows abandoned",
        rel >= -0.10 and abandoned == 0,
        f"experiments.studies.exploration_noise.run on {len(noisy.units)} paired nominal heats "
        f"(seeds {exploration_noise.SEED0}…, noise seed 17); abandoned = end C > 0.4 wt%",
    )


# ---------------------------------------------------------------- 8. observations, normalised
def check_normalisation(h: Heats) -> Row:
    # v2 observes the readings as deviations from the aims in band units (1 = 0.02 wt%, 15 K)
    sd_c = float(h.obs[:, O.sublance_c_dev].std()) * BAND_C
    sd_t = float(h.obs[:, O.sublance_temp_dev].std()) * BAND_T
    band_t, band_c = BAND_T / sd_t, BAND_C / sd_c
    return Row(
        "8. Observation under normalisation",
        '"a running normaliser gives them a std of ≈ 550 K and a whole ±15 K band becomes 0.026 '
        'normalised units" (here: ±15 K band ≥ 0.5 normalised units)',
        f"std sub-lance T {sd_t:.0f} K → ±15 K = {band_t:.3f} units; std sub-lance C "
        f"{sd_c:.3f} wt% → ±0.02 wt% = {band_c:.3f} units",
        band_t >= 0.5,
        f"std over all {len(h.obs)} observations (reset and every step) of the check-1 heats at "
        "10 s, columns sublance_temp_dev / sublance_c_dev (band units, shown in K and wt%): what "
        "VecNormalize's running variance converges to; band in units = half-width / std",
    )


# ---------------------------------------------------------------- 9. scrap and Si responses
def _end(heat: HeatTrajectory) -> tuple[float, float]:
    return heat.end["c_pct"], heat.end["temp_c"]


def check_responses() -> Row:
    p, z0 = BOFParams(), np.zeros(len(HEAT_NOISE))
    charge = p.hot_metal_t + p.scrap_t
    scrap = p.replace(scrap_t=p.scrap_t + 0.01 * charge, hot_metal_t=p.hot_metal_t - 0.01 * charge)
    si = z0.copy()
    si[Z.hm_si] = 0.1 / p.hm_si_sd_pct  # true and measured Si +0.1 % (analysis exact)
    base = run_practice_heat(p, z0)
    o2, ore, lime = (float(base.state[j]) for j in (X.o2_plan, X.ore_plan, X.lime_plan))
    c0, t0 = _end(base)
    out: dict[str, tuple[float, float]] = {}
    for name, params, z in (("+1 % scrap", scrap, z0), ("+0.1 % Si", p, si)):
        for mode, x in (
            ("fixed", run_practice_heat(params, z, plan=(o2, ore, lime))),
            ("ore fixed", run_practice_heat(params, z, ore_kg=ore)),
            ("compensating", run_practice_heat(params, z)),
        ):
            c, t = _end(x)
            out[f"{name} {mode}"] = (t - t0, c - c0)
    value = "; ".join(f"{k}: {dt:+.1f} K ({dc:+.3f} wt% C)" for k, (dt, dc) in out.items())
    ok = (
        abs(out["+1 % scrap fixed"][0] + 17.0) <= 3.0
        and 13.0 <= out["+0.1 % Si fixed"][0] <= 21.0
        and abs(out["+1 % scrap compensating"][0]) <= 3.0
        and abs(out["+0.1 % Si compensating"][0]) <= 3.0
    )
    return Row(
        "9. +1 % scrap / +0.1 % Si responses",
        "\"Re-check the +1 % scrap and +0.1 % Si responses with the operator's model held fixed "
        'and with it compensating"; bof_v2_sources.md §5.3: fixed −17 ± 3 K and +13…+21 K, '
        "compensating |ΔT| ≤ 3 K",
        value,
        ok,
        "nominal heat (exact analyses), 10-s steps, end of the practice blow vs the nominal heat; "
        "scrap: +1 % of the charge moved from hot metal to scrap (params); Si: true and measured "
        "HM Si +0.1 %; fixed = O2, ore and lime of the nominal charge's plan (the practice loop "
        "with that plan); ore fixed = run_practice_heat(ore_kg=nominal ore), O2 re-planned "
        "(experiments/calibration/bof.py); compensating = plan from the measured charge",
    )


# ---------------------------------------------------------------- report
def audit(n_heats: int, n_open: int, n_noise: int) -> list[Row]:
    heats, z = env_heats(n_heats), heat_noise(n_open)
    noise = noise_runs(n_noise)
    checks: list[Callable[[], Row]] = [
        lambda: check_endpoint_vs_step(heats),
        lambda: check_feo_sawtooth(heats, z),
        lambda: check_critical_carbon(z),
        lambda: check_unmelted_scrap(heats),
        lambda: check_hit_ceiling(noise[0.0].units),
        lambda: check_p_economics(z),
        lambda: check_exploration(noise),
        lambda: check_normalisation(heats),
        check_responses,
    ]
    return [c() for c in checks]


def report(rows: list[Row], cmd: str, sizes: tuple[int, int, int]) -> str:
    info = machine_info(("numpy", "numba", "gymnasium"))
    verdict = {True: "PASS", False: "FAIL", None: "not measured"}
    lines = [
        "| check | target (issue 12) | measured now | result | how measured |",
        "|" + " --- |" * 5,
    ]
    for r in rows:
        cells = (r.check, r.target, r.value, verdict[r.ok], r.how)
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    n_pass = sum(r.ok is True for r in rows)
    return "\n".join(
        [
            f"# BOF audit against the BOF-v2 targets ({envs.process('bof').env_id})",
            "",
            f"- {info['date']}, git `{info['git']}`; {info['cpu']}; python {info['python']}, "
            f"numpy {info.get('numpy')}, numba {info.get('numba')}, "
            f"gymnasium {info.get('gymnasium')}.",
            f"- Command: `{cmd}`",
            f"- Heats: {sizes[0]} env heats per control step (seeds {SEED0}…), "
            f"{sizes[1]} open-loop random heats (normals seed {RNG_SEED}), "
            f"{sizes[2]} paired heats for the noise check. Nominal plant bof_250t, nominal "
            "scenario, zero adjust action unless said.",
            "- Targets are quoted from issue 12; where the issue gives no number the row says the "
            "threshold used (from docs/physics/bof_v2_sources.md or stated). The audit changes no "
            "model code: it measures the model at the commit above against the v2 targets.",
            f"- {n_pass} of {len(rows)} checks pass.",
            "",
            *lines,
            "",
        ]
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few heats per check (smoke test)")
    parser.add_argument("--out", type=Path, default=None, help="markdown path")
    args = parser.parse_args(argv)
    sizes = (4, 4, 4) if args.quick else (40, 40, 128)
    cmd = command_line("experiments.studies.audit_bof", argv)
    text = report(audit(*sizes), cmd, sizes)
    publish(text, args.out or (None if args.quick else ROOT / "results" / "bof" / "audit.md"))


if __name__ == "__main__":
    main()
