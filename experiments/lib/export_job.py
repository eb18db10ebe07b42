"""The export job: a trained policy → one verified ONNX file + a model card, logged to MLflow.

Steps (``python -m experiments.export``, :func:`export_policy`):

1. resolve the policy (registry alias or version, run, policy folder) with the env, action
   mode and residual base its training recorded, for the export's plant;
2. build the graph (:mod:`agents.onnx_export`) with that plant's command heads
   (:mod:`agents.command_heads`) and write it to a temporary file;
3. verify it: run the original policy on the verification set's episodes, record every
   observation its network saw, and compare onnxruntime's commands with the original's
   (max |Δ| per output ≤ ``verify.tolerance`` × the output's range); then run the ONNX file in
   closed loop on the same seeds and compare the episodes' returns and unit KPIs. Either
   failing raises :class:`agents.onnx_export.ExportError` and leaves ``out`` untouched;
4. move the file into ``out``, write the model card (:mod:`experiments.lib.model_card`), log
   both to an ``<env>-export`` run (onnx flavour with its signature) and link the run from the
   registered version and the training run (tags ``onnx_model_uri``, ``onnx_export_run``).
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.exceptions import MlflowException

import envs
from agents.command_heads import CommandHead, command_heads
from agents.evaluation import EpisodeResults, RecurrentSB3Policy, evaluate
from agents.history import HistoryPolicy
from agents.onnx_export import OPSET, ExportError, ExportGraph, export_onnx, max_command_error
from agents.onnx_policy import ONNXPolicy
from agents.onnx_runtime import OnnxController
from agents.residual import FEATURES, ResidualConfig, ResidualController, ResidualPolicy
from experiments.lib.config_checks import ConfigError, check_tracking
from experiments.lib.evaluation_job import job_env, residual_for, resolve_combined_policy
from experiments.lib.model_card import ModelCard, evaluations_of, write_card
from experiments.lib.plants import plant_tags
from experiments.lib.policy_specs import check_spec
from experiments.lib.scenario_sets import load_scenario_set
from experiments.lib.scores import pinned
from experiments.lib.tracking import git_commit, setup_tracking

__all__ = ["ExportResult", "export_policy"]

ONNX_FILE, CARD_JSON, CARD_MD = "policy.onnx", "model_card.json", "model_card.md"


@dataclasses.dataclass
class ExportResult:
    """What an export wrote and measured."""

    out: Path
    onnx_path: Path
    card: ModelCard
    run_id: str


class _Recorder:
    """Wraps a network policy: keeps every observation batch it acts on and its actions."""

    def __init__(self, policy: Any) -> None:
        self.policy = policy
        self.observations: list[np.ndarray] = []
        self.actions: list[np.ndarray] = []
        self.observation_shape = getattr(policy, "observation_shape", None)

    def act(self, obs: np.ndarray) -> np.ndarray:
        actions = np.asarray(self.policy.act(obs))
        self.observations.append(np.array(obs, dtype=np.float32))
        self.actions.append(np.array(actions, dtype=np.float64))
        return actions


def check_export_config(c: Mapping[str, Any]) -> Path:
    """The settings checked before anything is loaded or written; the output folder.

    Raises:
        ConfigError: naming the key (``policy``, ``out``, ``verify.*``, ``tracking``).
    """
    spec = check_spec(c["policy"])
    if spec.startswith("baseline:"):
        raise ConfigError(
            f"policy={spec} is a classical controller, not a trained network: export a trained "
            "policy (models:/<name>@<alias>, runs:/<run id> or a policy folder)"
        )
    if spec.endswith(".onnx"):
        raise ConfigError(f"policy={spec} is an ONNX file already: nothing to export")
    out = c.get("out")
    if out in (None, "", "???"):
        raise ConfigError("out is not set: give out=<folder> for policy.onnx and the model card")
    folder = Path(str(out)).expanduser().resolve()
    if folder.exists() and not folder.is_dir():
        raise ConfigError(f"out={out} is a file: give a folder")
    if not c.get("overwrite") and any((folder / f).exists() for f in (ONNX_FILE, CARD_JSON)):
        raise ConfigError(
            f"out={out} holds an export already: give another folder or overwrite=true"
        )
    verify = c["verify"]
    episodes, tolerance = verify.get("episodes"), verify.get("tolerance")
    if isinstance(episodes, bool) or not isinstance(episodes, int) or episodes < 1:
        raise ConfigError(f"verify.episodes = {episodes!r} is invalid: an integer ≥ 1")
    if not isinstance(tolerance, int | float) or not 0 < float(tolerance) < 1:
        raise ConfigError(f"verify.tolerance = {tolerance!r} is invalid: a share in (0, 1)")
    check_tracking(c["tracking"], write=True)
    return folder


def _network(policy: Any, spec: str) -> tuple[Any, Any]:
    """The SB3 model and its normaliser inside a resolved policy, or why it cannot export."""
    inner = policy.policy if isinstance(policy, ResidualPolicy) else policy
    if isinstance(inner, HistoryPolicy):
        raise ExportError(
            f"{spec} was trained with memory=window: it reads a window of past unit results "
            "kept outside the network, which the ONNX file cannot carry; export a policy "
            "trained without memory"
        )
    if isinstance(inner, RecurrentSB3Policy):
        raise ExportError(
            f"{spec} is recurrent (its LSTM state lives between calls); this export writes "
            "feed-forward graphs only: train agent=ppo, sac or td3 to export"
        )
    model = getattr(inner, "model", None)
    if model is None or not hasattr(model, "policy"):
        raise ExportError(f"{spec} resolved to {type(inner).__name__}, not an SB3 policy")
    return model, getattr(inner, "vecnormalize", None)


def _graph(model: Any, vecnorm: Any, heads: list[CommandHead]) -> ExportGraph:
    if vecnorm is None or not getattr(vecnorm, "norm_obs", False):
        return ExportGraph(model.policy, heads)
    rms = vecnorm.obs_rms
    return ExportGraph(
        model.policy, heads, rms.mean, rms.var, float(vecnorm.epsilon), float(vecnorm.clip_obs)
    )


def _inputs(
    process: str, residual: ResidualConfig, zeroed: Collection[int] = ()
) -> list[dict[str, Any]]:
    """One row per observation entry the network reads: name, unit, range, meaning, and
    whether it is fed as 0 (``zeroed``: a heat-local correction's campaign inputs)."""
    layout = envs.process(process).layout_module.OBSERVATION
    fields = list(layout.fields)
    if residual.estimator_features:
        fields += list(FEATURES[process].fields)
    rows = []
    for f in fields:
        names = [f.name] if f.size == 1 else [f"{f.name}[{k}]" for k in range(f.size)]
        rows += [
            {"name": n, "unit": f.unit, "low": float(f.low), "high": float(f.high), "doc": f.doc}
            for n in names
        ]
    for k in zeroed:
        rows[k]["fed_as_zero"] = True
    return rows


def _episode_gap(a: EpisodeResults, b: EpisodeResults) -> dict[str, float]:
    """Largest differences between two evaluations of the same seeds."""
    same_units = len(a.units) == len(b.units)
    keys = sorted(set().union(*(u.keys() for u in a.units))) if a.units else []
    pairs = zip(a.units, b.units, strict=True) if same_units else iter(())
    diffs = [(abs(u[k] - v[k]), abs(u[k])) for u, v in pairs for k in keys]
    return {
        "max_abs_return_diff": float(np.max(np.abs(a.returns - b.returns))),
        "max_rel_return_diff": float(
            np.max(np.abs(a.returns - b.returns) / np.maximum(1.0, np.abs(a.returns)))
        ),
        "max_abs_kpi_diff": max((d for d, _ in diffs), default=0.0),
        # relative to the KPI's size (at least 1): temperatures in °C and hit flags alike
        "max_rel_kpi_diff": max((d / max(1.0, m) for d, m in diffs), default=0.0),
        "same_units": float(same_units),
        "return_mean_original": float(a.returns.mean()),
        "return_mean_onnx": float(b.returns.mean()),
    }


def export_policy(
    c: dict[str, Any], plant_name: str | None, explicit: Collection[str] = ()
) -> ExportResult:
    """The whole job for a resolved config (see the module doc)."""
    out = check_export_config(c)
    asked = str(c["policy"])
    experiment_id = setup_tracking(c["tracking"])
    spec = pinned(asked)  # an alias moved during the export must not change what is exported
    je = job_env(c, spec, plant_name, explicit)
    process, env_id, plant, env_kwargs = je.process, je.id, je.plant, je.kwargs
    n_obs, n_act = je.n_obs, je.n_act
    residual = residual_for(spec, c.get("base"))
    policy, meta = resolve_combined_policy(spec, residual, process, n_obs, n_act, plant, env_kwargs)
    model, vecnorm = _network(policy, spec)
    mode = str(env_kwargs.get("action_mode", "adjust"))
    plant_env: Any = envs.make(env_id, plant=plant, **env_kwargs).unwrapped
    specs = plant_env.batch.scaler.specs
    heads = command_heads(process, specs, mode, residual.scale if residual.active else None)
    zeroed: list[int] = []
    if isinstance(policy, ResidualPolicy):
        hidden = policy.controller
        zeroed = [*hidden.hidden_inputs, *(n_obs + k for k in hidden.hidden_features)]
    inputs = _inputs(process, residual, zeroed)
    interface = {
        "summary": f"plantrl policy {spec} for {env_id} at plant {plant.name}",
        "env_name": process,
        "env_id": env_id,
        "action_mode": mode,
        "plant": {"name": plant.name, "plant_hash": plant.plant_hash(), **plant.canonical()},
        "inputs": inputs,
        "env_inputs": n_obs,
        "outputs": [dataclasses.asdict(h) for h in heads],
        "residual": residual.to_dict() if residual.active else None,
        "opset": OPSET,
    }
    sset = load_scenario_set(process, str(c["verify"]["scenario_set"]))
    seeds = sset.seeds[: int(c["verify"]["episodes"])]

    def make_env() -> Any:
        return envs.make(env_id, plant=plant, scenario=sset.name, **env_kwargs)

    # the original, with every input its network saw recorded
    recorder = _Recorder(policy.policy if isinstance(policy, ResidualPolicy) else policy)
    if isinstance(policy, ResidualPolicy):
        original = evaluate(ResidualPolicy(recorder, policy.controller), make_env, seeds)
    else:
        original = evaluate(recorder, make_env, seeds)
    observations = np.concatenate(recorder.observations)
    reference = np.stack(
        [h.command(np.concatenate(recorder.actions)[:, j]) for j, h in enumerate(heads)], 1
    )
    with tempfile.TemporaryDirectory(prefix="plantrl-export-") as tmp:
        staged = Path(tmp) / ONNX_FILE
        onnx_model = export_onnx(_graph(model, vecnorm, heads), len(inputs), staged, interface)
        controller = OnnxController(staged)
        commands = controller.act(observations)
        errors = max_command_error(commands, reference, heads)
        tolerance = float(c["verify"]["tolerance"])
        if not np.all(errors <= tolerance):
            worst = int(np.argmax(errors))
            raise ExportError(
                f"parity check failed: {heads[worst].name} differs from the original policy by "
                f"{errors[worst]:.2e} of its range (limit {tolerance:.0e}) on "
                f"{len(observations)} observations; nothing was written to {out}"
            )
        onnx_policy = ONNXPolicy(staged, controller=controller)
        if isinstance(policy, ResidualPolicy):
            base = ResidualController(residual, process, n_act, plant, env_kwargs)
            onnx_policy = ResidualPolicy(onnx_policy, base)  # type: ignore[assignment]
        closed_loop = _episode_gap(original, evaluate(onnx_policy, make_env, seeds))
        if (
            closed_loop["same_units"] != 1.0
            or closed_loop["max_rel_return_diff"] > float(c["verify"]["rtol"])
            or closed_loop["max_rel_kpi_diff"] > float(c["verify"]["rtol"])
        ):
            raise ExportError(
                f"closed-loop check failed on {sset.name} seeds {seeds[0]}…: the ONNX policy's "
                f"episodes differ from the original's (|Δ return| ≤ "
                f"{closed_loop['max_abs_return_diff']:.3g}, relative |Δ unit KPI| ≤ "
                f"{closed_loop['max_rel_kpi_diff']:.3g}, same units ended: "
                f"{bool(closed_loop['same_units'])}); nothing was written to {out}"
            )
        out.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged, out / ONNX_FILE)
    parity = {
        "observations": len(observations),
        "scenario_set": sset.name,
        "seeds": [int(s) for s in seeds],
        "max_abs_command_error_share": {
            h.name: float(e) for h, e in zip(heads, errors, strict=True)
        },
        "tolerance_share": tolerance,
        **closed_loop,
    }
    run_id = meta.get("training_run")
    card = ModelCard(
        interface=interface,
        heads=heads,
        rate_limits=[
            {
                "actuator": s.name,
                "unit": s.unit,
                "per_step": float(s.rate_limit) if np.isfinite(s.rate_limit) else None,
            }
            for s in specs
        ],
        control_step=_control_step(process, env_kwargs),
        source={"policy": asked, **meta, **_version_of(spec), "git_commit": git_commit()},
        training_config=_training_config(run_id),
        evaluations=evaluations_of(process, run_id, residual),
        parity=parity,
    )
    write_card(card, out / CARD_JSON, out / CARD_MD)
    run = _log_export(experiment_id, card, out, onnx_model, observations, commands, plant)
    return ExportResult(out, out / ONNX_FILE, card, run)


