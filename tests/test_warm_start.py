"""Warm start (``init_from``), run tags, lineage and ``fine_tune()`` (experiments.lib.warm_start,
experiments.lib.fine_tune): the source's weights and normalisation statistics are copied exactly,
a fine-tuned job on another plant records its lineage on the run and the registered version,
every incompatible source is refused before a run exists, plants round-trip as overrides.

Budgets are tiny (256 env-steps on 2 plants, the debug preset); every store is private.
"""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import mlflow
import numpy as np
import pytest
import torch
import yaml
from budgets import tiny_training
from mlflow.entities import Run
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import VecNormalize

from agents.builder import action_names, build_agent, load_policy
from envs.core.params import PlantVariant
from envs.steel import resolve_variant
from experiments import train as train_job
from experiments.lib.config_checks import ConfigError, residual_settings
from experiments.lib.fine_tune import FineTuneError, fine_tune, plant_overrides
from experiments.lib.store import rebase_artifacts
from experiments.lib.warm_start import check_compatible, resolve_source, warm_start

MODEL = "plantrl-bof"
# 256 env-steps on 2 plants: two PPO rollouts of 64 x 2, one evaluation at the end
TINY = (*tiny_training(), "register_model=true", "tracking.experiment=bof")

pytestmark = pytest.mark.usefixtures("isolated_mlflow")  # tests/conftest.py


def store_uri(root: Path) -> str:
    return f"sqlite:///{root / 'results' / 'mlflow.db'}"


def client_for(root: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=store_uri(root), registry_uri=store_uri(root))


def runs_in(root: Path) -> list[Run]:
    client = client_for(root)
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids, order_by=["attributes.start_time ASC"]) if ids else []


@dataclasses.dataclass(frozen=True)
class Source:
    """A trained source run in its own store: the template every test copies."""

    root: Path
    run_id: str

    def copy_to(self, directory: Path) -> Path:
        """A private copy of the store, its artifacts and the checkpoints (tests add runs)."""
        shutil.copytree(self.root / "results", directory / "results")
        results = directory / "results"
        rebase_artifacts(
            results / "mlflow.db", self.root / "results" / "mlartifacts", results / "mlartifacts"
        )
        return directory

    def folder(self, root: Path) -> Path:
        return root / "results" / "checkpoints" / self.run_id / "final"


@pytest.fixture(scope="module")
def source(
    tmp_path_factory: pytest.TempPathFactory, compose_train: Callable[..., DictConfig]
) -> Iterator[Source]:
    """One tiny PPO run on bof_250t, registered as version 1 (alias candidate)."""
    root = tmp_path_factory.mktemp("source")
    train_job.train(compose_train(root, *TINY))
    (run,) = runs_in(root)
    yield Source(root, run.info.run_id)


@pytest.fixture
def root(tmp_path: Path, source: Source) -> Path:
    return source.copy_to(tmp_path)


# --- 1. the warm start copies weights and statistics ------------------------------------------


def test_warm_start_copies_weights_and_normalisation(
    root: Path, source: Source, compose_train: Callable[..., DictConfig]
) -> None:
    cfg = compose_train(root, *TINY, f"init_from=runs:/{source.run_id}", "plant=bof_120t", "seed=5")
    c = train_job.resolve_config(cfg)
    train_job.setup_tracking(c["tracking"])
    pinned = resolve_source(c["init_from"], c["paths"]["checkpoints"])
    assert pinned.folder == source.folder(root).resolve()  # the local final/ checkpoint
    assert pinned.parent_run == source.run_id and pinned.parent_version == 1
    env = train_job.build_train_env(c, residual_settings(c), 5)
    model = build_agent(c["agent"], env, 5, action_names(c["env"]["id"]))
    fresh = {k: v.clone() for k, v in model.policy.state_dict().items()}
    warm_start(model, env, pinned)

    src_model, src_norm = load_policy(pinned.folder, pinned.config["agent"], training=True)
    expected = src_model.policy.state_dict()
    got = model.policy.state_dict()
    assert got.keys() == expected.keys()
    for key in expected:
        assert torch.equal(got[key], expected[key]), key
    assert any(not torch.equal(fresh[k], expected[k]) for k in expected)  # the copy did something
    assert isinstance(env, VecNormalize) and src_norm is not None
    mine, theirs = env.obs_rms, src_norm.obs_rms
    assert isinstance(mine, RunningMeanStd) and isinstance(theirs, RunningMeanStd)  # flat Box
    np.testing.assert_array_equal(mine.mean, theirs.mean)
    np.testing.assert_array_equal(mine.var, theirs.var)
    assert mine.count == theirs.count > 1  # statistics of real steps
    assert env.training  # the statistics keep updating while fine-tuning
    assert env.obs_rms is not src_norm.obs_rms  # a copy: learning never writes into the source
    assert model.num_timesteps == 0


