"""What the paint line's observations say about its hidden state: the MPC-on-estimates' input.

The MPC on estimates (:mod:`agents.baselines.paint_mpc_est`) plans with the true model from a
copy of the line in which every state row the shop does not measure is replaced by what the
observations give. This module keeps the part of that estimate that needs memory; the
conversion of readings into state rows is :func:`agents.baselines.paint_mpc_est.estimated_copy`.

| quantity | unit | range | from |
| --- | --- | --- | --- |
| ``reading`` | obs units | the obs Box | the latest finite reading of every observation |
| ``solids`` | - | [0.5, 1.5] | gauge reading / model DFT at nominal solids, EMA per layer |
| ``wear`` | - | [0.8, 1.5] | the plant's nominal bell-wear trend at the body count |

**Solids (volume-solids multiplier per layer).** Volume solids are a lab value, never measured
on the line, and the film-build mass balance makes the dry film proportional to them
(``DFT = TE · VS · Q · t_on / A``, exactly, in the plant step). So the planner's own one-body
prediction of each body at *nominal* solids (``record_prediction``), divided into the post-oven
gauge's reading of the same body 40 bodies later, measures the solids multiplier the model is
missing; an exponential mean with weight ``solids_gain`` per reading averages the gauge's noise
(1.5 µm) and the body-to-body scatter. The gauge's delay, shift starts and dropouts are
handled by the PID's :class:`agents.estimators.PaintFilmEstimator` (a repeated reading is a
dropout), so both controllers use the same readings. Like the PID's film-build factor, the
ratio lumps every unmodelled film effect (bell wear's TE loss, a biased gauge) into the solids:
the film is right on average, which is what the cost prices. Before the first reading of a body
painted in this shift (the first ``delay`` bodies) the multiplier is 1, the nominal paint.
Only the post-oven gauge is used: an inline wet-film gauge (``paint_premium_clear``) is not.

**Bell wear** is not measured; the estimate is the plant's nominal trend
(``bell_wear_per_kbody`` from a new cup at the shift start), the scenario-free value: a worn or
damaged cup shows only through the films (the solids ratio above).

>>> from envs.paint import resolve_variant
>>> est = PaintLineEstimator(resolve_variant("paint_50jph").params)
>>> est.reset(2)
>>> est.solids.tolist()
[[1.0, 1.0], [1.0, 1.0]]
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from agents.estimators import PAINT_OBS, PaintFilmEstimator
from envs.paint import PaintLineParams
from envs.paint.layout import default_drifts

__all__ = ["SOLIDS_RANGE", "PaintLineEstimator"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
# the solids multiplier is kept in the range of the drift bank's solids drifts (0.8–1.2) times
# a lot's ±3σ (vs_batch_rel 1.5 %, 0.5 floor in the step), widened: a wild reading cannot
# make the planner paint with absurd solids
SOLIDS_RANGE = (0.5, 1.5)


class PaintLineEstimator:
    """Hidden-state estimate of ``n`` paint lines from their observations (module docstring).

    Args:
        params: the nominal parameters of the plant the estimator is built for (gauge delay,
            recipe, bell-wear trend).
        solids_gain: weight of each fresh gauge reading in the solids multiplier's exponential
            mean, in (0, 1].
    """

    def __init__(self, params: PaintLineParams, solids_gain: float = 0.05) -> None:
        if not (math.isfinite(solids_gain) and 0.0 < solids_gain <= 1.0):
            raise ValueError(f"solids_gain must be in (0, 1], got {solids_gain!r}")
        self.params, self.solids_gain = params, float(solids_gain)
        self.film = PaintFilmEstimator(params)  # the PID's: delay, shift starts, dropouts
        self.delay = self.film.delay
        wear = default_drifts(params)["bell_wear"]
        self._wear = (wear.mean, wear.trend_per_step, wear.low, wear.high)
        self.reset(0)

    def reset(self, n: int) -> None:
        """Forget every line (``n`` rows from now on)."""
        self.film.reset(n)
        self.reading = np.full((n, len(PAINT_OBS)), np.nan)
        self.solids = np.ones((n, 2))
        self.body = np.zeros(n)
        # predicted DFT at nominal solids of the last delay+1 bodies, newest first, per layer
        self.predicted = np.full((n, 2, self.delay + 1), np.nan)
        self.pending = np.full((n, 2), np.nan)  # the body about to be painted

    def update(self, obs: npt.ArrayLike) -> BoolArray:
        """Take one observation batch ``(n, 35)``; returns the rows where a shift started."""
        o = np.asarray(obs, dtype=np.float64)
        if o.ndim != 2 or o.shape[1] != len(PAINT_OBS):
            raise ValueError(f"obs must have shape (n, {len(PAINT_OBS)}), got {o.shape}")
        if o.shape[0] != self.solids.shape[0]:
            self.reset(o.shape[0])
        body = o[:, PAINT_OBS["body_index"]]
        new = self.film.update(o)
        stepped = ~new & (body > self.body)
        self.solids[new], self.predicted[new] = 1.0, np.nan
        rolled = np.roll(self.predicted, 1, axis=2)
        rolled[:, :, 0] = self.pending
        self.predicted = np.where(stepped[:, None, None], rolled, self.predicted)
        then = self.predicted[:, :, self.delay]
        read = np.stack(
            [o[:, PAINT_OBS["dft_base_measured"]], o[:, PAINT_OBS["dft_clear_measured"]]], axis=1
        )
        # a fresh reading (the PID's test: new, finite, not a repeat) of a body this shift painted
        ok = self.film.fresh & stepped[:, None] & np.isfinite(then) & (then > 0.0)
        ratio = np.clip(read / np.where(ok, then, 1.0), *SOLIDS_RANGE)
        g = self.solids_gain
        self.solids = np.where(ok, (1.0 - g) * self.solids + g * ratio, self.solids)
        # a missing reading (a sensor's NaN dropout) holds the last one, as a historian does
        self.reading = np.where(np.isfinite(o) | new[:, None], o, self.reading)
        self.body = body
        self.pending = np.full_like(self.pending, np.nan)
        return new

    def record_prediction(self, dft_nominal_solids: FloatArray) -> None:
        """The model's DFT ``(n, 2)`` µm of the body about to be painted, at nominal solids
        (NaN: none; the gauge's reading of that body is then not used)."""
        pred = np.asarray(dft_nominal_solids, dtype=np.float64)
        if pred.shape != self.pending.shape:
            raise ValueError(f"predictions must have shape {self.pending.shape}, got {pred.shape}")
        self.pending = pred.copy()

    def wear(self, bodies: float) -> float:
        """Bell-wear multiplier of d32 after ``bodies`` bodies of the shift (nominal trend)."""
        mean, trend, low, high = self._wear
        return float(min(max(mean + trend * bodies, low), high))
