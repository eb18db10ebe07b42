"""A Hydra multirun as one MLflow study: a parent run for the sweep, a child run per job.

    python -m experiments.train -m seed=0,1,2 agent=ppo,sac                        # one by one
    python -m experiments.train -m seed=0,1,2,3 hydra/launcher=joblib              # in parallel
    python -m experiments.train -m seed=0,1 hydra/launcher=submitit_slurm tracking=server …

:class:`MLflowSweep` is a Hydra callback (``conf/hydra/default.yaml``, ``hydra.callbacks``):

| hook | runs in | does |
| --- | --- | --- |
| ``on_multirun_start`` | the launching process, first | opens the store, creates the parent run |
| ``on_job_start`` | each job (joblib worker, SLURM task) | one torch thread (parallel launchers) |
| ``on_multirun_end`` | the launching process, last | the children's summary, the parent ended |

Opening the store once creates and migrates a SQLite file (or checks the server: an unreachable
one stops the sweep before any job). The parent run is tagged ``sweep``, ``launcher``, the
sweep's overrides and folder. Two jobs on two cores must not each spawn two torch threads. The
summary is ``sweep_summary.md`` and metrics ``sweep/*``; the parent ends FINISHED, or FAILED if a
child did not finish.

The jobs find their parent through the environment (:data:`PARENT_ENV`): joblib's workers,
submitit's local processes and SLURM tasks (``sbatch`` exports the environment by default)
inherit it. The parent's id is also written to ``<sweep dir>/mlflow_sweep.json``. A job run
outside a multirun never reads it. If the sweep stops on an error (Hydra raises the first failed
job's exception after the batch, and skips ``on_multirun_end``), the parent is still closed, as
FAILED with its summary, when the launching process exits.
"""

from __future__ import annotations

import atexit
import json
import os
from pathlib import Path
from typing import Any

import mlflow
from hydra.experimental.callback import Callback
from hydra.utils import get_class
from mlflow.entities import Run
from omegaconf import DictConfig, OmegaConf

from experiments.lib.cli import fail, message
from experiments.lib.config_checks import ConfigError
from experiments.lib.tracking import setup_tracking

__all__ = [
    "PARENT_ENV",
    "MLflowSweep",
    "child_run_name",
    "child_tags",
    "parent_run_id",
    "summary_table",
    "sweep_tags",
    "swept_keys",
]

PARENT_ENV = "PLANTRL_SWEEP_PARENT_RUN"
KEYS_ENV = "PLANTRL_SWEEP_KEYS"  # the swept keys, for the children's run names
RECORD = "mlflow_sweep.json"
# metrics the summary shows where the children have them: a train job's closing table, an
# evaluation job's set (its runs are children too)
SUMMARY_METRICS = ("kpi/return_mean", "kpi/return_std", "return_mean", "gap_closed")


