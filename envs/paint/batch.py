"""N paint lines stepped in one call of the compiled core: the engine behind the env shells.

``PaintBatch`` owns a bundle of plants (:class:`envs.core.bundle.Plants`, built by
:func:`new_paint_plants`), binds the kernels of :mod:`envs.paint.core` to it once
(:func:`envs.core.jit.bound_entry`), and draws every random input from each plant's own stream
(:mod:`envs.core.streams`): the words of a step as one array of 16-bit words
(:mod:`envs.core.noise`; process words, then the drift bank's, then the sensor bank's) and a few
normals (and the randomised parameters) per shift start. The single env is a batch of one and
the vector env a batch of N, so both run the same code with the same draws.

The unit a paint line's KPIs describe is the **shift**: every step paints one body (its KPIs in
:attr:`PaintBatch.body_kpi`, the bundle's ``step_kpi``), and when a shift ends the batch
summarises it per plant (``UNIT_KPI`` of :mod:`envs.paint.layout`: mean and sd of the true DFT
per layer, Cpk against the tolerance band, in-spec share, paint, energy and cost per body,
defect and cure rates) with :func:`envs.paint.core.shift_kpis`, from the sums the compiled step
keeps while the shift runs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core.actions import ActionScaler, ActuatorSpec
from envs.core.batch import PlantBatchBase, positive_int
from envs.core.bundle import Plants, new_plants
from envs.core.disturbances import N_EVENT_DRAWS, DriftBank, DriftEvents, DriftSpec
from envs.core.jit import bound_entry
from envs.core.params import PlantVariant
from envs.core.sensors import SensorBank, SensorSpec, merge_specs
from envs.core.shell import StepResult
from envs.paint import core, layout
from envs.paint.derive import actuator_limits
from envs.paint.layout import (
    ACTUATORS,
    N_ACT,
    N_PROCESS_WORDS,
    N_RESET_NOISE,
    X,
    default_drifts,
    default_sensors,
)
from envs.paint.params import PaintLineParams

__all__ = ["PaintBatch", "actuator_specs", "new_paint_plants"]

# parameters that size the sensor bank and the takt: fixed per variant, never randomised
FIXED_PER_VARIANT = ("jph", "dft_delay_bodies", "inline_wft")


def actuator_specs(params: PaintLineParams) -> list[ActuatorSpec]:
    """The eleven actuators: limits and rate limits of the layout, the plant's adjust spans."""
    lo, hi, span, rate = (np.empty(N_ACT) for _ in range(4))
    actuator_limits(params.to_array(), lo, hi, span, rate)
    return [
        ActuatorSpec(f.name, f.unit, float(a), float(b), rate_limit=float(r), adjust_span=float(s))
        for f, a, b, r, s in zip(ACTUATORS.fields, lo, hi, rate, span, strict=True)
    ]


def new_paint_plants(
    params: PaintLineParams,
    n: int,
    *,
    sensors: SensorBank,
    drifts: DriftBank,
    mode: int,
    shift_bodies: int,
) -> Plants:
    """A bundle of ``n`` paint lines with parameters ``params``, derived, not yet reset.

    ``sensors`` and ``drifts`` have the ``SIGNALS`` and ``DRIFTS`` rows of the layout (or none);
    ``mode`` is the action-mode code; a shift ends after ``shift_bodies`` bodies.
    """
    plants = new_plants(
        n,
        params.to_array(),
        layout,
        sensors=sensors,
        drifts=drifts,
        scratch=core.step_scratch(n, drifts.n_drifts, drifts.n_noise),
        mode=mode,
        dt_s=params.cycle_time_s,
        max_steps=shift_bodies,
    )
    plants.unit_kpi[:] = np.nan  # no shift has ended yet
    core.derive_batch(plants)
    return plants


