"""The trust boundary of policy folders: loading one never runs code stored in its files.

Crafted pickles sit where SB3 and the old format read them (``vecnormalize.pkl``, the
cloudpickled ``lr_schedule`` inside ``model.zip``); each would create a marker file when
unpickled. The normal paths (``load_saved_policy``, ``experiments.evaluate policy=<folder>``)
must not create it; the old reader runs only behind ``trust_pickle``. Classes named in a
folder's ``config.yaml`` come only from the allow-list.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from stable_baselines3 import PPO

from agents.allowlist import NotAllowedError, allowed_class, check_targets
from agents.builder import MODEL_FILE, VECNORM_FILE, load_policy, make_train_env, save_policy
from agents.loading import load_saved_policy
from agents.policy import SB3Policy
from agents.policy_files import algo_config

REPO = Path(__file__).resolve().parents[1]
ENV_ID = "plantrl/BOF-v2"
AGENT = {
    "name": "ppo",
    "recurrent": False,
    "algo": {
        "_target_": "stable_baselines3.PPO",
        "policy": "MlpPolicy",
        "learning_rate": 3.0e-4,
        "n_steps": 32,
        "batch_size": 32,
        "n_epochs": 1,
        "clip_range": 0.2,
        "policy_kwargs": {
            "net_arch": [16, 16],
            "activation_fn": {"_target_": "hydra.utils.get_class", "path": "torch.nn.Tanh"},
        },
        "device": "cpu",
    },
}


class _Touch:
    """Unpickling this creates ``marker``: the evidence that a pickle was executed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, tuple[Path]]:
        return (Path.touch, (self.marker,))


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, PPO, Any]:
    """A tiny PPO on a normalised BOF env, saved by the training code with its config."""
    from hydra.utils import instantiate

    venv = make_train_env(ENV_ID, 2, 0, None, {}, True, True, 0.99)
    model = instantiate(AGENT["algo"], env=venv, seed=0, _convert_="all")
    model.learn(64)
    folder = save_policy(model, venv, tmp_path_factory.mktemp("trust") / "policy")
    (folder / "config.yaml").write_text(yaml.safe_dump({"agent": AGENT}))
    return folder, model, venv


def observations(n_obs: int) -> np.ndarray:
    return np.random.default_rng(1).normal(50.0, 30.0, size=(8, n_obs)).astype(np.float32)


def reference_actions(trained: tuple[Path, PPO, Any]) -> np.ndarray:
    _, model, venv = trained
    return SB3Policy(model, venv).act(observations(model.observation_space.shape[0]))


def copy_policy(folder: Path, target: Path, old_format: Any = None) -> Path:
    """A copy of the policy folder; with ``old_format`` (the training VecNormalize) as the
    code wrote it before: statistics pickled by ``VecNormalize.save``, no manifest."""
    shutil.copytree(folder, target)
    if old_format is not None:
        (target / "policy.json").unlink()
        (target / "normalization.npz").unlink()
        old_format.save(str(target / VECNORM_FILE))
    return target


def plant_lr_schedule_payload(zip_path: Path, marker: Path) -> None:
    """Replace the cloudpickled ``lr_schedule`` of an SB3 archive with a crafted pickle."""
    with zipfile.ZipFile(zip_path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members["data"])
    assert ":serialized:" in data["lr_schedule"]  # the entry SB3 would unpickle
    data["lr_schedule"][":serialized:"] = base64.b64encode(pickle.dumps(_Touch(marker))).decode()
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(zip_path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)


# --- round trip -------------------------------------------------------------------------------


def test_a_saved_policy_is_data_and_acts_as_before(trained: tuple[Path, PPO, Any]) -> None:
    folder = trained[0]
    assert {p.name for p in folder.iterdir()} >= {MODEL_FILE, "policy.json", "normalization.npz"}
    assert not (folder / VECNORM_FILE).exists()
    with np.load(folder / "normalization.npz", allow_pickle=False) as stats:
        assert stats["obs_mean"].shape == trained[1].observation_space.shape
    policy = load_saved_policy(folder)
    obs = observations(policy.observation_shape[0])
    np.testing.assert_array_equal(policy.act(obs), reference_actions(trained))


