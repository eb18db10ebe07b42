"""Sampling MPC over action sequences in [-1, 1]: the cross-entropy method, for any plant.

The MPC oracle of DESIGN.md ("Evaluation protocol") needs no second model: it rolls hundreds of
candidate action sequences through the plant's own compiled core from a copy of the true state
and keeps the cheapest. This module is the process-free half: the sequence parameterisation
(:class:`BlockLayout`), the optimiser (:class:`CEMPlanner`) and its settings
(:class:`CEMConfig`). The process-specific half is a *batched rollout cost function*
(:data:`CostFn`): candidates of every planned episode in, summed cost (EUR) of each out, one
compiled call per optimiser iteration (:mod:`agents.baselines.bof_mpc`,
:mod:`agents.baselines.paint_mpc`).

The optimiser is the cross-entropy method (Rubinstein 1999; for MPC: Chua et al. 2018, PETS) with
the refinements of iCEM (Pinneri et al. 2020, "Sample-efficient cross-entropy method for
real-time planning"): the elites of an iteration are carried into the next one and the previous
plan (shifted by the steps taken since it was made) is a candidate of the first iteration, as is
the operator's practice. With a deterministic rollout (the BOF) the plan played is the best
sequence ever evaluated, so it is never worse, in the model, than the warm start or the practice;
with a sampled rollout cost (the paint line's future scatter) it is the final sampling mean,
which averages the elites instead of trusting one lucky draw (``plan_from``). A warm-started
replan may sample with a smaller std than a fresh plan (``warm_std``): a receding plan moves
little from one step to the next, and refining it lets the optimisation accumulate over steps.

Sequences are piecewise constant over *blocks* of control steps (:class:`BlockLayout`), which
keeps the search dimension at ``n_blocks × n_act`` however long the horizon. Randomness comes from
one ``np.random.Generator`` per episode, seeded from the planner seed and the episode's position
in the batch: evaluating the same episodes twice gives identical numbers, and an episode's draws
do not depend on what the other episodes do.
"""

from __future__ import annotations

import abc
import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from envs.core.params import PlantVariant

__all__ = [
    "BlockLayout",
    "CEMConfig",
    "CEMPlanner",
    "CostFn",
    "PlanResult",
    "SamplingMPCOracle",
    "episode_rngs",
    "load_config",
]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]

CostFn = Callable[[FloatArray, BoolArray], FloatArray]
"""``cost_fn(candidates (n_ep, K, n_blocks, n_act), active (n_ep,)) -> costs (n_ep, K)``, EUR.

Rows of inactive episodes are not evaluated (their costs are ignored)."""


@dataclasses.dataclass(frozen=True)
class CEMConfig:
    """Settings of the cross-entropy optimiser.

    Args:
        samples: candidate sequences per episode and iteration (K).
        iterations: optimiser iterations per plan.
        elite_frac: share of the K candidates that refit the sampling distribution.
        smoothing: weight of the old mean and std in the refit (0 = plain CEM refit).
        init_std: sampling std of a fresh plan, in action units ([-1, 1] is 2 wide).
        warm_std: sampling std of a warm-started replan (``None``: ``init_std``). A receding
            plan changes little from one step to the next, so a smaller std refines it instead
            of re-exploring — the refinement accumulates over the steps.
        min_std: floor of the sampling std (keeps exploring around a converged mean).
        fresh_iterations: iterations of the first plan of a unit (a heat, a shift), which
            starts from the operator's practice rather than from an earlier plan (``None``:
            ``iterations``).
        plan_from: ``"best"`` (the cheapest sequence evaluated: right for a deterministic
            rollout) or ``"mean"`` (the final sampling mean: averages the elites, which is
            steadier when the rollout cost is a noisy sample average).
        seed: seed of the per-episode generators (:func:`episode_rngs`).
    """

    samples: int = 128
    iterations: int = 4
    elite_frac: float = 0.1
    smoothing: float = 0.2
    init_std: float = 0.5
    min_std: float = 0.05
    seed: int = 0
    warm_std: float | None = None
    fresh_iterations: int | None = None
    plan_from: str = "best"

    def __post_init__(self) -> None:
        if self.samples < 4 or int(self.samples) != self.samples:
            raise ValueError(f"samples must be an integer >= 4, got {self.samples!r}")
        if self.plan_from not in ("best", "mean"):
            raise ValueError(f"plan_from must be 'best' or 'mean', got {self.plan_from!r}")
        for name in ("iterations", "fresh_iterations"):
            value = getattr(self, name)
            if value is not None and (value < 1 or int(value) != value):
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if not 0.0 < self.elite_frac <= 0.5:
            raise ValueError(f"elite_frac must be in (0, 0.5], got {self.elite_frac!r}")
        if not 0.0 <= self.smoothing < 1.0:
            raise ValueError(f"smoothing must be in [0, 1), got {self.smoothing!r}")
        warm = self.init_std if self.warm_std is None else self.warm_std
        if not 0.0 < self.min_std <= min(self.init_std, warm):
            raise ValueError(
                f"need 0 < min_std <= init_std, warm_std; got min_std={self.min_std!r}, "
                f"init_std={self.init_std!r}, warm_std={self.warm_std!r}"
            )

    @property
    def n_elites(self) -> int:
        """Elites per iteration (at least 2, so a std can be refitted)."""
        return max(2, round(self.elite_frac * self.samples))


