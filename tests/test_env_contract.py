"""Contract, determinism, documentation and bad-input tests of every registered plantrl env.

The same guarantees hold for every process (DESIGN.md, STYLE.md "Tests"): ``check_env``
(Gymnasium and SB3) on every plant variant and scenario, seeded resets determine episodes, the
global RNG is untouched, the single env equals a vector env of one, the native vector env equals
Gymnasium's ``sync`` vector env for the same seeds, ``NUMBA_DISABLE_JIT=1`` gives identical
numbers, docstring tables match the spaces, and bad input fails clearly.
Process-specific behaviour lives in ``test_bof_env.py`` and ``test_paint_env.py``.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
import tank
from gymnasium.utils.env_checker import check_env
from stable_baselines3.common.env_checker import check_env as sb3_check_env

import envs
from envs.core.registry import ProcessSpec
from envs.core.shell import AUTORESET_MODES

REPO = Path(__file__).resolve().parents[1]
tank.register()  # the recipe's toy process (also done by conftest; here for subprocesses too)


@dataclass(frozen=True)
class Process:
    """A registered process as the contract suite sees it (built from its ProcessSpec)."""

    spec: ProcessSpec

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def env_id(self) -> str:
        return self.spec.env_id

    @property
    def env_cls(self) -> Any:
        return self.spec.env_cls

    @property
    def venv_cls(self) -> Any:
        return self.spec.vector_env_cls

    @property
    def params_cls(self) -> Any:
        return self.spec.params_cls

    @property
    def short(self) -> dict[str, Any]:
        """Env arguments that keep episodes short in tests."""
        return dict(self.spec.test_kwargs)

    @property
    def obs_table(self) -> tuple:
        return tuple(self.spec.layout_module.OBSERVATION.table())

    def actuators(self) -> tuple:
        """The actuators of the default plant (limits, spans, rate limits)."""
        return self.env_cls(**self.short).batch.scaler.specs

    @property
    def plants(self) -> list[str]:
        return self.spec.plants

    @property
    def scenarios(self) -> list[str]:
        return self.spec.scenarios

    @property
    def plant_dir(self) -> Path:
        return self.spec.conf_dir / "plant"

    @property
    def scenario_dir(self) -> Path:
        return self.spec.conf_dir / "scenarios" / self.name

    @property
    def n_act(self) -> int:
        return len(self.spec.layout_module.ACTUATORS)


PROCESSES = {name: Process(spec) for name, spec in envs.processes().items()}
PROCS = list(PROCESSES.values())
PLANT_CASES = [(p, plant) for p in PROCS for plant in p.plants]
SCENARIO_CASES = [(p, s) for p in PROCS for s in p.scenarios]


def _id(value: Any) -> str:
    return value.name if isinstance(value, Process) else str(value)


def rollout(env: gym.Env, n_act: int, seed: int, n_steps: int = 250, action_seed: int = 1):
    """Rewards and observations of a seeded run with seeded random actions (resets on end)."""
    rng = np.random.default_rng(action_seed)
    obs, _ = env.reset(seed=seed)
    out_obs, out_rew = [obs], []
    for _ in range(n_steps):
        obs, rew, term, trunc, _ = env.step(rng.uniform(-1, 1, n_act).astype(np.float32))
        out_obs.append(obs)
        out_rew.append(rew)
        if term or trunc:
            obs, _ = env.reset()
            out_obs.append(obs)
    return np.array(out_obs), np.array(out_rew)


def vector_rollout(venv: gym.vector.VectorEnv, n_act: int, seed: int, n_steps: int = 250):
    """The same run through a next-step-autoreset vector env of one plant."""
    rng = np.random.default_rng(1)
    obs, _ = venv.reset(seed=seed)
    out_obs, out_rew = [obs[0]], []
    for _ in range(n_steps):
        obs, rew, term, trunc, _ = venv.step(rng.uniform(-1, 1, (1, n_act)).astype(np.float32))
        out_obs.append(obs[0])
        out_rew.append(rew[0])
        if term[0] or trunc[0]:  # next_step autoreset: the next step returns the reset obs
            obs, rew, term, trunc, _ = venv.step(np.zeros((1, n_act), np.float32))
            assert rew[0] == 0.0 and not (term[0] or trunc[0])
            out_obs.append(obs[0])
    return np.array(out_obs), np.array(out_rew)


# ---------------------------------------------------------------- registration and layers
def test_package_resolves_inside_repository():
    assert Path(envs.__file__).resolve().is_relative_to(REPO)


def test_every_process_is_registered_with_a_vector_entry_point():
    assert {"bof", "paint", "tank"} <= set(PROCESSES)
    assert sorted(envs.ENV_IDS) == sorted(PROCESSES)
    for proc in PROCS:
        spec = gym.spec(proc.env_id)
        assert spec.vector_entry_point is not None
        assert envs.ENV_IDS[proc.name] == proc.env_id


def test_envs_layer_imports_no_ml_stack():
    code = (
        "import sys, envs, gymnasium as gym\n"
        "for i in envs.ENV_IDS.values(): gym.make(i).reset(seed=0)\n"
        "bad = [m for m in ('torch', 'stable_baselines3', 'hydra', 'mlflow') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ---------------------------------------------------------------- Gymnasium contract
@pytest.mark.parametrize(("proc", "plant"), PLANT_CASES, ids=_id)
@pytest.mark.parametrize("mode", ["adjust", "absolute"])
def test_check_env_every_plant(proc: Process, plant: str, mode: str):
    env = gym.make(proc.env_id, plant=plant, action_mode=mode, **proc.short)
    check_env(env.unwrapped, skip_render_check=True)
    sb3_check_env(proc.env_cls(plant, action_mode=mode, **proc.short), warn=False)


@pytest.mark.parametrize(("proc", "scenario"), SCENARIO_CASES, ids=_id)
def test_every_scenario_passes_check_env(proc: Process, scenario: str):
    env = gym.make(proc.env_id, scenario=scenario, **proc.short)
    check_env(env.unwrapped, skip_render_check=True)


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_make_vec_returns_native_vector_env(proc: Process):
    venv = gym.make_vec(proc.env_id, num_envs=3, vectorization_mode="vector_entry_point")
    assert isinstance(venv, proc.venv_cls)
    obs, _ = venv.reset(seed=0)
    assert obs.shape == (3, len(proc.obs_table)) and venv.single_observation_space.contains(obs[0])
    obs, *_ = venv.step(np.zeros((3, proc.n_act), np.float32))
    assert venv.observation_space.contains(obs)


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_seeded_reset_determines_episode(proc: Process):
    make = lambda: gym.make(proc.env_id, **proc.short)  # noqa: E731
    a = rollout(make(), proc.n_act, seed=7)
    b = rollout(make(), proc.n_act, seed=7)
    c = rollout(make(), proc.n_act, seed=8)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize(("proc", "scenario"), SCENARIO_CASES, ids=_id)
def test_seed_determines_every_scenario_with_randomised_plants(proc: Process, scenario: str):
    """Campaign drifts, sensor faults and per-episode parameter draws also follow from the seed
    alone (BOF drift: a campaign of heats; 600 steps span several heats or shifts)."""
    make = lambda: gym.make(proc.env_id, scenario=scenario, randomize=True, **proc.short)  # noqa: E731
    first, again = make(), make()
    first.reset(seed=7)
    again.reset(seed=7)
    drawn = first.unwrapped.batch.params
    np.testing.assert_array_equal(drawn, again.unwrapped.batch.params)
    assert not np.array_equal(drawn[0], proc.params_cls().to_array())  # parameters were drawn
    a = rollout(make(), proc.n_act, seed=7, n_steps=600)
    b = rollout(make(), proc.n_act, seed=7, n_steps=600)
    c = rollout(make(), proc.n_act, seed=8, n_steps=600)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_reset_leaves_global_rng_untouched(proc: Process):
    np.random.seed(123)  # noqa: NPY002 - the legacy global RNG is exactly what must stay untouched
    before = np.random.get_state()[1].copy()  # noqa: NPY002
    rollout(gym.make(proc.env_id, **proc.short), proc.n_act, seed=3, n_steps=50)
    np.testing.assert_array_equal(before, np.random.get_state()[1])  # noqa: NPY002


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_single_env_equals_vector_env_of_one(proc: Process):
    """The single env is the batch of one: same seed, same actions, same numbers."""
    single = rollout(proc.env_cls(**proc.short), proc.n_act, seed=11)
    vector = vector_rollout(proc.venv_cls(1, **proc.short), proc.n_act, seed=11)
    np.testing.assert_array_equal(single[0], vector[0])
    np.testing.assert_array_equal(single[1], vector[1])


def _native_kpis(info: dict[str, Any]) -> dict[str, np.ndarray]:
    """The native vector env's unit KPIs as {name: array, NaN where no unit ended}."""
    names = [k.removeprefix(UNIT_KPI) for k in info if k.startswith(UNIT_KPI)]
    return {n: np.where(info[f"_{UNIT_KPI}{n}"], info[f"{UNIT_KPI}{n}"], np.nan) for n in names}


