"""Contract, determinism, docs and bad-input tests of plantrl/BOF-v1 and its vector env."""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs
from envs.steel import core
from envs.steel.batch import actuator_specs
from envs.steel.bof_env import OBS_TABLE, PLANT_DIR, BOFEnv, BOFVectorEnv
from envs.steel.params import BOFParams

REPO = Path(__file__).resolve().parents[1]
PLANTS = sorted(p.stem for p in PLANT_DIR.glob("bof*.yaml"))


def rollout(env, seed: int, n_steps: int = 400, action_seed: int = 1):
    """Rewards and observations of a seeded run with seeded random actions (resets on end)."""
    rng = np.random.default_rng(action_seed)
    obs, _ = env.reset(seed=seed)
    out_obs, out_rew = [obs], []
    for _ in range(n_steps):
        obs, rew, term, trunc, _ = env.step(rng.uniform(-1, 1, 5).astype(np.float32))
        out_obs.append(obs)
        out_rew.append(rew)
        if term or trunc:
            obs, _ = env.reset()
            out_obs.append(obs)
    return np.array(out_obs), np.array(out_rew)


def test_package_resolves_inside_repository():
    assert Path(envs.__file__).resolve().is_relative_to(REPO)


def test_envs_layer_imports_no_ml_stack():
    code = (
        "import sys, envs, gymnasium as gym; gym.make('plantrl/BOF-v1').reset(seed=0);"
        "bad = [m for m in ('torch', 'stable_baselines3', 'hydra', 'mlflow') if m in sys.modules];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("plant", PLANTS)
@pytest.mark.parametrize("mode", ["adjust", "absolute"])
def test_check_env_every_plant(plant, mode):
    env = gym.make("plantrl/BOF-v1", plant=plant, action_mode=mode)
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(BOFEnv(plant, action_mode=mode), warn=False)


def test_make_vec_returns_native_vector_env():
    venv = gym.make_vec("plantrl/BOF-v1", num_envs=3, vectorization_mode="vector_entry_point")
    assert isinstance(venv, BOFVectorEnv)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (3, core.N_OBS) and venv.single_observation_space.contains(obs[0])


def test_seeded_reset_determines_episode():
    a = rollout(gym.make("plantrl/BOF-v1"), seed=7)
    b = rollout(gym.make("plantrl/BOF-v1"), seed=7)
    c = rollout(gym.make("plantrl/BOF-v1"), seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0][0], c[0][0])


def test_reset_leaves_global_rng_untouched():
    np.random.seed(123)  # noqa: NPY002 - the legacy global RNG is exactly what must stay untouched
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    rollout(gym.make("plantrl/BOF-v1"), seed=3, n_steps=50)
    np.testing.assert_array_equal(before, np.random.get_state()[1])  # noqa: NPY002


def _vector_rollout(seed: int, n_steps: int, **kw):
    venv = BOFVectorEnv(1, **kw)
    rng = np.random.default_rng(1)
    obs, _ = venv.reset(seed=seed)
    out_obs, out_rew = [obs[0]], []
    for _ in range(n_steps):
        obs, rew, term, _, _ = venv.step(rng.uniform(-1, 1, (1, 5)).astype(np.float32))
        out_obs.append(obs[0])
        out_rew.append(rew[0])
        if term[0]:  # next_step autoreset: the next step returns the reset observation
            obs, rew, term, _, _ = venv.step(np.zeros((1, 5), np.float32))
            assert rew[0] == 0.0 and not term[0]
            out_obs.append(obs[0])
    return np.array(out_obs), np.array(out_rew)


def test_single_env_equals_vector_env_of_one():
    """The single env is the batch of one: same seed, same actions, same numbers."""
    single = rollout(BOFEnv(), seed=11, n_steps=250)
    vector = _vector_rollout(seed=11, n_steps=250)
    np.testing.assert_array_equal(single[0], vector[0])
    np.testing.assert_array_equal(single[1], vector[1])


_NOJIT_SCRIPT = """
import json, sys, numpy as np
sys.path.insert(0, {tests!r})
from test_bof_env import rollout
from envs.steel.bof_env import BOFEnv
obs, rew = rollout(BOFEnv(), seed=5, n_steps=150)
np.savez({out!r}, obs=obs, rew=rew)
"""


def test_numba_disabled_gives_identical_trajectory(tmp_path):
    out = tmp_path / "nojit.npz"
    script = _NOJIT_SCRIPT.format(tests=str(REPO / "tests"), out=str(out))
    subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        cwd=tmp_path,
        env={**os.environ, "NUMBA_DISABLE_JIT": "1"},
    )
    ref = np.load(out)
    obs, rew = rollout(BOFEnv(), seed=5, n_steps=150)
    np.testing.assert_array_equal(obs, ref["obs"])
    np.testing.assert_array_equal(rew, ref["rew"])


