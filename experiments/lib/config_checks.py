"""Fail before training: every invalid value is reported with the config key that holds it.

Every check here runs before a job touches the tracking store or writes a file, so a rejected
command leaves nothing behind: types and ranges of the numbers (a string where a count belongs
is named with its key, never a ``TypeError`` later), the tracking URI and store file, and the
``resume=`` target.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from agents.paired import REFERENCES
from agents.residual import ResidualConfig, residual_config

__all__ = [
    "ConfigError",
    "check_tracking",
    "check_tuned_base",
    "residual_settings",
    "resume_folder",
    "validate_train_config",
]


class ConfigError(ValueError):
    """An invalid configuration value (the message names the key and the valid range)."""


_ABSENT = object()


def _value(cfg: Mapping[str, Any], path: str) -> Any:
    node: Any = cfg
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return _ABSENT
        node = node[part]
    return node


def _number(cfg: Mapping[str, Any], path: str) -> float | None:
    node = _value(cfg, path)
    if isinstance(node, bool) or not isinstance(node, int | float):
        return None  # schedules (mappings with _target_) are SB3's to judge
    return float(node)


# job settings that must be numbers whatever the agent: a string or null here is a typo
JOB_NUMBERS = frozenset(
    {
        "seed",
        "train.total_timesteps",
        "train.n_envs",
        "train.checkpoint_every_steps",
        "eval.n_episodes",
        "eval.every_steps",
        "eval.final_episodes",
        "train.torch_threads",
        "eval.first_seed",
    }
)
# SB3 reads these strings itself (SAC/TD3 ent_coef="auto" or "auto_<initial value>")
SB3_STRINGS: dict[str, Any] = {"agent.algo.ent_coef": lambda v: v.startswith("auto")}


def _check_type(cfg: Mapping[str, Any], path: str, what: str) -> None:
    """A value of the wrong type (``seed=abc``, ``train.n_envs=null``) named with its key."""
    value = _value(cfg, path)
    if value is _ABSENT or (isinstance(value, int | float) and not isinstance(value, bool)):
        return
    if isinstance(value, str) and SB3_STRINGS.get(path, lambda v: False)(value):
        return
    if isinstance(value, Mapping) and path not in JOB_NUMBERS:
        return  # a schedule (``_target_``) for SB3
    if value is None and path not in JOB_NUMBERS:
        return  # SB3's default
    raise ConfigError(f"{path} = {value!r} is invalid: must be {what}")


def _require(cfg: Mapping[str, Any], path: str, ok: bool, what: str) -> None:
    if not ok:
        raise ConfigError(f"{path} = {_number(cfg, path)!r} is invalid: must be {what}")


RULES: tuple[tuple[str, str, Any], ...] = (
    ("train.total_timesteps", "a positive integer", lambda v: v >= 1 and v == int(v)),
    ("train.n_envs", "a positive integer", lambda v: v >= 1 and v == int(v)),
    ("train.checkpoint_every_steps", "a positive integer", lambda v: v >= 1),
    ("eval.n_episodes", "a positive integer", lambda v: v >= 1),
    ("eval.every_steps", "a positive integer", lambda v: v >= 1),
    ("eval.final_episodes", "a positive integer", lambda v: v >= 1),
    ("agent.algo.learning_rate", "> 0", lambda v: v > 0),
    ("agent.algo.gamma", "in (0, 1]", lambda v: 0 < v <= 1),
    ("agent.algo.gae_lambda", "in [0, 1]", lambda v: 0 <= v <= 1),
    ("agent.algo.batch_size", "a positive integer", lambda v: v >= 1),
    ("agent.algo.n_steps", "a positive integer", lambda v: v >= 1),
    ("agent.algo.n_epochs", "a positive integer", lambda v: v >= 1),
    ("agent.algo.clip_range", "> 0", lambda v: v > 0),
    ("agent.algo.ent_coef", ">= 0", lambda v: v >= 0),
    ("agent.algo.buffer_size", "a positive integer", lambda v: v >= 1),
    ("agent.algo.learning_starts", ">= 0", lambda v: v >= 0),
    ("agent.algo.tau", "in (0, 1]", lambda v: 0 < v <= 1),
    ("agent.algo.gradient_steps", "a positive integer or -1", lambda v: v >= 1 or v == -1),
    ("seed", "a non-negative integer", lambda v: v >= 0 and v == int(v)),
    ("train.torch_threads", "a positive integer", lambda v: v >= 1 and v == int(v)),
    ("eval.first_seed", "a non-negative integer", lambda v: v >= 0 and v == int(v)),
)


def validate_train_config(cfg: Mapping[str, Any]) -> None:
    """Check the numeric settings training depends on.

    Raises:
        ConfigError: naming the first invalid key, e.g. ``agent.algo.learning_rate = -0.001 is
            invalid: must be > 0`` or ``seed = 'abc' is invalid: must be a non-negative
            integer``.
    """
    for path, what, _ in RULES:
        _check_type(cfg, path, what)  # all types first: nothing below compares a string
    for path, what, ok in RULES:
        value = _number(cfg, path)
        if value is not None:
            _require(cfg, path, ok(value), what)
    starts = _number(cfg, "agent.algo.learning_starts")
    if starts is not None and starts >= cfg["train"]["total_timesteps"]:
        raise ConfigError(
            f"agent.algo.learning_starts = {starts:g} is not below train.total_timesteps = "
            f"{cfg['train']['total_timesteps']}: the off-policy agent would never train"
        )
    if cfg["train"]["total_timesteps"] < cfg["train"]["n_envs"]:
        raise ConfigError(
            f"train.total_timesteps = {cfg['train']['total_timesteps']} is smaller than "
            f"train.n_envs = {cfg['train']['n_envs']}: not a single vector step would run"
        )
    paired = cfg["train"].get("paired_reference")
    if paired is not None and paired not in REFERENCES:
        raise ConfigError(
            f"train.paired_reference = {paired!r} is invalid: must be null (plain rewards) or "
            f"one of {list(REFERENCES)} (agents/paired.py)"
        )
    check_tuned_base(cfg)
    if isinstance(cfg.get("tracking"), Mapping):
        check_tracking(cfg["tracking"], write=True)
    plant_process = (
        cfg.get("plant", {}).get("process") if isinstance(cfg.get("plant"), Mapping) else None
    )
    env_name = cfg.get("env", {}).get("name")
    if plant_process is not None and env_name is not None and plant_process != env_name:
        raise ConfigError(
            f"plant.process = {plant_process!r} does not match env.name = {env_name!r}: pick a "
            f"{env_name} plant (envs/conf/plant/{env_name}_*.yaml), e.g. plant=<{env_name}_...>"
        )


def check_tuned_base(cfg: Mapping[str, Any]) -> None:
    """Hyper-parameters tuned for one residual base are not trained on another by accident.

    A best-parameter file of experiments.tune records its base under ``agent.tuned.base``; a
    composed ``base`` group of another name (``hparams=bof_ppo_on_pid_tuned base=none``) would
    train values searched for a different problem. Files without the record are not checked.

    Raises:
        ConfigError: naming both bases and the two ways out.
    """
    agent = cfg.get("agent")
    tuned = agent.get("tuned") if isinstance(agent, Mapping) else None
    if not isinstance(tuned, Mapping) or not isinstance(tuned.get("base"), Mapping):
        return
    recorded = tuned["base"]
    base = cfg.get("base")
    have = str(base.get("name", "none")) if isinstance(base, Mapping) else "none"
    want = str(recorded.get("name", "none"))
    if have != want:
        raise ConfigError(
            f"base.name = {have!r}, but the hyper-parameters in agent (study "
            f"{tuned.get('study')!r}) were tuned for base {want!r}: train with base={want}, or "
            "drop the record with ~agent.tuned to use them on this base deliberately"
        )


def residual_settings(c: Mapping[str, Any]) -> ResidualConfig:
    """The job's residual settings (its ``base`` node), a clear ConfigError when invalid."""
    try:
        return residual_config(c.get("base"))
    except ValueError as err:
        raise ConfigError(f"base: {err}") from err


