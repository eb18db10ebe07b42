"""Named plant splits of a process: training, held-out and out-of-distribution plants.

``conf/splits/<process>.yaml`` names them (the ``splits`` group of the transfer and promote
jobs):

| key | meaning |
| --- | --- |
| ``train`` | the plants policies are trained on; randomised training draws from their ranges |
| ``held_out`` | every parameter inside the training plants' ranges; never trained on |
| ``ood`` | plants with at least one parameter outside them |
| ``gate`` | the promotion gate: ``plants`` × ``scenario_sets``, first ``episodes`` seeds |
| ``fleet`` | the sister plants; each keeps its own deployment alias ``champion-<plant>`` |

"Inside the training ranges" is checked, not asserted: a parameter of a held-out plant must equal
a training plant's nominal value or lie in that plant's randomisation range, for the same
training plant on every parameter (:func:`inside_training_ranges`). A plant given on the command
line is classed by the same test (:meth:`Splits.split_of`), so it is a first-class target.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

import envs
from envs.core.config import resolve_variant
from envs.core.params import PlantVariant
from experiments.lib.config_checks import ConfigError

__all__ = [
    "SPLITS",
    "GateSet",
    "Splits",
    "check_episodes",
    "inside_training_ranges",
    "load_splits",
    "variant",
]

SPLITS = ("train", "held_out", "ood")
# parameters equal within this relative tolerance count as the nominal value (YAML round-trips)
REL_TOL = 1e-9


@dataclasses.dataclass(frozen=True)
class GateSet:
    """The plants × scenario sets a candidate is judged on, and the episodes of each set."""

    plants: tuple[PlantVariant, ...]
    scenario_sets: tuple[str, ...]
    episodes: Mapping[str, int | None]  # per set: its first N seeds (None: all)


@dataclasses.dataclass(frozen=True)
class Splits:
    """The resolved splits of one process (every name checked, every plant resolved)."""

    process: str
    train: tuple[PlantVariant, ...]
    held_out: tuple[PlantVariant, ...]
    ood: tuple[PlantVariant, ...]
    gate: GateSet
    fleet: tuple[PlantVariant, ...]

    def split_of(self, plant: PlantVariant) -> str:
        """``train``, ``held_out`` or ``ood``: a named member's split, else by its parameters."""
        for split in SPLITS:
            if plant.plant_hash() in {p.plant_hash() for p in getattr(self, split)}:
                return split
        return "held_out" if inside_training_ranges(plant, self.train) else "ood"

    def targets(self, names: Sequence[str]) -> list[PlantVariant]:
        """Plants named by split (``held_out``, ``ood``, ``train``, ``fleet``) or by variant."""
        out: list[PlantVariant] = []
        for name in names:
            found = getattr(self, name) if name in (*SPLITS, "fleet") else (variant(self, name),)
            out += [p for p in found if p.plant_hash() not in {q.plant_hash() for q in out}]
        return out


def variant(splits: Splits | str, name: str) -> PlantVariant:
    """A named plant of the process, or a clear error listing the ones that exist."""
    process = splits if isinstance(splits, str) else splits.process
    spec = envs.process(process)
    if name not in spec.plants:
        owner = [q for q in envs.processes() if q != process and name in envs.process(q).plants]
        hint = f" ({name} is a {owner[0]} plant: use env={owner[0]})" if owner else ""
        raise ConfigError(
            f"unknown {process} plant {name!r}{hint}; the {process} plants are: "
            f"{', '.join(spec.plants)} (or give one on the command line: plant={process}_custom "
            "plant.params.<field>=<value>)"
        )
    return resolve_variant(name, spec.params_cls, default=name, conf_dir=spec.conf_dir)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL_TOL * max(1.0, abs(a), abs(b))


def _drawable(source: PlantVariant, key: str, value: float) -> bool:
    """``value`` of parameter ``key`` is ``source``'s nominal one or inside its range."""
    if _close(value, source.params.as_dict()[key]):
        return True
    low, high = source.randomize.get(key, (np.inf, -np.inf))
    return bool(low - REL_TOL <= value <= high + REL_TOL)