def _sync_kpis(info: dict[str, Any], n: int) -> dict[str, np.ndarray]:
    """The same from a sync vector env's infos (single envs' ``unit_kpi`` dicts, nested), with
    the KPIs of episodes that ended in a same-step autoreset taken from ``final_info``."""
    out: dict[str, np.ndarray] = {}
    for source in (info, info.get("final_info", {})):
        if "unit_kpi" not in source:
            continue
        sub, ended = source["unit_kpi"], source["_unit_kpi"]
        for name in (k for k in sub if not k.startswith("_")):
            mask = ended & sub[f"_{name}"]
            row = out.setdefault(name, np.full(n, np.nan))
            row[mask] = np.asarray(sub[name], dtype=float)[mask]
    return out


UNIT_KPI = "unit_kpi/"


def _episodes_through_both(proc: Process, scenario: str, mode: str, n: int) -> int:
    """Step the native and the sync vector env of ``n`` plants side by side (same seeds, same
    random actions) until every plant has ended two episodes; assert identical observations,
    rewards, terminations, truncations, unit KPIs and (same-step) final observations. Half way,
    both are reset with a seed list holding a None. Returns the steps taken."""
    kwargs = dict(proc.short, scenario=scenario, randomize=True)
    native: Any = gym.make_vec(
        proc.env_id, n, vectorization_mode="vector_entry_point", autoreset_mode=mode, **kwargs
    )
    sync: Any = gym.make_vec(
        proc.env_id,
        n,
        vectorization_mode="sync",
        vector_kwargs={"autoreset_mode": AUTORESET_MODES[mode]},
        **kwargs,
    )
    assert isinstance(native.unwrapped, proc.venv_cls)
    a, _ = native.reset(seed=21)
    b, _ = sync.reset(seed=21)
    np.testing.assert_array_equal(a, b)
    rng = np.random.default_rng(4)
    episodes, units, step = np.zeros(n, dtype=int), 0, 0
    reseeded = False
    while episodes.min() < 2:
        step += 1
        assert step < 6000, f"episodes ended per plant: {episodes}"
        if not reseeded and episodes.min() >= 1:  # reseed mid-run, one plant keeps its stream
            seeds: list[int | None] = [101 + i for i in range(n)]
            seeds[1] = None
            np.testing.assert_array_equal(native.reset(seed=seeds)[0], sync.reset(seed=seeds)[0])
            reseeded = True
        actions = rng.uniform(-1.2, 1.2, (n, proc.n_act)).astype(np.float32)
        obs_a, rew_a, term_a, trunc_a, info_a = native.step(actions)
        obs_b, rew_b, term_b, trunc_b, info_b = sync.step(actions)
        np.testing.assert_array_equal(obs_a, obs_b)
        np.testing.assert_array_equal(rew_a, rew_b)
        np.testing.assert_array_equal(term_a, term_b)
        np.testing.assert_array_equal(trunc_a, trunc_b)
        kpi_a, kpi_b = _native_kpis(info_a), _sync_kpis(info_b, n)
        assert kpi_a.keys() == kpi_b.keys()
        for name, values in kpi_a.items():
            np.testing.assert_array_equal(values, kpi_b[name], err_msg=name)
        units += bool(kpi_a)
        done = term_a | trunc_a
        if mode == "same_step" and done.any():
            for i in np.flatnonzero(done):
                np.testing.assert_array_equal(info_a["final_obs"][i], info_b["final_obs"][i])
        episodes += done
    assert units >= 2
    return step


