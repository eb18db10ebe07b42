"""The window of recent unit results (agents/history.py): a valid, deterministic Gymnasium env;
its content equals the tap results / gauge readings the env reported; the native vector env
gives what single envs give, across autoresets, with and without a residual base; a policy
that keeps its own history acts as the policy on the wrapper; bad settings are refused."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import envs
from agents.evaluation import evaluate
from agents.history import (
    UNIT_RESULTS,
    HistoryPolicy,
    HistoryVectorWrapper,
    HistoryWrapper,
    MemoryConfig,
    UnitHistory,
    memory_config,
    window_layout,
)
from agents.residual import (
    ResidualConfig,
    ResidualController,
    ResidualPolicy,
    ResidualVectorWrapper,
    ResidualWrapper,
)
from agents.vecenv import make_sb3_vec_env
from envs.paint.layout import O as PO
from envs.steel.layout import BAND_C, BAND_T
from envs.steel.layout import O as BO

# short episodes so that several units and an autoreset happen within a few hundred steps
SHORT: dict[str, dict[str, Any]] = {
    "bof": {"scenario": "drift", "campaign_heats": 3},
    "paint": {"shift_bodies": 12},
}


def zero_action(env: gym.Env) -> np.ndarray:
    """The zero adjustment: the operator's practice."""
    return np.zeros(env.action_space.shape or (), np.float32)


# ------------------------------------------------------------------ a valid Gymnasium env
@pytest.mark.filterwarnings("ignore:.*different from the unwrapped version")
@pytest.mark.parametrize("process", ["bof", "paint"])
def test_wrapper_passes_check_env(process: str) -> None:
    check_env(HistoryWrapper(envs.make(process, **SHORT[process]), MemoryConfig("window", 4)))


@pytest.mark.parametrize("process", ["bof", "paint"])
def test_wrapper_is_deterministic(process: str) -> None:
    def rollout(seed: int) -> np.ndarray:
        env = HistoryWrapper(envs.make(process, **SHORT[process]), MemoryConfig("window", 3))
        obs, _ = env.reset(seed=seed)
        rng = np.random.default_rng(0)  # the same actions for both rollouts
        rows, done = [obs], False
        while not done:
            a = rng.uniform(-0.3, 0.3, env.action_space.shape).astype(np.float32)  # type: ignore[arg-type]
            obs, _, term, trunc, _ = env.step(a)
            rows.append(obs)
            done = term or trunc
        return np.array(rows)

    first, again, other = rollout(5), rollout(5), rollout(6)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[:, -3:], other[:, -3:])  # the window depends on the seed


def test_window_layout_is_declared_and_the_box_holds_it() -> None:
    layout = window_layout("bof", 3)
    assert layout.names[:3] == ("tap_3_c_dev", "tap_3_temp_dev", "tap_3_valid")
    assert layout.names[-3:] == ("tap_1_c_dev", "tap_1_temp_dev", "tap_1_valid")
    assert [f.unit for f in layout.fields[:3]] == ["band", "band", "-"]
    env = HistoryWrapper(envs.make("paint"), MemoryConfig("window", 2))
    n_raw = len(PO)
    assert env.observation_space.shape == (n_raw + 6,)
    box = env.observation_space
    assert isinstance(box, gym.spaces.Box)
    np.testing.assert_array_equal(box.low[n_raw:], window_layout("paint", 2).low)
    assert window_layout("paint", 2).names[0] == "body_2_dft_base_dev"


# ------------------------------------------------------------------ what the window holds
def test_bof_window_holds_the_taps_the_env_reported() -> None:
    """A 5-heat campaign, window of 3: after each tap the window is the last taps' measured C
    and T deviations from the aims in bands (the env's unit KPIs), oldest first, with zeros
    and flag 0 in the slots before the campaign's first heats."""
    units = 3
    env = HistoryWrapper(
        envs.make("bof", scenario="drift", campaign_heats=5), MemoryConfig("window", units)
    )
    obs, _ = env.reset(seed=3)
    np.testing.assert_array_equal(obs[-3 * units :], 0.0)
    taps: list[tuple[float, float]] = []
    last_window, done = obs[-3 * units :].copy(), False
    while not done:
        obs, _, term, trunc, info = env.step(zero_action(env))
        done = term or trunc
        if info.get("unit_end"):
            kpi, p = info["unit_kpi"], env.unwrapped.params  # type: ignore[attr-defined]
            taps.append(
                (
                    (kpi["measured_c_pct"] - p.aim_c_pct) / BAND_C,
                    (kpi["measured_temp_c"] - p.aim_temp_c) / BAND_T,
                )
            )
            window = obs[-3 * units :].reshape(units, 3)
            recent = taps[-units:]
            empty = units - len(recent)
            np.testing.assert_array_equal(window[:empty], 0.0)
            np.testing.assert_allclose(window[empty:, :2], recent, atol=1e-4)
            np.testing.assert_array_equal(window[empty:, 2], 1.0)
            # the latest slot is the tap the env's own observation carries
            np.testing.assert_array_equal(
                window[-1, :2], obs[[BO.last_tap_c_dev, BO.last_tap_temp_dev]]
            )
        else:  # within a heat the window does not move
            np.testing.assert_array_equal(obs[-3 * units :], last_window)
        last_window = obs[-3 * units :].copy()
    assert len(taps) == 5


