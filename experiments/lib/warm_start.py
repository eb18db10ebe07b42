"""Warm start (fine-tuning): a new training run that starts from another run's trained policy.

    python -m experiments.train init_from=models:/plantrl-bof@champion plant=bof_120t \\
        train.total_timesteps=100000

The job builds its own env (its ``plant``, which may be another variant than the source's) and
algorithm (its own hyper-parameters and seed), then copies the source's network weights and its
observation (and reward) normalisation statistics into them; the statistics keep updating
while it learns. It trains ``train.total_timesteps`` steps counted from 0 in a new MLflow run.
The optimiser's moments and SAC's entropy coefficient start fresh (the job's config).

| ``init_from`` | the source policy folder and config |
| --- | --- |
| ``runs:/<run id>``, ``<run id>`` | the run's local ``final/``, else its model's ``policy`` |
| ``models:/<name>/<version>`` | as the version's run (else the version's ``policy``) |
| ``models:/<name>@<alias>`` | pinned to the alias's version number when the job starts |
| a policy folder | itself: ``model.zip``, ``policy.json``, ``normalization.npz``, ``config.yaml`` |

A source is refused (:class:`ConfigError`, before any run exists) when its recorded config
disagrees with the job on what the network's shape or meaning depends on (:data:`SHAPE_KEYS`):
the message names the key and the overrides that would make the job agree.

Lineage is recorded as run tags (:func:`lineage_run_tags`) and, on the registered version, as
``lineage/*`` version tags (:func:`lineage_version_tags`):

| run tag | version tag | value |
| --- | --- | --- |
| ``init_from`` | – | the pinned spec (never an alias) |
| ``parent_run`` | ``lineage/parent_run`` | the source's training run id (when known) |
| ``parent_version`` | ``lineage/parent_version`` | the version (models:/), else the one version |
| | | registered from the parent run; absent otherwise |
| ``fine_tune_budget`` | ``lineage/budget`` | ``train.total_timesteps`` (env-steps) |
| (``plant``) | ``lineage/plant``, ``lineage/plant_hash`` | the fine-tuning job's plant |
"""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mlflow
import yaml
from hydra.core.config_store import ConfigStore
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from agents.builder import MODEL_FILE, load_policy
from agents.history import memory_config
from agents.policy_files import MANIFEST_FILE
from agents.residual import residual_config
from experiments.lib.config_checks import ConfigError
from experiments.lib.policy_specs import RUN_ID

__all__ = [
    "SHAPE_KEYS",
    "WarmStartSource",
    "check_compatible",
    "check_init_from",
    "check_run_tags",
    "lineage_run_tags",
    "lineage_version_tags",
    "resolve_source",
    "warm_start",
]

INIT_FROM_FORMS = (
    "runs:/<run id>, a run id, models:/<name>/<version>, models:/<name>@<alias> or a policy folder"
)
# policy_kwargs entries that only set initial values (overwritten by the copied weights) or the
# optimiser (restarted): every other entry shapes the network or what its outputs mean
INITIALISATION_ONLY = frozenset(
    {"log_std_init", "ortho_init", "optimizer_class", "optimizer_kwargs"}
)


@dataclass(frozen=True)
class WarmStartSource:
    """The policy a job starts from, pinned.

    Attributes:
        spec: the pinned spec (``models:/<name>/<number>`` for an alias; a folder as given).
        folder: the policy folder (``model.zip``, ``policy.json``, ``normalization.npz``).
        config: the source's resolved training config.
        overrides: the source run's own Hydra overrides (``None`` when not recorded).
        parent_run: the source's training run id (``None`` for a folder without ``run_id``).
        parent_version: its registered version number (see the module table), or ``None``.
    """

    spec: str
    folder: Path
    config: dict[str, Any]
    overrides: list[str] | None
    parent_run: str | None
    parent_version: int | None


def check_init_from(init_from: Any, resume: Any) -> None:
    """``init_from`` starts a new run, ``resume`` continues one: both at once is refused."""
    if init_from is not None and resume is not None:
        raise ConfigError(
            f"init_from = {init_from!r} starts a new run from a trained policy and resume = "
            f"{resume!r} continues an interrupted one: drop one of them (an interrupted "
            "fine-tuning run resumes with resume= alone; it keeps its init_from)"
        )
    if init_from is not None and not str(init_from).strip():
        raise ConfigError(f"init_from is empty: give one of {INIT_FROM_FORMS}")