def inside_training_ranges(plant: PlantVariant, train: Sequence[PlantVariant]) -> bool:
    """True if, for one training plant, every parameter of ``plant`` equals its nominal value or
    lies inside its randomisation range: a plant randomised training could have drawn."""
    values = plant.params.as_dict()
    return any(all(_drawable(s, k, v) for k, v in values.items()) for s in train)


def _outside(plant: PlantVariant, source: PlantVariant) -> str:
    """The parameters that put ``plant`` outside ``source``'s ranges."""
    nominal = source.params.as_dict()

    def why(key: str) -> str:
        if key not in source.randomize:
            return "not randomised"
        return f"range {source.randomize[key][0]:g}–{source.randomize[key][1]:g}"

    return "; ".join(
        f"{key}={value:g} (nominal {nominal[key]:g}, {why(key)})"
        for key, value in plant.params.as_dict().items()
        if not _drawable(source, key, value)
    )


def check_episodes(episodes: Any, scenario_sets: Sequence[str], key: str) -> dict[str, int | None]:
    """Episodes per scenario set from ``null`` (all), one integer or ``{set: n}``.

    Raises:
        ConfigError: naming ``key``: a count below 2 or a set the mapping misses.
    """
    if episodes is None or isinstance(episodes, int):
        episodes = dict.fromkeys(scenario_sets, episodes)
    if not isinstance(episodes, Mapping):
        raise ConfigError(f"{key} = {episodes!r}: null, an integer or {{set: episodes}}")
    out: dict[str, int | None] = {}
    for name in scenario_sets:
        if name not in episodes:
            raise ConfigError(f"{key} has no count for scenario set {name!r}: add {name}: <n>")
        n = episodes[name]
        if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 2):
            raise ConfigError(f"{key}.{name} = {n!r}: null (all) or an integer ≥ 2")
        out[str(name)] = n
    return out


def _check_membership(lists: Mapping[str, list[PlantVariant]]) -> None:
    """Every plant in one split; held-out plants inside the training ranges, ood ones outside."""
    seen: dict[str, str] = {}
    for split, plants in lists.items():
        for p in plants:
            if p.name in seen:
                raise ConfigError(f"splits: {p.name} is in both {seen[p.name]} and {split}")
            seen[p.name] = split
    for p in lists["held_out"]:
        if not inside_training_ranges(p, lists["train"]):
            raise ConfigError(
                f"splits.held_out: {p.name} is outside the training plants' ranges "
                f"({_outside(p, lists['train'][0])}): move it to ood"
            )
    for p in lists["ood"]:
        if inside_training_ranges(p, lists["train"]):
            raise ConfigError(
                f"splits.ood: {p.name} lies inside the training plants' ranges: move it to held_out"
            )


def load_splits(node: Mapping[str, Any], process: str) -> Splits:
    """Resolve and check the ``splits`` node of a job.

    Raises:
        ConfigError: an unknown plant or split key, a plant in two splits, a held-out plant
            outside the training ranges or an ood plant inside them, a gate or fleet plant
            that is not named, a gate without plants or scenario sets.
    """
    allowed = {*SPLITS, "gate", "fleet"}
    unknown = sorted(set(node) - allowed)
    if unknown:
        raise ConfigError(f"splits: unknown keys {unknown}; valid: {sorted(allowed)}")
    lists = {key: [variant(process, str(n)) for n in node.get(key) or ()] for key in SPLITS}
    if not lists["train"]:
        raise ConfigError(f"splits.train is empty: name the {process} plants policies train on")
    _check_membership(lists)
    gate = node.get("gate") or {}
    if not gate.get("plants") or not gate.get("scenario_sets"):
        raise ConfigError("splits.gate needs plants and scenario_sets (the promotion gate)")
    episodes = check_episodes(gate.get("episodes"), gate["scenario_sets"], "splits.gate.episodes")
    return Splits(
        process=process,
        train=tuple(lists["train"]),
        held_out=tuple(lists["held_out"]),
        ood=tuple(lists["ood"]),
        gate=GateSet(
            tuple(variant(process, str(n)) for n in gate["plants"]),
            tuple(str(s) for s in gate["scenario_sets"]),
            episodes,
        ),
        fleet=tuple(variant(process, str(n)) for n in node.get("fleet") or ()),
    )
