"""A discrete PID controller over a batch of loops, with output clamping and anti-windup.

Both process baselines (:mod:`agents.baselines.bof_pid`, :mod:`agents.baselines.paint_pid`)
run many independent loops side by side — one per episode of an evaluation batch, and per layer
or per endpoint quantity — so the controller state is a vector and one call updates every loop.

Form (position form, derivative on the error, sample time ``dt`` in the caller's unit):

    u = ff + kp·e + i + kd·(e − e_prev)/dt,    i ← i + ki·e·dt    (clamped, see below)

Anti-windup by *clamping* (conditional integration): the integral is frozen on a sample where
the output is saturated and the error would drive it further into saturation, and the integral
itself is bounded by ``i_limit``. A loop that hits an actuator limit therefore does not build up
an integral it must unwind later — the classical cure for the overshoot of a saturated PI
(Åström & Hägglund, *Advanced PID Control*, ISA 2006, §3.5). A ``mask`` updates only the loops
that received a new measurement this sample (e.g. a new tap analysis, a new DFT reading); the
others hold their state and output.

>>> import numpy as np
>>> pid = PID(PIDGains(kp=0.5, ki=0.1, out_min=-1.0, out_max=1.0), n=2)
>>> pid.step(np.array([1.0, -4.0]))
array([ 0.6, -1. ])
>>> pid.integral  # the second loop saturated low: its integral stayed at 0
array([0.1, 0. ])
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["PID", "FloatArray", "OperatingPoint", "PIDGains"]

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class PIDGains:
    """Gains and limits of one PID loop (units: output per unit of error, per unit of time).

    Attributes:
        kp: proportional gain, output / error.
        ki: integral gain, output / (error · time).
        kd: derivative gain, output · time / error.
        out_min: lower output limit (the actuator's or the correction's range).
        out_max: upper output limit.
        i_limit: bound on |integral| (a second guard against windup), output units.
    """

    kp: float = 0.0
    ki: float = 0.0
    kd: float = 0.0
    out_min: float = -math.inf
    out_max: float = math.inf
    i_limit: float = math.inf

    def __post_init__(self) -> None:
        for name in ("kp", "ki", "kd"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"PIDGains.{name} must be finite, got {getattr(self, name)}")
        if not self.out_min < self.out_max:
            raise ValueError(
                f"PIDGains: out_min < out_max required, got {self.out_min} >= {self.out_max}"
            )
        if not self.i_limit >= 0.0:
            raise ValueError(f"PIDGains.i_limit must be >= 0, got {self.i_limit}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> PIDGains:
        """Gains from a plain mapping (YAML); missing keys keep their defaults."""
        d = dict(d or {})
        unknown = sorted(set(d) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown PID gain(s) {unknown}")
        return cls(**{k: float(v) for k, v in d.items()})


class PID:
    """``n`` independent discrete PID loops with the same gains.

    Args:
        gains: gains and limits.
        n: number of loops.
        dt: sample time (any unit the gains are expressed in; 1 = per sample).
    """

    def __init__(self, gains: PIDGains, n: int = 1, dt: float = 1.0) -> None:
        if not dt > 0.0:
            raise ValueError(f"PID sample time dt must be > 0, got {dt}")
        self.gains, self.dt = gains, float(dt)
        self.integral: FloatArray = np.zeros(0)
        self.prev_error: FloatArray = np.zeros(0)
        self.output: FloatArray = np.zeros(0)
        self._started = np.zeros(0, dtype=bool)
        self.reset(n)

    @property
    def n(self) -> int:
        return int(self.integral.shape[0])

    def reset(self, n: int | None = None, mask: npt.NDArray[np.bool_] | None = None) -> None:
        """Clear the state of every loop (``n`` loops from now on), or only the ``mask`` ones."""
        if mask is not None:
            self.integral[mask] = 0.0
            self.prev_error[mask] = 0.0
            self.output[mask] = 0.0
            self._started[mask] = False
            return
        n = self.n if n is None else int(n)
        self.integral, self.prev_error, self.output = np.zeros(n), np.zeros(n), np.zeros(n)
        self._started = np.zeros(n, dtype=bool)

    def step(
        self,
        error: npt.ArrayLike,
        mask: npt.NDArray[np.bool_] | None = None,
        feedforward: npt.ArrayLike = 0.0,
    ) -> FloatArray:
        """One sample: update the loops in ``mask`` (all if None) and return every output.

        ``error`` = set-point − measurement (or the caller's sign convention), shape ``(n,)``;
        ``feedforward`` is added to the output before clamping.
        """
        g = self.gains
        e = np.broadcast_to(np.asarray(error, dtype=np.float64), (self.n,))
        upd = np.ones(self.n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        ff = np.broadcast_to(np.asarray(feedforward, dtype=np.float64), (self.n,))
        # the first sample after a reset has no previous error: no derivative kick
        de = np.where(self._started, e - self.prev_error, 0.0) / self.dt
        i_try = np.clip(self.integral + g.ki * e * self.dt, -g.i_limit, g.i_limit)
        u_try = ff + g.kp * e + i_try + g.kd * de
        # clamping: hold the integral where the unclamped output leaves the limits in the
        # direction the error pushes (integrating would only wind up)
        windup = ((u_try > g.out_max) & (e > 0)) | ((u_try < g.out_min) & (e < 0))
        i_new = np.where(windup, self.integral, i_try)
        u = np.clip(ff + g.kp * e + i_new + g.kd * de, g.out_min, g.out_max)
        self.integral = np.where(upd, i_new, self.integral)
        self.prev_error = np.where(upd, e, self.prev_error)
        self.output = np.where(upd, u, self.output)
        self._started = self._started | upd
        return self.output.copy()


class OperatingPoint:
    """Constant trims of the actuators a baseline does not drive: its operating point.

    A controller that only closes loops on some actuators runs the others at the operator's
    practice, so a learned policy could beat it merely by finding a better constant set-point
    (issue "Plants v2", strong baselines). The trims move those actuators by a constant
    normalised adjust action (``+0.2`` = 20 % of the actuator's adjust span above practice),
    tuned with the gains. Trims on a driven actuator would fight the loop and are refused; no
    trim leaves every action as it was.

    Args:
        trims: ``{actuator name: normalised trim in [-1, 1]}``.
        names: every actuator of the process, in action order.
        driven: the actuators the controller's loops write.
        who: the controller, for messages.
    """

    def __init__(
        self, trims: Mapping[str, float], names: tuple[str, ...], driven: tuple[str, ...], who: str
    ) -> None:
        unknown = sorted(set(trims) - set(names))
        if unknown:
            raise ValueError(f"{who}: unknown actuator(s) {unknown} in operating_point; {names}")
        fought = sorted(set(trims) & set(driven))
        if fought:
            raise ValueError(
                f"{who}: operating_point trims {fought}, which its loops drive; trim only "
                f"{sorted(set(names) - set(driven))}"
            )
        bad = {k: v for k, v in trims.items() if not (math.isfinite(v) and -1.0 <= v <= 1.0)}
        if bad:
            raise ValueError(f"{who}: operating_point trims must be in [-1, 1], got {bad}")
        self.columns = np.array([names.index(k) for k in trims], dtype=np.int64)
        self.values = np.array([float(trims[k]) for k in trims])

    def apply(self, actions: FloatArray) -> FloatArray:
        """``actions`` (n, n_act) with the trims added in place (returned for chaining)."""
        if self.columns.size:
            actions[:, self.columns] += self.values
        return actions
