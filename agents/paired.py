"""Common random numbers in training: each unit's reward net of a reference controller's.

On the BOF the gains a learned policy can still win over the PID are ≈ 0.1–0.5 kEUR per heat,
against a per-heat return s.d. of ≈ 1.5 kEUR that comes from the charge, the disturbances and
the sensor noise — things no action changes (issue 13: gradient variance, not capacity,
limits). The evaluation protocol removes that noise by pairing: every policy meets the same
episodes. :class:`PairedReturnVectorWrapper` does the same for the gradient. Every training
episode is started from a seed the wrapper chooses, the reference controller (the PID, by
default) is run on exactly the same episodes in a separate batch, and at the end of every unit
(heat, body) the plant pays the reference's return on that unit back:

    r'_t = r_t − 1[unit u ends at t] · R_ref(seed, u)

Over a unit the learner then sees ``R − R_ref``: how much better or worse it did than the
reference on the same charge, disturbances and sensor noise, which has a far smaller variance
than ``R`` when the policy is near the reference (a residual policy starts exactly there). The
subtracted term depends on the episode's seed alone, never on the learner's actions, so the
expected policy gradient is unchanged (a control variate; the critic learns
``E[R − R_ref | s]``); the optimal policy is the same.

| piece | what |
| --- | --- |
| :func:`episode_seed` | plant ``i``'s ``k``-th training episode's seed (≥ 2⁶³: no eval seed) |
| :class:`ReferenceReturns` | the reference's per-unit returns of given episode seeds, in batches |
| :class:`PairedReturnVectorWrapper` | the native vector env with chosen seeds and paired rewards |

Cost: the reference runs on ``n_envs × episodes_ahead`` episodes at a time in one native batch
(BOF nominal, PID reference, 64 plants × 16 episodes: ≈ 0.5 s per 1024 heats ≈ 100k env-steps).
What SB3 logs as ``rollout/ep_rew_mean`` is then the paired return (Δ vs the reference).

>>> import gymnasium as gym, envs
>>> venv = gym.make_vec("plantrl/BOF-v2", num_envs=2, vectorization_mode="vector_entry_point",
...                     autoreset_mode="same_step")
>>> paired = PairedReturnVectorWrapper(venv, reference="pid", episodes_ahead=2)
>>> obs, _ = paired.reset(seed=0)
>>> obs.shape
(2, 26)
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from agents.residual import BASES, ResidualConfig, ResidualVectorWrapper

__all__ = ["REFERENCES", "PairedReturnVectorWrapper", "ReferenceReturns", "episode_seed"]

REFERENCES = tuple(b for b in BASES if b != "none")  # controllers a unit's return is paired with
_VECTOR_KEYS = frozenset({"num_envs", "vectorization_mode", "autoreset_mode", "vector_kwargs"})
_TRAINING_SEEDS = 1 << 63  # training episodes draw seeds above every evaluation/tuning seed


def episode_seed(run_seed: int, plant: int, episode: int) -> int:
    """The seed of plant ``plant``'s ``episode``-th training episode in a run seeded
    ``run_seed``: a SeedSequence hash, offset to ≥ 2⁶³ so that it never equals one of the
    (small) evaluation, tuning or scenario-set seeds."""
    state = np.random.SeedSequence(run_seed, spawn_key=(plant, episode)).generate_state(
        1, np.uint64
    )
    return _TRAINING_SEEDS | (int(state[0]) >> 1)


class ReferenceReturns:
    """Per-unit returns of the reference controller on given episode seeds.

    Args:
        env_id: the registered env id of the trained env.
        env_kwargs: its options (plant, scenario, dt …), as the training env was built.
        reference: ``"pid"`` or ``"operator"`` (the base controllers of :mod:`agents.residual`).
        batch: plants per batch run (episodes whose returns are computed together).

    :meth:`compute` runs the reference on a batch of seeds through the native vector env,
    the reference being the residual wrapper's base with a zero correction: the controller
    exactly (``tests/test_residual.py``). Each plant runs its seed's episode to its end; units
    are cut at ``info["unit_end"]``.
    """

    def __init__(
        self, env_id: str, env_kwargs: Mapping[str, Any], reference: str, batch: int
    ) -> None:
        if reference not in REFERENCES:
            raise ValueError(f"reference must be one of {list(REFERENCES)}, got {reference!r}")
        if batch < 1:
            raise ValueError(f"batch must be ≥ 1, got {batch}")
        self.env_id, self.env_kwargs = env_id, dict(env_kwargs)
        self.reference, self.batch = reference, int(batch)
        self._venv: Any = None

    def _env(self) -> Any:
        if self._venv is None:
            venv = gym.make_vec(
                self.env_id,
                num_envs=self.batch,
                vectorization_mode="vector_entry_point",
                autoreset_mode="same_step",
                **self.env_kwargs,
            )
            self._venv = ResidualVectorWrapper(venv, ResidualConfig(self.reference, 1.0, False))
        return self._venv

    def compute(self, seeds: list[int]) -> dict[int, np.ndarray]:
        """``{seed: returns of the episode's units, in order}`` for up to ``batch`` seeds."""
        if not 0 < len(seeds) <= self.batch:
            raise ValueError(f"1 … {self.batch} seeds per batch, got {len(seeds)}")
        venv = self._env()
        n = self.batch
        padded = list(seeds) + [seeds[0]] * (n - len(seeds))  # spare plants: ignored
        venv.reset(seed=padded)
        zero = np.zeros((n, *venv.single_action_space.shape))
        running = np.ones(n, dtype=bool)
        unit_sum = np.zeros(n)
        units: list[list[float]] = [[] for _ in range(n)]
        while running[: len(seeds)].any():
            _, reward, terminated, truncated, info = venv.step(zero)
            unit_sum += reward
            ended = np.asarray(info.get("unit_end", np.zeros(n, dtype=bool)), dtype=bool)
            for i in np.flatnonzero(ended & running):
                units[i].append(float(unit_sum[i]))
            unit_sum[ended] = 0.0
            running &= ~(np.asarray(terminated) | np.asarray(truncated))
        return {s: np.asarray(units[i]) for i, s in enumerate(seeds)}


class PairedReturnVectorWrapper(gym.vector.VectorWrapper):
    """A native vector env whose training episodes are seeded by the wrapper and whose unit
    rewards are paid net of a reference controller's return on the same unit (module doc).

    Args:
        env: the native vector env (``autoreset_mode="same_step"``, a ``restart_plants``
            method: :class:`envs.core.shell.BatchVectorEnv`), below any residual wrapper so
            that the base controller sees the restarted plants' observations.
        reference: ``"pid"`` (default) or ``"operator"``.
        episodes_ahead: episodes per plant whose reference returns are computed in one batch.

    ``reset(seed=s)`` fixes the run seed: plant ``i``'s ``k``-th episode is
    :func:`episode_seed` ``(s, i, k)``, whatever the lengths of the episodes before it, so the
    same seed gives the same episodes and the same numbers. Each step's ``info`` gets
    ``paired_reference`` (the subtracted returns, 0 where no unit ended).
    """

    def __init__(
        self, env: gym.vector.VectorEnv, reference: str = "pid", episodes_ahead: int = 16
    ) -> None:
        super().__init__(env)
        if env.metadata.get("autoreset_mode") != gym.vector.AutoresetMode.SAME_STEP:
            raise ValueError("PairedReturnVectorWrapper needs autoreset_mode='same_step'")
        if not hasattr(env.unwrapped, "restart_plants"):
            raise TypeError(
                f"{type(env.unwrapped).__name__} cannot restart single plants from a seed: "
                "paired training needs a plantrl native vector env"
            )
        if episodes_ahead < 1:
            raise ValueError(f"episodes_ahead must be ≥ 1, got {episodes_ahead}")
        spec = env.unwrapped.spec
        # the env's own options (plant, scenario, dt …): what gym.make_vec was given
        kwargs = {k: v for k, v in (spec.kwargs if spec else {}).items() if k not in _VECTOR_KEYS}
        self.references = ReferenceReturns(
            spec.id if spec else "", kwargs, reference, self.num_envs * int(episodes_ahead)
        )
        self.episodes_ahead = int(episodes_ahead)
        self._run_seed = 0
        self._episode = np.zeros(self.num_envs, dtype=np.int64)
        self._unit = np.zeros(self.num_envs, dtype=np.int64)
        self._table: dict[int, np.ndarray] = {}

    # -- seeds and reference returns ----------------------------------------------------------
    def _seed_of(self, plant: int | np.integer) -> int:
        return episode_seed(self._run_seed, int(plant), int(self._episode[plant]))

    def _ensure(self, plants: Iterable[int]) -> None:
        """Reference returns for the current episodes of ``plants`` (and the next
        ``episodes_ahead − 1`` of every plant), computed in one batch when one is missing."""
        if all(self._seed_of(i) in self._table for i in plants):
            return
        wanted = [
            episode_seed(self._run_seed, i, int(self._episode[i]) + k)
            for k in range(self.episodes_ahead)
            for i in range(self.num_envs)
        ]
        missing = [s for s in wanted if s not in self._table]
        size = self.references.batch
        for start in range(0, len(missing), size):
            self._table.update(self.references.compute(missing[start : start + size]))

    # -- gymnasium ----------------------------------------------------------------------------
    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            if isinstance(seed, list | tuple | np.ndarray):
                raise ValueError("paired training takes one run seed (an int), not a seed list")
            self._run_seed = int(seed)
            self._episode[:] = 0
            self._table.clear()
        else:  # a new episode for every plant, continuing the run's sequence
            self._episode += 1
        self._unit[:] = 0
        self._ensure(range(self.num_envs))
        seeds = [self._seed_of(i) for i in range(self.num_envs)]
        return self.env.reset(seed=seeds, options=options)  # type: ignore[arg-type]

    def step(
        self, actions: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.env.step(actions)
        paid = np.zeros(self.num_envs)
        if "unit_end" in info:
            for i in np.flatnonzero(np.asarray(info["unit_end"], dtype=bool)):
                units = self._table[self._seed_of(i)]
                if self._unit[i] >= len(units):
                    raise RuntimeError(
                        f"plant {i} ended unit {self._unit[i]} of an episode whose reference "
                        f"has {len(units)} units: the episode and its reference diverged"
                    )
                paid[i] = units[self._unit[i]]
                self._unit[i] += 1
            info = {**info, "paired_reference": paid}
        done = np.flatnonzero(np.logical_or(terminated, truncated))
        if len(done):
            for i in done:
                self._table.pop(self._seed_of(i), None)
            self._episode[done] += 1
            self._unit[done] = 0
            self._ensure(done)
            obs = obs.copy()
            native: Any = self.env.unwrapped  # a BatchVectorEnv (checked in __init__)
            obs[done] = native.restart_plants(done, [self._seed_of(i) for i in done])
        return obs, reward - paid, terminated, truncated, info
