"""MPC on estimates of the paint line: what it may know, reproducibility, plant binding.

The controller must plan with the oracle's settings from a copy whose unmeasured rows come from
the observations (so changing a hidden row of the plant cannot change its plan, changing a
measured one does), follow a bad paint lot through the delayed gauge, give the same numbers
twice and refuse another plant's env (issue 13's information-matched reference).
"""

from __future__ import annotations

import doctest
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import yaml

import envs
from agents import paint_line_estimator
from agents.baselines import paint_mpc_est
from agents.baselines.paint_mpc import CONFIG_PATH as ORACLE_CONFIG
from agents.baselines.paint_mpc import PaintMPCOracle
from agents.baselines.paint_mpc_est import PaintMPCEstimates, estimated_copy
from agents.evaluation import evaluate
from agents.paint_line_estimator import PaintLineEstimator
from envs.paint import resolve_variant
from envs.paint.layout import LAYER_STRIDE, XL, X
from experiments.lib.policy_specs import describe, resolve_policy

SEEDS = [300000, 300001]
# cheap planner settings: the tests check information flow, not the plan's quality
CHEAP = {"samples": 32, "iterations": 1, "fresh_iterations": 2, "scenarios": 2, "horizon": 2}
CLIMATE = ("booth_temp", "booth_rh", "outdoor_temp", "outdoor_rh")
CUPS = ("paint_temp_base", "paint_temp_clear", "visc_base_cup", "visc_clear_cup")
EXACT = {"sensors": {name: {"noise_std": 0.0} for name in (*CLIMATE, *CUPS)}}


def layer_row(layer: int, name: str) -> int:
    return X.layers + layer * LAYER_STRIDE + getattr(XL, name)


def make_paint(scenario: Any = "nominal", **kwargs: Any) -> gym.Env:
    return gym.make("plantrl/PaintLine-v1", scenario=scenario, **kwargs)


def started(seed: int, bodies: int = 3, scenario: Any = "nominal") -> tuple[gym.Env, np.ndarray]:
    """A line after ``bodies`` bodies at the recipe, and its observation."""
    env = make_paint(scenario)
    obs, _ = env.reset(seed=seed)
    for _ in range(bodies):
        obs, *_ = env.step(np.zeros(11, dtype=np.float32))
    return env, obs


def first_action(policy: Any, env: gym.Env, obs: np.ndarray) -> np.ndarray:
    policy.reset(1)
    policy.attach([env])
    return np.asarray(policy.act(obs[None].astype(np.float64)))[0]


def test_doctests() -> None:
    assert doctest.testmod(paint_mpc_est).failed == 0
    assert doctest.testmod(paint_line_estimator).failed == 0


def test_settings_are_the_oracles() -> None:
    """oracle − MPC-on-estimates must measure information only: same planner settings."""
    est = yaml.safe_load(Path(paint_mpc_est.CONFIG_PATH).read_text())
    oracle = yaml.safe_load(Path(ORACLE_CONFIG).read_text())
    assert 0.0 < est.pop("solids_gain") <= 1.0  # the estimator's own setting
    assert est == oracle


@pytest.mark.parametrize("bodies", [0, 5])  # at a shift start the outdoor phase is not rotated
def test_copy_from_exact_readings_is_the_true_line(bodies: int) -> None:
    """With noise-free sensors the readings give the hidden rows back (float32 observations):
    the conversion arithmetic is the plant's own; every kept row is the plant's."""
    env, obs = started(SEEDS[0], bodies=bodies, scenario=EXACT)
    plants = env.unwrapped.batch.plants
    before = plants.state.copy()
    x = before[0]
    solids = [x[layer_row(k, "lot_vs")] * x[layer_row(k, "dr_vs")] for k in range(2)]
    copy = estimated_copy(plants, obs.astype(np.float64), np.array(solids), x[X.wear])
    np.testing.assert_array_equal(plants.state, before)  # the plant is not touched
    y = copy.state[0]
    for row in ("t_booth", "pv_booth", "dt_out", "drh_out", "wear"):
        assert y[getattr(X, row)] == pytest.approx(x[getattr(X, row)], rel=1e-4, abs=1e-4), row
    for k in range(2):
        assert y[layer_row(k, "tpaint_dev")] == pytest.approx(
            x[layer_row(k, "tpaint_dev")], abs=1e-4
        )
        visc = x[layer_row(k, "lot_ln_visc")] + x[layer_row(k, "dr_ln_visc")]
        assert y[layer_row(k, "lot_ln_visc")] + y[layer_row(k, "dr_ln_visc")] == pytest.approx(
            visc, abs=1e-5
        )
        product = y[layer_row(k, "lot_vs")] * y[layer_row(k, "dr_vs")]
        assert product == pytest.approx(solids[k], rel=1e-12)
    changed = {getattr(X, n) for n in paint_mpc_est.ESTIMATED_ROWS}
    changed |= {layer_row(k, n) for k in range(2) for n in paint_mpc_est.ESTIMATED_LAYER_ROWS}
    kept = [j for j in range(before.shape[1]) if j not in changed]
    np.testing.assert_array_equal(y[kept], x[kept])


