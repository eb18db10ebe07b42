"""Drift events drawn per episode (``drift_events``): timing, size and sign from the plant's own
stream, the ``mixture`` training profiles and the ``drift_varied`` sets, recovery from each
episode's own start. (Native == sync on these profiles: ``tests/test_env_contract.py``, which
runs every scenario file; defaults bit for bit: ``tests/test_golden.py``.)"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import envs
from agents.evaluation import evaluate
from envs.core.disturbances import (
    DRIFT_STATE,
    N_EVENT_DRAWS,
    DriftBank,
    DriftEvents,
)
from envs.paint.layout import LAYER_STRIDE, XL, X
from experiments.lib.scenario_sets import load_scenario_set
from experiments.lib.stats import drift_recovery, episode_recovery, in_spec_flags

BOF, PAINT = "plantrl/BOF-v2", "plantrl/PaintLine-v1"
XD = DRIFT_STATE.at


def _starts(env_id: str, scenario: str, seeds: range) -> list[int]:
    env = gym.make(env_id, scenario=scenario)
    out = [int(env.reset(seed=s)[1]["drift_start"]) for s in seeds]
    env.close()
    return out


@pytest.mark.parametrize("env_id", [BOF, PAINT])
@pytest.mark.parametrize("scenario", ["mixture", "drift_varied"])
def test_start_varies_across_episodes_and_is_reproducible(env_id: str, scenario: str):
    first = _starts(env_id, scenario, range(16))
    assert first == _starts(env_id, scenario, range(16))  # same seed, same start
    drawn = [s for s in first if s >= 0]
    assert len(set(drawn)) >= 5, first
    unwrapped: Any = gym.make(env_id, scenario=scenario).unwrapped
    lo, hi = unwrapped.batch.drift_events.start
    assert all(lo <= s <= hi for s in drawn)
    if scenario == "drift_varied":  # an evaluation drift set always has its drift
        assert len(drawn) == len(first)


def test_mixture_draws_none_and_every_group():
    """Over many episodes the mixture gives campaigns without events and each group, with
    both signs and a spread of sizes (read from the drift states)."""
    env: Any = gym.make(PAINT, scenario="mixture").unwrapped
    bank, events = env.batch.drifts, env.batch.drift_events
    seen, signs, sizes = set(), set(), []
    for s in range(200):
        start = env.reset(seed=s)[1]["drift_start"]
        state = env.batch.plants.drift_state[0]
        on = state[:, XD.ev_start] >= 0
        if start < 0:
            assert not on.any()
            seen.add("none")
            continue
        names = {bank.names[j] for j in np.flatnonzero(on)}
        group = [g for g, m in events.groups.items() if set(m) == names]
        assert len(group) == 1, names
        seen.add(group[0])
        j = int(np.flatnonzero(on)[0])
        ratio = state[j, XD.ev_mag] / bank.specs[bank.names[j]].event_magnitude
        signs.add(np.sign(ratio))
        sizes.append(abs(ratio))
    assert seen == {"none", *events.groups}
    assert signs == {-1.0, 1.0}
    assert 0.5 <= min(sizes) < 0.7 and 1.3 < max(sizes) <= 1.5


def test_paint_drift_moves_at_the_drawn_body():
    """The thin clear lot of ``drift_varied`` takes effect at the episode's own start: the
    volume-solids drift is 1 before it and scaled from it on."""
    env: Any = gym.make(PAINT, scenario="drift_varied").unwrapped
    j = env.batch.drifts.index("vs_clear")
    col = X.layers + LAYER_STRIDE + XL.dr_vs  # the clear layer's drift multiplier in the state
    for seed in (3, 4):
        start = env.reset(seed=seed)[1]["drift_start"]
        mag = env.batch.plants.drift_state[0, j, XD.ev_mag]
        assert 0.8 * -0.10 - 1e-12 >= mag >= 1.2 * -0.10 - 1e-12
        values = [env.batch.plants.state[0, col]]  # values[k]: the state for body k
        for _ in range(start + 2):
            env.step(np.zeros(env.action_space.shape, dtype=np.float32))
            values.append(env.batch.plants.state[0, col])
        assert values[:start] == [1.0] * start
        assert values[start] == values[start + 2] == pytest.approx(1.0 + mag)


def test_bof_campaign_params_follow_the_drawn_heat():
    """The lance-wear event of ``drift_varied`` ramps k_C down from the campaign's own start
    heat: at every heat, the drift is its OU part + trend + the event's ramp from that start,
    and the heat's k_C parameter is the base one times it."""
    env: Any = gym.make(BOF, scenario="drift_varied").unwrapped
    start = env.reset(seed=7)[1]["drift_start"]
    batch = env.batch
    j = batch.drifts.index("lance_wear_kc")
    spec = batch.drifts.specs["lance_wear_kc"]
    kc0 = env.params.kc_per_min
    mag = batch.drift_state[0, j, XD.ev_mag]
    assert 0.8 * 0.3 - 1e-12 <= -mag <= 1.2 * 0.3 + 1e-12
    offsets = []
    heats = 0
    while heats < start + 3:
        _, _, term, _, info = env.step(np.zeros(env.action_space.shape, dtype=np.float32))
        assert not term
        if not info["unit_end"]:
            continue
        heats += 1
        assert info["drift_start"] == start  # fixed for the campaign
        state = batch.drift_state[0, j]
        assert state[XD.k] == heats
        free = 1.0 + state[XD.ou] + spec.trend_per_step * heats  # the drift without its event
        offsets.append(batch.drift_values[0, j] - free)
        assert env.params.kc_per_min == pytest.approx(kc0 * batch.drift_values[0, j])
    ramp = [mag * min(max(h - start + 1, 0) / 5.0, 1.0) for h in range(1, heats + 1)]
    np.testing.assert_allclose(offsets, ramp, atol=1e-12)
    assert offsets[start - 2] == 0.0 and offsets[start - 1] < 0.0  # heats start−1 and start


