"""Errors a person can read: each bad command, run as a user runs it, fails in a few lines.

Every case runs ``python -m experiments.<job> ...`` as a subprocess with a private store and
checks the exit code (2), that the message names the key or file and what would be valid, that
the output is short, and, for the mistakes found before the store is opened, that no store,
artifact folder, checkpoint or result was created. Each subprocess fails within its imports
(≈ 4 s of CPU): the cases beyond one per kind are marked ``slow``.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from experiments.lib.cli import message
from experiments.lib.config_checks import ConfigError

REPO = Path(__file__).resolve().parents[1]
RUN_ID = "0123456789abcdef0123456789abcdef"
MAX_LINES = 5  # stdout + stderr


@dataclass(frozen=True)
class Case:
    """One bad command: job, arguments (``{root}`` is the case's private folder), the text
    the message must contain, and whether it is caught before anything is created."""

    job: str
    args: tuple[str, ...]
    says: tuple[str, ...]
    before_store: bool = True
    setup: Callable[[Path], None] | None = field(default=None, compare=False)


def _store_file(root: Path, content: bytes | None) -> None:
    root.mkdir(parents=True, exist_ok=True)
    if content is None:  # a valid, empty SQLite database
        sqlite3.connect(root / "mlflow.db").close()
    else:
        (root / "mlflow.db").write_bytes(content)


def _checkpoints(root: Path) -> None:
    """A run's checkpoint folder as experiments.train writes it (run_id, config, steps)."""
    run = root / "ck" / RUN_ID
    (run / "step_256").mkdir(parents=True)
    (run / "run_id").write_text(RUN_ID)
    (run / "config.yaml").write_text("seed: 0\n")


def _evaluation_run(root: Path) -> None:
    """A store holding one evaluation run (no policy of its own)."""
    client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
    exp = client.create_experiment("bof-evaluation", artifact_location=(root / "art").as_uri())
    tags = {"policy": "baseline:pid", "scenario_set": "nominal"}
    run = client.create_run(exp, tags=tags)
    client.set_terminated(run.info.run_id)
    (root / "eval_run_id").write_text(run.info.run_id)


TRAIN = ("experiment=debug",)
CASES: dict[str, Case] = {
    "n_envs": Case("train", (*TRAIN, "train.n_envs=abc"), ("train.n_envs = 'abc'", "integer")),
    "total_timesteps": Case(
        "train", (*TRAIN, "train.total_timesteps=abc"), ("train.total_timesteps = 'abc'",)
    ),
    "seed": Case("train", (*TRAIN, "seed=abc"), ("seed = 'abc'", "non-negative integer")),
    "resume_empty": Case("train", (*TRAIN, "resume="), ("resume is empty",)),
    "resume_step_folder": Case(
        "train",
        (*TRAIN, f"resume={{root}}/ck/{RUN_ID}/step_256"),
        ("step_256", f"resume={RUN_ID}"),
        setup=_checkpoints,
    ),
    "resume_checkpoints_root": Case(
        "train", (*TRAIN, "resume={root}/ck"), ("1 run(s)", f"resume={RUN_ID}"), setup=_checkpoints
    ),
    "uri_scheme": Case(
        "train", (*TRAIN, "tracking.uri=ftp://host/store"), ("tracking.uri = 'ftp://", "sqlite:///")
    ),
    "corrupt_store": Case(
        "train",
        TRAIN,
        ("mlflow.db is not an SQLite database",),
        setup=lambda root: _store_file(root, b"not a database, " * 64),
    ),
    "policy_empty": Case("evaluate", ("policy=",), ("policy is empty", "baseline:<")),
    "policy_missing": Case("evaluate", (), ("policy is not set", "runs:/<run id>")),
    "policy_scheme": Case("evaluate", ("policy=s3://bucket/p",), ("unsupported scheme 's3'",)),
    "evaluation_run_as_policy": Case(
        "evaluate",
        ("policy=runs:/{eval_run}", "scenario_sets=[nominal]"),
        ("is an evaluation run", "policy=baseline:pid"),
        before_store=False,
        setup=_evaluation_run,
    ),
    "report_uri_scheme": Case("report", ("tracking.uri=ftp://host/store",), ("tracking.uri",)),
    "tune_n_envs": Case("tune", ("train.n_envs=abc",), ("train.n_envs = 'abc'",)),
}
# one case per kind in the default run, the rest with the end-to-end tier
FAST = {"n_envs", "corrupt_store", "policy_missing"}


def _run(job: str, args: list[str], extra_env: dict[str, str] | None = None) -> tuple[int, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), **(extra_env or {})}
    if extra_env is None:
        env.pop("HYDRA_FULL_ERROR", None)
    cmd = [sys.executable, "-m", f"experiments.{job}", *args]
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    return out.returncode, out.stdout + out.stderr


