"""Several processes on one MLflow store: a fresh SQLite store, the ``candidate`` alias, moves.

- Four processes started together on a fresh store each create a run and log a metric; before
  the store lock they died in MLflow's schema migration and left ``_alembic_tmp_*`` tables.
- A half-migrated or unreadable store is refused with one line that names the file to move.
- Four concurrent registrations, the oldest the slowest to reach the alias: ``candidate`` ends
  on the highest version (it ended on version 1 when the last writer won).
- A store copied to another folder warns that its artifacts still go to the old folder, and
  ``python -m experiments.move_store`` points it at its own copy of them.
"""

from __future__ import annotations

import multiprocessing as mp
import shutil
import sqlite3
import time
import warnings
from contextlib import closing
from pathlib import Path
from typing import Any
from unittest.mock import patch

import mlflow
import pytest
from mlflow.store.db.utils import _get_latest_schema_revision
from mlflow.tracking import MlflowClient

from experiments import move_store
from experiments.lib.registry import CANDIDATE_ALIAS, register_candidate
from experiments.lib.store import ArtifactLocationWarning
from experiments.lib.tracking import TrackingError, setup_tracking

pytestmark = pytest.mark.usefixtures("isolated_mlflow")  # leave no tracking URI behind

N_PROCESSES = 4
MODEL = "plantrl-test"
# seconds each registrant waits per version above it before moving the alias, so the oldest
# version arrives last: the schedule under which "last writer wins" leaves the alias behind
SLOWER_PER_OLDER_VERSION_S = 0.4


@pytest.fixture(scope="module")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store at MLflow's head schema, made once: copying it saves a migration per test."""
    root = tmp_path_factory.mktemp("template")
    setup_tracking(_tracking(root, experiment="template"))
    return root / "mlflow.db"


def _store_from(migrated_db: Path, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(migrated_db, root / "mlflow.db"))


def _tracking(root: Path, experiment: str = "concurrency") -> dict[str, Any]:
    return {
        "uri": f"sqlite:///{root}/mlflow.db",
        "artifact_location": str(root / "mlartifacts"),
        "experiment": experiment,
    }


def _run_in_processes(target: Any, args: tuple[Any, ...]) -> list[str]:
    """Start ``N_PROCESSES`` copies of ``target(i, *args, queue)`` at once; their outcomes."""
    # fork: the children skip re-importing mlflow, so they really start together
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    procs = [ctx.Process(target=target, args=(i, *args, queue)) for i in range(N_PROCESSES)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=120)
    outcomes = [queue.get(timeout=5) for _ in procs if not queue.empty()]
    return sorted(outcomes + ["no answer"] * (N_PROCESSES - len(outcomes)))


def _first_run(i: int, root: Path, queue: Any) -> None:
    try:
        experiment_id = setup_tracking(_tracking(root))
        with mlflow.start_run(experiment_id=experiment_id):
            mlflow.log_metric("worker", i, step=0)
        queue.put("ok")
    except Exception as err:  # the parent reports what killed a worker
        queue.put(f"{type(err).__name__}: {str(err).splitlines()[0]}")


def test_concurrent_first_runs_on_a_fresh_store(tmp_path: Path) -> None:
    started = time.perf_counter()
    outcomes = _run_in_processes(_first_run, (tmp_path,))
    assert outcomes == ["ok"] * N_PROCESSES, outcomes
    print(f"{N_PROCESSES} first runs in {time.perf_counter() - started:.1f} s")
    # the store is whole and usable after
    with sqlite3.connect(tmp_path / "mlflow.db") as con:
        tables = [row[0] for row in con.execute("SELECT name FROM sqlite_master")]
        revision = con.execute("SELECT version_num FROM alembic_version").fetchall()
    assert not [t for t in tables if t.startswith("_alembic_tmp_")]
    assert revision == [(_get_latest_schema_revision(),)]
    experiment_id = setup_tracking(_tracking(tmp_path))
    runs = MlflowClient().search_runs([experiment_id])
    assert sorted(r.data.metrics["worker"] for r in runs) == list(range(N_PROCESSES))


@pytest.mark.parametrize(
    ("damage", "expected"),
    [
        ("CREATE TABLE _alembic_tmp_tags (key TEXT)", "_alembic_tmp_tags"),
        ("UPDATE alembic_version SET version_num = 'cfd24bdc0731'", "cfd24bdc0731"),
        ("DELETE FROM alembic_version", "schema revision []"),
    ],
)
def test_half_migrated_store_is_refused(
    migrated_db: Path, tmp_path: Path, damage: str, expected: str
) -> None:
    db = _store_from(migrated_db, tmp_path)
    setup_tracking(_tracking(tmp_path))  # whole, it is used as it is
    with sqlite3.connect(db) as con:
        con.execute(damage)
    with pytest.raises(TrackingError, match="half-migrated") as caught:
        setup_tracking(_tracking(tmp_path))
    message = str(caught.value)
    assert expected in message
    assert f"mv {db} {db}.broken" in message
    assert "\n" not in message