@pytest.mark.parametrize(("proc", "scenario"), SCENARIO_CASES, ids=_id)
@pytest.mark.parametrize("mode", ["next_step", "same_step"])
def test_native_vector_env_equals_sync_vector_env(proc: Process, scenario: str, mode: str):
    """Gymnasium's seeding: ``reset(seed=s)`` seeds plant i with s + i and a seed list one plant
    each (None: that plant goes on), so the native vector env and ``vectorization_mode="sync"``
    give identical trajectories, across autoresets, randomised parameters, and the several
    heats of a BOF campaign (scenario ``drift``)."""
    _episodes_through_both(proc, scenario, mode, n=3)


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_vector_seed_is_checked(proc: Process):
    venv = proc.venv_cls(2, **proc.short)
    for bad in (-1, 1.5, "7", [1], [1, -2], [1, 2.0], True):
        with pytest.raises(ValueError, match="seed"):
            venv.reset(seed=bad)
    venv.reset(seed=np.int64(3))
    same = proc.venv_cls(2, **proc.short)
    np.testing.assert_array_equal(venv.reset(seed=[3, 4])[0], same.reset(seed=3)[0])


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_plant_stream_does_not_depend_on_the_batch(proc: Process):
    """A plant's numbers follow from its seed alone: plant 2 of a batch of 5 equals plant 0 of
    a batch of 2 seeded two higher, whatever the other plants do."""
    big, small = proc.venv_cls(5, **proc.short), proc.venv_cls(2, **proc.short)
    np.testing.assert_array_equal(big.reset(seed=10)[0][2], small.reset(seed=12)[0][0])
    rng = np.random.default_rng(0)
    for _ in range(120):
        actions = rng.uniform(-1, 1, (5, proc.n_act)).astype(np.float32)
        obs_big, rew_big, *_ = big.step(actions)
        obs_small, rew_small, *_ = small.step(actions[[2, 0]])
        np.testing.assert_array_equal(obs_big[2], obs_small[0])
        assert rew_big[2] == rew_small[0]


