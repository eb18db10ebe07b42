"""Export a trained policy for control engineers: one verified ONNX file and a model card.

    python -m experiments.export policy=models:/plantrl-bof@champion out=exports/bof
    python -m experiments.export env=paint policy=runs:/<run id> out=exports/paint
    python experiments/run_onnx.py exports/bof/policy.onnx       # closed loop, no torch

Writes ``<out>/policy.onnx`` (normalisation, deterministic actor, engineering units; one file),
``model_card.json`` and ``model_card.md``, after checking the file against the original policy
(:mod:`experiments.lib.export_job`); logs both to an ``<env>-export`` MLflow run and links it
from the registered version. A failed check writes nothing.
"""

from __future__ import annotations

from typing import Any, cast

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from agents.builder import trusting_pickles
from experiments.lib.cli import readable_errors, start
from experiments.lib.export_job import ExportResult, export_policy

__all__ = ["main"]


@hydra.main(version_base="1.3", config_path="../conf", config_name="export")
@readable_errors
def main(cfg: DictConfig) -> ExportResult:
    c = cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))
    hydra_cfg = HydraConfig.get()
    explicit = {o.split("=", 1)[0].lstrip("+~") for o in hydra_cfg.overrides.task}
    with trusting_pickles(bool(c.get("trust_pickle", False))):
        result = export_policy(c, hydra_cfg.runtime.choices.get("plant"), explicit)
    parity = result.card.parity
    print(
        f"wrote {result.onnx_path} and its model card: largest |Δ command| "
        f"{max(parity['max_abs_command_error_share'].values()):.1e} of range on "
        f"{parity['observations']} observations; closed loop |Δ return| ≤ "
        f"{parity['max_abs_return_diff']:.1e} on {len(parity['seeds'])} episodes "
        f"(MLflow run {result.run_id})"
    )
    return result


if __name__ == "__main__":
    start(main)
