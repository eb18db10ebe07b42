"""Training job end to end (experiments.train): every agent trains and is tracked and registered,
same seed -> same numbers, interrupted runs resume into the same MLflow run, bad input fails early
with a clear message, and the registered model predicts like the saved policy.

Budgets are tiny (hundreds of env-steps on 2 plants). Every test writes under its own tmp
``paths.root``: tracking=local then keeps its SQLite store in ``<root>/results/mlflow.db``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import pytest
import yaml
from hydra import compose, initialize
from hydra.core.hydra_config import HydraConfig
from hydra.errors import MissingConfigException
from mlflow.entities import Run
from mlflow.tracking import MlflowClient
from omegaconf import DictConfig

import envs
from agents.builder import load_policy
from agents.evaluation import RecurrentSB3Policy
from agents.policy import SB3Policy
from envs.steel import resolve_variant
from experiments import train as train_job
from experiments.lib.callbacks import CheckpointCallback
from experiments.lib.config_checks import ConfigError
from experiments.lib.tracking import TrackingError

REPO = Path(__file__).resolve().parents[1]
MODEL = "plantrl-bof"
ENV_ID = "plantrl/BOF-v2"

# 512 env-steps on 2 plants; evaluation (2 episodes) and checkpoint every 256 steps
TINY = (
    "experiment=debug",
    "train.total_timesteps=512",
    "train.n_envs=2",
    "train.checkpoint_every_steps=256",
    "eval.every_steps=256",
    "eval.n_episodes=2",
    "eval.final_episodes=4",
    "register_model=true",  # the debug preset keeps the registry clean; these tests check it
    "tracking.experiment=bof",
)
ON_POLICY = ("agent.algo.n_steps=64", "agent.algo.batch_size=64", "agent.algo.n_epochs=2")
OFF_POLICY = (
    "agent.algo.learning_starts=64",
    "agent.algo.buffer_size=1024",
    "agent.algo.batch_size=64",
    "agent.algo.gradient_steps=1",
    "agent.algo.policy_kwargs.net_arch=[32,32]",
)
AGENT_OVERRIDES = {
    "ppo": ON_POLICY,  # rollout 64 x 2 = 128 env-steps
    "a2c": (),  # n_steps 16: rollout 32 env-steps
    "recurrent_ppo": ON_POLICY,
    "sac": OFF_POLICY,
    "td3": OFF_POLICY,
}
AGENTS = tuple(AGENT_OVERRIDES)


def tiny(agent: str, *extra: str) -> list[str]:
    return [*TINY, f"agent={agent}", *AGENT_OVERRIDES[agent], *extra]


# --- helpers ----------------------------------------------------------------------------------


def compose_train(root: Path, *overrides: str) -> DictConfig:
    """The job's config as ``python -m experiments.train <overrides> paths.root=<root>`` sees it."""
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose(
            "train", overrides=[*overrides, f"paths.root={root}"], return_hydra_config=True
        )
    HydraConfig.instance().set_config(cfg)
    return cfg


def run_train(root: Path, *overrides: str) -> dict[str, float]:
    return train_job.train(compose_train(root, *overrides))


def store_uri(root: Path) -> str:
    return f"sqlite:///{root / 'results' / 'mlflow.db'}"


def client_for(root: Path) -> MlflowClient:
    uri = store_uri(root)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def runs_in(root: Path) -> list[Run]:
    """Every run in the local store under ``root`` (none if there is no store), oldest first."""
    if not (root / "results" / "mlflow.db").is_file():
        return []
    client = client_for(root)
    ids = [e.experiment_id for e in client.search_experiments()]
    return client.search_runs(ids, order_by=["attributes.start_time ASC"]) if ids else []


def steps(client: MlflowClient, run_id: str, key: str) -> list[int]:
    return [m.step for m in client.get_metric_history(run_id, key)]


def latest(root: Path, run_id: str) -> dict[str, Any]:
    return json.loads((root / "results" / "checkpoints" / run_id / "latest.json").read_text())


