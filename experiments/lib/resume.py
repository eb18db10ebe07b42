"""What keeps an interrupted training run resumable, and a finished one safe from resuming.

- :func:`check_resumable`: a finished run is refused before anything is written to it.
- :func:`resumable_run`: the MLflow run of a training job; a tracking server lost mid-run ends the
  job with one line naming the last checkpoint and the exact ``resume=`` command.
- :func:`resume_command`: that command, with the job's tracking and paths overrides.

The checkpoints themselves (and the logger state saved with them) are ``lib.callbacks``'.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import mlflow
from hydra.core.hydra_config import HydraConfig
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from experiments.lib.callbacks import latest_checkpoint
from experiments.lib.config_checks import ConfigError
from experiments.lib.sweep import child_run_name, parent_run_id
from experiments.lib.tracking import TrackingLost, server_lost

__all__ = ["check_resumable", "resumable_run", "resume_command"]

# overrides a resumed run accepts that change where it runs, not what it trains (train.py)
WHERE_OVERRIDES = ("tracking", "paths")


def check_resumable(folder: Path) -> None:
    """Refuse to resume a finished run: it would reload the last checkpoint (older than the final
    model), overwrite ``final/``, log a second model and ``kpi/*`` again at the same step.

    Args:
        folder: the run's checkpoint folder (holds ``run_id``); the tracking store is set up.

    Raises:
        ConfigError: the run is FINISHED or its folder holds a final model.
        FileNotFoundError: the folder holds no checkpoint (the message names it).
    """
    run_id = (folder / "run_id").read_text().strip()
    if (folder / "final").exists():
        why = f"its final model is saved in {folder / 'final'}"
    else:
        latest_checkpoint(folder)  # nothing to resume from says so before the store is asked
        if (status := MlflowClient().get_run(run_id).info.status) != "FINISHED":
            return
        why = f"its MLflow status is {status}"
    raise ConfigError(
        f"run {run_id} has finished ({why}); resume continues only an interrupted run: "
        f"start a new run (drop resume=) or evaluate this one with "
        f"`python -m experiments.evaluate policy=runs:/{run_id}`"
    )


def resume_command(run_id: str) -> str:
    """The shell command that continues ``run_id``, with this job's tracking and paths overrides
    (the resumed run takes everything else from its saved config)."""
    kept = [
        o
        for o in HydraConfig.get().overrides.task
        if o.split("=")[0].lstrip("+~").startswith(WHERE_OVERRIDES)
    ]
    return shlex.join(["python", "-m", "experiments.train", f"resume={run_id}", *kept])


@contextmanager
def resumable_run(
    c: Mapping[str, Any], run_id: str | None, experiment_id: str, title: str
) -> Iterator[Run]:
    """``mlflow.start_run`` for a training job: a new run, or (``run_id``) the interrupted one.

    Ends the run FINISHED, or FAILED on an error, as ``with mlflow.start_run()`` does. When the
    tracking server is lost the run cannot be told it ended: it stays RUNNING, resumable, and
    the job stops with :class:`TrackingLost` instead of the REST client's traceback.
    """
    run = mlflow.start_run(
        run_id=run_id,
        experiment_id=None if run_id else experiment_id,
        run_name=None if run_id else child_run_name(title),
        # a job of a multirun: a child of the sweep's run (experiments.lib.sweep)
        parent_run_id=None if run_id else parent_run_id(),
    )
    try:
        yield run
    except BaseException as err:
        with suppress(MlflowException):  # a lost server: the run is still popped (first)
            mlflow.end_run("FAILED")
        if not server_lost(err):
            raise
        rid = run.info.run_id
        folder = Path(c["resume"]) if c.get("resume") else Path(c["paths"]["checkpoints"]) / rid
        raise TrackingLost(
            f"lost the MLflow tracking server ({_root_cause(err)}) during run {rid}; "
            f"{_last_checkpoint(folder)}; once the server is back: {resume_command(rid)}"
        ) from err
    mlflow.end_run()


def _last_checkpoint(folder: Path) -> str:
    try:
        ckpt, steps = latest_checkpoint(folder)
    except FileNotFoundError:
        return f"no checkpoint in {folder} yet (resuming would start it again)"
    return f"its last checkpoint is {ckpt} ({steps} env-steps)"


def _root_cause(err: BaseException) -> str:
    """The innermost exception's class (``ConnectionError``, ``ReadTimeout``): the reason."""
    while (inner := err.__cause__ or err.__context__) is not None:
        err = inner
    return type(err).__name__
