"""Open-loop rollouts of one heat under the operator's standard practice (no sensors, no reward).

Used by the physics tests, the calibration script and the docs: the practice itself (static
charge balance + fixed blowing pattern) lives in the compiled core, :func:`core.static_plan` and
:func:`core.practice_setpoints`, so the env's zero adjust action and these rollouts agree exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from envs.steel import core
from envs.steel.params import BOFParams

__all__ = ["HeatTrajectory", "run_practice_heat"]

TRACE_FIELDS = (
    "time_min",
    "c_pct",
    "si_pct",
    "mn_pct",
    "p_pct",
    "temp_c",
    "feo_pct",
    "decarb_kg_min",
    "oxygen_nm3_t",
    "foam",
    "slag_kg_t",
    "scrap_t",
    "lance_m",
    "o2_flow_nm3_min",
)


@dataclasses.dataclass
class HeatTrajectory:
    """Per-step trace of the true state (``trace[name]`` arrays) and the final state row."""

    trace: dict[str, np.ndarray]
    state: np.ndarray
    params: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        return self.trace[name]

    @property
    def end(self) -> dict[str, float]:
        return {k: float(v[-1]) for k, v in self.trace.items()}


def _record(p: np.ndarray, x: np.ndarray) -> tuple[float, ...]:
    w, s, heat = core.bath_mass(x), core.slag_mass(x), p[core.P_HEAT]
    return (
        x[core.X_TIME],
        100 * x[core.X_C] / w,
        100 * x[core.X_SI] / w,
        100 * x[core.X_MN] / w,
        100 * x[core.X_P] / w,
        x[core.X_TEMP] - core.KELVIN,
        100 * x[core.X_FEO] / s,
        x[core.X_RC],
        x[core.X_VO2] / heat,
        x[core.X_FOAM],
        s / heat,
        x[core.X_SCRAP] / 1000.0,
        x[core.X_H],
        x[core.X_Q],
    )


def run_practice_heat(
    params: BOFParams | None = None,
    heat_noise: np.ndarray | None = None,
    *,
    dt_s: float = 10.0,
    o2_factor: float = 1.0,
    lance_offset_m: float = 0.0,
    end_o2_factor: float = 1.0,
    ore_kg: float | None = None,
    end_c_pct: float | None = None,
) -> HeatTrajectory:
    """Blow one heat with the standard practice, optionally perturbed, and trace it.

    Args:
        params: plant parameters (nominal if None).
        heat_noise: the ``core.N_HEAT_NOISE`` heat-level standard normals (zeros: nominal heat
            with exact analyses).
        dt_s: control step, s.
        o2_factor: multiplies the practice oxygen flow.
        lance_offset_m: added to the practice lance height, m (positive = softer blow).
        end_o2_factor: blow until this multiple of the planned oxygen.
        ore_kg: overrides the static plan's ore (kg), added on the practice schedule; the
            planned oxygen is corrected for the ore's oxygen as the static balance does.
        end_c_pct: if given, blow until the bath carbon falls to this value instead (a perfect
            endpoint, for comparing practices at the same tapping carbon).
    """
    params = params or BOFParams()
    p = params.to_array()
    x = np.zeros(core.N_STATE)
    z = np.zeros(core.N_HEAT_NOISE) if heat_noise is None else np.asarray(heat_noise, float)
    d = np.zeros(core.N_DERIVED)
    core.derive(p, dt_s, d)
    core.init_heat(p, x, z)
    if ore_kg is not None:  # the static balance credits ore oxygen: keep the plan consistent
        x[core.X_VPLAN] += 0.21 * (x[core.X_ORE_PLAN] - ore_kg)
        x[core.X_VEND] = x[core.X_VPLAN]
        x[core.X_ORE_PLAN] = ore_kg
    sp = np.zeros(core.N_ACT)
    rows = [_record(p, x)]

    def going_on() -> bool:
        if x[core.X_TIME] >= core.MAX_BLOW_MIN:
            return False
        if end_c_pct is not None:
            return 100.0 * x[core.X_C] / core.bath_mass(x) > end_c_pct
        return x[core.X_VO2] < end_o2_factor * x[core.X_VPLAN]

    while going_on():
        core.practice_setpoints(p, x, dt_s, sp)
        core.physics_step(
            p,
            d,
            x,
            sp[core.A_O2] * o2_factor,
            sp[core.A_LANCE] + lance_offset_m,
            sp[core.A_ORE],
            sp[core.A_LIME],
            dt_s,
        )
        rows.append(_record(p, x))
    table = np.array(rows)
    trace = {name: table[:, j] for j, name in enumerate(TRACE_FIELDS)}
    return HeatTrajectory(trace=trace, state=x, params=p)
