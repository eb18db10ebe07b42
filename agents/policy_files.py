"""The policy folder as data: what a trained policy is saved as, and how it is read without pickle.

SB3's ``model.zip`` keeps the network weights as torch tensors (read with ``weights_only``: data)
and the hyperparameters as JSON, but every entry JSON cannot hold (schedules, classes, spaces,
``policy_kwargs`` with an activation class, buffers) is cloudpickled: ``BaseAlgorithm.load``
would run whatever a crafted file put there. So loading replaces *every* cloudpickled entry of
the archive (``custom_objects``) with the value the same algorithm has when built afresh from
the run's config on the saved spaces; nothing in the archive is unpickled. The learning-rate
and clip-range schedules are rebuilt that way too, which is what a resumed training needs.

| file | content | read with |
| --- | --- | --- |
| ``model.zip`` | SB3 archive: weights, optimizer states, hyperparameters | :func:`load_model` |
| ``policy.json`` | algorithm, observation and action spaces, episode buffers | ``json`` |
| ``normalization.npz`` | ``VecNormalize`` statistics as arrays | ``np.load(allow_pickle=False)`` |
| ``vecnormalize.pkl`` | old format: a pickled ``VecNormalize`` | pickle, if ``trust_pickle=true`` |
"""

from __future__ import annotations

import json
import warnings
import zipfile
from collections import deque
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from hydra.utils import instantiate
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.running_mean_std import RunningMeanStd
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

from agents.allowlist import allowed_class, check_targets

__all__ = [
    "MANIFEST_FILE",
    "NORMALIZATION_FILE",
    "fresh_algorithm",
    "load_model",
    "load_normalization",
    "read_manifest",
    "save_normalization",
    "serialized_entries",
    "write_manifest",
]

MANIFEST_FILE = "policy.json"
NORMALIZATION_FILE = "normalization.npz"
FORMAT = 1
# the episode statistics SB3 averages into rollout/ep_*_mean: kept across a resume
EPISODE_BUFFERS = ("ep_info_buffer", "ep_success_buffer")


def _space_to_json(space: gym.Space, what: str) -> dict[str, Any]:
    if isinstance(space, gym.spaces.Box):
        return {
            "type": "Box",
            "low": space.low.tolist(),
            "high": space.high.tolist(),
            "dtype": str(space.dtype),
        }
    if isinstance(space, gym.spaces.Discrete):
        return {"type": "Discrete", "n": int(space.n), "start": int(space.start)}
    raise ValueError(f"cannot save the {what} {space}: only Box and Discrete spaces are supported")


def _space_from_json(spec: Mapping[str, Any], what: str) -> gym.Space:
    kind = spec.get("type")
    if kind == "Box":
        dtype = np.dtype(str(spec["dtype"]))
        low, high = np.asarray(spec["low"], dtype=dtype), np.asarray(spec["high"], dtype=dtype)
        return gym.spaces.Box(low=low, high=high, dtype=dtype)  # type: ignore[arg-type]
    if kind == "Discrete":
        return gym.spaces.Discrete(int(spec["n"]), start=int(spec["start"]))
    raise ValueError(f"{MANIFEST_FILE}: {what} of unsupported type {kind!r} (Box or Discrete)")


def _plain(value: Any) -> Any:
    """numpy scalars in SB3's episode buffers as JSON numbers."""
    return value.item() if hasattr(value, "item") else float(value)


def write_manifest(model: BaseAlgorithm, directory: Path, normalized: bool) -> None:
    """``policy.json``: what loading needs besides the config, as plain JSON."""
    cls = type(model)
    manifest = {
        "format": FORMAT,
        "algorithm": f"{cls.__module__}.{cls.__qualname__}",
        # the config may name it by an alias (MlpPolicy) or, in hand-written folders, not at all
        "policy_class": f"{model.policy_class.__module__}.{model.policy_class.__qualname__}",
        "observation_space": _space_to_json(model.observation_space, "observation space"),
        "action_space": _space_to_json(model.action_space, "action space"),
        "normalization": NORMALIZATION_FILE if normalized else None,
    }
    for name in EPISODE_BUFFERS:
        buffer = getattr(model, name, None)
        manifest[name] = (
            None if buffer is None else json.loads(json.dumps(list(buffer), default=_plain))
        )
    (directory / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2))


def read_manifest(directory: Path) -> dict[str, Any]:
    """The manifest of a policy folder written in the safe format.

    Raises:
        ValueError: unreadable JSON or another format version (the message names the file).
    """
    path = directory / MANIFEST_FILE
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{path} is not a policy manifest: {err}") from err
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown manifest format (expected format {FORMAT})")
    return manifest


