"""PID baselines: the generic loop, the estimators, both controllers and their tuned behaviour."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

import envs
from agents.baselines.bof_pid import BOFPID, BOFPIDGains
from agents.baselines.operator import OperatorPolicy
from agents.baselines.paint_pid import PaintPID, PaintPIDGains
from agents.baselines.pid import PID, PIDGains
from agents.estimators import PAINT_OBS, BOFBathEstimator, PaintFilmEstimator
from agents.evaluation import evaluate
from agents.policy import Policy
from experiments.tuning import pid as tune_pid

# evaluation seeds of the scenario sets (envs/conf/scenarios/*: first_seed 200000), never tuned on
EVAL_SEEDS = range(200_000, 200_008)


def bof_env(scenario: str = "nominal"):
    return envs.make("bof", "bof_250t", scenario=scenario)


def paint_env(scenario: str = "nominal"):
    return envs.make("paint", "paint_50jph", scenario=scenario)


# ------------------------------------------------------------------------------ generic PID
def test_pid_is_a_pi_with_clamped_output():
    pid = PID(PIDGains(kp=2.0, ki=0.5, out_min=-1.0, out_max=1.0), n=3, dt=2.0)
    u = pid.step(np.array([0.1, 1.0, -1.0]))
    np.testing.assert_allclose(u, [0.2 + 0.1, 1.0, -1.0])
    np.testing.assert_allclose(pid.integral, [0.1, 0.0, 0.0])  # saturated loops: no integration


def test_anti_windup_lets_a_saturated_loop_recover_at_once():
    gains = PIDGains(kp=0.0, ki=1.0, out_min=-1.0, out_max=1.0)
    clamped, naive = PID(gains), PID(dataclasses.replace(gains, out_max=math.inf))
    for _ in range(50):  # a long saturating error
        clamped.step(np.array([1.0]))
        naive.step(np.array([1.0]))
    assert clamped.integral[0] == pytest.approx(1.0) and naive.integral[0] == pytest.approx(50.0)
    # the sign of the error flips: the clamped loop leaves the limit on the first sample
    assert clamped.step(np.array([-0.5]))[0] == pytest.approx(0.5)
    assert naive.step(np.array([-0.5]))[0] > 1.0


def test_integral_limit_and_derivative_without_first_kick():
    pid = PID(PIDGains(ki=1.0, kd=1.0, i_limit=0.3), n=1)
    assert pid.step(np.array([0.2]))[0] == pytest.approx(0.2)  # no derivative kick at first
    u = pid.step(np.array([0.3]))[0]  # integral capped at 0.3, derivative 0.1
    assert pid.integral[0] == pytest.approx(0.3) and u == pytest.approx(0.4)


def test_reset_and_mask():
    pid = PID(PIDGains(kp=1.0, ki=1.0), n=3)
    pid.step(np.ones(3))
    held = pid.step(np.full(3, 2.0), mask=np.array([True, False, True]))
    np.testing.assert_allclose(held, [5.0, 2.0, 5.0])  # loop 1 held its output and integral
    np.testing.assert_allclose(pid.integral, [3.0, 1.0, 3.0])
    pid.reset(mask=np.array([False, True, False]))
    np.testing.assert_allclose(pid.integral, [3.0, 0.0, 3.0])
    pid.reset(5)
    assert pid.n == 5 and not pid.integral.any() and not pid.output.any()


def test_pid_gains_are_validated():
    with pytest.raises(ValueError, match="out_min"):
        PIDGains(out_min=1.0, out_max=0.0)
    with pytest.raises(ValueError, match="unknown PID gain"):
        PIDGains.from_dict({"kq": 1.0})


@pytest.mark.parametrize(
    "name", ["agents.baselines.pid", "agents.baselines.bof_pid", "agents.baselines.paint_pid"]
)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------------------ estimators
def test_bof_estimator_tracks_the_bath_after_the_sublance():
    """Bath carbon and temperature estimates against the simulator's truth (info only)."""
    est = BOFBathEstimator(envs.make("bof").unwrapped.params)
    errors_c, errors_t = [], []
    for seed in EVAL_SEEDS[:4]:
        env = bof_env()
        obs, info = env.reset(seed=seed)
        est.reset(1)
        done = False
        while not done:
            est.update(obs[None])
            if est.sublance[0] and info["truth"]["true_c_pct"] < 0.3:
                errors_c.append(est.carbon[0] - info["truth"]["true_c_pct"])
                errors_t.append(est.temp[0] - info["truth"]["true_temp_c"])
            obs, _, done, _, info = env.step(np.zeros(5, np.float32))
    # sub-lance precision σ_C 0.017 wt%, σ_T 8 K bound what any estimate can do
    assert np.sqrt(np.mean(np.square(errors_c))) < 0.04
    assert np.sqrt(np.mean(np.square(errors_t))) < 20.0


