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

Compiled functions work on one plant (the plant kernels call them inside their own loops); the
``*_batch`` helpers loop over plants for tests and simple envs. The step kernel is one flat loop
and raises nothing: numba wraps calls that pass arrays, and code that can raise, in atomic
reference counting that it cannot prune, which measured ~40 ns per signal (vs ~5 ns flat).
Everything is plain math, so ``NUMBA_DISABLE_JIT=1`` gives identical numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields
from numbers import Real
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
from numba import njit

from envs.core.noise import WORDS_PER_EVENT, normal, uniform

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
T = TypeVar("T")

MAX_DELAY_STEPS = 128  # e.g. a paint line's DFT gauge, 25–60 bodies behind the bells
DROPOUT_MODES = ("hold", "nan")

# Columns of SensorBank.cfg (one row per signal); dt-dependent values are precomputed.
F_NOISE_STD = 0  # absolute white-noise std, signal units
F_NOISE_REL = 1  # relative white-noise std, fraction of |value|
F_BIAS = 2  # constant bias, signal units
F_BIAS_WALK_STD = 3  # random-walk bias std per control step, signal units
F_LAG_A = 4  # lag coefficient 1 - exp(-dt/lag_s); 1 = no lag
F_DELAY_STEPS = 5  # transport delay, control steps
F_HOLD_STEPS = 6  # sample-and-hold period, control steps (1 = every step)
F_DROPOUT_P = 7  # dropout probability per step
F_DROPOUT_NAN = 8  # 1 = output NaN on dropout, 0 = hold the last reading
F_STUCK_P = 9  # probability per step that the sensor sticks
F_LOW = 10  # clip range low, signal units
F_HIGH = 11  # clip range high, signal units
F_DT = 12  # control step the bank was built for, s
# Offsets into one plant's flat state row of the state each part keeps; -1 = the part is off
F_O_LAG = 13  # [lag filter output]
F_O_BIAS = 14  # [current bias (constant + walk)], only with a bias walk
F_O_HOLD = 15  # [held value, steps since the last refresh], only with sample-and-hold
F_O_LAST = 16  # [last delivered reading (clipped), 1 once stuck], with dropout or stuck
F_O_HEAD = 17  # [ring-buffer position of the oldest entry], with a transport delay
F_O_BUF = 18  # first of the delay ring buffer's F_DELAY_STEPS entries
N_FIELDS = 19

# Columns of SensorBank.noise_cols: the first noise-row word each part reads (events read two).
Z_WHITE = 0
Z_BIAS_WALK = 1
Z_DROPOUT = 2
Z_STUCK = 3
N_NOISE_PARTS = 4

# One plant's sensor state is a flat float64 row (SensorBank.state_width): each signal keeps only
# the state of its enabled parts, at the offsets in its cfg row (small fields of every signal
# first, in signal order, then the delay ring buffers), so a bank of mostly plain noisy signals
# is a few cache lines per plant, not n_signals × (fields + longest delay).
S_LAST = 0  # within the F_O_LAST block: last delivered reading
S_STUCK = 1  # within the F_O_LAST block: 1 once the sensor is stuck
S_HELD = 0  # within the F_O_HOLD block: value held by sample-and-hold
S_COUNT = 1  # within the F_O_HOLD block: steps since the last refresh


