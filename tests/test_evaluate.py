"""The evaluation protocol: scenario sets, policy resolution, statistics, MLflow logging, report."""

from __future__ import annotations

import json
from pathlib import Path

import mlflow
import numpy as np
import onnx
import pytest
import yaml
from onnx import TensorProto, helper

import envs
from agents.baselines.operator import OperatorPolicy
from agents.builder import save_policy
from agents.evaluation import evaluate
from agents.loading import ONNXPolicy, check_policy_shapes
from agents.vecenv import make_sb3_vec_env
from envs.paint.env import PaintEnv
from envs.steel import BOFEnv
from experiments.lib.evaluation_job import evaluate_policy
from experiments.lib.policy_specs import resolve_policy
from experiments.lib.scenario_sets import load_scenario_set, scenario_names
from experiments.lib.stats import (
    drift_recovery,
    episode_recovery,
    gap_closed,
    iqm_with_ci,
    paired_delta_with_ci,
    probability_of_improvement,
)

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- scenario sets
@pytest.mark.parametrize("process", ["bof", "paint"])
def test_every_process_has_the_three_scenario_sets(process: str):
    assert {"nominal", "drift", "sensor_faults"} <= set(scenario_names(process))
    for name in scenario_names(process):
        s = load_scenario_set(process, name)
        assert len(s.seeds) >= 16 and len(set(s.seeds)) == len(s.seeds)
    drift = load_scenario_set(process, "drift")
    assert drift.drift_start is not None and drift.recovery_kpis


def test_unknown_scenario_set_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown scenario set 'storm' for 'bof'; valid: \["):
        load_scenario_set("bof", "storm")


# ---------------------------------------------------------------- statistics
def test_recovery_counts_units_until_the_window_is_back_in_spec():
    flags = np.ones(60)
    assert episode_recovery(flags, 10, 5, 0.8) == (0, True, 0)  # never hit
    flags[15:25] = 0.0
    units, recovered, bad = episode_recovery(flags, 10, 5, 0.8)
    assert recovered and bad == 10 and units == 18  # window 24..28 has 4 of 5 in spec
    flags[15:] = 0.0
    assert episode_recovery(flags, 10, 5, 0.8) == (50, False, 45)  # censored at the end


def test_drift_recovery_reads_all_recovery_kpis():
    series = [[{"a": 1.0, "b": float(k < 5 or k > 9)} for k in range(30)]]
    rec = drift_recovery(series, 3, ["a", "b"], 3, 1.0)
    assert rec.recovered == [True] and rec.out_of_spec == [5]
    with pytest.raises(ValueError, match=r"recovery KPIs \['c'\] not in"):
        drift_recovery(series, 3, ["c"], 3, 1.0)


def test_gap_closed_and_rliable_statistics():
    assert gap_closed(-10.0, -8.0, -6.0) == pytest.approx(0.5)
    assert np.isnan(gap_closed(-10.0, -8.0, -10.0))
    scores = np.random.default_rng(0).normal(size=(3, 40))
    iqm, lo, hi = iqm_with_ci(scores)
    assert lo < iqm < hi
    assert probability_of_improvement(scores + 5.0, scores) > 0.95
    with pytest.raises(ValueError, match="same episodes"):
        probability_of_improvement(scores, scores[:, :5])


def test_iqm_interval_is_reproducible_and_leaves_the_global_rng_alone():
    """rliable bootstraps with NumPy's global RNG: the same scores give the same CI on every
    call (a report regenerated from the same store is the same), and callers' draws are kept."""
    scores = np.random.default_rng(1).normal(size=(5, 128))
    np.random.seed(5)  # noqa: NPY002 - the RNG rliable draws from
    first = iqm_with_ci(scores)
    after = np.random.rand()  # noqa: NPY002
    np.random.seed(5)  # noqa: NPY002 - the RNG rliable draws from
    assert iqm_with_ci(scores) == first
    assert np.random.rand() == after  # noqa: NPY002


def test_paired_delta_sees_a_small_gain_under_large_shared_noise():
    """Episodes differ by ±10 (the charge), the policy gains 0.1 on each: unpaired it is lost in
    the noise, paired on the same episodes it is certain; a zero gain is not."""
    rng = np.random.default_rng(1)
    reference = rng.normal(0.0, 10.0, size=64)
    runs = reference[None, :] + 0.1 + rng.normal(0.0, 0.05, size=(5, 64))
    mean, lo, hi, p_positive = paired_delta_with_ci(runs, reference)
    assert mean == pytest.approx(0.1, abs=0.02) and 0 < lo < mean < hi and p_positive == 1.0
    _, lo0, hi0, p0 = paired_delta_with_ci(runs - 0.1, reference)
    assert lo0 < 0 < hi0 and 0.05 < p0 < 0.95
    with pytest.raises(ValueError, match="same episodes"):
        paired_delta_with_ci(runs, reference[:10])


# ---------------------------------------------------------------- policies
def _tiny_sb3_policy(tmp_path: Path) -> Path:
    from stable_baselines3 import PPO

    venv = make_sb3_vec_env("bof", n_envs=2, seed=0)
    model = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
    model.learn(64)
    folder = save_policy(model, None, tmp_path / "policy")
    agent = {"name": "ppo", "recurrent": False, "algo": {"_target_": "stable_baselines3.PPO"}}
    (folder / "config.yaml").write_text(yaml.safe_dump({"agent": agent}))
    return folder


def test_policy_trained_for_another_process_is_refused(tmp_path: Path):
    folder = _tiny_sb3_policy(tmp_path)
    policy, _ = resolve_policy(str(folder), "bof", 26, 5)
    assert policy.act(np.zeros((3, 26), np.float32)).shape == (3, 5)
    with pytest.raises(ValueError, match=r"expects observations of shape \(26,\), but the env"):
        resolve_policy(str(folder), "paint", 35, 11)


def _linear_onnx(path: Path, n_obs: int, n_act: int) -> Path:
    weight = helper.make_tensor("w", TensorProto.FLOAT, [n_obs, n_act], [0.001] * (n_obs * n_act))
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["obs", "w"], ["z"]), helper.make_node("Tanh", ["z"], ["a"])],
        "linear",
        [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", n_obs])],
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, ["batch", n_act])],
        [weight],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 9
    onnx.save(model, path)
    return path