def test_bof_estimator_reads_the_sublance_deviation_as_the_reading():
    """The sub-lance is observed as (reading − aim)/band: the estimator's temperature at the
    reading is the simulator's sub-lance reading (the state row, never observed directly)."""
    env = bof_env()
    params = env.unwrapped.params
    est = BOFBathEstimator(params)
    obs, _ = env.reset(seed=EVAL_SEEDS[1])
    est.reset(1)
    while not est.sublance[0]:
        obs, _, _, _, _ = env.step(np.zeros(5, np.float32))
        est.update(obs[None])
    x = env.unwrapped.batch.state[0]
    reading = x[envs.steel.layout.X.sublance_temp]
    assert est.temp[0] == pytest.approx(reading, abs=1e-3)
    assert abs(reading - params.aim_temp_c) > 15.0  # not the aim: the reading moved it


def test_bof_pid_end_commands_are_reached_exactly():
    """The PID's end-oxygen command (through the public dead-band inverse) is the plant's end
    target when the blow stops. The target moves at most ≈ 1 % of the plan per step, about the
    blowing rate, so a stop decided late is not reachable at once: the PID picks its stop among
    the reachable ones and commands each step's move (with the BOF-v2 physics the PID that
    ignored the rate limit commanded stops the target never reached)."""
    pid = BOFPID.from_config()
    X, A = envs.steel.layout.X, envs.steel.layout.A
    for seed in EVAL_SEEDS[:4]:
        env = bof_env()
        obs, _ = env.reset(seed=seed)
        pid.reset(1)
        done = False
        while not done:
            a = pid.act(obs[None])[0]
            obs, _, done, _, _ = env.step(a)
        x = env.unwrapped.batch.state[0]
        g = np.sign(a[A.end_oxygen]) * max(abs(a[A.end_oxygen]) - 0.5, 0.0) / 0.5
        assert x[X.o2_end] == pytest.approx(x[X.o2_plan] * (1.0 + 0.15 * g), rel=1e-5)
        assert x[X.o2_blown] >= x[X.o2_end]  # it ended on its target, not on a forced end
    target = np.array([0.96, 1.0, 1.04]) * 1e4
    np.testing.assert_allclose(
        envs.steel.end_action(target, np.full(3, 1e4)), [-0.633, 0, 0.633], atol=1e-3
    )


def test_paint_estimator_removes_the_corrections_still_in_the_oven():
    """A known flow step must not show up in the film-build factor (the Smith predictor)."""
    env = paint_env()
    est = PaintFilmEstimator(env.unwrapped.params)
    factors = {}
    for step in (0.0, 1.0):  # a full trim: +10 % base flow (half a band of film)
        obs, _ = env.reset(seed=EVAL_SEEDS[0])
        est.reset(1)
        raw, fac = [], []
        for body in range(120):
            est.update(obs[None])
            if body > 60 and est.fresh[0, 0]:
                raw.append(math.log(obs[PAINT_OBS["dft_base_measured"]] / 15.0))
                fac.append(est.log_factor[0, 0])
            action = np.zeros(11, np.float32)
            action[0] = step
            obs, *_ = env.step(action)
        factors[step] = (np.mean(raw), np.mean(fac))
    assert factors[1.0][0] - factors[0.0][0] > 0.06  # the gauge sees ≈ +10 % more film …
    assert abs(factors[1.0][1] - factors[0.0][1]) < 0.02  # … the estimator knows why