def env_observations(n_seeds: int = 4, n_steps: int = 3) -> np.ndarray:
    """A batch of real observations: a few steps of several seeded episodes (operator practice)."""
    obs = []
    for seed in range(n_seeds):
        env = envs.make(ENV_ID)
        o, _ = env.reset(seed=seed)
        obs.append(o)
        for _ in range(n_steps):
            o, *_ = env.step(np.zeros(env.action_space.shape, np.float32))
            obs.append(o)
        env.close()
    return np.stack(obs).astype(np.float32)


def subprocess_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    env["PYTHONHASHSEED"] = "0"
    return env


# --- fixtures ---------------------------------------------------------------------------------


pytestmark = pytest.mark.usefixtures("isolated_mlflow")  # tests/conftest.py


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An initialised, empty MLflow SQLite store. Creating the schema takes seconds (dozens of
    migrations), copying the file takes nothing: every test gets a fresh copy."""
    path = tmp_path_factory.mktemp("mlflow_template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


def fresh_root(directory: Path, empty_store: Path) -> Path:
    (directory / "results").mkdir(parents=True)
    shutil.copy(empty_store, directory / "results" / "mlflow.db")
    return directory


@pytest.fixture
def root(tmp_path: Path, empty_store: Path) -> Path:
    """A fresh ``paths.root`` with an empty local store."""
    return fresh_root(tmp_path, empty_store)


@pytest.fixture(scope="module")
def trained(
    tmp_path_factory: pytest.TempPathFactory, empty_store: Path
) -> Callable[[str], tuple[Path, str, dict[str, float]]]:
    """``trained(agent) -> (root, run_id, summary)``: one tiny run per agent, each in its own
    store, trained on first use and shared by the tests of this module (per xdist worker)."""
    cache: dict[str, tuple[Path, str, dict[str, float]]] = {}

    def get(agent: str) -> tuple[Path, str, dict[str, float]]:
        if agent not in cache:
            root = fresh_root(tmp_path_factory.mktemp(f"train_{agent}"), empty_store)
            summary = run_train(root, *tiny(agent))
            (run,) = runs_in(root)
            cache[agent] = (root, run.info.run_id, summary)
        return cache[agent]

    return get


# --- 1. every agent trains, is tracked and registered -----------------------------------------


@pytest.mark.parametrize("agent", AGENTS)
def test_agent_trains_tracked_and_registered(agent: str, trained: Callable) -> None:
    root, run_id, summary = trained(agent)
    client = client_for(root)
    (run,) = runs_in(root)
    assert run.info.status == "FINISHED"

    metrics = run.data.metrics
    assert any(k.startswith(("train/", "time/")) for k in metrics), sorted(metrics)
    for key in ("eval/return_mean", "kpi/return_mean", "kpi/operator/return_mean"):
        assert np.isfinite(metrics[key]), key
    assert metrics["kpi/return_mean"] == pytest.approx(summary["return_mean"])
    # evaluations are logged at the step they ran, the last one included (every 256 of 512)
    assert steps(client, run_id, "eval/return_mean") == [256, 512]

    params = run.data.params
    assert params["agent.name"] == agent
    assert params["train.total_timesteps"] == "512"
    assert params["seed"] == "0"
    tags = run.data.tags
    assert tags["env_id"] == ENV_ID
    assert tags["plant"] == "bof_250t"
    assert tags["plant_hash"] == resolve_variant("bof_250t").plant_hash()
    plant = json.loads(Path(client.download_artifacts(run_id, "plant.json", str(root))).read_text())
    assert plant["plant_hash"] == tags["plant_hash"] and plant["name"] == "bof_250t"
    assert plant["params"] == resolve_variant("bof_250t").params.as_dict()  # the full set
    assert tags["algorithm"] == agent
    assert tags["seed"] == "0"
    assert re.fullmatch(r"[0-9a-f]{40}(-dirty)?|unknown", tags["git_commit"]), tags["git_commit"]

    config = yaml.safe_load(
        Path(client.download_artifacts(run_id, "config/config.yaml", str(root))).read_text()
    )
    assert config["agent"]["name"] == agent
    assert config["train"]["total_timesteps"] == 512
    assert "final_table.md" in {a.path for a in client.list_artifacts(run_id)}

    version = client.get_model_version_by_alias(MODEL, "candidate")
    assert version.run_id == run_id
    assert version.tags["algorithm"] == agent
    assert version.tags["run_id"] == run_id
    assert version.tags["plant_hash"] == tags["plant_hash"]
    assert "kpi/return_mean" in version.tags

    assert latest(root, run_id)["num_timesteps"] == 512
    final = root / "results" / "checkpoints" / run_id / "final"
    assert (final / "model.zip").is_file() and (final / "normalization.npz").is_file()
    assert (final / "policy.json").is_file() and not (final / "vecnormalize.pkl").exists()


# --- 2. determinism ---------------------------------------------------------------------------


def test_same_config_and_seed_give_identical_metrics(
    trained: Callable, tmp_path: Path, empty_store: Path
) -> None:
    first_root, first_id, first_summary = trained("ppo")
    second_root = fresh_root(tmp_path, empty_store)
    second_summary = run_train(second_root, *tiny("ppo"))
    (second,) = runs_in(second_root)
    (first,) = runs_in(first_root)

    def tracked(run: Run) -> dict[str, float]:
        return {k: v for k, v in run.data.metrics.items() if k.startswith(("kpi/", "eval/"))}

    assert any(k.startswith("kpi/operator/") for k in tracked(first))
    assert tracked(first) == tracked(second)
    assert first_summary == second_summary
    c1, c2 = client_for(first_root), client_for(second_root)
    for key in ("eval/return_mean", "eval/heat_cost_eur"):
        h1 = [(m.step, m.value) for m in c1.get_metric_history(first_id, key)]
        h2 = [(m.step, m.value) for m in c2.get_metric_history(second.info.run_id, key)]
        assert h1 == h2 and h1, key


# --- 3. resume --------------------------------------------------------------------------------


def interrupt_at(monkeypatch: pytest.MonkeyPatch, step: int) -> None:
    """Ctrl-C during training once ``step`` env-steps are done (right after that step's
    evaluation, at the end of a rollout but before its log and update)."""

    class Interrupting(CheckpointCallback):
        def _on_step(self) -> bool:
            super()._on_step()
            if self.num_timesteps >= step:
                raise KeyboardInterrupt
            return True

    monkeypatch.setattr(train_job, "CheckpointCallback", Interrupting)


def test_interrupted_run_resumes_into_the_same_run(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two interruptions: resumed once by checkpoint folder, once by MLflow run id."""
    overrides = tiny("ppo", "train.total_timesteps=768")  # rollouts of 128 env-steps
    client = client_for(root)

    interrupt_at(monkeypatch, 256)
    with pytest.raises(KeyboardInterrupt):
        run_train(root, *overrides)
    (run,) = runs_in(root)
    run_id = run.info.run_id
    assert run.info.status == "FAILED"
    # Ctrl-C checkpoints the rollout in progress (128..256) at its start: it is collected again
    assert latest(root, run_id)["num_timesteps"] == 128
    folder = root / "results" / "checkpoints" / run_id

    interrupt_at(monkeypatch, 512)
    with pytest.raises(KeyboardInterrupt):
        run_train(root, f"resume='{folder}'")  # by checkpoint folder
    assert [r.info.run_id for r in runs_in(root)] == [run_id]
    assert latest(root, run_id)["num_timesteps"] == 384

    monkeypatch.undo()
    summary = run_train(root, f"resume={run_id}")  # by run id
    (run,) = runs_in(root)
    assert run.info.run_id == run_id
    assert run.info.status == "FINISHED"
    assert latest(root, run_id)["num_timesteps"] == 768
    assert run.data.metrics["time/total_timesteps"] == 768
    assert run.data.metrics["kpi/return_mean"] == pytest.approx(summary["return_mean"])

    # a single continuous history over the three processes
    for key in ("time/total_timesteps", "eval/return_mean", "train/loss"):
        logged = steps(client, run_id, key)
        assert logged == sorted(set(logged)), (key, logged)
    # SB3 logs after each rollout of 128 env-steps; the two rollouts ended by an interruption
    # (at 256 and 512) are collected again on resume, so the history is the uninterrupted one
    assert steps(client, run_id, "time/total_timesteps") == [128, 256, 384, 512, 640, 768]
    assert steps(client, run_id, "eval/return_mean") == [256, 512, 768]
    assert client.get_model_version_by_alias(MODEL, "candidate").run_id == run_id