@dataclasses.dataclass(frozen=True)
class BlockLayout:
    """Piecewise-constant parameterisation of an action sequence: step → block.

    Args:
        block_steps: length (control steps) of each block, in time order; the horizon is
            their sum. A rollout that runs past the horizon (the BOF's shrinking horizon to
            the end of the blow) holds the last block.
    """

    block_steps: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.block_steps or any(int(b) != b or b < 1 for b in self.block_steps):
            raise ValueError(f"block_steps must be positive integers, got {self.block_steps!r}")

    @classmethod
    def uniform(cls, horizon: int, block: int) -> BlockLayout:
        """Blocks of ``block`` steps covering ``horizon`` steps (the last one may be shorter)."""
        if horizon < 1 or block < 1:
            raise ValueError(f"horizon and block must be positive, got {horizon}, {block}")
        n_full, rest = divmod(int(horizon), int(block))
        return cls((int(block),) * n_full + ((rest,) if rest else ()))

    @property
    def n_blocks(self) -> int:
        return len(self.block_steps)

    @property
    def horizon(self) -> int:
        return int(sum(self.block_steps))

    def step_block(self) -> IntArray:
        """Block index of every step of the horizon, shape ``(horizon,)``."""
        return np.repeat(np.arange(self.n_blocks, dtype=np.int64), self.block_steps)

    def expand(self, plan: FloatArray) -> FloatArray:
        """Per-step actions ``(horizon, n_act)`` of a block plan ``(n_blocks, n_act)``."""
        return np.asarray(plan[self.step_block()])

    def average(self, per_step: FloatArray) -> FloatArray:
        """Block plan ``(n_blocks, n_act)``: the mean of the per-step actions each block covers."""
        lengths = np.asarray(self.block_steps)
        starts = np.cumsum(lengths) - lengths
        return np.add.reduceat(per_step, starts, axis=0) / lengths[:, None]

    def shift(self, plan: FloatArray, steps: int) -> FloatArray:
        """Warm start: the plan ``steps`` control steps later, re-blocked.

        The executed steps are dropped, the tail holds the last action, and each block takes
        the mean of the per-step actions it now covers.
        """
        per_step = self.expand(plan)
        steps = min(max(int(steps), 0), self.horizon)
        tail = np.repeat(per_step[-1:], steps, axis=0)
        return self.average(np.concatenate([per_step[steps:], tail]))


@dataclasses.dataclass
class PlanResult:
    """The outcome of one optimisation for a batch of episodes (rows of inactive ones unused).

    Attributes:
        plan: best sequence found per episode, ``(n_ep, n_blocks, n_act)``.
        cost: its rollout cost (EUR), ``(n_ep,)``.
        best_by_iteration: best cost after each iteration, ``(iterations, n_ep)``.
    """

    plan: FloatArray
    cost: FloatArray
    best_by_iteration: FloatArray