# ------------------------------------------------------------------------------ controllers
@pytest.mark.parametrize(
    ("make_env", "policy", "n_act"),
    [(bof_env, BOFPID.from_config, 5), (paint_env, PaintPID.from_config, 11)],
)
def test_controllers_give_valid_actions_for_batch_and_single_obs(make_env, policy, n_act):
    pid = policy()
    assert isinstance(pid, Policy)
    env = make_env()
    obs, _ = env.reset(seed=1)
    pid.reset(3)
    for _ in range(120):
        batch = pid.act(np.stack([obs] * 3))
        assert batch.shape == (3, n_act) and batch.dtype == np.float32
        assert np.all(np.abs(batch) <= 1.0) and np.isfinite(batch).all()
        obs, _, term, trunc, _ = env.step(batch[0])
        if term or trunc:
            obs, _ = env.reset(seed=2)
    single = pid.act(obs)
    assert single.shape == (n_act,) and single.dtype == np.float32
    with pytest.raises(ValueError, match="shape"):
        pid.act(np.zeros((2, 3)))


@pytest.mark.parametrize(
    ("make_env", "policy", "n_act"),
    [
        (lambda: bof_env("drift"), BOFPID(BOFPIDGains.zeros()), 5),
        (paint_env, PaintPID(PaintPIDGains()), 11),
    ],
)
def test_zero_gains_are_the_operator(make_env, policy, n_act):
    seeds = EVAL_SEEDS[:2]
    zero = evaluate(policy, make_env, seeds)
    operator = evaluate(OperatorPolicy(n_act), make_env, seeds)
    np.testing.assert_array_equal(zero.returns, operator.returns)


def test_gains_load_from_config_or_explicitly(tmp_path: Path):
    assert BOFPID.from_config().gains == BOFPIDGains.from_dict(
        yaml.safe_load(tune_pid.BOF_CONFIG.read_text())["gains"]
    )
    assert BOFPID({"ore_gain": 0.5}).gains.ore_gain == 0.5
    assert PaintPID({"clear": {"ki": 0.1}}).gains.clear.ki == 0.1
    with pytest.raises(ValueError, match="unknown BOF PID gain"):
        BOFPID({"ore_gian": 0.5})
    with pytest.raises(ValueError, match="unknown paint PID gain"):
        PaintPID({"top": {"ki": 0.1}})


def test_tuning_is_reproducible_and_writes_its_record(tmp_path: Path):
    cfg = yaml.safe_load(tune_pid.BOF_CONFIG.read_text())
    cfg["search"]["stages"] = [
        {**cfg["search"]["stages"][0], "episodes": 2, "trials": 3},
    ]
    src = tmp_path / "bof_pid.yaml"
    src.write_text("# header kept\n" + yaml.safe_dump(cfg, sort_keys=False))
    outs = [tmp_path / "a.yaml", tmp_path / "b.yaml"]
    for out in outs:
        tune_pid.main(["--process", "bof", "--config", str(src), "--out", str(out)])
    a, b = (yaml.safe_load(p.read_text()) for p in outs)
    assert a["gains"] == b["gains"] and a["tuned"]["result"] == b["tuned"]["result"]
    assert outs[0].read_text().startswith("# header kept")
    assert set(a["tuned"]["result"]) == {"operator", "pid"}
    assert a["tuned"]["tuning_seeds"].startswith("500000")


# ------------------------------------------------------------------------------ behaviour
def test_tuned_bof_pid_beats_the_operator_on_nominal():
    """Paired on the same held-out evaluation heats (tuning used seeds 500000+)."""
    seeds = range(200_000, 200_016)
    pid = evaluate(BOFPID.from_config(), bof_env, seeds)
    operator = evaluate(OperatorPolicy(5), bof_env, seeds)
    assert pid.returns.mean() > operator.returns.mean()
    assert pid.kpi_means()["double_hit_0.02_15"] > operator.kpi_means()["double_hit_0.02_15"]


