"""Classical baselines: operator practice, a PID per process, the MPC oracle and the MPC on
estimates (the oracle's planner started from the estimated state).

:func:`load_baseline` builds one by name for a plant. It lives here, not in
:mod:`agents.loading`, so that code which must not import the RL stack (the residual base of an
exported ONNX policy run in closed loop: :mod:`experiments.run_onnx`) can build a baseline
without importing torch or Stable-Baselines3.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

from agents.baselines.operator import OperatorPolicy

__all__ = ["BASELINES", "load_baseline"]

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