# URI schemes MLflow serves both runs and the model registry from (mlflow.tracking.registry)
STORE_SCHEMES = ("sqlite", "http", "https", "postgresql", "mysql", "mssql", "file", "databricks")
SQLITE_HEADER = b"SQLite format 3\x00"  # the first 16 bytes of every SQLite database file


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_tracking(tracking: Mapping[str, Any], write: bool) -> None:
    """The tracking URI names a store MLflow can open (and, for ``write``, write to).

    Checked before the store is opened, so a typo in the URI, a file that is not a database or
    a read-only store stops the job before any experiment or run exists. A server is checked
    for reachability later (:func:`experiments.lib.tracking.setup_tracking`).

    Raises:
        ConfigError: naming ``tracking.uri`` (or the store file) and what would be valid.
    """
    uri = str(tracking.get("uri") or "")
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if ":" in uri else ""
    if uri in ("", "???"):
        return  # setup_tracking says it is not set (TrackingError), before any run exists
    if scheme not in STORE_SCHEMES:
        raise ConfigError(
            f"tracking.uri = {uri!r} is invalid: use sqlite:///<absolute path>.db (tracking="
            "local), http(s)://<host>:<port> of an mlflow server (tracking=server) or a "
            f"database URL; schemes: {', '.join(STORE_SCHEMES)}"
        )
    if scheme != "sqlite":
        return
    if not uri.startswith("sqlite:///"):
        raise ConfigError(f"tracking.uri = {uri!r} is invalid: use sqlite:///<path to a .db file>")
    db = Path(uri.removeprefix("sqlite:///"))
    if db.is_dir():
        raise ConfigError(f"tracking store {db} is a folder: tracking.uri names the .db file in it")
    if db.is_file() and db.stat().st_size > 0:
        with db.open("rb") as f:
            if f.read(len(SQLITE_HEADER)) != SQLITE_HEADER:
                raise ConfigError(
                    f"tracking store {db} is not an SQLite database (damaged or another file): "
                    "move it away to start a new store, or point tracking.uri at the right file"
                )
    # SQLite writes a journal next to the database: both the file and its folder must be writable
    folder = _nearest_existing(db.parent)
    writable = os.access(db if db.exists() else folder, os.W_OK) and os.access(folder, os.W_OK)
    if write and not writable:
        raise ConfigError(
            f"tracking store {db} is read-only (the file or its folder): make it writable, or "
            "write to another store with tracking.uri=sqlite:///<path>.db"
        )


