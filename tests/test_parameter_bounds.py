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


# The BOF's charge fields are documented one by one, but a plant must also tap what it charges
# (hot_metal_t + scrap_t ≥ heat_size_t: BOFParams refuses a metallic yield above 1). At a charge
# field's bound the other two follow at the nominal plant's proportions (yield 250 / 275), so the
# case is the plant that bound describes, not an impossible one.
CHARGE = ("heat_size_t", "hot_metal_t", "scrap_t")


def plant_at_bound(process: str, name: str, bound: float) -> dict[str, float]:
    """The parameter overrides of one bound case (a consistent charge for the BOF's three)."""
    if process != "bof" or name not in CHARGE:
        return {name: float(bound)}
    nominal = BOFParams()
    heat, hm, scrap = nominal.heat_size_t, nominal.hot_metal_t, nominal.scrap_t
    metallic_yield = heat / (hm + scrap)
    if name == "heat_size_t":
        scale = bound / heat
        return {"heat_size_t": bound, "hot_metal_t": hm * scale, "scrap_t": scrap * scale}
    charge = {"hot_metal_t": hm, "scrap_t": scrap, name: float(bound)}
    return {**charge, "heat_size_t": metallic_yield * (charge["hot_metal_t"] + charge["scrap_t"])}


CASES = _cases("paint") + _cases("bof")


def _run(process: str, name: str, bound: float) -> tuple[np.ndarray, np.ndarray]:
    """Observations and rewards (steps, 3, …) of three lines at constant −1 / 0 / +1 actions."""
    env: Any = envs.make_vec(process, 3, plant={"params": plant_at_bound(process, name, bound)})
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


@pytest.mark.parametrize(("process", "name", "bound"), CASES, ids=lambda v: str(v))
def test_documented_bound_gives_finite_steps(process: str, name: str, bound: float):
    obs, rewards = _run(process, name, bound)
    bad_obs = ~np.isfinite(obs).all(axis=(0, 2))
    bad_rew = ~np.isfinite(rewards).all(axis=0)
    failing = [a for a, bad in zip((-1, 0, 1), bad_obs | bad_rew, strict=True) if bad]
    assert not failing, f"{process} {name}={bound:g}: non-finite with constant action(s) {failing}"
