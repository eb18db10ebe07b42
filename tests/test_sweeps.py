"""Sweeps: a multirun is one MLflow study (parent run, one child per job), on every launcher.

Each sweep runs ``python -m experiments.train -m …`` in a subprocess with tiny budgets and its own
``paths.root`` (store, checkpoints and sweep folders under ``tmp_path``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from budgets import tiny_training
from hydra import compose, initialize
from mlflow.entities import Run

from experiments.lib.cli import available_launchers, check_launcher, check_overrides
from experiments.lib.config_checks import ConfigError
from experiments.lib.sweep import check_launcher_installed
from experiments.lib.tracking import experiment_note, setup_tracking

REPO = Path(__file__).resolve().parents[1]
TINY = [*tiny_training(steps=512, final_episodes=1)]


def sweep(root: Path, *overrides: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "experiments.train", "-m", *TINY, *overrides]
    return subprocess.run(
        [*command, f"paths.root={root}"], capture_output=True, text=True, cwd=REPO, timeout=600
    )


def all_runs(root: Path) -> list[Run]:
    mlflow.set_tracking_uri(f"sqlite:///{root}/results/mlflow.db")
    client = mlflow.MlflowClient()
    ids = [e.experiment_id for e in client.search_experiments()]
    return list(client.search_runs(ids, max_results=1000))


def parent_and_children(root: Path) -> tuple[Run, list[Run]]:
    runs = all_runs(root)
    parents = [r for r in runs if r.data.tags.get("sweep") == "true"]
    assert len(parents) == 1, [r.info.run_name for r in runs]
    (parent,) = parents
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    return parent, children


# --- 1. one parent, a child per job, nothing lost -------------------------------------------------


@pytest.mark.slow
def test_a_four_job_joblib_sweep_is_one_parent_with_four_complete_children(tmp_path: Path):
    done = sweep(tmp_path, "seed=0,1,2,3", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    assert done.returncode == 0, done.stderr[-2000:]
    parent, children = parent_and_children(tmp_path)
    assert parent.info.status == "FINISHED" and parent.data.tags["launcher"] == "joblib"
    assert sorted(r.data.tags["seed"] for r in children) == ["0", "1", "2", "3"]
    assert all(r.info.status == "FINISHED" for r in children)
    # every job logged the same metrics, each learning curve has every evaluation point
    keys = {frozenset(r.data.metrics) for r in children}
    assert len(keys) == 1 and {"kpi/return_mean", "eval/return_mean"} <= next(iter(keys))
    client = mlflow.MlflowClient()
    for run in children:
        curve = client.get_metric_history(run.info.run_id, "eval/return_mean")
        assert sorted(m.step for m in curve) == [256, 512]
        assert run.data.tags["torch_threads"] == "1"  # one thread per parallel job
        assert "learning_curve.png" in {a.path for a in client.list_artifacts(run.info.run_id)}
    assert parent.data.metrics["sweep/children_finished"] == 4
    summary = mlflow.artifacts.load_text(f"{parent.info.artifact_uri}/sweep_summary.md")
    assert summary.count("| FINISHED |") == 4 and "| seed |" in summary


@pytest.mark.slow
def test_the_basic_launcher_nests_its_jobs_too(tmp_path: Path):
    done = sweep(tmp_path, "seed=0,1")
    assert done.returncode == 0, done.stderr[-2000:]
    parent, children = parent_and_children(tmp_path)
    assert parent.data.tags["launcher"] == "basic" and len(children) == 2
    assert {r.data.tags["torch_threads"] for r in children} != {""}


def test_a_plain_run_is_no_child(tmp_path: Path):
    cmd = [sys.executable, "-m", "experiments.train", *TINY, f"paths.root={tmp_path}"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (run,) = all_runs(tmp_path)
    assert "mlflow.parentRunId" not in run.data.tags and "sweep" not in run.data.tags


# --- 2. bad input: one line, exit code 2, before any job --------------------------------------


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (["seed=0,1", "hydra/launcher=ray"], "hydra/launcher=ray is not installed; available:"),
        (["seed=0,,1"], "Error parsing override 'seed=0,,1'"),
        (
            ["seed=0,1", "tracking=server", "tracking.uri=http://127.0.0.1:9"],
            "MLflow tracking server http://127.0.0.1:9 is unreachable",
        ),
    ],
)
def test_a_sweep_that_cannot_run_stops_before_any_job(tmp_path, overrides, expected):
    done = sweep(tmp_path, *overrides)
    assert done.returncode == 2
    first = done.stderr.strip().splitlines()[0]
    assert first.startswith("error: ") and expected in first
    assert not (tmp_path / "results" / "checkpoints").exists()  # no job started


def test_a_launcher_config_whose_plugin_is_missing_names_the_package():
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose("train", overrides=["hydra/launcher=joblib"], return_hydra_config=True)
    cfg.hydra.launcher._target_ = "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
    with pytest.raises(ConfigError, match="pip install hydra-ray-launcher"):
        check_launcher_installed(cfg)


def test_the_launchers_plantrl_ships_are_installed_and_checked():
    assert {"basic", "joblib", "submitit_local", "submitit_slurm"} <= set(available_launchers())
    check_launcher(["hydra/launcher=submitit_slurm", "seed=0,1"])
    check_overrides(["seed=range(0,4)", "agent=ppo,sac", "hydra.launcher.n_jobs=2"])


@pytest.mark.parametrize("launcher", ["submitit_slurm", "submitit_local"])
def test_the_submitit_configs_use_only_keys_the_plugin_knows(launcher: str):
    from hydra_plugins.hydra_submitit_launcher import config as plugin

    schema = plugin.SlurmQueueConf if launcher == "submitit_slurm" else plugin.LocalQueueConf
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose("train", overrides=[f"hydra/launcher={launcher}"], return_hydra_config=True)
    keys = set(cfg.hydra.launcher)
    assert keys <= set(schema.__dataclass_fields__), keys - set(schema.__dataclass_fields__)
    check_launcher_installed(cfg)
    if launcher == "submitit_slurm":
        assert cfg.hydra.launcher.cpus_per_task == 2 and cfg.hydra.launcher.timeout_min >= 60


@pytest.mark.slow
def test_submitit_local_runs_the_slurm_code_path(tmp_path: Path):
    done = sweep(tmp_path, "seed=0,1", "hydra/launcher=submitit_local")
    assert done.returncode == 0, done.stderr[-2000:]
    parent, children = parent_and_children(tmp_path)
    assert parent.data.tags["launcher"] == "submitit_local" and len(children) == 2
    assert all(r.info.status == "FINISHED" for r in children)


# --- 3. every experiment says what it holds ---------------------------------------------------


def test_experiments_are_created_with_their_description(tmp_path: Path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    for name in ("bof", "paint-evaluation", "bof-export", "debug"):
        setup_tracking({"uri": uri, "experiment": name})
        exp = mlflow.MlflowClient().get_experiment_by_name(name)
        assert exp is not None and exp.tags["mlflow.note.content"] == experiment_note(name)
    assert "plantrl-bof" in str(experiment_note("bof"))
    assert "scenario set" in str(experiment_note("paint-evaluation"))
    assert experiment_note("someone-elses") is None


def test_an_evaluation_sweep_nests_its_evaluations(tmp_path: Path):
    command = [sys.executable, "-m", "experiments.evaluate", "-m"]
    overrides = ["policy=baseline:operator,baseline:pid", "scenario_sets=[nominal]", "episodes=2"]
    done = subprocess.run(
        [*command, *overrides, f"paths.root={tmp_path}"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    parent, children = parent_and_children(tmp_path)
    assert sorted(r.data.tags["policy"] for r in children) == ["baseline:operator", "baseline:pid"]
    summary = mlflow.artifacts.load_text(f"{parent.info.artifact_uri}/sweep_summary.md")
    assert "| policy |" in summary and "return_mean" in summary
