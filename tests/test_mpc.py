"""MPC oracle: the optimiser, the rollout kernels against the envs, the policy protocol.

The kernels must reproduce the envs' own rewards bit for bit (the oracle and the env share the
physics, DESIGN.md), the oracle must be reproducible and clearly better than the operator, and
misuse must fail with a clear message. Small optimiser settings keep the file fast.
"""

from __future__ import annotations

import doctest
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import envs  # noqa: F401  (registers the env ids)
from agents.baselines import bof_mpc, paint_mpc
from agents.baselines.bof_mpc import BOFMPCOracle
from agents.baselines.mpc import BlockLayout, CEMConfig, CEMPlanner, episode_rngs, load_config
from agents.baselines.operator import OperatorPolicy
from agents.baselines.paint_mpc import PaintMPCOracle
from agents.evaluation import evaluate
from envs.core.noise import normal, uniform
from envs.paint import layout as paint_layout
from envs.paint import rollout as paint_rollout
from envs.steel import layout as steel_layout
from envs.steel import rollout as steel_rollout

SEEDS = [200000, 200001, 200002]
PAINT_BODIES = 24  # a short shift keeps the paint tests fast; the oracle plans a few bodies


def make_bof(**kwargs: Any) -> Any:
    return gym.make("plantrl/BOF-v2", scenario="nominal", **kwargs)


def make_paint(**kwargs: Any) -> Any:
    kwargs.setdefault("shift_bodies", PAINT_BODIES)
    return gym.make("plantrl/PaintLine-v1", scenario="nominal", **kwargs)


def small_bof() -> BOFMPCOracle:
    return BOFMPCOracle.from_config(horizon_steps=40, replan_every=5, samples=32, iterations=2)


def small_paint() -> PaintMPCOracle:
    return PaintMPCOracle.from_config(horizon=3, samples=32, iterations=2, fresh_iterations=6)


# ---------------------------------------------------------------- optimiser
def test_block_layout_expand_shift_average() -> None:
    layout = BlockLayout.uniform(7, 3)
    assert layout.block_steps == (3, 3, 1) and layout.horizon == 7
    plan = np.array([[0.0], [1.0], [2.0]])
    assert layout.expand(plan)[:, 0].tolist() == [0, 0, 0, 1, 1, 1, 2]
    # two steps later: [0, 1, 1, 1, 2, 2, 2] re-blocked by means
    np.testing.assert_allclose(layout.shift(plan, 2)[:, 0], [2 / 3, 5 / 3, 2.0])
    np.testing.assert_allclose(layout.average(layout.expand(plan)), plan)


def test_cem_minimises_a_quadratic_and_returns_its_best_candidate() -> None:
    layout, target = BlockLayout((1, 1)), np.array([[0.3, -0.6], [0.9, 0.1]])

    def cost(cand: np.ndarray, active: np.ndarray) -> np.ndarray:
        return ((cand - target) ** 2).sum(axis=(2, 3))

    planner = CEMPlanner(CEMConfig(samples=64, iterations=8, seed=1), layout, 2)
    init = np.zeros((2, 2, 2))
    res = planner.optimise(init, cost, episode_rngs(1, 2), np.array([True, False]))
    np.testing.assert_allclose(res.plan[0], target, atol=0.05)
    assert res.cost[0] == pytest.approx(cost(res.plan[None, :1], np.ones(1, bool))[0, 0])
    assert np.all(np.diff(res.best_by_iteration[:, 0]) <= 0.0)  # the best never gets worse
    assert np.isinf(res.cost[1])  # an inactive episode is not planned


def test_cem_config_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="samples"):
        CEMConfig(samples=2)
    with pytest.raises(ValueError, match="elite_frac"):
        CEMConfig(elite_frac=0.9)
    with pytest.raises(ValueError, match="replan_every"):
        BOFMPCOracle(horizon_steps=10, replan_every=20)
    with pytest.raises(ValueError, match="endpoint_noise"):
        BOFMPCOracle(endpoint_noise="maybe")
    with pytest.raises(ValueError, match="fine_bodies"):
        PaintMPCOracle(horizon=4, fine_bodies=5)
    with pytest.raises(ValueError, match="scenarios"):
        PaintMPCOracle(scenarios=3)


@pytest.mark.parametrize("module", [bof_mpc, paint_mpc])
def test_docstring_examples(module: Any) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0 and result.failed == 0


def test_from_config_reads_the_committed_yaml() -> None:
    for cls, path in ((BOFMPCOracle, bof_mpc.CONFIG_PATH), (PaintMPCOracle, paint_mpc.CONFIG_PATH)):
        values = load_config(path, {})
        oracle = cls.from_config(samples=8)
        assert oracle.config.samples == 8
        assert oracle.config.iterations == values["iterations"]
        assert oracle.replan_every == values["replan_every"]
        default = cls.from_config()  # the constructor's defaults are the committed config
        assert cls().config == default.config and cls().layout == default.layout


# ---------------------------------------------------------------- kernels = env physics
def test_bof_kernel_reproduces_the_env_rewards_exactly() -> None:
    env = make_bof()
    env.reset(seed=SEEDS[0])
    b = env.unwrapped.batch
    plants = steel_rollout.planning_copy(b.plants, endpoint_errors=True)
    costs = np.full(b.max_steps + 1, np.nan)
    n_act = len(steel_layout.ACTUATORS)
    seq, block = np.zeros((1, n_act)), np.zeros(1, dtype=np.int64)
    total, n = steel_rollout.rollout(plants, 0, seq, block, costs)
    rewards: list[float] = []
    done = False
    while not done:
        _, r, term, trunc, _ = env.step(np.zeros(n_act, dtype=np.float32))
        rewards.append(float(r))
        done = term or trunc
    assert n == len(rewards)
    assert np.array_equal(-costs[:n] / 1000.0, np.array(rewards))  # reward = −cost/1000, exact
    assert total == pytest.approx(-1000.0 * sum(rewards))


