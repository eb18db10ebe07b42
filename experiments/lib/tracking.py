"""MLflow tracking for the entry points: explicit store, run metadata, SB3 metrics, registry.

- The tracking URI is always explicit: ``sqlite:///<repo>/results/mlflow.db`` (embedded) or an
  ``mlflow server`` URL, checked before any run is created so an unreachable server fails fast
  and leaves nothing half-written.
- :class:`MLflowOutputFormat` is an SB3 logger output: every metric SB3 records goes to the
  active run at the current timestep. On resume it drops the (key, step) values already in the
  run, so the history stays single and continuous.
- A local SQLite store is checked, created, migrated and given its experiment under one
  inter-process lock (:mod:`experiments.lib.store`), so runs started together on a fresh store
  do not race in MLflow's schema migration; a half-migrated store is refused in one line, and a
  copied store whose artifacts still go to the old folder gets a warning with the fix.
- A server that stops answering mid-run (:func:`server_lost`) ends the job with
  :class:`TrackingLost`: one line, the run left resumable.
- Params are the flattened config (long values cut, never re-logged with another value); the
  full config goes in as an artifact.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import requests
from mlflow.entities import Metric
from mlflow.exceptions import MlflowException, RestException
from mlflow.protos.databricks_pb2 import RESOURCE_ALREADY_EXISTS, ErrorCode
from mlflow.tracking import MlflowClient
from stable_baselines3.common.logger import KVWriter

from experiments.lib.store import (
    StoreError,
    check_schema,
    sqlite_path,
    store_lock,
    warn_if_artifacts_elsewhere,
)

__all__ = [
    "MLflowOutputFormat",
    "TrackingError",
    "TrackingLost",
    "flatten",
    "git_commit",
    "last_logged_steps",
    "server_lost",
    "setup_tracking",
]

MAX_PARAM_CHARS = 500  # MLflow rejects params over 6000 chars; the full config is an artifact


class TrackingError(RuntimeError):
    """The tracking store cannot be used (unreachable server, bad URI, half-migrated store)."""


class TrackingLost(SystemExit):
    """The tracking server stopped answering mid-run: the job ends with one line.

    A ``SystemExit`` (the message as its code): the interpreter prints only the message and
    exits with status 1, and no ``except Exception`` on the way (Hydra's traceback printer)
    turns it into the REST client's 200-line traceback. The message names the checkpoint and
    the ``resume=`` command.
    """


def server_lost(err: BaseException) -> bool:
    """Whether ``err`` says the MLflow server is gone (refused, timed out, answered non-JSON).

    MLflow's REST client wraps these as ``MlflowException("API request to ... failed ...")``
    around the ``requests`` error; a ``RestException`` is the server answering with an error
    of its own (a bad value, say), which a resume would not cure.
    """
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, requests.ConnectionError | requests.Timeout):
            return True
        if isinstance(seen, RestException):
            return False
        if isinstance(seen, MlflowException) and seen.message.startswith("API request to"):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _check_server(uri: str, timeout_s: float) -> None:
    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout_s) as r:
            if r.status != 200:
                raise TrackingError(f"MLflow server at {uri} answered /health with {r.status}")
    except (urllib.error.URLError, OSError) as err:
        raise TrackingError(
            f"MLflow tracking server {uri} is unreachable ({err}); start it (`mlflow server "
            "--backend-store-uri ...`) or use tracking=local. No run was created."
        ) from err


def setup_tracking(tracking: Mapping[str, Any]) -> str:
    """Point MLflow at the configured store and select (or create) the experiment.

    Returns:
        The experiment id.

    Raises:
        TrackingError: the server is unreachable or the URI is missing.
    """
    uri = str(tracking.get("uri") or "")
    if not uri or uri == "???":
        raise TrackingError("tracking.uri is not set (e.g. tracking.uri=http://127.0.0.1:5000)")
    if uri.startswith("http"):
        # fail within the timeout instead of MLflow's long retry loop
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", str(tracking.get("timeout_s", 5)))
        _check_server(uri, float(tracking.get("timeout_s", 5)))
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    # MLflow 3's client telemetry calls home (these machines have no outside network) and, with
    # 64 writers against one server, failed 3 requests on its own session variable
    # (results/benchmarks/sweeps.md): off unless the user sets it
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    mlflow.set_tracking_uri(uri)
    db = sqlite_path(uri)
    if db is None:
        return _get_or_create_experiment(tracking)
    # one process at a time creates and migrates the file and creates the experiment; the
    # others then find both done (MLflow's own migration is not safe against a second process)
    with store_lock(uri):
        try:
            check_schema(db)
        except StoreError as err:
            raise TrackingError(str(err)) from err
        return _get_or_create_experiment(tracking, db)


# what an experiment holds, by the suffix of its name (``bof``, ``bof-evaluation``, …): its
# description on the MLflow UI's experiment page, so a reviewer knows where to look
EXPERIMENT_NOTES = {
    "": (
        "Training runs on the {process} (`python -m experiments.train`), one per job. A "
        "sweep (`-m`) is a parent run (tag `sweep=true`, `sweep_summary.md`) with its jobs "
        "nested under it. Per run: `eval/*` learning curves on held-apart episodes, `kpi/*` the "
        "closing table against operator, PID and MPC on estimates (`kpi/<reference>/*`), "
        "`learning_curve.png`, `final_table.md`, the config; the policy is registered as "
        "`plantrl-{name}`."
    ),
    "-evaluation": (
        "Evaluation runs (`python -m experiments.evaluate`): one per policy × scenario set × "
        "plant, on the set's fixed seeds (every policy meets the same episodes). Tags `policy`, "
        "`policy_family`, `scenario_set`, `plant`; metrics `return_mean`, unit KPIs, `gap_closed` "
        "(PID → oracle); `episodes.json` per episode. Compare runs of one scenario set."
    ),
    "-export": (
        "ONNX exports (`python -m experiments.export`): the file (onnx flavour with its "
        "signature), `model_card.md/json`, parity metrics `parity/*`; linked from the registered "
        "version by its tags `onnx_model_uri`, `onnx_export_run`."
    ),
    "-transfer": (
        "Transfer study (`python -m experiments.transfer`): one parent run per study, a child "
        "per (source group, target plant) with zero-shot and fine-tuning results."
    ),
    "-promotion": (
        "Promotion gate decisions (`python -m experiments.promote`): one run per decision "
        "(`gate.md`: the verdict and its reasons), fleet proposals and rollbacks."
    ),
}
PROCESS_NAMES = {"bof": "BOF", "paint": "paint line"}
DEBUG_NOTE = "Debug runs (`experiment=debug`): tiny budgets, never registered; safe to delete."


def experiment_note(name: str) -> str | None:
    """The description of the experiment ``name`` (None for a name plantrl does not make)."""
    if name == "debug":
        return DEBUG_NOTE
    for suffix, text in sorted(EXPERIMENT_NOTES.items(), key=lambda kv: -len(kv[0])):
        if suffix and name.endswith(suffix):
            return text.format(process=name[: -len(suffix)])
    if name in PROCESS_NAMES:
        return EXPERIMENT_NOTES[""].format(process=PROCESS_NAMES[name], name=name)
    return None


def _describe(client: MlflowClient, experiment_id: str, name: str, tags: Mapping[str, str]) -> None:
    """Give the experiment its description if it has none (a reviewer's first page)."""
    note = experiment_note(name)
    if note and "mlflow.note.content" not in tags:
        client.set_experiment_tag(experiment_id, "mlflow.note.content", note)


def _get_or_create_experiment(tracking: Mapping[str, Any], db: Path | None = None) -> str:
    """Id of the experiment ``tracking.experiment``, created with the configured artifact root."""
    name = str(tracking["experiment"])
    client = MlflowClient()
    configured = tracking.get("artifact_location")
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if configured and db is not None:
            warn_if_artifacts_elsewhere(name, exp.artifact_location, Path(str(configured)), db)
        _describe(client, exp.experiment_id, name, exp.tags)
        return exp.experiment_id
    location = None
    if configured:
        Path(str(configured)).mkdir(parents=True, exist_ok=True)
        location = Path(str(configured)).resolve().as_uri()
    note = experiment_note(name)
    tags = {"mlflow.note.content": note} if note else None
    try:
        return client.create_experiment(name, artifact_location=location, tags=tags)
    except MlflowException as err:
        # a server store has no shared lock: another machine created it first
        if err.error_code != ErrorCode.Name(RESOURCE_ALREADY_EXISTS):
            raise
        exp = client.get_experiment_by_name(name)
        assert exp is not None, f"experiment {name} exists (MLflow said so)"
        return exp.experiment_id


def flatten(tree: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """Nested config -> ``{"a.b.c": "value"}`` with values cut to MLflow's param limit."""
    out: dict[str, str] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{name}."))
        else:
            text = str(value)
            out[name] = (
                text if len(text) <= MAX_PARAM_CHARS else text[: MAX_PARAM_CHARS - 3] + "..."
            )
    return out


def git_commit() -> str:
    """Commit of the repository the code runs from (with ``-dirty`` for local changes)."""
    root = Path(__file__).resolve().parents[2]
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return sha + ("-dirty" if dirty else "")


def last_logged_steps(run_id: str) -> dict[str, int]:
    """Largest step logged for every metric of a run: what a resumed run must not log again."""
    client = MlflowClient()
    return {
        key: max(m.step for m in client.get_metric_history(run_id, key))
        for key in client.get_run(run_id).data.metrics
    }


class MLflowOutputFormat(KVWriter):
    """SB3 logger output that logs numeric values to the active MLflow run, in batches.

    One ``log_metrics`` call on a SQLite store costs 15–45 ms (an insert per value and several
    commits), which is more than 3 % of a PPO rollout here; buffering ``flush_every`` writes into
    one ``log_batch`` brings it to ≈ 0.5 % (results/benchmarks/training.md). ``flush()`` is
    called at every checkpoint, on interruption and at the end, so a resumed run has no gap.

    Args:
        already_logged: ``key -> last step`` already in the run (:func:`last_logged_steps`):
            a value at or before that step is dropped. Per key, not one step for all: a killed
            process may have stored one of two logs written at the same step.
        flush_every: number of writes (logger dumps) buffered before one batch is sent.
    """

    def __init__(
        self, already_logged: Mapping[str, int] | None = None, flush_every: int = 10
    ) -> None:
        self.already_logged = dict(already_logged or {})
        self.flush_every = int(flush_every)
        self._buffer: list[Metric] = []
        self._writes = 0
        self._run_id: str | None = None

    def write(
        self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0
    ) -> None:
        now = int(time.time() * 1000)
        for key, value in key_values.items():
            excluded = key_excluded.get(key)
            if excluded is not None and "mlflow" in excluded:
                continue
            if step <= self.already_logged.get(key, -1):
                continue
            number = _as_number(value)
            if number is not None:
                self._buffer.append(Metric(key, number, now, int(step)))
        self._writes += 1
        if self._writes % self.flush_every == 0:
            self.flush()

    def flush(self) -> None:
        """Send the buffered values to the active run (in chunks of MLflow's batch limit)."""
        if not self._buffer:
            return
        if self._run_id is None:
            run = mlflow.active_run()
            assert run is not None, "MLflowOutputFormat writes inside an active MLflow run"
            self._run_id = run.info.run_id
        client = MlflowClient()
        for i in range(0, len(self._buffer), 1000):
            client.log_batch(self._run_id, metrics=self._buffer[i : i + 1000])
        self._buffer.clear()

    def close(self) -> None:
        self.flush()


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if hasattr(value, "item") and getattr(value, "size", 2) == 1:
        return float(value.item())
    return None
