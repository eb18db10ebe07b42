"""MPC on estimates of the paint line: the oracle's planner, started from what the shop can know.

The information-matched reference of issue 13 for the paint line. It plans exactly like the
oracle (:class:`agents.baselines.paint_mpc.PaintMPCOracle`: cross-entropy MPC over the next
bodies through the line's own step, :mod:`envs.paint.rollout`, sampled futures, the same
settings), so it has the *true model*, but every plan starts from a planning copy in which what
the line does not measure is replaced by what its observations give
(:class:`agents.paint_line_estimator.PaintLineEstimator`, fed only with the observations the env
emits; its gauge bookkeeping is the PID's :class:`agents.estimators.PaintFilmEstimator`). The
difference oracle − MPC-on-estimates is then the value of the information no deployable
controller has; MPC-on-estimates − PID is the value of control. It plans from the first body:
unlike the BOF's bath, the paint line's climate and paint are measured all shift.

**What the planning copy takes from where** (rows of :data:`envs.paint.layout.STATE`; layer rows
of :data:`~envs.paint.layout.LAYER_STATE` per layer):

| row | unit | value in the planning copy | why |
| --- | --- | --- | --- |
| ``t_booth`` | °C | booth temperature reading | booth lag state (σ 0.1 K) |
| ``pv_booth`` | kPa | booth RH reading × p_sat(booth T reading) | booth moisture (σ 1 %RH) |
| ``psat_booth``, ``rh_booth`` | kPa, %RH | from the same readings | consistency (3) |
| ``dt_out`` | K | outdoor T reading − the plant's daily sinusoid | weather drift |
| ``drh_out`` | %RH | outdoor RH reading − the plant's dew-point RH | weather drift |
| ``t_out``, ``rh_out``, ``psat_out``, ``pv_out`` | °C, %RH, kPa | the outdoor readings | (3) |
| ``wear`` | - | the nominal trend at the body count | bell wear is not measured |
| ``tpaint_dev`` | K | paint-temperature reading − nominal | paint-temperature drift |
| ``lot_ln_visc`` | - | ln(cup μ / nominal μ) − Arrhenius at the read T | lot × loop viscosity (1) |
| ``dr_visc``, ``dr_ln_visc`` | - | 1, 0 | folded into ``lot_ln_visc`` (1) |
| ``lot_vs`` | - | the solids estimate (gauge / model, EMA) | a lab value (2) |
| ``dr_vs`` | - | 1 | folded into ``lot_vs`` (2) |

(1) the step uses only the sum ``lot_ln_visc + dr_ln_visc``, which the cup viscosity measures
(σ 0.3 s Zahn #4 on ≈ 24 s; a dead cup, reading under 20 % of nominal, gives the nominal paint,
as the PID's speed feed-forward does); (2) the film is proportional to the solids product, which
only the delayed post-oven gauge sees (:mod:`agents.paint_line_estimator`); (3) rows the step
recomputes before reading them, set from the readings so the copy is consistent.

Kept from the plant, as measured, counted or commanded: the body count, the next body's style
(announced), the clock and daily phase (``tod``, ``cos``, ``sin``: the time of day is read), the
set-points on their way through the HVAC delay (``t_sp_del``, ``rh_sp_del``: the controller's
own commands, the observed set-points), the oven air (read exactly), the actuator actuals
(``act``: observed, booth offsets through the set-points), the bodies since the lot change (the
paint kitchen's log) and the shift's cost sum (accounting). Every other row (films, risks,
energies, cure, flash, ``ln_mu_rel``) is written by the step before it is read, so the copy's
value never matters. The parameters (``params``, ``derived``) are the plant's own: the model
is true (with ``randomize=True`` they would carry the drawn parameters: not a setting this
reference is evaluated in). Sensor faults reach the plan as the shop would see them (a biased
gauge moves the solids estimate, a stuck cup the viscosity).

Certainty equivalence: the plan treats the estimate as the truth. Measured on the first 8
shifts of each set (seeds 200000–200007, ``paint_50jph``, mean return per shift in hEUR, paired
s.e.; ``python -m experiments.evaluate env=paint policy=baseline:<pid|mpc_est|mpc>
scenario_sets=[…] episodes=8``):

| set | PID | MPC on estimates | oracle | est − PID | oracle − est | information share |
| --- | --- | --- | --- | --- | --- | --- |
| ``nominal`` | −224.39 | −221.81 | −220.01 | +2.58 ± 0.93 | +1.80 ± 0.22 | 41 % |
| ``drift`` | −347.63 | −300.92 | −260.84 | +46.70 ± 5.79 | +40.08 ± 3.58 | 46 % |
| ``sensor_faults`` | −227.83 | −232.27 | −219.07 | −4.43 ± 1.08 | +13.20 ± 0.92 | 151 % |

On ``drift`` the viscosity reading lets it handle the thickening base (defect risk 4.2 % of
bodies against the PID's 8.3 %, the oracle's 4.3 %), but it sees the thin clear lot only through
the post-oven gauge, 40 bodies late: it recovers in 50 bodies (PID 55, oracle 5) with
24.5 bodies out of spec per shift (PID 23.1, oracle 1.4). That delay is most of the
information share: the line measures volume solids nowhere else. On ``sensor_faults`` it falls
*below* the PID, and the base gauge's +1 µm bias is why (4 shifts per fault alone, Δ vs PID:
gauge −4.0, drifting RH transmitter +2.4, sticky clear viscometer +3.0): on healthy gauges
every controller runs the base film in the lower half of the cost's dead zone (mean 14.3–14.4 µm
on a 15 ± 3 µm band: the paint saved is worth more than the misses risked); the solids estimate
follows the biased gauge within ≈ 20 readings and moves the film 0.6 µm lower (13.8 µm, base
Cpk 0.72), while the PID's slow integrator (≈ 400 readings) believes the bias only partly
(14.0 µm, Cpk 0.83).
A slower solids estimate trades one set for another (``solids_gain`` 0.02 instead of 0.05:
nominal −221.35, drift −308.26, sensor_faults −229.79); a planner that priced the gauge's
possible bias, rather than certainty equivalence, is the obvious next step.

>>> mpc = PaintMPCEstimates.from_config(samples=8, iterations=1)
>>> mpc.layout.block_steps
(1, 7)
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from agents.baselines.mpc import FloatArray, load_config
from agents.baselines.paint_mpc import PaintMPCOracle
from agents.baselines.paint_pid import ZAHN4_C, ZAHN4_K
from agents.estimators import PAINT_OBS
from agents.paint_line_estimator import PaintLineEstimator
from envs.core.bundle import Plants, snapshot
from envs.paint import KELVIN, LAYERS, PaintLineParams, layout, resolve_variant, rollout
from envs.paint.layout import XL, D, P, X

__all__ = ["CONFIG_PATH", "ESTIMATED_ROWS", "PaintMPCEstimates", "estimated_copy"]

CONFIG_PATH = Path(__file__).resolve().parents[2] / "conf" / "baselines" / "paint_mpc_est.yaml"
# line rows the planning copy takes from the readings or the estimator (the module table)
ESTIMATED_ROWS = (
    "t_booth",
    "pv_booth",
    "psat_booth",
    "rh_booth",
    "dt_out",
    "drh_out",
    "t_out",
    "rh_out",
    "psat_out",
    "pv_out",
    "wear",
)
# the same per layer (LAYER_STATE rows)
ESTIMATED_LAYER_ROWS = ("tpaint_dev", "lot_ln_visc", "dr_visc", "dr_ln_visc", "lot_vs", "dr_vs")
DEAD_CUP_SHARE = 0.2  # a cup reading under this share of nominal (above the 5 s offset) is dead
# one planned future with the scatter at its median and no lot change: the prediction of the
# body about to be painted that the solids estimate compares the gauge with
_MEDIAN_BODY = rollout.horizon_words(np.array([0.5]))


def magnus_kpa(t_c: float) -> float:
    """Saturation vapour pressure of water, kPa (Magnus; Alduchov & Eskridge 1996), the
    relation the plant's climate uses."""
    return 0.61094 * math.exp(17.625 * t_c / (t_c + 243.04))