def test_defaults_draw_nothing_and_keep_fixed_events():
    """Without ``drift_events`` the env reports no drift start and a drift bank's event is the
    spec's, in every episode (the default profiles stay bit for bit: tests/test_golden.py)."""
    env: Any = gym.make(PAINT, scenario="drift").unwrapped
    j = env.batch.drifts.index("vs_clear")
    for seed in (0, 1):
        _, info = env.reset(seed=seed)
        assert "drift_start" not in info
        state = env.batch.plants.drift_state[0, j]
        assert (state[XD.ev_start], state[XD.ev_mag]) == (100.0, -0.10)


def test_apply_maps_uniforms_to_group_start_size_sign():
    bank = DriftBank(
        {
            "a": {"event_start": 10, "event_magnitude": 2.0},
            "b": {"event_start": 15, "event_magnitude": -1.0},
            "c": {"event_start": 3, "event_magnitude": 5.0},
        }
    )
    ev = DriftEvents.from_dict(
        {
            "groups": {"ab": ["a", "b"], "c": ["c"]},
            "start": [4, 8],
            "size": [0.5, 1.5],
            "p_none": 0.2,
            "p_flip": 0.5,
        }
    )
    states = bank.new_state(3)
    u = np.array(
        [
            [0.1, 0.5, 0.5, 0.9],  # none
            [0.3, 0.0001, 1.0 - 1e-9, 0.9],  # group ab, start 4, size → 1.5, no flip
            [0.95, 0.9999, 0.0, 0.1],  # group c, start 8, size 0.5, flipped
        ]
    )
    assert u.shape[1] == N_EVENT_DRAWS
    starts = ev.apply(bank, states, np.arange(3), u)
    assert starts.tolist() == [-1, 4, 8]
    assert (states[0, :, XD.ev_start] == -1).all()
    assert states[1, :, XD.ev_start].tolist() == [4.0, 9.0, -1.0]  # b keeps its 5 units after a
    np.testing.assert_allclose(states[1, :2, XD.ev_mag], [3.0, -1.5])
    assert states[2, :, XD.ev_start].tolist() == [-1.0, -1.0, 8.0]
    np.testing.assert_allclose(states[2, 2, XD.ev_mag], -2.5)


