"""Gymnasium shells of the toy tank: a batch of one, and a native vector env of N."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core.config import env_options, resolve_variant
from envs.core.shell import BatchEnv, BatchVectorEnv, StepResult
from tank import CONF_DIR
from tank.batch import TankBatch
from tank.layout import ACTUATORS, OBSERVATION, UNIT_KPI, X
from tank.params import TankParams

OBS_LOW, OBS_HIGH = OBSERVATION.low.astype(np.float32), OBSERVATION.high.astype(np.float32)
# what a scenario profile may set, and its value when neither profile nor caller sets it
SCENARIO_DEFAULTS = {"shift_steps": 120, "sensors": None, "drifts": None, "randomize": False}


def _batch(n: int, plant: Any, scenario: Any, action_mode: str, **explicit: Any) -> TankBatch:
    variant = resolve_variant(plant, TankParams, "tank_small", CONF_DIR)
    options = env_options(scenario, "tank", SCENARIO_DEFAULTS, CONF_DIR, **explicit)
    return TankBatch(variant, n, action_mode=action_mode, **options)


class TankEnv(BatchEnv[TankBatch]):
    """Keep a tank's level at its aim with a pump (the toy process of the recipe).

    ## Description
    A pump fills a tank that drains through a valve, τ dh/dt = K q − h with τ = area / drain; the
    drain fouls slowly (a drift). The agent trims the pump around the operator's fixed rate.

    ## Observation Space
    ``Box(4,)`` float32:

    | idx | name | unit | min | max |
    |-----|------|------|-----|-----|
    | 0 | level | m | 0 | 10 |
    | 1 | inflow | m3/min | 0 | 20 |
    | 2 | level_aim | m | 0 | 10 |
    | 3 | step | - | 0 | 10000 |

    ## Action Space
    ``Box(-1, 1, (1,))``: adjust mode moves the pump ±50 % of its limit around the operator's
    rate; absolute mode maps [-1, 1] to [0, limit]. Limits of the default plant:

    | idx | name | unit | min | max |
    |-----|------|------|-----|-----|
    | 0 | inflow | m3/min | 0 | 3 |

    ## Reward
    −(pumped water + squared level error) in EUR per step.

    ## Episode End
    - truncation: after ``shift_steps`` steps (a shift, the unit of the KPIs).

    ## Info
    ``truth`` (true level), ``unit_end``; at a shift's end ``unit_kpi`` and ``product_kpi``.

    ## Version History
    - v0: the recipe's example.
    """

    def __init__(
        self,
        plant: Any = None,
        *,
        scenario: Any = None,
        action_mode: str = "adjust",
        shift_steps: int | None = None,
        randomize: bool | None = None,
        sensors: Mapping[str, Mapping[str, Any]] | None = None,
        drifts: Mapping[str, Mapping[str, Any]] | None = None,
        render_mode: str | None = None,
    ) -> None:
        options = {"shift_steps": shift_steps, "randomize": randomize}
        batch = _batch(1, plant, scenario, action_mode, sensors=sensors, drifts=drifts, **options)
        self.variant = batch.variant
        super().__init__(batch, OBS_LOW, OBS_HIGH, len(ACTUATORS), render_mode)

    def _truth(self) -> dict[str, float]:
        return {"level_m": float(self.batch.state[0, X.level])}

    def _unit_kpi(self, row: np.ndarray) -> dict[str, float]:
        return UNIT_KPI.dict_of(row)

    def _product_kpi(self, unit_end: bool) -> dict[str, float] | None:
        return UNIT_KPI.dict_of(self.batch.plants.unit_kpi[0]) if unit_end else None

    def _snapshot(self) -> dict[str, float]:
        return self._truth()

    def render(self) -> np.ndarray | None:
        """The level history as a bar chart in a small RGB image (no plotting library)."""
        if self.render_mode != "rgb_array":
            return None
        levels = [h.get("level_m", 0.0) for h in self._history][-64:]
        img = np.full((64, 64, 3), 255, dtype=np.uint8)
        for k, level in enumerate(levels):
            img[64 - min(int(level / 10.0 * 64), 64) :, k] = (30, 90, 200)
        return img


class TankVectorEnv(BatchVectorEnv[TankBatch]):
    """``num_envs`` tanks in one compiled call (same arguments as :class:`TankEnv`)."""

    def __init__(
        self,
        num_envs: int = 1,
        plant: Any = None,
        *,
        scenario: Any = None,
        action_mode: str = "adjust",
        shift_steps: int | None = None,
        randomize: bool | None = None,
        sensors: Mapping[str, Mapping[str, Any]] | None = None,
        drifts: Mapping[str, Mapping[str, Any]] | None = None,
        autoreset_mode: str = "next_step",
        render_mode: str | None = None,
    ) -> None:
        options = {"shift_steps": shift_steps, "randomize": randomize}
        batch = _batch(
            num_envs, plant, scenario, action_mode, sensors=sensors, drifts=drifts, **options
        )
        self.variant = batch.variant
        super().__init__(batch, OBS_LOW, OBS_HIGH, len(ACTUATORS), autoreset_mode, render_mode)

    def _unit_kpi_table(
        self, result: StepResult, mask: np.ndarray
    ) -> tuple[tuple[str, ...], np.ndarray]:
        return UNIT_KPI.names, np.where(mask, result.kpi.T, np.nan)