@pytest.mark.slow
def test_killed_process_resumes_from_last_checkpoint(tmp_path: Path) -> None:
    """SIGKILL (no Ctrl-C handler runs) after the first checkpoint; resume in a new process."""
    total = 4096
    cmd = [sys.executable, "-m", "experiments.train", "experiment=debug", f"paths.root={tmp_path}"]
    budget = [f"train.total_timesteps={total}", "train.checkpoint_every_steps=1024"]
    checkpoints = tmp_path / "results" / "checkpoints"
    proc = subprocess.Popen(
        [*cmd, *budget],
        cwd=REPO,
        env=subprocess_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while not list(checkpoints.glob("*/latest.json")):
            assert proc.poll() is None, "training ended before its first checkpoint"
            assert time.monotonic() < deadline, "no checkpoint within 180 s"
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    (pointer,) = checkpoints.glob("*/latest.json")
    run_id = pointer.parent.name
    assert json.loads(pointer.read_text())["num_timesteps"] < total

    done = subprocess.run(
        [*cmd, f"resume={run_id}"],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    (run,) = runs_in(tmp_path)
    assert run.info.run_id == run_id
    assert run.info.status == "FINISHED"
    assert json.loads(pointer.read_text())["num_timesteps"] == total
    logged = steps(client_for(tmp_path), run_id, "time/total_timesteps")
    assert logged == sorted(set(logged)) and logged[-1] == total


# --- 4. bad input -----------------------------------------------------------------------------


def test_unknown_group_option_lists_the_choices(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "experiments.train", "agent=foo", f"paths.root={tmp_path}"],
        cwd=REPO,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    message = done.stdout + done.stderr
    assert "Could not find 'agent/foo'" in message
    assert "Available options in 'agent'" in message
    for name in AGENTS:
        assert name in message
    assert not (tmp_path / "results").exists()


@pytest.mark.parametrize(
    ("override", "choices"),
    [("env=foo", ["bof"]), ("plant=foo", ["bof_250t", "bof_120t", "bof_worn_lance"])],
)
def test_unknown_env_or_plant_lists_the_choices(
    override: str, choices: list[str], tmp_path: Path
) -> None:
    with pytest.raises(MissingConfigException, match="Available options") as err:
        compose_train(tmp_path, "experiment=debug", override)
    for name in choices:
        assert name in str(err.value)


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("agent.algo.learning_rate=-0.001", "agent.algo.learning_rate"),
        ("train.total_timesteps=0", "train.total_timesteps"),
        ("agent.algo.gamma=1.5", "agent.algo.gamma"),
    ],
)
def test_invalid_value_fails_before_training(override: str, key: str, root: Path) -> None:
    with pytest.raises(ConfigError, match=re.escape(key)):
        run_train(root, "experiment=debug", override)
    assert runs_in(root) == []
    assert not (root / "results" / "checkpoints").exists()