def test_estimated_copy_rejects_bad_input() -> None:
    env, obs = started(SEEDS[0], bodies=0)
    plants, o = env.unwrapped.batch.plants, obs.astype(np.float64)
    with pytest.raises(ValueError, match="one observation row"):
        estimated_copy(plants, o[:10], np.ones(2), 1.0)
    bad = o.copy()
    bad[envs.paint.layout.OBSERVATION.index("booth_rh")] = np.nan
    with pytest.raises(ValueError, match="finite climate"):
        estimated_copy(plants, bad, np.ones(2), 1.0)
    with pytest.raises(ValueError, match="wear > 0"):
        estimated_copy(plants, o, np.array([1.0, 0.0]), 1.0)


def perturb_hidden(x: np.ndarray) -> None:
    """Change every unmeasured row the step reads (the observation stays as it was)."""
    x[X.dt_out] += 3.0
    x[X.drh_out] -= 10.0
    x[X.wear] *= 1.2
    for k in range(2):
        x[layer_row(k, "tpaint_dev")] += 2.0
        x[layer_row(k, "lot_ln_visc")] += 0.2
        x[layer_row(k, "dr_ln_visc")] -= 0.1
        x[layer_row(k, "dr_visc")] = np.exp(x[layer_row(k, "dr_ln_visc")])
        x[layer_row(k, "lot_vs")] *= 0.9
        x[layer_row(k, "dr_vs")] *= 1.05


def test_hidden_rows_do_not_change_the_plan_measured_ones_do() -> None:
    env, obs = started(SEEDS[1])
    plan = first_action(PaintMPCEstimates.from_config(**CHEAP), env, obs)
    oracle = first_action(PaintMPCOracle.from_config(**CHEAP), env, obs)
    assert np.abs(plan).max() > 0.05  # a plan, not the recipe the search started from
    # the same line with its hidden state moved (what the oracle reads), same observation
    hidden, obs_h = started(SEEDS[1])
    np.testing.assert_array_equal(obs_h, obs)
    perturb_hidden(hidden.unwrapped.batch.state[0])
    np.testing.assert_array_equal(
        first_action(PaintMPCEstimates.from_config(**CHEAP), hidden, obs_h), plan
    )
    assert not np.array_equal(
        first_action(PaintMPCOracle.from_config(**CHEAP), hidden, obs_h), oracle
    )
    # a measured row kept from the plant (the oven air, read exactly) does move the plan
    oven, obs_o = started(SEEDS[1])
    oven.unwrapped.batch.state[0, X.oven_t] += 5.0
    moved = first_action(PaintMPCEstimates.from_config(**CHEAP), oven, obs_o)
    assert not np.array_equal(moved, plan)
    # and so does a reading: the booth 1 K warmer than the line really is
    read = obs.copy()
    read[envs.paint.layout.OBSERVATION.index("booth_temp")] += 1.0
    est = PaintMPCEstimates.from_config(**CHEAP)
    assert not np.array_equal(first_action(est, started(SEEDS[1])[0], read), plan)


def test_solids_estimate_follows_a_bad_lot_through_the_delayed_gauge() -> None:
    """The drift set's thin clear lot (−10 % solids from body 100) reaches the estimate after
    the gauge's 40-body delay; the base solids stay those of its lot."""
    env = make_paint("drift", shift_bodies=260)
    mpc = PaintMPCEstimates.from_config(**CHEAP)
    mpc.reset(1)
    mpc.attach([env])
    obs, _ = env.reset(seed=200000)
    for body in range(260):
        obs, *_ = env.step(mpc.act(obs[None])[0])
        if body == 139:  # the delay's 40 bodies after the lot: nothing seen yet
            assert mpc.estimator.solids[0, 1] > 0.96
    x = env.unwrapped.batch.state[0]
    true = [x[layer_row(k, "lot_vs")] * x[layer_row(k, "dr_vs")] for k in range(2)]
    assert true[1] < 0.92  # the bad lot is in
    assert mpc.estimator.solids[0, 1] == pytest.approx(true[1], abs=0.03)
    # the base's estimate is noisier (a 1.5 µm gauge on 15 µm and ≈ 6 % film scatter per body:
    # ≈ 2 % s.d. at this gain) and is not dragged along by the clear lot
    assert mpc.estimator.solids[0, 0] == pytest.approx(true[0], abs=0.06)


def test_deterministic() -> None:
    def make() -> gym.Env:
        return make_paint("drift", shift_bodies=30)

    first = evaluate(PaintMPCEstimates.from_config(**CHEAP), make, SEEDS)
    again = evaluate(PaintMPCEstimates.from_config(**CHEAP), make, SEEDS)
    np.testing.assert_array_equal(first.returns, again.returns)
    other = evaluate(PaintMPCEstimates.from_config(**CHEAP, seed=1), make, SEEDS)
    assert not np.array_equal(first.returns, other.returns)


