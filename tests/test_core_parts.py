"""Unit tests of the reusable plant parts: sensors, disturbances, action scaling, noise words and
the per-plant random streams."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from envs.core.actions import (
    MODE_ABSOLUTE,
    MODE_ADJUST,
    ActionScaler,
    ActuatorSpec,
    apply_rate_limit,
    to_setpoints,
)
from envs.core.disturbances import (
    DriftBank,
    DriftSpec,
    drift_bank_reset,
    drift_bank_reset_batch,
    drift_bank_step,
    drift_bank_step_batch,
    drift_bank_step_block,
    ou_coefficients,
    ou_step,
    random_step,
    scheduled_offset,
)
from envs.core.noise import NORMAL_BITS, NORMAL_TABLE, draw_bits, normal, uniform
from envs.core.sensors import (
    MAX_DELAY_STEPS,
    SensorBank,
    SensorSpec,
    sensor_bank_advance,
    sensor_bank_reset,
    sensor_bank_reset_batch,
    sensor_bank_step,
    sensor_bank_step_batch,
    sensor_bank_step_block,
)
from envs.core.streams import PlantStreams, philox4x32_10, philox_plants, plant_seeds

REPO = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------- helpers
def run_one(
    spec: SensorSpec | dict[str, Any],
    xs: np.ndarray,
    dt: float = 1.0,
    noise: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Readings of one sensor: reset at xs[0], then one step per xs[k]; result[k] is step k."""
    bank = SensorBank({"s": spec}, dt)
    state = bank.new_state(1)
    sensor_bank_reset(bank.cfg, state, 0, np.array([xs[0]]))
    if noise is None:
        noise = draw_bits(np.random.default_rng(seed), len(xs), bank.n_noise)
    out = np.full(len(xs), bank.reset_readings([xs[0]])[0])
    buf = np.empty(1)
    for k in range(1, len(xs)):
        sensor_bank_step(bank.cfg, bank.noise_cols, state, np.array([xs[k]]), noise[k], dt, buf)
        out[k] = buf[0]
    return out


