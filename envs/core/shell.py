"""The Gymnasium shells every plant shares: a single env and a native vector env over one batch.

A process provides a *batch* (``BOFBatch``, ``PaintBatch``): N plants whose state lives in arrays
and which one compiled call steps together (DESIGN.md, "Process core"). The single env is a
batch of one and the vector env a batch of N; both are thin Python around it, written once here:

| shell | Gymnasium class | what the process adds |
| --- | --- | --- |
| :class:`BatchEnv` | ``gym.Env`` | ``_truth``, ``_product_kpi``, ``_unit_kpi``, ``render`` |
| :class:`BatchVectorEnv` | ``gym.vector.VectorEnv`` | ``_unit_kpi_table`` |

One vocabulary for every process. A *unit* is what a plant's KPIs summarise and what ends an
episode (or a step of a campaign): a heat for the BOF, a production shift for the paint line. A
*product* is one item made: a heat again for the BOF, a car body for the paint line. Infos:

| key | single env | vector env (``_key`` masks) |
| --- | --- | --- |
| ``unit_end`` | bool, every step | when a unit ended |
| ``unit_kpi`` | the ended unit's KPIs (dict), with ``unit_end`` | ``unit_kpi/<name>`` arrays |
| ``product_kpi`` | KPIs of the product made this step (BOF: at a heat end; paint: each body) | — |
| ``truth`` | true process values, never observed (plots, estimator checks) | — |

Evaluation, reports and estimators read these keys and never the process name.

Autoreset follows Gymnasium 1.x: ``next_step`` (default) resets a plant on
the step after its episode ended (that step's action is ignored, reward 0, not done);
``same_step`` resets it in the step it ended and puts the final observation and info into
``info["final_obs"]`` / ``info["final_info"]`` (what the SB3 adapter uses). An episode ends by
termination or truncation, both decided by the batch (the plants know their own horizons), so no
``TimeLimit`` wrapper is needed.

Seeding follows Gymnasium: each plant draws from its own stream (:mod:`envs.core.streams`), so
``reset(seed=s)`` of a vector env seeds plant i with ``s + i``, ``reset(seed=[s0, s1, …])`` plant i
with ``s_i`` (``None``: plant i keeps its stream going), and ``reset()`` keeps every stream going
(an unseeded plant takes fresh OS entropy). A plant's numbers depend on its seed alone: the native
vector env and ``vectorization_mode="sync"`` over single envs give identical trajectories for the
same seeds, autoresets and campaigns included, and a single env reset with seed s equals plant 0
of a vector env reset with s (tested). The single env's ``np_random`` is Gymnasium's generator of
the same seed, left to the caller: the plant's numbers come from its stream.
Every vector step returns new arrays: the compiled step writes each plant's observation, reward
and end flag straight into arrays made for this step (the observation while the plant's row is in
cache), instead of the shell copying the batch's buffers; a step in which no unit ended returns
without looking at the flags (an episode ends only with a unit).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Generic, NamedTuple, Protocol, TypeVar

import gymnasium as gym
import numpy as np
from gymnasium.vector.utils import batch_space

from envs.core.streams import plant_seeds

__all__ = [
    "AUTORESET_MODES",
    "UNIT_KPI_PREFIX",
    "BatchEnv",
    "BatchVectorEnv",
    "PlantBatch",
    "StepResult",
]

UNIT_KPI_PREFIX = "unit_kpi/"  # vector infos: one masked array per KPI of the ended units

AUTORESET_MODES = {
    "next_step": gym.vector.AutoresetMode.NEXT_STEP,
    "same_step": gym.vector.AutoresetMode.SAME_STEP,
}


class StepResult(NamedTuple):
    """What a batch step returns: (n_plants,) arrays made by this step (the caller may keep and
    return them), and the batch's KPI table. An episode ends only in a step in which a unit
    ends (``n_unit_end > 0``), so a step without one needs no look at the flags."""

    reward: np.ndarray
    unit_end: np.ndarray  # a unit (heat, shift) ended this step; its KPIs are in ``kpi``
    terminated: np.ndarray
    truncated: np.ndarray
    kpi: np.ndarray  # (n_plants, n_kpi), valid in the rows where ``unit_end``
    n_unit_end: int


class PlantBatch(Protocol):
    """The interface the shells need from a process's batch of plants."""

    n: int
    obs: np.ndarray  # (n, n_obs) float32, written in place by the compiled step
    params: np.ndarray  # (n, n_params) parameters of the unit now running

    def check_actions(self, actions: Any) -> np.ndarray: ...

    def seed_plants(self, idx: np.ndarray, seeds: list[int | None]) -> None: ...

    def reset_plants(self, idx: np.ndarray) -> None: ...

    def step(
        self,
        actions: np.ndarray,
        active: np.ndarray | None = None,
        obs_out: np.ndarray | None = None,
    ) -> StepResult: ...