def save_normalization(vecnorm: VecNormalize, path: Path) -> None:
    """The normalisation statistics as arrays (no pickle); dict observations are not supported."""
    if isinstance(getattr(vecnorm, "obs_rms", None), dict):
        raise ValueError("cannot save the normalisation of a dict observation space")
    space = vecnorm.observation_space
    assert isinstance(space, gym.spaces.Box)
    arrays: dict[str, Any] = {
        "norm_obs": vecnorm.norm_obs,
        "norm_reward": vecnorm.norm_reward,
        "clip_obs": vecnorm.clip_obs,
        "clip_reward": vecnorm.clip_reward,
        "gamma": vecnorm.gamma,
        "epsilon": vecnorm.epsilon,
        "obs_low": space.low,
        "obs_high": space.high,
        "ret_mean": vecnorm.ret_rms.mean,
        "ret_var": vecnorm.ret_rms.var,
        "ret_count": vecnorm.ret_rms.count,
    }
    if vecnorm.norm_obs:
        rms = vecnorm.obs_rms
        assert isinstance(rms, RunningMeanStd)  # a dict was refused above
        arrays.update(obs_mean=rms.mean, obs_var=rms.var, obs_count=rms.count)
    with path.open("wb") as f:  # np.savez would append ".npz" to a str path
        np.savez(f, **arrays)


def _running(mean: np.ndarray, var: np.ndarray, count: np.ndarray) -> RunningMeanStd:
    rms = RunningMeanStd(shape=mean.shape)
    rms.mean, rms.var, rms.count = mean.astype(np.float64), var.astype(np.float64), float(count)
    return rms


def load_normalization(path: Path, venv: VecEnv | None = None) -> VecNormalize:
    """Statistics saved by :func:`save_normalization`, wrapping ``venv`` (training mode) or,
    without a venv, a statistics-only ``VecNormalize`` (what unpickling one gave).

    Raises:
        ValueError: the file is not such an array file (the message names it).
    """
    try:
        with np.load(path, allow_pickle=False) as data:
            z = {key: data[key] for key in data.files}
        norm_obs, norm_reward = bool(z["norm_obs"]), bool(z["norm_reward"])
        obs_rms = _running(z["obs_mean"], z["obs_var"], z["obs_count"]) if norm_obs else None
        ret_rms = _running(z["ret_mean"], z["ret_var"], z["ret_count"])
        clip_obs, clip_reward = float(z["clip_obs"]), float(z["clip_reward"])
        gamma, epsilon = float(z["gamma"]), float(z["epsilon"])
        low, high = z["obs_low"], z["obs_high"]
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as err:
        raise ValueError(f"{path} is not a normalisation file written by training: {err}") from err
    if venv is not None:
        vecnorm = VecNormalize(
            venv,
            norm_obs=norm_obs,
            norm_reward=norm_reward,
            clip_obs=clip_obs,
            clip_reward=clip_reward,
            gamma=gamma,
            epsilon=epsilon,
        )
    else:  # the state a pickled VecNormalize carries, set the way unpickling sets it
        vecnorm = VecNormalize.__new__(VecNormalize)
        space = gym.spaces.Box(low=low, high=high, dtype=low.dtype)  # type: ignore[arg-type]
        vecnorm.__setstate__(
            {
                "observation_space": space,
                "norm_obs": norm_obs,
                "norm_obs_keys": None,
                "norm_reward": norm_reward,
                "clip_obs": clip_obs,
                "clip_reward": clip_reward,
                "gamma": gamma,
                "epsilon": epsilon,
                "training": False,
                "old_reward": np.array([]),
            }
        )
    if obs_rms is not None:  # SB3 annotates obs_rms with its dict-observation type only
        vecnorm.obs_rms = obs_rms  # type: ignore[assignment]
    vecnorm.ret_rms = ret_rms
    return vecnorm


def serialized_entries(zip_path: Path) -> list[str]:
    """Keys of the archive's ``data`` JSON that ``BaseAlgorithm.load`` would cloudpickle-load.

    Raises:
        ValueError: not a zip archive with a JSON ``data`` member.
    """
    try:
        with zipfile.ZipFile(zip_path) as archive:
            data = json.loads(archive.read("data"))
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(f"{zip_path} is not an SB3 model archive: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{zip_path}: the data member is not a JSON object")
    return [key for key, item in data.items() if isinstance(item, dict) and ":serialized:" in item]


class _SpacesOnly(gym.Env):
    """An env that only has spaces: enough to build an algorithm for inference."""

    def __init__(self, observation_space: gym.Space, action_space: gym.Space) -> None:
        self.observation_space, self.action_space = observation_space, action_space

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> Any:
        raise RuntimeError("a policy loaded for inference has no env to reset")

    def step(self, action: Any) -> Any:
        raise RuntimeError("a policy loaded for inference has no env to step")