def resume_folder(resume: Any, checkpoints: str | Path) -> Path:
    """The checkpoint folder of the run ``resume=`` names (a run id or the run's folder).

    Raises:
        ConfigError: for an empty value, the checkpoints root, a step folder, or a name
            without a run folder, each with the ``resume=`` that would work.
    """
    text, root = str(resume).strip(), Path(checkpoints)
    if not text:
        raise ConfigError(
            f"resume is empty: give the MLflow run id of an interrupted run (a folder in {root})"
        )
    folder = Path(text) if Path(text).is_dir() else root / text
    if (folder / "run_id").is_file() and (folder / "config.yaml").is_file():
        return folder
    if (folder.parent / "run_id").is_file():  # a step_<n> or final folder inside a run's folder
        raise ConfigError(
            f"resume = {text!r} is a folder inside the checkpoints of run {folder.parent.name}: "
            f"resume names the run, which continues from its latest checkpoint: "
            f"resume={folder.parent.name}"
        )
    runs = sorted(p.parent.name for p in folder.glob("*/run_id")) if folder.is_dir() else []
    if runs:
        raise ConfigError(
            f"resume = {text!r} holds the checkpoint folders of {len(runs)} run(s): name the "
            f"run to continue, e.g. resume={runs[0]}"
        )
    raise ConfigError(
        f"resume = {text!r}: no checkpoint folder of a run there or in {root} (a run's folder "
        "holds run_id and config.yaml): give the MLflow run id of an interrupted training run"
    )