def test_unreachable_tracking_server_fails_fast_and_writes_nothing(root: Path) -> None:
    t0 = time.perf_counter()
    with pytest.raises(TrackingError, match="unreachable"):
        run_train(root, "experiment=debug", "tracking=server", "tracking.uri=http://127.0.0.1:9")
    assert time.perf_counter() - t0 < 15
    assert runs_in(root) == []  # the local store there got nothing
    assert not (root / "results" / "checkpoints").exists()
    assert not (root / "results" / "mlartifacts").exists()


def test_server_tracking_without_uri_says_so(root: Path) -> None:
    with pytest.raises(TrackingError, match=r"tracking\.uri is not set"):
        run_train(root, "experiment=debug", "tracking=server")
    assert runs_in(root) == []


def test_load_policy_reports_missing_and_corrupt_files(tmp_path: Path) -> None:
    agent = {"algo": {"_target_": "stable_baselines3.PPO"}}
    with pytest.raises(FileNotFoundError, match=re.escape(str(tmp_path / "model.zip"))):
        load_policy(tmp_path, agent)
    (tmp_path / "model.zip").write_bytes(b"this is not a zip archive")
    with pytest.raises(ValueError, match="cannot load"):
        load_policy(tmp_path, agent, trust_pickle=True)


def test_an_overridden_plant_trains_under_its_own_name(root: Path) -> None:
    """plant=bof_250t with an override is not bof_250t: its run is not named like it."""
    cfg = compose_train(root, "experiment=debug", "+plant.params.scrap_t=45")
    c = train_job.resolve_config(cfg)
    assert c["plant_name"] == "bof_250t+overrides"
    assert train_job.plant_of(c).plant_hash() != resolve_variant("bof_250t").plant_hash()
    plain = train_job.resolve_config(compose_train(root, "experiment=debug"))
    assert train_job.plant_of(plain).identity() == resolve_variant("bof_250t").identity()


