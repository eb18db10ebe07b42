"""Plant identity and the command-line plant: a plant is its name plus a stable hash of its full
parameter set and ranges; a plant given entirely on the command line (``plant=<process>_custom``)
has the process's defaults and no randomisation ranges of its own unless given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize
from omegaconf import OmegaConf

import envs
from envs.core.params import PlantVariant, variant_from_mapping
from envs.paint import PaintLineParams
from envs.steel import BOFParams
from envs.steel import resolve_variant as bof_variant
from experiments.lib.plants import job_plant

REPO = Path(__file__).resolve().parents[1]
HASH_CODE = (
    "from envs.core.params import variant_from_mapping\n"
    "from envs.steel import BOFParams\n"
    "data = {'params': {'scrap_t': 45.0, 'heat_size_t': 260.0},\n"
    "        'randomize': {'scrap_t': [40, 50], 'hm_si_pct': [0.4, 0.6]}}\n"
    "print(variant_from_mapping(data, BOFParams, 'x').plant_hash())\n"
)


def test_plant_hash_is_the_same_in_every_process_and_python_run():
    data = {
        "randomize": {"hm_si_pct": [0.4, 0.6], "scrap_t": [40.0, 50.0]},  # another key order
        "params": {"heat_size_t": 260, "scrap_t": 45},  # ints, another order
    }
    here = variant_from_mapping(data, BOFParams, "y").plant_hash()
    assert len(here) == 16 and int(here, 16) >= 0
    for seed in ("1", "2"):  # str hashes (and set orders) differ between these interpreters
        env = {**os.environ, "PYTHONHASHSEED": seed}
        out = subprocess.run(
            [sys.executable, "-c", HASH_CODE],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        assert out.stdout.strip() == here


def test_plant_hash_covers_every_parameter_and_range_but_not_the_name():
    nominal = bof_variant("bof_250t")
    assert nominal.identity() == ("bof_250t", nominal.plant_hash())
    assert nominal.renamed("other").plant_hash() == nominal.plant_hash()
    changed = PlantVariant("bof_250t", nominal.params.replace(kc_per_min=2.01), nominal.randomize)
    assert changed.plant_hash() != nominal.plant_hash()
    no_ranges = PlantVariant("bof_250t", nominal.params)
    assert no_ranges.plant_hash() != nominal.plant_hash()
    hashes = {bof_variant(name).plant_hash() for name in envs.process("bof").plants}
    assert len(hashes) == len(envs.process("bof").plants)  # every named variant is distinct


def compose_plant(*overrides: str):
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose("evaluate", overrides=["policy=baseline:operator", *overrides])
    return OmegaConf.to_container(cfg.plant, resolve=True)


def test_a_plant_given_entirely_on_the_command_line():
    """The README cookbook's command-line plant: no `+`, its own name, no borrowed ranges."""
    node = compose_plant(
        "plant=bof_custom",
        "plant.name=bof_180t",
        "plant.params.heat_size_t=180",
        "plant.params.hot_metal_t=169.2",
        "plant.params.scrap_t=28.8",
    )
    plant = job_plant(node, "bof", "bof_custom")
    assert plant.name == "bof_180t"
    assert plant.params == BOFParams().replace(heat_size_t=180, hot_metal_t=169.2, scrap_t=28.8)
    assert plant.randomize == {}  # not bof_250t's ranges
    env = envs.make("bof", plant, scenario="nominal")
    assert env.unwrapped.variant.plant_hash() == plant.plant_hash()  # type: ignore[attr-defined]

    ranged = job_plant(
        compose_plant("plant=bof_custom", "plant.randomize.scrap_t=[25,33]"), "bof", "bof_custom"
    )
    assert ranged.name == "bof_custom" and ranged.randomize == {"scrap_t": (25.0, 33.0)}

    paint = job_plant(compose_plant("env=paint", "plant=paint_custom"), "paint", "paint_custom")
    assert paint.params == PaintLineParams() and paint.randomize == {}


def test_an_overridden_named_plant_is_not_named_like_it():
    nominal = job_plant(compose_plant("plant=bof_250t"), "bof", "bof_250t")
    assert nominal.identity() == bof_variant("bof_250t").identity()
    node = compose_plant("plant=bof_250t", "+plant.params.scrap_t=45")
    overridden = job_plant(node, "bof", "bof_250t")
    assert overridden.name == "bof_250t+overrides"
    assert overridden.plant_hash() != nominal.plant_hash()
    assert overridden.randomize == nominal.randomize  # the YAML's ranges, explicitly kept
    # a chained job passes the name the run carries: it stays
    assert job_plant(node, "bof", overridden.name).identity() == overridden.identity()


@pytest.mark.parametrize("job", ["train", "evaluate"])
def test_custom_plants_compose_in_both_jobs(job: str):
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose(job, overrides=["plant=bof_custom", "plant.params.kc_per_min=2.1"])
    assert cfg.plant.params.kc_per_min == 2.1 and cfg.plant.process == "bof"