def test_tuned_paint_pid_beats_the_operator_on_nominal():
    """A small margin by nature: on the nominal line most of the DFT spread is body-to-body
    scatter no controller can remove (≈ +1 return per shift, ≈ 0.4 %)."""
    seeds = range(200_000, 200_016)
    pid = evaluate(PaintPID.from_config(), paint_env, seeds)
    operator = evaluate(OperatorPolicy(11), paint_env, seeds)
    assert pid.returns.mean() > operator.returns.mean()


def in_spec_after(series: list[list[dict[str, float]]], start: int, kpi: str) -> float:
    return float(np.mean([body[kpi] for episode in series for body in episode[start:]]))


def test_tuned_paint_pid_recovers_from_the_thin_clear_lot():
    """``drift``: a clear lot with 10 % less solids from body 100; the PI restores the film."""
    drift = lambda: paint_env("drift")  # noqa: E731
    pid = evaluate(PaintPID.from_config(), drift, EVAL_SEEDS[:6])
    operator = evaluate(OperatorPolicy(11), drift, EVAL_SEEDS[:6])
    after_pid = in_spec_after(pid.series, 100, "in_spec_clear")
    after_op = in_spec_after(operator.series, 100, "in_spec_clear")
    assert after_pid > after_op + 0.1


def _rollout_actions(policy, make_env, seed: int = 0, steps: int = 60) -> np.ndarray:
    """The policy's actions over the first ``steps`` steps of a seeded episode."""
    env = make_env()
    obs, _ = env.reset(seed=seed)
    policy.reset(1)
    out = []
    for _ in range(steps):
        a = policy.act(obs[None])[0]
        out.append(a)
        obs, _, term, trunc, _ = env.step(a)
        if term or trunc:
            break
    return np.array(out)


@pytest.mark.parametrize(
    ("process", "cls", "gains_cls", "trim", "driven"),
    [
        ("bof", BOFPID, BOFPIDGains, {"lance_height": -0.2, "lime_feed": 0.1}, "end_oxygen"),
        (
            "paint",
            PaintPID,
            PaintPIDGains,
            {"base_voltage": 0.3, "oven_setpoint": -0.1},
            "base_flow",
        ),
    ],
)
def test_operating_point_trims_only_the_actuators_the_loops_leave_alone(
    process, cls, gains_cls, trim, driven
):
    """Strong baselines tune their operating point with their gains: a trim adds a constant to
    the named actuators' actions and nothing else; a trim on a driven actuator is refused."""
    make = lambda: envs.make(process)  # noqa: E731
    tuned = cls.from_config()  # without its own operating point: the trims are the only change
    base = cls(dataclasses.replace(tuned.gains, operating_point={}), plant=tuned.params)
    gains = dataclasses.replace(base.gains, operating_point=trim)
    trimmed = cls(gains, plant=base.params)
    plain_actions = _rollout_actions(base, make)
    # the trimmed controller acts on the plain run's observations: same loop inputs
    env = make()
    obs, _ = env.reset(seed=0)
    base.reset(1)
    trimmed.reset(1)
    names = envs.process(process).layout_module.ACTUATORS.names
    for a_plain in plain_actions:
        a_trim = trimmed.act(obs[None])[0]
        assert np.array_equal(base.act(obs[None])[0], a_plain)
        for j, name in enumerate(names):
            expected = np.clip(a_plain[j] + trim.get(name, 0.0), -1, 1)
            assert a_trim[j] == pytest.approx(expected, abs=1e-6), name
        obs, *_ = env.step(a_plain)
    with pytest.raises(ValueError, match=rf"trims \['{driven}'\], which its loops drive"):
        cls(dataclasses.replace(base.gains, operating_point={driven: 0.1}), plant=base.params)
    with pytest.raises(ValueError, match="unknown actuator"):
        cls(dataclasses.replace(base.gains, operating_point={"no_such": 0.1}), plant=base.params)
    with pytest.raises(ValueError, match=r"in \[-1, 1\]"):
        name = next(iter(trim))
        cls(dataclasses.replace(base.gains, operating_point={name: 2.0}), plant=base.params)
    assert gains_cls.from_dict({"operating_point": trim}).operating_point == trim