def test_paint_window_holds_the_gauge_readings_per_body() -> None:
    units = 4
    env = HistoryWrapper(envs.make("paint"), MemoryConfig("window", units))
    obs, _ = env.reset(seed=2)
    np.testing.assert_array_equal(obs[-3 * units :], 0.0)  # no body painted yet
    readings = []
    for _ in range(6):
        obs, *_ = env.step(zero_action(env))
        readings.append(
            [
                obs[PO.dft_base_measured] - obs[PO.dft_target_base],
                obs[PO.dft_clear_measured] - obs[PO.dft_target_clear],
            ]
        )
        window = obs[-3 * units :].reshape(units, 3)
        recent = readings[-units:]
        empty = units - len(recent)
        np.testing.assert_array_equal(window[:empty], 0.0)
        np.testing.assert_allclose(window[empty:, :2], recent, atol=1e-5)
        np.testing.assert_array_equal(window[empty:, 2], 1.0)


def test_a_missing_gauge_reading_is_zero_with_flag_zero() -> None:
    """A NaN dropout of the base gauge: the body is in the window, its values 0 and flag 0."""
    sensors = {"dft_base": {"dropout_prob": 1.0, "dropout_mode": "nan"}}
    env = HistoryWrapper(envs.make("paint", sensors=sensors), MemoryConfig("window", 2))
    env.reset(seed=0)
    for _ in range(3):
        obs, *_ = env.step(zero_action(env))
    assert np.isnan(obs[PO.dft_base_measured])
    np.testing.assert_array_equal(obs[-6:], 0.0)


# ------------------------------------------------------------------ vector == single
def make_vec(process: str, n: int) -> gym.vector.VectorEnv:
    return gym.make_vec(
        envs.process(process).env_id,
        num_envs=n,
        vectorization_mode="vector_entry_point",
        autoreset_mode="same_step",
        **SHORT[process],
    )


def single(process: str, residual: ResidualConfig, memory: MemoryConfig) -> gym.Env:
    env = envs.make(process, **SHORT[process])
    env = ResidualWrapper(env, residual) if residual.active else env
    return HistoryWrapper(env, memory)


VECTOR_CASES = [
    ("bof", ResidualConfig()),
    ("bof", ResidualConfig("pid", 0.5, estimator_features=True)),
    ("paint", ResidualConfig()),
    ("paint", ResidualConfig("pid", 0.5, estimator_features=True)),
]


@pytest.mark.parametrize(
    ("process", "residual"), VECTOR_CASES, ids=["bof", "bof-pid", "paint", "paint-pid"]
)
def test_vector_wrapper_equals_single_envs_across_autoresets(
    process: str, residual: ResidualConfig
) -> None:
    """Three plants through two episodes each: every observation (window included) and every
    ended episode's final observation equal those of single envs reset with seed + i; the
    window sits after the residual estimates, which stay where they were."""
    n, memory = 3, MemoryConfig("window", 2)
    venv = make_vec(process, n)
    venv = ResidualVectorWrapper(venv, residual) if residual.active else venv
    venv = HistoryVectorWrapper(venv, memory)
    singles = [single(process, residual, memory) for _ in range(n)]
    obs, _ = venv.reset(seed=20)
    expected = np.stack([e.reset(seed=20 + i)[0] for i, e in enumerate(singles)])
    np.testing.assert_array_equal(obs, expected)
    rng = np.random.default_rng(1)
    episodes = np.zeros(n, dtype=int)
    pushed = 0
    while episodes.min() < 2:
        actions = rng.uniform(-0.2, 0.2, (n, *venv.single_action_space.shape)).astype(np.float32)  # type: ignore[misc]
        obs, _, term, trunc, info = venv.step(actions)
        for i, env in enumerate(singles):
            o, _, t, tr, _ = env.step(actions[i])
            assert bool(term[i] or trunc[i]) == (t or tr)
            if t or tr:
                np.testing.assert_array_equal(info["final_obs"][i], o)
                o, _ = env.reset()  # continues the plant's stream, as the autoreset does
                episodes[i] += 1
            np.testing.assert_array_equal(obs[i], o)
        pushed += int(obs[:, -1].sum())
    assert pushed > 0  # windows held results while they were compared


