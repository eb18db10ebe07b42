"""Run any policy on a fixed set of seeded episodes and collect returns and unit KPIs.

Every plant speaks one info vocabulary (:mod:`envs.core.shell`): ``unit_end`` and ``unit_kpi``
for the unit its KPIs summarise (a heat, a shift), ``product_kpi`` for each product made (a heat,
a car body), so nothing here knows which process it evaluates.

Every episode runs in its own single env reset with its own seed, so an episode's charge,
disturbances and sensor noise are fixed by its seed alone: every policy and baseline meets
exactly the same scenarios (common random numbers), whatever the others do. The episodes are
stepped together so the policy sees one batch per step (one network forward for all).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from agents.policy import Policy

__all__ = ["EpisodeResults", "RecurrentSB3Policy", "evaluate", "n_actions", "unit_kpis"]


@dataclasses.dataclass
class EpisodeResults:
    """Per-episode returns, per-unit KPIs (one dict per ended unit, in order) and each episode's
    series of product KPIs (``info["product_kpi"]``: every heat of a BOF campaign, every body of
    a paint shift) for drift-recovery analysis, and each episode's drawn drift start
    (``info["drift_start"]`` of a profile with ``drift_events``: unit index, -1 for none; ``None``
    where the env draws none)."""

    seeds: list[int]
    returns: np.ndarray
    lengths: np.ndarray
    units: list[dict[str, float]]
    series: list[list[dict[str, float]]] = dataclasses.field(default_factory=list)
    drift_starts: list[int | None] = dataclasses.field(default_factory=list)

    def kpi_means(self) -> dict[str, float]:
        """Mean of every KPI over all units (hit flags become hit rates)."""
        keys = self.units[0].keys() if self.units else []
        return {k: float(np.mean([u[k] for u in self.units])) for k in keys}

    def summary(self) -> dict[str, float]:
        return {
            "return_mean": float(self.returns.mean()),
            "return_std": float(self.returns.std()),
            "episode_length_mean": float(self.lengths.mean()),
            **self.kpi_means(),
        }


def evaluate(
    policy: Policy | Callable[[np.ndarray], np.ndarray],
    make_env: Callable[[], gym.Env],
    seeds: Sequence[int],
) -> EpisodeResults:
    """Run one episode per seed with ``policy`` (``act(obs_batch) -> action_batch``).

    A policy with ``reset(n)`` is told that ``n`` episodes start (recurrent state); one with
    ``attach(envs)`` gets the episodes' envs (privileged baselines, see :mod:`agents.policy`).
    """
    act = policy.act if hasattr(policy, "act") else policy
    if hasattr(policy, "reset"):
        policy.reset(len(seeds))
    env_list = [make_env() for _ in seeds]
    if hasattr(policy, "attach"):  # a privileged reference (the MPC oracle) reads the plants
        policy.attach(env_list)
    resets = [e.reset(seed=int(s)) for e, s in zip(env_list, seeds, strict=True)]
    obs = np.stack([r[0] for r in resets])
    # drawn at reset and fixed for the episode: recovery is measured from the episode's own start
    drift_starts = [r[1].get("drift_start") for r in resets]
    returns, lengths = np.zeros(len(seeds)), np.zeros(len(seeds), dtype=np.int64)
    running = np.ones(len(seeds), dtype=bool)
    units: list[list[dict[str, float]]] = [[] for _ in seeds]
    series: list[list[dict[str, float]]] = [[] for _ in seeds]
    while running.any():
        actions = np.asarray(act(obs))
        for i in np.flatnonzero(running):
            o, r, term, trunc, info = env_list[i].step(actions[i])
            obs[i] = o
            returns[i] += r
            lengths[i] += 1
            unit = unit_kpis(info)
            if unit is not None:
                units[i].append(unit)
            if "product_kpi" in info:
                series[i].append(info["product_kpi"])
            running[i] = not (term or trunc)
    for e in env_list:
        e.close()
    flat = [u for us in units for u in us]
    return EpisodeResults(list(map(int, seeds)), returns, lengths, flat, series, drift_starts)


def n_actions(make_env: Callable[[], gym.Env]) -> int:
    """Action dimension of the env ``make_env`` builds."""
    env = make_env()
    try:
        shape = env.action_space.shape
        assert shape is not None and len(shape) == 1, f"expected a 1-d Box, got {shape}"
        return int(shape[0])
    finally:
        env.close()


def unit_kpis(info: dict[str, Any]) -> dict[str, float] | None:
    """KPIs of the unit that ended in this step (a heat, a shift), or None."""
    return dict(info["unit_kpi"]) if info.get("unit_end") else None


class RecurrentSB3Policy:
    """Batch ``act`` for a recurrent SB3 model (RecurrentPPO): carries the LSTM state."""

    def __init__(self, model: Any, vecnormalize: Any = None, deterministic: bool = True) -> None:
        self.model, self.vecnormalize, self.deterministic = model, vecnormalize, deterministic
        self._state: Any = None
        self._starts = np.ones(1, dtype=bool)

    def reset(self, n: int) -> None:
        self._state, self._starts = None, np.ones(n, dtype=bool)

    def act(self, obs: np.ndarray) -> np.ndarray:
        x = self.vecnormalize.normalize_obs(obs) if self.vecnormalize is not None else obs
        actions, self._state = self.model.predict(
            x, state=self._state, episode_start=self._starts, deterministic=self.deterministic
        )
        self._starts = np.zeros_like(self._starts)
        return np.clip(actions, -1.0, 1.0)
