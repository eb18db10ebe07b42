"""Physics of the BOF core against the acceptance envelope of docs/physics/bof.md §9.

Each test names the textbook fact it checks; numbers and sources are in docs/physics/bof.md. The
nominal heat is blown under the operator's standard practice with exact analyses (all heat-level
normals zero) unless said otherwise.
"""

from __future__ import annotations

import numpy as np
import pytest

from envs.steel import physics
from envs.steel.layout import ACTUATORS, DERIVED, HEAT_NOISE, STATE, A, P, X, Z
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
    """Bath C where the decarburisation rate first falls 10 % below its plateau."""
    c, rate = traj["c_pct"], traj["decarb_kg_min"]
    plateau = rate[(c < 2.5) & (c > 1.0)].mean()
    after = np.flatnonzero((c < 1.0) & (rate < 0.9 * plateau))
    return float(c[after[0]])


def test_critical_carbon_rises_with_oxygen_flow():
    """C* = C_eq + 100 r_C,O2/(k_C W) rises with the blowing rate (Fujii & Ura 1965)."""
    low = _critical_carbon(run_practice_heat(o2_factor=0.8))
    high = _critical_carbon(run_practice_heat(o2_factor=1.25))
    assert high > low + 0.02
    # C* ≈ 0.15 by the formula; the 10 %-drop criterion reads it a little lower
    assert 0.08 <= _critical_carbon(run_practice_heat()) <= 0.4


def test_soft_blow_ends_with_more_feo():
    """A higher (softer) lance shifts oxygen to FeO: +0.5 m gives a few points more end FeO.

    Compared at the same tapping carbon (0.05 wt%), as a metallurgist compares practices.
    """
    hard = run_practice_heat(end_c_pct=0.05).end["feo_pct"]
    soft = run_practice_heat(lance_offset_m=0.5, end_c_pct=0.05).end["feo_pct"]
    gain = soft - hard
    assert 1.0 <= gain <= 10.0


def _end_temp(params: BOFParams, z=None) -> float:
    ore = BOFParams().practice_ore_base_kg_t * params.heat_size_t  # coolant held at the plan
    return run_practice_heat(params, z, ore_kg=ore).end["temp_c"]


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
    """Exact stage-III decay: 10-s steps track a 1-s run (same practice) closely."""
    coarse = run_practice_heat(dt_s=10.0)
    fine = run_practice_heat(dt_s=1.0)
    for name, tol in (("c_pct", 0.01), ("temp_c", 5.0), ("feo_pct", 1.5)):
        f = np.interp(coarse["time_min"], fine["time_min"], fine[name])
        # after the first minute: the stirring term lags one step, which matters only at ignition
        window = (coarse["time_min"] >= 1.0) & (coarse["time_min"] <= fine["time_min"][-1])
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
