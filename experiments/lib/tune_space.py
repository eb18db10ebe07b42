"""The search space of experiments.tune: which config keys may be searched, and the values a
trial samples from ``conf/tune/space/*.yaml``.

Each entry names a key of the composed train config and its range:

| type | fields | sampled as |
| --- | --- | --- |
| ``float`` / ``int`` | ``low``, ``high``, ``log`` | ``suggest_float`` / ``suggest_int`` |
| ``categorical`` | ``choices`` | ``suggest_categorical`` |
| ``width`` | ``choices``, ``depth`` | one hidden width, ``depth`` layers (``net_arch``) |

Searchable keys: ``agent.algo.*`` keys the agent config has, and with a residual base
(``base=pid|operator``) ``base.scale`` and ``base.estimator_features`` — the values a
best-parameter file (an hparams option) can set.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna

from experiments.lib.config_checks import ConfigError, residual_settings

__all__ = ["SEARCHABLE_BASE", "check_space", "config_values", "get_key", "sample", "set_key"]

TYPES = ("float", "int", "categorical", "width")
SEARCHABLE_BASE = ("base.scale", "base.estimator_features")  # base.name is the study's choice


def get_key(tree: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted key (``agent.algo.gamma``)."""
    node: Any = tree
    for part in path.split("."):
        node = node[part]
    return node


def set_key(tree: dict[str, Any], path: str, value: Any) -> None:
    """Set the value at a dotted key whose parents exist."""
    *parents, leaf = path.split(".")
    node = tree
    for part in parents:
        node = node[part]
    node[leaf] = value


def _check_key(name: str, c: Mapping[str, Any]) -> None:
    """A searched key is an ``agent.algo`` key of the config or a searchable ``base`` key."""
    if name.startswith("base."):
        if name not in SEARCHABLE_BASE:
            raise ConfigError(
                f"tune.space entry {name!r}: of the base only {list(SEARCHABLE_BASE)} can be "
                "searched (the base itself is the study's choice: base=pid|operator)"
            )
        if not residual_settings(c).active:
            raise ConfigError(
                f"tune.space entry {name!r} needs a residual base (base=pid or base=operator): "
                "base=none has no correction to scale; drop the entry or choose a base"
            )
        return
    if not name.startswith("agent.algo."):
        raise ConfigError(
            f"tune.space entry {name!r}: only agent.algo.* keys and {list(SEARCHABLE_BASE)} can "
            "be searched (the tuned file is an hparams option, which sets agent and base only)"
        )
    parent = name.rpartition(".")[0]
    try:
        node = get_key(c, parent)
    except (KeyError, TypeError):
        node = None
    if not isinstance(node, Mapping):
        raise ConfigError(f"tune.space entry {name!r}: {parent} is not in the agent config")


def check_space(space: list[Mapping[str, Any]], c: Mapping[str, Any]) -> None:
    """Every search-space entry names a searchable key of the config and a valid range.

    Raises:
        ConfigError: naming the entry and what is wrong with it.
    """
    if not space:
        raise ConfigError("tune.space.params is empty: nothing to search")
    for entry in space:
        name, kind = str(entry.get("name")), entry.get("type")
        _check_key(name, c)
        if kind not in TYPES:
            raise ConfigError(f"tune.space entry {name!r}: type {kind!r} is not one of {TYPES}")
        if kind in ("float", "int") and not float(entry["low"]) < float(entry["high"]):
            raise ConfigError(f"tune.space entry {name!r}: needs low < high")
        if kind in ("categorical", "width") and not entry.get("choices"):
            raise ConfigError(f"tune.space entry {name!r}: needs a non-empty list of choices")
        if name == "base.scale" and kind == "float" and not float(entry["low"]) > 0.0:
            raise ConfigError(f"tune.space entry {name!r}: needs low > 0 (a correction's gain)")


def sample(trial: optuna.Trial, space: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Config values (``{dotted key: value}``) of one trial from the search space."""
    values: dict[str, Any] = {}
    for e in space:
        name, kind = str(e["name"]), e["type"]
        if kind == "float":
            values[name] = trial.suggest_float(
                name, float(e["low"]), float(e["high"]), log=bool(e.get("log", False))
            )
        elif kind == "int":
            values[name] = trial.suggest_int(
                name, int(e["low"]), int(e["high"]), log=bool(e.get("log", False))
            )
        elif kind == "categorical":
            values[name] = trial.suggest_categorical(name, list(e["choices"]))
        else:  # width: one width for `depth` hidden layers (lists are not Optuna choices)
            width = trial.suggest_categorical(name, [int(w) for w in e["choices"]])
            values[name] = [width] * int(e.get("depth", 2))
    return values


def config_values(params: Mapping[str, Any], space: list[Mapping[str, Any]]) -> dict[str, Any]:
    """Optuna's stored params of a trial as config values (widths back to ``net_arch`` lists)."""
    kinds = {str(e["name"]): e for e in space}
    out: dict[str, Any] = {}
    for name, value in params.items():
        e = kinds.get(name)
        out[name] = [value] * int(e.get("depth", 2)) if e and e["type"] == "width" else value
    return out