def sized_action_noise(noise: Mapping[str, Any], n_act: int) -> dict[str, Any]:
    """``agent.algo.action_noise`` with its ``mean`` and ``sigma`` as one entry per actuator: a
    number applies to all of them (the same config serves the BOF's 5 and the paint line's 11).

    Raises:
        ValueError: a list whose length is not the env's action dimension.
    """
    sized = dict(noise)
    for key in ("mean", "sigma"):
        value = sized.get(key)
        if value is None:
            continue
        if isinstance(value, int | float):
            sized[key] = [float(value)] * n_act
        elif len(value) != n_act:
            raise ValueError(
                f"agent.algo.action_noise.{key} has {len(value)} entries, the env has {n_act} "
                "actions: give one number for all of them or one per actuator"
            )
    return sized


def algo_config(agent_cfg: Mapping[str, Any], env: VecEnv) -> dict[str, Any]:
    """``agent.algo`` ready to instantiate on ``env``: its action noise sized to the env."""
    algo = dict(agent_cfg["algo"])
    if isinstance(algo.get("action_noise"), Mapping):
        shape = env.action_space.shape
        assert shape is not None  # a flat Box
        algo["action_noise"] = sized_action_noise(algo["action_noise"], shape[0])
    return algo


def fresh_algorithm(
    agent_cfg: Mapping[str, Any], manifest: Mapping[str, Any] | None, env: VecEnv | None
) -> BaseAlgorithm:
    """The algorithm of ``agent.algo`` built anew, on ``env`` or on the manifest's spaces.

    Its classes (the config's and the manifest's policy class) are checked against the
    allow-list first; it is built without a seed so that neither the env nor the global
    generators are reseeded by loading.
    """
    check_targets(agent_cfg, "agent")
    allowed_class(str(agent_cfg["algo"]["_target_"]), "agent.algo._target_")
    options: dict[str, Any] = {}
    if manifest is not None and manifest.get("policy_class"):
        where = f"{MANIFEST_FILE} policy_class"
        options["policy"] = allowed_class(str(manifest["policy_class"]), where)
    if env is None:
        assert manifest is not None
        obs = _space_from_json(manifest["observation_space"], "observation_space")
        act = _space_from_json(manifest["action_space"], "action_space")
        env = DummyVecEnv([lambda: _SpacesOnly(obs, act)])
    with warnings.catch_warnings():
        # PPO checks its minibatch against n_steps × n_envs of *this* env: one spaces-only env
        # for loading, not the training batch, so its truncated-minibatch advice does not apply
        warnings.filterwarnings("ignore", message="You have specified a mini-batch size")
        return instantiate(algo_config(agent_cfg, env), env=env, _convert_="all", **options)


def load_model(
    zip_path: Path,
    agent_cfg: Mapping[str, Any],
    manifest: Mapping[str, Any] | None,
    env: VecEnv | None = None,
) -> BaseAlgorithm:
    """The SB3 model in ``zip_path``; no cloudpickled entry of the archive is unpickled.

    Each such entry is replaced by the attribute of the algorithm built afresh from
    ``agent_cfg`` (policy class and kwargs, spaces, schedules, buffer classes: the run's own
    values) or, for the episode-info buffers, by the manifest's plain copy; an entry the fresh
    algorithm does not have (a crafted one) becomes ``None``.

    Raises:
        ValueError: not an SB3 archive, or one that does not fit the config (the message says
            which).
    """
    entries = serialized_entries(zip_path)
    fresh = fresh_algorithm(agent_cfg, manifest, env)
    replacements = {key: getattr(fresh, key, None) for key in entries}
    for name in EPISODE_BUFFERS:
        if name in replacements and manifest is not None and manifest.get(name) is not None:
            replacements[name] = deque(manifest[name], maxlen=fresh._stats_window_size)
    built = _qualname(fresh)
    if manifest is not None and manifest.get("algorithm") not in (None, built):
        saved = manifest["algorithm"]
        raise ValueError(f"{zip_path} holds a {saved} model, but the config builds a {built}")
    try:
        return type(fresh).load(zip_path, env=env, device="cpu", custom_objects=replacements)
    except Exception as err:  # SB3 raises zipfile/torch/shape errors on a file that does not fit
        raise ValueError(
            f"cannot load {zip_path} as a {type(fresh).__name__} model: {err}"
        ) from err


def _qualname(model: BaseAlgorithm) -> str:
    return f"{type(model).__module__}.{type(model).__qualname__}"