class PaintBatch(PlantBatchBase):
    """State and stepping of ``n_plants`` paint lines.

    Args:
        variant: plant variant (parameters and randomisation ranges).
        n_plants: number of lines stepped together.
        action_mode: ``"adjust"`` (around the body style's recipe) or ``"absolute"``.
        shift_bodies: bodies per episode (default: an 8-hour shift at the line's JPH).
        randomize: draw plant parameters from the variant's ranges at each shift start.
        sensors: overrides of the default sensor specs, ``{signal: {field: value}}``.
        drifts: overrides of the default drift specs, ``{drift: {field: value}}``; ``{}``
            keeps the defaults, ``None`` too.
        drift_events: per-shift random start, size and sign of the drifts' scheduled events
            (:class:`envs.core.disturbances.DriftEvents` fields), or None (the specs' fixed
            events, bit for bit).

    Attributes:
        plants: the bundle the kernels step; ``params``, ``state``, ``derived``, ``obs``,
            ``body_kpi`` (its ``step_kpi``), ``shift_kpi`` (its ``unit_kpi``) are its arrays,
            and ``bodies`` the bodies painted this shift (a view of the state).
    """

    def __init__(
        self,
        variant: PlantVariant,
        n_plants: int = 1,
        *,
        action_mode: str = "adjust",
        shift_bodies: int | None = None,
        randomize: bool = False,
        sensors: Mapping[str, Mapping[str, Any]] | None = None,
        drifts: Mapping[str, Mapping[str, Any]] | None = None,
        drift_events: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(variant.params, PaintLineParams):
            raise TypeError(
                f"paint lines need PaintLineParams, got {type(variant.params).__name__}"
            )
        n_plants = positive_int(n_plants, "n_plants")
        fixed = sorted(set(variant.randomize) & set(FIXED_PER_VARIANT))
        if fixed:
            raise ValueError(
                f"{fixed} cannot be randomised (they size the takt and the sensor delays); "
                "make a plant variant per value instead"
            )
        params: PaintLineParams = variant.params
        self.variant, self.n = variant, int(n_plants)
        self.randomize = bool(variant.draws_parameters(bool(randomize)))
        self.dt_s = params.cycle_time_s
        if shift_bodies is None:
            shift_bodies = round(8.0 * params.jph)  # one 8-hour shift
        self.shift_bodies = positive_int(shift_bodies, "shift_bodies")
        scaler = ActionScaler(actuator_specs(params), action_mode)
        self.sensors = SensorBank(
            merge_specs(default_sensors(params), sensors, SensorSpec, "sensor"), self.dt_s
        )
        self.drifts = DriftBank(merge_specs(default_drifts(params), drifts, DriftSpec, "drift"))
        self.drift_events = None if drift_events is None else DriftEvents.from_dict(drift_events)
        if self.drift_events is not None:
            self.drift_events.compile(self.drifts)  # fails early on unknown drifts
        # each plant's drawn event start this shift, bodies from 0 (-1: none or not drawn)
        self.drift_start = np.full(self.n, -1, dtype=np.int64)
        plants = new_paint_plants(
            params,
            self.n,
            sensors=self.sensors,
            drifts=self.drifts,
            mode=scaler.mode_code,
            shift_bodies=self.shift_bodies,
        )
        # noise words of one body: process words, then the drift bank's, then the sensor bank's
        self._adopt(plants, scaler, N_PROCESS_WORDS + self.drifts.n_noise + self.sensors.n_noise)
        self.body_kpi, self.shift_kpi = plants.step_kpi, plants.unit_kpi
        self.bodies = plants.state[:, X.body]  # a view: bodies painted this shift
        self._bind_step(core.step_batch)
        z, idx = np.zeros((1, N_RESET_NOISE)), np.zeros(1, dtype=np.int64)
        self._reset = bound_entry(core.reset_batch, plants, idx, z, self.randomize)

    def reset_plants(self, idx: np.ndarray) -> None:
        """Start a new shift for plants ``idx`` (draws from their streams)."""
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        if self.randomize:
            self._draw_parameters(idx)
        z = self.streams.normals(idx, N_RESET_NOISE)
        self._reset(self.plants, idx, z, self.randomize)
        if self.drift_events is not None:  # after the reset: body 0 is never an event's
            u = self.streams.uniforms(idx, N_EVENT_DRAWS)
            self.drift_start[idx] = self.drift_events.apply(
                self.drifts, self.plants.drift_state, idx, u
            )

    def step(
        self,
        actions: np.ndarray,
        active: np.ndarray | None = None,
        obs_out: np.ndarray | None = None,
    ) -> StepResult:
        """Paint one body on every (active) line with checked actions (n, 11); every row of
        ``obs`` is also written to ``obs_out`` if given (what a vector env returns).

        Returns:
            A :class:`StepResult` (new arrays, the kpi table excepted) whose unit is the shift:
            ``unit_end`` and ``truncated`` are set where the shift's last body was painted (a
            shift never terminates early), with the shift's summary in ``kpi``. The bodies' own
            KPIs are in :attr:`body_kpi`.
        """
        out, n_ended = self._run_step(actions, active, obs_out)
        reward, ended = out.reward, out.unit_end
        if n_ended:
            rows = np.flatnonzero(ended)
            self.shift_kpi[rows] = core.shift_kpis(self.plants.unit_acc[rows], self.params[rows])
        never = np.zeros(self.n, dtype=np.bool_)  # a shift is never terminated early
        return StepResult(reward, ended, never, ended, self.shift_kpi, n_ended)
