"""MLflow runs of ``experiments.promote`` (experiment ``<env>-promotion``): what was decided.

| run | tags | metrics | artifact |
| --- | --- | --- | --- |
| ``promote-v<N>`` (gate) | model, scope, ``decision_tags`` | ``decision_metrics`` | gate.md |
| ``propose-v<N>`` (parent) | model, version, ``mode=propose`` | adopted, declined | |
| ``<plant>`` (child) | plant, outcome, adopted, ``<stage>/…`` | ``<stage>/…`` | <stage>.md |

``<stage>`` is ``zero_shot`` or ``fine_tuned`` (the child version judged after a fine-tune).
The gate runs are logged after the decisions: the evaluations behind them are runs of their own
(``<env>-evaluation``), which MLflow cannot start inside an active run of another experiment.
"""

from __future__ import annotations

from collections.abc import Sequence

import mlflow

from experiments.lib.fleet import PlantOutcome
from experiments.lib.promotion import Decision, safe_name

__all__ = ["decision_metrics", "decision_tags", "log_gate_run", "log_proposal"]


def decision_tags(d: Decision, prefix: str = "") -> dict[str, str]:
    return {
        f"{prefix}version": str(d.version),
        f"{prefix}verdict": "promoted" if d.promoted else "rejected",
        f"{prefix}incumbent": d.verdict.incumbent,
        f"{prefix}reasons": "\n".join(d.verdict.reasons),
    }


def decision_metrics(d: Decision, prefix: str = "") -> dict[str, float]:
    """P(improvement), standardised Δ, times judged, and each cell's Δ vs incumbent and PID."""
    metrics = {
        f"{prefix}p_improvement": d.verdict.p_improvement,
        f"{prefix}standardised_delta": d.verdict.standardised_delta,
        f"{prefix}judgements": float(d.judgements),
    }
    for r in d.verdict.rows:
        cell = f"{prefix}{safe_name(r.plant)}/{safe_name(r.scenario_set)}/"
        metrics.update(
            {
                cell + "return": r.candidate,
                cell + "delta_incumbent": r.delta_incumbent[0],
                cell + "delta_pid": r.delta_pid,
            }
        )
    return metrics


def log_gate_run(experiment_id: str, d: Decision) -> None:
    """The gate's run: its decision's tags, numbers and per-cell table."""
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"promote-v{d.version}"):
        mlflow.set_tags({"model": d.model, "scope": d.scope.alias, **decision_tags(d)})
        mlflow.log_metrics(decision_metrics(d))
        mlflow.log_text(d.verdict.markdown(), "gate.md")


def log_proposal(
    experiment_id: str, model: str, version: int, outcomes: Sequence[PlantOutcome]
) -> str:
    """One parent run for the proposal, one child run per plant; returns the parent's id."""
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"propose-v{version}") as parent:
        mlflow.set_tags({"model": model, "version": str(version), "mode": "propose"})
        adopted = sum(o.adopted is not None for o in outcomes)
        mlflow.log_metrics({"adopted": adopted, "declined": len(outcomes) - adopted})
        for o in outcomes:
            with mlflow.start_run(
                experiment_id=experiment_id, run_name=safe_name(o.plant), nested=True
            ):
                mlflow.set_tags(
                    {"plant": o.plant, "outcome": o.headline, "adopted": str(o.adopted)}
                )
                for stage, d in (("zero_shot", o.zero_shot), ("fine_tuned", o.fine_tuned)):
                    if d is not None:
                        mlflow.set_tags(decision_tags(d, f"{stage}/"))
                        mlflow.log_metrics(decision_metrics(d, f"{stage}/"))
                        mlflow.log_text(d.verdict.markdown(), f"{stage}.md")
    return parent.info.run_id
