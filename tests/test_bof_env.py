"""BOF-specific behaviour of plantrl/BOF (the shared env contract is in test_env_contract.py)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from envs.core.config import PLANT_DIR
from envs.steel import core, physics, scoring
from envs.steel.env import BOFEnv, BOFVectorEnv
from envs.steel.layout import ACTUATORS, BAND_C, BAND_T, OBSERVATION, A, D, O, P, X
from envs.steel.params import BOFParams

PLANTS = sorted(p.stem for p in PLANT_DIR.glob("bof*.yaml"))


def test_same_step_autoreset_reports_final_observation():
    venv = BOFVectorEnv(2, autoreset_mode="same_step")
    venv.reset(seed=0)
    for _ in range(300):
        obs, _rew, term, _trunc, info = venv.step(np.zeros((2, 5), np.float32))
        if term.any():
            i = int(np.flatnonzero(term)[0])
            assert info["_final_obs"][i] and info["final_obs"][i].shape == (len(OBSERVATION),)
            assert obs[i][0] == 0.0  # the new heat starts at blow time 0
            assert np.isfinite(info["final_info"]["unit_kpi/endpoint_c_pct"][i])
            assert info["final_info"]["_unit_kpi/hit_c_0.02"][i]
            return
    pytest.fail("no heat ended within 300 steps")


def test_zero_adjust_action_is_standard_practice():
    env = BOFEnv()
    obs, _ = env.reset(seed=2)
    p = BOFParams()
    lances = set()
    while True:
        obs, _, term, _, _ = env.step(np.zeros(5, np.float32))
        assert obs[2] == pytest.approx(p.practice_o2_nm3_t_min, rel=1e-6)
        lances.add(round(float(obs[3]), 6))
        if term:
            break
    assert lances == {p.practice_lance_start_m, p.practice_lance_main_m, p.practice_lance_end_m}
    assert obs[1] == pytest.approx(obs[16], abs=0.6)  # ended at the planned oxygen (±1 step)


def test_campaign_mode_carries_tapping_analysis():
    """The last tap is observed as deviations from the aims in band units (0 before a tap)."""
    env = BOFEnv(campaign_heats=3)
    obs, _ = env.reset(seed=4)
    p = BOFParams()
    assert obs[O.last_tap_valid] == 0.0 and obs[O.last_tap_c_dev] == obs[O.last_tap_temp_dev] == 0
    kpis, heats_seen = [], {float(obs[O.heat_in_campaign])}
    while True:
        obs, _, term, _, info = env.step(np.zeros(5, np.float32))
        heats_seen.add(float(obs[O.heat_in_campaign]))
        if info["unit_end"]:
            kpis.append(info["unit_kpi"])
            if not term:
                k = kpis[-1]
                assert obs[O.last_tap_valid] == 1.0
                dc = (k["measured_c_pct"] - p.aim_c_pct) / BAND_C
                dt = (k["measured_temp_c"] - p.aim_temp_c) / BAND_T
                assert obs[O.last_tap_c_dev] == pytest.approx(dc, rel=1e-5, abs=1e-5)
                assert obs[O.last_tap_temp_dev] == pytest.approx(dt, rel=1e-5, abs=1e-5)
        if term:
            break
    assert len(kpis) == 3 and heats_seen == {0.0, 1.0, 2.0}


def _absolute_practice_action(env: BOFEnv) -> np.ndarray:
    """The absolute-mode action that reproduces the practice set-points."""
    x, p = env.batch.state[0], env.batch.params[0]
    sp = np.empty(len(ACTUATORS))
    physics.practice_setpoints(p, x, env.batch.dt_s, sp)
    lo, hi = env.batch.scaler.low, env.batch.scaler.high
    return np.clip(2.0 * (sp - lo) / (hi - lo) - 1.0, -1, 1).astype(np.float32)


def test_ending_a_blow_early_never_pays():
    """Stopping as early as the plant allows, from any step on, costs more than finishing the
    practice blow (v2: the end target falls at a bounded rate and not below the sub-lance
    point plus a margin before the reading, so "stop now" is "stop as soon as possible")."""
    env = BOFEnv(action_mode="absolute")
    env.reset(seed=9)
    earned = 0.0
    for k in range(200):
        if k % 4 == 0:
            stop, r_stop, done = copy.deepcopy(env), 0.0, False
            while not done:
                a = _absolute_practice_action(stop)
                a[A.end_oxygen] = -1.0  # end target command 0 Nm3: stop as soon as possible
                _, r, done, _, info = stop.step(a)
                r_stop += r
            cont, r_cont, done = copy.deepcopy(env), 0.0, False
            while not done:
                _, r, done, _, _ = cont.step(_absolute_practice_action(cont))
                r_cont += r
            if info["truth"]["true_c_pct"] > 0.08:  # a real early end, not the planned tap
                assert r_stop < r_cont, f"stopping from step {k} paid"
        _, r, term, _, _ = env.step(_absolute_practice_action(env))
        earned += r
        if term:
            break


def test_abandoned_blow_pays_the_horizon_and_every_offgrade_cost():
    """The guarantee behind an early stop, on the kernel: a blow ended above the abandon carbon
    is charged at least the worst running cost of every step it could still run plus every
    off-grade step cost (so no continuation is charged more off-grade cost)."""
    env = BOFEnv()
    env.reset(seed=9)
    for _ in range(20):
        env.step(np.zeros(5, np.float32))
    x, p, d = env.batch.state[0], env.batch.params[0], env.batch.derived[0]
    assert 100 * x[X.c] / physics.bath_mass(x) > scoring.ABANDON_C_PCT
    left = core.steps_left(p, d, x, env.batch.max_steps)
    cost = core.endpoint_cost(p, x, p[P.aim_c_pct], p[P.aim_temp_c], left, d[D.worst_step_cost])
    every = p[P.offgrade_p_eur_t] * p[P.heat_size_t] + p[P.reblow_eur] + p[P.recarb_eur]
    assert cost >= left * d[D.worst_step_cost] + every


def test_sensor_faults_apply():
    """A stuck off-gas analyser freezes its reading (sensor parts composed per signal)."""
    env = BOFEnv(sensors={"offgas_decarb_rate": {"stuck_prob": 1.0}})
    _obs0, _ = env.reset(seed=0)
    readings = {float(env.step(np.zeros(5))[0][4]) for _ in range(20)}
    assert len(readings) == 1


SCENARIOS = sorted(p.stem for p in (PLANT_DIR.parent / "scenarios" / "bof").glob("*.yaml"))


def test_drift_scenario_is_a_campaign_with_lance_wear_event():
    env = BOFEnv(scenario="drift", campaign_heats=7)  # explicit argument overrides the profile
    env.reset(seed=0)
    kc = []
    done = False
    while not done:
        kc.append(env.batch.params[0, BOFParams.index("kc_per_min")])
        _, _, done, _, _ = env.step(np.zeros(5))
    kc_per_heat = sorted(set(np.round(kc, 9)), reverse=True)
    assert len(kc_per_heat) == 7
    # the event has cut k_C by heat 6: lowest over highest k_C of the campaign is 0.82–0.90
    # over seeds 0–29 (mean 0.86), 0.94–0.99 without the event (measured). The bound used to be
    # 0.85, which 4 seeds in 10 met by their drift noise alone (seed 0 until per-plant streams)
    assert kc_per_heat[-1] < 0.92 * kc_per_heat[0]


@pytest.mark.parametrize("plant", PLANTS)
def test_zero_action_delivers_the_planned_additions(plant):
    """The actuator limits never cut the operator's own practice (ore and lime as planned)."""
    env = BOFEnv(plant)
    for seed in range(4):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, done, _, _ = env.step(np.zeros(5))
        x, heat = env.batch.state[0], env.batch.params[0, P.heat_size_t]
        # windows of the planned oxygen are hit to within one 10-s step of feed (≤ 3.5 %)
        assert x[X.lime] == pytest.approx(x[X.lime_plan], rel=0.035)
        assert x[X.ore] == pytest.approx(x[X.ore_plan], rel=0.035, abs=0.2 * heat)
