"""Sensor models: what an instrument reports instead of the true process value.

Every observed signal of a plant passes through the same chain of parts, each configurable per
signal and each switched off by its zero default:

| order | part | models | example |
| --- | --- | --- | --- |
| 1 | transport delay | sample travel time, whole control steps | BOF off-gas analyser behind hood |
| 2 | first-order lag | instrument dynamics, exact discretisation | thermocouple, analyser cell |
| 3 | bias | calibration offset plus a random-walk drift | drifting flow meter |
| 4 | white noise | absolute + relative (fraction of value) | sub-lance T and carbon precision |
| 5 | sample-and-hold | refreshed only every few control steps | batch analyser, film gauge |
| 6 | clip | instrument range | a saturating pyrometer |
| 7 | dropout | missing reading: repeat last one, or NaN | lost telegram, calibration pause |
| 8 | stuck | frozen for the rest of the episode | a failed transmitter |

Clipping is applied before dropout and stuck, which only ever repeat an already clipped reading,
so the result equals clipping last; a NaN stays NaN. ``dropout_mode="nan"`` puts NaN into the
observation, which leaves a Gymnasium ``Box`` space: it is for estimator research only (an
estimator must handle missing data), never for training a plain policy.

Randomness stays outside the compiled code. Passing a ``np.random.Generator`` into an njit
function costs about 27 µs per call (ECOSYSTEM.md, pitfall 10), far above the ~100 ns per
plant-step budget, so the env draws all random inputs of a step with one
``envs.core.noise.draw_bits(rng, n_plants, bank.n_noise)`` call (16-bit words) and passes the
array in; the kernel turns a word into a standard normal by table look-up, and two words into a
uniform for dropout and stuck events (``uniform < p``, exact to 2⁻³²). Only enabled parts get
columns (``noise_cols``; -1 = disabled; an event part uses two consecutive words), so a bank
draws only what its model needs.

The compiled step works on a *block* of plants, signal by signal
(:func:`sensor_bank_step_block`): a process core fills a (signals × plants) array with the true
values of a block of its plants and gets the readings back in place. Going signal by signal
keeps each signal's parameters in registers and each part a tight pass over the block (measured
in development at 4096 plants: 0.5–0.6× the time of running every plant through the whole
chain); the block keeps the plants' rows in cache. :func:`sensor_bank_step` (one plant) and the
``*_batch`` helpers wrap it for tests and simple envs. The step raises nothing and is compiled
without reference counting (:mod:`envs.core.jit`).
Everything is plain math, so ``NUMBA_DISABLE_JIT=1`` gives identical numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt
from numba import njit

from envs.core.jit import Index, hot_loop
from envs.core.layout import Field, Layout
from envs.core.noise import WORDS_PER_EVENT, normal, uniform
from envs.core.specs import check_field, clip_value, merge_specs, spec_from_dict

# merge_specs is re-exported: the processes build their banks from default specs + overrides
__all__ = [
    "SensorBank",
    "SensorSpec",
    "SensorState",
    "merge_specs",
    "sensor_bank_advance",
    "sensor_bank_reset",
    "sensor_bank_step_block",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

MAX_DELAY_STEPS = 128  # e.g. a paint line's DFT gauge, 25–60 bodies behind the bells
DROPOUT_MODES = ("hold", "nan")

# Columns of SensorBank.cfg (one row per signal); dt-dependent values are precomputed. The
# offsets (o_*, ring_col) point into one plant's flat state row (the delay ring) at the state each
# part keeps: the lag output; the bias (constant + walk); [held value, steps since refresh]; [last
# reading, 1 once stuck]; the ring column. -1 = the part is off.
SENSOR_CFG = Layout(
    "sensor_cfg",
    [
        Field("noise_std", doc="absolute white-noise std, signal units"),
        Field("noise_rel", doc="relative white-noise std, fraction of |value|"),
        Field("bias", doc="constant bias, signal units"),
        Field("bias_walk_std", doc="random-walk bias std per control step, signal units"),
        Field("lag_a", doc="lag coefficient 1 - exp(-dt/lag_s); 1 = no lag"),
        Field("delay_steps", doc="transport delay, control steps"),
        Field("hold_steps", doc="sample-and-hold period, control steps (1 = every step)"),
        Field("dropout_p", doc="dropout probability per step"),
        Field("dropout_nan", doc="1 = output NaN on dropout, 0 = hold the last reading"),
        Field("stuck_p", doc="probability per step that the sensor sticks"),
        Field("low", doc="clip range low, signal units"),
        Field("high", doc="clip range high, signal units"),
        Field("dt", doc="control step the bank was built for, s"),
        Field("o_lag", doc="always"),
        Field("o_bias", doc="only with a bias walk"),
        Field("o_hold", doc="only with sample-and-hold"),
        Field("o_last", doc="with dropout or stuck"),
        Field("ring_col", doc="SensorState.ring column, with a delay"),
    ],
)
F = SENSOR_CFG.at
N_FIELDS = len(SENSOR_CFG)

# Columns of SensorBank.noise_cols: the first noise-row word each part reads (events read two).
SENSOR_NOISE_PARTS = Layout("sensor_noise_parts", ["white", "bias_walk", "dropout", "stuck"])
ZS = SENSOR_NOISE_PARTS.at
N_NOISE_PARTS = len(SENSOR_NOISE_PARTS)

# A batch's sensor state (SensorState) has two parts. ``fields`` (n_plants, width) holds, per
# plant, the state of the enabled small parts at the offsets in each signal's cfg row (a bank of
# plain noisy signals has none). ``ring`` (slots, n_plants, delayed signals) holds the transport
# delays, slot-major, with one ``head`` for the whole batch: a step writes slot ``head`` of every
# plant (contiguous memory, streamed) and reads each signal from the slot its delay points back
# to. A shared head is exact because a reset fills every slot of the plant with its value: any
# head position then returns that value for the first d steps and the value of step t − d after,
# as a ring of one plant would. (Per-plant rings in the plant rows measured ≈ 5× slower at 4096
# plants in development: every plant touched two cold cache lines per step.)
LAST_BLOCK = Layout(  # the state at a signal's F.o_last offset
    "last_block", [Field("last", doc="last delivered reading"), Field("stuck", doc="1 once stuck")]
)
HOLD_BLOCK = Layout(  # the state at a signal's F.o_hold offset
    "hold_block",
    [Field("held", doc="value held by sample-and-hold"), Field("count", doc="steps since refresh")],
)
SL, SH = LAST_BLOCK.at, HOLD_BLOCK.at


# ---------------------------------------------------------------- spec and bank (Python side)
@dataclass(frozen=True)
class SensorSpec:
    """Sensor model of one signal; every part is off at its default.

    Attributes:
        noise_std: Absolute white-noise std, signal units.
        noise_rel: Relative white-noise std, fraction of |value| (value after delay and lag).
        bias: Constant offset, signal units.
        bias_walk_std: Random-walk bias drift, std per control step, signal units.
        lag_s: First-order lag time constant, s (0 = none).
        delay_s: Transport delay, s; rounded to whole control steps, at most MAX_DELAY_STEPS.
        sample_period_s: Sample-and-hold period, s; rounded to control steps (0 = every step).
        dropout_prob: Per-step probability that a reading is missing, in [0, 1].
        dropout_mode: "hold" repeats the last reading; "nan" outputs NaN (leaves the Box
            observation space; for estimator research only).
        stuck_prob: Per-step probability that the sensor freezes at its last reading for the
            rest of the episode, in [0, 1].
        low: Lower end of the instrument range, signal units.
        high: Upper end of the instrument range, signal units.
    """

    noise_std: float = 0.0
    noise_rel: float = 0.0
    bias: float = 0.0
    bias_walk_std: float = 0.0
    lag_s: float = 0.0
    delay_s: float = 0.0
    sample_period_s: float = 0.0
    dropout_prob: float = 0.0
    dropout_mode: str = "hold"
    stuck_prob: float = 0.0
    low: float = -math.inf
    high: float = math.inf

    def __post_init__(self) -> None:
        """Validate ranges; errors name the field and its valid range."""
        for name in ("noise_std", "noise_rel", "bias_walk_std", "lag_s", "delay_s"):
            check_field("SensorSpec", name, getattr(self, name))
        check_field("SensorSpec", "sample_period_s", self.sample_period_s)
        check_field("SensorSpec", "bias", self.bias, -math.inf, math.inf)
        check_field("SensorSpec", "dropout_prob", self.dropout_prob, 0.0, 1.0)
        check_field("SensorSpec", "stuck_prob", self.stuck_prob, 0.0, 1.0)
        if self.dropout_mode not in DROPOUT_MODES:
            raise ValueError(
                f"SensorSpec.dropout_mode must be one of {DROPOUT_MODES}, got {self.dropout_mode!r}"
            )
        check_field("SensorSpec", "low", self.low, -math.inf, math.inf, finite=False)
        check_field("SensorSpec", "high", self.high, -math.inf, math.inf, finite=False)
        if not self.low < self.high:
            raise ValueError(f"SensorSpec.low must be < high, got low={self.low}, high={self.high}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SensorSpec:
        """Build from a mapping; unknown keys raise ``ValueError`` listing the valid ones."""
        return spec_from_dict(cls, data)


def _whole_steps(seconds: float, dt_s: float) -> int:
    """Round a duration to whole control steps (halves up; 1e-9 absorbs 0.3/0.1 = 2.999…)."""
    return math.floor(seconds / dt_s + 0.5 + 1e-9)


def _cfg_row(name: str, spec: SensorSpec, dt_s: float) -> list[float]:
    """One row of SensorBank.cfg: the spec with its dt-dependent values precomputed."""
    delay = _whole_steps(spec.delay_s, dt_s)
    if delay > MAX_DELAY_STEPS:
        raise ValueError(
            f"sensor {name!r}: delay_s={spec.delay_s} is {delay} control steps of {dt_s} s; at "
            f"most MAX_DELAY_STEPS={MAX_DELAY_STEPS} steps ({MAX_DELAY_STEPS * dt_s} s) allowed"
        )
    row = [0.0] * N_FIELDS
    row[F.noise_std], row[F.noise_rel] = spec.noise_std, spec.noise_rel
    row[F.bias], row[F.bias_walk_std] = spec.bias, spec.bias_walk_std
    # exact discretisation of dy/dt = (x - y)/τ with x held over the step; expm1 keeps small dt/τ
    row[F.lag_a] = -math.expm1(-dt_s / spec.lag_s) if spec.lag_s > 0.0 else 1.0
    row[F.delay_steps] = delay
    row[F.hold_steps] = max(1, _whole_steps(spec.sample_period_s, dt_s))
    row[F.dropout_p] = spec.dropout_prob
    row[F.dropout_nan] = 1.0 if spec.dropout_mode == "nan" else 0.0
    row[F.stuck_p] = spec.stuck_prob
    row[F.low], row[F.high], row[F.dt] = spec.low, spec.high, dt_s
    return row


def _noise_columns(specs: list[SensorSpec]) -> tuple[IntArray, int]:
    """Give each enabled random part its own noise words, in signal order; -1 when disabled.

    A normal (white noise, bias walk) takes one word, an event (dropout, stuck) two.
    """
    cols = np.full((len(specs), N_NOISE_PARTS), -1, dtype=np.int64)
    n = 0
    for j, s in enumerate(specs):
        parts = (
            (ZS.white, s.noise_std > 0 or s.noise_rel > 0, 1),
            (ZS.bias_walk, s.bias_walk_std > 0, 1),
            (ZS.dropout, s.dropout_prob > 0, WORDS_PER_EVENT),
            (ZS.stuck, s.stuck_prob > 0, WORDS_PER_EVENT),
        )
        for part, on, words in parts:
            if on:
                cols[j, part] = n
                n += words
    return cols, n


def _state_layout(cfg: FloatArray) -> tuple[int, int, int]:
    """Write the state offsets (``F_O_*``) and ring columns into ``cfg``; return the width of a
    plant's ``fields`` row and the ring's (slots, stride).

    A part gets state only when it is on: the lag, a bias walk, sample-and-hold, dropout or
    stuck (they share the last reading). The delayed signals share one ring of ``slots`` (the
    longest delay) slots of one value per delayed signal.
    """
    width = 0
    for j in range(cfg.shape[0]):
        r = cfg[j]
        r[F.o_lag : F.ring_col + 1] = -1.0
        for col, on, size in (
            (F.o_lag, r[F.lag_a] < 1.0, 1),
            (F.o_bias, r[F.bias_walk_std] > 0.0, 1),
            (F.o_hold, r[F.hold_steps] > 1.0, 2),
            (F.o_last, r[F.dropout_p] > 0.0 or r[F.stuck_p] > 0.0, 2),
        ):
            if on:
                r[col] = width
                width += size
    delayed = [j for j in range(cfg.shape[0]) if cfg[j, F.delay_steps] > 0.0]
    for column, j in enumerate(delayed):
        cfg[j, F.ring_col] = column
    slots = int(max((cfg[j, F.delay_steps] for j in delayed), default=0))
    return width, slots, len(delayed)


class SensorState(NamedTuple):
    """The sensor state of a batch of plants (see the layout notes above).

    Attributes:
        fields: float64 (n_plants, SensorBank.state_width): per-plant state of the small parts.
        ring: float64 (ring_slots, n_plants, ring_stride): the transport delays.
        head: int64 (1,): the ring slot the next step writes, shared by every plant.
    """

    fields: FloatArray
    ring: FloatArray
    head: IntArray


class SensorBank:
    """The sensors of one plant, compiled into arrays for the njit kernels.

    Args:
        specs: Ordered mapping signal name → ``SensorSpec`` (or a mapping of its fields). The
            order is the order of ``true_values`` and of the readings.
        dt_s: Control step, s.

    Attributes:
        names: Signal names, in order.
        dt_s: Control step, s.
        cfg: float64 (n_signals, N_FIELDS); columns ``F_*``.
        noise_cols: int64 (n_signals, 4); first noise-row word of [white, bias walk, dropout,
            stuck] (``Z_*``), -1 where the part is disabled.
        n_noise: 16-bit noise words one plant-step needs (``envs.core.noise.draw_bits``).
        state_width: Width of one plant's ``fields`` row: only the enabled parts keep state
            (offsets ``F_O_*`` in ``cfg``).
        ring_slots: Slots of the delay ring (the longest delay, control steps; 0 = no delay).
        ring_stride: Delayed signals (columns of the ring).

    >>> bank = SensorBank({"co_pct": {"noise_std": 0.2, "delay_s": 20.0}}, dt_s=2.0)
    >>> state = bank.new_state(4)
    >>> bank.n_noise, state.fields.shape, state.ring.shape
    (1, (4, 0), (10, 4, 1))
    """

    def __init__(self, specs: Mapping[str, SensorSpec | Mapping[str, Any]], dt_s: float) -> None:
        check_field("SensorBank", "dt_s", dt_s, 0.0, math.inf)
        if dt_s <= 0.0:
            raise ValueError(f"SensorBank.dt_s must be > 0, got {dt_s!r}")
        self.dt_s = float(dt_s)
        self.specs = {
            str(k): v if isinstance(v, SensorSpec) else SensorSpec.from_dict(v)
            for k, v in specs.items()
        }
        self.names: tuple[str, ...] = tuple(self.specs)
        rows = [_cfg_row(k, s, self.dt_s) for k, s in self.specs.items()]
        self.cfg: FloatArray = np.array(rows, dtype=np.float64).reshape(len(rows), N_FIELDS)
        self.noise_cols, self.n_noise = _noise_columns(list(self.specs.values()))
        self.state_width, self.ring_slots, self.ring_stride = _state_layout(self.cfg)

    @property
    def n_signals(self) -> int:
        """Number of signals."""
        return len(self.names)

    def index(self, name: str) -> int:
        """Position of signal ``name`` in the readings."""
        return self.names.index(name)

    def new_state(self, n_plants: int) -> SensorState:
        """Zeroed state of ``n_plants`` plants; reset every plant before stepping it."""
        return SensorState(
            np.zeros((n_plants, self.state_width)),
            np.zeros((self.ring_slots, n_plants, self.ring_stride)),
            np.zeros(1, dtype=np.int64),
        )

    def reset_readings(self, true_values: npt.ArrayLike) -> FloatArray:
        """The readings right after :func:`sensor_bank_reset` at ``true_values``: clip(x + bias)."""
        x = np.asarray(true_values, dtype=np.float64) + self.cfg[:, F.bias]
        lo, hi = self.cfg[:, F.low], self.cfg[:, F.high]
        return np.where(x < lo, lo, np.where(x > hi, hi, x))


# ---------------------------------------------------------------- compiled kernels
# inline="always" puts the reset into the caller's numba IR (a per-plant helper of the reset loops).
@njit(cache=True, inline="always")
def sensor_bank_reset(
    cfg: FloatArray, state: SensorState, i: Index, true_values: FloatArray
) -> None:
    """Reset plant ``i``'s sensors as if the process had sat at ``true_values`` forever.

    Args:
        cfg: ``SensorBank.cfg``.
        state: The batch's :class:`SensorState`; plant ``i``'s part is overwritten.
        i: Plant index.
        true_values: True values at reset, (n_signals,).

    Every delay-ring slot of the plant and the lag start at the true value; the held and last
    readings at clip(true + bias), noise-free; the bias walk, stuck flag and counters are cleared.
    """
    fields, ring = state.fields, state.ring
    for j in range(cfg.shape[0]):
        x = true_values[j]
        b = cfg[j, F.bias]
        o = int(cfg[j, F.o_lag])
        if o >= 0:
            fields[i, o] = x
        o = int(cfg[j, F.o_bias])
        if o >= 0:
            fields[i, o] = b
        o = int(cfg[j, F.o_hold])
        if o >= 0:
            fields[i, o + SH.held] = x + b
            fields[i, o + SH.count] = 0.0
        o = int(cfg[j, F.o_last])
        if o >= 0:
            fields[i, o + SL.last] = clip_value(x + b, cfg[j, F.low], cfg[j, F.high])
            fields[i, o + SL.stuck] = 0.0
        col = int(cfg[j, F.ring_col])
        if col >= 0:
            for slot in range(ring.shape[0]):
                ring[slot, i, col] = x


@hot_loop
def sensor_bank_step_block(
    cfg: FloatArray,
    noise_cols: IntArray,
    state: SensorState,
    idx: IntArray,
    m: Index,
    noise: npt.NDArray[np.uint16],
    r0: Index,
    col0: Index,
    dt_s: float,
    values: FloatArray,
) -> None:
    """Advance the sensors of a block of ``m`` plants by one control step.

    Args:
        cfg: ``SensorBank.cfg``.
        noise_cols: ``SensorBank.noise_cols``.
        state: The batch's :class:`SensorState`; the plants ``idx[:m]`` advance. The ring head
            moves only with :func:`sensor_bank_advance`, once per step after every block. A
            plant left out of a step must have been reset (Gymnasium's next-step autoreset).
        idx: Plant of each block column, int64 (≥ m entries).
        m: Plants in the block.
        noise: 16-bit noise words; block column k reads row ``r0 + k``, the bank's words
            starting at column ``col0`` (a process core puts its own words first).
        r0: Noise row of block column 0.
        col0: First noise column of this bank.
        dt_s: Control step the caller simulates, s; must equal the bank's ``dt_s`` (delay, lag
            and hold are precomputed for it). On a mismatch every reading is NaN: the step
            raises nothing (a raise would bring back the reference counting the hot loops
            avoid, :mod:`envs.core.jit`), and NaN observations fail the env's checks at once.
        values: (n_signals, ≥ m); column k holds the true values of plant ``idx[k]`` and is
            overwritten with its readings.

    Signal by signal, each enabled part is one pass over the block with the signal's
    parameters held in registers (the parts of a signal are the same for every plant, so the
    passes carry no per-plant branching on the configuration). The order is the chain of the
    module docstring. A stuck sensor's chain keeps running underneath its frozen reading; that
    hidden state is never seen again (a stuck sensor stays stuck until reset), so the readings
    equal those of a chain that stops.
    """
    n_sig = cfg.shape[0]
    dt_ok = n_sig == 0 or abs(dt_s - cfg[0, F.dt]) <= 1e-9 * cfg[0, F.dt]
    fields, ring = state.fields, state.ring
    slots, head = ring.shape[0], state.head[0]
    for j in range(n_sig):
        col = int(cfg[j, F.ring_col])
        if col >= 0:  # transport delay: write this step's slot, read the one d steps back
            d = int(cfg[j, F.delay_steps])
            back = head - d if head >= d else head - d + slots
            y = values[j]
            for k in range(m):
                i = idx[k]
                x = ring[back, i, col]  # read before write: back == head when d == slots
                ring[head, i, col] = y[k]
                y[k] = x
    for j in range(n_sig):
        y = values[j]
        o = int(cfg[j, F.o_lag])
        if o >= 0:  # lag a < 1 only: y + (x - y) need not equal x bit for bit
            a = cfg[j, F.lag_a]
            for k in range(m):
                i = idx[k]
                v = fields[i, o] + a * (y[k] - fields[i, o])
                fields[i, o] = v
                y[k] = v
        # bias (constant or walking) and white noise, whose relative part scales |x| after the
        # delay and lag; then sample-and-hold and the instrument range (clipped in the same pass
        # when the signal has no sample-and-hold)
        low, high = cfg[j, F.low], cfg[j, F.high]
        o_hold = int(cfg[j, F.o_hold])
        clip_now = o_hold < 0
        c_white, c_walk = noise_cols[j, ZS.white], noise_cols[j, ZS.bias_walk]
        std, rel, bias = cfg[j, F.noise_std], cfg[j, F.noise_rel], cfg[j, F.bias]
        if c_walk >= 0:
            o, walk = int(cfg[j, F.o_bias]), cfg[j, F.bias_walk_std]
            for k in range(m):
                i = idx[k]
                b = fields[i, o] + walk * normal(noise[r0 + k, col0 + c_walk])
                fields[i, o] = b
                x = y[k]
                v = x + b
                if c_white >= 0:
                    v += (std + rel * abs(x)) * normal(noise[r0 + k, col0 + c_white])
                y[k] = clip_value(v, low, high) if clip_now else v
        elif c_white >= 0:
            c = col0 + c_white
            for k in range(m):
                x = y[k]
                v = x + bias + (std + rel * abs(x)) * normal(noise[r0 + k, c])
                y[k] = clip_value(v, low, high) if clip_now else v
        elif bias != 0.0 or not clip_now:
            for k in range(m):
                v = y[k] + bias
                y[k] = clip_value(v, low, high) if clip_now else v
        else:
            for k in range(m):
                y[k] = clip_value(y[k], low, high)
        if not clip_now:  # refresh at steps n, 2n, … after reset, else hold; then clip
            hold = cfg[j, F.hold_steps]
            for k in range(m):
                i = idx[k]
                count = fields[i, o_hold + SH.count] + 1.0
                if count >= hold:
                    count = 0.0
                    fields[i, o_hold + SH.held] = y[k]
                fields[i, o_hold + SH.count] = count
                y[k] = clip_value(fields[i, o_hold + SH.held], low, high)
        o = int(cfg[j, F.o_last])
        if o >= 0:  # dropout and stuck repeat the last delivered (clipped) reading
            c_drop, c_stuck = noise_cols[j, ZS.dropout], noise_cols[j, ZS.stuck]
            p_drop, p_stuck = cfg[j, F.dropout_p], cfg[j, F.stuck_p]
            drop_nan = cfg[j, F.dropout_nan] != 0.0
            for k in range(m):
                i, r = idx[k], r0 + k
                if fields[i, o + SL.stuck] != 0.0:
                    y[k] = fields[i, o + SL.last]
                    continue
                c = col0 + c_drop
                if c_drop >= 0 and uniform(noise[r, c], noise[r, c + 1]) < p_drop:
                    y[k] = math.nan if drop_nan else fields[i, o + SL.last]
                else:
                    fields[i, o + SL.last] = y[k]
                c = col0 + c_stuck
                if c_stuck >= 0 and uniform(noise[r, c], noise[r, c + 1]) < p_stuck:
                    fields[i, o + SL.stuck] = 1.0  # freeze at the last delivered reading
                    y[k] = fields[i, o + SL.last]
        if not dt_ok:
            for k in range(m):
                y[k] = math.nan


@njit(cache=True, inline="always")
def sensor_bank_advance(state: SensorState) -> None:
    """Move the delay ring's head on, once per step after every block has stepped."""
    slots = state.ring.shape[0]
    if slots > 0:
        head = state.head[0] + 1
        state.head[0] = head if head < slots else 0