def test_same_step_autoreset_reports_final_observation():
    venv = BOFVectorEnv(2, autoreset_mode="same_step")
    venv.reset(seed=0)
    for _ in range(300):
        obs, _rew, term, _trunc, info = venv.step(np.zeros((2, 5), np.float32))
        if term.any():
            i = int(np.flatnonzero(term)[0])
            assert info["_final_obs"][i] and info["final_obs"][i].shape == (core.N_OBS,)
            assert obs[i][0] == 0.0  # the new heat starts at blow time 0
            assert np.isfinite(info["final_info"]["kpi/endpoint_c_pct"][i])
            assert info["final_info"]["_kpi/hit_c_0.02"][i]
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
    env = BOFEnv(campaign_heats=3)
    obs, _ = env.reset(seed=4)
    assert obs[21] == 0.0
    kpis, heats_seen = [], {float(obs[25])}
    while True:
        obs, _, term, _, info = env.step(np.zeros(5, np.float32))
        heats_seen.add(float(obs[25]))
        if info["heat_end"]:
            kpis.append(info["kpi"])
            if not term:
                assert obs[21] == 1.0 and obs[22] == pytest.approx(
                    kpis[-1]["measured_c_pct"], rel=1e-5
                )
        if term:
            break
    assert len(kpis) == 3 and heats_seen == {0.0, 1.0, 2.0}


def _absolute_practice_action(env: BOFEnv) -> np.ndarray:
    """The absolute-mode action that reproduces the practice set-points."""
    x, p = env.batch.state[0], env.batch.params[0]
    sp = np.empty(core.N_ACT)
    core.practice_setpoints(p, x, env.batch.dt_s, sp)
    lo, hi = env.batch.scaler.low, env.batch.scaler.high
    return np.clip(2.0 * (sp - lo) / (hi - lo) - 1.0, -1, 1).astype(np.float32)


def test_ending_a_blow_early_never_pays():
    """Stopping at any point before the end costs more than finishing the practice blow."""
    env = BOFEnv(action_mode="absolute")
    env.reset(seed=9)
    earned = 0.0
    for k in range(200):
        stop = copy.deepcopy(env)
        a = _absolute_practice_action(stop)
        a[core.A_END] = -1.0  # end target 0 Nm3: the blow ends now
        _, r_stop, term_stop, _, info = stop.step(a)
        assert term_stop
        cont, r_cont, done = copy.deepcopy(env), 0.0, False
        while not done:
            _, r, done, _, _ = cont.step(_absolute_practice_action(cont))
            r_cont += r
        if info["true_c_pct"] > 0.08:  # a real early end, not the planned tap
            assert earned + r_stop < earned + r_cont, f"stopping at step {k} paid"
        if info["true_c_pct"] > core.ABANDON_C_PCT:  # and the guarantee behind it
            x, p, d = stop.batch.state[0], stop.batch.params[0], stop.batch.derived[0]
            bound = core.steps_left(p, d, x, stop.batch.max_steps) * d[core.D_WORST] / 1000.0
            assert -r_stop >= bound
        _, r, term, _, _ = env.step(_absolute_practice_action(env))
        earned += r
        if term:
            break


def test_render_returns_rgb_array():
    env = gym.make("plantrl/BOF-v1", render_mode="rgb_array")
    env.reset(seed=0)
    for _ in range(30):
        env.step(np.zeros(5, np.float32))
    img = env.render()
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8


# ---------------------------------------------------------------- documentation tables
def _doc_rows(doc: str, section: str) -> list[list[str]]:
    block = doc.split(f"## {section}")[1].split("## ")[0]
    rows = [r.strip().strip("|").split("|") for r in block.splitlines() if re.match(r"\s*\| \d", r)]
    return [[c.strip() for c in r] for r in rows]


def test_observation_table_matches_space():
    rows = _doc_rows(BOFEnv.__doc__, "Observation Space")
    assert len(rows) == len(OBS_TABLE) == BOFEnv().observation_space.shape[0] == core.N_OBS
    for row, (name, unit, lo, hi) in zip(rows, OBS_TABLE, strict=True):
        assert row[1:3] == [name, unit]
        assert float(row[3]) == lo and float(row[4]) == hi