def run_many(
    spec: SensorSpec | dict[str, Any], x0: np.ndarray, xs: np.ndarray, steps: int, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """n plants of one sensor, reset at x0 (n,), stepped with constant xs (n,).

    Returns:
        readings (steps, n) and the noise words used (steps, n, n_noise).
    """
    bank = SensorBank({"s": spec}, 1.0)
    n = x0.shape[0]
    states = bank.new_state(n)
    sensor_bank_reset_batch(bank.cfg, states, x0[:, None])
    rng = np.random.default_rng(seed)
    noise = np.stack([draw_bits(rng, n, bank.n_noise) for _ in range(steps)])
    readings = np.empty((steps, n))
    out = np.empty((n, 1))
    for k in range(steps):
        sensor_bank_step_batch(bank.cfg, bank.noise_cols, states, xs[:, None], noise[k], 1.0, out)
        readings[k] = out[:, 0]
    return readings, noise


# ---------------------------------------------------------------- sensors
def test_delay_is_exactly_d_steps() -> None:
    xs = np.arange(40.0) + 10.0
    got = run_one({"delay_s": 1.5}, xs, dt=0.5)  # 3 steps
    expected = np.concatenate([np.full(3, xs[0]), xs[:-3]])
    np.testing.assert_array_equal(got, expected)


def test_delay_limit_raises_with_the_limit() -> None:
    SensorBank({"s": {"delay_s": float(MAX_DELAY_STEPS)}}, 1.0)
    with pytest.raises(ValueError, match=f"MAX_DELAY_STEPS={MAX_DELAY_STEPS}"):
        SensorBank({"s": {"delay_s": MAX_DELAY_STEPS + 1.0}}, 1.0)


def test_lag_step_response_matches_exponential() -> None:
    tau, dt = 4.0, 0.5
    xs = np.concatenate([[0.0], np.ones(40)])
    got = run_one({"lag_s": tau}, xs, dt=dt)
    t = np.arange(41) * dt
    np.testing.assert_allclose(got, 1.0 - np.exp(-t / tau), rtol=1e-12, atol=1e-15)


def test_white_noise_is_std_times_z() -> None:
    n = 20_000
    x = np.full(n, 3.0)
    readings, noise = run_many({"noise_std": 0.5}, x, x, steps=1)
    residual = readings[0] - 3.0
    z = NORMAL_TABLE[noise[0, :, 0] >> 4].astype(float)
    np.testing.assert_allclose(residual, 0.5 * z, atol=1e-14)
    assert abs(residual.std() - 0.5) < 0.03 * 0.5  # SE of the std ≈ 0.5 %
    assert abs(residual.mean()) < 4 * 0.5 / math.sqrt(n)


def test_relative_noise_scales_with_abs_value() -> None:
    n = 20_000
    x = np.where(np.arange(n) % 2 == 0, 10.0, -100.0)
    readings, noise = run_many({"noise_std": 0.2, "noise_rel": 0.1}, x, x, steps=1)
    residual = readings[0] - x
    z = NORMAL_TABLE[noise[0, :, 0] >> 4].astype(float)
    np.testing.assert_allclose(residual, (0.2 + 0.1 * np.abs(x)) * z, atol=1e-12)
    ratio = residual[1::2].std() / residual[::2].std()
    assert ratio == pytest.approx(10.2 / 1.2, rel=0.05)


def test_bias_walk_variance_grows_linearly() -> None:
    n, sd = 4000, 0.1
    x = np.full(n, 5.0)
    readings, _ = run_many({"bias": 2.0, "bias_walk_std": sd}, x, x, steps=40)
    bias = readings - 5.0
    assert abs(bias[-1].mean() - 2.0) < 4 * sd * math.sqrt(40 / n)
    var10, var40 = bias[9].var(), bias[39].var()
    assert var10 == pytest.approx(10 * sd**2, rel=0.1)  # SE ≈ 2.2 %
    assert var40 == pytest.approx(40 * sd**2, rel=0.1)
    assert var40 / var10 == pytest.approx(4.0, rel=0.15)


def test_sample_and_hold_refreshes_every_n_steps() -> None:
    xs = np.arange(30.0) + 1.0
    got = run_one({"sample_period_s": 2.0}, xs, dt=0.5)  # every 4 steps
    k = np.arange(30)
    np.testing.assert_array_equal(got, xs[4 * (k // 4)])


def test_dropout_hold_repeats_last_reading_and_nan_gives_nan() -> None:
    xs = np.arange(20.0)
    np.testing.assert_array_equal(run_one({"dropout_prob": 1.0}, xs), np.zeros(20))
    got = run_one({"dropout_prob": 1.0, "dropout_mode": "nan"}, xs)
    assert got[0] == 0.0 and np.isnan(got[1:]).all()


def test_dropout_event_is_uniform_below_prob() -> None:
    n, p = 20_000, 0.3
    readings, noise = run_many({"dropout_prob": p}, np.zeros(n), np.ones(n), steps=1)
    dropped = readings[0] == 0.0
    expected = np.array([uniform(hi, lo) < p for hi, lo in noise[0, :, :2]])
    np.testing.assert_array_equal(dropped, expected)
    assert abs(dropped.mean() - p) < 4 * math.sqrt(p * (1 - p) / n)


def test_stuck_freezes_until_reset() -> None:
    xs = np.arange(12.0) + 1.0
    never, always = [0xFFFF, 0xFFFF], [0, 0]  # uniforms 1 − 2⁻³³ and 2⁻³³
    noise = np.array([never] * 12, dtype=np.uint16)
    noise[6] = always  # uniform < stuck_prob: sticks at step 6
    got = run_one({"stuck_prob": 0.01}, xs, noise=noise)
    np.testing.assert_array_equal(got, np.concatenate([xs[:7], np.full(5, xs[6])]))
    bank = SensorBank({"s": {"stuck_prob": 0.01}}, 1.0)
    state, out = bank.new_state(1), np.empty(1)
    sensor_bank_reset(bank.cfg, state, 0, np.array([0.0]))
    words = np.array(always, dtype=np.uint16)
    sensor_bank_step(bank.cfg, bank.noise_cols, state, np.array([1.0]), words, 1.0, out)
    sensor_bank_reset(bank.cfg, state, 0, np.array([0.0]))
    words = np.array(never, dtype=np.uint16)
    sensor_bank_step(bank.cfg, bank.noise_cols, state, np.array([2.0]), words, 1.0, out)
    assert out[0] == 2.0


def test_clip_to_instrument_range_and_nan_stays_nan() -> None:
    xs = np.linspace(-5.0, 15.0, 21)
    np.testing.assert_array_equal(run_one({"low": 0.0, "high": 10.0}, xs), np.clip(xs, 0.0, 10.0))
    got = run_one({"low": 0.0, "high": 10.0, "dropout_prob": 1.0, "dropout_mode": "nan"}, xs)
    assert np.isnan(got[1:]).all()


def test_noise_columns_only_for_enabled_parts() -> None:
    bank = SensorBank(
        {
            "a": {"noise_std": 1.0},
            "b": {"bias": 1.0, "lag_s": 3.0, "delay_s": 2.0, "sample_period_s": 4.0},
            "c": {"bias_walk_std": 0.1, "dropout_prob": 0.1},
            "d": {"noise_rel": 0.1, "stuck_prob": 0.001},
        },
        1.0,
    )
    assert bank.n_noise == 7  # events (dropout, stuck) take two words
    expected = [[0, -1, -1, -1], [-1, -1, -1, -1], [-1, 1, 2, -1], [4, -1, -1, 5]]
    np.testing.assert_array_equal(bank.noise_cols, expected)
    assert SensorBank({"x": {}, "y": {"noise_std": 0.1}, "z": {"bias": 1.0}}, 1.0).n_noise == 1


def test_noise_free_bank_needs_no_noise_and_passes_values_through() -> None:
    bank = SensorBank({"x": {}, "y": SensorSpec()}, 2.0)
    assert bank.n_noise == 0
    state, out = bank.new_state(1), np.empty(2)
    true = np.array([0.1 + 0.2, -7.3])
    sensor_bank_reset(bank.cfg, state, 0, true)
    no_words = np.empty(0, dtype=np.uint16)
    sensor_bank_step(bank.cfg, bank.noise_cols, state, true * 3, no_words, 2.0, out)
    np.testing.assert_array_equal(out, true * 3)


def test_wrong_dt_gives_nan_readings() -> None:
    bank = SensorBank({"x": {"delay_s": 2.0}}, 1.0)
    state, out = bank.new_state(1), np.empty(1)
    sensor_bank_reset(bank.cfg, state, 0, np.array([1.0]))
    no_words = np.empty(0, dtype=np.uint16)
    sensor_bank_step(bank.cfg, bank.noise_cols, state, np.array([1.0]), no_words, 0.5, out)
    assert np.isnan(out).all()


FAULTY = {  # every part of the chain, and delays of several lengths sharing one ring
    "a": {"noise_std": 0.1, "noise_rel": 0.02, "delay_s": 3.0, "lag_s": 2.0, "bias": 0.3,
          "bias_walk_std": 0.01, "sample_period_s": 2.0, "dropout_prob": 0.2, "stuck_prob": 0.01,
          "low": -5.0, "high": 5.0},
    "b": {"noise_std": 0.5, "dropout_prob": 0.1, "dropout_mode": "nan", "low": 0.0, "high": 3.0},
    "c": {"delay_s": 5.0, "noise_std": 0.2},
    "d": {},
    "e": {"bias": 1.0, "stuck_prob": 0.05, "delay_s": 1.0},
}  # fmt: skip


def test_block_step_equals_plants_stepped_one_by_one() -> None:
    """The signal-by-signal block step of several plants (any subset, in any block, any noise
    rows) gives each plant exactly the readings of a bank of that plant alone."""
    bank, n, steps = SensorBank(FAULTY, 1.0), 6, 120
    rng = np.random.default_rng(4)
    x0 = rng.normal(size=(n, 5))
    batch = bank.new_state(n)
    sensor_bank_reset_batch(bank.cfg, batch, x0)
    singles = [bank.new_state(1) for _ in range(n)]
    for i, single in enumerate(singles):
        sensor_bank_reset(bank.cfg, single, 0, x0[i])
    block = np.array([4, 1, 5, 0, 2, 3])  # a permuted block, noise rows 2.. of a wider array
    for _ in range(steps):
        true = rng.normal(size=(n, 5)) * 3
        words = draw_bits(rng, n + 2, bank.n_noise + 3)
        values = np.ascontiguousarray(true[block].T)
        sensor_bank_step_block(bank.cfg, bank.noise_cols, batch, block, n, words, 2, 3, 1.0, values)
        sensor_bank_advance(batch)
        for k, i in enumerate(block):
            out = np.empty(5)
            row = np.ascontiguousarray(words[2 + k, 3:])
            sensor_bank_step(bank.cfg, bank.noise_cols, singles[i], true[i], row, 1.0, out)
            np.testing.assert_array_equal(values[:, k], out)


def test_shared_delay_ring_with_a_plant_reset_and_sitting_out() -> None:
    """One ring head for the batch: a plant reset mid-run that sits out a step (Gymnasium's
    next-step autoreset) still reads its reset value for exactly d steps, then its own past."""
    bank = SensorBank({"d1": {"delay_s": 1.0}, "d3": {"delay_s": 3.0}, "d5": {"delay_s": 5.0}}, 1.0)
    delays, n = (1, 3, 5), 2
    state = bank.new_state(n)
    sensor_bank_reset_batch(bank.cfg, state, np.zeros((n, 3)))
    history: list[list[float]] = [[0.0], [0.0]]  # true value per step since the last reset
    no_words = np.zeros((n, 0), dtype=np.uint16)
    for t in range(1, 30):
        active = [True, t != 12]  # plant 1 is reset at step 11 and sits out step 12
        if t == 12:
            sensor_bank_reset(bank.cfg, state, 1, np.full(3, -7.0))
            history[1] = [-7.0]
        idx = np.array([i for i in range(n) if active[i]])
        values = np.array([[100.0 * i + t for i in idx]] * 3)
        sensor_bank_step_block(bank.cfg, bank.noise_cols, state, idx, len(idx), no_words, 0, 0,
                               1.0, values)  # fmt: skip
        sensor_bank_advance(state)
        for k, i in enumerate(idx):
            history[i].append(100.0 * i + t)
            for j, d in enumerate(delays):
                past = history[i][-1 - d] if len(history[i]) > d else history[i][0]
                assert values[j, k] == past, (t, i, d)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"noise_std": -1.0}, "noise_std must be a finite number in"),
        ({"lag_s": math.nan}, "lag_s"),
        ({"dropout_prob": 1.5}, r"dropout_prob must be a finite number in \[0.0, 1.0\]"),
        ({"stuck_prob": -0.1}, "stuck_prob"),
        ({"dropout_mode": "zero"}, r"dropout_mode must be one of \('hold', 'nan'\)"),
        ({"low": 1.0, "high": 0.0}, "low must be < high"),
        ({"bias": "1"}, "bias"),
    ],
)
def test_sensor_spec_validation_names_the_field(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SensorSpec(**kwargs)


def test_unknown_keys_raise_listing_valid_names() -> None:
    with pytest.raises(ValueError, match="noise_sd") as err:
        SensorSpec.from_dict({"noise_sd": 0.1})
    assert "noise_std" in str(err.value) and "dropout_mode" in str(err.value)
    with pytest.raises(ValueError, match="valid keys are"):
        SensorBank({"x": {"nois_std": 0.1}}, 1.0)
    with pytest.raises(ValueError, match="theta") as err:
        DriftSpec.from_dict({"theta": 0.1})
    assert "ou_theta" in str(err.value) and "event_ramp" in str(err.value)


# ---------------------------------------------------------------- disturbances
def test_ou_one_step_is_exact() -> None:
    theta, sigma = 0.2, 0.5
    assert ou_step(3.0, 1.0, theta, sigma, 0.0) == 1.0 + 2.0 * math.exp(-theta)
    innovation = ou_step(3.0, 1.0, theta, sigma, 1.0) - ou_step(3.0, 1.0, theta, sigma, 0.0)
    expected = sigma * math.sqrt((1 - math.exp(-2 * theta)) / (2 * theta))
    assert innovation == pytest.approx(expected, rel=1e-12)
    assert ou_step(3.0, 1.0, 0.0, sigma, 0.7) == 3.0 + sigma * 0.7  # θ = 0: random walk
    decay, scale = ou_coefficients(1e-12, sigma)
    assert decay == pytest.approx(1.0) and scale == pytest.approx(sigma, rel=1e-9)


def test_ou_stationary_std() -> None:
    n, theta, sigma = 4000, 0.05, 0.2
    bank = DriftBank({"h": {"mean": 1.0, "ou_theta": theta, "ou_sigma": sigma}})
    states, out = bank.new_state(n), np.empty((n, 1))
    drift_bank_reset_batch(bank.cfg, states, out)
    rng = np.random.default_rng(3)
    for _ in range(300):  # e^{-2θ·300} ≈ 1e-13: the start at the mean is forgotten
        drift_bank_step_batch(bank.cfg, bank.noise_cols, states, draw_bits(rng, n, 1), out)
    stationary = sigma / math.sqrt(2 * theta)
    assert out[:, 0].std() == pytest.approx(stationary, rel=0.05)  # SE ≈ 1.1 %
    assert abs(out[:, 0].mean() - 1.0) < 4 * stationary / math.sqrt(n)


def test_random_step_probability_is_uniform_below_prob() -> None:
    assert random_step(0.0, 0.3 + 1e-9, 2.0, 0.3, 0.5) == 1.0
    assert random_step(0.0, 0.3 - 1e-9, 2.0, 0.3, 0.5) == 0.0
    n, prob = 20_000, 0.2
    bank = DriftBank({"s": {"mean": 0.0, "step_prob": prob, "step_std": 3.0}})
    states, out = bank.new_state(n), np.empty((n, 1))
    drift_bank_reset_batch(bank.cfg, states, out)
    noise = draw_bits(np.random.default_rng(5), n, bank.n_noise)
    drift_bank_step_batch(bank.cfg, bank.noise_cols, states, noise, out)
    expected = np.array(
        [random_step(0.0, prob, 3.0, uniform(a, b), normal(c)) for a, b, c in noise]
    )
    np.testing.assert_array_equal(out[:, 0], expected)
    assert abs((out[:, 0] != 0).mean() - prob) < 4 * math.sqrt(prob * (1 - prob) / n)


def test_scheduled_step_and_ramp() -> None:
    assert [scheduled_offset(k, 5, 0, 2.0) for k in (0, 4, 5, 6, 100)] == [0, 0, 2, 2, 2]
    ramp = [scheduled_offset(k, 5, 4, 2.0) for k in range(4, 11)]
    assert ramp == [0.0, 0.5, 1.0, 1.5, 2.0, 2.0, 2.0]
    assert scheduled_offset(10, -1, 0, 2.0) == 0.0
    assert [scheduled_offset(k, 3, 1, 1.0) for k in range(6)] == [
        scheduled_offset(k, 3, 0, 1.0) for k in range(6)
    ]


def test_drift_bank_trend_event_and_clip() -> None:
    spec = DriftSpec(mean=1.0, trend_per_step=0.1, event_start=3, event_magnitude=0.5, high=1.7)
    bank = DriftBank({"wear": spec})
    assert bank.n_noise == 0
    state, out = bank.new_state(1)[0], np.empty(1)
    drift_bank_reset(bank.cfg, state, out)
    values = [out[0]]
    for _ in range(5):
        drift_bank_step(bank.cfg, bank.noise_cols, state, np.empty(0, dtype=np.uint16), out)
        values.append(out[0])
    np.testing.assert_allclose(values, [1.0, 1.1, 1.2, 1.7, 1.7, 1.7], rtol=1e-12)


def test_drift_block_step_equals_plants_stepped_one_by_one() -> None:
    spec = {
        "a": {"ou_theta": 0.05, "ou_sigma": 0.1, "step_prob": 0.05, "step_std": 0.3,
              "trend_per_step": 0.001, "event_start": 50, "event_ramp": 20,
              "event_magnitude": 0.4, "low": 0.2, "high": 3.0},
        "b": {"step_prob": 0.1, "step_std": 1.0},
        "c": {},
    }  # fmt: skip
    bank, n = DriftBank(spec), 5
    rng = np.random.default_rng(2)
    batch, out = bank.new_state(n), np.empty((n, 3))
    drift_bank_reset_batch(bank.cfg, batch, out)
    singles = [bank.new_state(1)[0] for _ in range(n)]
    for single in singles:
        drift_bank_reset(bank.cfg, single, np.empty(3))
    block = np.array([3, 0, 4, 1, 2])
    for _ in range(150):
        words = draw_bits(rng, n + 1, bank.n_noise + 2)
        values = np.empty((3, n))
        drift_bank_step_block(bank.cfg, bank.noise_cols, batch, block, n, words, 1, 2, values)
        for k, i in enumerate(block):
            one = np.empty(3)
            row = np.ascontiguousarray(words[1 + k, 2:])
            drift_bank_step(bank.cfg, bank.noise_cols, singles[i], row, one)
            np.testing.assert_array_equal(values[:, k], one)


def test_drift_noise_columns() -> None:
    bank = DriftBank(
        {
            "ou": {"ou_theta": 0.1, "ou_sigma": 0.1},
            "decay_only": {"ou_theta": 0.1},
            "jumps": {"step_prob": 0.1, "step_std": 1.0},
            "zero_jumps": {"step_prob": 0.1},
        }
    )
    assert bank.n_noise == 4  # the step event's uniform takes two words
    expected = [[0, -1, -1], [-1, -1, -1], [-1, 1, 3], [-1, -1, -1]]
    np.testing.assert_array_equal(bank.noise_cols, expected)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"event_start": -2}, "event_start must be an integer ≥ -1"),
        ({"event_ramp": 1.5}, "event_ramp must be an integer ≥ 0"),
        ({"step_prob": 2.0}, "step_prob"),
        ({"ou_sigma": -0.1}, "ou_sigma"),
        ({"low": 2.0, "high": 1.0}, "low must be < high"),
    ],
)
def test_drift_spec_validation_names_the_field(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        DriftSpec(**kwargs)


# ---------------------------------------------------------------- actions
def _scaler(mode: str = "adjust") -> ActionScaler:
    return ActionScaler(
        [
            ActuatorSpec("trim", "K", -0.7, 2.9, 1.0 / 3.0, rate_limit=0.05),  # -0.7 + 3.6 < 2.9
            ActuatorSpec("lance", "m", 1.2, 3.2, 0.6),
            ActuatorSpec("ore", "kg/min", 0.0, 1e5, 12345.678),
        ],
        mode,
    )


def test_zero_adjust_action_reproduces_practice_bit_for_bit() -> None:
    scaler = _scaler()
    rng = np.random.default_rng(0)
    for _ in range(200):
        practice = rng.uniform(scaler.low, scaler.high)
        for zero in (np.zeros(3), np.full(3, -0.0)):
            np.testing.assert_array_equal(scaler.setpoints(zero, practice), practice)


def test_absolute_extremes_are_the_limits() -> None:
    scaler = _scaler("absolute")
    assert scaler.mode_code == MODE_ABSOLUTE
    out, practice = np.empty(3), np.zeros(3)
    for action, expected in ((np.ones(3), scaler.high), (-np.ones(3), scaler.low)):
        to_setpoints(MODE_ABSOLUTE, action, practice, scaler.low, scaler.high, scaler.span, out)
        np.testing.assert_allclose(out, expected, rtol=1e-15)  # to rounding, never outside
        assert np.all((out >= scaler.low) & (out <= scaler.high))
    to_setpoints(MODE_ABSOLUTE, np.zeros(3), practice, scaler.low, scaler.high, scaler.span, out)
    np.testing.assert_allclose(out, 0.5 * (scaler.low + scaler.high), rtol=1e-15)


def test_adjust_moves_by_span_and_clips_to_limits() -> None:
    scaler = _scaler()
    out = np.empty(3)
    practice = np.array([1.5, 3.0, 50.0])
    action = np.array([0.3, 1.0, -1.0])
    to_setpoints(MODE_ADJUST, action, practice, scaler.low, scaler.high, scaler.span, out)
    np.testing.assert_allclose(out, [1.6, 3.2, 0.0], rtol=1e-12)


def test_rate_limit_moves_at_most_rate() -> None:
    out = np.empty(4)
    previous = np.array([0.0, 0.0, 0.7, 1.0])
    target = np.array([5.0, -5.0, 0.1, -1e9])  # 0.7 + (0.1 - 0.7) != 0.1 in floating point
    rate = np.array([1.0, 1.0, 0.9, math.inf])
    apply_rate_limit(previous, target, rate, out)
    np.testing.assert_array_equal(out, [1.0, -1.0, 0.1, -1e9])  # within reach: target exactly
    apply_rate_limit(previous, target, rate, previous)  # in place
    np.testing.assert_array_equal(previous, out)


def test_check_clips_finite_and_rejects_nan_inf_shape() -> None:
    scaler = _scaler()
    raw = np.array([2.0, -3.0, 0.25])
    np.testing.assert_array_equal(scaler.check(raw), [1.0, -1.0, 0.25])
    np.testing.assert_array_equal(raw, [2.0, -3.0, 0.25])  # input untouched
    with pytest.raises(ValueError, match=r"action\[1\] \('lance'\) is nan"):
        scaler.check([0.0, math.nan, 0.0])
    with pytest.raises(ValueError, match=r"action\[2\] \('ore'\) is -inf"):
        scaler.check([0.0, 0.0, -math.inf])
    with pytest.raises(ValueError, match=r"shape \(2,\), expected \(3,\)"):
        scaler.check([0.0, 0.0])
    with pytest.raises(ValueError, match="must be numeric"):
        scaler.check(["a", 0.0, 0.0])


def test_check_batch_names_plant_and_actuator() -> None:
    scaler = _scaler()
    actions = np.zeros((4, 3))
    actions[0, 0] = 7.0
    np.testing.assert_array_equal(scaler.check_batch(actions)[0], [1.0, 0.0, 0.0])
    actions[2, 1] = math.inf
    with pytest.raises(ValueError, match=r"actions\[2, 1\] \(plant 2, actuator 'lance'\) is inf"):
        scaler.check_batch(actions)
    with pytest.raises(ValueError, match=r"expected \(n_plants, 3\)"):
        scaler.check_batch(np.zeros(3))


def test_validate_batch_into_a_buffer_checks_every_dtype() -> None:
    scaler, out = _scaler(), np.full((4, 3), -9.0)
    for dtype in (np.float32, np.float64, np.int64):
        actions = np.arange(12, dtype=dtype).reshape(4, 3)
        got = scaler.validate_batch(actions, 4, out)
        assert got is out
        np.testing.assert_array_equal(out, actions.astype(np.float64))
    bad = np.zeros((4, 3), dtype=np.float32)
    bad[3, 2], bad[1, 0] = np.nan, -np.inf  # the first in plant order is named
    with pytest.raises(ValueError, match=r"action\[0\] \('trim'\) of plant 1 is -inf"):
        scaler.validate_batch(bad, 4, out)
    with pytest.raises(ValueError, match=r"expected \(4, 3\)"):
        scaler.validate_batch(np.zeros((3, 3)), 4, out)
    huge = np.full((4, 3), 1e308)  # finite values whose sum overflows are not bad
    np.testing.assert_array_equal(scaler.validate_batch(huge, 4, out), huge)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("a", "m", 1.0, 1.0, 0.5), "low < high"),
        (("a", "m", 0.0, math.inf, 0.5), "finite"),
        (("a", "m", 0.0, 1.0, 0.0), "adjust_span"),
        (("a", "m", 0.0, 1.0, 0.5, -1.0), "rate_limit"),
        (("", "m", 0.0, 1.0, 0.5), "name"),
    ],
)
def test_actuator_spec_validation(args: tuple[Any, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        ActuatorSpec(*args)


def test_unknown_action_mode_lists_valid_modes() -> None:
    with pytest.raises(ValueError, match=r"\('adjust', 'absolute'\), got 'relative'"):
        _scaler("relative")


# ---------------------------------------------------------------- jit vs. pure Python
def reference_run() -> dict[str, np.ndarray]:
    """A seeded run through every compiled function; compared with and without the JIT."""
    rng = np.random.default_rng(11)
    n, steps, dt = 3, 60, 0.5
    sensors = SensorBank(
        {
            "a": {"noise_std": 0.1, "noise_rel": 0.02, "delay_s": 2.0, "lag_s": 1.3},
            "b": {"bias": 0.3, "bias_walk_std": 0.05, "sample_period_s": 1.5, "low": -1.0},
            "c": {"dropout_prob": 0.2, "dropout_mode": "nan", "stuck_prob": 0.02, "high": 1.5},
            "d": {"dropout_prob": 0.3, "noise_std": 0.2},
        },
        dt,
    )
    drifts = DriftBank(
        {
            "ou": {"ou_theta": 0.1, "ou_sigma": 0.2, "low": 0.7},
            "jump": {"step_prob": 0.2, "step_std": 0.5, "trend_per_step": 0.01},
            "event": {"event_start": 10, "event_ramp": 7, "event_magnitude": -0.4},
        }
    )
    s_state, d_state = sensors.new_state(n), drifts.new_state(n)
    true = np.sin(np.arange(steps + 1)[:, None, None] * 0.2 + np.arange(4)) + rng.normal(
        size=(steps + 1, n, 4)
    )
    readings, drift = np.empty((steps, n, 4)), np.empty((steps + 1, n, 3))
    sensor_bank_reset_batch(sensors.cfg, s_state, true[0])
    drift_bank_reset_batch(drifts.cfg, d_state, drift[0])
    for k in range(steps):
        z_s = draw_bits(rng, n, sensors.n_noise)
        sensor_bank_step_batch(
            sensors.cfg, sensors.noise_cols, s_state, true[k + 1], z_s, dt, readings[k]
        )
        z_d = draw_bits(rng, n, drifts.n_noise)
        drift_bank_step_batch(drifts.cfg, drifts.noise_cols, d_state, z_d, drift[k + 1])
    z = rng.standard_normal((200, 3))
    scalars = np.array(
        [
            [ou_step(u, 1.0, 0.03, 0.2, v), random_step(u, 0.3, 0.5, abs(v) % 1, w), 0.0]
            for u, v, w in z
        ]
        + [
            [normal(int(k)), uniform(int(k), int(k) ^ 0x5A5A), 0.0]
            for k in draw_bits(rng, 1, 64)[0]
        ]
        + [[scheduled_offset(k, 20, 9, 1.7), 0.0, 0.0] for k in range(40)]
    )
    scaler = _scaler()
    setpoints = np.empty((2, 50, 3))
    previous = 0.5 * (scaler.low + scaler.high)
    for mode in (MODE_ADJUST, MODE_ABSOLUTE):
        for k, action in enumerate(np.clip(rng.normal(size=(50, 3)), -1, 1)):
            target = np.empty(3)
            to_setpoints(mode, action, previous, scaler.low, scaler.high, scaler.span, target)
            apply_rate_limit(previous, target, scaler.rate, setpoints[mode, k])
            previous = setpoints[mode, k]
    return {"readings": readings, "drift": drift, "scalars": scalars, "setpoints": setpoints}


def test_disable_jit_gives_identical_numbers(tmp_path: Path) -> None:
    jitted = reference_run()
    if os.environ.get("NUMBA_DISABLE_JIT", "0") == "0":
        assert hasattr(sensor_bank_step, "py_func"), "expected a compiled dispatcher in-process"
    path = tmp_path / "nojit.npz"
    code = (
        "import sys, numba, numpy as np\n"
        f"sys.path.insert(0, {str(Path(__file__).parent)!r})\n"
        "assert numba.config.DISABLE_JIT\n"
        "import test_core_parts as t\n"
        "from envs.core.sensors import sensor_bank_step\n"
        "assert not hasattr(sensor_bank_step, 'py_func')\n"
        f"np.savez({str(path)!r}, **t.reference_run())\n"
    )
    env = {
        **os.environ,
        "NUMBA_DISABLE_JIT": "1",
        "PYTHONPATH": str(REPO),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    subprocess.run([sys.executable, "-c", code], env=env, check=True, cwd=tmp_path, timeout=120)
    plain = np.load(path)
    assert np.isnan(jitted["readings"]).any()  # the NaN dropout path is exercised
    for key, value in jitted.items():
        np.testing.assert_array_equal(plain[key], value, err_msg=key)


# ---------------------------------------------------------------- noise words
def test_table_normals_are_standard_normal_and_events_exact() -> None:
    table = NORMAL_TABLE.astype(float)
    assert table.shape == (1 << NORMAL_BITS,) and NORMAL_TABLE.dtype == np.float32
    assert abs(table.mean()) < 1e-6  # symmetric table
    assert table.var() == pytest.approx(1.0, abs=1e-6)
    assert table[0] == pytest.approx(-3.669, abs=0.001)
    assert np.all(np.diff(table) > 0)
    words = draw_bits(np.random.default_rng(0), 50_000, 3)
    z = np.array([normal(int(w)) for w in words[:, 0]])
    np.testing.assert_array_equal(z, table[words[:, 0] >> (16 - NORMAL_BITS)])
    assert abs(z.mean()) < 4 / math.sqrt(50_000) and z.std() == pytest.approx(1.0, abs=0.01)
    assert uniform(0, 0) == 0.5 / 2**32 and uniform(0xFFFF, 0xFFFF) == 1 - 0.5 / 2**32


def test_draw_bits_is_seeded_and_shaped() -> None:
    a = draw_bits(np.random.default_rng(7), 5, 3)
    b = draw_bits(np.random.default_rng(7), 5, 3)
    assert a.dtype == np.uint16 and a.shape == (5, 3)
    np.testing.assert_array_equal(a, b)
    assert draw_bits(np.random.default_rng(7), 4, 0).shape == (4, 0)


# ---------------------------------------------------------------- per-plant streams
# Random123's published known-answer vectors of Philox4x32-10 (its tests/kat_vectors):
# counter (4 words), key (2 words) -> output (4 words)
PHILOX_KAT = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    (
        (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
        (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
    ),
]


@pytest.mark.parametrize(("counter", "key", "expected"), PHILOX_KAT)
def test_philox_matches_the_random123_known_answers(counter, key, expected) -> None:  # type: ignore[no-untyped-def]
    out = philox4x32_10(*(np.uint64(c) for c in counter), *(np.uint64(k) for k in key))
    assert [int(v) for v in out] == list(expected)


def test_vectorised_philox_equals_the_scalar_one() -> None:
    rng = np.random.default_rng(3)
    n = 300
    key = rng.integers(0, 2**32, (4, n), dtype=np.uint64).astype(np.uint32)
    counter = rng.integers(0, 2**63, (2, n), dtype=np.uint64)
    out = np.zeros((4, n), dtype=np.uint32)
    philox_plants(key, counter, 5, out)
    for i in (0, 1, 150, n - 1):
        c = int(counter[0, i]) + 5
        c0, c1, c2, c3, k0, k1 = c & 0xFFFFFFFF, c >> 32, key[2, i], key[3, i], key[0, i], key[1, i]
        ref = philox4x32_10(*(np.uint64(v) for v in (c0, c1, c2, c3, k0, k1)))
        assert [int(v) for v in ref] == [int(v) for v in out[:, i]]


def _streams(seeds: list[int], n_words: int) -> PlantStreams:
    streams = PlantStreams(len(seeds), n_words)
    streams.seed(np.arange(len(seeds)), list(seeds))
    return streams


def test_step_words_are_uniform_and_plants_independent() -> None:
    """Words of 64 plants seeded 0..63 (neighbouring seeds, the vector env's case) over 500
    steps: every bit fair, byte histogram flat, no correlation between plants or steps."""
    n, n_words, steps = 64, 20, 500
    streams = _streams(list(range(n)), n_words)
    words = np.stack([streams.step_words(None)[:, :n_words].copy() for _ in range(steps)])
    flat = words.ravel()  # 640,000 words
    bits = (flat[:, None] >> np.arange(16)) & 1
    sigma = 0.5 / math.sqrt(flat.size)
    assert np.all(np.abs(bits.mean(axis=0) - 0.5) < 5 * sigma)
    counts = np.bincount(flat >> 8, minlength=256)
    expected = flat.size / 256
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 255 + 6 * math.sqrt(2 * 255)  # 255 degrees of freedom, a 6 σ bound
    # plants' streams: correlation of every pair of plants' words, a plant's lag-1 correlation
    per_plant = words.transpose(1, 0, 2).reshape(n, -1).astype(float)
    r = np.corrcoef(per_plant)
    off = r[~np.eye(n, dtype=bool)]
    assert np.abs(off).max() < 5.5 / math.sqrt(per_plant.shape[1])
    lag = [np.corrcoef(x[:-1], x[1:])[0, 1] for x in per_plant]
    assert np.abs(lag).max() < 5.0 / math.sqrt(per_plant.shape[1])
    # table normals of the words are standard normal
    z = NORMAL_TABLE[flat >> (16 - NORMAL_BITS)].astype(float)
    assert abs(z.mean()) < 5 / math.sqrt(z.size) and z.std() == pytest.approx(1.0, abs=0.005)


def test_draws_are_uniform_and_normal() -> None:
    streams = _streams(list(range(200)), 3)
    idx = np.arange(200)
    u = streams.uniforms(idx, 501)
    assert np.all((u > 0) & (u < 1)) and abs(u.mean() - 0.5) < 5 * math.sqrt(1 / 12 / u.size)
    z = streams.normals(idx, 501).ravel()  # an odd count: the last pair is half used
    assert abs(z.mean()) < 5 / math.sqrt(z.size) and z.std() == pytest.approx(1.0, abs=0.01)
    for q, expected in ((0.02275, -2.0), (0.5, 0.0), (0.97725, 2.0)):
        assert np.quantile(z, q) == pytest.approx(expected, abs=0.03)
    w = streams.words(idx, 5)
    assert w.shape == (200, 5) and w.dtype == np.uint16 and len(np.unique(w)) > 900


def test_a_plant_stream_depends_on_its_seed_alone() -> None:
    """Same seed, same words and draws, whatever the batch, the other plants and the steps a
    plant sits out; the step words and the draws are separate domains."""
    big, one = _streams([10, 11, 12, 13, 14], 11), _streams([12], 11)
    active = np.array([True, False, True, True, False])
    np.testing.assert_array_equal(big.step_words(active)[1], one.step_words(None)[0])
    big.step_words(~active)  # plant 2 sits this step out: it draws nothing
    np.testing.assert_array_equal(big.normals(np.array([2]), 3), one.normals(np.array([0]), 3))
    np.testing.assert_array_equal(big.step_words(None)[2], one.step_words(None)[0])
    assert big.step_words(None).shape == (5, 16)  # whole blocks of 8 words
    # reseeding restarts a stream; None continues it
    again = _streams([12], 11)
    first = again.step_words(None).copy()
    again.seed([0], [None])
    assert not np.array_equal(again.step_words(None), first)
    again.seed([0], [12])
    np.testing.assert_array_equal(again.step_words(None), first)


def test_peek_returns_the_next_words_without_drawing_them() -> None:
    streams = _streams([4, 5], 11)
    streams.step_words(None)
    ahead = streams.peek_step_words(1, 3)
    assert ahead.shape == (3, 11)
    for k in range(3):
        np.testing.assert_array_equal(streams.step_words(None)[1, :11], ahead[k])


def test_unseeded_plants_take_fresh_entropy() -> None:
    a, b = PlantStreams(2, 4), PlantStreams(1, 4)
    a.seed([0, 1], [None, None])
    b.seed([0], [None])
    words = np.vstack([a.step_words(None), b.step_words(None)])
    assert len({w.tobytes() for w in words}) == 3


def test_plant_seeds_follow_gymnasium() -> None:
    assert plant_seeds(None, 3) == [None, None, None]
    assert plant_seeds(5, 3) == [5, 6, 7]
    assert plant_seeds(np.int32(5), 2) == [5, 6]
    assert plant_seeds([1, None, 3], 3) == [1, None, 3]
    for bad, match in (
        (-1, "non-negative"),
        (2.0, "seed must be"),
        ("7", "seed must be"),
        (True, "seed must be"),
        ([1, 2], "2 entries; the vector env has 3"),
        ([1, -2, 3], r"seed\[1\]"),
    ):
        with pytest.raises(ValueError, match=match):
            plant_seeds(bad, 3)