B = TypeVar("B", bound=PlantBatch)


class BatchEnv(gym.Env, Generic[B]):
    """Single-plant Gymnasium env over a batch of one; subclasses add infos and rendering."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 4}  # noqa: RUF012 - Gymnasium API

    def __init__(
        self,
        batch: B,
        obs_low: np.ndarray,
        obs_high: np.ndarray,
        n_actions: int,
        render_mode: str | None,
    ) -> None:
        if render_mode not in (None, "rgb_array"):
            raise ValueError(f"render_mode must be None or 'rgb_array', got {render_mode!r}")
        self.batch = batch
        self.observation_space = gym.spaces.Box(obs_low, obs_high, dtype=np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (n_actions,), dtype=np.float32)
        self.render_mode = render_mode
        self._history: list[dict[str, float]] = []
        self._ready = False
        self._plant = np.zeros(1, dtype=np.int64)

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        self.batch.seed_plants(self._plant, [seed])  # None: the plant's stream goes on
        self.batch.reset_plants(self._plant)
        self._ready = True
        self._history = [self._snapshot()]
        return self._obs(), self._episode_info({"unit_end": False, "truth": self._truth()})

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if not self._ready:
            raise RuntimeError("call reset() before step() (and after an episode ended)")
        result = self.batch.step(self.batch.check_actions(action))
        unit_end = bool(result.unit_end[0])
        info: dict[str, Any] = {"unit_end": unit_end, "truth": self._truth()}
        if unit_end:
            info["unit_kpi"] = self._unit_kpi(result.kpi[0])
        product = self._product_kpi(unit_end)
        if product is not None:
            info["product_kpi"] = product
        terminated, truncated = bool(result.terminated[0]), bool(result.truncated[0])
        self._ready = not (terminated or truncated)
        if self.render_mode is not None:
            self._history.append(self._snapshot())
        return self._obs(), float(result.reward[0]), terminated, truncated, self._episode_info(info)

    def _episode_info(self, info: dict[str, Any]) -> dict[str, Any]:
        """``info["drift_start"]``: the unit (from 0) where this episode's drawn drift events
        start, -1 for none; only with a scenario's ``drift_events`` (what evaluation measures
        recovery from, per episode)."""
        if getattr(self.batch, "drift_events", None) is not None:
            info["drift_start"] = int(self.batch.drift_start[0])  # type: ignore[attr-defined]
        return info

    def _obs(self) -> np.ndarray:
        return self.batch.obs[0].copy()  # clipped to the Box and float32 in the compiled step

    # hooks ------------------------------------------------------------------------------------
    def _truth(self) -> dict[str, float]:
        """True process values of the plant now (never observed)."""
        return {}

    def _unit_kpi(self, row: np.ndarray) -> dict[str, float]:
        """Named KPIs of the unit that ended, from its row of the batch's KPI table."""
        return {}

    def _product_kpi(self, unit_end: bool) -> dict[str, float] | None:
        """KPIs of the product finished in this step, or None if none was."""
        return None

    def _snapshot(self) -> dict[str, float]:
        return {}


