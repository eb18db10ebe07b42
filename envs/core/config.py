"""Plant variants and scenario profiles by name: what ``gym.make(id, plant=…, scenario=…)`` accepts.

Plant variants live in ``envs/conf/plant/<process>_*.yaml`` and disturbance profiles in
``envs/conf/scenarios/<process>/*.yaml``: package data of ``envs``, read relative to the package
(never from the repository's ``conf/``), so a wheel install finds them. They are the same files
the Hydra jobs compose (``pkg://envs.conf`` on their search path), so a Gymnasium user and a Hydra
run name the same things. An unknown name fails with the list of valid ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from envs.core.params import PlantParams, PlantVariant, load_variant, variant_from_mapping

__all__ = [
    "CONF_DIR",
    "PLANT_DIR",
    "SCENARIO_DIR",
    "env_options",
    "resolve_scenario",
    "resolve_variant",
]

# envs/conf: package data declared in pyproject ([tool.setuptools.package-data])
CONF_DIR = Path(__file__).resolve().parents[1] / "conf"
PLANT_DIR = CONF_DIR / "plant"
SCENARIO_DIR = CONF_DIR / "scenarios"


def resolve_variant(
    plant: str | Mapping[str, Any] | PlantVariant | PlantParams | None,
    params_cls: type[PlantParams],
    default: str,
    conf_dir: Path = CONF_DIR,
) -> PlantVariant:
    """A plant variant from a name in ``envs/conf/plant/``, a YAML path, a mapping or parameters.

    Args:
        plant: ``None`` (the default variant), a variant name (``"bof_250t"``), a path to a plant
            YAML, a mapping in the plant-YAML layout, a ``PlantVariant`` or a parameter set.
        params_cls: The process's parameter class; its ``process`` names the YAML prefix.
        default: Variant name used for ``None``.
        conf_dir: Folder whose ``plant/`` holds the named variants (a process defined outside
            the ``envs`` package brings its own).
    """
    process = params_cls.process
    if plant is None:
        plant = default
    if isinstance(plant, PlantVariant):
        return plant
    if isinstance(plant, params_cls):
        return PlantVariant(name="custom", params=plant)
    if isinstance(plant, Mapping):
        return variant_from_mapping(plant, params_cls, str(plant.get("name", "custom")))
    if isinstance(plant, str):
        plant_dir = conf_dir / "plant"
        is_path = plant.endswith((".yaml", ".yml"))
        path = Path(plant) if is_path else plant_dir / f"{plant}.yaml"
        if not path.is_file():
            valid = sorted(p.stem for p in plant_dir.glob(f"{process}_*.yaml"))
            raise ValueError(
                f"unknown {process.upper()} plant {plant!r}; valid plants: {valid} "
                "(or a path to a plant YAML)"
            )
        return load_variant(path, params_cls)
    raise TypeError(
        f"plant must be a name, mapping, PlantVariant or {params_cls.__name__}, got {plant!r}"
    )


def resolve_scenario(
    scenario: str | Mapping[str, Any] | None,
    process: str,
    keys: tuple[str, ...],
    conf_dir: Path = CONF_DIR,
) -> dict[str, Any]:
    """A disturbance profile: a name in ``envs/conf/scenarios/<process>/``, a path or a mapping.

    Args:
        scenario: ``None`` (no profile), a name, a path or a mapping.
        process: ``"bof"``, ``"paint"``.
        keys: The env arguments a profile may set; any other key fails listing these.
        conf_dir: Folder whose ``scenarios/<process>/`` holds the named profiles.

    Returns:
        The profile without its ``description`` and ``eval`` entries.
    """
    if scenario is None:
        return {}
    if isinstance(scenario, str):
        scenario_dir = conf_dir / "scenarios" / process
        is_path = scenario.endswith((".yaml", ".yml"))
        path = Path(scenario) if is_path else scenario_dir / f"{scenario}.yaml"
        if not path.is_file():
            valid = sorted(p.stem for p in scenario_dir.glob("*.yaml"))
            raise ValueError(
                f"unknown {process.upper()} scenario {scenario!r}; valid scenarios: {valid} "
                "(or a path to a scenario YAML)"
            )
        scenario = yaml.safe_load(path.read_text()) or {}
    # "description" documents the file and "eval" holds the scenario set's episodes (read by
    # experiments.lib.scenario_sets); neither is an env argument
    profile = {k: v for k, v in dict(scenario).items() if k not in ("description", "eval")}
    unknown = sorted(set(profile) - set(keys))
    if unknown:
        raise ValueError(f"unknown scenario key(s) {unknown}; valid keys: {list(keys)}")
    return profile


def env_options(
    scenario: str | Mapping[str, Any] | None,
    process: str,
    defaults: Mapping[str, Any],
    conf_dir: Path = CONF_DIR,
    **explicit: Any,
) -> dict[str, Any]:
    """The options a process's batch is built with: ``defaults``, overridden by the scenario
    profile (whose keys must be among the defaults'), overridden by the arguments the caller
    set explicitly (those not ``None``)."""
    options = dict(defaults)
    options.update(resolve_scenario(scenario, process, tuple(defaults), conf_dir))
    options.update({k: v for k, v in explicit.items() if v is not None})
    return options