def test_the_old_format_loads_the_same_policy_when_trusted(
    trained: tuple[Path, PPO, Any], tmp_path: Path
) -> None:
    old = copy_policy(trained[0], tmp_path / "old", old_format=trained[2])
    with pytest.raises(ValueError, match=r"old format.*trust_pickle=true"):
        load_saved_policy(old)
    policy = load_saved_policy(old, trust_pickle=True)
    obs = observations(policy.observation_shape[0])
    np.testing.assert_array_equal(policy.act(obs), reference_actions(trained))


def test_pyfunc_code_stored_with_old_models_still_loads_when_trusted(
    trained: tuple[Path, PPO, Any], tmp_path: Path
) -> None:
    """Models registered before policy.json carry their own copy of the pyfunc code, which
    calls ``load_policy(folder, <algorithm class>)``: with trust it loads as before, without it
    is refused; the class is never accepted for a folder in the current format."""
    from agents.builder import load_policy

    old = copy_policy(trained[0], tmp_path / "old", old_format=trained[2])
    with pytest.raises(ValueError, match="trust_pickle=true"):
        load_policy(old, PPO)
    model, _ = load_policy(old, PPO, trust_pickle=True)
    assert isinstance(model, PPO)
    with pytest.raises(ValueError, match="current format"):
        load_policy(trained[0], PPO, trust_pickle=True)


# small budgets for the agent configs of conf/agent/ (the rest as configured)
SMALL = {
    "ppo": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
    "a2c": {},
    "recurrent_ppo": {"n_steps": 32, "batch_size": 32, "n_epochs": 1},
    "sac": {"learning_starts": 32, "buffer_size": 256, "batch_size": 32, "gradient_steps": 1},
    "td3": {"learning_starts": 32, "buffer_size": 256, "batch_size": 32, "gradient_steps": 1},
}


@pytest.mark.parametrize("name", sorted(SMALL))
def test_every_agent_config_round_trips_without_pickle(name: str, tmp_path: Path) -> None:
    from hydra.utils import instantiate

    from agents.evaluation import RecurrentSB3Policy

    agent = yaml.safe_load((REPO / "conf" / "agent" / f"{name}.yaml").read_text())
    agent["algo"].update(SMALL[name])
    venv = make_train_env(ENV_ID, 2, 0, None, {}, True, False, 0.99)
    model = instantiate(algo_config(agent, venv), env=venv, seed=0, _convert_="all")
    model.learn(64)
    folder = save_policy(model, venv, tmp_path / "policy")
    (folder / "config.yaml").write_text(yaml.safe_dump({"agent": agent}))
    wrapper = RecurrentSB3Policy if agent["recurrent"] else SB3Policy
    obs = observations(model.observation_space.shape[0])
    before, after = wrapper(model, venv), load_saved_policy(folder)
    for policy in (before, after):
        if hasattr(policy, "reset"):
            policy.reset(len(obs))
    np.testing.assert_array_equal(after.act(obs), before.act(obs))


def test_resume_rebuilds_the_schedules_from_the_config(
    trained: tuple[Path, PPO, Any], tmp_path: Path
) -> None:
    """A checkpoint loads for training (env attached, statistics updating); its crafted
    ``lr_schedule`` is not run: the schedule is rebuilt from the archive's plain learning rate,
    the cloudpickled clip range comes from the run's config (here changed to show the source)."""
    marker = tmp_path / "ran"
    checkpoint = copy_policy(trained[0], tmp_path / "step_64")
    plant_lr_schedule_payload(checkpoint / MODEL_FILE, marker)
    agent = json.loads(json.dumps(AGENT))
    agent["algo"].update(clip_range=0.1)
    venv = make_train_env(ENV_ID, 2, 0, None, {}, False, False, 0.99)
    model, vecnorm = load_policy(checkpoint, agent, venv, training=True)
    assert not marker.exists()
    assert model.lr_schedule(1.0) == pytest.approx(AGENT["algo"]["learning_rate"])
    assert model.clip_range(1.0) == pytest.approx(0.1)
    assert vecnorm is not None and vecnorm.training and vecnorm.norm_reward
    assert model.get_env() is vecnorm and vecnorm.venv is venv
    assert model.num_timesteps == trained[1].num_timesteps
    np.testing.assert_array_equal(vecnorm.obs_rms.mean, trained[2].obs_rms.mean)
    np.testing.assert_array_equal(vecnorm.ret_rms.var, trained[2].ret_rms.var)


# --- crafted pickles --------------------------------------------------------------------------