def parent_run_id() -> str | None:
    """The sweep's parent run for a job of a multirun; None outside one."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    if not HydraConfig.initialized() or HydraConfig.get().mode != RunMode.MULTIRUN:
        return None
    return os.environ.get(PARENT_ENV) or None


# launcher plugins by the package that provides them (what to pip install)
LAUNCHER_PACKAGES = {
    "hydra_plugins.hydra_joblib_launcher": "hydra-joblib-launcher",
    "hydra_plugins.hydra_submitit_launcher": "hydra-submitit-launcher",
    "hydra_plugins.hydra_ray_launcher": "hydra-ray-launcher",
}


def check_launcher_installed(config: DictConfig) -> None:
    """The chosen launcher's class imports (a config of ours can name an uninstalled plugin).

    Raises:
        ConfigError: naming the launcher and the package to install.
    """
    target = str(OmegaConf.select(config, "hydra.launcher._target_") or "")
    try:
        get_class(target)
    except Exception as err:
        package = next((p for m, p in LAUNCHER_PACKAGES.items() if target.startswith(m)), "?")
        raise ConfigError(
            f"hydra/launcher={_launcher(config)} needs the package {package}, which is not "
            f"installed ({type(err).__name__}): pip install {package}"
        ) from err


def _launcher(config: DictConfig) -> str:
    choices = OmegaConf.select(config, "hydra.runtime.choices") or {}
    return str(choices.get("hydra/launcher", "basic"))


def _swept(children: list[Run]) -> list[str]:
    """The override keys whose values differ between the children (what the sweep varied)."""
    values: dict[str, set[str]] = {}
    for run in children:
        for item in run.data.tags.get("sweep_overrides", "").split():
            key, _, value = item.partition("=")
            values.setdefault(key, set()).add(value)
    varied = [k for k, v in values.items() if len(v) > 1]
    return varied or list(values)


def summary_table(children: list[Run]) -> str:
    """Markdown: one row per child run (name, the swept overrides, status, the final KPIs)."""
    keys = _swept(children)
    shown = [m for m in SUMMARY_METRICS if any(m in r.data.metrics for r in children)]
    rows = [
        "| run | " + " | ".join([*keys, "status", *shown]) + " |",
        "|---|" + "---|" * (len(keys) + 1 + len(shown)),
    ]
    for run in sorted(children, key=lambda r: int(r.data.tags.get("sweep_job", "0") or 0)):
        metrics = run.data.metrics
        given = dict(
            item.partition("=")[::2] for item in run.data.tags.get("sweep_overrides", "").split()
        )
        cells = [given.get(k, "") for k in keys]
        values = [f"{metrics[m]:.4g}" if m in metrics else "–" for m in shown]
        rows.append(
            f"| {run.info.run_name} (`{run.info.run_id[:8]}`) | "
            + " | ".join([*cells, run.info.status, *values])
            + " |"
        )
    return "\n".join(rows) + "\n"


class MLflowSweep(Callback):
    """The parent run of a multirun (see the module doc)."""

    def __init__(self) -> None:
        self.parent: str | None = None
        self.tracking: dict[str, Any] = {}

    # --- the launching process -----------------------------------------------------------------
    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        # Hydra turns a callback's exception into a warning and launches the jobs anyway: a
        # sweep that cannot be tracked, or whose launcher is not installed, stops here instead
        try:
            check_launcher_installed(config)
            self._open(config)
        except Exception as err:
            text = message(err, config)
            fail(text if text is not None else f"{type(err).__name__}: {err}")

    def _open(self, config: DictConfig) -> None:
        node = OmegaConf.to_container(config.tracking, resolve=True)
        assert isinstance(node, dict)  # the tracking group is a mapping
        self.tracking = {str(k): v for k, v in node.items()}
        tracking = self.tracking
        experiment_id = setup_tracking(tracking)  # fails here, before any job, if unreachable
        overrides = list(OmegaConf.select(config, "hydra.overrides.task") or [])
        sweep_dir = Path(str(config.hydra.sweep.dir)).resolve()
        launcher = _launcher(config)
        client = mlflow.MlflowClient()
        run = client.create_run(
            experiment_id,
            run_name=f"sweep-{sweep_dir.name}",
            tags={
                "sweep": "true",
                "launcher": launcher,
                "sweep_overrides": " ".join(overrides),
                "sweep_dir": str(sweep_dir),
                "mlflow.note.content": (
                    f"Hydra multirun ({launcher} launcher): `python -m experiments.train -m "
                    f"{' '.join(overrides)}`. Its jobs are the child runs below; "
                    "`sweep_summary.md` holds their final KPIs."
                ),
            },
        )
        self.parent = run.info.run_id
        client.log_param(self.parent, "overrides", " ".join(overrides)[:6000])
        client.log_param(self.parent, "launcher", launcher)
        os.environ[PARENT_ENV] = self.parent
        os.environ[KEYS_ENV] = ",".join(swept_keys(overrides))
        sweep_dir.mkdir(parents=True, exist_ok=True)
        record = {"parent_run_id": self.parent, "tracking_uri": mlflow.get_tracking_uri()}
        (sweep_dir / RECORD).write_text(json.dumps(record, indent=1) + "\n")
        print(f"sweep: MLflow parent run {self.parent} ({launcher} launcher)")
        atexit.register(self._close, "FAILED")  # a job's error skips on_multirun_end

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._close("FINISHED")

    def _close(self, status: str) -> None:
        """Summarise the children and end the parent (once)."""
        parent, self.parent = self.parent, None
        if parent is None:
            return
        os.environ.pop(PARENT_ENV, None)
        os.environ.pop(KEYS_ENV, None)
        atexit.unregister(self._close)
        mlflow.set_tracking_uri(str(self.tracking.get("uri")))
        client = mlflow.MlflowClient()
        experiment_ids = [e.experiment_id for e in client.search_experiments()]
        children = client.search_runs(
            experiment_ids, filter_string=f"tags.mlflow.parentRunId = '{parent}'", max_results=5000
        )
        finished = sum(r.info.status == "FINISHED" for r in children)
        client.log_text(parent, summary_table(children), "sweep_summary.md")
        client.log_metric(parent, "sweep/children", len(children))
        client.log_metric(parent, "sweep/children_finished", finished)
        for key in ("kpi/return_mean", "return_mean"):
            values = [r.data.metrics[key] for r in children if key in r.data.metrics]
            if values:
                client.log_metric(
                    parent, f"sweep/mean_{key.replace('/', '_')}", sum(values) / len(values)
                )
        if finished < len(children) or not children:
            status = "FAILED"
        client.set_terminated(parent, status)
        print(f"sweep: {finished}/{len(children)} jobs finished; parent run {parent} {status}")

    # --- every job ------------------------------------------------------------------------------
    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        if _launcher(config) != "basic":
            import torch  # only the jobs of a parallel launcher pay this here

            torch.set_num_threads(1)


def swept_keys(overrides: list[str]) -> list[str]:
    """The keys a multirun's overrides sweep (``seed=0,1`` → ``seed``; ``lr=1e-3`` → none)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parsed = OverridesParser.create().parse_overrides(overrides)
    return [o.key_or_group for o in parsed if o.is_sweep_override()]


def child_run_name(title: str) -> str:
    """``title`` with the job's swept values first (``seed=1 agent=sac · bof-sac-…``): the UI
    cuts run names short, and the values are what tells the children apart."""
    keys = [k for k in os.environ.get(KEYS_ENV, "").split(",") if k]
    if parent_run_id() is None or not keys:
        return title
    from hydra.core.hydra_config import HydraConfig

    given = dict(o.partition("=")[::2] for o in HydraConfig.get().overrides.task)
    values = " ".join(f"{k}={given[k]}" for k in keys if k in given)
    return f"{values} · {title}" if values else title


def sweep_tags() -> dict[str, str]:
    """:func:`child_tags` of the current job in a multirun; empty outside one."""
    if parent_run_id() is None:
        return {}
    from hydra.core.hydra_config import HydraConfig

    job = HydraConfig.get()
    return child_tags(list(job.overrides.task), job.job.num)


def child_tags(overrides: list[str], job_num: int | str) -> dict[str, str]:
    """Tags a job's run carries in a sweep: its overrides and its number."""
    return {"sweep_overrides": " ".join(overrides), "sweep_job": str(job_num)}