def load_config(path: str | Path, overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Constructor keywords of an oracle from a YAML mapping, updated with ``overrides``."""
    with open(path) as f:
        values = dict(yaml.safe_load(f) or {})
    values.update(overrides)
    return values


def episode_rngs(seed: int, n: int) -> list[np.random.Generator]:
    """One generator per episode position, independent streams from ``(seed, position)``."""
    return [np.random.default_rng([int(seed), i]) for i in range(int(n))]


class CEMPlanner:
    """Cross-entropy method over block sequences in [-1, 1], for a batch of episodes at once.

    Args:
        config: optimiser settings.
        layout: the block parameterisation (only its number of blocks matters here).
        n_act: action dimension.
    """

    def __init__(self, config: CEMConfig, layout: BlockLayout, n_act: int) -> None:
        self.config, self.layout, self.n_act = config, layout, int(n_act)

    def optimise(
        self,
        init: FloatArray,
        cost_fn: CostFn,
        rngs: Sequence[np.random.Generator],
        active: BoolArray,
        prior: FloatArray | None = None,
        warm: BoolArray | None = None,
        iterations: int | None = None,
    ) -> PlanResult:
        """Minimise ``cost_fn`` for the active episodes, starting from the means ``init``.

        Args:
            init: sampling means (warm starts), ``(n_ep, n_blocks, n_act)`` in [-1, 1].
            cost_fn: batched rollout cost, see :data:`CostFn`.
            rngs: one generator per episode (only active episodes draw).
            active: which episodes to plan.
            prior: an extra first-iteration candidate per episode (the operator's practice).
            warm: episodes whose ``init`` is a shifted earlier plan (sampled with ``warm_std``).
            iterations: overrides ``config.iterations`` for this call.
        """
        cfg = self.config
        n_ep = init.shape[0]
        n_elite = cfg.n_elites
        mean = np.clip(np.asarray(init, dtype=np.float64), -1.0, 1.0)
        std = np.full_like(mean, cfg.init_std)
        if warm is not None and cfg.warm_std is not None:
            std[warm] = cfg.warm_std
        best = mean.copy()
        best_cost = np.full(n_ep, math.inf)
        n_it = cfg.iterations if iterations is None else int(iterations)
        history = np.full((n_it, n_ep), math.nan)
        elites: FloatArray | None = None
        rows = np.flatnonzero(active)
        for it in range(n_it):
            cand = self._sample(mean, std, rngs, rows)
            if it == 0:
                cand[:, 0] = mean
                if prior is not None:
                    cand[:, 1] = np.clip(prior, -1.0, 1.0)
            else:
                assert elites is not None
                cand[:, :n_elite] = elites  # iCEM: the elites compete again
            costs = np.asarray(cost_fn(cand, active), dtype=np.float64)
            order = np.argsort(costs, axis=1, kind="stable")[:, :n_elite]
            elites = np.take_along_axis(cand, order[:, :, None, None], axis=1)
            top = np.take_along_axis(costs, order[:, :1], axis=1)[:, 0]
            better = active & (top < best_cost)
            best[better], best_cost[better] = elites[better, 0], top[better]
            history[it] = best_cost
            a = cfg.smoothing
            mean = a * mean + (1.0 - a) * elites.mean(axis=1)
            std = np.maximum(a * std + (1.0 - a) * elites.std(axis=1), cfg.min_std)
        if cfg.plan_from == "mean":
            best[rows] = np.clip(mean[rows], -1.0, 1.0)
        return PlanResult(best, best_cost, history)

    def _sample(
        self,
        mean: FloatArray,
        std: FloatArray,
        rngs: Sequence[np.random.Generator],
        rows: IntArray,
    ) -> FloatArray:
        """K Gaussian candidates around each active episode's mean, clipped to [-1, 1]."""
        shape = (self.config.samples, *mean.shape[1:])
        cand = np.zeros((mean.shape[0], *shape))
        for i in rows:
            z = rngs[i].standard_normal(shape)
            cand[i] = np.clip(mean[i] + std[i] * z, -1.0, 1.0)
        return cand


class SamplingMPCOracle(abc.ABC):
    """The policy-protocol shell of a sampling-MPC oracle: ``reset(n)``, ``attach(envs)``, ``act``.

    It keeps one plan per episode, replans an episode every ``replan_every`` control steps and
    at the start of every unit (a heat, a shift), warm-starting from the shifted previous plan,
    and otherwise plays the plan. Episodes that have ended (the evaluator keeps their last
    observation in the batch) get zero actions and no planning. A process subclass says how to
    read its plants (:meth:`_position`), how to roll candidates through its core
    (:meth:`_cost_fn`) and what the operator's practice is in action coordinates
    (:meth:`_prior`).

    Args:
        layout: block parameterisation of the planned sequences.
        config: optimiser settings.
        replan_every: control steps between plans (1 = every step).
    """

    n_act: int = 0

    def __init__(self, layout: BlockLayout, config: CEMConfig, replan_every: int = 1) -> None:
        if replan_every < 1 or int(replan_every) != replan_every:
            raise ValueError(f"replan_every must be a positive integer, got {replan_every!r}")
        if replan_every > layout.horizon:
            raise ValueError(
                f"replan_every = {replan_every} exceeds the planned horizon {layout.horizon}"
            )
        self.layout, self.config, self.replan_every = layout, config, int(replan_every)
        self.planner = CEMPlanner(config, layout, self.n_act)
        self._step_block = layout.step_block()
        self._envs: list[Any] | None = None
        self._expected_n: int | None = None  # episodes announced by reset(n), if any
        # the plant this oracle was built for (``from_config(plant=…)``): attach() refuses envs
        # of any other plant; None: any plant (it plans on whatever it attaches to)
        self.plant: PlantVariant | None = None
        self._new_episodes(0)

    # policy protocol ------------------------------------------------------------------------
    def reset(self, n: int) -> None:
        """``n`` episodes begin: forget the plans, re-seed the per-episode generators."""
        if n < 0 or int(n) != n:
            raise ValueError(f"reset(n) needs a number of episodes >= 0, got {n!r}")
        self._new_episodes(int(n))
        self._expected_n = int(n)

    def attach(self, envs: list[Any]) -> None:
        """Read the plants of these envs (the episodes of the last ``reset(n)``, in batch order).

        Without a ``reset`` first the oracle resets itself for ``len(envs)`` episodes.
        """
        envs = list(envs)
        if not envs:
            raise ValueError("attach() needs at least one env")
        for e in envs:
            self._check_batch(e.unwrapped.batch)
            self._check_plant(e.unwrapped.batch.variant)
        if self._expected_n is not None and len(envs) != self._expected_n:
            raise ValueError(
                f"reset({self._expected_n}) announced {self._expected_n} episodes, but attach() "
                f"got {len(envs)} envs"
            )
        modes = {int(e.unwrapped.batch.scaler.mode_code) for e in envs}
        if len(modes) != 1:
            raise ValueError(f"all attached envs must share one action_mode, got codes {modes}")
        if self._expected_n is None:
            self.reset(len(envs))
        self.mode = modes.pop()
        self._envs = envs

    def _check_plant(self, variant: PlantVariant) -> None:
        """Raise if the oracle was built for another plant than this env's (by plant hash)."""
        if self.plant is not None and variant.plant_hash() != self.plant.plant_hash():
            raise ValueError(
                f"{type(self).__name__} was built for plant {self.plant.name!r} "
                f"({self.plant.plant_hash()}), but an attached env runs plant {variant.name!r} "
                f"({variant.plant_hash()}): build the oracle for the evaluated plant"
            )

    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions ``(n, n_act)`` float32 in [-1, 1] for the attached episodes (obs unused)."""
        if self._envs is None:
            raise RuntimeError(
                f"{type(self).__name__} reads the true plant state: call attach(envs) "
                "(agents.evaluation.evaluate does) before act()"
            )
        batch_obs = np.asarray(obs)
        if batch_obs.ndim != 2 or batch_obs.shape[0] != len(self._envs):
            raise ValueError(
                f"obs must be a batch of {len(self._envs)} observations (one per attached env), "
                f"got shape {batch_obs.shape}"
            )
        batches = [e.unwrapped.batch for e in self._envs]
        positions = [self._position(b) for b in batches]
        need = self._due(positions)
        if need.any():
            self._replan(batches, positions, need)
        return self._play(positions)

    # bookkeeping ----------------------------------------------------------------------------
    def _new_episodes(self, n: int) -> None:
        """Fresh plans and generators for ``n`` episodes; envs of other episodes are dropped."""
        if self._envs is not None and len(self._envs) != n:
            self._envs = None
        self._rngs = episode_rngs(self.config.seed, n)
        self._plans = np.zeros((n, self.layout.n_blocks, self.n_act))
        self._unit = np.full(n, -1, dtype=np.int64)
        self._plan_step = np.zeros(n, dtype=np.int64)
        self.n_plans = 0  # episode-plans made since reset (diagnostics)
        self.planned_costs: list[float] = []  # best model cost of each unit's first plan

    def _due(self, positions: list[tuple[int, int] | None]) -> BoolArray:
        """Episodes that need a new plan now: a new unit, or ``replan_every`` steps played."""
        need = np.zeros(len(positions), dtype=np.bool_)
        for i, pos in enumerate(positions):
            if pos is not None:
                unit, step = pos
                fresh = unit != self._unit[i]
                need[i] = fresh or step - self._plan_step[i] >= self.replan_every
        return need

    def _replan(
        self, batches: list[Any], positions: list[tuple[int, int] | None], need: BoolArray
    ) -> None:
        rows = np.flatnonzero(need)
        prior = self._prior(batches, rows)
        init = np.zeros_like(self._plans)
        fresh = np.zeros(len(positions), dtype=np.bool_)
        for i in rows:
            unit, step = positions[i]  # type: ignore[misc]
            fresh[i] = unit != self._unit[i]
            if fresh[i]:
                init[i] = prior[i]
            else:
                init[i] = self.layout.shift(self._plans[i], step - self._plan_step[i])
        cost_fn = self._cost_fn(batches, need)
        groups = [(need & fresh, True), (need & ~fresh, False)]
        if self.config.fresh_iterations is None:
            groups = [(need, False)]  # one call: fresh and warm plans differ only in their std
        for group, is_fresh in groups:
            if not group.any():
                continue
            iterations = self.config.fresh_iterations if is_fresh else None
            warm = group & ~fresh
            result = self.planner.optimise(
                init, cost_fn, self._rngs, group, prior, warm, iterations
            )
            for i in np.flatnonzero(group):
                unit, step = positions[i]  # type: ignore[misc]
                self._plans[i], self._unit[i], self._plan_step[i] = result.plan[i], unit, step
                if fresh[i]:
                    self.planned_costs.append(float(result.cost[i]))
        self.n_plans += len(rows)

    def _play(self, positions: list[tuple[int, int] | None]) -> np.ndarray:
        out = np.zeros((len(positions), self.n_act), dtype=np.float32)
        last = self.layout.horizon - 1
        for i, pos in enumerate(positions):
            if pos is not None:
                offset = min(pos[1] - int(self._plan_step[i]), last)
                out[i] = self._plans[i, self._step_block[offset]]
        return np.clip(out, -1.0, 1.0)

    # process hooks --------------------------------------------------------------------------
    @abc.abstractmethod
    def _check_batch(self, batch: Any) -> None:
        """Raise if ``batch`` is not a one-plant batch of this oracle's process."""

    @abc.abstractmethod
    def _position(self, batch: Any) -> tuple[int, int] | None:
        """(unit index, control step within the unit) of the plant, or None if its episode ended."""

    @abc.abstractmethod
    def _cost_fn(self, batches: list[Any], active: BoolArray) -> CostFn:
        """Batched rollout cost from copies of the active plants' true states (taken now)."""

    @abc.abstractmethod
    def _prior(self, batches: list[Any], rows: IntArray) -> FloatArray:
        """The operator's practice as block actions ``(n, n_blocks, n_act)`` (zeros in adjust)."""
