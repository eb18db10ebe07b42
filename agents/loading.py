"""Policies from names and files: baselines, saved SB3 policies, ONNX files.

Every loader returns an object of the policy protocol (:mod:`agents.policy`), so evaluation
treats a trained agent, a baseline and an exported file alike. Registry URIs and MLflow runs are
resolved one layer up (``experiments.lib.policy_specs``: agents never import MLflow, DESIGN.md).

| spec | loads |
| --- | --- |
| ``baseline:operator`` | the operator's standard practice (zero adjustment) |
| ``baseline:pid`` | the tuned PID of the process (gains in ``conf/baselines/<process>_pid.yaml``) |
| ``baseline:mpc`` | the MPC oracle of the process (``conf/baselines/<process>_mpc.yaml``) |

Baselines are built for the plant being evaluated: :func:`load_baseline` hands the evaluated plant
(a resolved variant, overrides included) and the env options a baseline models (``dt_s``) to the
baseline's ``from_config``. The gains come from the YAML; the plant never does.
| a folder with ``model.zip``, ``config.yaml`` | a saved SB3 policy (``builder.save_policy``) |
| ``*.onnx`` | an exported file (:class:`agents.onnx_policy.ONNXPolicy`) |

A saved policy whose ``config.yaml`` records ``memory=window`` is returned as an
:class:`agents.history.HistoryPolicy`: it keeps the window of unit results it was trained on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.allowlist import check_targets
from agents.baselines import BASELINES, load_baseline
from agents.builder import load_policy
from agents.evaluation import RecurrentSB3Policy
from agents.history import with_recorded_memory
from agents.onnx_policy import ONNXPolicy
from agents.policy import SB3Policy

__all__ = ["BASELINES", "ONNXPolicy", "check_policy_shapes", "load_baseline", "load_saved_policy"]


def load_saved_policy(directory: str | Path, trust_pickle: bool | None = None) -> Any:
    """A policy folder written by training (``model.zip``, ``policy.json``, ``config.yaml``,
    normalisation statistics), loaded without running code from its files.

    The classes its ``config.yaml`` names must be on the allow-list (:mod:`agents.allowlist`);
    a folder in the old pickled format loads only with ``trust_pickle`` (``None``: the
    :func:`agents.builder.trusting_pickles` setting, off by default).
    """
    directory = Path(directory)
    config_file = directory / "config.yaml"
    if not config_file.is_file():
        raise FileNotFoundError(
            f"no config.yaml in {directory}: expected a policy folder written by training "
            "(model.zip, policy.json, config.yaml)"
        )
    config = yaml.safe_load(config_file.read_text())
    check_targets(config, f"{config_file}")
    agent = config["agent"]
    model, vecnorm = load_policy(directory, agent, trust_pickle=trust_pickle)
    wrapper = RecurrentSB3Policy if agent.get("recurrent") else SB3Policy
    policy = wrapper(model, vecnorm)
    policy.observation_shape = model.observation_space.shape  # type: ignore[union-attr]
    # a policy trained on a window of unit results keeps its own history on the plain env
    return with_recorded_memory(policy, config)


def check_policy_shapes(policy: Any, n_obs: int, n_act: int, what: str) -> None:
    """Fail clearly when a policy was made for another observation or action layout."""
    shape = getattr(policy, "observation_shape", None)
    if shape is not None and tuple(shape) != (n_obs,):
        raise ValueError(
            f"{what} expects observations of shape {tuple(shape)}, but the env gives ({n_obs},): "
            "it was trained for another process or env version"
        )
    if hasattr(policy, "attach"):
        return  # a privileged baseline acts only once attached to its envs
    if hasattr(policy, "reset"):  # a recurrent policy's state is sized by its batch
        policy.reset(2)
    try:
        actions = np.asarray(policy.act(np.zeros((2, n_obs), dtype=np.float32)))
    except Exception as err:
        raise ValueError(f"{what} cannot act on observations of shape (n, {n_obs}): {err}") from err
    if actions.shape != (2, n_act):
        raise ValueError(
            f"{what} returns actions of shape {actions.shape[1:]}, the env expects ({n_act},)"
        )