@pytest.mark.parametrize(
    ("events", "match"),
    [
        ({"groups": {"g": ["a"]}, "start": [0, 5]}, "1 ≤ lo ≤ hi"),
        ({"groups": {"g": ["a"]}, "start": [6, 5]}, "1 ≤ lo ≤ hi"),
        ({"groups": {"g": ["a"]}, "start": [1, 5], "size": [2.0, 1.0]}, "size"),
        ({"groups": {"g": ["a"]}, "start": [1, 5], "p_none": 1.5}, "p_none"),
        ({"groups": {}, "start": [1, 5]}, "groups"),
        ({"groups": {"g": ["a"]}, "start": [1, 5], "when": 3}, "valid keys"),
        ({"groups": {"g": ["a"]}}, "needs"),
    ],
)
def test_bad_drift_events_fail_clearly(events: dict[str, Any], match: str):
    with pytest.raises(ValueError, match=match):
        DriftEvents.from_dict(events)


def test_group_members_need_known_drifts_with_events():
    bank = DriftBank({"a": {"event_start": 5, "event_magnitude": 1.0}, "b": {}})
    with pytest.raises(ValueError, match="unknown drift"):
        DriftEvents.from_dict({"groups": {"g": ["zz"]}, "start": [1, 5]}).compile(bank)
    with pytest.raises(ValueError, match="scheduled event from unit ≥ 1"):
        DriftEvents.from_dict({"groups": {"g": ["a", "b"]}, "start": [1, 5]}).compile(bank)
    with pytest.raises(ValueError, match="campaign"):
        envs.make("bof", scenario={"drift_events": {"groups": {"g": ["x"]}, "start": [1, 2]}})


def test_scenario_sets_read_per_episode_starts():
    fixed, varied = load_scenario_set("bof", "drift"), load_scenario_set("bof", "drift_varied")
    assert fixed.drift_start == 5 and not fixed.drift_start_varies and fixed.has_drift
    assert varied.drift_start is None and varied.drift_start_varies and varied.has_drift
    assert not load_scenario_set("bof", "nominal").has_drift


def test_recovery_is_measured_from_each_episodes_start():
    """Per-episode starts give each episode's own recovery; episodes without drift drop out."""
    good, bad = {"ok": 1.0}, {"ok": 0.0}
    # episode 1 fails at units 4–5, episode 2 at units 10–11, episode 3 has no drift
    ep1 = [good] * 4 + [bad] * 2 + [good] * 10
    ep2 = [good] * 10 + [bad] * 2 + [good] * 4
    ep3 = [good] * 16
    rec = drift_recovery([ep1, ep2, ep3], [4, 10, -1], ["ok"], 2, 1.0)
    assert rec.units == [3, 3] and rec.recovered == [True, True] and rec.out_of_spec == [2, 2]
    # a fixed start at 4 charges episode 2 with the units before its drift
    assert drift_recovery([ep2], 4, ["ok"], 2, 1.0).units == [9]
    assert rec.units[1] == episode_recovery(in_spec_flags(ep2, ["ok"]), 10, 2, 1.0)[0]
    with pytest.raises(ValueError, match="2 drift starts for 3 episodes"):
        drift_recovery([ep1, ep2, ep3], [4, 10], ["ok"], 2, 1.0)


def test_evaluate_reports_each_episodes_drawn_start():
    n_act = gym.make(PAINT).action_space.shape[0]

    def recipe(obs: np.ndarray) -> np.ndarray:
        return np.zeros((len(obs), n_act), dtype=np.float32)

    def make() -> gym.Env:
        return gym.make(PAINT, scenario="drift_varied", shift_bodies=300)

    res = evaluate(recipe, make, [11, 12, 13])
    assert res.drift_starts == _starts(PAINT, "drift_varied", range(11, 14))
    nominal = evaluate(recipe, lambda: gym.make(PAINT, scenario="nominal", shift_bodies=20), [1])
    assert nominal.drift_starts == [None]
