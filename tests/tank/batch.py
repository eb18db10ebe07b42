"""N tanks stepped in one call of the compiled core: the engine behind the env shells."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core.actions import ActionScaler, ActuatorSpec
from envs.core.batch import PlantBatchBase, positive_int
from envs.core.bundle import new_plants
from envs.core.disturbances import DriftBank, DriftSpec
from envs.core.params import PlantVariant
from envs.core.sensors import SensorBank, SensorSpec, merge_specs
from envs.core.shell import StepResult
from tank import core, layout
from tank.layout import (
    ACTUATORS,
    DERIVED,
    START_NOISE,
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


class TankBatch(PlantBatchBase):
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
        params: TankParams = variant.params
        self.variant, self.n, self.dt_s = variant, positive_int(n_plants, "n_plants"), dt_s
        self.randomize = variant.draws_parameters(bool(randomize))
        scaler = ActionScaler(actuator_specs(params, dt_s), action_mode)
        self.sensors = SensorBank(
            merge_specs(default_sensors(params), sensors, SensorSpec, "sensor"), dt_s
        )
        self.drifts = DriftBank(merge_specs(default_drifts(params), drifts, DriftSpec, "drift"))
        plants = new_plants(
            self.n,
            params.to_array(),
            layout,
            sensors=self.sensors,
            drifts=self.drifts,
            scratch=core.step_scratch(self.n),
            mode=scaler.mode_code,
            dt_s=float(dt_s),
            max_steps=positive_int(shift_steps, "shift_steps"),
        )
        # noise words of one step: the drift bank's, then the sensor bank's
        self._adopt(plants, scaler, self.drifts.n_noise + self.sensors.n_noise)
        core.derive_batch(plants)
        self._bind_step(core.step_batch)

    def reset_plants(self, idx: np.ndarray) -> None:
        """Start a new shift for the tanks ``idx`` (new parameters if randomised), drawing from
        their streams."""
        idx = np.ascontiguousarray(idx, dtype=np.int64)
        if self.randomize:
            self._draw_parameters(idx)
            core.derive_batch(self.plants)
        core.reset_batch(self.plants, idx, self.streams.normals(idx, len(START_NOISE)))

    def step(
        self,
        actions: np.ndarray,
        active: np.ndarray | None = None,
        obs_out: np.ndarray | None = None,
    ) -> StepResult:
        """One control step of every (active) tank; a shift ends by the clock (truncation)."""
        out, n_ended = self._run_step(actions, active, obs_out)
        never = np.zeros(self.n, dtype=np.bool_)
        kpi = self.plants.unit_kpi
        return StepResult(out.reward, out.unit_end, never, out.unit_end, kpi, n_ended)