def test_a_crafted_vecnormalize_pickle_is_never_unpickled(
    trained: tuple[Path, PPO, Any], tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    new = copy_policy(trained[0], tmp_path / "new")
    (new / VECNORM_FILE).write_bytes(pickle.dumps(_Touch(marker)))
    load_saved_policy(new)  # the safe format reads normalization.npz; the pickle is ignored
    assert not marker.exists()

    old = copy_policy(trained[0], tmp_path / "old", old_format=trained[2])
    (old / VECNORM_FILE).write_bytes(pickle.dumps(_Touch(marker)))
    with pytest.raises(ValueError, match="trust_pickle=true"):
        load_saved_policy(old)
    assert not marker.exists()
    with contextlib.suppress(Exception):  # the payload is no VecNormalize: loading fails after
        load_saved_policy(old, trust_pickle=True)
    assert marker.exists()  # the trusted reader does unpickle: the payload is live


def test_a_crafted_lr_schedule_in_model_zip_is_never_unpickled(
    trained: tuple[Path, PPO, Any], tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    new = copy_policy(trained[0], tmp_path / "new")
    plant_lr_schedule_payload(new / MODEL_FILE, marker)
    policy = load_saved_policy(new)
    assert not marker.exists()
    obs = observations(policy.observation_shape[0])
    np.testing.assert_array_equal(policy.act(obs), reference_actions(trained))

    old = copy_policy(new, tmp_path / "old", old_format=trained[2])
    with pytest.raises(ValueError, match="trust_pickle=true"):
        load_saved_policy(old)
    assert not marker.exists()
    load_saved_policy(old, trust_pickle=True)
    assert marker.exists()


def test_evaluate_on_a_crafted_folder_runs_no_payload(
    trained: tuple[Path, PPO, Any], tmp_path: Path
) -> None:
    marker = tmp_path / "ran"
    folder = copy_policy(trained[0], tmp_path / "policy")
    plant_lr_schedule_payload(folder / MODEL_FILE, marker)
    (folder / VECNORM_FILE).write_bytes(pickle.dumps(_Touch(marker)))
    command = [
        sys.executable,
        "-m",
        "experiments.evaluate",
        f"policy={folder}",
        "scenario_sets=[nominal]",
        "episodes=1",
        f"tracking.uri=sqlite:///{tmp_path}/mlflow.db",
        f"tracking.artifact_location={tmp_path}/art",
        f"paths.runs={tmp_path}/runs",
    ]
    env = {**os.environ, "PYTHONPATH": str(REPO), "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not marker.exists()


# --- classes named by a config ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("_target_", "os.system"),
        ("_target_", "subprocess.Popen"),
        ("_target_", "stable_baselines3.common.utils.set_random_seed"),  # a function: called
        (
            "policy_kwargs",
            {"activation_fn": {"_target_": "hydra.utils.get_class", "path": "os.popen"}},
        ),
        ("policy_kwargs", {"activation_fn": {"_target_": "torch.hub.load"}}),
    ],
)
def test_a_class_off_the_allow_list_is_refused(
    trained: tuple[Path, PPO, Any], tmp_path: Path, key: str, value: Any
) -> None:
    folder = copy_policy(trained[0], tmp_path / "policy")
    agent = json.loads(json.dumps(AGENT))
    agent["algo"][key] = value
    (folder / "config.yaml").write_text(yaml.safe_dump({"agent": agent}))
    with pytest.raises(NotAllowedError, match="allow-list"):
        load_saved_policy(folder)


def test_the_allow_list_admits_what_the_configs_use() -> None:
    import torch
    from sb3_contrib import RecurrentPPO

    assert allowed_class("torch.nn.Tanh", "x") is torch.nn.Tanh
    assert allowed_class("sb3_contrib.RecurrentPPO", "x") is RecurrentPPO
    assert allowed_class("stable_baselines3.common.policies.ActorCriticPolicy", "x")
    for name in ("ppo", "sac", "td3", "a2c", "recurrent_ppo"):
        check_targets(yaml.safe_load((REPO / "conf" / "agent" / f"{name}.yaml").read_text()))
    with pytest.raises(NotAllowedError, match=r"agent\.algo\.policy_kwargs\.x\.path"):
        check_targets(
            {
                "algo": {
                    "policy_kwargs": {"x": {"_target_": "hydra.utils.get_class", "path": "a.B"}}
                }
            },
            "agent",
        )
