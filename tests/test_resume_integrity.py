"""Resume keeps a run whole: an interrupted-and-resumed run logs the same (key, step) history as an
uninterrupted one (SIGKILL and SIGINT), a finished run is never resumed, and a tracking server that
dies mid-run stops the job with one line naming the checkpoint and the ``resume=`` command.

Budgets are tiny: PPO on 2 plants, rollouts of 64 x 2 = 128 env-steps (shorter than a ~95-step
heat, so the first rollout after a resume ends no episode), checkpoints and evaluations every 256
env-steps, 768 in all. The killed process is a subprocess that kills itself with SIGKILL at a
known step; everything else runs in this process.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig

from experiments import train as train_job
from experiments.lib.callbacks import EvalCallback
from experiments.lib.config_checks import ConfigError
from experiments.lib.tracking import TrackingLost

REPO = Path(__file__).resolve().parents[1]

BUDGET = (
    "experiment=debug",
    "train.total_timesteps=768",
    "train.n_envs=2",
    "train.checkpoint_every_steps=256",
    "eval.every_steps=256",
    "eval.n_episodes=2",
    "eval.final_episodes=2",
    "agent.algo.n_steps=64",
    "agent.algo.batch_size=64",
    "agent.algo.n_epochs=1",
)

pytestmark = pytest.mark.usefixtures("isolated_mlflow")  # tests/conftest.py


# --- helpers ----------------------------------------------------------------------------------


def store_uri(root: Path) -> str:
    return f"sqlite:///{root / 'results' / 'mlflow.db'}"


def client_for(root: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=store_uri(root))


def only_run_id(root: Path) -> str:
    client = client_for(root)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()])
    assert len(runs) == 1, [r.info.run_id for r in runs]
    return str(runs[0].info.run_id)


def history(root: Path, run_id: str) -> dict[str, list[int]]:
    """Every metric of the run: key -> the steps it was logged at, in logging order."""
    client = client_for(root)
    keys = client.get_run(run_id).data.metrics
    return {k: [m.step for m in client.get_metric_history(run_id, k)] for k in sorted(keys)}


def key_steps(hist: dict[str, list[int]]) -> set[tuple[str, int]]:
    return {(key, step) for key, steps in hist.items() for step in steps}


def assert_single_history(hist: dict[str, list[int]]) -> None:
    """No step of any key was logged twice (a resume re-logging what the run already had)."""
    for key, steps in hist.items():
        assert len(steps) == len(set(steps)), (key, steps)


def folder_state(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under a checkpoint folder with its size and modification time."""
    return {
        str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def run_record(root: Path, run_id: str) -> tuple[Any, ...]:
    run = client_for(root).get_run(run_id)
    return (
        run.info.status,
        run.info.end_time,
        run.data.params,
        run.data.tags,
        history(root, run_id),
        run.data.metrics,
    )


def interrupt_with(monkeypatch: pytest.MonkeyPatch, signum: int, at_step: int) -> None:
    """The training process sends itself ``signum`` in the middle of the rollout that passes
    ``at_step`` env-steps (from the evaluation callback, which runs on every vector step)."""

    class Signalling(EvalCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps == at_step:
                os.kill(os.getpid(), signum)
            return super()._on_step()

    monkeypatch.setattr(train_job, "EvalCallback", Signalling)


KILLED_PROCESS = """
import os, runpy, signal, sys
from experiments.lib import callbacks

class Killed(callbacks.EvalCallback):
    def _on_step(self):
        if self.num_timesteps == {at_step}:
            os.kill(os.getpid(), signal.SIGKILL)  # no handler runs, no buffered metric is sent
        return super()._on_step()

callbacks.EvalCallback = Killed  # bound by the job's import below
sys.argv = ["experiments.train", *{overrides!r}]
runpy.run_module("experiments.train", run_name="__main__", alter_sys=True)
"""


@pytest.fixture(scope="module")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised MLflow SQLite store: creating the schema takes seconds, a copy nothing."""
    path = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def root(tmp_path: Path, empty_store: Path) -> Path:
    """A fresh ``paths.root`` with an empty local store."""
    (tmp_path / "results").mkdir()
    shutil.copy(empty_store, tmp_path / "results" / "mlflow.db")
    return tmp_path


@pytest.fixture(scope="module")
def uninterrupted(
    tmp_path_factory: pytest.TempPathFactory, empty_store: Path, compose_train: Any
) -> tuple[Path, str, dict[str, list[int]]]:
    """The reference: the same budget trained in one go."""
    root = tmp_path_factory.mktemp("uninterrupted")
    (root / "results").mkdir()
    shutil.copy(empty_store, root / "results" / "mlflow.db")
    train_job.train(compose_train(root, *BUDGET))
    run_id = only_run_id(root)
    return root, run_id, history(root, run_id)


# --- 1. interrupted and resumed == uninterrupted -----------------------------------------------


def test_reference_history_is_on_the_rollout_grid(
    uninterrupted: tuple[Path, str, dict[str, list[int]]],
) -> None:
    """What the comparisons below compare against: SB3 logs after every 128-step rollout (episode
    means once the first heats have ended), the evaluation (with the update before it) every 256
    steps."""
    _, _, hist = uninterrupted
    assert_single_history(hist)
    assert hist["time/total_timesteps"] == [128, 256, 384, 512, 640, 768]
    assert hist["rollout/ep_rew_mean"] == [256, 384, 512, 640, 768]
    assert hist["train/loss"] == [256, 384, 512, 640, 768]
    assert hist["eval/return_mean"] == [256, 512, 768]


@pytest.mark.slow  # a subprocess: the process must really die
def test_killed_and_resumed_run_has_the_uninterrupted_history(
    root: Path,
    compose_train: Any,
    uninterrupted: tuple[Path, str, dict[str, list[int]]],
) -> None:
    """SIGKILL mid-rollout after the checkpoint at 256 (the metrics logged since are lost with
    the process); the resumed run logs every (key, step) of the uninterrupted run, once."""
    overrides = [*BUDGET, f"paths.root={root}"]
    script = textwrap.dedent(KILLED_PROCESS).format(at_step=320, overrides=overrides)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    killed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env={**env, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    run_id = only_run_id(root)

    train_job.train(compose_train(root, *BUDGET, f"resume={run_id}"))
    resumed = history(root, run_id)
    assert_single_history(resumed)
    assert key_steps(resumed) == key_steps(uninterrupted[2])


@pytest.fixture
def default_sigint() -> Iterator[None]:
    """SIGINT as a shell's Ctrl-C meets a Python job: the default handler, KeyboardInterrupt.
    Another test of the same worker process may have left another disposition behind (seen
    under xdist in the full suite); it is put back afterwards."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("default_sigint")
def test_ctrl_c_and_resumed_run_has_the_uninterrupted_history(
    root: Path,
    compose_train: Any,
    monkeypatch: pytest.MonkeyPatch,
    uninterrupted: tuple[Path, str, dict[str, list[int]]],
) -> None:
    """SIGINT in the middle of a rollout (448: 64 steps past the last rollout's start); Ctrl-C
    checkpoints, and the resumed run keeps the rollout grid instead of shifting it by 64."""
    interrupt_with(monkeypatch, signal.SIGINT, at_step=448)
    with pytest.raises(KeyboardInterrupt):
        train_job.train(compose_train(root, *BUDGET))
    monkeypatch.undo()
    run_id = only_run_id(root)
    assert client_for(root).get_run(run_id).info.status == "FAILED"

    train_job.train(compose_train(root, *BUDGET, f"resume={run_id}"))
    resumed = history(root, run_id)
    assert_single_history(resumed)
    assert key_steps(resumed) == key_steps(uninterrupted[2])


# --- 2. a finished run is not resumed --------------------------------------------------------


def test_finished_run_is_refused_and_left_untouched(
    root: Path,
    compose_train: Any,
    uninterrupted: tuple[Path, str, dict[str, list[int]]],
) -> None:
    source, run_id, _ = uninterrupted
    root = root / "copy"
    shutil.copytree(source, root)  # the module's reference run stays as it is
    folder = root / "results" / "checkpoints" / run_id
    client = client_for(root)
    assert (folder / "final" / "model.zip").is_file()

    def refused(resume: str | Path, reason: str) -> None:
        before = (folder_state(folder), run_record(root, run_id))
        with pytest.raises(ConfigError, match=reason + r".*start a new run.*experiments.evaluate"):
            train_job.train(compose_train(root, *BUDGET, f"resume={resume}"))
        assert (folder_state(folder), run_record(root, run_id)) == before  # nothing written

    refused(run_id, r"has finished \(its final model is saved in .*final\)")
    # FINISHED is enough (the final model moved away by hand)
    (folder / "final").rename(root / "moved_final")
    refused(run_id, r"has finished \(its MLflow status is FINISHED\)")
    # a saved final model is enough (a run killed while registering, or ended by hand)
    (root / "moved_final").rename(folder / "final")
    client.set_terminated(run_id, "FAILED")
    refused(folder, r"has finished \(its final model is saved in .*final\)")


# --- 3. the tracking server dies mid-run -------------------------------------------------------


def dead_server(*args: Any, **kwargs: Any) -> None:
    """What MLflow's REST client raises when its server has gone (connection refused)."""
    url = "http://127.0.0.1:5000/api/2.0/mlflow/runs/log-batch"
    try:
        raise requests.exceptions.ConnectionError(
            "HTTPConnectionPool(host='127.0.0.1', port=5000): Max retries exceeded with url: "
            "/api/2.0/mlflow/runs/log-batch (Caused by NewConnectionError: Connection refused)"
        )
    except requests.exceptions.ConnectionError as err:
        raise MlflowException(f"API request to {url} failed with exception {err}")  # noqa: B904


def test_lost_tracking_server_stops_with_the_resume_command(
    root: Path,
    compose_train: Any,
    monkeypatch: pytest.MonkeyPatch,
    uninterrupted: tuple[Path, str, dict[str, list[int]]],
) -> None:
    """The server stops answering after the checkpoint at 256; the job ends with one line (a
    SystemExit: exit status 1, no traceback) and resuming once it is back completes the run."""

    class ServerDiesAt320(EvalCallback):
        def _on_step(self) -> bool:
            if self.num_timesteps == 320:
                monkeypatch.setattr(MlflowClient, "log_batch", dead_server)
                monkeypatch.setattr(MlflowClient, "set_terminated", dead_server)
            return super()._on_step()

    monkeypatch.setattr(train_job, "EvalCallback", ServerDiesAt320)
    cfg: DictConfig = compose_train(root, *BUDGET)
    with pytest.raises(TrackingLost) as lost:
        train_job.train(cfg)
    monkeypatch.undo()

    run_id = only_run_id(root)
    folder = root / "results" / "checkpoints" / run_id
    message = str(lost.value)
    assert "\n" not in message, message
    assert isinstance(lost.value, SystemExit) and lost.value.code == message  # exit status 1
    assert f"{folder / 'step_256'}" in message
    assert f"python -m experiments.train resume={run_id} paths.root={root}" in message
    assert "(ConnectionError)" in message and "Traceback" not in message
    assert client_for(root).get_run(run_id).info.status == "RUNNING"  # nothing could say

    train_job.train(compose_train(root, *BUDGET, f"resume={run_id}"))
    assert client_for(root).get_run(run_id).info.status == "FINISHED"
    resumed = history(root, run_id)
    assert_single_history(resumed)
    assert key_steps(resumed) == key_steps(uninterrupted[2])