def _climate_rows(x: np.ndarray, p: np.ndarray, d: np.ndarray, reading: np.ndarray) -> None:
    """Booth and outdoor rows of state row ``x`` from one observation row (module table)."""
    t_b, rh_b = reading[PAINT_OBS["booth_temp"]], reading[PAINT_OBS["booth_rh"]]
    x[X.t_booth], x[X.psat_booth] = t_b, magnus_kpa(t_b)
    x[X.pv_booth] = min(rh_b / 100.0, 1.0) * x[X.psat_booth]
    x[X.rh_booth] = rh_b
    # the outdoor reading is of the body just painted, whose phase was one rotation back (at a
    # shift start, before any body, the reading is of the phase as it is)
    c, s = x[X.cos], x[X.sin]
    c_then = c if x[X.body] == 0 else c * d[D.cos_step] + s * d[D.sin_step]
    t_o, rh_o = reading[PAINT_OBS["outdoor_temp"]], reading[PAINT_OBS["outdoor_rh"]]
    x[X.dt_out] = t_o - p[P.outdoor_temp_mean_c] - p[P.outdoor_temp_amp_k] * c_then
    x[X.t_out], x[X.psat_out] = t_o, magnus_kpa(t_o)
    x[X.drh_out] = rh_o - 100.0 * d[D.pv_out] / x[X.psat_out]
    x[X.rh_out], x[X.pv_out] = rh_o, rh_o / 100.0 * x[X.psat_out]