def _private(root: Path, tmp_path: Path) -> list[str]:
    """Every file a job may write, under ``root`` (Hydra's run folders under tmp_path)."""
    return [
        f"tracking.uri=sqlite:///{root / 'mlflow.db'}",
        f"tracking.artifact_location={root / 'art'}",
        f"paths.results={root / 'results'}",
        f"paths.checkpoints={root / 'ck'}",
        f"paths.runs={tmp_path / 'hydra_runs'}",
    ]


def _files(root: Path) -> dict[str, bytes | None]:
    """Every file (with its bytes) and folder (None) under ``root``."""
    if not root.exists():
        return {}
    return {
        str(p.relative_to(root)): p.read_bytes() if p.is_file() else None for p in root.rglob("*")
    }


@pytest.mark.parametrize(
    "name", [n if n in FAST else pytest.param(n, marks=pytest.mark.slow) for n in CASES]
)
def test_bad_command_fails_in_a_few_lines_naming_the_key(name: str, tmp_path: Path) -> None:
    case, root = CASES[name], tmp_path / "job"
    if case.setup is not None:
        case.setup(root)
    before = _files(root)
    eval_run = (root / "eval_run_id").read_text() if (root / "eval_run_id").exists() else ""
    args = [a.format(root=root, eval_run=eval_run) for a in case.args]
    keys = {a.split("=", 1)[0] for a in args}
    private = [a for a in _private(root, tmp_path) if a.split("=", 1)[0] not in keys]
    code, out = _run(case.job, [*private, *args])
    assert code == 2, out
    for text in case.says:
        assert text in out, out
    assert len(out.strip().splitlines()) <= MAX_LINES, out
    assert "Traceback" not in out
    if case.before_store:
        assert _files(root) == before  # no store, artifact, checkpoint or result: nothing new
    else:
        client = MlflowClient(tracking_uri=f"sqlite:///{root / 'mlflow.db'}")
        experiment = client.get_experiment_by_name("bof-evaluation")
        assert experiment is not None
        assert len(client.search_runs([experiment.experiment_id])) == 1  # the refused job: none


@pytest.fixture
def read_only_store(tmp_path: Path) -> Iterator[Path]:
    """A valid store file nobody may write (``chattr +i`` for root, whom modes do not stop)."""
    root = tmp_path / "job"
    _store_file(root, None)
    db = root / "mlflow.db"
    db.chmod(0o444)
    immutable = os.geteuid() == 0
    if immutable:
        if shutil.which("chattr") is None:
            pytest.skip("running as root without chattr: cannot make a file read-only")
        done = subprocess.run(["chattr", "+i", str(db)], capture_output=True)
        if done.returncode != 0:
            pytest.skip(f"chattr +i is not supported here: {done.stderr!r}")
    try:
        yield root
    finally:
        if immutable:
            subprocess.run(["chattr", "-i", str(db)], check=False)
        db.chmod(0o644)


@pytest.mark.slow
def test_read_only_store_is_refused_before_training(read_only_store: Path, tmp_path: Path) -> None:
    before = _files(read_only_store)
    code, out = _run("train", [*_private(read_only_store, tmp_path), *TRAIN])
    assert code == 2, out
    assert "mlflow.db is read-only" in out and len(out.strip().splitlines()) <= MAX_LINES, out
    assert _files(read_only_store) == before and not (read_only_store / "ck").exists()


def test_debug_flag_and_hydra_full_error_keep_the_traceback(tmp_path: Path) -> None:
    root = tmp_path / "job"
    code, out = _run("train", [*_private(root, tmp_path), *TRAIN, "seed=abc", "--debug"])
    assert code == 1 and "Traceback" in out and "ConfigError: seed = 'abc'" in out, out
    assert not root.exists()


def test_store_errors_name_the_store_and_bugs_keep_their_traceback() -> None:
    from mlflow.exceptions import MlflowException
    from omegaconf import OmegaConf

    cfg = OmegaConf.create({"tracking": {"uri": "sqlite:////x/mlflow.db"}})
    err = MlflowException("(sqlite3.OperationalError) attempt to write a readonly database\n[SQL]")
    text = message(err, cfg)
    assert text is not None and text.startswith("tracking store sqlite:////x/mlflow.db: (sqlite3")
    assert "[SQL]" not in text
    assert message(ConfigError("seed = 'abc' is invalid"), cfg) == "seed = 'abc' is invalid"
    try:
        int("abc")  # a ValueError raised by a library call (here: a builtin in a test file)
    except ValueError as bug:
        assert message(bug, cfg) is None  # not plantrl's own raise: the traceback is kept
