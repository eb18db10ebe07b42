"""The plant a job runs on: its variant, name and identity; plants given on the command line.

A plant is its name plus a stable hash of its full parameter set and randomisation ranges
(:meth:`envs.core.params.PlantVariant.identity`). Every training and evaluation run is tagged
with both (``plant``, ``plant_hash``) and logs the full set as ``plant.json``; comparisons
(``gap_closed``, reports) pair runs by ``plant_hash``, never by name.

The name of a job's plant: the node's ``name`` if it has one, else the ``plant=`` choice; a named
variant changed by overrides (``plant=bof_250t +plant.params.scrap_t=45``) is renamed
``bof_250t+overrides``, so its runs are not even labelled as the named plant's.

Command-line plants: importing this module adds a ``<process>_custom`` entry to Hydra's ``plant``
group for every process, holding the process's default parameters (every field listed, so
``plant.params.<field>=`` needs no ``+``) and every randomisation range as ``null`` (none: the
plant has no ranges unless given, ``plant.randomize.<field>=[low,high]``)::

    python -m experiments.evaluate policy=baseline:pid plant=bof_custom plant.name=bof_180t \\
        plant.params.heat_size_t=180 plant.params.hot_metal_t=169.2 plant.params.scrap_t=28.8
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import mlflow
from hydra.core.config_store import ConfigStore

import envs
from envs.core.config import resolve_variant
from envs.core.params import PlantParams, PlantVariant, load_variant

__all__ = [
    "CUSTOM_SUFFIX",
    "custom_plant_node",
    "job_plant",
    "log_plant",
    "plant_tags",
    "register_custom_plants",
]

CUSTOM_SUFFIX = "_custom"
OVERRIDDEN_SUFFIX = "+overrides"


def custom_plant_node(process: str) -> dict[str, Any]:
    """The ``plant=<process>_custom`` config: the process's defaults, no randomisation."""
    params_cls: type[PlantParams] = envs.process(process).params_cls
    defaults = params_cls().as_dict()
    return {
        "process": process,
        "name": f"{process}{CUSTOM_SUFFIX}",
        "description": f"{process} plant given on the command line (defaults of "
        f"{params_cls.__name__}, no randomisation unless given)",
        "params": defaults,
        "randomize": dict.fromkeys(defaults),
    }


def register_custom_plants() -> None:
    """Add ``<process>_custom`` to Hydra's ``plant`` group for every registered process."""
    store = ConfigStore.instance()
    for process in envs.processes():
        store.store(
            group="plant", name=f"{process}{CUSTOM_SUFFIX}", node=custom_plant_node(process)
        )


def job_plant(
    plant: str | Mapping[str, Any] | PlantVariant, process: str, choice: str | None
) -> PlantVariant:
    """The resolved plant of a job: a variant name or path, or a composed ``plant`` node.

    Args:
        plant: ``cfg.plant`` of the job (a node in the plant-YAML layout), a variant name or
            a resolved variant (returned as it is).
        process: the env's process (``"bof"``, ``"paint"``).
        choice: the ``plant=`` group choice (Hydra's runtime choices), or the name a run
            already carries (a resumed or chained job); ``None`` if unknown.
    """
    if isinstance(plant, PlantVariant):  # resolved already (transfer, promotion, fleet)
        return plant
    spec = envs.process(process)
    variant = resolve_variant(plant, spec.params_cls, default="", conf_dir=spec.conf_dir)
    if isinstance(plant, str):
        return variant
    if "name" in plant:
        return variant
    name = choice or "custom"
    if name in spec.plants:
        named = load_variant(spec.conf_dir / "plant" / f"{name}.yaml", spec.params_cls)
        if named.plant_hash() != variant.plant_hash():
            name += OVERRIDDEN_SUFFIX
    return variant.renamed(name)


def plant_tags(variant: PlantVariant) -> dict[str, str]:
    """Run tags that identify the plant: ``plant`` (name) and ``plant_hash``."""
    name, digest = variant.identity()
    return {"plant": name, "plant_hash": digest}


def log_plant(variant: PlantVariant) -> None:
    """Tag the active run with the plant's identity and log its full parameter set
    (``plant.json``: name, hash, process, every parameter, ranges; an artifact, since a
    hundred-odd params would crowd the flattened config and MLflow forbids re-logging a param
    with another value)."""
    mlflow.set_tags(plant_tags(variant))
    mlflow.log_dict(
        {"name": variant.name, "plant_hash": variant.plant_hash(), **variant.canonical()},
        "plant.json",
    )


register_custom_plants()
