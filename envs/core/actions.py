"""Action scaling: from the agent's [-1, 1] to actuator set-points in engineering units.

Two modes (DESIGN.md, "Actions"):

| mode | set-point for action a | a = 0 |
| --- | --- | --- |
| ``adjust`` (default) | practice + a·adjust_span | the operator's standard practice, bit for bit |
| ``absolute`` | low + (a + 1)/2·(high − low) | the middle of the range |

Either way the set-point is clipped to the actuator's [low, high] and then rate-limited against
the previous set-point. The rule for bad actions: finite values outside [-1, 1] are clipped to
[-1, 1] (as SB3's PPO clips its Gaussian samples); NaN, ±inf or a wrong shape raise ``ValueError``,
because they are bugs in the caller, not actions.

``ActionScaler`` holds the limits as float64 arrays for the compiled kernels. ``setpoint`` and
``rate_limited`` (one actuator) are the mapping every process core calls inside its compiled step
(inlined by numba); ``to_setpoints`` and ``apply_rate_limit`` apply them to a whole action.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

FloatArray = npt.NDArray[np.float64]

ACTION_MODES = ("adjust", "absolute")
MODE_ADJUST = 0
MODE_ABSOLUTE = 1


@dataclass(frozen=True)
class ActuatorSpec:
    """One actuator.

    Attributes:
        name: Actuator name, e.g. ``"o2_flow"``.
        unit: Engineering unit, e.g. ``"Nm3/min"``.
        low: Lower engineering limit, ``unit``.
        high: Upper engineering limit, ``unit``.
        adjust_span: In adjust mode an action of ±1 moves the set-point ±adjust_span around
            standard practice, ``unit``.
        rate_limit: Largest set-point change per control step, ``unit``/step (inf = none).
    """

    name: str
    unit: str
    low: float
    high: float
    adjust_span: float
    rate_limit: float = math.inf

    def __post_init__(self) -> None:
        """Validate; errors name the actuator and the field."""
        where = f"ActuatorSpec {self.name!r}"
        if not self.name:
            raise ValueError("ActuatorSpec.name must be a non-empty string")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise ValueError(
                f"{where}: low and high must be finite with low < high, "
                f"got low={self.low}, high={self.high}"
            )
        if not (math.isfinite(self.adjust_span) and self.adjust_span > 0):
            raise ValueError(f"{where}: adjust_span must be finite and > 0, got {self.adjust_span}")
        if not self.rate_limit > 0:
            raise ValueError(f"{where}: rate_limit must be > 0 (inf = none), got {self.rate_limit}")


class ActionScaler:
    """Validates normalised actions and holds the arrays the compiled mapping needs.

    Args:
        specs: The actuators, in action order.
        mode: ``"adjust"`` or ``"absolute"``.

    Attributes:
        names: Actuator names. units: Their units.
        low, high, rate, span: float64 (n,) limits, rate limits and adjust spans.
        n: Number of actuators.
        mode: The mode name; mode_code: MODE_ADJUST (0) or MODE_ABSOLUTE (1) for the kernels.

    >>> scaler = ActionScaler([ActuatorSpec("o2_flow", "Nm3/min", 600.0, 1000.0, 100.0)])
    >>> scaler.setpoints(np.array([0.5]), np.array([800.0]))
    array([850.])
    """

    def __init__(self, specs: Sequence[ActuatorSpec], mode: str = "adjust") -> None:
        if mode not in ACTION_MODES:
            raise ValueError(f"action mode must be one of {ACTION_MODES}, got {mode!r}")
        if not specs:
            raise ValueError("ActionScaler needs at least one ActuatorSpec")
        self.specs = tuple(specs)
        self.mode = mode
        self.mode_code = ACTION_MODES.index(mode)
        self.names = tuple(s.name for s in self.specs)
        self.units = tuple(s.unit for s in self.specs)
        self.low: FloatArray = np.array([s.low for s in self.specs], dtype=np.float64)
        self.high: FloatArray = np.array([s.high for s in self.specs], dtype=np.float64)
        self.rate: FloatArray = np.array([s.rate_limit for s in self.specs], dtype=np.float64)
        self.span: FloatArray = np.array([s.adjust_span for s in self.specs], dtype=np.float64)
        self.n = len(self.specs)

    def check(self, action: npt.ArrayLike) -> FloatArray:
        """Validate one action of shape (n,) and clip it to [-1, 1].

        Returns:
            A new float64 array (the input is not modified).

        Raises:
            ValueError: Wrong shape, non-numeric, NaN or ±inf (naming the actuator).
        """
        a = _as_float(action, "action")
        if a.shape != (self.n,):
            raise ValueError(f"action has shape {a.shape}, expected ({self.n},) for {self.names}")
        bad = np.flatnonzero(~np.isfinite(a))
        if bad.size:
            i = int(bad[0])
            raise ValueError(
                f"action[{i}] ({self.names[i]!r}) is {a[i]}; actions must be finite, in [-1, 1]"
            )
        return np.clip(a, -1.0, 1.0)

    def validate_batch(
        self, actions: npt.ArrayLike, n_plants: int, out: FloatArray | None = None
    ) -> FloatArray:
        """Actions of ``n_plants`` plants as float64 (n_plants, n), unclipped, for the kernels.

        A single plant also accepts shape (n,). Finite values outside [-1, 1] pass unchanged (the
        compiled step clips them: the documented rule); NaN/±inf and wrong shapes raise
        ``ValueError`` naming the plant and actuator, before any plant moves. With ``out``
        (float64, (n_plants, n)) the actions are copied into it in one compiled pass that also
        checks them (a batch's step buffer), else a float64 array is returned (a new one unless
        the input already is one).
        """
        a = actions if isinstance(actions, np.ndarray) else _as_float(actions, "actions")
        if a.shape != (n_plants, self.n):
            if n_plants == 1 and a.shape == (self.n,):
                a = a.reshape(1, self.n)
            else:
                raise ValueError(
                    f"actions have shape {a.shape}, expected ({n_plants}, {self.n})"
                    + (f" or ({self.n},)" if n_plants == 1 else "")
                    + f" for {self.names}"
                )
        if out is not None and a.dtype in (np.float32, np.float64):
            bad = copy_finite(a, out)
        else:
            a = np.asarray(a, dtype=np.float64)
            bad = first_non_finite(a)
            if out is not None:
                out[...] = a
                a = out
        if bad >= 0:
            plant, j = divmod(bad, self.n)
            raise ValueError(
                f"action[{j}] ({self.names[j]!r}) of plant {plant} is {a[plant, j]}; "
                "actions must be finite, in [-1, 1]"
            )
        return a if out is None else out

    def check_batch(self, actions: npt.ArrayLike) -> FloatArray:
        """Validate actions of shape (n_plants, n) and clip them to [-1, 1]; same rules as check."""
        a = _as_float(actions, "actions")
        if a.ndim != 2 or a.shape[1] != self.n:
            raise ValueError(f"actions have shape {a.shape}, expected (n_plants, {self.n})")
        bad = np.argwhere(~np.isfinite(a))
        if bad.size:
            p, i = (int(v) for v in bad[0])
            raise ValueError(
                f"actions[{p}, {i}] (plant {p}, actuator {self.names[i]!r}) is {a[p, i]}; "
                "actions must be finite, in [-1, 1]"
            )
        return np.clip(a, -1.0, 1.0)

    def setpoints(self, action: FloatArray, practice: FloatArray) -> FloatArray:
        """Python convenience: ``to_setpoints`` for one checked action (no rate limit)."""
        out = np.empty(self.n, dtype=np.float64)
        to_setpoints(self.mode_code, action, practice, self.low, self.high, self.span, out)
        return out


@njit(cache=True)
def first_non_finite(actions: FloatArray) -> int:
    """Flat index of the first NaN/±inf in a (n_plants, n) array, or -1."""
    n_act = actions.shape[1]
    for i in range(actions.shape[0]):
        for j in range(n_act):
            if not math.isfinite(actions[i, j]):
                return i * n_act + j
    return -1


@njit(cache=True)
def copy_finite(src: npt.NDArray[np.floating], dst: FloatArray) -> int:
    """Copy actions (n_plants, n) into the C-contiguous float64 ``dst``; flat index of the first
    NaN/±inf, or -1. One branch-free pass (the common case), then a search only if one was bad."""
    flat_src, flat_dst = src.ravel(), dst.ravel()
    bad = 0
    for k in range(flat_src.shape[0]):
        v = flat_src[k]
        flat_dst[k] = v
        bad |= not (abs(v) < math.inf)  # ±inf and NaN
    return first_non_finite(dst) if bad else -1


def _as_float(value: npt.ArrayLike, what: str) -> FloatArray:
    """Convert to a float64 array, turning conversion failures into a ValueError."""
    try:
        return np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what} must be numeric, got {value!r}") from err


# inline="always" puts the kernels into the caller's numba IR, so passing arrays to them costs no
# reference counting (measured ~40 ns per call when left to LLVM's inliner).
@njit(cache=True, inline="always")
def setpoint(
    mode_code: int, action: float, practice: float, low: float, high: float, span: float
) -> float:
    """One actuator's set-point for an action (clipped to [-1, 1] here), clipped to [low, high].

    The rule every process core applies inside its compiled step (inlined by numba):
    adjust mode ``practice + a·span`` (a zero action gives ``practice`` bit for bit), absolute
    mode ``low + (a + 1)/2·(high − low)`` (a = ±1 reaches the limits to rounding; the clip keeps
    the set-point inside them).
    """
    a = min(max(action, -1.0), 1.0)
    if mode_code == MODE_ADJUST:
        target = practice + a * span
    else:
        target = low + 0.5 * (a + 1.0) * (high - low)
    return min(max(target, low), high)


@njit(cache=True, inline="always")
def rate_limited(previous: float, target: float, rate: float) -> float:
    """``target`` moved to within ``rate`` of ``previous`` (``target`` exactly when within
    reach, ``rate`` = inf: no limit)."""
    return min(max(target, previous - rate), previous + rate)


@njit(cache=True, inline="always")
def to_setpoints(
    mode_code: int,
    action: FloatArray,
    practice: FloatArray,
    low: FloatArray,
    high: FloatArray,
    span: FloatArray,
    out: FloatArray,
) -> None:
    """:func:`setpoint` for every actuator.

    Args:
        mode_code: MODE_ADJUST or MODE_ABSOLUTE.
        action: (n,) normalised actions (clipped to [-1, 1]).
        practice: (n,) standard-practice set-points (used in adjust mode), engineering units.
        low: (n,) lower limits. high: (n,) upper limits. span: (n,) adjust spans.
        out: (n,) set-points, engineering units; written.
    """
    for i in range(action.shape[0]):
        out[i] = setpoint(mode_code, action[i], practice[i], low[i], high[i], span[i])


@njit(cache=True, inline="always")
def apply_rate_limit(
    previous: FloatArray, target: FloatArray, rate: FloatArray, out: FloatArray
) -> None:
    """:func:`rate_limited` for every actuator (``out`` may alias ``previous``).

    Args:
        previous: (n,) set-points of the last step.
        target: (n,) requested set-points.
        rate: (n,) largest change per step (inf = none).
        out: (n,) limited set-points; equals ``target`` exactly when within reach.
    """
    for i in range(target.shape[0]):
        out[i] = rate_limited(previous[i], target[i], rate[i])
