"""Physics of the BOF core against the acceptance envelope of docs/physics/bof.md §9.

Each test names the textbook fact it checks; numbers and sources are in docs/physics/bof.md. The
nominal heat is blown under the operator's standard practice with exact analyses (all heat-level
normals zero) unless said otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

import envs
from envs.steel import physics, scrap
from envs.steel.layout import ACTUATORS, DERIVED, HEAT_NOISE, STATE, A, O, P, X, Z
from envs.steel.params import BOFParams
from envs.steel.practice import run_practice_heat


@pytest.fixture(scope="module")
def nominal():
    return run_practice_heat(BOFParams())


def test_endpoint_in_envelope(nominal):
    """Endpoint C 0.03–0.08 wt%, T 1620–1680 degC, 14–20 min, 48–60 Nm3/t, rise 250–400 K."""
    end = nominal.end
    assert 0.03 <= end["c_pct"] <= 0.08
    assert 1620.0 <= end["temp_c"] <= 1680.0
    assert 14.0 <= end["time_min"] <= 20.0
    assert 48.0 <= end["oxygen_nm3_t"] <= 60.0
    assert 250.0 <= end["temp_c"] - BOFParams().hm_temp_c <= 400.0
    assert 15.0 <= end["feo_pct"] <= 25.0  # end slag FeO (docs/physics/bof.md §9.1, est.)
    assert end["p_pct"] <= BOFParams().p_spec_pct


def test_silicon_gone_after_four_to_six_minutes(nominal):
    t, si = nominal["time_min"], nominal["si_pct"]
    t_si = t[np.argmax(si < 0.01)]
    assert 4.0 <= t_si <= 6.0


def test_three_decarburisation_stages(nominal):
    """Stage I: rate rises while Si burns; II: oxygen-limited plateau; III: falls as C -> C_eq."""
    t, c, rate = nominal["time_min"], nominal["c_pct"], nominal["decarb_kg_min"]
    plateau = rate[(c < 2.5) & (c > 0.6)]
    assert plateau.std() / plateau.mean() < 0.05, "stage II should be a flat plateau"
    early = rate[(t > 0.5) & (t < 2.0)]
    assert early.max() < 0.85 * plateau.mean(), "stage I rate must be below the plateau"
    assert np.all(np.diff(rate[(t > 0.3) & (t < 4.0)]) > 0), "rate rises as Si falls"
    assert rate[-1] < 0.5 * plateau.mean(), "stage III: rate collapses at low carbon"


def test_slag_feo_is_u_shaped(nominal):
    """FeO high in the Si period, lower mid-blow (reduced by C in the emulsion), high at the end."""
    t, c, feo = nominal["time_min"], nominal["c_pct"], nominal["feo_pct"]
    early = feo[(t > 0.5) & (t < 4.0)].max()
    mid = feo[(t > 5.0) & (c > 1.0)].min()
    assert early > 1.2 * mid
    assert feo[-1] > early > 1.2 * mid


def _critical_carbon(traj) -> float:
    """Bath C where the decarburisation rate first falls 10 % below its stage-II plateau."""
    c, rate = traj["c_pct"], traj["decarb_kg_min"]
    plateau = np.median(rate[(c <= 2.5) & (c >= 0.6)])
    after = np.flatnonzero((c < 0.6) & (rate < 0.9 * plateau))
    return float(0.5 * (c[after[0] - 1] + c[after[0]]))


def test_critical_carbon_rises_with_oxygen_flow():
    """C* = C_eq + 100 r_C,O2/(k_C W) rises with the blowing rate (Fujii & Ura 1965 [S6]).

    BOF-v2: ``kc_per_min`` puts it at 0.30 ± 0.05 wt% at nominal flow (the lower bound that [S6]
    and [S7] imply for a top-blown converter; docs/physics/bof.md §8), read at 1-s steps as the
    carbon where the rate first falls 10 % below its plateau (v1: ≈ 0.13 %).
    """
    low = _critical_carbon(run_practice_heat(o2_factor=0.8, dt_s=1.0))
    high = _critical_carbon(run_practice_heat(o2_factor=1.25, dt_s=1.0))
    nominal = _critical_carbon(run_practice_heat(dt_s=1.0))
    assert 0.25 <= nominal <= 0.35
    assert low + 0.03 < nominal < high - 0.03


def test_soft_blow_ends_with_more_feo():
    """A higher (softer) lance shifts oxygen to FeO: +0.5 m gives a few points more end FeO.

    Compared at the same tapping carbon (0.05 wt%), as a metallurgist compares practices.
    """
    hard = run_practice_heat(end_c_pct=0.05).end["feo_pct"]
    soft = run_practice_heat(lance_offset_m=0.5, end_c_pct=0.05).end["feo_pct"]
    gain = soft - hard
    assert 1.0 <= gain <= 10.0


def _end_temp(params: BOFParams, z=None) -> float:
    """End temperature at the aim carbon, ore held at the nominal plan.

    BOF-v2: the rules are compared at the same tapping carbon. With stage III from ≈ 0.3 % C, the
    static model's re-planned oxygen over- or under-blows a changed charge by ≈ 0.01 % C, worth
    ≈ 2 K of FeO heat; that is the static model's error, not the charge's heat effect (the
    responses with the whole plan fixed or compensating are in docs/physics/bof.md §8.2).
    """
    ore = BOFParams().practice_ore_base_kg_t * params.heat_size_t  # coolant held at the plan
    return run_practice_heat(params, z, ore_kg=ore, end_c_pct=params.aim_c_pct).end["temp_c"]


def test_scrap_rule_of_thumb():
    """+1 % scrap: −13…−20 K (published −13…−15; plain heat balance −16…−20: our calibration)."""
    p = BOFParams()
    charge = p.hot_metal_t + p.scrap_t
    more = p.replace(scrap_t=p.scrap_t + 0.01 * charge, hot_metal_t=p.hot_metal_t - 0.01 * charge)
    delta = _end_temp(more) - _end_temp(p)
    assert -20.0 <= delta <= -13.0


def test_silicon_rule_of_thumb():
    """+0.1 % hot-metal Si: +13…+22 K (rule +13…+15; derived +13…+21 plus silicate heat)."""
    p = BOFParams()
    z = np.zeros(len(HEAT_NOISE))
    z[Z.hm_si] = 0.1 / p.hm_si_sd_pct
    delta = _end_temp(p, z) - _end_temp(p)
    assert 13.0 <= delta <= 22.0


def test_mass_balances_close(nominal):
    """C, Fe and O are conserved: inventories + off-gas equal what was charged and blown."""
    x, p = nominal.state, nominal.params
    c_scrap = p[P.scrap_c_pct] / 100.0
    carbon = x[X.c] + x[X.scrap] * c_scrap + x[X.c_gas]
    assert carbon == pytest.approx(x[X.c0], rel=1e-10)
    fe_feo = physics.M_FE / physics.M_FEO
    iron = x[X.fe] + x[X.scrap] * (1 - c_scrap) + x[X.feo] * fe_feo
    iron_in = x[X.fe0] + x[X.feo0] * fe_feo + x[X.fe_ore]
    assert iron == pytest.approx(iron_in, rel=1e-10)
    o_slag = (
        (x[X.feo] - x[X.feo0]) / physics.M_FEO
        + 2 * x[X.sio2] / physics.M_SIO2
        + x[X.mno] / physics.M_MNO
        + 5 * x[X.p2o5] / physics.M_P2O5
    )
    assert o_slag * physics.M_O + x[X.o_gas] == pytest.approx(x[X.o_in], rel=1e-10)
    blown = 2 * x[X.o2_blown] / physics.NM3_PER_KMOL * physics.M_O
    assert x[X.o_in] - 3 * x[X.ore] / physics.M_FE2O3 * physics.M_O + x[X.o_lost] == (
        pytest.approx(blown, rel=1e-10)
    )


def test_heat_balance_closes(nominal):
    """Reaction heat booked equals the formation enthalpy of the final oxide inventories."""
    x, p = nominal.state, nominal.params
    n_co2 = x[X.n_co2]
    n_co = x[X.c_gas] / physics.M_C - n_co2
    expected = p[P.heat_efficiency] * (
        (x[X.feo] - x[X.feo0]) / physics.M_FEO * physics.H_FEO
        + x[X.sio2] / physics.M_SIO2 * physics.H_SIO2
        + x[X.mno] / physics.M_MNO * physics.H_MNO
        + x[X.p2o5] / physics.M_P2O5 * physics.H_P2O5
        + n_co * physics.H_CO
        + n_co2 * (physics.H_CO + p[P.post_combustion_share] * (physics.H_CO2 - physics.H_CO))
        - x[X.ore] / physics.M_FE2O3 * physics.H_FE2O3
    )
    assert x[X.q_chem] == pytest.approx(expected, rel=1e-9)
    melted = x[X.scrap_kg] - x[X.scrap]
    assert x[X.q_scrap] == pytest.approx(melted * x[X.scrap_melt_heat], rel=1e-9)


def test_enthalpy_balance_closes_step_by_step():
    """Σ C_th·ΔT over the blow equals the booked heat: reaction heat − losses − scrap − additions.

    The heat capacity moves with the bath, slag and scrap masses, so the sum is taken step by
    step (C_th of the step's end state: the masses the update used); a term left out of the
    booking or of the update (say half the losses) breaks the equality far beyond rounding.
    """
    p, x, d = BOFParams().to_array(), np.zeros(len(STATE)), np.zeros(len(DERIVED))
    dt_s = 10.0
    physics.derive(p, dt_s, d)
    physics.init_heat(p, x, np.zeros(len(HEAT_NOISE)))
    sp = np.zeros(len(ACTUATORS))
    enthalpy, steps = 0.0, 0
    while x[X.o2_blown] < x[X.o2_plan]:
        t0 = x[X.temp]
        physics.practice_setpoints(p, x, dt_s, sp)
        physics.physics_step(
            p, d, x, sp[A.oxygen_flow], sp[A.lance_height], sp[A.ore_feed], sp[A.lime_feed], dt_s
        )
        enthalpy += physics.heat_capacity_mj_k(p, x) * (x[X.temp] - t0)
        steps += 1
    booked = x[X.q_chem] - x[X.q_loss] - x[X.q_scrap] - x[X.q_add]
    assert steps > 50 and x[X.q_loss] > 0.0 and x[X.q_add] > 0.0
    assert enthalpy == pytest.approx(booked, rel=1e-9)


def test_one_update_per_control_step_matches_one_second_substeps():
    """Exact stage-III decay and FeO balance: 10-s steps track a 1-s run (same practice) closely
    (computed: 0.0043 wt% C, 1.0 K, 0.6 %-pt FeO at most)."""
    coarse = run_practice_heat(dt_s=10.0)
    fine = run_practice_heat(dt_s=1.0)
    for name, tol in (("c_pct", 0.01), ("temp_c", 5.0), ("feo_pct", 1.5)):
        f = np.interp(coarse["time_min"], fine["time_min"], fine[name])
        # the whole blow: v1 excluded the first minute, where its lagged stirring made FeO
        # oscillate; the exact FeO balance of BOF-v2 tracks the 1-s run from ignition
        window = coarse["time_min"] <= fine["time_min"][-1]
        err = np.abs(coarse[name] - f)[window]
        assert err.max() <= tol, f"{name}: max deviation {err.max():.4f} > {tol}"


def test_manganese_exchange_is_reversible():
    """Mn in the bath moves toward (%MnO)/K(T)(%FeO): with a reducing slag it reverts."""
    p = BOFParams().to_array()
    x = np.zeros(len(STATE))
    physics.init_heat(p, x, np.zeros(len(HEAT_NOISE)))
    x[X.mno], x[X.feo], x[X.cao] = 2000.0, 100.0, 10000.0
    mn0 = x[X.mn]
    physics._mn_exchange(p, x, physics.bath_mass(x), 0.5)
    assert x[X.mn] > mn0


# ---------------------------------------------------------------- BOF-v2: step size, scrap
def _random_heats(n: int, seed: int = 7) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, len(HEAT_NOISE)))


def _env_endpoints(dt_s: float, seeds: range) -> np.ndarray:
    env = envs.make("bof", scenario="nominal", dt_s=dt_s)
    zero, out = np.zeros(len(ACTUATORS), np.float32), []
    for seed in seeds:
        env.reset(seed=seed)
        done = False
        while not done:
            obs, _, term, trunc, info = env.step(zero)
            done = term or trunc
        kpi = info["unit_kpi"]
        out.append((kpi["endpoint_c_pct"], kpi["endpoint_temp_c"], kpi["oxygen_nm3_t"]))
        assert obs[O.oxygen_blown] == pytest.approx(obs[O.oxygen_end_target], abs=1e-4)
    env.close()
    return np.array(out)


def test_endpoint_does_not_depend_on_the_control_step():
    """Issue 12: over ≥ 40 random heats, 5 / 10 / 20 s steps end within a mean |ΔC| ≤ 0.003 wt%
    and |ΔT| ≤ 2 K of each other: the last step runs only up to the end-oxygen target."""
    seeds = range(700000, 700040)
    ends = {dt: _env_endpoints(dt, seeds) for dt in (5.0, 10.0, 20.0)}
    for a, b in ((5.0, 10.0), (5.0, 20.0), (10.0, 20.0)):
        diff = np.abs(ends[a] - ends[b]).mean(axis=0)
        assert diff[0] <= 0.003 and diff[1] <= 2.0, f"{a:g}/{b:g} s: {diff}"
        assert diff[2] <= 1e-6  # the same end oxygen, Nm3/t


def test_partial_last_step_stops_at_the_target_oxygen():
    """The practice rollout also stops exactly at the plan, and its blow time is that oxygen over
    the flow (the last step's time is the part of the step that was blown)."""
    for dt in (10.0, 20.0):
        heat = run_practice_heat(dt_s=dt)
        x = heat.state
        assert x[X.o2_blown] == pytest.approx(x[X.o2_plan], rel=1e-12)
        assert x[X.time] == pytest.approx(x[X.o2_blown] / physics.nominal_o2_flow(heat.params))


def _flips(t: np.ndarray, feo: np.ndarray) -> int:
    """Sign changes of the step-to-step FeO change (> 0.01 %-pt) in the first 5 min of blow."""
    d = np.diff(feo[t <= 5.0])
    d = d[np.abs(d) > 0.01]
    return int(np.sum(d[1:] * d[:-1] < 0))


def test_slag_feo_has_no_step_saw_tooth():
    """Issue 12: no step-to-step sign flips of FeO that a 1-s reference does not show, at every
    documented step (v1: 5.9 → 0.0 → 12.8 % at 20 s). FeO, Mn and P exchanges are implicit."""
    for z in [None, *_random_heats(5)]:
        ref = run_practice_heat(None, z, dt_s=1.0)
        n_ref = _flips(ref["time_min"], ref["feo_pct"])
        for dt in (5.0, 10.0, 20.0, 30.0):
            heat = run_practice_heat(None, z, dt_s=dt)
            assert _flips(heat["time_min"], heat["feo_pct"]) <= n_ref, f"dt {dt:g} s"


def test_all_scrap_melts_under_the_practice():
    """Issue 12: no scrap left at tap (v1: 1.6 t of 40 t); the heavy class is gone before the
    sub-lance point, so the sub-lance temperature sees the scrap heat (bof_v2_sources §2.3)."""
    p = BOFParams()
    for z in [None, *_random_heats(10)]:
        heat = run_practice_heat(p, z)
        assert heat.end["scrap_t"] == 0.0
        sublance = heat["oxygen_nm3_t"] >= p.sublance_o2_frac * heat.state[X.o2_plan] / 250.0
        assert heat["scrap_t"][np.argmax(sublance)] == 0.0


def test_oversize_scrap_is_left_and_reported():
    """Scrap that cannot melt in a heat stays solid, is the KPI ``unmelted_scrap_t`` and its
    melting heat is not booked (heavy plates three times as thick)."""
    p = BOFParams().replace(scrap_heavy_mm=300.0)
    heat = run_practice_heat(p)
    left = heat.end["scrap_t"]
    assert 1.0 < left < p.scrap_t * p.scrap_heavy_share
    x = heat.state
    assert x[X.q_scrap] == pytest.approx((x[X.scrap_kg] - x[X.scrap]) * x[X.scrap_melt_heat])
    env = envs.make("bof", plant=p, scenario="nominal")
    env.reset(seed=1)
    done = False
    while not done:
        _, _, term, trunc, info = env.step(np.zeros(len(ACTUATORS), np.float32))
        done = term or trunc
    assert info["unit_kpi"]["unmelted_scrap_t"] > 1.0


def test_scrap_front_speed_follows_superheat_and_carbon():
    """Melting (heat transfer over the scrap's liquidus) in a hot bath, dissolution (carbon
    diffusion) in a cold carbon-rich one, nothing in a bath below the scrap's melting point
    without the carbon to dissolve it ([V4], [V5])."""
    p = BOFParams().to_array()
    t_scrap = scrap.liquidus_c(p[P.scrap_c_pct])  # ≈ 1524 degC for 0.15 % C scrap
    v = scrap.scrap_front_velocity
    assert v(p, t_scrap - 20.0, p[P.scrap_c_pct], 1.42) == 0.0
    assert v(p, 1300.0, 4.5, 1.42) > 0.0  # dissolves 220 K below its own melting point
    assert v(p, 1350.0, 4.5, 1.42) > v(p, 1300.0, 4.5, 1.42)
    assert v(p, 1350.0, 4.5, 1.42) > v(p, 1350.0, 3.5, 1.42)
    hot = v(p, 1650.0, 0.05, 1.42)
    expected = p[P.scrap_htc_kw_m2k] * 1e3 * (1650.0 - t_scrap) / (scrap.SCRAP_RHO_KG_M3 * 1.42e6)
    assert hot == pytest.approx(expected)  # low-carbon bath: heat-transfer control
