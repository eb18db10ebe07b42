"""Plant splits, reusable per-episode scores, the gap statistics and ``experiments.transfer``.

The splits are checked (held-out plants inside the training ranges, ood plants outside); the
pooled and per-cell gap statistics keep the pairing on seeds; a score is evaluated once and read
back by key; the transfer job runs end to end on a private store with tiny sources, logs a
parent run with one child per (source group, target) and, run again, trains and evaluates
nothing new.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pytest
import yaml
from budgets import tiny_training
from hydra import compose, initialize
from omegaconf import DictConfig, OmegaConf

from envs.core.params import PlantVariant
from experiments import train as train_job
from experiments import transfer
from experiments.lib.config_checks import ConfigError
from experiments.lib.scores import episode_scores, pinned
from experiments.lib.splits import check_episodes, load_splits, variant
from experiments.lib.stats import (
    GapCell,
    difference_with_ci,
    gap_closed,
    gap_closed_with_ci,
    interval,
    pooled_gaps,
)

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.usefixtures("isolated_mlflow")  # tests/conftest.py


def committed_splits(process: str) -> dict[str, Any]:
    return yaml.safe_load((REPO / "conf" / "splits" / f"{process}.yaml").read_text())


# --- 1. splits ---------------------------------------------------------------------------------


@pytest.mark.parametrize("process", ["bof", "paint"])
def test_committed_splits_hold(process: str) -> None:
    splits = load_splits(committed_splits(process), process)
    assert splits.held_out and splits.ood and splits.gate.plants
    assert {splits.split_of(p) for p in splits.held_out} == {"held_out"}
    assert {splits.split_of(p) for p in splits.ood} == {"ood"}
    names = {p.name for p in splits.fleet}
    assert {p.name for p in (*splits.train, *splits.held_out, *splits.ood)} == names


def test_a_held_out_plant_outside_the_ranges_is_refused() -> None:
    node = committed_splits("bof")
    node["ood"].remove("bof_120t")
    node["held_out"].append("bof_120t")
    with pytest.raises(ConfigError, match=r"bof_120t is outside.*heat_size_t=120.*move it to ood"):
        load_splits(node, "bof")


def test_an_ood_plant_inside_the_ranges_is_refused() -> None:
    node = committed_splits("bof")
    node["held_out"].remove("bof_250t_lean_si")
    node["ood"].append("bof_250t_lean_si")
    with pytest.raises(ConfigError, match=r"bof_250t_lean_si lies inside.*move it to held_out"):
        load_splits(node, "bof")


def test_unknown_and_foreign_plants_are_named() -> None:
    with pytest.raises(ConfigError, match=r"unknown bof plant 'bof_999t'.*bof_120t"):
        variant("bof", "bof_999t")
    with pytest.raises(ConfigError, match="paint_50jph is a paint plant: use env=paint"):
        variant("bof", "paint_50jph")
    node = committed_splits("bof")
    node["gate"]["plants"].append("bof_999t")
    with pytest.raises(ConfigError, match="bof_999t"):
        load_splits(node, "bof")


def test_a_command_line_plant_is_classed_by_its_parameters() -> None:
    splits = load_splits(committed_splits("bof"), "bof")
    nominal = variant("bof", "bof_250t")
    inside = PlantVariant("sister", nominal.params.replace(hm_si_pct=0.6, scrap_t=45.0))
    outside = PlantVariant("big", nominal.params.replace(heat_size_t=260.0))
    assert splits.split_of(inside) == "held_out"
    assert splits.split_of(outside) == "ood"
    assert splits.split_of(nominal.renamed("renamed")) == "train"  # by hash, not by name


def test_episodes_per_set_are_checked() -> None:
    assert check_episodes(8, ["nominal", "drift"], "k") == {"nominal": 8, "drift": 8}
    assert check_episodes({"nominal": 4, "drift": None}, ["nominal", "drift"], "k")["drift"] is None
    with pytest.raises(ConfigError, match="k has no count for scenario set 'drift'"):
        check_episodes({"nominal": 4}, ["nominal", "drift"], "k")
    with pytest.raises(ConfigError, match=r"k.nominal = 1"):
        check_episodes({"nominal": 1}, ["nominal"], "k")


# --- 2. gap statistics --------------------------------------------------------------------------


def test_gap_closed_ci_keeps_the_pairing() -> None:
    rng = np.random.default_rng(0)
    pid = rng.normal(0.0, 5.0, 40)  # episodes differ a lot; the gap is the same on each
    reference = pid + 2.0
    scores = np.stack([pid + 1.0, pid + 1.0])  # half the gap on every episode, two runs
    point, low, high = gap_closed_with_ci(scores, pid, reference)
    assert point == pytest.approx(0.5)
    assert low == pytest.approx(0.5) and high == pytest.approx(0.5)  # paired: no spread at all
    assert gap_closed_with_ci(scores, pid, reference, seed=1) == (point, low, high)
    with pytest.raises(ValueError, match="same episodes"):
        gap_closed_with_ci(scores, pid[:-1], reference)


def test_pooled_gaps_average_the_cells_and_compare_groups() -> None:
    rng = np.random.default_rng(1)
    cells = []
    for scale in (1.0, 100.0):  # a per-heat and a per-campaign return: both weigh alike
        pid = rng.normal(0.0, scale, 30)
        ref = pid + scale
        noise = rng.normal(0.0, 0.05 * scale, (3, 30))
        cells.append(GapCell({"a": pid + 0.8 * scale + noise, "b": pid + 0.2 * scale}, pid, ref))
    pooled = pooled_gaps(cells)
    expected = np.mean(
        [gap_closed(c.pid.mean(), c.scores["a"].mean(), c.reference.mean()) for c in cells]
    )
    assert interval(pooled["a"])[0] == pytest.approx(expected)
    point, low, high, p_better = difference_with_ci(pooled["a"], pooled["b"])
    assert point == pytest.approx(0.6, abs=0.05)
    assert 0 < low < point < high and p_better == 1.0


# --- 3. the transfer job -----------------------------------------------------------------------

TINY = (
    *tiny_training(eval_every=128),
    "register_model=true",
    "tracking.experiment=bof",  # the debug preset's own experiment otherwise
)


def compose_transfer(root: Path, *overrides: str) -> dict[str, Any]:
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose("transfer", overrides=[*overrides, f"paths.root={root}"])
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


@pytest.fixture(scope="module")
def sources(
    tmp_path_factory: pytest.TempPathFactory, compose_train: Callable[..., DictConfig]
) -> Path:
    """Two tiny source runs on bof_250t: one on its nominal parameters, one randomised."""
    root = tmp_path_factory.mktemp("transfer")
    train_job.train(compose_train(root, *TINY, "run_tags.study=transfer", "run_tags.source=single"))
    train_job.train(
        compose_train(
            root,
            *TINY,
            "env.kwargs.randomize=true",
            "run_tags.study=transfer",
            "run_tags.source=randomised",
        )
    )
    return root


JOB = (
    "targets=[bof_250t,bof_250t_siliceous,bof_120t]",
    "scenario_sets=[nominal]",
    "episodes={nominal: 2}",
    "fine_tune.seeds=1",
    "fine_tune.budget=128",
    "fine_tune.scratch_budget=256",
    "fine_tune.eval_every=128",
)


def all_runs(root: Path) -> list[Any]:
    client = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root / 'results' / 'mlflow.db'}")
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids, max_results=10_000)


@pytest.mark.slow
def test_transfer_job_end_to_end_and_again_without_new_work(sources: Path) -> None:
    c = compose_transfer(sources, *JOB, "fine_tune.targets=[bof_120t]")
    path = transfer.run_transfer(c, None, explicit=())
    text = path.read_text()
    for part in (
        "## Goals (issue 15)",
        "### train plants",
        "### held-out plants",
        "### ood plants",
        "## Fine-tuning",
        "fine-tuning at `bof_120t`",
        "randomised − single",
    ):
        assert part in text
    assert (path.parent / "transfer.png").stat().st_size > 1000
    runs = all_runs(sources)
    parent = [r for r in runs if r.info.run_name == "transfer-bof"]
    assert len(parent) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent[0].info.run_id]
    assert len(children) == 2 * 3  # (single, randomised) × three targets
    assert {r.data.tags["split"] for r in children} == {"train", "held_out", "ood"}
    assert all(
        "nominal/gap_closed_est" in r.data.metrics or "nominal/return_mean" in r.data.metrics
        for r in children
    )
    warm = [r for r in runs if r.data.tags.get("role") == "warm"]
    assert len(warm) == 1 and warm[0].data.tags["plant"] == "bof_120t"
    assert warm[0].data.tags["init_from"].startswith("runs:/")  # lineage: its source run
    scratch = [r for r in runs if r.data.tags.get("role", "").startswith("scratch")]
    assert len(scratch) == 2 and all("init_from" not in r.data.tags for r in scratch)
    # again: every training and evaluation is found, only the new parent and children are added
    before = {r.info.run_id for r in all_runs(sources)}
    transfer.run_transfer(c, None, explicit=())
    added = [r for r in all_runs(sources) if r.info.run_id not in before]
    assert len(added) == 1 + 6
    assert all(r.info.run_name.startswith("transfer-") or "->" in r.info.run_name for r in added)


def test_a_command_line_plant_joins_the_targets(tmp_path: Path) -> None:
    c = compose_transfer(
        tmp_path,
        "targets=[held_out]",
        "plant=bof_custom",
        "plant.name=bof_180t",
        "plant.params.heat_size_t=180",
    )
    splits = load_splits(c["splits"], "bof")
    targets = transfer.job_targets(c, splits, "bof_custom", {"plant", "plant.name"})
    assert [p.name for p in targets] == ["bof_250t_siliceous", "bof_250t_lean_si", "bof_180t"]
    assert splits.split_of(targets[-1]) == "ood"
    # without plant= on the command line the default plant is not a target
    assert len(transfer.job_targets(c, splits, "bof_250t", {"targets"})) == 2


def test_bad_transfer_input_is_refused_before_work(tmp_path: Path) -> None:
    c = compose_transfer(tmp_path, "stages=[zero_shot,warp]")
    with pytest.raises(ConfigError, match="stages"):
        transfer.run_transfer(c, None, ())
    c = compose_transfer(tmp_path, "targets=[bof_999t]")
    with pytest.raises(ConfigError, match="unknown bof plant 'bof_999t'"):
        transfer.run_transfer(c, None, ())
    c = compose_transfer(tmp_path, "targets=[held_out]")  # an empty store: no source runs
    with pytest.raises(
        ConfigError, match=r"selects no finished training run.*make transfer-sources-bof"
    ):
        transfer.run_transfer(c, None, ())


# --- 4. scores ---------------------------------------------------------------------------------


def test_scores_are_evaluated_once_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    c = compose_transfer(tmp_path / "root")
    monkeypatch.chdir(tmp_path)  # MLflow's default store would be ./mlflow.db
    job = {**c, "tracking": {**c["tracking"]}}
    plant = variant("bof", "bof_250t_lean_si")
    first = episode_scores(job, "baseline:pid", plant, "nominal", 3)
    again = episode_scores(job, "baseline:pid", plant, "nominal", 2)  # a prefix of the same run
    assert again.run_id == first.run_id
    np.testing.assert_array_equal(again.returns, first.returns[:2])
    other = episode_scores(job, "baseline:pid", plant, "nominal", 4)  # more: evaluated anew
    assert other.run_id != first.run_id
    np.testing.assert_array_equal(other.returns[:3], first.returns)  # same seeds, same numbers
    renamed = episode_scores(job, "baseline:pid", plant.renamed("x"), "nominal", 3)
    assert renamed.run_id in (first.run_id, other.run_id)  # by the plant's hash, not its name
    assert len(mlflow.search_runs(experiment_names=["bof-evaluation"])) == 2
    assert not (tmp_path / "mlflow.db").exists()  # the job's store, never the default one
    with pytest.raises(ConfigError, match="no registered model 'plantrl-bof'"):
        pinned("models:/plantrl-bof@champion")


def test_source_groups_skip_fine_tunes_and_refuse_two_runs_of_a_seed(tmp_path: Path) -> None:
    """A fine-tune inherits its recipe's run tags: it is never a source; two runs of one seed
    in a group are refused (a filter that is too wide)."""
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    experiment = mlflow.create_experiment("bof", artifact_location=str(tmp_path / "art"))

    def run(seed: int, **tags: str) -> str:
        base = {"study": "transfer", "source": "single", "seed": str(seed), "model_uri": "m"}
        with mlflow.start_run(experiment_id=experiment, tags={**base, **tags}) as r:
            return r.info.run_id

    first, second = run(1), run(0)
    run(0, init_from="models:/plantrl-bof/3")  # a fine-tune of the same recipe
    groups = {"single": {"filter": "tags.study = 'transfer' and tags.source = 'single'"}}
    (group,) = transfer.source_groups(groups, "bof")
    assert group.specs == (f"runs:/{second}", f"runs:/{first}")  # in seed order
    assert group.seeds == ("0", "1")
    run(1)
    with pytest.raises(ConfigError, match=r"several runs of seed\(s\) \['1'\]"):
        transfer.source_groups(groups, "bof")