def _layer_rows(
    x: np.ndarray, p: np.ndarray, d: np.ndarray, reading: np.ndarray, solids: np.ndarray
) -> None:
    """Paint rows of each layer of state row ``x`` from a reading and the solids estimate."""
    for k, layer in enumerate(LAYERS):
        b, s = k * layout.P_LAYER_STRIDE, X.layers + k * layout.LAYER_STRIDE
        t_paint = reading[PAINT_OBS[f"paint_temp_{layer}"]]
        x[s + XL.tpaint_dev] = t_paint - p[P.paint_temp_c]
        cup = reading[PAINT_OBS[f"visc_{layer}"]]
        mu_nominal = p[P.base_visc_mpas + b]
        nominal_cup = mu_nominal / p[P.base_density_kg_l + b] / ZAHN4_K  # above the offset
        ln_mult = 0.0  # a dead viscometer: the nominal paint
        if math.isfinite(cup) and cup - ZAHN4_C > DEAD_CUP_SHARE * nominal_cup:
            mu = ZAHN4_K * (cup - ZAHN4_C) * p[P.base_density_kg_l + b]
            arrhenius = d[D.ea_r + k] * (1.0 / (t_paint + KELVIN) - d[D.inv_tvref])
            ln_mult = math.log(mu / mu_nominal) - arrhenius
        x[s + XL.lot_ln_visc], x[s + XL.dr_visc], x[s + XL.dr_ln_visc] = ln_mult, 1.0, 0.0
        x[s + XL.lot_vs], x[s + XL.dr_vs] = solids[k], 1.0


def estimated_copy(plants: Plants, reading: np.ndarray, solids: np.ndarray, wear: float) -> Plants:
    """Planning copy of a one-line bundle with the unmeasured state replaced by estimates.

    Args:
        plants: the attached env's plants (one line; not changed).
        reading: the line's latest observation row (35 values, engineering units).
        solids: volume-solids multiplier per layer (base, clear), > 0.
        wear: bell-wear multiplier of d32, > 0.

    Returns:
        A copy whose rows :data:`ESTIMATED_ROWS` and per layer :data:`ESTIMATED_LAYER_ROWS`
        hold the estimates (the module table); every other row is the plant's.
    """
    o = np.asarray(reading, dtype=np.float64)
    sol = np.asarray(solids, dtype=np.float64)
    if o.shape != (len(PAINT_OBS),) or sol.shape != (len(LAYERS),):
        raise ValueError(
            f"estimated_copy needs one observation row ({len(PAINT_OBS)},) and solids per "
            f"layer ({len(LAYERS)},), got {o.shape} and {sol.shape}"
        )
    climate = [PAINT_OBS[k] for k in ("booth_temp", "booth_rh", "outdoor_temp", "outdoor_rh")]
    climate += [PAINT_OBS[f"paint_temp_{layer}"] for layer in LAYERS]
    if not (np.all(np.isfinite(o[climate])) and np.all(sol > 0.0) and wear > 0.0):
        raise ValueError(
            "estimated_copy needs finite climate and paint-temperature readings and solids, "
            f"wear > 0; got readings {o[climate].tolist()}, solids {sol.tolist()}, wear {wear}"
        )
    copy = snapshot(plants)
    p, d, x = copy.params[0], copy.derived[0], copy.state[0]
    _climate_rows(x, p, d, o)
    x[X.wear] = wear
    _layer_rows(x, p, d, o, sol)
    return copy


