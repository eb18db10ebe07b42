"""Build Stable-Baselines3 algorithms and their training env from (Hydra) config mappings.

Algorithms are instantiated from their ``_target_`` with ``_convert_="all"`` (without it SB3
receives OmegaConf lists and fails deep inside torch; ECOSYSTEM.md). Observation and reward
normalisation (VecNormalize) is part of the trained artefact: it is saved and restored with the
model (:func:`save_policy` / :func:`load_policy`), as data: nothing in a policy folder written
here is unpickled on loading (:mod:`agents.policy_files`). Folders in the old format
(``vecnormalize.pkl``, no ``policy.json``) are code and load only with ``trust_pickle=True``.
"""

from __future__ import annotations

import importlib
import pickle
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

import torch
from hydra.utils import instantiate
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import VecEnv, VecNormalize

from agents.allowlist import allowed_class
from agents.history import MemoryConfig
from agents.policy_files import (
    MANIFEST_FILE,
    NORMALIZATION_FILE,
    algo_config,
    load_model,
    load_normalization,
    read_manifest,
    save_normalization,
    write_manifest,
)
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
    "trusting_pickles",
]

MODEL_FILE = "model.zip"
VECNORM_FILE = "vecnormalize.pkl"  # the old, pickled format: read only when trusted
# the default of trust_pickle where a caller cannot pass it (an MLflow pyfunc's load_context)
_trust_pickle_default = False


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
    """The SB3 class named by ``agent.algo._target_`` (allow-listed: :mod:`agents.allowlist`)."""
    return allowed_class(str(agent_cfg["algo"]["_target_"]), "agent.algo._target_")


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
    model = instantiate(algo_config(agent_cfg, env), env=env, seed=seed, _convert_="all")
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
    """Write ``model.zip``, ``policy.json`` and, if the env is normalised, ``normalization.npz``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    model.save(directory / MODEL_FILE)
    normalized = isinstance(env, VecNormalize)
    if isinstance(env, VecNormalize):
        save_normalization(env, directory / NORMALIZATION_FILE)
    write_manifest(model, directory, normalized)
    return directory


@contextmanager
def trusting_pickles(trust: bool) -> Iterator[None]:
    """Within the block, :func:`load_policy` calls that do not pass ``trust_pickle`` use ``trust``
    (the pyfunc model logged with a run calls it from code that cannot take the option)."""
    global _trust_pickle_default
    previous, _trust_pickle_default = _trust_pickle_default, bool(trust)
    try:
        yield
    finally:
        _trust_pickle_default = previous


def refuse_old_format(directory: Path) -> NoReturn:
    """The error for a folder that only the pickle reader can load."""
    raise ValueError(
        f"{directory} is a policy folder in the old format (no {MANIFEST_FILE}; "
        f"{MODEL_FILE} and {VECNORM_FILE} hold pickles): loading it runs code stored in its "
        "files. Only if you trust where it comes from, pass trust_pickle=true "
        "(e.g. python -m experiments.evaluate policy=<folder> trust_pickle=true)"
    )


def _load_pickled(
    directory: Path, algo_cls: type[BaseAlgorithm], venv: VecEnv | None
) -> tuple[BaseAlgorithm, VecNormalize | None]:
    """The old format, read by unpickling (trusted folders only)."""
    path, vecnorm = directory / VECNORM_FILE, None
    if path.is_file():
        if venv is not None:
            vecnorm = VecNormalize.load(str(path), venv)
        else:  # statistics only (what VecNormalize.load unpickles before attaching a venv)
            with path.open("rb") as f:
                vecnorm = pickle.load(f)
    zip_path = directory / MODEL_FILE
    env = vecnorm if (venv is not None and vecnorm is not None) else venv
    try:
        model = algo_cls.load(zip_path, env=env, device="cpu")
    except Exception as err:  # SB3 raises zipfile/pickle/torch errors on a corrupt file
        raise ValueError(f"cannot load {zip_path} as a {algo_cls.__name__} model: {err}") from err
    return model, vecnorm


def load_policy(
    directory: str | Path,
    agent_cfg: Mapping[str, Any] | type[BaseAlgorithm],
    venv: VecEnv | None = None,
    trust_pickle: bool | None = None,
    training: bool = False,
) -> tuple[BaseAlgorithm, VecNormalize | None]:
    """Load a saved policy and its normalisation statistics.

    Nothing is unpickled from a folder written by :func:`save_policy`: the model's cloudpickled
    entries are rebuilt from ``agent_cfg`` (the run's config; its classes allow-listed) and the
    statistics are plain arrays. A folder in the old format loads only with ``trust_pickle``.

    Args:
        directory: the policy folder (``final/``) or a checkpoint (``step_<n>/``).
        agent_cfg: the ``agent`` section of the run's config. The pyfunc code stored with
            models logged before ``policy.json`` existed passes the algorithm class instead;
            that is accepted for their (old-format, ``trust_pickle``) folders only.
        venv: the env to attach (resume); ``None`` for inference.
        trust_pickle: read the old, pickled format; ``None``: the :func:`trusting_pickles` default.
        training: keep the statistics updating and the reward normalised (resume); otherwise
            evaluation mode (frozen, raw reward).

    Raises:
        FileNotFoundError: no ``model.zip`` in ``directory`` (the message names the path).
        ValueError: the file is not a loadable model of the config's algorithm, the config
            names a class off the allow-list, or the folder is in the old format and
            ``trust_pickle`` is off (the message names the option).
    """
    directory = Path(directory)
    zip_path = directory / MODEL_FILE
    if not zip_path.is_file():
        raise FileNotFoundError(f"no trained policy at {zip_path} (expected {MODEL_FILE})")
    trust = _trust_pickle_default if trust_pickle is None else trust_pickle
    if isinstance(agent_cfg, type):  # pyfunc code stored with a model logged before policy.json
        if (directory / MANIFEST_FILE).is_file():
            raise ValueError(
                f"{directory} is in the current format: load it with the run's agent config, "
                f"not with the class {agent_cfg.__name__}"
            )
        if not trust:
            refuse_old_format(directory)
        model, vecnorm = _load_pickled(directory, agent_cfg, venv)
    elif (directory / MANIFEST_FILE).is_file():
        manifest = read_manifest(directory)
        vecnorm = None
        if manifest.get("normalization"):
            vecnorm = load_normalization(directory / NORMALIZATION_FILE, venv)
        env = vecnorm if (venv is not None and vecnorm is not None) else venv
        model = load_model(zip_path, agent_cfg, manifest, env)
    elif trust:
        model, vecnorm = _load_pickled(directory, algorithm_class(agent_cfg), venv)
    else:
        refuse_old_format(directory)
    if vecnorm is not None and not training:
        vecnorm.training, vecnorm.norm_reward = False, False
    return model, vecnorm
