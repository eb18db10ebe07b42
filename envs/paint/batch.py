"""N paint lines stepped in one call of the compiled core: the engine behind the env shells.

``PaintBatch`` owns the per-plant arrays (parameters, state, drift and sensor states), draws the
random inputs of a step as one array of 16-bit words (:mod:`envs.core.noise`; process words,
then the drift bank's, then the sensor bank's, the layout of :func:`envs.paint.core.step_batch`)
and a few normals per shift start, and calls :mod:`envs.paint.core`. The single env is a batch of
one and the vector env a batch of N, so both run the same code with the same draws.

The unit a paint line's KPIs describe is the **shift**: every step paints one body (its KPIs in
:attr:`PaintBatch.body_kpi`), and when a shift ends the batch summarises it per plant
(:data:`SHIFT_KPI_NAMES`: mean and sd of the true DFT per layer, Cpk against the tolerance band,
in-spec share, paint, energy and cost per body, defect and cure rates), from sums the compiled
:func:`envs.paint.core.accumulate_body` keeps while the shift runs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from envs.core.actions import ActionScaler, ActuatorSpec
from envs.core.disturbances import DriftBank, DriftSpec
from envs.core.noise import draw_bits
from envs.core.params import PlantVariant
from envs.core.sensors import SensorBank, SensorSpec, merge_specs
from envs.core.shell import StepResult
from envs.paint import core
from envs.paint.params import PaintLineParams

__all__ = ["SHIFT_KPI_NAMES", "PaintBatch", "actuator_specs", "shift_summary"]

# parameters that size the sensor bank and the takt: fixed per variant, never randomised
FIXED_PER_VARIANT = ("jph", "dft_delay_bodies", "inline_wft")

# per-body KPIs averaged over a shift: name in the summary (the sums are kept by the compiled step,
# :func:`envs.paint.core.accumulate_body`)
_MEAN_NAMES: tuple[str, ...] = tuple(
    f"{name}_per_body" if name.endswith(("_l", "_kwh", "_eur")) else f"{name}_rate"
    for name in core.SHIFT_MEAN_KPIS
)

SHIFT_KPI_NAMES: tuple[str, ...] = (
    "bodies",
    *(name.replace("_risk_rate", "_risk") for name in _MEAN_NAMES),
    "te_base",
    "te_clear",
    "dft_base_mean_um",
    "dft_base_sd_um",
    "cpk_base",
    "dft_clear_mean_um",
    "dft_clear_sd_um",
    "cpk_clear",
)
N_SHIFT_KPI = len(SHIFT_KPI_NAMES)


def shift_summary(acc: np.ndarray, params: np.ndarray) -> np.ndarray:
    """Shift KPIs (rows of :data:`SHIFT_KPI_NAMES`) from accumulator rows and parameter rows.

    Cpk = min(USL − mean, mean − LSL) / (3 sd) of the true DFT over the shift's bodies, with
    the layer's target ± tolerance as the specification limits (AIAG PPAP practice; PHYSICS.md).
    """
    acc = np.atleast_2d(acc)
    params = np.atleast_2d(params)
    n = np.maximum(acc[:, core.A_BODIES], 1.0)
    out = np.empty((acc.shape[0], N_SHIFT_KPI))
    out[:, 0] = acc[:, core.A_BODIES]
    k = 1 + len(_MEAN_NAMES)
    out[:, 1:k] = acc[:, core.A_MEANS : core.A_MEANS + len(_MEAN_NAMES)] / n[:, None]
    out[:, k : k + 2] = acc[:, core.A_TE : core.A_TE + 2] / n[:, None]
    k += 2
    for layer, prefix in enumerate(("base", "clear")):
        s, s2 = acc[:, core.A_DFT + 2 * layer], acc[:, core.A_DFT + 2 * layer + 1]
        mean = s / n
        var = np.maximum(s2 / n - mean**2, 0.0) * n / np.maximum(n - 1.0, 1.0)
        sd = np.sqrt(var)
        target = params[:, PaintLineParams.index(f"{prefix}_dft_target_um")]
        tol = params[:, PaintLineParams.index(f"{prefix}_dft_tol_um")]
        margin = np.minimum(target + tol - mean, mean - target + tol)
        with np.errstate(divide="ignore", invalid="ignore"):
            cpk = np.where(sd > 0, margin / (3.0 * sd), np.inf)
        out[:, k : k + 3] = np.stack([mean, sd, cpk], axis=1)
        k += 3
    return out


def actuator_specs(params: PaintLineParams) -> list[ActuatorSpec]:
    """The eleven actuators with limits from the compiled core (single source)."""
    lo, hi, span, rate = (np.empty(core.N_ACT) for _ in range(4))
    core.actuator_limits(params.to_array(), lo, hi, span, rate)
    return [
        ActuatorSpec(n, u, float(a), float(b), rate_limit=float(r), adjust_span=float(s))
        for n, u, a, b, r, s in zip(
            core.ACTUATOR_NAMES, core.ACTUATOR_UNITS, lo, hi, rate, span, strict=True
        )
    ]


class PaintBatch:
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
    ) -> None:
        if not isinstance(variant.params, PaintLineParams):
            raise TypeError(
                f"paint lines need PaintLineParams, got {type(variant.params).__name__}"
            )
        if n_plants < 1 or int(n_plants) != n_plants:
            raise ValueError(f"n_plants must be a positive integer, got {n_plants!r}")
        fixed = sorted(set(variant.randomize) & set(FIXED_PER_VARIANT))
        if fixed:
            raise ValueError(
                f"{fixed} cannot be randomised (they size the takt and the sensor delays); "
                "make a plant variant per value instead"
            )
        params: PaintLineParams = variant.params
        self.variant, self.n = variant, int(n_plants)
        self.randomize = variant.draws_parameters(bool(randomize))
        self.dt_s = params.cycle_time_s
        if shift_bodies is None:
            shift_bodies = round(8.0 * params.jph)  # one 8-hour shift
        if shift_bodies < 1 or int(shift_bodies) != shift_bodies:
            raise ValueError(f"shift_bodies must be a positive integer, got {shift_bodies!r}")
        self.shift_bodies = int(shift_bodies)
        self.scaler = ActionScaler(actuator_specs(params), action_mode)
        self.sensors = SensorBank(
            merge_specs(core.default_sensors(params), sensors, SensorSpec, "sensor"), self.dt_s
        )
        self.drifts = DriftBank(
            merge_specs(core.default_drifts(params), drifts, DriftSpec, "drift")
        )
        self.n_words = core.N_PROCESS_WORDS + self.drifts.n_noise + self.sensors.n_noise
        self.base_params = np.tile(params.to_array(), (self.n, 1))
        self._rand_lo, self._rand_hi = variant.randomization_arrays()
        self.params = self.base_params.copy()
        self.derived = np.zeros((self.n, core.N_DERIVED))
        core.derive_batch(self.params, self.derived)
        self.state = np.zeros((self.n, core.N_STATE))
        self.sensor_state = self.sensors.new_state(self.n)
        self.drift_state = self.drifts.new_state(self.n)
        self.obs = np.zeros((self.n, core.N_OBS), dtype=np.float32)
        self.body_kpi = np.zeros((self.n, core.N_KPI))
        self.shift_kpi = np.full((self.n, N_SHIFT_KPI), math.nan)
        self.acc = np.zeros((self.n, core.N_ACC))
        self.bodies = np.zeros(self.n, dtype=np.int64)
        self._actions = np.zeros((self.n, core.N_ACT))  # checked actions of the step, float64
        self._scratch = core.step_scratch(self.n, self.drifts.n_drifts)
        self._all_active = np.ones(self.n, dtype=np.bool_)

    def reset_plants(self, idx: np.ndarray, rng: np.random.Generator) -> None:
        """Start a new shift for plants ``idx``."""
        idx = np.asarray(idx, dtype=np.int64)
        if self.randomize:
            u = rng.random((idx.size, self.base_params.shape[1]))
            self.base_params[idx] = self._rand_lo + u * (self._rand_hi - self._rand_lo)
            self.params[idx] = self.base_params[idx]
        self.acc[idx] = 0.0
        self.bodies[idx] = 0
        z = rng.standard_normal((idx.size, core.N_RESET_NOISE))
        core.reset_batch(
            self.params,
            self.derived,
            self.state,
            idx,
            self.randomize,
            z,
            self.drifts.cfg,
            self.drift_state,
            self.sensors.cfg,
            self.sensor_state,
            self.dt_s,
            core.OBS_LOW,
            core.OBS_HIGH,
            self.obs,
        )

    def check_actions(self, actions: Any) -> np.ndarray:
        """Actions as float64 (n, 11); ValueError for a wrong shape or NaN/inf (names the plant).

        Finite values outside [-1, 1] are clipped inside the compiled step (documented rule).
        """
        return self.scaler.validate_batch(actions, self.n, self._actions)

    def step(
        self,
        actions: np.ndarray,
        rng: np.random.Generator,
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
        if active is None:
            active, n_active = self._all_active, self.n
        else:
            n_active = int(active.sum())
        bits = draw_bits(rng, n_active, self.n_words)
        # the step writes every line's reward and shift-end flag: new arrays, returned as they are
        reward, ended = np.empty(self.n), np.empty(self.n, dtype=np.bool_)
        n_ended = core.step_batch(
            self.params, self.derived, self.state, actions, self.scaler.mode_code, bits,
            self.drifts.n_noise, self.drifts.cfg, self.drifts.noise_cols, self.drift_state,
            self.sensors.cfg, self.sensors.noise_cols, self.sensor_state, self.dt_s,
            core.OBS_LOW, core.OBS_HIGH, self.obs, self.obs if obs_out is None else obs_out,
            reward, self.body_kpi, active, self.acc, self.bodies, self.shift_bodies, ended,
            self._scratch,
        )  # fmt: skip
        if n_ended:
            rows = np.flatnonzero(ended)
            self.shift_kpi[rows] = shift_summary(self.acc[rows], self.params[rows])
        never = np.zeros(self.n, dtype=np.bool_)  # a shift is never terminated early
        return StepResult(reward, ended, never, ended, self.shift_kpi, n_ended)