def test_unreadable_store_is_refused(tmp_path: Path) -> None:
    (tmp_path / "mlflow.db").write_text("not a database " * 100)
    with pytest.raises(TrackingError, match=r"not a readable SQLite database.*mv .*mlflow\.db"):
        setup_tracking(_tracking(tmp_path))


def test_store_in_a_folder_without_a_lock_file_still_opens(
    migrated_db: Path, tmp_path: Path
) -> None:
    _store_from(migrated_db, tmp_path)
    experiment_id = setup_tracking(_tracking(tmp_path))
    (tmp_path / "mlflow.db.lock").unlink()
    (tmp_path / "mlflow.db.lock").mkdir()  # cannot be opened as the lock file, even by root
    assert setup_tracking(_tracking(tmp_path)) == experiment_id


def _register(i: int, model_uri: str, queue: Any) -> None:
    original = MlflowClient.set_model_version_tag

    def slow_for_old_versions(self: MlflowClient, name: str, version: str, *args: Any) -> None:
        time.sleep((N_PROCESSES - int(version)) * SLOWER_PER_OLDER_VERSION_S)
        original(self, name, version, *args)

    try:
        with patch.object(MlflowClient, "set_model_version_tag", slow_for_old_versions):
            version, candidate = register_candidate(
                model_uri, MODEL, {"worker": str(i)}, {"score": i}
            )
        queue.put(f"ok v{version}" if candidate >= version else f"v{version} left on v{candidate}")
    except Exception as err:
        queue.put(f"{type(err).__name__}: {str(err).splitlines()[0]}")


def test_candidate_ends_on_the_newest_of_concurrent_registrations(
    migrated_db: Path, tmp_path: Path
) -> None:
    _store_from(migrated_db, tmp_path)
    experiment_id = setup_tracking(_tracking(tmp_path))
    with mlflow.start_run(experiment_id=experiment_id):
        model_uri = mlflow.create_external_model(name="policy").model_uri  # no files: cheap
    MlflowClient().create_registered_model(MODEL)  # else the registrants race to create it
    started = time.perf_counter()
    outcomes = _run_in_processes(_register, (model_uri,))
    print(f"{N_PROCESSES} registrations in {time.perf_counter() - started:.1f} s")
    assert outcomes == [f"ok v{v}" for v in range(1, N_PROCESSES + 1)], outcomes
    client = MlflowClient()
    assert client.get_registered_model(MODEL).aliases == {CANDIDATE_ALIAS: N_PROCESSES}
    for version in client.search_model_versions(f"name = '{MODEL}'"):
        assert set(version.tags) == {"worker", "kpi/score"}


def _cells_naming(db: Path, text: str) -> list[str]:
    """``table.column`` of every text cell in the store that contains ``text``."""
    found = []
    with closing(sqlite3.connect(db)) as con:
        tables = [
            row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        for table in tables:
            for column in [row[1] for row in con.execute(f"PRAGMA table_info({table})")]:
                query = f"SELECT count(*) FROM {table} WHERE instr(CAST({column} AS TEXT), ?) > 0"
                if con.execute(query, (text,)).fetchone()[0]:
                    found.append(f"{table}.{column}")
    return found


def test_copied_store_warns_and_rebases_onto_its_own_artifacts(
    migrated_db: Path, tmp_path: Path
) -> None:
    original, copy = tmp_path / "clone-a" / "results", tmp_path / "clone-b" / "results"
    _store_from(migrated_db, original)
    experiment_id = setup_tracking(_tracking(original))
    (tmp_path / "policy.txt").write_text("weights")
    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.log_artifact(str(tmp_path / "policy.txt"), "policy")
        model_uri = mlflow.create_external_model(name="policy").model_uri
    mlflow.register_model(model_uri, MODEL)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the store in its own folder: no warning
        setup_tracking(_tracking(original))

    shutil.copytree(original, copy)
    with pytest.warns(ArtifactLocationWarning, match="copied or moved") as caught:
        setup_tracking(_tracking(copy))
    old_root, new_root = original / "mlartifacts", copy / "mlartifacts"
    command = f"python -m experiments.move_store {copy / 'mlflow.db'} {old_root} {new_root}"
    assert command in str(caught[0].message)

    for bad_input in (
        [str(copy / "mlflow.db"), "mlartifacts", str(new_root)],  # relative: matches nothing
        [str(copy / "no.db"), str(old_root), str(new_root)],  # would create an empty file
    ):
        with pytest.raises(SystemExit, match="2"):
            move_store.main(bad_input)
    assert not (copy / "no.db").exists()
    move_store.main([str(copy / "mlflow.db"), str(old_root), str(new_root)])
    assert _cells_naming(copy / "mlflow.db", old_root.as_uri()) == []
    shutil.rmtree(original)  # the copy stands alone
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        setup_tracking(_tracking(copy))
    local = mlflow.artifacts.download_artifacts(f"runs:/{run.info.run_id}/policy/policy.txt")
    assert Path(local).read_text() == "weights"
    assert MlflowClient().get_run(run.info.run_id).info.artifact_uri.startswith(new_root.as_uri())
