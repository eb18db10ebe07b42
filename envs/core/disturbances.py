"""Disturbance processes: slow drifts of plant parameters, seeded from outside.

A drift is a scalar (a heat-loss factor, a lance-wear offset, scrap quality, booth humidity, paint
viscosity) that moves across an episode or a campaign of heats/bodies. Each ``DriftSpec`` combines:

| part | formula per step k | models |
| --- | --- | --- |
| Ornstein–Uhlenbeck | x' = m + (x − m)·e^{−θ} + σ·√((1 − e^{−2θ})/(2θ))·z | humidity wander |
| random steps | with probability p: + step_std·z | scrap batch change, new paint lot |
| linear trend | + trend·k | refractory and lance wear over a campaign |
| scheduled event | step or ramp from a given k | the "drift starts at heat 40" scenario |
| drawn event | per episode: event group, start, size, sign | "one policy for every condition" |

A drawn event is the scheduled event with its start, size and sign drawn per episode
(:class:`DriftEvents`, a scenario's ``drift_events``).

The OU update is the exact discretisation (no Euler error at any θ): its stationary std is
σ/√(2θ), and θ → 0 gives the random walk σ·z. θ and σ are per step (or per heat, if the plant
steps the bank once per heat). A drift starts at its mean (deterministic), so scenarios with the
same seed differ only through the noise drawn afterwards; the output is clipped to [low, high]
(the internal OU and step states are not, so clipping does not bias the process itself).

Randomness: as for sensors (see ``envs.core.sensors``), the env draws
``envs.core.noise.draw_bits(rng, n_plants, bank.n_noise)`` once per step (16-bit words) and only
enabled parts get words: one for an OU innovation (a table normal), two for the step event's
uniform, one for the step size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Integral
from typing import Any

import numpy as np
import numpy.typing as npt
from numba import njit

from envs.core.jit import Index, hot_loop
from envs.core.layout import Field, Layout
from envs.core.noise import WORDS_PER_EVENT, normal, uniform
from envs.core.specs import check_field, clip_value, spec_from_dict

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Columns of DriftBank.cfg (one row per drift).
DRIFT_CFG = Layout(
    "drift_cfg",
    [
        Field("mean"),
        Field("ou_decay", doc="e^{-θ}"),
        Field("ou_scale", doc="σ·√((1 − e^{−2θ})/(2θ)), the std of one OU innovation"),
        Field("step_p", doc="probability of a random step per step"),
        Field("step_std"),
        Field("trend"),
        Field("event_start"),
        Field("event_ramp"),
        Field("event_mag"),
        Field("low"),
        Field("high"),
    ],
)
DC = DRIFT_CFG.at
N_DRIFT_FIELDS = len(DRIFT_CFG)

# Columns of DriftBank.noise_cols: first noise-row word of each part.
DRIFT_NOISE_PARTS = Layout("drift_noise_parts", ["ou", "step_u", "step_size"])
ZD = DRIFT_NOISE_PARTS.at
N_DRIFT_NOISE_PARTS = len(DRIFT_NOISE_PARTS)

# Per-drift state.
DRIFT_STATE = Layout(
    "drift_state",
    [
        Field("ou", doc="OU deviation from the mean"),
        Field("step", doc="sum of random steps so far"),
        Field("k", doc="steps since reset"),
        Field(
            "ev_start", doc="this episode's scheduled-event start (cfg's, or drawn: DriftEvents)"
        ),
        Field("ev_mag", doc="this episode's scheduled-event magnitude, drift units"),
    ],
)
XD = DRIFT_STATE.at
DRIFT_STATE_WIDTH = len(DRIFT_STATE)


# ---------------------------------------------------------------- scalar building blocks
@njit(cache=True)
def ou_coefficients(theta_per_step: float, sigma: float) -> tuple[float, float]:
    """Exact OU discretisation over one step.

    Args:
        theta_per_step: Mean-reversion rate θ, 1/step (≥ 0).
        sigma: Diffusion σ, units/√step.

    Returns:
        (decay e^{−θ}, innovation std σ·√((1 − e^{−2θ})/(2θ))); θ = 0 gives (1, σ).
    """
    if theta_per_step <= 0.0:
        return 1.0, sigma
    # expm1 keeps (1 − e^{−2θ})/(2θ) accurate for small θ, where it tends to 1
    return math.exp(-theta_per_step), sigma * math.sqrt(
        -math.expm1(-2.0 * theta_per_step) / (2.0 * theta_per_step)
    )


@njit(cache=True)
def ou_step(x: float, mean: float, theta_per_step: float, sigma: float, z: float) -> float:
    """One exact Ornstein–Uhlenbeck step: mean + (x − mean)e^{−θ} + σ√((1−e^{−2θ})/(2θ))·z."""
    decay, scale = ou_coefficients(theta_per_step, sigma)
    return mean + (x - mean) * decay + scale * z


@njit(cache=True)
def random_step(x: float, prob: float, step_std: float, u: float, size_z: float) -> float:
    """With probability ``prob`` (the event u < prob, u uniform) return x + step_std·size_z."""
    if u < prob:
        return x + step_std * size_z
    return x


@njit(cache=True, inline="always")
def scheduled_offset(k: float, start: float, ramp: float, magnitude: float) -> float:
    """Offset of a scheduled event at step (or heat) ``k``.

    Args:
        k: Step index since reset.
        start: First affected step; negative = no event.
        ramp: 0 = a permanent step of ``magnitude`` from ``start``; r > 0 = a linear ramp reaching
            ``magnitude`` after r steps (``magnitude·(k − start + 1)/r``, so ramp 1 equals a step),
            then held.
        magnitude: Final offset, drift units.

    Returns:
        The offset at ``k``.
    """
    if start < 0 or k < start:
        return 0.0
    if ramp <= 0:
        return magnitude
    frac = (k - start + 1.0) / ramp
    return magnitude if frac >= 1.0 else magnitude * frac


# ---------------------------------------------------------------- spec and bank (Python side)
@dataclass(frozen=True)
class DriftSpec:
    """One drifting quantity; every part is off at its default.

    Attributes:
        mean: Nominal value, drift units (e.g. a multiplier of 1.0).
        ou_theta: OU mean-reversion rate, 1/step (0 with ou_sigma > 0 = random walk).
        ou_sigma: OU diffusion, drift units/√step; stationary std = ou_sigma/√(2·ou_theta).
        step_prob: Probability of a random step per step, in [0, 1].
        step_std: Std of a random step's size, drift units.
        trend_per_step: Linear trend, drift units per step.
        event_start: Step of a scheduled event; -1 = none.
        event_ramp: 0 = permanent step; r > 0 = ramp over r steps, then hold.
        event_magnitude: Final offset of the scheduled event, drift units.
        low: Clip range low, drift units.
        high: Clip range high, drift units.
    """

    mean: float = 1.0
    ou_theta: float = 0.0
    ou_sigma: float = 0.0
    step_prob: float = 0.0
    step_std: float = 0.0
    trend_per_step: float = 0.0
    event_start: int = -1
    event_ramp: int = 0
    event_magnitude: float = 0.0
    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self) -> None:
        """Validate ranges; errors name the field and its valid range."""
        for name in ("mean", "trend_per_step", "event_magnitude"):
            check_field("DriftSpec", name, getattr(self, name), -math.inf, math.inf)
        for name in ("ou_theta", "ou_sigma", "step_std"):
            check_field("DriftSpec", name, getattr(self, name))
        check_field("DriftSpec", "step_prob", self.step_prob, 0.0, 1.0)
        for name, low in (("event_start", -1), ("event_ramp", 0)):
            value = getattr(self, name)
            if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
                raise ValueError(f"DriftSpec.{name} must be an integer ≥ {low}, got {value!r}")
        check_field("DriftSpec", "low", self.low, -math.inf, math.inf, finite=False)
        check_field("DriftSpec", "high", self.high, -math.inf, math.inf, finite=False)
        if not self.low < self.high:
            raise ValueError(f"DriftSpec.low must be < high, got low={self.low}, high={self.high}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftSpec:
        """Build from a mapping; unknown keys raise ``ValueError`` listing the valid ones."""
        return spec_from_dict(cls, data)


def _cfg_row(spec: DriftSpec) -> list[float]:
    """One row of DriftBank.cfg, with the OU coefficients and step threshold precomputed."""
    row = [0.0] * N_DRIFT_FIELDS
    row[DC.mean] = spec.mean
    row[DC.ou_decay], row[DC.ou_scale] = ou_coefficients(spec.ou_theta, spec.ou_sigma)
    row[DC.step_p], row[DC.step_std] = spec.step_prob, spec.step_std
    row[DC.trend] = spec.trend_per_step
    row[DC.event_start], row[DC.event_ramp] = spec.event_start, spec.event_ramp
    row[DC.event_mag], row[DC.low], row[DC.high] = spec.event_magnitude, spec.low, spec.high
    return row


def _noise_columns(specs: list[DriftSpec]) -> tuple[IntArray, int]:
    """First words of [OU, step uniform (2 words), step size]; -1 where a part cannot change the
    value."""
    cols = np.full((len(specs), N_DRIFT_NOISE_PARTS), -1, dtype=np.int64)
    n = 0
    for j, s in enumerate(specs):
        # the OU deviation starts at 0, so without σ it stays 0 whatever θ is
        if s.ou_sigma > 0:
            cols[j, ZD.ou], n = n, n + 1
        if s.step_prob > 0 and s.step_std > 0:
            cols[j, ZD.step_u], cols[j, ZD.step_size] = n, n + WORDS_PER_EVENT
            n += WORDS_PER_EVENT + 1
    return cols, n


class DriftBank:
    """The drifting quantities of one plant, compiled into arrays for the njit kernels.

    Args:
        specs: Ordered mapping drift name → ``DriftSpec`` (or a mapping of its fields).

    Attributes:
        names: Drift names, in order.
        cfg: float64 (n_drifts, N_DRIFT_FIELDS); columns ``D_*``.
        noise_cols: int64 (n_drifts, 3); first word of [OU, step uniform, step size] (``Z_*``),
            or -1.
        n_noise: 16-bit noise words one plant-step needs (``envs.core.noise.draw_bits``).
        state_width: ``DRIFT_STATE_WIDTH`` ([OU deviation, step sum, k, event start, event size]).

    >>> wear = {"trend_per_step": 2e-3, "event_start": 40, "event_magnitude": 0.1}
    >>> bank = DriftBank({"heat_loss": {"ou_theta": 0.05, "ou_sigma": 0.01}, "lance_wear": wear})
    >>> bank.n_noise, bank.new_state(8).shape
    (1, (8, 2, 5))
    """

    def __init__(self, specs: Mapping[str, DriftSpec | Mapping[str, Any]]) -> None:
        self.specs = {
            str(k): v if isinstance(v, DriftSpec) else DriftSpec.from_dict(v)
            for k, v in specs.items()
        }
        self.names: tuple[str, ...] = tuple(self.specs)
        rows = [_cfg_row(s) for s in self.specs.values()]
        self.cfg: FloatArray = np.array(rows, dtype=np.float64).reshape(len(rows), N_DRIFT_FIELDS)
        self.noise_cols, self.n_noise = _noise_columns(list(self.specs.values()))
        self.state_width = DRIFT_STATE_WIDTH

    @property
    def n_drifts(self) -> int:
        """Number of drifting quantities."""
        return len(self.names)

    def index(self, name: str) -> int:
        """Position of drift ``name`` in the outputs."""
        return self.names.index(name)

    def new_state(self, n_plants: int) -> FloatArray:
        """Zeroed state, float64 (n_plants, n_drifts, DRIFT_STATE_WIDTH)."""
        return np.zeros((n_plants, self.n_drifts, DRIFT_STATE_WIDTH), dtype=np.float64)


# Uniforms one episode's DriftEvents draw takes from the plant's stream, in this order.
EVENT_DRAWS = Layout("event_draws", ["group", "start", "size", "sign"])
EV = EVENT_DRAWS.at
N_EVENT_DRAWS = len(EVENT_DRAWS)


@dataclass(frozen=True)
class DriftEvents:
    """Per-episode random timing, size and sign of a drift bank's scheduled events.

    Without it, a scheduled event starts at its spec's ``event_start`` in every episode, so a
    policy that observes the unit index can memorise when the drift comes. With it, every
    episode draws (from the plant's own stream, at reset: uniforms ``EVENT_DRAWS``):

    | draw | distribution | effect |
    | --- | --- | --- |
    | group | none with ``p_none``, else one of ``groups`` uniformly | only its events run |
    | start S | integer uniform in ``start`` = [lo, hi] (units: heats, bodies) | group starts at S |
    | size | uniform in ``size`` = [lo, hi] | × every event magnitude of the group |
    | sign | −1 with ``p_flip`` | × every event magnitude of the group |

    Drift j of the chosen group starts at S + (event_start_j − min event_start of the group), so
    a group keeps its internal timing (the paint drift set's dry front 50 bodies after its lot);
    its ramp, OU, steps and trend are its spec's. Events of the other groups are off. Every group
    member must have a scheduled event from unit ≥ 1, and ``start`` ≥ 1: the first unit of an
    episode is undisturbed by events whether they are drawn or not, so the reset's unit-0 values
    never depend on the draw.

    Args:
        groups: group name → drift names (e.g. ``{"lots": ["vs_clear", "visc_base"]}``).
        start: [lo, hi] inclusive range of the group's start S, units (1 ≤ lo ≤ hi).
        size: [lo, hi] range of the magnitude multiplier (0 ≤ lo ≤ hi); default [1, 1].
        p_none: probability of an episode without any event, in [0, 1].
        p_flip: probability that the magnitudes' sign is flipped, in [0, 1].
    """

    groups: Mapping[str, tuple[str, ...]]
    start: tuple[int, int]
    size: tuple[float, float] = (1.0, 1.0)
    p_none: float = 0.0
    p_flip: float = 0.0

    def __post_init__(self) -> None:
        """Validate ranges; errors name the field and its valid range."""
        if not self.groups or any(not members for members in self.groups.values()):
            raise ValueError(f"DriftEvents.groups must name ≥ 1 non-empty group, got {self.groups}")
        lo, hi = self.start
        if not (isinstance(lo, Integral) and isinstance(hi, Integral) and 1 <= lo <= hi):
            raise ValueError(f"DriftEvents.start must be integers 1 ≤ lo ≤ hi, got {self.start}")
        if not 0.0 <= self.size[0] <= self.size[1] < math.inf:
            raise ValueError(f"DriftEvents.size must be 0 ≤ lo ≤ hi < inf, got {self.size}")
        check_field("DriftEvents", "p_none", self.p_none, 0.0, 1.0)
        check_field("DriftEvents", "p_flip", self.p_flip, 0.0, 1.0)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftEvents:
        """Build from a scenario's ``drift_events`` mapping; unknown keys list the valid ones."""
        valid = ("groups", "start", "size", "p_none", "p_flip")
        unknown = sorted(set(data) - set(valid))
        if unknown:
            raise ValueError(f"unknown drift_events key(s) {unknown}; valid keys: {list(valid)}")
        if "groups" not in data or "start" not in data:
            raise ValueError("drift_events needs 'groups' and 'start'")
        pair = {k: tuple(data[k]) for k in ("start", "size") if k in data}
        if any(len(v) != 2 for v in pair.values()):
            raise ValueError(f"drift_events start and size are [lo, hi] pairs, got {pair}")
        groups = {str(g): tuple(map(str, m)) for g, m in dict(data["groups"]).items()}
        rest = {k: float(data[k]) for k in ("p_none", "p_flip") if k in data}
        return cls(groups=groups, **pair, **rest)  # type: ignore[arg-type]

    def compile(self, bank: DriftBank) -> tuple[IntArray, FloatArray]:
        """(members, offsets): members (n_groups, n_drifts) 0/1 of each group's drifts, offsets
        (n_drifts,) of each event start from its group's earliest; errors name unknown drifts and
        drifts without an event from unit ≥ 1."""
        members = np.zeros((len(self.groups), bank.n_drifts), dtype=np.int64)
        offsets = np.zeros(bank.n_drifts)
        for g, (name, drifts) in enumerate(self.groups.items()):
            unknown = sorted(set(drifts) - set(bank.names))
            if unknown:
                raise ValueError(
                    f"drift_events group {name!r}: unknown drift(s) {unknown}; "
                    f"valid drifts: {list(bank.names)}"
                )
            starts = [bank.specs[d].event_start for d in drifts]
            if min(starts) < 1:
                raise ValueError(
                    f"drift_events group {name!r}: every drift needs a scheduled event from "
                    f"unit ≥ 1 (event_start), got {dict(zip(drifts, starts, strict=True))}"
                )
            for d, s0 in zip(drifts, starts, strict=True):
                members[g, bank.index(d)] = 1
                offsets[bank.index(d)] = s0 - min(starts)
        return members, offsets

    def apply(self, bank: DriftBank, states: FloatArray, idx: IntArray, u: FloatArray) -> IntArray:
        """Draw the events of the plants ``idx`` whose drifts were just reset.

        Args:
            bank: The plants' drift bank.
            states: Drift states of every plant, (n, n_drifts, DRIFT_STATE_WIDTH); the event
                columns of ``idx`` are overwritten.
            idx: Plants starting an episode, int64.
            u: Uniforms in (0, 1), (len(idx), N_EVENT_DRAWS), columns ``EVENT_DRAWS``.

        Returns:
            Each plant's group start S (units from 0), or -1 for an episode without events.
        """
        members, offsets = self.compile(bank)
        n_groups = members.shape[0]
        lo, hi = self.start
        out = np.full(idx.size, -1, dtype=np.int64)
        mags = np.array([bank.specs[d].event_magnitude for d in bank.names])
        for k, i in enumerate(idx):
            states[i, :, XD.ev_start] = -1.0  # events off unless this episode's group has them
            g_u = u[k, EV.group]
            if g_u < self.p_none:
                continue
            # the rest of (p_none, 1) picks the group uniformly
            g = min(int((g_u - self.p_none) / (1.0 - self.p_none) * n_groups), n_groups - 1)
            s = lo + min(int(u[k, EV.start] * (hi - lo + 1)), hi - lo)
            scale = self.size[0] + (self.size[1] - self.size[0]) * u[k, EV.size]
            sign = -1.0 if u[k, EV.sign] < self.p_flip else 1.0
            on = members[g] == 1
            states[i, on, XD.ev_start] = s + offsets[on]
            states[i, on, XD.ev_mag] = sign * scale * mags[on]
            out[k] = s
        return out


# ---------------------------------------------------------------- compiled kernels (one plant)
# inline="always" puts these into the caller's numba IR, so passing arrays to them costs no
# reference counting (measured ~40 ns per call when left to LLVM's inliner at 4096 plants).
@njit(cache=True, inline="always")
def _drift_value(cfg: FloatArray, state: FloatArray, j: int) -> float:
    """clip(mean + OU deviation + step sum + trend·k + scheduled offset(k))."""
    k = state[j, XD.k]
    x = cfg[j, DC.mean] + state[j, XD.ou] + state[j, XD.step] + cfg[j, DC.trend] * k
    # the event's start and size are per plant and episode (DriftEvents may redraw them at reset)
    x += scheduled_offset(k, state[j, XD.ev_start], cfg[j, DC.event_ramp], state[j, XD.ev_mag])
    return clip_value(x, cfg[j, DC.low], cfg[j, DC.high])


@njit(cache=True, inline="always")
def drift_bank_reset(cfg: FloatArray, state: FloatArray, out: FloatArray) -> None:
    """Reset one plant's drifts to their means at k = 0 and write the values at k = 0.

    Args:
        cfg: ``DriftBank.cfg``.
        state: One plant's state, (n_drifts, DRIFT_STATE_WIDTH); overwritten.
        out: Drift values at k = 0, (n_drifts,); written.
    """
    for j in range(cfg.shape[0]):
        state[j, XD.ou] = 0.0
        state[j, XD.step] = 0.0
        state[j, XD.k] = 0.0
        state[j, XD.ev_start] = cfg[j, DC.event_start]
        state[j, XD.ev_mag] = cfg[j, DC.event_mag]
        out[j] = _drift_value(cfg, state, j)


@hot_loop
def drift_bank_step_block(
    cfg: FloatArray,
    noise_cols: IntArray,
    state: FloatArray,
    idx: IntArray,
    m: Index,
    noise: npt.NDArray[np.uint16],
    r0: Index,
    col0: Index,
    values: FloatArray,
) -> None:
    """Advance the drifts of a block of ``m`` plants from step k to k + 1.

    Args:
        cfg: ``DriftBank.cfg``.
        noise_cols: ``DriftBank.noise_cols``.
        state: Drift states of every plant, (n_plants, n_drifts, DRIFT_STATE_WIDTH); the
            plants ``idx[:m]`` advance.
        idx: Plant of each block column, int64 (≥ m entries).
        m: Plants in the block.
        noise: 16-bit noise words; block column k reads row ``r0 + k``, the bank's words
            starting at column ``col0``.
        r0: Noise row of block column 0.
        col0: First noise column of this bank.
        values: (n_drifts, ≥ m); column k receives plant ``idx[k]``'s drift values at k + 1.

    Drift by drift, one pass over the block with the drift's parameters in registers (as the
    sensor block, :func:`envs.core.sensors.sensor_bank_step_block`).
    """
    for j in range(cfg.shape[0]):
        c_ou, c_step = noise_cols[j, ZD.ou], noise_cols[j, ZD.step_u]
        decay, scale = cfg[j, DC.ou_decay], cfg[j, DC.ou_scale]
        step_p, step_std = cfg[j, DC.step_p], cfg[j, DC.step_std]
        c_size = noise_cols[j, ZD.step_size]
        for k in range(m):
            i, r = idx[k], r0 + k
            state[i, j, XD.k] += 1.0
            if c_ou >= 0:
                innovation = scale * normal(noise[r, col0 + c_ou])
                state[i, j, XD.ou] = state[i, j, XD.ou] * decay + innovation
            if c_step >= 0:
                c = col0 + c_step
                if uniform(noise[r, c], noise[r, c + 1]) < step_p:
                    state[i, j, XD.step] += step_std * normal(noise[r, col0 + c_size])
            values[j, k] = _drift_value(cfg, state[i], j)


_FIRST_PLANT = np.zeros(1, dtype=np.int64)


@njit(cache=True)
def drift_bank_step(
    cfg: FloatArray,
    noise_cols: IntArray,
    state: FloatArray,
    noise_row: npt.NDArray[np.uint16],
    out: FloatArray,
) -> None:
    """:func:`drift_bank_step_block` for one plant: its state (n_drifts, DRIFT_STATE_WIDTH), noise
    words (n_noise,) uint16, and drift values (n_drifts,) at k + 1."""
    values = np.empty((cfg.shape[0], 1))
    states = state.reshape((1, state.shape[0], state.shape[1]))
    words = noise_row.reshape((1, noise_row.shape[0]))
    one, zero = np.int64(1), np.int64(0)  # int64, not literals: one compiled block step
    drift_bank_step_block(cfg, noise_cols, states, _FIRST_PLANT, one, words, zero, zero, values)
    out[:] = values[:, 0]


@njit(cache=True)
def drift_bank_reset_batch(cfg: FloatArray, states: FloatArray, out: FloatArray) -> None:
    """``drift_bank_reset`` for every plant: states (n, n_drifts, DRIFT_STATE_WIDTH), out (n,
    n_drifts)."""
    for i in range(states.shape[0]):
        drift_bank_reset(cfg, states[i], out[i])


@njit(cache=True)
def drift_bank_step_batch(
    cfg: FloatArray,
    noise_cols: IntArray,
    states: FloatArray,
    noise: npt.NDArray[np.uint16],
    out: FloatArray,
) -> None:
    """:func:`drift_bank_step_block` for every plant as one block: noise (n, n_noise) uint16
    words, out (n, n_drifts)."""
    n = states.shape[0]
    values = np.empty((cfg.shape[0], n))
    zero = np.int64(0)
    drift_bank_step_block(cfg, noise_cols, states, np.arange(n), n, noise, zero, zero, values)
    out[:] = values.T