def test_bof_ore_trim_acts_before_the_sublance_only():
    """The BOF PID drives ore after the sub-lance (the coolant for a forecast excess); before
    it, an ore trim is the set-point of the practice's ore window and adds to the action, after
    it the loop's own ore action stands (on the same observations)."""
    gains = BOFPID.from_config().gains
    base = BOFPID(dataclasses.replace(gains, operating_point={}))
    trimmed = BOFPID(dataclasses.replace(gains, operating_point={"ore_feed": 0.3}))
    env = bof_env()
    obs, _ = env.reset(seed=EVAL_SEEDS[0])
    base.reset(1)
    trimmed.reset(1)
    ore = envs.steel.layout.A.ore_feed
    before = after = 0
    done = False
    while not done:
        a_plain, a_trim = base.act(obs[None])[0], trimmed.act(obs[None])[0]
        shift = np.zeros_like(a_plain)
        if base.estimator.sublance[0]:
            after += 1
        else:
            shift[ore] = 0.3
            before += 1
        np.testing.assert_allclose(a_trim, a_plain + shift, atol=1e-6)
        obs, _, done, _, _ = env.step(a_plain)
    assert before > 10 and after > 3


def test_the_tuner_can_search_an_operating_point():
    """A stage's search space names trims as ``operating_point.<actuator>``; the tuner's
    dotted writer turns them into the gains block the PID reads."""
    gains: dict = {}
    tune_pid.set_path(gains, "operating_point.base_voltage", 0.25)
    tune_pid.set_path(gains, "base.ki", 0.01)
    pid = PaintPID(PaintPIDGains.from_dict(gains))
    assert pid.gains.operating_point == {"base_voltage": 0.25}
    assert tune_pid.get_path(gains, "operating_point.base_voltage", 0.0) == 0.25


def test_paint_flow_feedforward_and_speed_trim_set_the_operating_point():
    """The flow feed-forward is the PI's value from the first body of every shift (before the
    gauge's first reading: no feedback yet), cut to the flow the action reaches; the bell-speed
    trim is a constant adjust action on top of the (here disabled) viscosity feed-forward."""
    gains = {"base_flow_ff": 0.05, "clear_flow_ff": 1.0, "base_speed_trim": -0.4}
    pid = PaintPID(gains)
    est = pid.estimator
    a_flow = [envs.paint.layout.ACTUATORS.index(f"{ly}_flow") for ly in ("base", "clear")]
    a_speed = [envs.paint.layout.ACTUATORS.index(f"{ly}_bell_speed") for ly in ("base", "clear")]
    clear_cap = pid.flow_gains[1].out_max  # log(1 + span / mix-weighted recipe flow)
    assert 0.0 < clear_cap < 0.1
    for seed in (0, 1):  # the second shift starts at the feed-forward again
        env = paint_env()
        obs, _ = env.reset(seed=seed)
        pid.reset(1)
        for _ in range(20):  # inside the gauge's delay (≥ 25 bodies)
            a = pid.act(obs[None])[0]
            style = est.next_style[0]
            for k, u in enumerate((0.05, clear_cap)):
                q = est.q_recipe[k, style] * math.expm1(u) / pid.flow_span[k]
                assert a[a_flow[k]] == pytest.approx(np.clip(q, -1, 1), abs=1e-6)
            assert a[a_speed[0]] == pytest.approx(-0.4) and a[a_speed[1]] == 0.0
            obs, *_ = env.step(a)
    with pytest.raises(ValueError, match=r"base_speed_trim must be in \[-1, 1\]"):
        PaintPID({"base_speed_trim": 1.5})
    with pytest.raises(ValueError, match="clear_flow_ff must be finite"):
        PaintPID({"clear_flow_ff": float("nan")})
