"""A non-editable install works: the plants and scenarios travel in the wheel as package data.

Builds the wheel from a copy of the sources (building in place would write ``build/`` and
``*.egg-info`` into the repository), installs it into a fresh virtual environment that holds
only the env layer's dependencies (numpy, numba, gymnasium, PyYAML; no torch, SB3, Hydra or
MLflow), and from a directory outside the repository makes every registered id with every plant
of its process and every scenario profile: ``gym.make`` + ``reset`` + one step. ECOSYSTEM.md,
pitfall 13: a wheel holds only what ``[tool.setuptools.package-data]`` names.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from envs.core.config import PLANT_DIR, SCENARIO_DIR

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "envs", "agents", "experiments")
ENV_DEPENDENCIES = ("numpy", "numba", "gymnasium", "pyyaml")
# what pip prints when it cannot reach an index and has nothing cached
OFFLINE = (
    "No matching distribution found",
    "Could not find a version that satisfies",
    "NewConnectionError",
    "Network is unreachable",
    "Temporary failure in name resolution",
    "ProxyError",
)

SMOKE = """
import json, sys
import gymnasium as gym
import numpy as np
import envs
from envs.core.config import PLANT_DIR, SCENARIO_DIR

expected = json.loads(sys.argv[1])
plants = sorted(p.stem for p in PLANT_DIR.glob("*.yaml"))
scenarios = sorted(f"{p.parent.name}/{p.stem}" for p in SCENARIO_DIR.glob("*/*.yaml"))
assert plants == expected["plants"], plants
assert scenarios == expected["scenarios"], scenarios
made = []
for process, env_id in sorted(envs.ENV_IDS.items()):
    cases = [{"plant": p} for p in plants if p.startswith(process + "_")]
    cases += [{"scenario": s.split("/")[1]} for s in scenarios if s.startswith(process + "/")]
    assert cases, process
    for kwargs in cases:
        env = gym.make(env_id, **kwargs)
        obs, info = env.reset(seed=0)
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert env.observation_space.contains(obs) and np.isfinite(reward), (env_id, kwargs)
        made.append([env_id, kwargs])
print(json.dumps({"envs": envs.__file__, "made": made}))
"""


def env_dependencies() -> list[str]:
    """The env layer's requirements exactly as pyproject pins them."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return [d for d in deps if d.split(">")[0].split("=")[0].split("<")[0] in ENV_DEPENDENCIES]


def run(cmd: list[str], cwd: Path, what: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    proc = subprocess.run(
        cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, check=False
    )
    if proc.returncode != 0:
        output = proc.stdout + proc.stderr
        if any(marker in output for marker in OFFLINE):
            last = output.strip().splitlines()[-1]
            pytest.skip(f"{what}: pip cannot reach a package index or cache here ({last})")
        pytest.fail(f"{what} failed ({' '.join(cmd)}):\n{output[-4000:]}")
    return proc.stdout


@pytest.mark.slow
def test_wheel_install_makes_every_env_with_every_plant(tmp_path: Path):
    src = tmp_path / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "build", "*.egg-info")
    for name in SOURCES:
        path = REPO / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    wheels = tmp_path / "wheels"
    build = [sys.executable, "-m", "pip", "wheel", str(src), "-w", str(wheels), "--no-deps", "-q"]
    run(build, tmp_path, "building the wheel")
    (wheel,) = wheels.glob("plantrl-*.whl")

    venv = tmp_path / "venv"
    run([sys.executable, "-m", "venv", str(venv)], tmp_path, "creating the venv")
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q"]
    run([*pip, *env_dependencies()], tmp_path, "installing the env dependencies")
    run([*pip, "--no-deps", str(wheel)], tmp_path, "installing the wheel")

    outside = tmp_path / "elsewhere"
    outside.mkdir()
    expected = {
        "plants": sorted(p.stem for p in PLANT_DIR.glob("*.yaml")),
        "scenarios": sorted(f"{p.parent.name}/{p.stem}" for p in SCENARIO_DIR.glob("*/*.yaml")),
    }
    smoke = [str(venv / "bin" / "python"), "-c", SMOKE, json.dumps(expected)]
    out = run(smoke, outside, "the smoke run")
    result = json.loads(out.strip().splitlines()[-1])
    installed = Path(result["envs"]).resolve()
    assert installed.is_relative_to(venv.resolve()) and not installed.is_relative_to(REPO)
    assert len(result["made"]) == len(expected["plants"]) + len(expected["scenarios"])
