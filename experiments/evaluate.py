"""Evaluate a policy — trained, baseline or exported — on named scenario sets; track in MLflow.

    python -m experiments.evaluate policy=baseline:pid                 # BOF: nominal, drift, faults
    python -m experiments.evaluate env=paint policy=baseline:mpc scenario_sets=[nominal]
    python -m experiments.evaluate policy=models:/plantrl-bof@candidate episodes=8

The job's code lives in :mod:`experiments.lib.evaluation_job` (the transfer study, the promotion
gate and the fleet evaluate through it too); this module is its command line.
"""

from __future__ import annotations

from typing import Any, cast

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from experiments.lib.cli import readable_errors, start
from experiments.lib.evaluation_job import (
    PolicyEnv,
    env_for,
    evaluate_policy,
    recorded_env,
    recorded_residual,
    resolve_combined_policy,
)

__all__ = [
    "PolicyEnv",
    "env_for",
    "evaluate_policy",
    "main",
    "recorded_env",
    "recorded_residual",
    "resolve_combined_policy",
]


@hydra.main(version_base="1.3", config_path="../conf", config_name="evaluate")
@readable_errors
def main(cfg: DictConfig) -> dict[str, dict[str, float]]:
    c = cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))
    hydra_cfg = HydraConfig.get()
    # keys the command line set: never replaced by what the policy recorded
    explicit = {o.split("=", 1)[0].lstrip("+~") for o in hydra_cfg.overrides.task}
    return evaluate_policy(c, hydra_cfg.runtime.choices.get("plant"), explicit)


if __name__ == "__main__":
    start(main)