# ---------------------------------------------------------------- helpers shared with disturbances
def spec_from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build a spec dataclass from a mapping, rejecting unknown keys.

    Args:
        cls: A dataclass type.
        data: Field values by name (e.g. a YAML / Hydra node).

    Returns:
        The constructed ``cls`` instance.

    Raises:
        ValueError: If ``data`` holds a key that is not a field; the message lists the valid ones.
    """
    valid = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(str(key) for key in data if key not in valid)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown key(s) {unknown}; valid keys are {valid}")
    return cls(**data)


def merge_specs(
    defaults: Mapping[str, T],
    overrides: Mapping[str, Mapping[str, Any]] | None,
    spec_cls: type[T],
    what: str,
) -> dict[str, T]:
    """Default specs with per-name field overrides (a scenario's sensor faults or drifts).

    Args:
        defaults: Spec per name (``SensorSpec`` or ``DriftSpec``), in order.
        overrides: ``{name: {field: value}}``; the named fields replace the default's.
        spec_cls: The spec class (for ``from_dict`` validation).
        what: Word used in the error message (``"sensor"``, ``"drift"``).

    Raises:
        ValueError: For an unknown name (listing the valid ones) or field.
    """
    merged = dict(defaults)
    for name, fields_ in (overrides or {}).items():
        if name not in merged:
            raise ValueError(f"unknown {what} {name!r}; valid {what}s: {sorted(merged)}")
        base = merged[name]
        current = {f.name: getattr(base, f.name) for f in fields(base)}  # type: ignore[arg-type]
        merged[name] = spec_from_dict(spec_cls, {**current, **dict(fields_)})
    return merged


def check_field(
    owner: str, name: str, value: Any, low: float = 0.0, high: float = math.inf, finite: bool = True
) -> None:
    """Raise ``ValueError`` naming ``owner.name`` unless ``value`` is a number in [low, high].

    Args:
        owner: Class name used in the message.
        name: Field name used in the message.
        value: Value to check.
        low: Smallest allowed value.
        high: Largest allowed value.
        finite: Whether ±inf is rejected.
    """
    ok = isinstance(value, Real) and not isinstance(value, bool)
    ok = ok and low <= value <= high and (math.isfinite(value) or not finite)
    if not ok:
        kind = "a finite number" if finite else "a number"
        raise ValueError(f"{owner}.{name} must be {kind} in [{low}, {high}], got {value!r}")


@njit(cache=True)
def clip_value(x: float, low: float, high: float) -> float:
    """Clip ``x`` to [low, high] with comparisons only, so a NaN passes through unchanged."""
    if x < low:
        return low
    if x > high:
        return high
    return x


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
    row[F_NOISE_STD], row[F_NOISE_REL] = spec.noise_std, spec.noise_rel
    row[F_BIAS], row[F_BIAS_WALK_STD] = spec.bias, spec.bias_walk_std
    # exact discretisation of dy/dt = (x - y)/τ with x held over the step; expm1 keeps small dt/τ
    row[F_LAG_A] = -math.expm1(-dt_s / spec.lag_s) if spec.lag_s > 0.0 else 1.0
    row[F_DELAY_STEPS] = delay
    row[F_HOLD_STEPS] = max(1, _whole_steps(spec.sample_period_s, dt_s))
    row[F_DROPOUT_P] = spec.dropout_prob
    row[F_DROPOUT_NAN] = 1.0 if spec.dropout_mode == "nan" else 0.0
    row[F_STUCK_P] = spec.stuck_prob
    row[F_LOW], row[F_HIGH], row[F_DT] = spec.low, spec.high, dt_s
    return row


def _noise_columns(specs: list[SensorSpec]) -> tuple[IntArray, int]:
    """Give each enabled random part its own noise words, in signal order; -1 when disabled.

    A normal (white noise, bias walk) takes one word, an event (dropout, stuck) two.
    """
    cols = np.full((len(specs), N_NOISE_PARTS), -1, dtype=np.int64)
    n = 0
    for j, s in enumerate(specs):
        parts = (
            (Z_WHITE, s.noise_std > 0 or s.noise_rel > 0, 1),
            (Z_BIAS_WALK, s.bias_walk_std > 0, 1),
            (Z_DROPOUT, s.dropout_prob > 0, WORDS_PER_EVENT),
            (Z_STUCK, s.stuck_prob > 0, WORDS_PER_EVENT),
        )
        for part, on, words in parts:
            if on:
                cols[j, part] = n
                n += words
    return cols, n


def _state_layout(cfg: FloatArray) -> int:
    """Write the state offsets (``F_O_*``) into ``cfg`` and return the state row's width.

    A part gets state only when it is on: the lag, a bias walk, sample-and-hold, dropout or
    stuck (they share the last reading), a delay (head; its ring buffer goes after the small
    fields of every signal).
    """
    width = 0
    for j in range(cfg.shape[0]):
        r = cfg[j]
        r[F_O_LAG : F_O_BUF + 1] = -1.0
        for col, on, size in (
            (F_O_LAG, r[F_LAG_A] < 1.0, 1),
            (F_O_BIAS, r[F_BIAS_WALK_STD] > 0.0, 1),
            (F_O_HOLD, r[F_HOLD_STEPS] > 1.0, 2),
            (F_O_LAST, r[F_DROPOUT_P] > 0.0 or r[F_STUCK_P] > 0.0, 2),
            (F_O_HEAD, r[F_DELAY_STEPS] > 0.0, 1),
        ):
            if on:
                r[col] = width
                width += size
    for j in range(cfg.shape[0]):
        if cfg[j, F_DELAY_STEPS] > 0.0:
            cfg[j, F_O_BUF] = width
            width += int(cfg[j, F_DELAY_STEPS])
    return width


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
        state_width: Width of one plant's flat state row: only the enabled parts keep state
            (offsets ``F_O_*`` in ``cfg``), a delayed signal its ring buffer.

    >>> bank = SensorBank({"co_pct": {"noise_std": 0.2, "delay_s": 20.0}}, dt_s=2.0)
    >>> bank.n_noise, bank.new_state(4).shape
    (1, (4, 11))
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
        self.state_width = _state_layout(self.cfg)

    @property
    def n_signals(self) -> int:
        """Number of signals."""
        return len(self.names)

    def index(self, name: str) -> int:
        """Position of signal ``name`` in the readings."""
        return self.names.index(name)

    def new_state(self, n_plants: int) -> FloatArray:
        """Zeroed state, float64 (n_plants, state_width); reset it before stepping."""
        return np.zeros((n_plants, self.state_width), dtype=np.float64)

    def reset_readings(self, true_values: npt.ArrayLike) -> FloatArray:
        """The readings right after :func:`sensor_bank_reset` at ``true_values``: clip(x + bias)."""
        x = np.asarray(true_values, dtype=np.float64) + self.cfg[:, F_BIAS]
        lo, hi = self.cfg[:, F_LOW], self.cfg[:, F_HIGH]
        return np.where(x < lo, lo, np.where(x > hi, hi, x))


# ---------------------------------------------------------------- compiled kernels (one plant)
# inline="always" puts these into the caller's numba IR, so passing arrays to them costs no
# reference counting (measured ~40 ns per call when left to LLVM's inliner at 4096 plants).
@njit(cache=True, inline="always")
def sensor_bank_reset(cfg: FloatArray, state: FloatArray, true_values: FloatArray) -> None:
    """Reset one plant's sensors as if the process had sat at ``true_values`` forever.

    Args:
        cfg: ``SensorBank.cfg``.
        state: One plant's flat state row, (state_width,); overwritten.
        true_values: True values at reset, (n_signals,).

    The delay buffer and the lag start at the true value; the held and last readings at
    clip(true + bias), noise-free; the bias walk, stuck flag and counters are cleared.
    """
    for j in range(cfg.shape[0]):
        x = true_values[j]
        b = cfg[j, F_BIAS]
        o = int(cfg[j, F_O_LAG])
        if o >= 0:
            state[o] = x
        o = int(cfg[j, F_O_BIAS])
        if o >= 0:
            state[o] = b
        o = int(cfg[j, F_O_HOLD])
        if o >= 0:
            state[o + S_HELD] = x + b
            state[o + S_COUNT] = 0.0
        o = int(cfg[j, F_O_LAST])
        if o >= 0:
            state[o + S_LAST] = clip_value(x + b, cfg[j, F_LOW], cfg[j, F_HIGH])
            state[o + S_STUCK] = 0.0
        o = int(cfg[j, F_O_HEAD])
        if o >= 0:
            state[o] = 0.0
            o = int(cfg[j, F_O_BUF])
            for k in range(int(cfg[j, F_DELAY_STEPS])):
                state[o + k] = x


@njit(cache=True, inline="always")
def sensor_bank_step(
    cfg: FloatArray,
    noise_cols: IntArray,
    state: FloatArray,
    true_values: FloatArray,
    noise_row: FloatArray,
    dt_s: float,
    out: FloatArray,
) -> None:
    """Advance one plant's sensors by one control step and write the readings.

    Args:
        cfg: ``SensorBank.cfg``.
        noise_cols: ``SensorBank.noise_cols``.
        state: One plant's flat state row, (state_width,); updated in place.
        true_values: True values at this step, (n_signals,).
        noise_row: 16-bit noise words for this plant and step, (n_noise,) uint16.
        dt_s: Control step the caller simulates, s; must equal the bank's ``dt_s`` (delay, lag
            and hold are precomputed for it). On a mismatch every reading is NaN: a kernel
            cannot raise without losing ~40 ns per call (see module docstring), and NaN
            observations fail the env's observation-space checks at once.
        out: Readings, (n_signals,); written.
    """
    dt_ok = cfg.shape[0] == 0 or abs(dt_s - cfg[0, F_DT]) <= 1e-9 * cfg[0, F_DT]
    # One flat loop on purpose: numba wraps every call that passes arrays in atomic reference
    # counting, which measured ~40 ns per signal when the parts below were separate functions.
    for j in range(cfg.shape[0]):
        o_last = int(cfg[j, F_O_LAST])  # -1 unless dropout or stuck is on
        if o_last >= 0 and state[o_last + S_STUCK] != 0.0:
            out[j] = state[o_last + S_LAST] if dt_ok else math.nan  # frozen: skip the chain
            continue
        x = true_values[j]
        o = int(cfg[j, F_O_HEAD])
        if o >= 0:  # ring buffer: swap in the new value, take out the one pushed d steps ago
            head = int(state[o])
            k = int(cfg[j, F_O_BUF]) + head
            x, state[k] = state[k], x
            state[o] = (head + 1) % int(cfg[j, F_DELAY_STEPS])
        o = int(cfg[j, F_O_LAG])
        if o >= 0:  # lag a < 1 only: y + (x - y) need not equal x bit for bit
            x = state[o] + cfg[j, F_LAG_A] * (x - state[o])
            state[o] = x
        c = noise_cols[j, Z_BIAS_WALK]
        if c >= 0:
            o = int(cfg[j, F_O_BIAS])
            state[o] += cfg[j, F_BIAS_WALK_STD] * normal(noise_row[c])
            y = x + state[o]
        else:
            y = x + cfg[j, F_BIAS]
        c = noise_cols[j, Z_WHITE]
        if c >= 0:
            y += (cfg[j, F_NOISE_STD] + cfg[j, F_NOISE_REL] * abs(x)) * normal(noise_row[c])
        o = int(cfg[j, F_O_HOLD])
        if o >= 0:  # refresh at steps n, 2n, … after reset, else hold
            count = state[o + S_COUNT] + 1.0
            if count >= cfg[j, F_HOLD_STEPS]:
                count = 0.0
                state[o + S_HELD] = y
            state[o + S_COUNT] = count
            y = state[o + S_HELD]
        y = clip_value(y, cfg[j, F_LOW], cfg[j, F_HIGH])
        if o_last >= 0:
            c = noise_cols[j, Z_DROPOUT]
            if c >= 0 and uniform(noise_row[c], noise_row[c + 1]) < cfg[j, F_DROPOUT_P]:
                y = math.nan if cfg[j, F_DROPOUT_NAN] != 0.0 else state[o_last + S_LAST]
            else:
                state[o_last + S_LAST] = y
            c = noise_cols[j, Z_STUCK]
            if c >= 0 and uniform(noise_row[c], noise_row[c + 1]) < cfg[j, F_STUCK_P]:
                state[o_last + S_STUCK] = 1.0  # freeze at the last delivered reading
                y = state[o_last + S_LAST]
        out[j] = y if dt_ok else math.nan


@njit(cache=True)
def sensor_bank_reset_batch(cfg: FloatArray, states: FloatArray, true_values: FloatArray) -> None:
    """``sensor_bank_reset`` for every plant: states (n, state_width), true_values (n, n_sig)."""
    for i in range(states.shape[0]):
        sensor_bank_reset(cfg, states[i], true_values[i])


@njit(cache=True)
def sensor_bank_step_batch(
    cfg: FloatArray,
    noise_cols: IntArray,
    states: FloatArray,
    true_values: FloatArray,
    noise: npt.NDArray[np.uint16],
    dt_s: float,
    out: FloatArray,
) -> None:
    """``sensor_bank_step`` for every plant: states (n, …), true_values/out (n, n_signals),
    noise (n, n_noise) uint16 words."""
    for i in range(states.shape[0]):
        sensor_bank_step(cfg, noise_cols, states[i], true_values[i], noise[i], dt_s, out[i])