def test_action_table_matches_actuators():
    rows = _doc_rows(BOFEnv.__doc__, "Action Space")
    specs = actuator_specs(BOFParams(), 10.0)
    assert len(rows) == len(specs) == BOFEnv().action_space.shape[0]
    for row, spec in zip(rows, specs, strict=True):
        assert row[1:3] == [spec.name, spec.unit]
        assert float(row[3]) == pytest.approx(spec.low) and float(row[4]) == pytest.approx(
            spec.high
        )


def test_parameter_table_complete():
    rows = BOFParams.doc_table()
    assert len(rows) == len(BOFParams.field_names())
    assert all(unit and source for _, unit, _, _, _, source in rows)


# ---------------------------------------------------------------- bad input
def test_unknown_plant_parameter_lists_valid_names():
    with pytest.raises(ValueError, match=r"unknown BOFParams parameter.*valid names.*heat_size_t"):
        BOFEnv({"params": {"heat_sise_t": 200}})


def test_out_of_range_parameter_names_field():
    with pytest.raises(ValueError, match=r"heat_size_t = 1000.0 t is outside .*\[80, 400\]"):
        BOFEnv({"params": {"heat_size_t": 1000}})


def test_unknown_plant_lists_valid_plants():
    with pytest.raises(ValueError, match="unknown BOF plant 'bof_999t'; valid plants"):
        BOFEnv("bof_999t")


@pytest.mark.parametrize("bad", [[np.nan, 0, 0, 0, 0], [0, 0, np.inf, 0, 0]])
def test_nan_or_inf_action_raises(bad):
    env = BOFEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match="must be finite"):
        env.step(np.array(bad, dtype=np.float32))


def test_wrong_action_shape_raises():
    env = BOFEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"shape \(4,\), expected \(1, 5\) or \(5,\)"):
        env.step(np.zeros(4))


def test_out_of_range_action_is_clipped():
    a, b = BOFEnv(), BOFEnv()
    a.reset(seed=0)
    b.reset(seed=0)
    oa = a.step(np.full(5, 7.0))[0]
    ob = b.step(np.ones(5))[0]
    np.testing.assert_array_equal(oa, ob)


def test_unknown_sensor_and_mode_rejected():
    with pytest.raises(ValueError, match=r"unknown sensor 'co_analyser'"):
        BOFEnv(sensors={"co_analyser": {"noise_std": 1.0}})
    with pytest.raises(ValueError, match="action mode must be one of"):
        BOFEnv(action_mode="relative")


def test_sensor_faults_apply():
    """A stuck off-gas analyser freezes its reading (sensor parts composed per signal)."""
    env = BOFEnv(sensors={"offgas_decarb_rate": {"stuck_prob": 1.0}})
    _obs0, _ = env.reset(seed=0)
    readings = {float(env.step(np.zeros(5))[0][4]) for _ in range(20)}
    assert len(readings) == 1


def test_plant_yaml_files_are_documented():
    for name in PLANTS:
        text = (PLANT_DIR / f"{name}.yaml").read_text()
        assert text.startswith("#"), f"{name}.yaml needs a comment saying what it models"
        json.dumps(BOFEnv(name).variant.params.as_dict())


SCENARIOS = sorted(p.stem for p in (PLANT_DIR.parent / "scenarios" / "bof").glob("*.yaml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_every_scenario_passes_check_env(scenario):
    env = gym.make("plantrl/BOF-v1", plant="bof_250t", scenario=scenario)
    check_env(env.unwrapped, skip_render_check=True)


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
    assert kc_per_heat[-1] < 0.85 * kc_per_heat[0]  # the event has cut k_C by heat 6


def test_unknown_scenario_lists_valid():
    with pytest.raises(ValueError, match=r"unknown BOF scenario 'storm'; valid scenarios"):
        BOFEnv(scenario="storm")
    with pytest.raises(ValueError, match=r"unknown scenario key"):
        BOFEnv(scenario={"weather": 1})


@pytest.mark.parametrize("plant", PLANTS)
def test_zero_action_delivers_the_planned_additions(plant):
    """The actuator limits never cut the operator's own practice (ore and lime as planned)."""
    env = BOFEnv(plant)
    for seed in range(4):
        env.reset(seed=seed)
        done = False
        while not done:
            _, _, done, _, _ = env.step(np.zeros(5))
        x, heat = env.batch.state[0], env.batch.params[0, core.P_HEAT]
        # windows of the planned oxygen are hit to within one 10-s step of feed (≤ 3.5 %)
        assert x[core.X_LIME] == pytest.approx(x[core.X_LIME_PLAN], rel=0.035)
        assert x[core.X_ORE] == pytest.approx(x[core.X_ORE_PLAN], rel=0.035, abs=0.2 * heat)
