"""Fail before training: every invalid value is reported with the config key that holds it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agents.paired import REFERENCES
from agents.residual import ResidualConfig, residual_config

__all__ = ["ConfigError", "check_tuned_base", "residual_settings", "validate_train_config"]


class ConfigError(ValueError):
    """An invalid configuration value (the message names the key and the valid range)."""


def _number(cfg: Mapping[str, Any], path: str) -> float | None:
    node: Any = cfg
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    if isinstance(node, bool) or not isinstance(node, int | float):
        return None  # schedules (callables) and strings are SB3's to judge
    return float(node)


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
)


def validate_train_config(cfg: Mapping[str, Any]) -> None:
    """Check the numeric settings training depends on.

    Raises:
        ConfigError: naming the first invalid key, e.g. ``agent.algo.learning_rate = -0.001 is
            invalid: must be > 0``.
    """
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