def test_onnx_policy_acts_and_checks_its_input(tmp_path: Path):
    path = _linear_onnx(tmp_path / "p.onnx", 26, 5)
    policy = ONNXPolicy(path)
    res = evaluate(policy, lambda: BOFEnv(), [0, 1])
    assert np.isfinite(res.returns).all()
    with pytest.raises(ValueError, match=r"expects observations of shape \(26,\)"):
        check_policy_shapes(policy, 35, 11, "policy 'p.onnx'")
    (tmp_path / "bad.onnx").write_text("not a model")
    with pytest.raises(ValueError, match=r"cannot load .*bad\.onnx as an ONNX model"):
        ONNXPolicy(tmp_path / "bad.onnx")


def test_unresolvable_specs_fail_clearly(tmp_path: Path):
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/m.db")
    with pytest.raises(ValueError, match="cannot load model 'models:/plantrl-bof@nobody'"):
        resolve_policy("models:/plantrl-bof@nobody", "bof", 26, 5)
    with pytest.raises(ValueError, match="no MLflow run '0123456789abcdef0123456789abcdef'"):
        resolve_policy("runs:/0123456789abcdef0123456789abcdef", "bof", 26, 5)
    with pytest.raises(ValueError, match="unknown baseline 'lqr'"):
        resolve_policy("baseline:lqr", "bof", 26, 5)
    with pytest.raises(ValueError, match="cannot resolve policy 'whatever'"):
        resolve_policy("whatever", "bof", 26, 5)


# ---------------------------------------------------------------- determinism and tracking
@pytest.mark.parametrize("make", [lambda: BOFEnv(), lambda: PaintEnv(shift_bodies=40)])
def test_evaluating_twice_gives_identical_numbers(make):
    first = evaluate(OperatorPolicy(make().action_space.shape[0]), make, [3, 4])
    second = evaluate(OperatorPolicy(make().action_space.shape[0]), make, [3, 4])
    np.testing.assert_array_equal(first.returns, second.returns)
    assert first.units == second.units and first.series == second.series


