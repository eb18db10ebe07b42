"""An exported ONNX file as a policy of the protocol (:mod:`agents.policy`), torch-free.

The file outputs commands in engineering units (:mod:`agents.command_heads`); evaluation and the
env speak normalised actions, so :class:`ONNXPolicy` maps the commands back with the heads the
file records (the actuator side's rule). A file without that record (written by hand or by
older code) is read as outputting normalised actions directly.

Imports onnxruntime and NumPy only (and the envs' action specs through the heads): the
closed-loop example (:mod:`experiments.run_onnx`) runs it without torch, SB3 or MLflow.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from agents.command_heads import CommandHead, heads_from_dicts
from agents.onnx_runtime import OnnxController

__all__ = ["ONNXPolicy", "commands_to_actions"]


def commands_to_actions(commands: np.ndarray, heads: list[CommandHead]) -> np.ndarray:
    """Normalised actions (float32, [-1, 1]) the plant's rule reads from ``commands``."""
    c = np.atleast_2d(np.asarray(commands, dtype=np.float64))
    out = np.stack([h.action(c[:, j]) for j, h in enumerate(heads)], axis=1)
    return out.astype(np.float32)


class ONNXPolicy:
    """An ONNX policy file: observations (n, n_obs) in, normalised actions (n, n_act) out.

    Args:
        path: The file (``python -m experiments.export`` writes ``policy.onnx``).
        controller: A controller to use instead of an in-process one (the closed-loop example
            passes one that runs in another interpreter); it must have ``act`` and
            ``interface``.

    Raises:
        FileNotFoundError / ValueError: a missing file, one onnxruntime cannot load, or a
            malformed interface record.
    """

    def __init__(self, path: str | Path, controller: Any = None) -> None:
        self.controller = controller if controller is not None else OnnxController(path)
        self.interface: dict[str, Any] = dict(self.controller.interface)
        rows = self.interface.get("outputs")
        self.heads = heads_from_dicts(rows) if rows else None
        n_obs = getattr(self.controller, "n_obs", None)
        self.observation_shape = (n_obs,) if isinstance(n_obs, int) else None

    def act(self, obs: np.ndarray) -> np.ndarray:
        out = np.atleast_2d(self.controller.act(np.atleast_2d(obs)))
        if self.heads is None:
            actions = np.clip(np.asarray(out, dtype=np.float32), -1.0, 1.0)
        else:
            actions = commands_to_actions(out, self.heads)
        return actions[0] if np.ndim(obs) == 1 else actions