_NOJIT_SCRIPT = """
import sys, numpy as np
sys.path.insert(0, {tests!r})
from test_env_contract import PROCESSES, many_plant_rollout, rollout  # registers the toy tank
proc = PROCESSES[{name!r}]
obs, rew = rollout(proc.env_cls(**proc.short), proc.n_act, seed=5, n_steps=150)
many = many_plant_rollout(proc.venv_cls(5, **proc.short), proc.n_act, n_steps=130)
np.savez({out!r}, obs=obs, rew=rew, many=many)
"""


def many_plant_rollout(venv: gym.vector.VectorEnv, n_act: int, n_steps: int) -> np.ndarray:
    """Observations and rewards of a vector env of several plants, random actions, next-step
    autoresets included (plants end episodes at different steps and sit out their reset step)."""
    rng = np.random.default_rng(2)
    obs, _ = venv.reset(seed=9)
    out = [obs.ravel()]
    for _ in range(n_steps):
        actions = rng.uniform(-1.2, 1.2, (venv.num_envs, n_act)).astype(np.float32)
        obs, rew, *_ = venv.step(actions)
        out += [obs.ravel(), rew]
    return np.concatenate(out)


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_numba_disabled_gives_identical_trajectory(proc: Process, tmp_path: Path):
    """Compiled and plain-Python runs agree bit for bit: the single env, and a vector env of
    several plants through the blocked step (sensor ring, autoresets, observation out)."""
    out = tmp_path / "nojit.npz"
    script = _NOJIT_SCRIPT.format(tests=str(REPO / "tests"), name=proc.name, out=str(out))
    subprocess.run(
        [sys.executable, "-c", script],
        check=True,
        cwd=tmp_path,
        env={**os.environ, "NUMBA_DISABLE_JIT": "1"},
        timeout=300,
    )
    ref = np.load(out)
    obs, rew = rollout(proc.env_cls(**proc.short), proc.n_act, seed=5, n_steps=150)
    np.testing.assert_array_equal(obs, ref["obs"])
    np.testing.assert_array_equal(rew, ref["rew"])
    many = many_plant_rollout(proc.venv_cls(5, **proc.short), proc.n_act, n_steps=130)
    np.testing.assert_array_equal(many, ref["many"])


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_vector_step_returns_new_arrays(proc: Process):
    """What a step returns is the caller's: the next step never writes into it."""
    venv = proc.venv_cls(3, **proc.short)
    venv.reset(seed=0)
    first = venv.step(np.zeros((3, proc.n_act), np.float32))
    kept = [np.array(a, copy=True) for a in first[:4]]
    for _ in range(5):
        venv.step(np.ones((3, proc.n_act), np.float32))
    for a, b in zip(first[:4], kept, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_same_step_autoreset_reports_final_observation_and_kpis(proc: Process):
    venv = proc.venv_cls(2, autoreset_mode="same_step", **proc.short)
    venv.reset(seed=0)
    for _ in range(400):
        _obs, _rew, term, trunc, info = venv.step(np.zeros((2, proc.n_act), np.float32))
        done = term | trunc
        if done.any():
            i = int(np.flatnonzero(done)[0])
            assert info["_final_obs"][i] and info["final_obs"][i].shape == (len(proc.obs_table),)
            kpis = [k for k in info["final_info"] if k.startswith("unit_kpi/")]
            assert kpis and all(np.isfinite(info["final_info"][k][i]) for k in kpis)
            return
    pytest.fail("no episode ended within 400 steps")


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_render_returns_rgb_array(proc: Process):
    env = gym.make(proc.env_id, render_mode="rgb_array", **proc.short)
    env.reset(seed=0)
    for _ in range(30):
        env.step(np.zeros(proc.n_act, np.float32))
    img = env.render()
    assert img.ndim == 3 and img.shape[2] == 3 and img.dtype == np.uint8


# ---------------------------------------------------------------- documentation tables
def _doc_rows(doc: str, section: str) -> list[list[str]]:
    block = doc.split(f"## {section}")[1].split("## ")[0]
    rows = [r.strip().strip("|").split("|") for r in block.splitlines() if re.match(r"\s*\| \d", r)]
    return [[c.strip() for c in r] for r in rows]


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_observation_table_matches_space(proc: Process):
    rows = _doc_rows(proc.env_cls.__doc__, "Observation Space")
    assert len(rows) == len(proc.obs_table) == proc.env_cls().observation_space.shape[0]
    for row, (name, unit, lo, hi) in zip(rows, proc.obs_table, strict=True):
        assert row[1:3] == [name, unit]
        assert float(row[3]) == lo and float(row[4]) == hi


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_action_table_matches_actuators(proc: Process):
    rows = _doc_rows(proc.env_cls.__doc__, "Action Space")
    specs = proc.actuators()
    assert len(rows) == len(specs) == proc.env_cls().action_space.shape[0]
    for row, spec in zip(rows, specs, strict=True):
        assert row[1:3] == [spec.name, spec.unit]
        assert float(row[3]) == pytest.approx(spec.low)
        assert float(row[4]) == pytest.approx(spec.high)


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_parameter_table_complete(proc: Process):
    rows = proc.params_cls.doc_table()
    assert len(rows) == len(proc.params_cls.field_names())
    assert all(unit and source for _, unit, _, _, _, source in rows)


@pytest.mark.parametrize(("proc", "plant"), PLANT_CASES, ids=_id)
def test_plant_yaml_files_are_documented(proc: Process, plant: str):
    text = (proc.plant_dir / f"{plant}.yaml").read_text()
    assert text.startswith("#"), f"{plant}.yaml needs a comment saying what it models"
    assert proc.env_cls(plant, **proc.short).variant.params.as_dict()


@pytest.mark.parametrize(("proc", "scenario"), SCENARIO_CASES, ids=_id)
def test_scenario_yaml_files_are_documented(proc: Process, scenario: str):
    text = (proc.scenario_dir / f"{scenario}.yaml").read_text()
    assert text.startswith("#") and "description:" in text


# ---------------------------------------------------------------- bad input
@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_unknown_plant_parameter_lists_valid_names(proc: Process):
    first = proc.params_cls.field_names()[0]
    with pytest.raises(ValueError, match=rf"unknown {proc.params_cls.__name__} parameter.*{first}"):
        proc.env_cls({"params": {"no_such_parameter": 1.0}})


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_out_of_range_parameter_names_field(proc: Process):
    name, _, _, _, high, _ = proc.params_cls.doc_table()[0]  # name, unit, default, low, high
    with pytest.raises(ValueError, match=rf"{name} = .* is outside"):
        proc.env_cls({"params": {name: float(high) * 10 + 10}})


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_randomize_without_ranges_warns_and_draws_nothing(proc: Process):
    with pytest.warns(UserWarning, match="no randomisation ranges"):
        env = proc.env_cls({"params": {}}, randomize=True)
    assert not env.batch.randomize
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the default plant has ranges: no warning
        assert proc.env_cls(randomize=True).batch.randomize


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_unknown_plant_and_scenario_list_valid_ones(proc: Process):
    with pytest.raises(ValueError, match=rf"unknown {proc.name.upper()} plant 'x9'; valid plants"):
        proc.env_cls("x9")
    with pytest.raises(ValueError, match=rf"unknown {proc.name.upper()} scenario 'storm'; valid"):
        proc.env_cls(scenario="storm")
    with pytest.raises(ValueError, match=r"unknown scenario key"):
        proc.env_cls(scenario={"weather": 1})


@pytest.mark.parametrize("proc", PROCS, ids=_id)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_action_raises_naming_the_actuator(proc: Process, bad: float):
    env = proc.env_cls(**proc.short)
    env.reset(seed=0)
    action = np.zeros(proc.n_act, np.float32)
    action[proc.n_act - 1] = bad
    name = proc.actuators()[-1].name
    with pytest.raises(ValueError, match=rf"\({name!r}\) of plant 0 is .*must be finite"):
        env.step(action)


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_wrong_action_shape_raises(proc: Process):
    env = proc.env_cls(**proc.short)
    env.reset(seed=0)
    n = proc.n_act
    with pytest.raises(ValueError, match=rf"shape \({n - 1},\), expected \(1, {n}\) or \({n},\)"):
        env.step(np.zeros(n - 1))


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_out_of_range_action_is_clipped(proc: Process):
    a, b = proc.env_cls(**proc.short), proc.env_cls(**proc.short)
    a.reset(seed=0)
    b.reset(seed=0)
    np.testing.assert_array_equal(
        a.step(np.full(proc.n_act, 7.0))[0], b.step(np.ones(proc.n_act))[0]
    )


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_unknown_sensor_and_mode_rejected(proc: Process):
    with pytest.raises(ValueError, match=r"unknown sensor 'no_gauge'; valid sensors"):
        proc.env_cls(sensors={"no_gauge": {"noise_std": 1.0}})
    with pytest.raises(ValueError, match="action mode must be one of"):
        proc.env_cls(action_mode="relative")


@pytest.mark.parametrize("proc", PROCS, ids=_id)
def test_step_before_reset_raises(proc: Process):
    with pytest.raises(RuntimeError, match="reset"):
        proc.env_cls(**proc.short).step(np.zeros(proc.n_act))
    with pytest.raises(RuntimeError, match="reset"):
        proc.venv_cls(2, **proc.short).step(np.zeros((2, proc.n_act)))
