"""Build Stable-Baselines3 algorithms and their training env from (Hydra) config mappings.

Algorithms are instantiated from their ``_target_`` with ``_convert_="all"`` (without it SB3
receives OmegaConf lists and fails deep inside torch; ECOSYSTEM.md). Observation and reward
normalisation (VecNormalize) is part of the trained artefact: it is saved and restored with the
model (:func:`save_policy` / :func:`load_policy`).
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from hydra.utils import get_class, instantiate
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from agents.history import MemoryConfig
from agents.residual import ResidualConfig
from agents.vecenv import make_sb3_vec_env

__all__ = [
    "action_names",
    "algorithm_class",
    "build_agent",
    "load_policy",
    "make_train_env",
    "save_policy",
    "set_initial_log_std",
]

MODEL_FILE = "model.zip"
VECNORM_FILE = "vecnormalize.pkl"


def make_train_env(
    env_id: str,
    n_envs: int,
    seed: int,
    plant: Any,
    env_kwargs: Mapping[str, Any],
    normalize_obs: bool,
    normalize_reward: bool,
    gamma: float,
    residual: ResidualConfig | None = None,
    paired_reference: str | None = None,
    memory: MemoryConfig | None = None,
) -> VecEnv:
    """The native vector env of ``n_envs`` plants, wrapped for SB3 and (optionally) normalised.

    With a ``residual`` base controller the agent acts on :class:`ResidualVectorWrapper` (a
    correction to the base; the observation carries the base's estimates if configured), and
    the normalisation sees that observation. With a ``paired_reference`` controller each
    unit's reward is paid net of that controller's return on the same episode
    (:mod:`agents.paired`: common random numbers for the gradient). With ``memory=window`` the
    window of the last unit results is appended after the observation (and the estimates),
    outermost (:class:`agents.history.HistoryVectorWrapper`).
    """
    venv: VecEnv = make_sb3_vec_env(
        env_id,
        n_envs=n_envs,
        seed=seed,
        plant=plant,
        residual=residual,
        paired_reference=paired_reference,
        memory=memory,
        **env_kwargs,
    )
    if normalize_obs or normalize_reward:
        venv = VecNormalize(venv, norm_obs=normalize_obs, norm_reward=normalize_reward, gamma=gamma)
    return venv


def algorithm_class(agent_cfg: Mapping[str, Any]) -> type[BaseAlgorithm]:
    """The SB3 class named by ``agent.algo._target_``."""
    return get_class(str(agent_cfg["algo"]["_target_"]))


def build_agent(
    agent_cfg: Mapping[str, Any],
    env: VecEnv,
    seed: int,
    action_names: Sequence[str] | None = None,
) -> BaseAlgorithm:
    """Instantiate the algorithm of ``agent.algo`` on ``env`` with a fixed seed.

    ``agent.log_std_per_action`` (``{actuator name: log σ}``, names from ``action_names``)
    sets the initial exploration of single actuators; the others keep
    ``policy_kwargs.log_std_init``.
    """
    model = instantiate(agent_cfg["algo"], env=env, seed=seed, _convert_="all")
    per_action = agent_cfg.get("log_std_per_action")
    if per_action:
        set_initial_log_std(model, per_action, action_names or [])
    return model


def action_names(env_id: str) -> list[str]:
    """The actuator names of a process in action order (its layout's ``ACTUATORS``)."""
    import envs

    layout = importlib.import_module(envs.process(env_id).layout)
    return list(layout.ACTUATORS.names)


def set_initial_log_std(
    model: BaseAlgorithm, per_action: Mapping[str, float], names: Sequence[str]
) -> None:
    """Per-actuator initial exploration: ``log σ`` of the named action dimensions.

    One σ for every actuator spends the same exploration on a lance height (cheap to jiggle)
    as on the end-of-blow target or the lime trim (a cliff: a P downgrade costs ≈ 7.5 kEUR per
    heat). Needs a state-independent Gaussian policy (PPO, A2C, RecurrentPPO without gSDE).
    """
    log_std = getattr(model.policy, "log_std", None)
    if not isinstance(log_std, torch.nn.Parameter) or log_std.ndim != 1:
        raise ValueError(
            f"agent.log_std_per_action needs a Gaussian policy with one log σ per action "
            f"(PPO, A2C, RecurrentPPO); {type(model).__name__} has none"
        )
    unknown = sorted(set(per_action) - set(names))
    if unknown:
        raise ValueError(
            f"agent.log_std_per_action: unknown actuator(s) {unknown}; valid: {list(names)}"
        )
    if len(names) != log_std.shape[0]:
        raise ValueError(f"{len(names)} actuator names for {log_std.shape[0]} action dimensions")
    with torch.no_grad():
        for name, value in per_action.items():
            log_std[names.index(name)] = float(value)


def save_policy(model: BaseAlgorithm, env: VecEnv | None, directory: str | Path) -> Path:
    """Write ``model.zip`` and, if the env is normalised, ``vecnormalize.pkl`` into directory."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / MODEL_FILE)
    if isinstance(env, VecNormalize):
        env.save(str(directory / VECNORM_FILE))
    return directory


def load_policy(
    directory: str | Path, algo_cls: type[BaseAlgorithm], venv: VecEnv | None = None
) -> tuple[BaseAlgorithm, VecNormalize | None]:
    """Load a saved policy and its normalisation statistics (evaluation mode: frozen, raw reward).

    Raises:
        FileNotFoundError: no ``model.zip`` in ``directory`` (the message names the path).
        ValueError: the file exists but is not a loadable model of ``algo_cls``.
    """
    directory = Path(directory)
    zip_path = directory / MODEL_FILE
    if not zip_path.is_file():
        raise FileNotFoundError(f"no trained policy at {zip_path} (expected {MODEL_FILE})")
    try:
        model = algo_cls.load(zip_path, device="cpu")
    except Exception as err:  # SB3 raises zipfile/pickle/torch errors on a corrupt file
        raise ValueError(f"cannot load {zip_path} as a {algo_cls.__name__} model: {err}") from err
    vecnorm = None
    path = directory / VECNORM_FILE
    if path.is_file():
        if venv is not None:
            vecnorm = VecNormalize.load(str(path), venv)
        else:  # statistics only (what VecNormalize.load unpickles before attaching a venv)
            with path.open("rb") as f:
                vecnorm = pickle.load(f)
        vecnorm.training, vecnorm.norm_reward = False, False
    return model, vecnorm
