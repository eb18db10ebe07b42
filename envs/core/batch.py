"""What every process's batch of plants shares: validation, the bundle's arrays, the action check,
the plants' random streams, parameter draws and the call of the compiled step.

A process's batch (``BOFBatch``, ``PaintBatch``; docs/adding_a_process.md) subclasses
:class:`PlantBatchBase`, builds its banks and its bundle (:func:`envs.core.bundle.new_plants`),
calls :meth:`PlantBatchBase._adopt` and binds its step kernel with :meth:`_bind_step`. What stays
in the process is what differs: how a unit starts (a heat is charged, a shift begins), what a
step's end means (a campaign's next heat, a shift's summary).

Every random number of a plant comes from its own stream (:class:`envs.core.streams.PlantStreams`,
``self.streams``): the step's noise words, parameter draws and the process's start normals. A
plant's numbers therefore depend on its seed alone, which is what makes a vector env of N plants
equal N single envs seeded ``seed + i`` (Gymnasium's rule).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from envs.core.actions import ActionScaler
from envs.core.bundle import Plants, StepOutput
from envs.core.jit import bound_entry
from envs.core.params import PlantVariant
from envs.core.streams import PlantStreams

__all__ = ["PlantBatchBase", "positive_int"]


def positive_int(value: Any, name: str) -> int:
    """``value`` as an int; ``ValueError`` naming ``name`` unless it is a whole number ≥ 1."""
    if isinstance(value, bool) or not isinstance(value, int | float | np.integer):
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if value < 1 or int(value) != value:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


class PlantBatchBase:
    """Shared part of a batch of ``n`` plants (see the module doc).

    Attributes set by :meth:`_adopt`: ``plants`` (the bundle), ``params``, ``base_params``,
    ``derived``, ``state``, ``obs`` (its arrays), ``scaler``, ``n_words`` (16-bit noise words of
    one plant-step), ``streams`` (each plant's random stream), ``randomize``.
    """

    n: int
    variant: PlantVariant
    plants: Plants
    scaler: ActionScaler
    n_words: int
    randomize: bool

    def _adopt(self, plants: Plants, scaler: ActionScaler, n_words: int) -> None:
        """Take the bundle, the action scaler and the step's noise width as the batch's own."""
        self.plants, self.scaler, self.n_words = plants, scaler, int(n_words)
        self.streams = PlantStreams(self.n, self.n_words)
        self.params, self.base_params = plants.params, plants.base_params
        self.derived, self.state, self.obs = plants.derived, plants.state, plants.obs
        self._rand_lo, self._rand_hi = self.variant.randomization_arrays()
        self._actions = np.zeros((self.n, scaler.n))  # the step's checked actions, float64
        self._all_active = np.ones(self.n, dtype=np.bool_)

    def _bind_step(self, kernel: Any) -> None:
        """Bind ``kernel(plants, actions, noise, active, out)`` for the types every step
        passes (float64 actions, uint16 noise, bool mask, a :class:`StepOutput`)."""
        noise = self.streams.step_words(None)  # the type every step passes (plants unseeded)
        out = StepOutput(self.obs, np.empty(self.n), np.empty(self.n, dtype=np.bool_))
        self._step = bound_entry(kernel, self.plants, self._actions, noise, self._all_active, out)

    def check_actions(self, actions: Any) -> np.ndarray:
        """Actions as float64 (n, n_act); ``ValueError`` for a wrong shape or NaN/inf (naming
        the plant and actuator). Finite values outside [-1, 1] are clipped inside the compiled
        step (the documented rule)."""
        return self.scaler.validate_batch(actions, self.n, self._actions)

    def seed_plants(self, idx: np.ndarray, seeds: Sequence[int | None]) -> None:
        """Seed the streams of plants ``idx``, one seed (or None: keep going) per plant."""
        self.streams.seed(idx, seeds)

    def _draw_parameters(self, idx: np.ndarray) -> None:
        """New episode parameters of plants ``idx`` from the variant's randomisation ranges."""
        u = self.streams.uniforms(idx, self.base_params.shape[1])
        self.base_params[idx] = self._rand_lo + u * (self._rand_hi - self._rand_lo)
        self.params[idx] = self.base_params[idx]

    def _run_step(
        self,
        actions: np.ndarray,
        active: np.ndarray | None,
        obs_out: np.ndarray | None,
    ) -> tuple[StepOutput, int]:
        """One compiled step of every (active) plant; returns its output arrays (new, the
        observation excepted: the batch's ``obs``, or ``obs_out``) and the units ended.

        Noise is drawn for active plants only, each from its own stream, so a plant that sits
        out a step (Gymnasium's next-step autoreset) draws exactly what a single env would.
        """
        # the bound entry reads arrays as it was bound for: float64 / bool, C-contiguous (the
        # checked actions of check_actions are; other callers' arrays are made so)
        if actions is not self._actions and (
            actions.dtype != np.float64 or not actions.flags.c_contiguous
        ):
            actions = np.ascontiguousarray(actions, dtype=np.float64)
        noise = self.streams.step_words(active)
        if active is None:
            active = self._all_active
        else:
            active = np.ascontiguousarray(active, dtype=np.bool_)
        # the step writes every plant's reward and end flag: new arrays, returned as they are
        out = StepOutput(
            self.obs if obs_out is None else obs_out,
            np.empty(self.n),
            np.empty(self.n, dtype=np.bool_),
        )
        return out, int(self._step(self.plants, actions, noise, active, out))
