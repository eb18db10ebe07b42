"""The recipe of docs/adding_a_process.md, proved on a toy process: a first-order tank.

``tests/tank/`` is built file by file as the recipe says and registered through
``envs.register_process`` (``tests/conftest.py``). This module checks what the recipe promises:
the registry knows it, ``envs.make`` builds it, the env contract suite parametrises over it, the
shared parts (action rule, sensors, drifts, shells, info vocabulary) work in it unchanged, and
its physics is right.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import tank
import test_env_contract
from tank.layout import STATE, X

import envs
from agents.evaluation import evaluate

REPO = Path(__file__).resolve().parents[1]


def test_the_toy_is_registered_through_the_recipe():
    assert envs.process("tank") is tank.SPEC
    assert envs.process("plantrl/Tank-v0") is tank.SPEC
    assert envs.ENV_IDS["tank"] == "plantrl/Tank-v0"
    assert tank.register() is tank.SPEC  # registering again changes nothing


def test_a_second_process_cannot_take_a_registered_name_or_id():
    clash = tank.SPEC.__class__(**{**tank.SPEC.__dict__, "layout": "elsewhere"})
    with pytest.raises(ValueError, match="already registered"):
        envs.register_process(clash)
    other = tank.SPEC.__class__(**{**tank.SPEC.__dict__, "name": "pond"})
    with pytest.raises(ValueError, match="already taken by 'tank'"):
        envs.register_process(other)


def test_the_contract_suite_runs_on_the_toy():
    assert "tank" in test_env_contract.PROCESSES
    ids = {p.name for p, _ in test_env_contract.PLANT_CASES}
    assert "tank" in ids and "tank" in {p.name for p, _ in test_env_contract.SCENARIO_CASES}


def test_the_toy_has_the_anatomy_of_every_process():
    files = {p.name for p in (REPO / "tests" / "tank").glob("*.py")}
    assert {"__init__.py", "params.py", "layout.py", "core.py", "batch.py", "env.py"} <= files


def test_make_and_make_vec_build_the_toy():
    env = envs.make("tank", plant="tank_large")
    obs, info = env.reset(seed=0)
    assert obs.shape == (4,) and info["unit_end"] is False and set(info["truth"]) == {"level_m"}
    assert env.unwrapped.variant.params.area_m2 == 8.0  # the variant file of the toy's conf/
    venv = envs.make_vec("tank", 8)
    assert venv.reset(seed=0)[0].shape == (8, 4)


def test_zero_adjust_action_is_the_operator_and_the_level_settles_where_physics_says():
    """A zero action keeps the operator's pump rate exactly; without drift the level approaches
    q / drain (the first-order steady state), its gap shrinking by exp(−dt/τ) per step."""
    env = envs.make("tank", drifts={"drain_fouling": {"ou_sigma": 0.0}}, shift_steps=400)
    env.reset(seed=3)
    batch = env.unwrapped.batch
    params = batch.variant.params
    levels = []
    for _ in range(400):
        env.step(np.zeros(1, np.float32))
        assert batch.state[0, X.inflow] == params.inflow_nominal_m3_min
        levels.append(batch.state[0, X.level])
    steady = params.inflow_nominal_m3_min / params.drain_m2_min
    tau_steps = params.area_m2 / params.drain_m2_min * 6.0  # τ in 10-s steps
    gap = np.abs(np.array(levels) - steady)
    assert gap[-1] < 1e-6
    np.testing.assert_allclose(gap[10] / gap[9], np.exp(-1.0 / tau_steps), rtol=1e-9)


def test_the_toy_speaks_the_info_vocabulary_and_evaluation_needs_nothing_else():
    res = evaluate(lambda obs: np.zeros((len(obs), 1)), lambda: envs.make("tank"), [1, 2, 3])
    assert len(res.units) == 3 and set(res.units[0]) == {"mean_abs_error_m", "cost_eur", "steps"}
    assert res.units[0]["steps"] == 120.0


def test_layout_declares_the_state_row():
    assert len(STATE) == envs.make("tank").unwrapped.batch.state.shape[1]
