"""Plant and scenario configs live once, as package data of ``envs`` (``envs/conf/``), and the
Hydra jobs compose them from there (``hydra.searchpath: [pkg://envs.conf]``): ``plant=<name>``
gives exactly the file the env reads for ``gym.make(id, plant=<name>)``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hydra import compose, initialize
from omegaconf import OmegaConf

import envs
from envs.core.config import CONF_DIR, PLANT_DIR, SCENARIO_DIR

REPO = Path(__file__).resolve().parents[1]
PLANTS = sorted(p.stem for p in PLANT_DIR.glob("*.yaml"))
SCENARIOS = sorted(f"{p.parent.name}/{p.stem}" for p in SCENARIO_DIR.glob("*/*.yaml"))


def test_configs_are_inside_the_envs_package_and_not_in_conf():
    assert CONF_DIR.parent == Path(envs.__file__).resolve().parent
    assert (CONF_DIR / "__init__.py").is_file()  # Hydra's pkg:// source and setuptools need it
    assert len(PLANTS) >= 9 and {"bof_250t", "paint_50jph"} <= set(PLANTS)
    assert {"bof/nominal", "bof/drift", "paint/sensor_faults"} <= set(SCENARIOS)
    assert not (REPO / "conf" / "plant").exists() and not (REPO / "conf" / "scenarios").exists()


@pytest.mark.parametrize("job", ["train", "evaluate"])
@pytest.mark.parametrize("plant", PLANTS)
def test_hydra_composes_every_plant_from_the_package(job: str, plant: str):
    env = plant.split("_")[0]
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose(job, overrides=[f"env={env}", f"plant={plant}"])
    composed = OmegaConf.to_container(cfg.plant, resolve=True)
    assert composed == yaml.safe_load((PLANT_DIR / f"{plant}.yaml").read_text())


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_hydra_composes_every_scenario_profile_from_the_package(scenario: str):
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose("train", overrides=[f"+scenarios={scenario}"])
    composed = OmegaConf.to_container(cfg.scenarios, resolve=True)
    assert composed == yaml.safe_load((SCENARIO_DIR / f"{scenario}.yaml").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("job", ["train", "evaluate"])
def test_help_lists_the_package_groups(job: str):
    """Hydra's help lists only conf/'s groups; the jobs' help template adds envs/conf's."""
    out = subprocess.run(
        [sys.executable, "-m", f"experiments.{job}", "--help"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert f"plant: {', '.join(PLANTS)}" in out
    bof_scenarios = "drift, drift_varied, mixture, nominal, sensor_faults"
    assert f"scenarios/bof: {bof_scenarios}" in out and "agent: " in out