class PaintMPCEstimates(PaintMPCOracle):
    """Cross-entropy MPC of the paint line from the estimated state (the module docstring).

    Takes the keywords of :class:`PaintMPCOracle` (the CEM and futures settings) plus:

    Args:
        plant: the plant the controller is built for (variant, name or mapping); its nominal
            parameters are the estimator's.
        solids_gain: weight of a fresh gauge reading in the solids estimate, in (0, 1].
    """

    ENV_OPTIONS: tuple[str, ...] = ()

    def __init__(
        self, *args: Any, plant: Any = "paint_50jph", solids_gain: float = 0.05, **kwargs: Any
    ) -> None:
        variant = resolve_variant(plant)
        params = variant.params
        assert isinstance(params, PaintLineParams)  # resolve_variant refuses another process
        # before the oracle's constructor: it starts the (zero) episodes, which reset this
        self.estimator = PaintLineEstimator(params, solids_gain)
        super().__init__(*args, **kwargs)
        self.plant = variant

    @classmethod
    def from_config(  # type: ignore[override]
        cls, path: str | Path | None = None, plant: Any = "paint_50jph", **overrides: Any
    ) -> PaintMPCEstimates:
        """The controller of ``conf/baselines/paint_mpc_est.yaml`` (or ``path``) with keyword
        overrides, built for ``plant`` (a variant, name or mapping; default the nominal line):
        it attaches only to that plant's envs and its estimator uses that plant's parameters."""
        return cls(plant=plant, **load_config(path or CONFIG_PATH, overrides))

    def _new_episodes(self, n: int) -> None:
        super()._new_episodes(n)
        self.estimator.reset(n)

    # policy protocol ------------------------------------------------------------------------
    def act(self, obs: np.ndarray) -> np.ndarray:
        """Actions ``(n, 11)``: the plan from the estimated state; the observation updates the
        estimate first, then the body about to be painted is predicted for the solids."""
        batch_obs = np.asarray(obs, dtype=np.float64)
        if self._envs is None:
            raise RuntimeError(
                "PaintMPCEstimates plans through the line's step: call attach(envs) "
                "(agents.evaluation.evaluate does) before act()"
            )
        if batch_obs.ndim != 2 or batch_obs.shape != (len(self._envs), len(PAINT_OBS)):
            raise ValueError(
                f"obs must have shape ({len(self._envs)}, {len(PAINT_OBS)}) (one row per "
                f"attached env), got {batch_obs.shape}"
            )
        self.estimator.update(batch_obs)
        out = super().act(batch_obs)
        self.estimator.record_prediction(self._predict(out))
        return out

    # process hooks --------------------------------------------------------------------------
    def _copies(self, batches: list[Any]) -> list[Plants]:
        """Planning copies from the estimated state (the module table), taken now; ``batches``
        are the attached envs' batches, in order."""
        return [self._copy(i, b) for i, b in enumerate(batches)]

    def _copy(self, i: int, batch: Any) -> Plants:
        est = self.estimator
        return estimated_copy(batch.plants, est.reading[i], est.solids[i], est.wear(est.body[i]))

    def _predict(self, actions: np.ndarray) -> FloatArray:
        """DFT ``(n, 2)`` µm of the body each line paints next under ``actions``, from the
        estimated state at nominal solids (median scatter; NaN for ended episodes)."""
        assert self._envs is not None
        batches = [e.unwrapped.batch for e in self._envs]
        out = np.full((len(batches), len(LAYERS)), np.nan)
        live = [i for i, b in enumerate(batches) if self._position(b) is not None]
        if not live:
            return out
        copies = [self._copy(i, batches[i]) for i in live]
        plan = rollout.new_plan(copies, 1, np.zeros(1, dtype=np.int64))
        dft = [X.layers + k * layout.LAYER_STRIDE + XL.dft for k in range(len(LAYERS))]
        none = np.empty(0)
        for row, i in enumerate(live):
            seq = np.asarray(actions[i], dtype=np.float64)[None]
            rollout.rollout_one(plan, row, seq, _MEDIAN_BODY, none)
            # DFT is proportional to the solids multiplier (the mass balance): divide it out
            out[i] = plan.plants.state[row, dft] / self.estimator.solids[i]
        return out