def test_resume_without_checkpoint_is_a_clear_error(root: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no-such-run"):
        run_train(root, "experiment=debug", "resume=no-such-run")

    # a run killed before its first checkpoint: folder, config and run id, no latest.json
    cfg = compose_train(root, "experiment=debug")
    folder = root / "results" / "checkpoints" / "abc123"
    folder.mkdir(parents=True)
    (folder / "run_id").write_text("abc123")
    (folder / "config.yaml").write_text(yaml.safe_dump(train_job.resolve_config(cfg)))
    (folder / "overrides.yaml").write_text(yaml.safe_dump(["experiment=debug"]))
    with pytest.raises(FileNotFoundError, match=r"no checkpoint to resume from .*abc123"):
        run_train(root, "experiment=debug", "resume=abc123")
    # an override the interrupted run did not have would be silently ignored: refused instead
    with pytest.raises(ConfigError, match=r"drop them: \['train.total_timesteps=4096'\]"):
        run_train(root, "experiment=debug", "train.total_timesteps=4096", "resume=abc123")
    assert runs_in(root) == []


def test_off_policy_agent_that_would_never_train_is_refused(root: Path) -> None:
    with pytest.raises(ConfigError, match=r"agent\.algo\.learning_starts = 5000 is not below"):
        run_train(root, "experiment=debug", "agent=sac")


def test_vector_env_step_before_reset_is_refused() -> None:
    from envs.steel import BOFVectorEnv

    with pytest.raises(RuntimeError, match="reset"):
        BOFVectorEnv(2).step(np.zeros((2, 5)))


# --- 5. the registered model ------------------------------------------------------------------


@pytest.mark.parametrize("agent", ["ppo", "recurrent_ppo"])
def test_registered_model_predicts_like_the_saved_policy(agent: str, trained: Callable) -> None:
    root, run_id, _ = trained(agent)
    mlflow.set_tracking_uri(store_uri(root))
    model = mlflow.pyfunc.load_model(f"models:/{MODEL}@candidate")
    obs = env_observations()
    actions = np.asarray(model.predict(obs))

    assert actions.shape == (len(obs), 5)
    assert np.all(np.abs(actions) <= 1.0)

    final = root / "results" / "checkpoints" / run_id / "final"
    agent_cfg = yaml.safe_load((final / "config.yaml").read_text())["agent"]
    sb3_model, vecnorm = load_policy(final, agent_cfg)
    if agent_cfg["recurrent"]:
        policy: Any = RecurrentSB3Policy(sb3_model, vecnorm)
        policy.reset(len(obs))
    else:
        policy = SB3Policy(sb3_model, vecnorm)
    np.testing.assert_array_equal(actions, policy.act(obs))
    # normalisation statistics are part of the artefact: raw and normalised inputs differ
    assert vecnorm is not None and not np.allclose(np.asarray(vecnorm.normalize_obs(obs)), obs)