def _control_step(process: str, env_kwargs: Mapping[str, Any]) -> str:
    if process == "bof":
        return f"{float(env_kwargs.get('dt_s', 10.0)):g} s"
    return "one car body"


def _version_of(spec: str) -> dict[str, str]:
    """``registered_model`` and ``version`` of a pinned ``models:/<name>/<version>`` spec."""
    if not spec.startswith("models:/"):
        return {}
    name, _, version = spec[len("models:/") :].rpartition("/")
    return {"registered_model": name, "version": version}


def _training_config(run_id: str | None) -> dict[str, str]:
    """The training run's flattened config (agent, budget, env, base, seed)."""
    if not run_id:
        return {}
    try:
        params = mlflow.get_run(run_id).data.params
    except MlflowException:
        return {}
    keep = ("agent.", "train.", "env.", "base.", "seed", "memory.", "plant")
    return {k: v for k, v in sorted(params.items()) if k.startswith(keep)}


def _log_export(
    experiment_id: str,
    card: ModelCard,
    out: Path,
    onnx_model: Any,
    observations: np.ndarray,
    commands: np.ndarray,
    plant: Any,
) -> str:
    """One ``<env>-export`` run holding the file (onnx flavour + signature) and the card."""
    from mlflow.models import infer_signature

    source = card.source
    tags: dict[str, str] = {
        "policy": source["policy"],
        "env_id": card.interface["env_id"],
        "action_mode": card.interface["action_mode"],
        "git_commit": source["git_commit"],
        **plant_tags(plant),
        **{k: source[k] for k in ("training_run", "registered_model", "version") if k in source},
    }
    name = f"export-{source.get('policy_family', 'policy')}"
    with mlflow.start_run(experiment_id=experiment_id, run_name=name, tags=tags) as run:
        signature = infer_signature(observations[:8], commands[:8])
        info = mlflow.onnx.log_model(onnx_model, name="onnx-policy", signature=signature)
        mlflow.log_artifact(str(out / CARD_JSON))
        mlflow.log_artifact(str(out / CARD_MD))
        shares = card.parity["max_abs_command_error_share"]
        mlflow.log_metrics(
            {
                "parity/max_command_error_share": max(shares.values()),
                "parity/max_abs_return_diff": card.parity["max_abs_return_diff"],
                "parity/max_abs_kpi_diff": card.parity["max_abs_kpi_diff"],
            }
        )
        mlflow.set_tag("onnx_model_uri", info.model_uri)
    client = mlflow.MlflowClient()
    links = {"onnx_model_uri": info.model_uri, "onnx_export_run": run.info.run_id}
    if "registered_model" in source:
        for key, value in links.items():
            client.set_model_version_tag(source["registered_model"], source["version"], key, value)
    if "training_run" in source:
        for key, value in links.items():
            client.set_tag(source["training_run"], key, value)
    return str(run.info.run_id)
