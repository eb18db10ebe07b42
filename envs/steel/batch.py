"""N BOF plants stepped in one call of the compiled core: the engine behind the env shells.

``BOFBatch`` builds the bundle of its plants (:func:`envs.core.bundle.new_plants`: parameters,
derived constants, state, observation, KPIs, sensor and drift states), binds the kernels of
:mod:`envs.steel.core` to it once (:func:`envs.core.jit.bound_entry`), and draws every random
number from each plant's own stream (:mod:`envs.core.streams`: the sensor noise words of a step,
see :mod:`envs.core.noise`; the parameter draws, heat normals and drift words of a heat start).
The single env is a batch of one and the vector env a batch of N, so both run the same code with
the same draws: a single env reset with seed ``s + i`` and plant i of a vector env reset with
seed ``s`` give identical trajectories (tested, also with ``NUMBA_DISABLE_JIT=1``).

Campaign mode: one episode is ``campaign_heats`` consecutive heats. Slow drifts (lance wear,
refractory wear, scrap quality; :func:`envs.steel.layout.default_drifts`) move multipliers of
plant parameters from heat to heat, and the observation carries the last heat's tapping
analysis, so a drift that starts in one heat can be seen and corrected in the next ones.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core.actions import ActionScaler, ActuatorSpec
from envs.core.batch import PlantBatchBase, positive_int
from envs.core.bundle import Plants, new_plants
from envs.core.disturbances import N_EVENT_DRAWS, DriftBank, DriftEvents, DriftSpec
from envs.core.jit import bound_entry
from envs.core.noise import BITS_DTYPE
from envs.core.params import PlantVariant
from envs.core.sensors import SensorBank, SensorSpec, merge_specs
from envs.core.shell import StepResult
from envs.steel import core, layout
from envs.steel.layout import (
    ACTUATORS,
    DRIFT_TARGETS,
    HEAT_NOISE,
    TRUTH,
    A,
    default_drifts,
    default_sensors,
)
from envs.steel.params import BOFParams
from envs.steel.physics import MAX_BLOW_MIN, N_ACT, actuator_limits

__all__ = ["BOFBatch", "actuator_specs"]


def actuator_specs(params: BOFParams, dt_s: float) -> list[ActuatorSpec]:
    """The five actuators of one plant with limits from the compiled physics (single source)."""
    lo, hi, span, rate = (np.empty(N_ACT) for _ in range(4))
    actuator_limits(params.to_array(), lo, hi, span, rate, dt_s)
    span[A.end_oxygen] = 1.0  # adjust span of the end target is ±15 % of the plan, set per heat
    return [
        ActuatorSpec(n, u, float(a), float(b), rate_limit=float(r), adjust_span=float(s))
        for n, u, a, b, r, s in zip(
            ACTUATORS.names, ACTUATORS.units, lo, hi, rate, span, strict=True
        )
    ]


class BOFBatch(PlantBatchBase):
    """State and stepping of ``n_plants`` BOF plants.

    Args:
        variant: plant variant (parameters and randomisation ranges).
        n_plants: number of plants stepped together.
        action_mode: ``"adjust"`` (around standard practice) or ``"absolute"``.
        dt_s: control step, s.
        campaign_heats: heats per episode (1 = one blow per episode).
        randomize: draw plant parameters from the variant's ranges at each episode start.
        sensors: overrides of the default sensor specs, ``{signal: {field: value}}``.
        drifts: campaign drift specs ``{drift: {field: value}}`` (default: built-in set).
        drift_events: per-campaign random start, size and sign of the drifts' scheduled events
            (:class:`envs.core.disturbances.DriftEvents` fields; campaigns only), or None (the
            specs' fixed events, bit for bit).

    Attributes:
        plants: the bundle the kernels take (:class:`envs.core.bundle.Plants`); ``params``,
            ``derived``, ``state``, ``obs``, ``kpi`` (its ``unit_kpi``), ``heats_done`` (its
            ``units_done``) and the other per-plant arrays below are its arrays.
        truth: (n, len(TRUTH)) true values of each plant's heat, for infos (never observed).
    """

    def __init__(
        self,
        variant: PlantVariant,
        n_plants: int = 1,
        *,
        action_mode: str = "adjust",
        dt_s: float = 10.0,
        campaign_heats: int = 1,
        randomize: bool = False,
        sensors: Mapping[str, Mapping[str, Any]] | None = None,
        drifts: Mapping[str, Mapping[str, Any]] | None = None,
        drift_events: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(variant.params, BOFParams):
            raise TypeError(f"BOF plants need BOFParams, got {type(variant.params).__name__}")
        n_plants = positive_int(n_plants, "n_plants")
        campaign_heats = positive_int(campaign_heats, "campaign_heats")
        if not 1.0 <= dt_s <= 30.0:
            raise ValueError(
                f"dt_s = {dt_s} s is outside [1, 30] s (the model is validated "
                "for 1–30 s control steps)"
            )
        self.variant, self.n, self.dt_s = variant, int(n_plants), float(dt_s)
        self.campaign_heats = int(campaign_heats)
        self.randomize = variant.draws_parameters(bool(randomize))
        params: BOFParams = variant.params
        scaler = ActionScaler(actuator_specs(params, dt_s), action_mode)
        self.sensors = SensorBank(
            merge_specs(default_sensors(params), sensors, SensorSpec, "sensor"), dt_s
        )
        drift_specs = default_drifts() if drifts is None else drifts
        unknown = sorted(set(drift_specs) - set(DRIFT_TARGETS))
        if unknown:
            raise ValueError(f"unknown drift(s) {unknown}; valid drifts: {sorted(DRIFT_TARGETS)}")
        self.drifts = DriftBank({k: DriftSpec.from_dict(v) for k, v in drift_specs.items()})
        self.drift_events = None if drift_events is None else DriftEvents.from_dict(drift_events)
        if self.drift_events is not None:
            if self.campaign_heats == 1:
                raise ValueError("drift_events need a campaign (campaign_heats > 1)")
            self.drift_events.compile(self.drifts)  # fails early on unknown drifts
        # each plant's drawn event start this campaign, heats from 0 (-1: none or not drawn)
        self.drift_start = np.full(self.n, -1, dtype=np.int64)
        # drifts act only across the heats of a campaign: outside one they multiply nothing
        campaign = self.campaign_heats > 1
        targets = [BOFParams.index(DRIFT_TARGETS[k]) for k in self.drifts.names] if campaign else []
        self.max_steps = math.ceil(MAX_BLOW_MIN * 60.0 / dt_s)
        self.plants: Plants = new_plants(
            self.n,
            params.to_array(),
            layout,
            sensors=self.sensors,
            drifts=self.drifts,
            scratch=core.step_scratch(self.n),
            mode=scaler.mode_code,
            dt_s=self.dt_s,
            max_steps=self.max_steps,
            drift_targets=np.array(targets, dtype=np.int64),
        )
        plants = self.plants
        # 16-bit noise words of one plant-step: the sensor bank's (drifts move per heat)
        self._adopt(plants, scaler, self.sensors.n_noise)
        self.kpi = plants.unit_kpi
        self.heats_done = plants.units_done
        self.sensor_state, self.drift_state = plants.sensor_state, plants.drift_state
        self.drift_values = plants.drift_values
        # parameters change only by randomisation (per episode) or campaign drifts (per heat)
        self._params_vary = self.randomize or campaign
        self.truth = np.zeros((self.n, len(TRUTH)))
        self.want_truth = self.n == 1  # the single env reports the true state in its info
        self._bind_kernels()
        self._derive(plants)

    def _bind_kernels(self) -> None:
        """The compiled entries of the kernels for this bundle's types (no per-call dispatch;
        every call passes arrays of exactly these types: int64 indices, C-contiguous float64)."""
        plants = self.plants
        idx = np.zeros(1, dtype=np.int64)
        z_heat = np.zeros((1, len(HEAT_NOISE)))
        self._derive = bound_entry(core.derive_batch, plants)
        self._truth = bound_entry(core.truth_batch, plants.state, self.truth)
        self._reset = bound_entry(core.reset_batch, plants, idx, z_heat, True, True, self.truth)
        if self.campaign_heats > 1:  # drifts move only across a campaign (spares its compile)
            words = np.zeros((1, self.drifts.n_noise), dtype=BITS_DTYPE)
            self._advance_drifts = bound_entry(core.advance_drifts, plants, idx, words)
        self._bind_step(core.step_batch)

    def reset_plants(self, idx: np.ndarray) -> None:
        """Start a new episode (campaign) for plants ``idx`` (draws from their streams)."""
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        if self.randomize:
            self._draw_parameters(idx)
        self._start_heats(idx, new_episode=True)
        if self.drift_events is not None:  # after the reset: heat 0 is never an event's
            u = self.streams.uniforms(idx, N_EVENT_DRAWS)
            self.drift_start[idx] = self.drift_events.apply(self.drifts, self.drift_state, idx, u)

    def _start_heats(self, idx: np.ndarray, new_episode: bool) -> None:
        """Charge the next heat (the first of a campaign with ``new_episode``) into ``idx``."""
        if self.campaign_heats > 1 and not new_episode:
            words = self.streams.words(idx, self.drifts.n_noise)
            self._advance_drifts(self.plants, idx, words)
        z_heat = self.streams.normals(idx, len(HEAT_NOISE))
        self._reset(self.plants, idx, z_heat, new_episode, self._params_vary, self.truth)

    def step(
        self,
        actions: np.ndarray,
        active: np.ndarray | None = None,
        obs_out: np.ndarray | None = None,
    ) -> StepResult:
        """Advance every (active) plant one control step with checked actions (n, 5).

        Returns:
            A :class:`StepResult` (new arrays, the kpi table excepted) whose units are heats
            (never truncated: every blow ends by itself); ``obs`` and ``truth`` are updated in
            place, and every row of ``obs`` is also written to ``obs_out`` if given (what a
            vector env returns). For plants whose heat ended but whose campaign goes on, the
            next heat is already charged and ``obs`` shows it; ``kpi`` rows hold the ended
            heats' KPIs.
        """
        out, n_ended = self._run_step(actions, active, obs_out)
        reward, heat_end = out.reward, out.unit_end
        if self.want_truth:  # the single env reports the true state in its info
            self._truth(self.state, self.truth)
        never = np.zeros(self.n, dtype=np.bool_)  # a blow is never truncated
        if n_ended == 0 or self.campaign_heats == 1:  # no heat ended, or each ends its episode
            if n_ended:
                self.heats_done[heat_end] += 1
            return StepResult(reward, heat_end, heat_end, never, self.kpi, n_ended)
        episode_end = heat_end.copy()
        ended = np.flatnonzero(heat_end)
        self.heats_done[ended] += 1
        go_on = ended[self.heats_done[ended] < self.campaign_heats]
        if go_on.size:
            episode_end[go_on] = False
            self._start_heats(go_on, new_episode=False)
            if obs_out is not None:
                obs_out[go_on] = self.obs[go_on]
        return StepResult(reward, heat_end, episode_end, never, self.kpi, n_ended)
