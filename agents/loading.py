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
| ``*.onnx`` | an ONNX file with input ``obs`` (n, n_obs) and normalised actions as first output |

A saved policy whose ``config.yaml`` records ``memory=window`` is returned as an
:class:`agents.history.HistoryPolicy`: it keeps the window of unit results it was trained on.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from agents.allowlist import check_targets
from agents.baselines.operator import OperatorPolicy
from agents.builder import load_policy
from agents.evaluation import RecurrentSB3Policy
from agents.history import with_recorded_memory
from agents.policy import SB3Policy

__all__ = ["BASELINES", "ONNXPolicy", "check_policy_shapes", "load_baseline", "load_saved_policy"]

# baseline name -> process -> "module:Class" with a from_config() constructor
BASELINES: dict[str, dict[str, str]] = {
    "pid": {
        "bof": "agents.baselines.bof_pid:BOFPID",
        "paint": "agents.baselines.paint_pid:PaintPID",
    },
    "mpc": {
        "bof": "agents.baselines.bof_mpc:BOFMPCOracle",
        "paint": "agents.baselines.paint_mpc:PaintMPCOracle",
    },
}


def load_baseline(
    name: str,
    process: str,
    n_act: int,
    plant: Any = None,
    env_kwargs: Mapping[str, Any] | None = None,
) -> Any:
    """The baseline ``name`` (``operator``, ``pid``, ``mpc``) of ``process``, built for ``plant``.

    Args:
        name: ``operator``, ``pid`` or ``mpc``.
        process: ``"bof"``, ``"paint"``.
        n_act: the env's action dimension.
        plant: the evaluated plant (a ``PlantVariant``, a variant name or a plant mapping);
            ``None`` only for the plant named in the baseline's YAML (the nominal one, where
            it was tuned).
        env_kwargs: the evaluated env's options; those a baseline models (its class's
            ``ENV_OPTIONS``, e.g. the BOF PID's ``dt_s``) and ``action_mode`` are passed on.
    """
    options = dict(env_kwargs or {})
    if name == "operator":
        # the zero adjustment is the practice the plant's own core computes, for any plant
        return OperatorPolicy(n_act, action_mode=str(options.get("action_mode", "adjust")))
    if name not in BASELINES:
        raise ValueError(f"unknown baseline {name!r}; valid: {['operator', *sorted(BASELINES)]}")
    if process not in BASELINES[name]:
        raise ValueError(f"no {name} baseline for process {process!r}; has {list(BASELINES[name])}")
    module, cls_name = BASELINES[name][process].split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    kwargs = {k: options[k] for k in getattr(cls, "ENV_OPTIONS", ()) if options.get(k) is not None}
    if plant is not None:
        kwargs["plant"] = plant
    return cls.from_config(**kwargs)


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


class ONNXPolicy:
    """An ONNX file as a policy: input ``obs`` (float32, n × n_obs), first output = actions in
    [-1, 1] (n × n_act). Runs with onnxruntime alone (no torch, no SB3).

    Raises:
        FileNotFoundError / ValueError: a missing file, or one onnxruntime cannot load.
    """

    def __init__(self, path: str | Path) -> None:
        import onnxruntime as ort

        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no ONNX file at {path}")
        try:
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own exception types
            raise ValueError(f"cannot load {path} as an ONNX model: {err}") from err
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        self.observation_shape = (inp.shape[1],) if isinstance(inp.shape[1], int) else None

    def act(self, obs: np.ndarray) -> np.ndarray:
        batch = np.atleast_2d(np.asarray(obs, dtype=np.float32))
        out = self.session.run(None, {self.input_name: batch})[0]
        actions = np.clip(np.asarray(out, dtype=np.float32), -1.0, 1.0)
        return actions[0] if np.ndim(obs) == 1 else actions


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
    try:
        actions = np.asarray(policy.act(np.zeros((2, n_obs), dtype=np.float32)))
    except Exception as err:
        raise ValueError(f"{what} cannot act on observations of shape (n, {n_obs}): {err}") from err
    if actions.shape != (2, n_act):
        raise ValueError(
            f"{what} returns actions of shape {actions.shape[1:]}, the env expects ({n_act},)"
        )