# --- 2. a fine-tuned job end to end, with lineage ----------------------------------------------


def test_fine_tuned_job_on_another_plant_records_lineage(
    root: Path, source: Source, compose_train: Callable[..., DictConfig]
) -> None:
    cfg = compose_train(
        root,
        *TINY,
        "init_from=models:/plantrl-bof@candidate",
        "plant=bof_120t",
        "train.total_timesteps=128",
        "eval.every_steps=128",
        "train.checkpoint_every_steps=128",
        "run_tags.study=transfer",  # no "+": run_tags is an open mapping
    )
    train_job.train(cfg)
    first, run = runs_in(root)
    assert first.info.run_id == source.run_id and run.info.run_id != source.run_id
    tags = run.data.tags
    assert tags["init_from"] == "models:/plantrl-bof/1"  # the alias pinned to its number
    assert tags["parent_run"] == source.run_id
    assert tags["parent_version"] == "1"
    assert tags["fine_tune_budget"] == "128"
    assert tags["study"] == "transfer"
    assert tags["plant"] == "bof_120t"
    assert tags["plant_hash"] == resolve_variant("bof_120t").plant_hash()
    assert run.data.params["train.total_timesteps"] == "128"  # counted from 0: a new run

    client = client_for(root)
    version = client.get_model_version(MODEL, "2")
    assert version.run_id == run.info.run_id
    assert version.tags["lineage/parent_version"] == "1"
    assert version.tags["lineage/parent_run"] == source.run_id
    assert version.tags["lineage/plant"] == "bof_120t"
    assert version.tags["lineage/plant_hash"] == tags["plant_hash"]
    assert version.tags["lineage/budget"] == "128"
    assert version.tags["study"] == "transfer"
    assert "lineage/parent_run" not in client.get_model_version(MODEL, "1").tags
    saved = root / "results" / "checkpoints" / run.info.run_id / "config.yaml"
    assert yaml.safe_load(saved.read_text())["init_from"] == "models:/plantrl-bof/1"


# --- 3. refusals: a ConfigError naming the key, and no run -------------------------------------


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (("env=paint",), r"env\.name = 'bof'.*add env=bof"),
        (("env.kwargs.action_mode=absolute",), r"env\.kwargs\.action_mode.*add env\.kwargs"),
        (("base=pid",), r"trained with base = .*'none'.*add base=none"),
        (("base.scale=0.5",), r"base = .*add base=none base\.scale=1\.0"),
        (("memory=window",), r"memory = .*add memory=none memory\.units=0"),
        (("agent.algo.policy_kwargs.net_arch=[8,8]",), r"net_arch.*\[64, 64\].*net_arch=\[64,64\]"),
        (("agent=recurrent_ppo",), r"agent\.name = 'ppo'.*add agent=ppo"),
    ],
)
def test_incompatible_source_is_refused_before_a_run(
    root: Path,
    source: Source,
    compose_train: Callable[..., DictConfig],
    overrides: tuple[str, ...],
    message: str,
) -> None:
    cfg = compose_train(root, *TINY, f"init_from=runs:/{source.run_id}", *overrides)
    with pytest.raises(ConfigError, match=message):
        train_job.train(cfg)
    assert [r.info.run_id for r in runs_in(root)] == [source.run_id]


@pytest.mark.parametrize(
    ("init_from", "message"),
    [
        ("models:/plantrl-bof/7", r"no version '7'; its versions are \[1\]"),
        ("models:/plantrl-bof@champion", r"no alias 'champion'; its aliases are .*candidate"),
        ("models:/plantrl-paint/1", r"no registered model 'plantrl-paint'.*\['plantrl-bof'\]"),
        ("0123456789abcdef0123456789abcdef", r"no run 0123456789abcdef0123456789abcdef.* include"),
        ("/nonexistent/policy", r"init_from = '/nonexistent/policy': no such policy folder"),
    ],
)
def test_unknown_source_is_a_clear_error(
    root: Path,
    source: Source,
    compose_train: Callable[..., DictConfig],
    init_from: str,
    message: str,
) -> None:
    with pytest.raises(ConfigError, match=message):
        train_job.train(compose_train(root, *TINY, f"init_from={init_from}"))
    assert [r.info.run_id for r in runs_in(root)] == [source.run_id]


