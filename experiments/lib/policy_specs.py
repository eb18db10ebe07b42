"""Resolve a policy spec — a baseline, a registered model, a run, a file — into a policy.

| spec | resolved through |
| --- | --- |
| ``baseline:operator``, ``baseline:pid``, ``baseline:mpc`` | ``agents.loading.load_baseline`` |
| ``baseline:mpc_est`` | the MPC on estimates (:data:`ESTIMATE_MPC`, its ``from_config``) |
| ``models:/<name>@<alias>``, ``models:/<name>/<version>`` | the MLflow registry (pyfunc model) |
| ``runs:/<run id>`` or a bare run id | the model the training run logged (its ``model_uri`` tag) |
| ``<file>.onnx`` | :class:`agents.loading.ONNXPolicy` |
| a folder with ``model.zip`` | :func:`agents.loading.load_saved_policy` |

A trained policy whose run recorded ``memory=window`` comes back as an
:class:`agents.history.HistoryPolicy` (it keeps the window of unit results itself), so it acts
on the env's observation like any other policy.

Every error names what was asked for and what exists.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException

from agents.builder import trusting_pickles
from agents.history import memory_config, with_recorded_memory
from agents.loading import ONNXPolicy, check_policy_shapes, load_baseline, load_saved_policy
from experiments.lib.config_checks import ConfigError

__all__ = ["ESTIMATE_MPC", "SPECS", "check_spec", "describe", "resolve_policy"]

RUN_ID = re.compile(r"^[0-9a-f]{32}$")
URI_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*):")  # s3:, http:, baseline:, …
# the MPC on estimates (issue 13's information-matched reference) per process: built like the
# other baselines, for the evaluated plant and the env options it models
ESTIMATE_MPC: dict[str, str] = {
    "bof": "agents.baselines.bof_mpc_est:BOFMPCEstimates",
    "paint": "agents.baselines.paint_mpc_est:PaintMPCEstimates",
}


SPECS = (
    "baseline:<operator|pid|mpc|mpc_est>, models:/<name>@<alias>, runs:/<run id>, a .onnx file "
    "or a saved policy folder"
)


def check_spec(spec: Any) -> str:
    """``spec`` as a string, if it can name a policy at all (an empty one would be read as the
    current folder, Hydra's ``???`` means it was never given).

    Raises:
        ConfigError: naming ``policy`` and the valid forms.
    """
    text = "" if spec is None else str(spec)
    if text == "???":
        raise ConfigError(f"policy is not set: give policy=<spec>, one of {SPECS}")
    if not text.strip():
        raise ConfigError(f"policy is empty: give policy=<spec>, one of {SPECS}")
    scheme = URI_SCHEME.match(text)
    if scheme and scheme[1] not in ("baseline", "models", "runs") and not Path(text).exists():
        raise ConfigError(f"policy = {text!r}: unsupported scheme {scheme[1]!r}; use {SPECS}")
    return text


def _estimate_mpc(process: str, plant: Any, env_kwargs: Mapping[str, Any] | None) -> Any:
    """``baseline:mpc_est`` of ``process``, built for ``plant`` and the env's options."""
    if process not in ESTIMATE_MPC:
        raise ValueError(f"no mpc_est baseline for process {process!r}; has {sorted(ESTIMATE_MPC)}")
    module, cls_name = ESTIMATE_MPC[process].split(":")
    cls = getattr(importlib.import_module(module), cls_name)
    options = dict(env_kwargs or {})
    kwargs = {k: options[k] for k in getattr(cls, "ENV_OPTIONS", ()) if options.get(k) is not None}
    if plant is not None:
        kwargs["plant"] = plant
    return cls.from_config(**kwargs)


def _from_model_uri(uri: str) -> Any:
    """The plantrl policy inside a logged/registered pyfunc model."""
    try:
        model = mlflow.pyfunc.load_model(uri)
    except (MlflowException, OSError) as err:
        raise ValueError(f"cannot load model {uri!r} from the tracking store: {err}") from err
    python_model = model.unwrap_python_model()
    policy = python_model.policy
    inner = getattr(policy, "model", None)
    if inner is not None:
        policy.observation_shape = tuple(inner.observation_space.shape)
    # trained on a window of unit results: the policy keeps its own history (agents.history)
    return with_recorded_memory(policy, getattr(python_model, "config", None) or {})


def _training_meta(run_id: str) -> dict[str, str]:
    """Family (algorithm, with ``-window<K>`` when trained with a window of unit results,
    ``-<scenario>`` when trained on a profile other than nominal, ``-campaign<N>`` on N-unit
    campaigns) and training seed of the run that trained a policy."""
    try:
        run = mlflow.get_run(run_id)
    except MlflowException as err:
        raise ValueError(f"no MLflow run {run_id!r} in the tracking store: {err}") from err
    tags, params = run.data.tags, run.data.params
    family = tags.get("algorithm", "run")
    memory = memory_config(
        {k[len("memory.") :]: v for k, v in params.items() if k.startswith("memory.")}
    )
    if memory.active:  # its own family: reports never pool it with the plain algorithm
        family += f"-window{memory.units}"
    # trained to command absolute set-points: another policy class than the adjusting ones
    mode = params.get("env.kwargs.action_mode", "adjust")
    if mode not in ("adjust", "None"):
        family += f"-{mode}"
    # trained on another profile or campaign length than one nominal unit: its own family too
    scenario = params.get("env.kwargs.scenario", "nominal")
    if scenario not in ("nominal", "None"):
        family += f"-{scenario}"
    campaign = params.get("env.kwargs.campaign_heats", "None")
    if campaign not in ("None", ""):
        family += f"-campaign{campaign}"
    return {
        "policy_family": family,
        "training_seed": tags.get("seed", ""),
        "training_run": run_id,
    }


def _no_policy(run: Any) -> str:
    """Why the run ``run`` has no policy to load, and what to give instead."""
    run_id, tags, status = run.info.run_id, run.data.tags, run.info.status
    if "scenario_set" in tags and "policy" in tags:
        return (
            f"run {run_id} is an evaluation run ({tags['policy']} on scenario set "
            f"{tags['scenario_set']}), not a training run: use policy={tags['policy']}"
        )
    if status == "RUNNING":
        return f"run {run_id} is still running and has logged no policy yet: wait until it ends"
    if status in ("FAILED", "KILLED"):
        return (
            f"run {run_id} ended {status} before logging a policy: continue it with "
            f"python -m experiments.train resume={run_id}"
        )
    return f"run {run_id} logged no policy (no model_uri tag): it is no experiments.train run"


def _from_run(run_id: str) -> tuple[Any, dict[str, str]]:
    meta = _training_meta(run_id)
    run = mlflow.get_run(run_id)
    uri = run.data.tags.get("model_uri")
    if uri is None:
        raise ConfigError(f"policy: {_no_policy(run)}")
    return _from_model_uri(uri), meta


def _from_registry(uri: str) -> tuple[Any, dict[str, str]]:
    policy = _from_model_uri(uri)
    name, _, ref = uri[len("models:/") :].partition("@")
    client = mlflow.MlflowClient()
    try:
        if ref:
            version = client.get_model_version_by_alias(name, ref)
        else:
            name, _, number = uri[len("models:/") :].partition("/")
            version = client.get_model_version(name, number)
    except MlflowException:
        return policy, {}
    run_id = version.tags.get("run_id") or version.run_id
    return policy, (_training_meta(run_id) if run_id else {})


def resolve_policy(
    spec: str,
    process: str,
    n_obs: int,
    n_act: int,
    plant: Any = None,
    env_kwargs: Mapping[str, Any] | None = None,
    trust_pickle: bool | None = None,
) -> tuple[Any, dict[str, str]]:
    """The policy ``spec`` names, checked against the env's observation and action sizes, and
    tags about its origin (algorithm, training seed and run, where known).

    A baseline is built for ``plant`` (the evaluated plant, overrides included) and the env's
    options ``env_kwargs`` (:func:`agents.loading.load_baseline`); other specs ignore both.
    ``trust_pickle`` lets a policy folder (or a logged model's folder) in the old pickled
    format load; folders written by this code never need it. ``None``: the caller's
    :func:`agents.builder.trusting_pickles` setting (off by default).
    """
    if trust_pickle is None:
        return _resolve(spec, process, n_obs, n_act, plant, env_kwargs, None)
    with trusting_pickles(trust_pickle):
        return _resolve(spec, process, n_obs, n_act, plant, env_kwargs, trust_pickle)


def _resolve(
    spec: str,
    process: str,
    n_obs: int,
    n_act: int,
    plant: Any,
    env_kwargs: Mapping[str, Any] | None,
    trust_pickle: bool | None,
) -> tuple[Any, dict[str, str]]:
    meta: dict[str, str] = {}
    spec = check_spec(spec)
    if spec == "baseline:mpc_est":
        policy = _estimate_mpc(process, plant, env_kwargs)
    elif spec.startswith("baseline:"):
        policy = load_baseline(spec.split(":", 1)[1], process, n_act, plant, env_kwargs)
    elif spec.startswith("models:/"):
        policy, meta = _from_registry(spec)
    elif spec.startswith("runs:/"):
        policy, meta = _from_run(spec[len("runs:/") :].strip("/").split("/")[0])
    elif RUN_ID.match(spec):
        policy, meta = _from_run(spec)
    elif spec.endswith(".onnx"):
        policy = ONNXPolicy(spec)
    elif Path(spec).is_dir():
        policy = load_saved_policy(spec, trust_pickle=trust_pickle)
    else:
        raise ConfigError(f"cannot resolve policy {spec!r}: use {SPECS}")
    check_policy_shapes(policy, n_obs, n_act, f"policy {spec!r}")
    return policy, meta


def describe(spec: str) -> dict[str, str]:
    """Tags that identify the policy in an evaluation run."""
    kind = spec.split(":", 1)[0] if ":" in spec else ("onnx" if spec.endswith(".onnx") else "run")
    family = spec.split(":", 1)[1] if spec.startswith("baseline:") else kind
    return {"policy": spec, "policy_kind": kind, "policy_family": family}
