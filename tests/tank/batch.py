"""N tanks stepped in one call of the compiled core: the engine behind the env shells."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core.actions import ActionScaler, ActuatorSpec
from envs.core.bundle import StepOutput, new_plants
from envs.core.disturbances import DriftBank, DriftSpec
from envs.core.jit import bound_entry
from envs.core.noise import draw_bits
from envs.core.params import PlantVariant
from envs.core.sensors import SensorBank, SensorSpec, merge_specs
from envs.core.shell import StepResult
from tank import core
from tank.layout import (
    ACTUATORS,
    DERIVED,
    OBSERVATION,
    START_NOISE,
    STATE,
    UNIT_KPI,
    default_drifts,
    default_sensors,
)
from tank.params import TankParams


def actuator_specs(params: TankParams, dt_s: float) -> list[ActuatorSpec]:
    """The pump, with the limits the compiled core derives (one source)."""
    d = np.zeros(len(DERIVED))
    core.derive(params.to_array(), dt_s, d)
    (name,), (unit,) = ACTUATORS.names, ACTUATORS.units
    spec = ActuatorSpec(name, unit, d[DERIVED.at.low], d[DERIVED.at.high], d[DERIVED.at.span])
    return [spec]


class TankBatch:
    """State and stepping of ``n_plants`` tanks (one shift of ``shift_steps`` steps each)."""

    def __init__(
        self,
        variant: PlantVariant,
        n_plants: int = 1,
        *,
        action_mode: str = "adjust",
        dt_s: float = 10.0,
        shift_steps: int = 120,
        randomize: bool = False,
        sensors: Mapping[str, Mapping[str, Any]] | None = None,
        drifts: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> None:
        if not isinstance(variant.params, TankParams):
            raise TypeError(f"tanks need TankParams, got {type(variant.params).__name__}")
        if n_plants < 1 or int(n_plants) != n_plants:
            raise ValueError(f"n_plants must be a positive integer, got {n_plants!r}")
        params: TankParams = variant.params
        self.variant, self.n, self.dt_s = variant, int(n_plants), float(dt_s)
        self.randomize = variant.draws_parameters(bool(randomize))
        self.scaler = ActionScaler(actuator_specs(params, dt_s), action_mode)
        self.sensors = SensorBank(
            merge_specs(default_sensors(params), sensors, SensorSpec, "sensor"), dt_s
        )
        self.drifts = DriftBank(merge_specs(default_drifts(params), drifts, DriftSpec, "drift"))
        self.plants = new_plants(
            self.n,
            params.to_array(),
            n_derived=len(DERIVED),
            n_state=len(STATE),
            obs_low=OBSERVATION.low,
            obs_high=OBSERVATION.high,
            n_step_kpi=0,
            n_unit_kpi=len(UNIT_KPI),
            sensors=self.sensors,
            drifts=self.drifts,
            scratch=core.step_scratch(self.n),
            mode=self.scaler.mode_code,
            dt_s=self.dt_s,
            max_steps=int(shift_steps),
        )
        self._rand_lo, self._rand_hi = variant.randomization_arrays()
        core.derive_batch(self.plants)
        self.obs, self.params, self.state = self.plants.obs, self.plants.params, self.plants.state
        self._actions = np.zeros((self.n, len(ACTUATORS)))
        self._all_active = np.ones(self.n, dtype=np.bool_)
        example = StepOutput(self.obs, np.zeros(self.n), np.zeros(self.n, dtype=np.bool_))
        self._step = bound_entry(
            core.step_batch,
            self.plants,
            self._actions,
            draw_bits(np.random.default_rng(0), self.n, self._n_words),
            self._all_active,
            example,
        )

    @property
    def _n_words(self) -> int:
        return self.drifts.n_noise + self.sensors.n_noise

    def check_actions(self, actions: Any) -> np.ndarray:
        return self.scaler.validate_batch(actions, self.n, self._actions)

    def reset_plants(self, idx: np.ndarray, rng: np.random.Generator) -> None:
        idx = np.asarray(idx, dtype=np.int64)
        if self.randomize:
            u = rng.random((idx.size, self.params.shape[1]))
            self.params[idx] = self._rand_lo + u * (self._rand_hi - self._rand_lo)
            core.derive_batch(self.plants)
        core.reset_batch(self.plants, idx, rng.standard_normal((idx.size, len(START_NOISE))))

    def step(
        self,
        actions: np.ndarray,
        rng: np.random.Generator,
        active: np.ndarray | None = None,
        obs_out: np.ndarray | None = None,
    ) -> StepResult:
        if active is None:
            active, n_active = self._all_active, self.n
        else:
            n_active = int(active.sum())
        noise = draw_bits(rng, n_active, self._n_words)
        out = StepOutput(
            self.obs if obs_out is None else obs_out,
            np.empty(self.n),
            np.empty(self.n, dtype=np.bool_),
        )
        n_ended = self._step(self.plants, actions, noise, active, out)
        never = np.zeros(self.n, dtype=np.bool_)  # a shift is cut by the clock: truncation
        return StepResult(
            out.reward, out.unit_end, never, out.unit_end, self.plants.unit_kpi, n_ended
        )