def test_paint_kernel_reproduces_the_env_rewards_exactly() -> None:
    # drifts held still (σ = 0, no trend), so the env's drift bank changes nothing the kernel
    # does not know; the process words are the env's own, read ahead from the plant's stream
    still = {name: {"ou_sigma": 0.0, "trend_per_step": 0.0} for name in paint_layout.DRIFTS.names}
    env = make_paint(drifts=still)
    env.reset(seed=SEEDS[0])
    b = env.unwrapped.batch
    words = b.streams.peek_step_words(0, PAINT_BODIES)
    costs = np.empty(PAINT_BODIES)
    plan = paint_rollout.new_plan([b.plants], PAINT_BODIES, np.zeros(PAINT_BODIES, np.int64))
    seq = np.zeros((1, paint_layout.N_ACT))
    paint_rollout.rollout_one(plan, 0, seq, words, costs)
    rewards = [env.step(np.zeros(paint_layout.N_ACT, np.float32))[1] for _ in range(PAINT_BODIES)]
    assert np.array_equal(-costs / 100.0, np.array(rewards))  # reward = −cost/100, exact


def test_paint_horizon_words_follow_the_module_table() -> None:
    words = paint_rollout.horizon_words(np.array([0.05, 0.5, 0.97]))
    median = paint_rollout.MEDIAN_WORD
    assert abs(normal(int(median))) < 1e-3
    W, WL = paint_layout.W, paint_layout.WL
    for w in words:
        for layer in range(paint_layout.N_LAYERS):
            assert normal(int(w[W.flow + layer])) == normal(median)
            lot = W.lots + layer * paint_layout.LOT_WORDS_STRIDE
            event = uniform(int(w[lot + WL.event_hi]), int(w[lot + WL.event_lo]))
            assert event > 1.0 - 1e-9  # no lot change
    u = [uniform(int(w[W.style_hi]), int(w[W.style_lo])) for w in words]
    np.testing.assert_allclose(u, [0.05, 0.5, 0.97], atol=1e-9)


# ---------------------------------------------------------------- the policy
@pytest.mark.parametrize(("make", "oracle"), [(make_bof, small_bof), (make_paint, small_paint)])
def test_oracle_returns_valid_actions(make, oracle) -> None:  # type: ignore[no-untyped-def]
    policy = oracle()
    env_list = [make() for _ in range(2)]
    policy.reset(2)
    policy.attach(env_list)
    obs = np.stack([e.reset(seed=s)[0] for e, s in zip(env_list, SEEDS, strict=False)])
    actions = policy.act(obs)
    assert actions.shape == (2, policy.n_act) and actions.dtype == np.float32
    assert np.all(np.abs(actions) <= 1.0) and np.all(np.isfinite(actions))
    assert env_list[0].action_space.contains(actions[0])


@pytest.mark.parametrize(
    ("make", "oracle", "min_gain"),
    # share of the operator's cost saved, at least: ≈ 50 % of a heat's cost on the BOF (the
    # oracle knows the bath), ≈ 4 % on 24 paint bodies (≈ 9 % on full shifts, where the first
    # bodies' transient from the recipe weighs less)
    [(make_bof, small_bof, 0.3), (make_paint, small_paint, 0.02)],
)
def test_oracle_is_reproducible_and_beats_the_operator(make, oracle, min_gain) -> None:  # type: ignore[no-untyped-def]
    policy = oracle()
    first = evaluate(policy, make, SEEDS)
    again = evaluate(policy, make, SEEDS)
    assert np.array_equal(first.returns, again.returns)
    operator = evaluate(OperatorPolicy(policy.n_act), make, SEEDS)
    gain = first.returns - operator.returns
    assert np.all(gain > 0.0), gain
    assert gain.mean() > min_gain * abs(operator.returns.mean()), (gain, operator.returns)


def test_bof_oracle_replans_at_each_heat_of_a_campaign() -> None:
    policy = small_bof()
    res = evaluate(policy, lambda: make_bof(campaign_heats=2), SEEDS[:1])
    assert len(res.units) == 2
    assert len(policy.planned_costs) == 2  # one fresh plan per heat


def test_misuse_fails_clearly() -> None:
    policy = small_bof()
    with pytest.raises(RuntimeError, match="attach"):
        policy.act(np.zeros((1, 26), np.float32))
    env_list = [make_bof(), make_bof()]
    policy.attach(env_list)
    obs = np.stack([e.reset(seed=s)[0] for e, s in zip(env_list, SEEDS, strict=False)])
    with pytest.raises(ValueError, match="batch of 2"):
        policy.act(obs[:1])
    with pytest.raises(TypeError, match="BOF"):
        policy.attach([make_paint()])
    with pytest.raises(TypeError, match="paint"):
        small_paint().attach([make_bof()])
    policy.reset(3)
    with pytest.raises(RuntimeError, match="attach"):  # reset for other episodes drops the envs
        policy.act(obs)
    with pytest.raises(ValueError, match="announced 3"):
        policy.attach(env_list)
