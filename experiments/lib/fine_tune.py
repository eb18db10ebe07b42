"""Fine-tune a trained policy on a plant with a small budget: one ``experiments.train`` job.

    from experiments.lib.fine_tune import fine_tune
    result = fine_tune("models:/plantrl-bof@champion", "bof_120t", budget=100_000, seed=0,
                       tracking={"uri": "sqlite:////srv/mlflow.db"}, paths={"root": "/srv"},
                       extra_overrides=["eval.every_steps=20000"], run_tags={"study": "transfer"})
    result.run_id, result.version   # the new run, its registered (child) version

The job runs in a subprocess (``python -m experiments.train``, from the repository root, with
``PYTHONHASHSEED=0``) with these overrides, in this order:

| overrides | why |
| --- | --- |
| the source run's own (``config/overrides.yaml``), | its agent, base, memory, env options and |
| minus those set below | hyper-parameters |
| ``init_from=<pinned> seed= train.total_timesteps=`` | the warm start (``lib.warm_start``) |
| ``evaluate_after=null register_model=true`` | the child version, registered with lineage |
| :func:`plant_overrides` of the target plant | a named variant or a command-line plant |
| ``tracking.*``, ``paths.*``, ``run_tags.*`` | ``run_tags.fine_tune_id`` finds the run |
| ``extra_overrides`` | last, e.g. ``eval.every_steps=20000`` |
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
from mlflow.tracking import MlflowClient

import envs
from envs.core.params import PlantVariant, load_variant
from experiments.lib.plants import CUSTOM_SUFFIX
from experiments.lib.warm_start import resolve_source

__all__ = ["FineTuneError", "FineTuneResult", "fine_tune", "plant_overrides"]

REPO = Path(__file__).resolve().parents[2]
STDERR_LINES = 25  # of a failed job's stderr, in the error: the traceback's end and its message
# overrides of the source run that this call sets itself (a prefix covers the whole node)
SET_HERE = ("seed", "train.total_timesteps", "evaluate_after", "resume", "init_from")
SET_HERE_NODES = ("plant", "tracking", "paths", "run_tags", "register_model", "hydra")


class FineTuneError(RuntimeError):
    """The fine-tuning job failed or left no run to find (the message holds its stderr's end)."""


@dataclass(frozen=True)
class FineTuneResult:
    """A finished fine-tuning job.

    Attributes:
        run_id: the new MLflow training run.
        version: the version it registered (the child), ``None`` if none was registered.
        spec: the source, pinned (``models:/<name>/<number>`` for an alias).
        budget: env-steps of fine-tuning.
        plant: the target plant's name.
        plant_hash: the target plant's hash (what comparisons pair runs by).
    """

    run_id: str
    version: int | None
    spec: str
    budget: int
    plant: str
    plant_hash: str


def _text(value: Any) -> str:
    """A value as a Hydra override writes it (lists as ``[a,b]``, ``None`` as ``null``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list | tuple):
        return "[" + ",".join(_text(v) for v in value) + "]"
    return str(value)


def _quoted(value: str) -> str:
    """A string Hydra keeps as a string (``'1'`` stays text, not the integer 1)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def plant_overrides(variant: PlantVariant) -> list[str]:
    """Overrides that compose ``variant`` as the job's plant (same ``plant_hash``).

    A named variant of its process, unchanged, is ``plant=<name>``; any other plant is the
    process's command-line plant (:mod:`experiments.lib.plants`) with the variant's name, every
    parameter that differs from the process's defaults and every randomisation range.
    """
    process = type(variant.params).process
    spec = envs.process(process)
    if variant.name in spec.plants:
        named = load_variant(spec.conf_dir / "plant" / f"{variant.name}.yaml", spec.params_cls)
        if named.plant_hash() == variant.plant_hash():
            return [f"plant={variant.name}"]
    defaults = spec.params_cls().as_dict()
    out = [f"plant={process}{CUSTOM_SUFFIX}", f"plant.name={_quoted(variant.name)}"]
    for field, value in variant.params.as_dict().items():
        if value != defaults[field]:
            out.append(f"plant.params.{field}={value!r}")
    for field, (low, high) in variant.randomize.items():
        out.append(f"plant.randomize.{field}=[{float(low)!r},{float(high)!r}]")
    return out


def _kept(override: str) -> bool:
    key = override.split("=", 1)[0].lstrip("+~")
    return key not in SET_HERE and not any(
        key == node or key.startswith(node + ".") for node in SET_HERE_NODES
    )


def _variant(plant: PlantVariant | str) -> PlantVariant:
    """The plant a name stands for (a named variant of any process)."""
    if isinstance(plant, PlantVariant):
        return plant
    for spec in envs.processes().values():
        if plant in spec.plants:
            return load_variant(spec.conf_dir / "plant" / f"{plant}.yaml", spec.params_cls)
    known = sorted(p for spec in envs.processes().values() for p in spec.plants)
    raise ValueError(f"plant {plant!r} is no named plant variant; known: {known}")


def fine_tune(
    source: str,
    plant: PlantVariant | str,
    budget: int,
    seed: int,
    *,
    tracking: Mapping[str, Any],
    paths: Mapping[str, Any],
    extra_overrides: Sequence[str] = (),
    run_tags: Mapping[str, str] | None = None,
    warm_start: bool = True,
) -> FineTuneResult:
    """Fine-tune ``source`` on ``plant`` for ``budget`` env-steps in a new, registered run.

    Args:
        source: the policy to start from (``init_from`` forms, :mod:`experiments.lib.warm_start`);
            an alias is pinned to its version number here.
        plant: the target plant: a variant, or the name of a named variant.
        budget: env-steps of fine-tuning (``train.total_timesteps``).
        seed: the job's seed.
        tracking: the ``tracking`` node of the job (``uri`` at least), as overrides.
        paths: the ``paths`` node (``root``, ``checkpoints``, …), as overrides.
        extra_overrides: more overrides, last (e.g. ``eval.every_steps=20000``).
        run_tags: extra tags on the run and its version (``run_tags.<key>``).
        warm_start: ``False`` trains the source's recipe (its overrides) from scratch at the
            plant instead, unregistered: the baseline a warm start is compared with.

    Raises:
        ConfigError: the source is unknown (before the job starts).
        FineTuneError: the job failed (with the end of its stderr) or its run cannot be found.
    """
    uri = str(tracking["uri"])
    previous = mlflow.get_tracking_uri()
    mlflow.set_tracking_uri(uri)
    try:
        pinned = resolve_source(source, paths.get("checkpoints"))
    finally:
        mlflow.set_tracking_uri(previous)
    variant = _variant(plant)
    marker = f"ft-{uuid.uuid4().hex}"
    # the source's recipe may tag its runs (experiment=transfer_source: study, source); its
    # fine-tunes are no such runs: they are marked as fine-tunes unless the caller says otherwise
    tags = {"study": "fine-tune", "source": "fine-tune", **(run_tags or {}), "fine_tune_id": marker}
    overrides = [
        *[o for o in pinned.overrides or [] if _kept(o)],
        *([f"init_from={_quoted(pinned.spec)}"] if warm_start else []),
        f"seed={int(seed)}",
        f"train.total_timesteps={int(budget)}",
        "evaluate_after=null",
        f"register_model={str(warm_start).lower()}",
        *plant_overrides(variant),
        *[f"tracking.{k}={_text(v)}" for k, v in tracking.items()],
        *[f"paths.{k}={_text(v)}" for k, v in paths.items()],
        *[f"run_tags.{k}={_quoted(str(v))}" for k, v in tags.items()],
        *extra_overrides,
    ]
    env = {**os.environ, "PYTHONHASHSEED": "0"}  # same config + seed -> same numbers
    job = subprocess.run(
        [sys.executable, "-m", "experiments.train", *overrides],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if job.returncode != 0:
        tail = "\n".join((job.stderr or job.stdout).strip().splitlines()[-STDERR_LINES:])
        raise FineTuneError(
            f"fine-tuning {pinned.spec} on {variant.name} failed (exit {job.returncode}); "
            f"the job's last lines:\n{tail}"
        )
    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    experiments = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(experiments, f"tags.fine_tune_id = '{marker}'")
    if len(runs) != 1:
        raise FineTuneError(
            f"fine-tuning {pinned.spec} on {variant.name} finished, but {len(runs)} runs carry "
            f"its tag fine_tune_id={marker} in {uri} (expected one)"
        )
    run = runs[0]
    versions = client.search_model_versions(f"run_id = '{run.info.run_id}'")
    return FineTuneResult(
        run_id=run.info.run_id,
        version=int(versions[0].version) if len(versions) == 1 else None,
        spec=pinned.spec,
        budget=int(budget),
        plant=run.data.tags.get("plant", variant.name),
        plant_hash=run.data.tags.get("plant_hash", variant.plant_hash()),
    )