def _config(tmp_path: Path, policy: str, sets: list[str]) -> dict:
    return {
        "env": {"name": "bof", "id": "plantrl/BOF-v2", "kwargs": {"action_mode": "adjust"}},
        "plant": "bof_250t",
        "policy": policy,
        "scenario_sets": sets,
        "episodes": 2,
        "tracking": {
            "uri": f"sqlite:///{tmp_path}/mlflow.db",
            "artifact_location": str(tmp_path / "art"),
            "experiment": "bof-evaluation",
        },
    }


def test_evaluate_logs_runs_with_episode_records(tmp_path: Path):
    out = evaluate_policy(_config(tmp_path, "baseline:operator", ["nominal", "drift"]), "bof_250t")
    again = evaluate_policy(_config(tmp_path, "baseline:operator", ["nominal"]), "bof_250t")
    assert out["nominal"] == again["nominal"]  # same set, same numbers
    assert "drift/recovered_share" in out["drift"]
    runs = mlflow.search_runs(experiment_names=["bof-evaluation"])
    assert len(runs) == 3 and set(runs["tags.policy_family"]) == {"operator"}
    run_id = runs[runs["tags.scenario_set"] == "drift"]["run_id"].iloc[0]
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="episodes.json")
    record = json.loads(Path(path).read_text())
    assert len(record["returns"]) == 2 and len(record["series"][0]) == 20  # 20 heats


def test_the_scenario_set_decides_the_episodes_not_the_training_run(tmp_path: Path):
    """A policy trained on 20-heat nominal campaigns (env.kwargs.campaign_heats=20) is evaluated
    on the nominal set's single heats, paired with the baselines' episodes."""
    config = _config(tmp_path, "baseline:operator", ["nominal"])
    plain = evaluate_policy(config, "bof_250t")["nominal"]
    config["env"]["kwargs"].update(campaign_heats=20, randomize=True, scenario="drift")
    assert evaluate_policy(config, "bof_250t")["nominal"] == plain


def test_evaluate_rejects_unknown_scenario_set_before_running(tmp_path: Path):
    with pytest.raises(ValueError, match="unknown scenario set 'storm'"):
        evaluate_policy(_config(tmp_path, "baseline:operator", ["nominal", "storm"]), "bof_250t")
    assert mlflow.search_runs(experiment_names=["bof-evaluation"]).empty


@pytest.mark.parametrize("process", ["bof", "paint"])
def test_report_trajectory_figure_reads_the_declared_controlled_variables(process, tmp_path):
    """The report draws any process from its layout (no branch on the process name)."""
    from experiments.report import trajectory, trajectory_figure

    env_id = envs.process(process).env_id
    rec = trajectory(process, env_id, None, "baseline:operator", seed=0)
    n_cv = len(envs.process(process).layout_module.CONTROLLED)
    assert np.asarray(rec["cv"]).shape[1] == n_cv and np.isfinite(rec["cv"]).all()
    assert trajectory_figure(process, {"operator": rec}, tmp_path).stat().st_size > 10_000


# ---------------------------------------------------------------- baselines for the evaluated plant
def _heat_actions(policy, env, seed: int) -> np.ndarray:
    """Actions of ``policy`` over one heat of ``env`` (its own observations)."""
    policy.reset(1)
    obs, _ = env.reset(seed=seed)
    actions, done = [], False
    while not done:
        action = np.asarray(policy.act(obs[None, :]))[0]
        actions.append(action)
        obs, _, term, trunc, _ = env.step(action)
        done = term or trunc
    return np.array(actions)