def check_run_tags(tags: Any) -> dict[str, str]:
    """The job's ``run_tags``: a mapping of strings to strings (Hydra parses ``run_tags.arm=01``
    as the number 1: tagged, it would not read as typed; a nested mapping is no tag at all).

    Raises:
        ConfigError: naming ``run_tags`` and the offending entry.
    """
    if tags is None:
        return {}
    if not isinstance(tags, Mapping):
        raise ConfigError(
            f"run_tags = {tags!r} is invalid: must be a mapping, run_tags.<key>=<text>"
        )
    for key, value in tags.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise ConfigError(
                f"run_tags.{key} = {value!r} is invalid: run tags are text; quote it, "
                f"e.g. 'run_tags.{key}=\"{value}\"'"
            )
    return dict(tags)


def register_run_tags_schema() -> None:
    """``run_tags`` as an open mapping: Hydra composes in struct mode, where a key missing from
    the config needs ``+``; this node (merged at ``run_tags`` by conf/train.yaml) is not struct,
    so ``run_tags.study=transfer`` works as written."""
    ConfigStore.instance().store(
        group="run_tags_schema", name="open", node=DictConfig({}, flags={"struct": False})
    )


register_run_tags_schema()


# --- 1. resolving the source ---------------------------------------------------------------


def resolve_source(spec: str, checkpoints: str | Path | None) -> WarmStartSource:
    """The source policy ``spec`` names, pinned, with its folder and recorded config.

    Args:
        spec: the ``init_from`` value (forms: module table).
        checkpoints: the job's ``paths.checkpoints`` (``None``: unknown): a run's local
            ``final/`` folder is used from there (or from the run's own recorded checkpoints
            path) before its model's ``policy`` artifact is downloaded.

    Raises:
        ConfigError: an unknown run, model, version, alias or folder (naming what exists), or a
            run that logged no policy.
    """
    text = str(spec).strip()
    if text.startswith("models:/"):
        return _from_registry(text, checkpoints)
    if text.startswith("runs:/") or RUN_ID.match(text):
        run_id = text.removeprefix("runs:/").strip("/").split("/")[0]
        return _from_run(run_id, f"runs:/{run_id}", checkpoints, None)
    folder = Path(text)
    if folder.is_dir():
        return _from_folder(folder, text)
    raise ConfigError(
        f"init_from = {text!r}: no such policy folder, run or model; use {INIT_FROM_FORMS}"
    )


def _from_folder(folder: Path, spec: str) -> WarmStartSource:
    missing = [f for f in (MODEL_FILE, MANIFEST_FILE, "config.yaml") if not (folder / f).is_file()]
    if missing:
        has = sorted(p.name for p in folder.iterdir())
        raise ConfigError(
            f"init_from = {spec!r}: the folder lacks {missing} (it has {has}); give a policy "
            "folder written by experiments.train (<checkpoints>/<run id>/final)"
        )
    run_file = folder.parent / "run_id"  # <checkpoints>/<run id>/final: the run is known
    parent_run = run_file.read_text().strip() if run_file.is_file() else None
    overrides_file = folder.parent / "overrides.yaml"
    return WarmStartSource(
        spec=spec,
        folder=folder.resolve(),
        config=yaml.safe_load((folder / "config.yaml").read_text()),
        overrides=_read_overrides(overrides_file),
        parent_run=parent_run,
        parent_version=_single_version(parent_run) if parent_run else None,
    )


def _read_overrides(path: Path) -> list[str] | None:
    return [str(o) for o in yaml.safe_load(path.read_text()) or []] if path.is_file() else None


def _training_runs() -> str:
    """A few training runs of the store, for an error message."""
    client = MlflowClient()
    ids = [e.experiment_id for e in client.search_experiments()]
    runs = client.search_runs(ids, "tags.model_uri != ''", max_results=5) if ids else []
    names = [f"{r.info.run_id} ({r.info.run_name})" for r in runs]
    return ", ".join(names) if names else "none"


def _from_run(
    run_id: str, spec: str, checkpoints: str | Path | None, parent_version: int | None
) -> WarmStartSource:
    try:
        run = mlflow.get_run(run_id)
    except MlflowException:
        raise ConfigError(
            f"init_from = {spec!r}: no run {run_id} in the tracking store "
            f"{mlflow.get_tracking_uri()}; training runs there include: {_training_runs()}"
        ) from None
    model_uri = run.data.tags.get("model_uri")
    if model_uri is None:
        raise ConfigError(
            f"init_from = {spec!r}: run {run_id} logged no policy (status {run.info.status}, no "
            f"model_uri tag); training runs with a policy: {_training_runs()}"
        )
    recorded = run.data.params.get("paths.checkpoints")
    for root in (checkpoints, recorded):
        if root and (Path(root) / run_id / "final" / MANIFEST_FILE).is_file():
            source = _from_folder(Path(root) / run_id / "final", spec)
            break
    else:
        source = _from_folder(_download_policy(model_uri), spec)
    overrides = source.overrides
    if overrides is None:
        overrides = _run_overrides(run_id)
    return WarmStartSource(
        spec=spec,
        folder=source.folder,
        config=source.config,
        overrides=overrides,
        parent_run=run_id,
        parent_version=parent_version if parent_version is not None else _single_version(run_id),
    )


