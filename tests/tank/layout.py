"""Every array row of the tank, declared once (indices are generated: ``X.level``, ``O.level``)."""

from __future__ import annotations

from envs.core.disturbances import DriftSpec
from envs.core.layout import ControlledVariable, Field, Layout
from envs.core.sensors import SensorSpec
from tank.params import TankParams

P = TankParams.indices()

STATE = Layout(
    "state",
    [
        Field("level", "m", doc="true level"),
        Field("inflow", "m3/min", doc="pump rate actually running"),
        Field("drain_factor", "-", doc="drift multiplier of the drain (fouling)"),
        Field("step", "-", doc="steps of this shift"),
        Field("cost", "EUR", doc="cost of this shift so far"),
        Field("abs_error", "m min", doc="integral of |level − aim| this shift"),
    ],
)
X = STATE.at

DERIVED = Layout(
    "derived",
    [
        Field("dt_min", "min", doc="control step"),
        Field("decay", "-", doc="exp(−dt/τ) of the level at the nominal drain"),
        Field("low", size=1),
        Field("high", size=1),
        Field("span", size=1),
        Field("rate", size=1),
    ],
)
D = DERIVED.at

START_NOISE = Layout("start_noise", [Field("level", "-", doc="standard normal of the start level")])
Z = START_NOISE.at

OBSERVATION = Layout(
    "observation",
    [
        Field("level", "m", 0.0, 10.0, "measured level"),
        Field("inflow", "m3/min", 0.0, 20.0, "pump rate"),
        Field("level_aim", "m", 0.0, 10.0, "set-point"),
        Field("step", "-", 0.0, 1e4, "steps of this shift"),
    ],
)
OB = OBSERVATION.at

ACTUATORS = Layout("actuators", [Field("inflow", "m3/min")])
A = ACTUATORS.at

SIGNALS = Layout("signals", [Field("level", "m")])
SIG = SIGNALS.at

DRIFTS = Layout("drifts", [Field("drain_fouling", "-", doc="multiplies the drain")])

UNIT_KPI = Layout(
    "unit_kpi",
    [
        Field("mean_abs_error_m", "m"),
        Field("cost_eur", "EUR"),
        Field("steps", "-"),
    ],
)
K = UNIT_KPI.at


def default_sensors(params: TankParams) -> dict[str, SensorSpec]:
    """The level gauge (order = :data:`SIGNALS`)."""
    return {"level": SensorSpec(noise_std=params.level_noise_m, low=0.0, high=10.0)}


def default_drifts(params: TankParams) -> dict[str, DriftSpec]:
    """Drain fouling as a slow random walk (order = :data:`DRIFTS`)."""
    return {"drain_fouling": DriftSpec(ou_theta=0.01, ou_sigma=0.01, low=0.5, high=1.5)}


# what the tank is controlled to (reports plot it against its aim and band)
CONTROLLED = (ControlledVariable("truth", "level_m", "level_aim_m", 0.1, "level [m]"),)
STEP_LABEL = "control step (10 s)"
