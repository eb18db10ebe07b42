"""A policy is evaluated in the action mode it was trained in (experiments.evaluate.env_for).

An absolute-mode policy acting in adjust mode reads its outputs as adjustments around practice:
the numbers look plausible and are wrong. Evaluation reads the mode from the training run (or
the policy folder's config.yaml, an ONNX file's metadata), adopts it when the command line does
not set it, refuses an explicit contradicting ``env.kwargs.action_mode`` and tags every run.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from budgets import tiny_training
from hydra import compose, initialize
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

import envs
from agents.evaluation import evaluate
from agents.loading import load_saved_policy
from experiments import train as train_job
from experiments.lib.config_checks import ConfigError
from experiments.lib.evaluation_job import env_for, evaluate_policy, recorded_env
from experiments.lib.scenario_sets import load_scenario_set

REPO = Path(__file__).resolve().parents[1]

TINY_ABSOLUTE = (*tiny_training(final_episodes=1), "env.kwargs.action_mode=absolute")


def _store(root: Path) -> list[str]:
    """The overrides that keep every file of a job under ``root`` (the train job's store)."""
    return [
        f"tracking.uri=sqlite:///{root / 'results' / 'mlflow.db'}",
        f"tracking.artifact_location={root / 'results' / 'mlartifacts'}",
        f"paths.root={root}",
    ]


def _evaluate_config(root: Path, *overrides: str) -> dict[str, Any]:
    """``conf/evaluate.yaml`` as ``python -m experiments.evaluate <overrides>`` composes it."""
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose("evaluate", overrides=[*overrides, *_store(root)])
    container = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(container, dict)
    return container


@pytest.mark.slow
@pytest.mark.usefixtures("isolated_mlflow")
def test_absolute_mode_policy_is_evaluated_in_absolute_mode(
    tmp_path: Path, compose_train: Any
) -> None:
    train_job.train(compose_train(tmp_path, *TINY_ABSOLUTE))
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'results' / 'mlflow.db'}")
    (exp,) = [e for e in client.search_experiments() if e.name == "debug"]
    (run,) = client.search_runs([exp.experiment_id])
    spec = f"runs:/{run.info.run_id}"
    assert recorded_env(spec) is not None and recorded_env(spec).options == {  # type: ignore[union-attr]
        "action_mode": "absolute"
    }

    # the default evaluate config says adjust: the policy's own mode wins, and is tagged
    job = _evaluate_config(tmp_path, f"policy={spec}", "scenario_sets=[nominal]", "episodes=2")
    assert job["env"]["kwargs"]["action_mode"] == "adjust"
    result = evaluate_policy(job, None)["nominal"]
    (ev,) = [e for e in client.search_experiments() if e.name == "bof-evaluation"]
    (eval_run,) = client.search_runs([ev.experiment_id])
    assert eval_run.data.tags["action_mode"] == "absolute"
    # its own family: reports never pool it with the adjusting policies of its algorithm
    assert eval_run.data.tags["policy_family"] == "ppo-absolute"

    # the same numbers as the saved policy acting on absolute-mode envs of the same episodes
    seeds = load_scenario_set("bof", "nominal").with_episodes(2).seeds
    policy = load_saved_policy(tmp_path / "results" / "checkpoints" / run.info.run_id / "final")

    def make(mode: str) -> Any:
        return lambda: envs.make("bof", scenario="nominal", action_mode=mode)

    absolute = evaluate(policy, make("absolute"), seeds).returns.mean()
    assert result["return_mean"] == pytest.approx(float(absolute), rel=1e-12)
    adjust = evaluate(policy, make("adjust"), seeds).returns.mean()
    assert abs(float(adjust) - float(absolute)) > 1e-6  # the mode matters for this policy

    # the report draws it acting in its own mode too
    from experiments.report import trajectory

    drawn = np.asarray(trajectory("bof", "plantrl/BOF-v2", None, spec, seeds[0])["act"])
    env, actions, done = make("absolute")(), [], False
    obs, _ = env.reset(seed=seeds[0])
    while not done:
        actions.append(np.asarray(policy.act(obs[None, :]))[0])
        obs, _, term, trunc, _ = env.step(actions[-1])
        done = term or trunc
    np.testing.assert_array_equal(drawn, np.asarray(actions))

    # the policy folder records its mode in config.yaml: adopted the same way
    folder = str(tmp_path / "results" / "checkpoints" / run.info.run_id / "final")
    assert env_for(folder, job["env"])["kwargs"]["action_mode"] == "absolute"

    # an explicit contradicting override is refused, through the command line as a user types it
    with pytest.raises(ConfigError, match=r"contradicts .* trained with action_mode=absolute"):
        env_for(spec, job["env"], explicit={"env.kwargs.action_mode"})
    cmd = [
        sys.executable,
        "-m",
        "experiments.evaluate",
        f"policy={spec}",
        "scenario_sets=[nominal]",
        "episodes=1",
        "env.kwargs.action_mode=adjust",
        *_store(tmp_path),
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("HYDRA_FULL_ERROR", None)
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 2, out.stderr
    assert "env.kwargs.action_mode=adjust contradicts" in out.stderr
    assert len(client.search_runs([ev.experiment_id])) == 1  # no run for the refused job


def test_baselines_record_no_mode_and_onnx_metadata_is_read(tmp_path: Path) -> None:
    assert recorded_env("baseline:pid") is None
    env = {"name": "bof", "id": "plantrl/BOF-v2", "kwargs": {"action_mode": "adjust"}}
    assert env_for("baseline:operator", env) == env
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["obs"], ["a"])],
        "identity",
        [onnx.helper.make_tensor_value_info("obs", onnx.TensorProto.FLOAT, ["batch", 5])],
        [onnx.helper.make_tensor_value_info("a", onnx.TensorProto.FLOAT, ["batch", 5])],
    )
    model = onnx.helper.make_model(graph)
    path = tmp_path / "p.onnx"
    onnx.save(model, path)
    assert recorded_env(str(path)) is None  # no metadata: the job's config decides
    onnx.helper.set_model_props(model, {"env_id": "plantrl/BOF-v2", "action_mode": "absolute"})
    onnx.save(model, path)
    assert env_for(str(path), env)["kwargs"]["action_mode"] == "absolute"
    # a policy of another process needs its own env, said with the override that gives it
    onnx.helper.set_model_props(model, {"env_name": "paint", "env_id": "plantrl/PaintLine-v1"})
    onnx.save(model, path)
    with pytest.raises(ConfigError, match="evaluate it with env=paint"):
        env_for(str(path), env)