_FIRST_PLANT = np.zeros(1, dtype=np.int64)


@njit(cache=True)
def sensor_bank_step(
    cfg: FloatArray,
    noise_cols: IntArray,
    state: SensorState,
    true_values: FloatArray,
    noise_row: npt.NDArray[np.uint16],
    dt_s: float,
    out: FloatArray,
) -> None:
    """One step of a bank of one plant (``state`` from ``new_state(1)``): true values and
    readings (n_signals,), noise words (n_noise,) uint16."""
    values = np.empty((cfg.shape[0], 1))
    values[:, 0] = true_values
    words = noise_row.reshape((1, noise_row.shape[0]))
    one, zero = np.int64(1), np.int64(0)  # int64, not literals: one compiled block step
    sensor_bank_step_block(
        cfg, noise_cols, state, _FIRST_PLANT, one, words, zero, zero, dt_s, values
    )
    sensor_bank_advance(state)
    out[:] = values[:, 0]


@njit(cache=True)
def sensor_bank_reset_batch(cfg: FloatArray, state: SensorState, true_values: FloatArray) -> None:
    """``sensor_bank_reset`` for every plant: true_values (n, n_signals)."""
    for i in range(true_values.shape[0]):
        sensor_bank_reset(cfg, state, i, true_values[i])


@njit(cache=True)
def sensor_bank_step_batch(
    cfg: FloatArray,
    noise_cols: IntArray,
    state: SensorState,
    true_values: FloatArray,
    noise: npt.NDArray[np.uint16],
    dt_s: float,
    out: FloatArray,
) -> None:
    """One step of every plant as one block: true_values/out (n, n_signals), noise (n, n_noise)
    uint16 words."""
    n = true_values.shape[0]
    values = np.ascontiguousarray(true_values.T)
    zero = np.int64(0)
    sensor_bank_step_block(cfg, noise_cols, state, np.arange(n), n, noise, zero, zero, dt_s, values)
    sensor_bank_advance(state)
    out[:] = values.T
