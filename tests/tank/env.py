"""Gymnasium shells of the toy tank: a batch of one, and a native vector env of N."""

from __future__ import annotations

from typing import Any

import numpy as np

from envs.core.config import resolve_variant
from envs.core.params import PlantVariant
from envs.core.shell import BatchEnv, BatchVectorEnv, StepResult
from tank.batch import TankBatch
from tank.layout import ACTUATORS, OBSERVATION, UNIT_KPI, X
from tank.params import TankParams

OBS_LOW, OBS_HIGH = OBSERVATION.low.astype(np.float32), OBSERVATION.high.astype(np.float32)


def _variant(plant: Any) -> PlantVariant:
    """The default tank, or any plant form :func:`envs.core.config.resolve_variant` accepts."""
    if plant is None:
        return PlantVariant(name="tank", params=TankParams())
    return resolve_variant(plant, TankParams, default="tank")


class TankEnv(BatchEnv[TankBatch]):
    """Keep a tank's level at its aim with a pump (toy process of the recipe).

    ## Observation Space
    ``Box(4,)`` float32:

    | idx | name | unit | min | max |
    |-----|------|------|-----|-----|
    | 0 | level | m | 0 | 10 |
    | 1 | inflow | m3/min | 0 | 20 |
    | 2 | level_aim | m | 0 | 10 |
    | 3 | step | - | 0 | 10000 |

    ## Action Space
    ``Box(-1, 1, (1,))``: the pump rate around the operator's fixed rate (adjust) or over its
    range (absolute).

    ## Episode End
    - truncation: after ``shift_steps`` steps (a shift).

    ## Version History
    - v0: the recipe's example.
    """

    def __init__(self, plant: Any = None, *, action_mode: str = "adjust", shift_steps: int = 120,
                 render_mode: str | None = None) -> None:  # fmt: skip
        variant = _variant(plant)
        batch = TankBatch(variant, 1, action_mode=action_mode, shift_steps=shift_steps)
        super().__init__(batch, OBS_LOW, OBS_HIGH, len(ACTUATORS), render_mode)

    def _truth(self) -> dict[str, float]:
        return {"level_m": float(self.batch.state[0, X.level])}

    def _unit_kpi(self, row: np.ndarray) -> dict[str, float]:
        return UNIT_KPI.dict_of(row)

    def _product_kpi(self, unit_end: bool) -> dict[str, float] | None:
        return UNIT_KPI.dict_of(self.batch.plants.unit_kpi[0]) if unit_end else None


class TankVectorEnv(BatchVectorEnv[TankBatch]):
    """``num_envs`` tanks in one compiled call."""

    def __init__(self, num_envs: int = 1, plant: Any = None, *, action_mode: str = "adjust",
                 shift_steps: int = 120, autoreset_mode: str = "next_step",
                 render_mode: str | None = None) -> None:  # fmt: skip
        variant = _variant(plant)
        batch = TankBatch(variant, num_envs, action_mode=action_mode, shift_steps=shift_steps)
        super().__init__(batch, OBS_LOW, OBS_HIGH, len(ACTUATORS), autoreset_mode, render_mode)

    def _unit_kpi_table(
        self, result: StepResult, mask: np.ndarray
    ) -> tuple[tuple[str, ...], np.ndarray]:
        return UNIT_KPI.names, np.where(mask, result.kpi.T, np.nan)
