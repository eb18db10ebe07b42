"""Paint-line behaviour of plantrl/PaintLine-v1 (shared env contract: test_env_contract.py).

Physics against docs/physics/paint.md §9 is tested on the core in ``test_paint_physics.py``;
here: the recipe as the zero action, the exact measurement lag seen through the env, the shift
summary, scenarios and the SB3 adapter.
"""

from __future__ import annotations

import numpy as np
import pytest

from agents.baselines.operator import OperatorPolicy
from agents.evaluation import evaluate
from agents.policy import RandomPolicy
from agents.vecenv import make_sb3_vec_env
from envs.paint import layout
from envs.paint.derive import practice_setpoints
from envs.paint.env import PaintEnv, PaintVectorEnv
from envs.paint.params import PaintLineParams

ZERO = np.zeros(layout.N_ACT, np.float32)


def run_shift(env: PaintEnv, seed: int, action: np.ndarray = ZERO) -> tuple[list, list, dict]:
    """Observations and per-body KPIs of one shift under a constant action; the last info."""
    obs, info = env.reset(seed=seed)
    observations, bodies, done = [obs], [], False
    while not done:
        obs, _, term, trunc, info = env.step(action)
        observations.append(obs)
        bodies.append(info["product_kpi"])
        done = term or trunc
    return observations, bodies, info


def test_zero_adjust_action_is_the_recipe_of_the_body_style():
    env = PaintEnv(shift_bodies=30)
    env.reset(seed=3)
    recipe = np.empty(layout.N_ACT)
    styles = set()
    for _ in range(30):
        obs, *_, info = env.step(ZERO)
        style = int(info["product_kpi"]["body_style"])
        styles.add(style)
        practice_setpoints(env.batch.params[0], env.batch.derived[0], style, recipe)
        actuals = env.batch.state[0, layout.X.act : layout.X.act + layout.N_ACT]
        np.testing.assert_array_equal(actuals, recipe)  # bit for bit
        np.testing.assert_allclose(obs[17:25], recipe[:8], rtol=1e-6)  # shown as float32
    assert len(styles) > 1  # a mixed-model line: the recipe changed with the style


@pytest.mark.parametrize("delay", [25, 40, 60])
def test_dft_reading_is_exactly_the_configured_number_of_bodies_late(delay: int):
    plant = {"params": {"dft_delay_bodies": float(delay)}}
    exact = {"dft_base": {"noise_std": 0.0}, "dft_clear": {"noise_std": 0.0}}
    env = PaintEnv(plant, sensors=exact, shift_bodies=delay + 40)
    observations, bodies, _ = run_shift(env, seed=1)
    for k in range(delay + 1, len(bodies) + 1):  # obs after step k shows body k - delay
        body = bodies[k - delay - 1]
        assert observations[k][8] == np.float32(body["dft_base_um"])
        assert observations[k][9] == np.float32(body["dft_clear_um"])
        assert observations[k][10] == body["body_style"]


def test_shift_summary_matches_the_bodies():
    env = PaintEnv(shift_bodies=120)
    _, bodies, info = run_shift(env, seed=2)
    assert info["unit_end"] and len(bodies) == 120
    summary, p = info["unit_kpi"], env.params
    assert list(summary) == list(layout.SHIFT_KPI_NAMES)
    for layer in ("base", "clear"):
        dft = np.array([b[f"dft_{layer}_um"] for b in bodies])
        target = getattr(p, f"{layer}_dft_target_um")
        tol = getattr(p, f"{layer}_dft_tol_um")
        sd = dft.std(ddof=1)
        cpk = min(target + tol - dft.mean(), dft.mean() - target + tol) / (3 * sd)
        assert summary[f"dft_{layer}_mean_um"] == pytest.approx(dft.mean(), rel=1e-12)
        assert summary[f"dft_{layer}_sd_um"] == pytest.approx(sd, rel=1e-9)
        assert summary[f"cpk_{layer}"] == pytest.approx(cpk, rel=1e-9)
        in_spec = np.mean([b[f"in_spec_{layer}"] for b in bodies])
        assert summary[f"in_spec_{layer}_rate"] == pytest.approx(in_spec)
    cost = np.mean([b["cost_eur"] for b in bodies])
    assert summary["cost_eur_per_body"] == pytest.approx(cost, rel=1e-12)