def _download_policy(model_uri: str) -> Path:
    """The ``policy`` artifact of a logged pyfunc model (its path is in the MLmodel file)."""
    local = Path(mlflow.artifacts.download_artifacts(model_uri, dst_path=tempfile.mkdtemp()))
    mlmodel = yaml.safe_load((local / "MLmodel").read_text())
    path = mlmodel["flavors"]["python_function"]["artifacts"]["policy"]["path"]
    return local / path


def _run_overrides(run_id: str) -> list[str] | None:
    try:
        path = mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path="config/overrides.yaml", dst_path=tempfile.mkdtemp()
        )
    except (MlflowException, OSError):
        return None
    return _read_overrides(Path(path))


def _single_version(run_id: str) -> int | None:
    """The version registered from ``run_id``, if there is exactly one."""
    try:
        versions = MlflowClient().search_model_versions(f"run_id = '{run_id}'")
    except MlflowException:
        return None
    return int(versions[0].version) if len(versions) == 1 else None


def _from_registry(spec: str, checkpoints: str | Path | None) -> WarmStartSource:
    client = MlflowClient()
    name, _, alias = spec[len("models:/") :].partition("@")
    if not alias:
        name, _, number = name.partition("/")
    try:
        model = client.get_registered_model(name)
    except MlflowException:
        names = sorted(m.name for m in client.search_registered_models())
        raise ConfigError(
            f"init_from = {spec!r}: no registered model {name!r}; the registry has {names}"
        ) from None
    versions = sorted(int(v.version) for v in client.search_model_versions(f"name = '{name}'"))
    if alias:
        if alias not in model.aliases:
            raise ConfigError(
                f"init_from = {spec!r}: {name} has no alias {alias!r}; its aliases are "
                f"{dict(model.aliases)}, its versions {versions}"
            )
        number = str(model.aliases[alias])  # pinned: a later move of the alias changes nothing
    if not number.isdigit() or int(number) not in versions:
        raise ConfigError(
            f"init_from = {spec!r}: {name} has no version {number!r}; its versions are "
            f"{versions}, its aliases {dict(model.aliases)}"
        )
    version = client.get_model_version(name, number)
    pinned = f"models:/{name}/{number}"
    run_id = version.tags.get("run_id") or version.run_id
    if run_id:
        return _from_run(run_id, pinned, checkpoints, int(number))
    source = _from_folder(_download_policy(pinned), pinned)  # a version without its run
    return WarmStartSource(pinned, source.folder, source.config, None, None, int(number))


# --- 2. compatibility ----------------------------------------------------------------------

# (config path, override that sets it): what the network's shape or meaning depends on
SHAPE_KEYS: tuple[tuple[str, str], ...] = (
    ("env.name", "env"),
    ("env.id", "env.id"),
    ("env.kwargs.action_mode", "env.kwargs.action_mode"),
    ("agent.name", "agent"),
    ("train.normalize_obs", "train.normalize_obs"),
)


def _get(cfg: Mapping[str, Any], path: str) -> Any:
    node: Any = cfg
    for part in path.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    return node


def _override_value(value: Any) -> str:
    """A value as a Hydra override writes it (``[32,32]``, ``true``, ``null``)."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))


def _node(group: str, node: Mapping[str, Any] | None) -> dict[str, Any]:
    """A ``base`` or ``memory`` node as the job reads it: defaults filled in, so a run from
    before the option existed compares equal to a job with the option's default."""
    if group == "base":
        r = residual_config(node)
        return {
            "name": r.base,
            "scale": r.scale,
            "estimator_features": r.estimator_features,
            "campaign_features": r.campaign_features,
        }
    m = memory_config(node)
    return {"name": m.name, "units": m.units}


def _node_fix(group: str, source: Mapping[str, Any], job: Mapping[str, Any]) -> list[str]:
    """Overrides that turn the job's ``group`` node into the source's: the group choice, then
    every value that differs from the job's."""
    fix = [f"{group}={source.get('name')}"]
    for key in sorted(source):
        if key != "name" and source[key] != job.get(key):
            fix.append(f"{group}.{key}={_override_value(source[key])}")
    return fix


