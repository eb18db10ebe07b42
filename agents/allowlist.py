"""Which classes a configuration may name: the allow-list checked before anything is imported.

A ``config.yaml`` inside a policy folder comes from whoever handed over the folder. Hydra's
``_target_`` (and ``hydra.utils.get_class`` with a ``path``) imports and calls whatever it names,
so a crafted config would run code while "loading a policy". Every class name a config or a
policy manifest gives is therefore checked here first: by its module prefix before any import
(so a foreign module is never imported), then by its kind once imported.

| prefix | allowed classes |
| --- | --- |
| ``torch.nn`` | activation functions (``torch.nn.modules.activation``) |
| ``torch.optim`` | optimizers (subclasses of ``torch.optim.Optimizer``) |
| ``stable_baselines3``, ``sb3_contrib`` | algorithms, policies, feature extractors, action noise |
| ``agents``, ``envs`` | this project's classes |
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["ALLOWED", "allowed_class", "check_targets"]

ALLOWED = (
    "torch.nn activations, torch.optim optimizers, stable_baselines3/sb3_contrib algorithms, "
    "policies, feature extractors and action noise, project classes under agents./envs."
)
# hydra's helper that turns a dotted ``path`` into a class: the class is what gets checked
GET_CLASS = "hydra.utils.get_class"
_ROOTS = ("torch", "stable_baselines3", "sb3_contrib", "agents", "envs")


class NotAllowedError(ValueError):
    """A configuration names a class outside the allow-list."""


def _import(dotted: str) -> Any:
    """The object at ``module.attr``: the longest importable module prefix, then attributes."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            obj: Any = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for attr in parts[cut:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"no module for {dotted!r}")


def _is_allowed_kind(obj: type) -> bool:
    """Whether an imported class is of a kind the allow-list admits for its package."""
    root = obj.__module__.split(".")[0]
    if root in ("agents", "envs"):
        return True
    import torch
    from stable_baselines3.common.base_class import BaseAlgorithm
    from stable_baselines3.common.noise import ActionNoise
    from stable_baselines3.common.policies import BasePolicy
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    if root == "torch":
        is_activation = issubclass(obj, torch.nn.Module) and obj.__module__ == (
            "torch.nn.modules.activation"
        )
        return is_activation or issubclass(obj, torch.optim.Optimizer)
    return issubclass(obj, (BaseAlgorithm, BasePolicy, BaseFeaturesExtractor, ActionNoise))


def allowed_class(dotted: str, where: str) -> type:
    """The class ``dotted`` names, if the allow-list admits it.

    Args:
        dotted: a dotted class name, e.g. ``torch.nn.Tanh`` or ``stable_baselines3.PPO``.
        where: what named it (a config key or file), for the error message.

    Raises:
        NotAllowedError: the name is outside the allow-list, or is not a class; the module of a
            name with a foreign prefix is never imported.
    """
    refusal = (
        f"{where}: {dotted!r} is not on the allow-list of classes a config may name ({ALLOWED})"
    )
    if dotted.split(".")[0] not in _ROOTS:
        raise NotAllowedError(refusal)
    try:
        obj = _import(dotted)
    except (ImportError, AttributeError) as err:
        raise NotAllowedError(f"{where}: cannot import {dotted!r}: {err}") from err
    if not isinstance(obj, type) or not _is_allowed_kind(obj):
        raise NotAllowedError(refusal)
    return obj


def check_targets(config: Any, where: str = "config") -> None:
    """Refuse a config whose ``_target_`` entries (at any depth) name classes off the allow-list.

    ``{_target_: hydra.utils.get_class, path: X}`` is checked as ``X``; any other ``_target_``
    must itself be an allowed class (functions are not: they would be called).

    Raises:
        NotAllowedError: naming the key path of the first entry refused.
    """
    if isinstance(config, Mapping):
        target = config.get("_target_")
        if target is not None:
            if target == GET_CLASS:
                allowed_class(str(config.get("path")), f"{where}.path")
            else:
                allowed_class(str(target), f"{where}._target_")
        for key, value in config.items():
            check_targets(value, f"{where}.{key}")
    elif isinstance(config, Sequence) and not isinstance(config, str | bytes):
        for index, value in enumerate(config):
            check_targets(value, f"{where}[{index}]")
