"""The jobs against real tracking servers: ``mlflow server`` on a SQLite store and on PostgreSQL.

One server per backend for the session (experiments.lib.servers), artifacts proxied by the
server into its own folder, as jobs on a cluster would use it. Through each:

- a tiny training run and an evaluation of the PID baseline log their runs, metrics and an
  artifact (the artifact is read back through the server and found in its artifact folder);
- a 2-job joblib multirun writes a parent run and two finished child runs.

The PostgreSQL tests are skipped, with the reason, only where the cluster cannot be started
(no PostgreSQL binaries, no ``postgres`` user). Budgets are tiny (the debug preset, 256
env-steps); every path is private; no server or database process outlives the session.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from budgets import tiny_training
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from experiments.lib import servers
from experiments.lib.servers import MlflowServer, ServerError, mlflow_server

ROOT = Path(__file__).resolve().parents[1]
# 256 env-steps on 2 plants: two PPO rollouts of 64 x 2, one evaluation at the end
TINY = tiny_training()


@pytest.fixture(scope="session")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    root = tmp_path_factory.mktemp("sqlite-server")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    with mlflow_server(uri, root / "artifacts", root / "server.log") as server:
        yield server
    assert_gone(server)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MlflowServer]:
    root = tmp_path_factory.mktemp("postgres-server")
    try:
        cluster = servers.start_postgres(durable=False)  # a test store: no fsync
    except ServerError as err:
        pytest.skip(f"PostgreSQL cannot be started here: {err}")
    try:
        with mlflow_server(cluster.uri, root / "artifacts", root / "server.log") as server:
            yield server
        assert_gone(server)
    finally:
        servers.stop_postgres(cluster)


@pytest.fixture(params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest) -> MlflowServer:
    """Each test once per backend store."""
    return request.getfixturevalue(f"{request.param}_server")  # type: ignore[no-any-return]


def run_job(module: str, server: MlflowServer, root: Path, *overrides: str) -> str:
    """``python -m <module> <overrides>`` tracked on ``server``, files under ``root``."""
    command = [
        sys.executable,
        "-m",
        module,
        *overrides,
        "tracking=server",
        f"tracking.uri={server.url}",
        f"paths.root={root}",
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.run(
        command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def runs_of(server: MlflowServer, experiment: str) -> list[Run]:
    client = MlflowClient(server.url)
    found = client.get_experiment_by_name(experiment)
    assert found is not None, f"no experiment {experiment} on {server.backend_store_uri}"
    return client.search_runs([found.experiment_id], max_results=100)


def assert_artifact_served(server: MlflowServer, run: Run, path: str) -> None:
    """``path`` is listed and readable through the server and lies in its artifact folder."""
    client = MlflowClient(server.url)
    folder, _, name = path.rpartition("/")
    listed = [a.path for a in client.list_artifacts(run.info.run_id, folder or None)]
    assert path in listed, listed
    assert run.info.artifact_uri.startswith("mlflow-artifacts:/")  # proxied, not a local path
    stored = list(server.artifacts.rglob(f"{run.info.run_id}/artifacts/{path}"))
    assert len(stored) == 1 and stored[0].stat().st_size > 0, name


@pytest.mark.slow
def test_training_and_evaluation_log_through_the_server(server: MlflowServer, tmp_path: Path):
    experiment = f"train-{server.backend_store_uri.split(':')[0]}"
    run_job("experiments.train", server, tmp_path, *TINY, f"tracking.experiment={experiment}")
    (train_run,) = runs_of(server, experiment)
    assert train_run.info.status == "FINISHED"
    assert "kpi/return_mean" in train_run.data.metrics
    assert train_run.data.params["seed"] == "0"
    assert_artifact_served(server, train_run, "final_table.md")

    run_job(
        "experiments.evaluate",
        server,
        tmp_path,
        "policy=baseline:pid",
        "scenario_sets=[nominal]",
        "episodes=2",
        f"tracking.experiment={experiment}-evaluation",
    )
    (eval_run,) = runs_of(server, f"{experiment}-evaluation")
    assert eval_run.info.status == "FINISHED"
    history = MlflowClient(server.url).get_metric_history(eval_run.info.run_id, "episode/return")
    assert sorted(m.step for m in history) == [0, 1]
    assert_artifact_served(server, eval_run, "episodes.json")


@pytest.mark.slow
def test_joblib_multirun_writes_a_parent_and_its_children(server: MlflowServer, tmp_path: Path):
    experiment = f"sweep-{server.backend_store_uri.split(':')[0]}"
    sweep = ("-m", "seed=0,1", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2")
    run_job(
        "experiments.train", server, tmp_path, *sweep, *TINY, f"tracking.experiment={experiment}"
    )
    runs = runs_of(server, experiment)
    (parent,) = [r for r in runs if r.data.tags.get("sweep") == "true"]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert len(runs) == 3 and len(children) == 2
    assert sorted(r.data.params["seed"] for r in children) == ["0", "1"]
    assert all(r.info.status == "FINISHED" for r in [parent, *children])
    assert all("kpi/return_mean" in r.data.metrics for r in children)
    assert parent.data.tags["launcher"] == "joblib"
    assert parent.data.metrics["sweep/children_finished"] == 2
    assert_artifact_served(server, parent, "sweep_summary.md")


def test_missing_postgres_binaries_fail_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
):
    monkeypatch.setattr(servers, "PG_BIN", tmp_path / "no-postgres")
    with pytest.raises(ServerError, match=r"initdb is not at .*no-postgres/initdb: install it"):
        servers.start_postgres()


def test_a_server_that_cannot_open_its_store_fails_in_one_line(tmp_path: Path):
    with pytest.raises(ServerError) as failed:
        servers.start_mlflow_server("nosuchdb://x/y", tmp_path / "artifacts", tmp_path / "log")
    message = str(failed.value)
    assert re.match(r"mlflow server on http://127.0.0.1:\d+ exited: ", message)
    assert "unsupported URI 'nosuchdb://x/y'" in message and "\n" not in message


def _alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie left to an init that does not reap counts as gone)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def _group_members(group: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == group and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


def assert_gone(server: MlflowServer) -> None:
    """The stopped server left no process behind (its workers included)."""
    assert server.process.returncode is not None
    assert _group_members(server.process.pid) == [], "mlflow server processes outlived stop"


def test_a_stopped_cluster_leaves_no_process_and_no_folder():
    try:
        cluster = servers.start_postgres(durable=False)
    except ServerError as err:
        pytest.skip(f"PostgreSQL cannot be started here: {err}")
    postmaster = int((cluster.data_dir / "postmaster.pid").read_text().split()[0])
    assert _alive(postmaster)
    servers.stop_postgres(cluster)
    assert not _alive(postmaster) and not cluster.root.exists()
