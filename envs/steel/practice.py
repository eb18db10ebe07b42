"""Open-loop rollouts of one heat under the operator's standard practice (no sensors, no reward).

Used by the physics tests, the calibration script and the docs: the practice itself (static
charge balance + fixed blowing pattern) lives in the compiled physics,
:func:`envs.steel.physics.static_plan` and :func:`envs.steel.physics.practice_setpoints`, so the
env's zero adjust action and these rollouts agree exactly.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from envs.steel import physics
from envs.steel.layout import ACTUATORS, DERIVED, HEAT_NOISE, STATE, A, P, X
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
    w, s, heat = physics.bath_mass(x), physics.slag_mass(x), p[P.heat_size_t]
    return (
        x[X.time],
        100 * x[X.c] / w,
        100 * x[X.si] / w,
        100 * x[X.mn] / w,
        100 * x[X.p] / w,
        x[X.temp] - physics.KELVIN,
        100 * x[X.feo] / s,
        x[X.decarb_rate],
        x[X.o2_blown] / heat,
        x[X.foam],
        s / heat,
        x[X.scrap] / 1000.0,
        x[X.lance],
        x[X.o2_flow],
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
    plan: tuple[float, float, float] | None = None,
) -> HeatTrajectory:
    """Blow one heat with the standard practice, optionally perturbed, and trace it.

    Args:
        params: plant parameters (nominal if None).
        heat_noise: the heat-level standard normals (``HEAT_NOISE`` layout) (zeros: nominal heat
            with exact analyses).
        dt_s: control step, s.
        o2_factor: multiplies the practice oxygen flow.
        lance_offset_m: added to the practice lance height, m (positive = softer blow).
        end_o2_factor: blow until this multiple of the planned oxygen.
        ore_kg: overrides the static plan's ore (kg), added on the practice schedule; the
            planned oxygen is corrected for the ore's oxygen as the static balance does.
        end_c_pct: if given, blow until the bath carbon falls to this value instead (a perfect
            endpoint, for comparing practices at the same tapping carbon).
        plan: if given, the static plan ``(oxygen Nm³, ore kg, lime kg)`` is this one instead of
            the one computed from the charge (an operator whose charge model is held fixed).
    """
    params = params or BOFParams()
    p = params.to_array()
    x = np.zeros(len(STATE))
    z = np.zeros(len(HEAT_NOISE)) if heat_noise is None else np.asarray(heat_noise, float)
    d = np.zeros(len(DERIVED))
    physics.derive(p, dt_s, d)
    physics.init_heat(p, x, z)
    if plan is not None:
        x[X.o2_plan], x[X.ore_plan], x[X.lime_plan] = plan
        x[X.o2_end] = x[X.o2_plan]
    if ore_kg is not None:  # the static balance credits ore oxygen: keep the plan consistent
        x[X.o2_plan] += 0.21 * (x[X.ore_plan] - ore_kg)
        x[X.o2_end] = x[X.o2_plan]
        x[X.ore_plan] = ore_kg
    sp = np.zeros(len(ACTUATORS))
    rows = [_record(p, x)]
    end_o2 = end_o2_factor * x[X.o2_plan]

    def going_on() -> bool:
        if x[X.time] >= physics.MAX_BLOW_MIN:
            return False
        if end_c_pct is not None:
            return 100.0 * x[X.c] / physics.bath_mass(x) > end_c_pct
        return x[X.o2_blown] < end_o2

    while going_on():
        physics.practice_setpoints(p, x, dt_s, sp)
        q = sp[A.oxygen_flow] * o2_factor
        # an oxygen-ended blow stops exactly at its end oxygen, as the env's plant step does
        frac = 1.0 if end_c_pct is not None else physics.end_fraction(x, q, dt_s, end_o2)
        physics.physics_step(
            p,
            d,
            x,
            q,
            sp[A.lance_height] + lance_offset_m,
            sp[A.ore_feed],
            sp[A.lime_feed],
            dt_s * frac,
        )
        rows.append(_record(p, x))
        if frac < 1.0:
            break
    table = np.array(rows)
    trace = {name: table[:, j] for j, name in enumerate(TRACE_FIELDS)}
    return HeatTrajectory(trace=trace, state=x, params=p)