def test_built_for_the_evaluated_plant_and_refuses_another() -> None:
    policy, _ = resolve_policy(
        "baseline:mpc_est", "paint", 35, 11, "paint_70jph_hot_humid", {"action_mode": "adjust"}
    )
    assert isinstance(policy, PaintMPCEstimates)
    assert policy.plant is not None and policy.plant.name == "paint_70jph_hot_humid"
    assert policy.estimator.params.jph == resolve_variant("paint_70jph_hot_humid").params.jph
    assert describe("baseline:mpc_est")["policy_family"] == "mpc_est"
    policy.attach([envs.make("paint", "paint_70jph_hot_humid")])
    with pytest.raises(ValueError, match="built for plant 'paint_70jph_hot_humid'"):
        policy.attach([envs.make("paint", "paint_50jph")])
    with pytest.raises(ValueError, match="is for process 'bof'"):
        PaintMPCEstimates.from_config(plant="bof_250t")


def test_bad_use_fails_clearly() -> None:
    mpc = PaintMPCEstimates.from_config(**CHEAP)
    with pytest.raises(RuntimeError, match="attach"):
        mpc.act(np.zeros((1, 35)))
    mpc.attach([make_paint()])
    with pytest.raises(ValueError, match="obs must have shape"):
        mpc.act(np.zeros((2, 35)))
    with pytest.raises(ValueError, match="solids_gain"):
        PaintMPCEstimates.from_config(solids_gain=0.0)
    est = PaintLineEstimator(resolve_variant("paint_50jph").params)
    est.reset(1)
    with pytest.raises(ValueError, match="predictions must have shape"):
        est.record_prediction(np.zeros(2))
    with pytest.raises(ValueError, match="obs must have shape"):
        est.update(np.zeros((1, 30)))


def test_a_missing_reading_holds_the_last_one() -> None:
    env, obs = started(SEEDS[0], bodies=0)
    est = PaintLineEstimator(resolve_variant("paint_50jph").params)
    est.update(obs[None])
    obs, *_ = env.step(np.zeros(11, dtype=np.float32))
    lost = obs.astype(np.float64)
    column = envs.paint.layout.OBSERVATION.index("booth_rh")
    held = est.reading[0, column]
    lost[column] = np.nan
    est.update(lost[None])
    assert est.reading[0, column] == held
    assert est.reading[0, column + 1] == lost[column + 1]  # the others are this body's


def test_convergence_study_covers_the_mpc_on_estimates_of_both_processes() -> None:
    from agents.baselines.bof_mpc_est import BOFMPCEstimates
    from experiments.studies import mpc_convergence as conv

    paint = conv.STUDIES["paint"].for_baseline("mpc_est")
    assert paint.oracle is PaintMPCEstimates and paint.config_path == paint_mpc_est.CONFIG_PATH
    assert "solids_gain" in paint.sweeps and "solids_gain" not in conv.STUDIES["paint"].sweeps
    bof = conv.STUDIES["bof"].for_baseline("mpc_est")
    assert bof.oracle is BOFMPCEstimates and bof.title == "MPC on estimates"
    assert bof.extra == ()  # the clairvoyant row needs the tap errors an estimate cannot know
    assert conv.STUDIES["bof"].for_baseline("mpc").oracle is conv.bof_mpc.BOFMPCOracle
    with pytest.raises(ValueError, match="baseline must be one of"):
        conv.STUDIES["bof"].for_baseline("pid")
    with pytest.raises(SystemExit):
        conv.main(["--process", "paint", "--baseline", "oracle"])


@pytest.mark.slow
def test_paint_report_has_the_reference_row_and_the_decomposition(tmp_path: Path) -> None:
    """experiments.evaluate logs baseline:mpc_est for the paint line under its own family, and
    the report's table and information/control line pick it up as they do for the BOF."""
    from experiments import report
    from experiments.lib.evaluation_job import evaluate_policy

    def config(policy: str) -> dict[str, Any]:
        return {
            "env": {
                "name": "paint",
                "id": "plantrl/PaintLine-v1",
                "kwargs": {"action_mode": "adjust", "shift_bodies": 12},  # a short shift
            },
            "plant": "paint_50jph",
            "policy": policy,
            "scenario_sets": ["nominal"],
            "episodes": 1,
            "tracking": {
                "uri": f"sqlite:///{tmp_path}/mlflow.db",
                "artifact_location": str(tmp_path / "art"),
                "experiment": "paint-evaluation",
            },
        }

    for policy in ("baseline:pid", "baseline:mpc_est", "baseline:mpc"):
        evaluate_policy(config(policy), "paint_50jph")
    runs = report.evaluation_runs("paint", resolve_variant("paint_50jph"))
    assert set(runs["tags.policy_family"]) == {"pid", "mpc_est", "mpc"}
    table, stats = report.scenario_table("paint", runs)
    rows = [line.split(" | ")[0].strip("| ") for line in table.splitlines()[2:]]
    assert rows == ["pid", "mpc_est", "mpc"]  # the reference rows, weakest first
    assert stats["mpc_est"]["delta"] == pytest.approx(
        stats["mpc_est"]["mean"] - stats["pid"]["mean"]
    )
    line = report.decomposition(
        {f: r["mean"] for f, r in stats.items()}, report.RETURN_UNIT["paint"]
    )
    assert "information (oracle − MPC on estimates)" in line and "hEUR" in line
