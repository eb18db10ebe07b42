"""Log a trained policy to MLflow as a pyfunc model and register it as a new version.

The alias ``candidate`` points at the newest version registered, also when several runs register
at once: it is read and moved under the store's inter-process lock, and only forward (never to a
lower version number than the one it points at).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from experiments.lib.store import store_lock

__all__ = ["CANDIDATE_ALIAS", "log_and_register_policy", "register_candidate"]

CANDIDATE_ALIAS = "candidate"

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
    (promotion to ``champion`` is the promotion gate's job). Returns model URI, version and the
    version ``candidate`` points at (a newer one when runs registered concurrently).
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
    out: dict[str, Any] = {"model_uri": info.model_uri, "version": None, "candidate": None}
    if register:
        version, candidate = register_candidate(info.model_uri, registered_model, tags, kpis)
        out.update(version=version, candidate=candidate)
    return out


def register_candidate(
    model_uri: str,
    registered_model: str,
    tags: Mapping[str, str],
    kpis: Mapping[str, float],
) -> tuple[int, int]:
    """Register ``model_uri`` as a new version with tags and KPIs; move ``candidate`` to it.

    Returns:
        The new version number and the version ``candidate`` points at: the new one, unless a
        newer version registered by a concurrent run already holds the alias.
    """
    version = int(mlflow.register_model(model_uri, registered_model).version)
    client = MlflowClient()
    for key, value in {**tags, **{f"kpi/{k}": f"{v:.6g}" for k, v in kpis.items()}}.items():
        client.set_model_version_tag(registered_model, str(version), key, str(value))
    # read-compare-write as one step for every process on this store: without the lock the
    # last writer wins and the alias can end on an older version
    with store_lock(mlflow.get_tracking_uri()):
        current = _alias_version(client, registered_model)
        if current is None or current < version:
            client.set_registered_model_alias(registered_model, CANDIDATE_ALIAS, str(version))
            current = version
    return version, current


def _alias_version(client: MlflowClient, registered_model: str) -> int | None:
    """Version the ``candidate`` alias points at (``None`` while it is unset)."""
    version = client.get_registered_model(registered_model).aliases.get(CANDIDATE_ALIAS)
    return None if version is None else int(version)