def test_a_folder_without_policy_files_names_what_it_has(
    root: Path, compose_train: Callable[..., DictConfig], tmp_path: Path
) -> None:
    folder = tmp_path / "not_a_policy"
    folder.mkdir()
    (folder / "model.zip").write_bytes(b"")
    with pytest.raises(ConfigError, match=r"lacks \['policy.json', 'config.yaml'\].*model\.zip"):
        train_job.train(compose_train(root, *TINY, f"init_from={folder}"))


def test_init_from_with_resume_is_refused(
    root: Path, source: Source, compose_train: Callable[..., DictConfig]
) -> None:
    cfg = compose_train(root, *TINY, f"init_from=runs:/{source.run_id}", f"resume={source.run_id}")
    with pytest.raises(ConfigError, match=r"init_from = .*resume = .*drop one of them"):
        train_job.train(cfg)
    assert [r.info.run_id for r in runs_in(root)] == [source.run_id]


def test_run_tags_must_be_text(root: Path, compose_train: Callable[..., DictConfig]) -> None:
    with pytest.raises(ConfigError, match=r"run_tags\.study = 1 is invalid: run tags are text"):
        train_job.train(compose_train(root, *TINY, "run_tags.study=1"))


# --- 4. plants as overrides --------------------------------------------------------------------


def composed_plant(
    compose_train: Callable[..., DictConfig], root: Path, overrides: list[str]
) -> PlantVariant:
    """The plant a job composed with ``overrides`` runs on (as the train job resolves it)."""
    return train_job.plant_of(train_job.resolve_config(compose_train(root, *TINY, *overrides)))


def test_plant_overrides_round_trip(
    compose_train: Callable[..., DictConfig], tmp_path: Path
) -> None:
    named = resolve_variant("bof_120t")
    overrides = plant_overrides(named)
    assert overrides == ["plant=bof_120t"]
    assert composed_plant(compose_train, tmp_path, overrides).identity() == named.identity()

    base = resolve_variant("bof_250t")
    custom = dataclasses.replace(
        base,
        name="bof_250t_wet_scrap",
        params=base.params.replace(scrap_t=45.5),
        randomize={"scrap_t": (40.25, 50.0)},
    )
    overrides = plant_overrides(custom)
    assert overrides[0] == "plant=bof_custom"
    assert "plant.randomize.scrap_t=[40.25,50.0]" in overrides
    plant = composed_plant(compose_train, tmp_path, overrides)
    assert plant.identity() == custom.identity()
    assert plant.plant_hash() != base.plant_hash()


# --- 5. fine_tune() and same numbers -----------------------------------------------------------


def test_fine_tune_registers_a_child_version(root: Path, source: Source) -> None:
    result = fine_tune(
        f"runs:/{source.run_id}",
        "bof_120t",
        budget=128,
        seed=3,
        tracking={"uri": store_uri(root), "experiment": "bof"},
        paths={"root": str(root)},
        extra_overrides=["eval.every_steps=128", "train.checkpoint_every_steps=128"],
        run_tags={"arm": "1"},
    )
    assert result.spec == f"runs:/{source.run_id}" and result.budget == 128
    assert (result.plant, result.plant_hash) == resolve_variant("bof_120t").identity()
    assert result.version == 2
    run = client_for(root).get_run(result.run_id)
    assert run.data.params["seed"] == "3"
    assert run.data.params["agent.algo.n_steps"] == "64"  # the source's own overrides
    assert run.data.tags["arm"] == "1" and run.data.tags["parent_run"] == source.run_id
    # marked as a fine-tune: a study's source filter (study, source tags) never selects it
    assert (run.data.tags["study"], run.data.tags["source"]) == ("fine-tune", "fine-tune")
    version = client_for(root).get_model_version(MODEL, "2")
    assert version.tags["lineage/budget"] == "128"
    assert version.tags["lineage/parent_version"] == "1"


def test_fine_tune_failure_shows_the_job_error(root: Path, source: Source) -> None:
    with pytest.raises(FineTuneError, match=r"(?s)failed \(exit \d+\).*train\.n_envs = 0"):
        fine_tune(
            f"runs:/{source.run_id}",
            "bof_120t",
            budget=128,
            seed=0,
            tracking={"uri": store_uri(root)},
            paths={"root": str(root)},
            extra_overrides=["train.n_envs=0"],
        )
    assert [r.info.run_id for r in runs_in(root)] == [source.run_id]