class BatchVectorEnv(gym.vector.VectorEnv, Generic[B]):
    """N plants stepped in one compiled call, as a Gymnasium ``VectorEnv`` (see module doc)."""

    def __init__(
        self,
        batch: B,
        obs_low: np.ndarray,
        obs_high: np.ndarray,
        n_actions: int,
        autoreset_mode: str,
        render_mode: str | None,
    ) -> None:
        if autoreset_mode not in AUTORESET_MODES:
            raise ValueError(
                f"autoreset_mode must be one of {sorted(AUTORESET_MODES)}, got {autoreset_mode!r}"
            )
        self.batch = batch
        self.num_envs = batch.n
        self.metadata = {"autoreset_mode": AUTORESET_MODES[autoreset_mode], "render_modes": []}
        self.render_mode = render_mode
        self.single_observation_space = gym.spaces.Box(obs_low, obs_high, dtype=np.float32)
        self.single_action_space = gym.spaces.Box(-1.0, 1.0, (n_actions,), dtype=np.float32)
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self._same_step = autoreset_mode == "same_step"
        self._ready = False
        self._needs_reset = np.zeros(self.num_envs, dtype=np.bool_)  # valid while _n_pending
        self._n_pending = 0  # plants that restart (next-step autoreset) in the next step
        self._all = np.arange(self.num_envs)

    def reset(
        self,
        *,
        seed: int | list[int | None] | None = None,
        options: dict[str, Any] | None = None,
    ) -> tuple[np.ndarray, dict[str, Any]]:
        """Reset every plant. ``seed``: None (every plant's stream goes on), an int s (plant i
        gets s + i) or a list of ``num_envs`` ints or Nones, as Gymnasium's vector envs take it;
        ``ValueError`` for anything else."""
        seeds = plant_seeds(seed, self.num_envs)
        if seed is not None and not isinstance(seed, list | tuple | np.ndarray):
            self._np_random, self._np_random_seed = gym.utils.seeding.np_random(seeds[0])
        self.batch.seed_plants(self._all, seeds)
        self.batch.reset_plants(self._all)
        self._n_pending = 0
        self._ready = True
        return self._obs(), {}

    def restart_plants(self, idx: np.ndarray, seeds: Sequence[int]) -> np.ndarray:
        """Start a new episode of plants ``idx`` from ``seeds`` (one per plant), exactly as a
        single env's ``reset(seed=s)``; the other plants are untouched. Returns the restarted
        plants' first observations. Used to pick every training episode's seed (common random
        numbers, :mod:`agents.paired`); call it between steps (same-step autoreset)."""
        if not self._ready:
            raise RuntimeError("call reset() before restart_plants()")
        idx = np.asarray(idx, dtype=np.intp)
        self.batch.seed_plants(idx, plant_seeds(list(seeds), len(idx)))
        self.batch.reset_plants(idx)
        return self.batch.obs[idx].copy()

    def step(
        self, actions: Any
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        if not self._ready:
            raise RuntimeError("call reset() before step()")
        a = self.batch.check_actions(actions)
        # the compiled step writes every plant's observation into this array while the row is
        # in cache (cheaper than copying the batch's buffer afterwards)
        obs = np.empty_like(self.batch.obs)
        if self._n_pending:  # NEXT_STEP: these plants restart now and sit this step out
            self._n_pending = 0
            active = ~self._needs_reset
            self.batch.reset_plants(np.flatnonzero(self._needs_reset))
            result = self.batch.step(a, active=active, obs_out=obs)
        else:
            result = self.batch.step(a, obs_out=obs)
        # the step's own new arrays: nothing to copy
        reward, terminated, truncated = result.reward, result.terminated, result.truncated
        if not result.n_unit_end:  # most steps: no unit, hence no episode, ended
            return obs, reward, terminated, truncated, {}
        infos = self._unit_infos(result)
        done = terminated | truncated
        n_done = int(np.count_nonzero(done))
        if n_done and self._same_step:
            infos = self._final_infos(done, infos)
            ended = np.flatnonzero(done)
            self.batch.reset_plants(ended)
            obs[ended] = self.batch.obs[ended]
        elif n_done:
            self._needs_reset, self._n_pending = done, n_done
        return obs, reward, terminated, truncated, infos

    def _final_infos(self, done: np.ndarray, infos: dict[str, Any]) -> dict[str, Any]:
        """SAME_STEP: final observation (object array) and final info (dict of masked arrays)."""
        final_obs = np.empty(self.num_envs, dtype=object)
        for i in np.flatnonzero(done):
            final_obs[i] = self.batch.obs[i].copy()
        final_info = {k: (v & done if k.startswith("_") else v) for k, v in infos.items()}
        return {
            **infos,
            "final_obs": final_obs,
            "_final_obs": done.copy(),
            "final_info": final_info,
            "_final_info": done.copy(),
        }

    def _obs(self) -> np.ndarray:
        return self.batch.obs.copy()  # clipped to the Box and float32 in the compiled step

    def _unit_infos(self, result: StepResult) -> dict[str, Any]:
        """Infos of the units that ended: ``unit_end`` and ``unit_kpi/<name>`` with ``_key``
        masks (NaN where no unit ended); called only when some did."""
        mask = result.unit_end.copy()
        names, values = self._unit_kpi_table(result, mask)
        infos: dict[str, Any] = {"unit_end": mask, "_unit_end": mask}
        for j, name in enumerate(names):
            infos[f"{UNIT_KPI_PREFIX}{name}"] = values[j]
            infos[f"_{UNIT_KPI_PREFIX}{name}"] = mask
        return infos

    # hook -------------------------------------------------------------------------------------
    def _unit_kpi_table(
        self, result: StepResult, mask: np.ndarray
    ) -> tuple[tuple[str, ...], np.ndarray]:
        """KPI names and a (len(names), n) table of the ended units' KPIs (one contiguous row
        per KPI, NaN where ``mask`` is off)."""
        return (), np.empty((0, self.num_envs))
