"""One ONNX file per trained policy: normalisation, deterministic actor, engineering units.

The graph (:class:`ExportGraph`) computes, for observations ``obs`` (float32, batch × n_obs,
engineering units, as the env returns them):

1. the observation normalisation the policy was trained with (SB3 ``VecNormalize``:
   ``clip((obs − mean)/sqrt(var + ε), ±clip_obs)``);
2. the deterministic actor (PPO/A2C: the Gaussian's mean; SAC/TQC: tanh of the mean; TD3: the
   deterministic actor), clipped to [-1, 1] as ``predict`` does;
3. the command heads (:mod:`agents.command_heads`): ``offset + scale·f(a)``, inside the
   command's [low, high] because ``a`` is (a residual correction: scaled by its base's scale,
   linear).

Every node costs onnxruntime ≈ 0.4 µs (``results/benchmarks/export.md``), as much as a layer of
a small actor, so the graph is written with few: the normalisation is four (float32, the mean
split into a float32 pair), the dead band three (``a − clip(a, ±d)``, its 1/(1 − d) in the
gain), the heads two.

Batch is the only dynamic axis. Rate limits are state (the previous set-point), so they are not
in the graph: the model card states them and the actuator side applies them.

| policy | exported |
| --- | --- |
| PPO, A2C (Gaussian actions), SAC, TQC, TD3 | yes |
| recurrent (RecurrentPPO), ``memory=window`` | refused: their state lives outside the network |
| discrete or non-Box actions, image observations | refused |

:func:`export_onnx` writes the file and :func:`max_command_error` is the parity check the export
job runs against the original policy (onnxruntime vs ``predict``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import warnings
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from stable_baselines3.common.policies import ActorCriticPolicy

from agents.command_heads import CommandHead
from agents.onnx_runtime import METADATA_KEY

__all__ = ["OPSET", "ExportError", "ExportGraph", "export_onnx", "max_command_error"]

# opset 17 and IR version 8 (ONNX 1.12, 2022): every onnxruntime since 1.13 and the common edge
# runtimes load it. torch's exporter writes opset 18 and converts down (no op here changed).
OPSET = 17
IR_VERSION = 8


class ExportError(ValueError):
    """A policy that cannot be exported, or an export that failed its parity check."""


def _actor(policy: torch.nn.Module) -> torch.nn.Module:
    """The deterministic actor of an SB3 policy as a module from normalised obs to [-1, 1]."""
    name = type(policy).__name__
    if "Recurrent" in name or "Lstm" in name:
        raise ExportError(
            f"{name} is recurrent: its LSTM state would need explicit state inputs and outputs, "
            "which this export does not write; export a feed-forward policy (agent=ppo, sac, td3)"
        )
    if isinstance(policy, ActorCriticPolicy):
        if policy.action_dist.__class__.__name__ not in (
            "DiagGaussianDistribution",
            "StateDependentNoiseDistribution",
        ):
            raise ExportError(
                f"{name} acts through {type(policy.action_dist).__name__}: only continuous "
                "(Gaussian) actions export"
            )
        return _GaussianMean(policy)
    actor = getattr(policy, "actor", None)
    if actor is not None and hasattr(actor, "latent_pi"):  # SAC, TQC: squashed Gaussian
        return _SquashedMean(actor)
    if actor is not None and hasattr(actor, "mu"):  # TD3, DDPG: mu ends in tanh
        return actor
    raise ExportError(
        f"unsupported policy architecture {name}: export handles SB3's PPO, A2C, SAC, TQC and "
        "TD3 policies"
    )


class _GaussianMean(torch.nn.Module):
    def __init__(self, policy: ActorCriticPolicy) -> None:
        super().__init__()
        self.policy = policy

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        p = self.policy
        features = p.extract_features(obs, p.pi_features_extractor)
        assert isinstance(features, torch.Tensor)  # the actor's own extractor: one tensor
        mean = p.action_net(p.mlp_extractor.forward_actor(features))
        return torch.tanh(mean) if p.squash_output else mean


class _SquashedMean(torch.nn.Module):
    def __init__(self, actor: torch.nn.Module) -> None:
        super().__init__()
        self.actor = actor

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        a = self.actor
        features = a.extract_features(obs, a.features_extractor)  # type: ignore[operator]
        return torch.tanh(a.mu(a.latent_pi(features)))  # type: ignore[operator]


class ExportGraph(torch.nn.Module):
    """Normalisation → actor → command heads (see the module doc).

    Args:
        policy: The SB3 policy (``model.policy``).
        heads: The command heads, in action order.
        obs_mean, obs_var: The normaliser's statistics (None: no normalisation).
        epsilon: The normaliser's ε. clip_obs: Its clip of the normalised observation.
    """

    mean_high: torch.Tensor
    mean_low: torch.Tensor
    inv_std: torch.Tensor
    offset: torch.Tensor
    gain: torch.Tensor
    dead_band: torch.Tensor

    def __init__(
        self,
        policy: torch.nn.Module,
        heads: Sequence[CommandHead],
        obs_mean: np.ndarray | None = None,
        obs_var: np.ndarray | None = None,
        epsilon: float = 1e-8,
        clip_obs: float = 10.0,
    ) -> None:
        super().__init__()
        self.actor = _actor(policy)
        self.normalise = obs_mean is not None and obs_var is not None
        if obs_mean is not None and obs_var is not None:
            # the mean as a float32 pair (high + low): obs − high is exact for an entry close
            # to its mean (the normaliser's near-constant inputs, ε-scaled by 1e4), so float32
            # keeps SB3's float64 normalisation to rounding with four graph nodes, not five
            mean = np.asarray(obs_mean, dtype=np.float64)
            high = mean.astype(np.float32)
            inv_std = 1.0 / np.sqrt(np.asarray(obs_var, dtype=np.float64) + epsilon)
            self.register_buffer("mean_high", torch.as_tensor(high))
            low = ((mean - high) * inv_std).astype(np.float32)
            self.register_buffer("mean_low", torch.as_tensor(low))
            self.register_buffer("inv_std", torch.as_tensor(inv_std.astype(np.float32)))
        self.clip_obs = float(clip_obs)
        dead = np.array([h.dead_band for h in heads], dtype=np.float64)
        self.has_dead_band = bool((dead > 0.0).any())
        self.register_buffer("dead_band", torch.as_tensor(dead.astype(np.float32)))
        # f(a) = (a − clip(a, ±d))/(1 − d) is the dead band (d = 0: the identity); its 1/(1 − d)
        # goes into the gain. y = offset + gain · (a − clip(a, ±d)) stays inside
        # offset ± scale = [low, high] because a is clipped to [-1, 1] first
        gain = np.array([h.scale for h in heads], dtype=np.float64) / (1.0 - dead)
        self.register_buffer("gain", torch.as_tensor(gain.astype(np.float32)))
        offset = np.array([h.offset for h in heads], dtype=np.float32)
        self.register_buffer("offset", torch.as_tensor(offset))

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        x = obs
        if self.normalise:
            z = (obs - self.mean_high) * self.inv_std - self.mean_low
            x = torch.clamp(z, -self.clip_obs, self.clip_obs)
        a = torch.clamp(self.actor(x), -1.0, 1.0)
        if self.has_dead_band:
            a = a - torch.minimum(torch.maximum(a, -self.dead_band), self.dead_band)
        return self.offset + self.gain * a


@contextlib.contextmanager
def _quiet_exporter() -> Iterator[None]:
    """The exporter's progress notes and deprecation warnings off (errors still raise)."""
    loggers = [logging.getLogger(n) for n in ("torch.onnx", "onnxscript", "torch.export")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)


