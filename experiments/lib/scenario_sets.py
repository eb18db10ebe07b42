"""Named scenario sets: the fixed episodes every policy and baseline is evaluated on.

A scenario set is a disturbance profile of ``envs/conf/scenarios/<process>/<name>.yaml`` (what the
env reads: campaign length, drifts and scheduled events, sensor faults) plus its ``eval`` section:
the episode seeds (``first_seed`` … ``first_seed + episodes − 1``) and, for drift scenarios, where
the drift starts and how recovery is judged. ``drift_start: episode`` marks a set whose drift
start is drawn per episode (the profile's ``drift_events``): evaluation then measures recovery
from each episode's own start, ``info["drift_start"]`` (-1: that episode has no drift). Seeds
fix an episode's charge or body mix, disturbances (drawn drift starts included) and sensor
noise, so every policy meets exactly the same episodes.

>>> s = load_scenario_set("bof", "drift")
>>> s.seeds[:2], s.drift_start
([200000, 200001], 5)
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import yaml

from envs.core.config import SCENARIO_DIR

__all__ = ["ScenarioSet", "load_scenario_set", "scenario_names"]

_EVAL_KEYS = (
    "first_seed",
    "episodes",
    "drift_start",
    "recovery_kpis",
    "recovery_window",
    "recovery_share",
)


@dataclasses.dataclass(frozen=True)
class ScenarioSet:
    """One named scenario set of a process.

    Attributes:
        process: ``"bof"`` or ``"paint"``.
        name: file stem, also the env's ``scenario`` argument.
        description: one line from the file.
        seeds: the episode seeds, in order.
        drift_start: index of the unit (heat, body) where the drift begins; ``None`` if none or
            if it varies per episode.
        drift_start_varies: the drift start is drawn per episode (``drift_start: episode``):
            read it from each episode's ``info["drift_start"]``.
        recovery_kpis: per-unit 0/1 KPIs that must all be 1 for a unit to be in spec.
        recovery_window: units in the rolling window that judges recovery.
        recovery_share: share of the window that must be in spec.
    """

    process: str
    name: str
    description: str
    seeds: list[int]
    drift_start: int | None = None
    drift_start_varies: bool = False
    recovery_kpis: tuple[str, ...] = ()
    recovery_window: int = 1
    recovery_share: float = 1.0

    @property
    def has_drift(self) -> bool:
        """Whether the set measures drift recovery (fixed or per-episode start)."""
        return self.drift_start is not None or self.drift_start_varies

    def with_episodes(self, episodes: int | None) -> ScenarioSet:
        """The first ``episodes`` seeds only (quick runs); ``None`` keeps all."""
        if episodes is None:
            return self
        if episodes < 1:
            raise ValueError(f"episodes must be ≥ 1, got {episodes}")
        return dataclasses.replace(self, seeds=self.seeds[:episodes])


def scenario_names(process: str) -> list[str]:
    """Scenario sets of a process (files in ``envs/conf/scenarios/<process>/``)."""
    return sorted(p.stem for p in (SCENARIO_DIR / process).glob("*.yaml"))


def load_scenario_set(process: str, name: str) -> ScenarioSet:
    """Read ``envs/conf/scenarios/<process>/<name>.yaml``; unknown names list the valid ones."""
    path = SCENARIO_DIR / process / f"{name}.yaml"
    if not path.is_file():
        raise ValueError(
            f"unknown scenario set {name!r} for {process!r}; valid: {scenario_names(process)}"
        )
    data: dict[str, Any] = yaml.safe_load(Path(path).read_text()) or {}
    ev = dict(data.get("eval") or {})
    unknown = sorted(set(ev) - set(_EVAL_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown eval key(s) {unknown}; valid: {list(_EVAL_KEYS)}")
    if "first_seed" not in ev or "episodes" not in ev:
        raise ValueError(f"{path}: the eval section needs first_seed and episodes")
    first, n = int(ev["first_seed"]), int(ev["episodes"])
    start = ev.get("drift_start")
    varies = start == "episode"
    if varies and not data.get("drift_events"):
        raise ValueError(f"{path}: drift_start: episode needs the profile's drift_events")
    if not (start is None or varies or (isinstance(start, int) and start >= 0)):
        raise ValueError(
            f"{path}: drift_start must be a unit index ≥ 0 or 'episode', got {start!r}"
        )
    return ScenarioSet(
        process=process,
        name=name,
        description=str(data.get("description", "")),
        seeds=list(range(first, first + n)),
        drift_start=None if start is None or varies else int(start),
        drift_start_varies=varies,
        recovery_kpis=tuple(ev.get("recovery_kpis", ())),
        recovery_window=int(ev.get("recovery_window", 1)),
        recovery_share=float(ev.get("recovery_share", 1.0)),
    )