def test_pid_built_by_evaluate_on_bof_120t_is_the_pid_built_for_it(tmp_path: Path, monkeypatch):
    """The issue's case: on bof_120t, evaluate used the PID built for bof_250t."""
    from hydra import compose, initialize
    from omegaconf import OmegaConf

    import experiments.lib.evaluation_job as evaluate_job
    from agents.baselines.bof_pid import BOFPID

    built = []

    def capture(policy, make_env, seeds):
        built.append(policy)
        return evaluate(policy, make_env, seeds)

    monkeypatch.setattr(evaluate_job, "evaluate", capture)
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose(
            "evaluate",
            overrides=[
                "plant=bof_120t",
                "policy=baseline:pid",
                "scenario_sets=[nominal]",
                "episodes=1",
                f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
            ],
        )
    evaluate_policy(OmegaConf.to_container(cfg, resolve=True), "bof_120t")
    (pid,) = built
    env = envs.make("bof", "bof_120t", scenario="nominal")
    seed = load_scenario_set("bof", "nominal").seeds[0]
    direct = _heat_actions(BOFPID.from_config(plant="bof_120t"), env, seed)
    np.testing.assert_array_equal(_heat_actions(pid, env, seed), direct)
    nominal = _heat_actions(BOFPID.from_config(plant="bof_250t"), env, seed)
    assert not np.array_equal(nominal, direct)  # the test tells the two plants' PIDs apart


def test_baselines_get_the_env_options_they_model():
    from agents.loading import load_baseline

    pid = load_baseline("pid", "bof", 5, "bof_120t", {"dt_s": 20.0, "action_mode": "adjust"})
    assert pid.dt_s == 20.0 and pid.params.heat_size_t == 120.0
    with pytest.raises(ValueError, match="needs action_mode='adjust'"):
        load_baseline("operator", "bof", 5, "bof_250t", {"action_mode": "absolute"})


def test_an_oracle_built_for_one_plant_refuses_another():
    from agents.baselines.bof_mpc import BOFMPCOracle

    oracle = BOFMPCOracle.from_config(plant="bof_120t", samples=8)
    oracle.attach([envs.make("bof", "bof_120t")])
    with pytest.raises(ValueError, match="built for plant 'bof_120t'"):
        BOFMPCOracle.from_config(plant="bof_120t", samples=8).attach([envs.make("bof", "bof_250t")])


def _eval(tmp_path: Path, policy: str, plant) -> str:
    """Evaluate on one nominal heat; the run id of the evaluation run."""
    config = {**_config(tmp_path, policy, ["nominal"]), "plant": plant, "episodes": 1}
    evaluate_policy(config, "bof_250t")
    runs = mlflow.search_runs(experiment_names=["bof-evaluation"], order_by=["start_time DESC"])
    return str(runs["run_id"].iloc[0])


def test_an_override_plant_never_feeds_another_plants_gap_closed(tmp_path: Path):
    from envs.steel import resolve_variant
    from experiments.report import evaluation_runs

    nominal_node = yaml.safe_load((REPO / "envs/conf/plant/bof_250t.yaml").read_text())
    override = {**nominal_node, "params": {"scrap_t": 45.0}}  # plant=bof_250t +plant.params…

    def data(run_id: str):
        return mlflow.get_run(run_id).data

    pid_nominal = _eval(tmp_path, "baseline:pid", nominal_node)
    oracle_nominal = _eval(tmp_path, "baseline:mpc", nominal_node)
    op_override = _eval(tmp_path, "baseline:operator", override)
    assert "gap_closed" not in data(op_override).metrics  # no PID or oracle run on its plant
    tags = data(op_override).tags
    assert tags["plant"] == "bof_250t+overrides"
    assert tags["plant_hash"] != data(pid_nominal).tags["plant_hash"]
    path = mlflow.artifacts.download_artifacts(run_id=op_override, artifact_path="plant.json")
    logged = json.loads(Path(path).read_text())
    assert logged["params"]["scrap_t"] == 45.0 and logged["plant_hash"] == tags["plant_hash"]
    assert len(logged["params"]) == len(envs.process("bof").params_cls.field_names())

    _eval(tmp_path, "baseline:pid", override)  # the latest PID run, but on another plant
    op_nominal = _eval(tmp_path, "baseline:operator", nominal_node)
    pid, oracle, op = (
        data(r).metrics["return_mean"] for r in (pid_nominal, oracle_nominal, op_nominal)
    )
    assert data(op_nominal).metrics["gap_closed"] == pytest.approx(gap_closed(pid, op, oracle))

    # the report selects by plant hash too
    runs = evaluation_runs("bof", resolve_variant(nominal_node))
    assert set(runs["tags.plant"]) == {"bof_250t"}