def check_compatible(spec: str, source: Mapping[str, Any], job: Mapping[str, Any]) -> None:
    """Refuse a source trained for another network shape or meaning than the job's.

    Compared: :data:`SHAPE_KEYS`, the ``base`` node (residual base, scale, estimator and
    campaign features), the ``memory`` node and ``agent.algo.policy_kwargs`` (all but
    :data:`INITIALISATION_ONLY`).

    Raises:
        ConfigError: naming the key, the source's and the job's values and the overrides to add.
    """
    for path, override in SHAPE_KEYS:
        mine, theirs = _get(job, path), _get(source, path)
        if mine != theirs:
            raise ConfigError(
                f"init_from = {spec!r} was trained with {path} = {theirs!r}, this job has "
                f"{mine!r}: add {override}={_override_value(theirs)}"
            )
    for group in ("base", "memory"):
        theirs, mine = _node(group, source.get(group)), _node(group, job.get(group))
        if theirs != mine:
            fix = " ".join(_node_fix(group, theirs, mine))
            raise ConfigError(
                f"init_from = {spec!r} was trained with {group} = {theirs}, this job has "
                f"{group} = {mine}: the network's inputs or outputs differ; add {fix}"
            )
    theirs_kw = _get(source, "agent.algo.policy_kwargs") or {}
    mine_kw = _get(job, "agent.algo.policy_kwargs") or {}
    for key in sorted((set(theirs_kw) | set(mine_kw)) - INITIALISATION_ONLY):
        if theirs_kw.get(key) != mine_kw.get(key):
            path = f"agent.algo.policy_kwargs.{key}"
            value = theirs_kw.get(key)
            fix = (
                f"{path}={_override_value(value)}"
                if key in mine_kw
                else f"+{path}={_override_value(value)}"
            )
            if value is None:
                fix = f"~{path}"
            raise ConfigError(
                f"init_from = {spec!r} was trained with {path} = {value!r}, this job has "
                f"{mine_kw.get(key)!r}: add {fix}"
            )


# --- 3. the warm start itself ----------------------------------------------------------------


def warm_start(model: BaseAlgorithm, train_env: VecEnv, source: WarmStartSource) -> None:
    """Copy the source's network weights and normalisation statistics into the job's new model
    and training env (in place; the statistics stay in training mode and keep updating).

    Raises:
        ConfigError: the source's observation or action space differs from the job's (a size
            the config comparison could not see).
    """
    src_model, src_norm = load_policy(source.folder, source.config["agent"], training=True)
    for what in ("observation_space", "action_space"):
        theirs, mine = getattr(src_model, what).shape, getattr(model, what).shape
        if theirs != mine:
            raise ConfigError(
                f"init_from = {source.spec!r} has {what} shape {theirs}, this job's env {mine}: "
                "train the job on the source's env options"
            )
    # weights only: the optimiser (and SAC's entropy coefficient) restart with the job's settings
    model.policy.load_state_dict(src_model.policy.state_dict())
    if isinstance(train_env, VecNormalize) and src_norm is not None:
        if train_env.norm_obs and src_norm.norm_obs:
            train_env.obs_rms = copy.deepcopy(src_norm.obs_rms)
        # the critic learned values on the source's reward scale: keep that scale to begin with
        if train_env.norm_reward and src_norm.norm_reward:
            train_env.ret_rms = copy.deepcopy(src_norm.ret_rms)
        train_env.training = True


# --- 4. lineage ----------------------------------------------------------------------------


def lineage_run_tags(source: WarmStartSource, budget: int) -> dict[str, str]:
    """The fine-tuning run's lineage tags (module table)."""
    tags = {"init_from": source.spec, "fine_tune_budget": str(int(budget))}
    if source.parent_run:
        tags["parent_run"] = source.parent_run
    if source.parent_version is not None:
        tags["parent_version"] = str(source.parent_version)
    return tags


def lineage_version_tags(run_tags: Mapping[str, str]) -> dict[str, str]:
    """``lineage/*`` tags of the version registered by a run with ``run_tags`` (none for a run
    trained from scratch); read from the run's tags so a resumed fine-tuning run keeps them."""
    if "init_from" not in run_tags:
        return {}
    names = {
        "parent_version": "parent_version",
        "parent_run": "parent_run",
        "plant": "plant",
        "plant_hash": "plant_hash",
        "budget": "fine_tune_budget",
    }
    return {f"lineage/{k}": run_tags[v] for k, v in names.items() if v in run_tags}
