"""Every documented parameter bound is a valid plant (issue 12, "No NaN for valid plants").

For both processes, each field of the plant's parameter dataclass is set, one at a time on the
nominal plant, to the low and to the high end of its documented range (``doc_table``, the table
of docs/physics/*.md §7 and of the env docstrings). The env must accept it (a bound the env
refuses is a documented range that is not one) and, under constant actions −1, 0 and +1 on every
dimension (three lines of one native vector env, same seed), every observation and reward of the
first steps must be finite. A NaN must be fixed in the physics, not masked: the observation is
clipped to its Box, but NaN passes a clip, so this test sees it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import envs
from envs.paint import PaintLineParams
from envs.steel import BOFParams

STEPS = {"paint": 12, "bof": 25}  # bodies / control steps per case: the NaNs seen so far came
# from the first body (TE 0) or from the first RH move (HVAC dew point); the BOF reaches its
# stage-I to stage-II change (Si gone) within 25 steps of 10 s
PARAMS = {"paint": PaintLineParams, "bof": BOFParams}


def _cases(process: str) -> list[tuple[str, str, float]]:
    rows = PARAMS[process].doc_table()
    return [(process, name, bound) for name, _, _, low, high, _ in rows for bound in (low, high)]


# BOF bounds its dataclass refuses today (hot_metal_t + scrap_t must cover heat_size_t, and the
# three ranges are documented independently): envs/steel is outside the paint-line step of issue
# 12, so they are marked here, strictly, and must be unmarked when the BOF ranges are made
# consistent (an XPASS fails the run).
BOF_REFUSED = {("heat_size_t", 400.0), ("hot_metal_t", 50.0), ("scrap_t", 0.0)}


def _mark(process: str, name: str, bound: float) -> Any:
    if process == "bof" and (name, float(bound)) in BOF_REFUSED:
        reason = "BOFParams refuses it: hot_metal_t + scrap_t < heat_size_t (BOF ranges, issue 12)"
        return pytest.param(
            process, name, bound, marks=pytest.mark.xfail(strict=True, reason=reason)
        )
    return pytest.param(process, name, bound)


CASES = _cases("paint") + _cases("bof")


def _run(process: str, name: str, bound: float) -> tuple[np.ndarray, np.ndarray]:
    """Observations and rewards (steps, 3, …) of three lines at constant −1 / 0 / +1 actions."""
    env: Any = envs.make_vec(process, 3, plant={"params": {name: float(bound)}})
    try:
        n_act = env.single_action_space.shape[0]
        act = np.repeat(np.array([[-1.0], [0.0], [1.0]], np.float32), n_act, axis=1)
        obs0, _ = env.reset(seed=1234)
        obs, rewards = [obs0], []
        for _ in range(STEPS[process]):
            o, r, *_ = env.step(act)
            obs.append(o)
            rewards.append(r)
    finally:
        env.close()
    return np.array(obs), np.array(rewards)


def test_every_parameter_has_two_bound_cases():
    """The sweep covers every field of both dataclasses at both ends (no field skipped)."""
    for process, cls in PARAMS.items():
        names = {name for p, name, _ in CASES if p == process}
        assert names == set(cls.field_names())
    assert len(CASES) == 2 * (len(PaintLineParams.field_names()) + len(BOFParams.field_names()))


@pytest.mark.parametrize(
    ("process", "name", "bound"), [_mark(*case) for case in CASES], ids=lambda v: str(v)
)
def test_documented_bound_gives_finite_steps(process: str, name: str, bound: float):
    obs, rewards = _run(process, name, bound)
    bad_obs = ~np.isfinite(obs).all(axis=(0, 2))
    bad_rew = ~np.isfinite(rewards).all(axis=0)
    failing = [a for a, bad in zip((-1, 0, 1), bad_obs | bad_rew, strict=True) if bad]
    assert not failing, f"{process} {name}={bound:g}: non-finite with constant action(s) {failing}"