def test_vector_env_reports_shift_kpis_at_truncation():
    venv = PaintVectorEnv(3, shift_bodies=20)
    venv.reset(seed=0)
    for _ in range(20):
        _, _, term, trunc, info = venv.step(np.zeros((3, layout.N_ACT), np.float32))
        assert not term.any()
    assert trunc.all() and info["unit_end"].all()
    assert np.all(info["unit_kpi/bodies"] == 20) and np.isfinite(info["unit_kpi/cpk_base"]).all()


def test_drift_scenario_thins_the_clear_from_body_100():
    """The thin clear lot of the drift profile lands at body 100 (known start,
    docs/physics/paint.md §3.10)."""
    _, bodies, _ = run_shift(PaintEnv(scenario="drift", shift_bodies=160), seed=4)
    clear = np.array([b["dft_clear_um"] for b in bodies])
    before, after = clear[50:99].mean(), clear[110:160].mean()
    assert after < 0.93 * before  # ≈ −10 % solids → ≈ −10 % film
    _, nominal, _ = run_shift(PaintEnv(scenario="nominal", shift_bodies=160), seed=4)
    np.testing.assert_allclose(clear[:99], [b["dft_clear_um"] for b in nominal[:99]])


def test_sensor_fault_scenario_biases_the_base_gauge():
    env = PaintEnv(scenario="sensor_faults", shift_bodies=200)
    observations, bodies, _ = run_shift(env, seed=5)
    delay = int(env.params.dft_delay_bodies)
    shown = np.array([o[8] for o in observations[delay + 1 :]])
    true = np.array([b["dft_base_um"] for b in bodies[: len(shown)]])
    held = np.flatnonzero(np.diff(shown) == 0) + 1  # dropouts repeat the last reading
    assert held.size > 0.05 * shown.size
    fresh = np.setdiff1d(np.arange(1, shown.size), held)
    assert (shown[fresh] - true[fresh]).mean() == pytest.approx(1.0, abs=0.4)


def test_inline_wet_film_gauge_is_a_plant_option():
    off = PaintEnv(shift_bodies=5)
    on = PaintEnv({"params": {"inline_wft": 1.0}}, shift_bodies=5)
    o_off, _ = off.reset(seed=0)
    o_on, _ = on.reset(seed=0)
    assert o_off[13] == 0.0 and o_on[13] == 1.0
    o_off, *_ = off.step(ZERO)
    o_on, *_ = on.step(ZERO)
    assert o_off[11] == 0.0 and o_on[11] > 10.0  # µm of wet base film, no delay


def test_operator_recipe_beats_random_adjustments():
    make = lambda: PaintEnv(shift_bodies=60)  # noqa: E731
    seeds = range(3)
    operator = evaluate(OperatorPolicy(layout.N_ACT), make, seeds)
    rand = evaluate(RandomPolicy(layout.N_ACT, seed=0), make, seeds)
    assert operator.returns.mean() > rand.returns.mean()
    assert operator.kpi_means()["in_spec_clear_rate"] > rand.kpi_means()["in_spec_clear_rate"]


def test_sb3_adapter_trains_ppo_on_the_paint_line():
    from stable_baselines3 import PPO

    venv = make_sb3_vec_env("paint", n_envs=4, seed=0, shift_bodies=32)
    assert venv.reset().shape == (4, layout.N_OBS)
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=64, n_epochs=1, seed=0, device="cpu")
    model.learn(256)
    assert len(model.ep_info_buffer) >= 4  # shifts ended and were counted
    obs = venv.reset()
    _, _, dones, infos = venv.step(model.predict(obs, deterministic=True)[0])
    assert dones.shape == (4,) and len(infos) == 4


def test_randomising_the_takt_is_refused():
    variant = {"params": {}, "randomize": {"jph": [40.0, 60.0]}}
    with pytest.raises(ValueError, match=r"\['jph'\] cannot be randomised"):
        PaintEnv(variant)


def test_default_plant_is_the_nominal_line():
    assert PaintEnv().params == PaintLineParams.from_dict(PaintEnv().params.as_dict())
    assert PaintEnv().variant.name == "paint_50jph"