def test_train_vec_env_with_window_and_residual_has_the_stacked_observation() -> None:
    memory = MemoryConfig("window", 3)
    residual = ResidualConfig("pid", 0.5, estimator_features=True)
    venv = make_sb3_vec_env("bof", n_envs=2, seed=0, residual=residual, memory=memory)
    obs = venv.reset()
    assert obs.shape == (2, len(BO) + 5 + 9)
    np.testing.assert_array_equal(obs[:, -9:], 0.0)
    plain = make_sb3_vec_env("bof", n_envs=2, seed=0, memory=MemoryConfig())
    np.testing.assert_array_equal(plain.reset(), make_sb3_vec_env("bof", n_envs=2, seed=0).reset())


# ------------------------------------------------------------------ the policy keeps its history
class LinearPolicy:
    """A fixed random linear map: stands in for a trained network (it reads the window)."""

    def __init__(self, n_in: int, n_act: int) -> None:
        self.w = np.random.default_rng(0).normal(0.0, 0.3, (n_in, n_act))
        self.observation_shape = (n_in,)

    def act(self, obs: np.ndarray) -> np.ndarray:
        z = np.nan_to_num(np.asarray(obs, dtype=np.float64))
        return np.tanh(z @ self.w / 50.0).astype(np.float32)


@pytest.mark.parametrize("with_residual", [False, True], ids=["plain", "on-pid"])
def test_history_policy_on_the_plain_env_equals_the_policy_on_the_wrapper(
    with_residual: bool,
) -> None:
    process, memory = "bof", MemoryConfig("window", 2)
    residual = ResidualConfig("pid", 0.5, True) if with_residual else ResidualConfig()
    wrapped = single(process, residual, memory)
    n_in, n_act = wrapped.observation_space.shape[0], wrapped.action_space.shape[0]  # type: ignore[index]
    learned = LinearPolicy(n_in, n_act)
    seeds = [3, 4]
    on_wrapper = evaluate(learned, lambda: single(process, residual, memory), seeds)
    own: Any = HistoryPolicy(learned, UnitHistory(process, memory.units))
    assert own.observation_shape == (n_in - 6,)
    if with_residual:
        plant = wrapped.unwrapped.variant  # type: ignore[attr-defined]
        own = ResidualPolicy(own, ResidualController(residual, process, n_act, plant))
    on_plain = evaluate(own, lambda: envs.make(process, **SHORT[process]), seeds)
    np.testing.assert_array_equal(on_wrapper.returns, on_plain.returns)
    assert len(on_plain.units) == 6  # three heats per campaign were tapped and remembered


# ------------------------------------------------------------------ bad settings
@pytest.mark.parametrize(
    ("node", "message"),
    [
        ({"name": "lstm"}, "unknown memory 'lstm'"),
        ({"name": "window", "units": 0}, "memory=window needs memory.units >= 1"),
        ({"name": "none", "units": 5}, "memory.units=5 needs memory=window"),
        ({"name": "window", "units": "five"}, "memory.units must be a whole number"),
        ({"name": "window", "units": 3, "size": 2}, r"unknown key\(s\) \['size'\]"),
    ],
)
def test_bad_memory_config_is_refused(node: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        memory_config(node)


def test_memory_config_defaults_and_params() -> None:
    assert memory_config(None) == MemoryConfig() and not MemoryConfig().active
    assert memory_config({"name": "window", "units": "4"}) == MemoryConfig("window", 4)


def test_window_for_an_unknown_process_is_refused() -> None:
    with pytest.raises(ValueError, match=r"no unit-result window for process 'tank'"):
        UnitHistory("tank", 3)
    assert set(UNIT_RESULTS) == {"bof", "paint"}


def test_vector_wrapper_needs_same_step_autoreset() -> None:
    venv = gym.make_vec("plantrl/BOF-v2", num_envs=2, vectorization_mode="vector_entry_point")
    with pytest.raises(ValueError, match="autoreset_mode='same_step'"):
        HistoryVectorWrapper(venv, MemoryConfig("window", 2))


def test_history_of_the_wrong_width_is_refused() -> None:
    history = UnitHistory("bof", 2)
    history.reset(2)
    with pytest.raises(ValueError, match=r"needs observations of shape \(2, >= 26\)"):
        history.observe(np.zeros((2, 10), np.float32))


def test_docstring_example_runs() -> None:
    import doctest

    import agents.history

    result = doctest.testmod(agents.history, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_docstring_tables_match_the_declared_unit_results() -> None:
    """The module docstring's two tables (name, unit, range) are the declared blocks."""
    import re

    import agents.history

    doc = agents.history.__doc__ or ""
    rows = re.findall(r"^\| ``(\w+)`` \| (\S+) \| \[(\S+), (\S+)\] \|", doc, re.M)
    documented = [(n, u, float(lo.replace("−", "-")), float(hi)) for n, u, lo, hi in rows]
    declared = [row for source in UNIT_RESULTS.values() for row in source.block.table()]
    assert documented == declared