def test_warm_started_job_twice_gives_the_same_numbers(
    source: Source, compose_train: Callable[..., DictConfig], tmp_path: Path
) -> None:
    summaries = []
    for i in range(2):
        root = source.copy_to(tmp_path / str(i))
        folder = source.folder(root)
        cfg = compose_train(root, *TINY, f"init_from={folder}", "plant=bof_120t", "seed=2")
        summaries.append(train_job.train(cfg))
    assert summaries[0] == summaries[1]
    assert np.isfinite(summaries[0]["return_mean"])


def test_a_source_from_before_base_and_memory_matches_their_defaults() -> None:
    """Runs trained before residual control or the window recorded neither node: they are
    ``base=none`` and ``memory=none`` (agents.residual, agents.history), not incompatible."""
    job = {
        "env": {"name": "bof", "id": "plantrl/BOF-v2", "kwargs": {"action_mode": "adjust"}},
        "agent": {"name": "ppo", "algo": {"policy_kwargs": {"net_arch": [64, 64]}}},
        "train": {"normalize_obs": True},
        "base": {"name": "none", "scale": 1.0, "estimator_features": False},
        "memory": {"name": "none", "units": 0},
    }
    old = {k: v for k, v in job.items() if k not in ("base", "memory")}
    check_compatible("runs:/old", old, job)  # no error
    with pytest.raises(ConfigError, match=r"add base=none base\.scale=1\.0$"):
        check_compatible("runs:/old", old, {**job, "base": {"name": "pid", "scale": 0.5}})


def test_a_run_without_its_local_folder_loads_from_its_logged_model(
    root: Path, source: Source, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where no checkpoint folder of the run is on this machine (another machine trained it),
    the source is the ``policy`` artifact of its logged model: the same files."""
    mlflow.set_tracking_uri(store_uri(root))  # reset by isolated_mlflow
    shutil.move(source.folder(root).parent, root / "elsewhere")  # not in this job's folder
    # nor at the path the run recorded (the source fixture's folder: hidden from the lookup)
    monkeypatch.setattr(
        "experiments.lib.warm_start.mlflow.get_run",
        lambda run_id: _without_recorded_checkpoints(client_for(root).get_run(run_id)),
    )
    pinned = resolve_source(f"runs:/{source.run_id}", root / "results" / "checkpoints")
    assert not pinned.folder.is_relative_to(root)
    moved = root / "elsewhere" / "final"
    for name in ("model.zip", "normalization.npz", "policy.json", "config.yaml"):
        assert (pinned.folder / name).read_bytes() == (moved / name).read_bytes(), name
    assert pinned.overrides is not None and "agent.algo.n_steps=64" in pinned.overrides
    assert pinned.parent_run == source.run_id and pinned.parent_version == 1


def _without_recorded_checkpoints(run: Run) -> Run:
    run.data.params.pop("paths.checkpoints", None)
    return run


def test_an_interrupted_fine_tuning_run_resumes_with_its_lineage(
    root: Path,
    source: Source,
    compose_train: Callable[..., DictConfig],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Resumed with ``resume=`` alone, the run keeps its init_from (no second warm start: the
    checkpoint holds the weights) and its registered version gets the lineage tags."""

    class Interrupting(train_job.CheckpointCallback):
        def _on_step(self) -> bool:
            super()._on_step()
            if self.num_timesteps >= 128:
                raise KeyboardInterrupt
            return True

    monkeypatch.setattr(train_job, "CheckpointCallback", Interrupting)
    overrides = (*TINY, "train.checkpoint_every_steps=128", f"init_from=runs:/{source.run_id}")
    with pytest.raises(KeyboardInterrupt):
        train_job.train(compose_train(root, *overrides, "run_tags.study=transfer"))
    monkeypatch.undo()
    run = runs_in(root)[-1]
    assert run.info.status == "FAILED" and run.data.tags["parent_run"] == source.run_id

    train_job.train(compose_train(root, f"resume={run.info.run_id}"))
    assert len(runs_in(root)) == 2  # the same run, continued
    version = client_for(root).get_model_version(MODEL, "2")
    assert version.run_id == run.info.run_id
    assert version.tags["lineage/parent_run"] == source.run_id
    assert version.tags["lineage/budget"] == "256"
    assert version.tags["study"] == "transfer"
