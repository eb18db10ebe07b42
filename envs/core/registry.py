"""The processes plantrl knows: one :class:`ProcessSpec` each, registered with Gymnasium.

A process (docs/adding_a_process.md) is registered once, in ``envs/__init__.py`` for the built-in
ones or by any code for a new one (``tests/test_adding_a_process.py`` registers a toy tank). The
registry is what lets everything downstream be process-agnostic: ``envs.make(name)``, the env
contract suite and the reports iterate over :func:`processes` instead of naming the BOF and the
paint line.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import gymnasium as gym

from envs.core.config import CONF_DIR

__all__ = ["ENV_IDS", "ProcessSpec", "process", "processes", "register_process"]


@dataclass(frozen=True)
class ProcessSpec:
    """One process: its Gymnasium id, entry points and the modules that describe it.

    Attributes:
        name: Short name used on the command line and in configs (``"bof"``).
        env_id: Gymnasium id in the ``plantrl/`` namespace (``"plantrl/BOF-v2"``).
        entry_point: ``"module:Class"`` of the single env.
        vector_entry_point: ``"module:Class"`` of the native vector env.
        layout: Module path of the process's ``layout`` (its declared array rows).
        params: ``"module:Class"`` of the parameter dataclass.
        test_kwargs: Env arguments that keep the contract suite's episodes short.
        conf_dir: Folder holding ``plant/<name>_*.yaml`` and ``scenarios/<name>/*.yaml``
            (default: the ``envs`` package's own ``envs/conf``).
    """

    name: str
    env_id: str
    entry_point: str
    vector_entry_point: str
    layout: str
    params: str
    test_kwargs: dict[str, Any] = field(default_factory=dict)
    conf_dir: Path = CONF_DIR

    @property
    def plants(self) -> list[str]:
        """Names of the plant variants of this process."""
        return sorted(p.stem for p in (self.conf_dir / "plant").glob(f"{self.name}_*.yaml"))

    @property
    def scenarios(self) -> list[str]:
        """Names of the scenario profiles of this process."""
        return sorted(p.stem for p in (self.conf_dir / "scenarios" / self.name).glob("*.yaml"))

    def load(self, path: str) -> Any:
        """The object at ``"module:attr"`` (or the module for a plain module path)."""
        module_name, _, attr = path.partition(":")
        module = importlib.import_module(module_name)
        return getattr(module, attr) if attr else module

    @property
    def layout_module(self) -> ModuleType:
        module: ModuleType = self.load(self.layout)
        return module

    @property
    def params_cls(self) -> type:
        cls: type = self.load(self.params)
        return cls

    @property
    def env_cls(self) -> type:
        cls: type = self.load(self.entry_point)
        return cls

    @property
    def vector_env_cls(self) -> type:
        cls: type = self.load(self.vector_entry_point)
        return cls


_PROCESSES: dict[str, ProcessSpec] = {}
# process name -> env id of every registered process (kept in step by register_process)
ENV_IDS: dict[str, str] = {}


def register_process(spec: ProcessSpec) -> ProcessSpec:
    """Register ``spec`` (and its Gymnasium id); registering the same spec again is a no-op.

    Raises:
        ValueError: If another process already holds the name or the env id.
    """
    known = _PROCESSES.get(spec.name)
    if known is not None and known != spec:
        raise ValueError(f"process {spec.name!r} is already registered as {known}")
    taken = {p.env_id: p.name for p in _PROCESSES.values()}
    if taken.get(spec.env_id, spec.name) != spec.name:
        raise ValueError(f"env id {spec.env_id!r} is already taken by {taken[spec.env_id]!r}")
    _PROCESSES[spec.name] = spec
    ENV_IDS[spec.name] = spec.env_id
    if spec.env_id not in gym.registry:
        # every plantrl env ends its episodes itself (a blow ends, a shift is cut), so no
        # TimeLimit wrapper is needed
        gym.register(
            id=spec.env_id,
            entry_point=spec.entry_point,
            vector_entry_point=spec.vector_entry_point,
            max_episode_steps=None,
        )
    return spec


def processes() -> dict[str, ProcessSpec]:
    """Every registered process by name, in registration order."""
    return dict(_PROCESSES)


def process(name_or_id: str) -> ProcessSpec:
    """The process named ``name_or_id`` (a short name or its env id)."""
    for spec in _PROCESSES.values():
        if name_or_id in (spec.name, spec.env_id):
            return spec
    valid = sorted(_PROCESSES)
    ids = sorted(p.env_id for p in _PROCESSES.values())
    raise ValueError(f"unknown env {name_or_id!r}; valid: {valid} or ids {ids}")
