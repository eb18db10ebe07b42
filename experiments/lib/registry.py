"""Log a trained policy to MLflow as a pyfunc model and register it as a new version."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

__all__ = ["log_and_register_policy"]

POLICY_CODE = Path(__file__).with_name("pyfunc_model.py")


def log_and_register_policy(
    policy_dir: Path,
    config_file: Path,
    registered_model: str,
    register: bool,
    tags: Mapping[str, str],
    kpis: Mapping[str, float],
    n_obs: int,
    n_act: int,
) -> dict[str, Any]:
    """Log ``policy_dir`` (+ config) as model ``policy`` of the active run; register it.

    The new version gets the run's tags and KPIs as version tags and the alias ``candidate``
    (promotion to ``champion`` is the promotion gate's job). Returns model URI and version.
    """
    obs, act = np.zeros((1, n_obs), np.float32), np.zeros((1, n_act), np.float32)
    signature = infer_signature(obs, act)
    info = mlflow.pyfunc.log_model(
        name="policy",
        python_model=str(POLICY_CODE),
        artifacts={"policy": str(policy_dir), "config": str(config_file)},
        signature=signature,
        input_example=obs,
        # plantrl is never published (DESIGN.md): the model loads inside the plantrl venv
        pip_requirements=["stable-baselines3", "sb3-contrib", "torch", "mlflow"],
    )
    out: dict[str, Any] = {"model_uri": info.model_uri, "version": None}
    if not register:
        return out
    version = mlflow.register_model(info.model_uri, registered_model)
    client = MlflowClient()
    for key, value in {**tags, **{f"kpi/{k}": f"{v:.6g}" for k, v in kpis.items()}}.items():
        client.set_model_version_tag(registered_model, version.version, key, str(value))
    client.set_registered_model_alias(registered_model, "candidate", version.version)
    out["version"] = int(version.version)
    return out