def export_onnx(
    graph: ExportGraph,
    n_obs: int,
    path: str | Path,
    interface: Mapping[str, Any],
) -> onnx.ModelProto:
    """Write ``graph`` as one self-contained ONNX file (input ``obs``, output ``action``, a
    dynamic batch axis, opset :data:`OPSET`) with ``interface`` as metadata.

    Raises:
        ExportError: the exporter failed (the message keeps torch's reason).
    """
    path = Path(path)
    graph = graph.eval()
    example = torch.zeros((2, n_obs), dtype=torch.float32)  # batch ≥ 2: a batch of 1 is specialised
    batch = torch.export.Dim("batch")
    # SB3's distributions validate their arguments, which the dynamo exporter cannot trace;
    # the process's setting is restored afterwards
    validating = torch.distributions.Distribution._validate_args
    torch.distributions.Distribution.set_default_validate_args(False)
    try:
        with _quiet_exporter():
            program = torch.onnx.export(
                graph,
                (example,),
                input_names=["obs"],
                output_names=["action"],
                dynamic_shapes={"obs": {0: batch}},
                opset_version=OPSET,
                dynamo=True,
                external_data=False,
                verbose=False,
            )
    except Exception as err:  # the exporter raises many types; keep its reason
        raise ExportError(f"ONNX export of the policy failed: {err}") from err
    finally:
        torch.distributions.Distribution.set_default_validate_args(validating)
    assert program is not None
    model = program.model_proto
    model.ir_version = IR_VERSION
    model.doc_string = str(interface.get("summary", "plantrl policy"))
    meta = {METADATA_KEY: json.dumps(dict(interface), sort_keys=True)}
    for key in ("env_name", "env_id", "action_mode"):
        if key in interface:
            meta[key] = str(interface[key])
    onnx.helper.set_model_props(model, meta)
    onnx.checker.check_model(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    onnx.save_model(model, str(path), save_as_external_data=False)
    return model


def max_command_error(
    commands: np.ndarray, reference: np.ndarray, heads: Sequence[CommandHead]
) -> np.ndarray:
    """Per output, max |commands − reference| as a share of the output's range (high − low)."""
    span = np.array([h.high - h.low for h in heads], dtype=np.float64)
    diff = np.abs(np.asarray(commands, np.float64) - np.asarray(reference, np.float64))
    return diff.max(axis=0) / span
