"""Parameters of the toy tank (illustrative values: the process only proves the recipe)."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

from envs.core.params import PlantParams, param


@dataclasses.dataclass(frozen=True)
class TankParams(PlantParams):
    """A tank filled by a pump and drained through a valve: τ dh/dt = K q − h."""

    process: ClassVar[str] = "tank"

    area_m2: float = param(2.0, unit="m2", low=0.1, high=100.0, doc="tank cross-section")
    drain_m2_min: float = param(
        0.5, unit="m2/min", low=0.01, high=10.0, doc="outflow per m of level"
    )
    inflow_nominal_m3_min: float = param(
        1.0, unit="m3/min", low=0.0, high=10.0, doc="the operator's fixed pump rate"
    )
    inflow_max_m3_min: float = param(3.0, unit="m3/min", low=0.1, high=20.0, doc="pump limit")
    level_aim_m: float = param(2.0, unit="m", low=0.1, high=10.0, doc="level set-point")
    level_noise_m: float = param(0.02, unit="m", low=0.0, high=1.0, doc="level sensor noise sd")
    level0_sd_m: float = param(0.3, unit="m", low=0.0, high=2.0, doc="start level sd")
    price_eur_m3: float = param(0.1, unit="EUR/m3", low=0.0, high=10.0, doc="pumped water")
    miss_eur_m2_min: float = param(
        5.0, unit="EUR/(m2 min)", low=0.0, high=1e3, doc="cost of a squared level error"
    )
