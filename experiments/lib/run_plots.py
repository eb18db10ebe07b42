"""Figures a training run logs about itself (artifacts a reviewer opens in the MLflow UI).

``learning_curve.png``: the held-apart evaluation return (mean ± std over the evaluation
episodes, ``eval/return_mean`` and ``eval/return_std``) against environment steps, with the
closing table's references (operator, PID, MPC on estimates: ``kpi/<reference>/return_mean``)
as horizontal lines, from the run's own metric history.
"""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display: jobs run headless, on clusters too

import matplotlib.pyplot as plt
import numpy as np
from mlflow.tracking import MlflowClient

__all__ = ["learning_curve_figure", "log_learning_curve"]

REFERENCES = ("operator", "pid", "mpc_est")


def learning_curve_figure(run_id: str, title: str) -> Any:
    """The learning curve of run ``run_id`` as a matplotlib figure (None without evaluations)."""
    client = MlflowClient()
    mean = sorted(client.get_metric_history(run_id, "eval/return_mean"), key=lambda m: m.step)
    if not mean:
        return None
    std = {m.step: m.value for m in client.get_metric_history(run_id, "eval/return_std")}
    steps = np.array([m.step for m in mean], dtype=float)
    values = np.array([m.value for m in mean])
    spread = np.array([std.get(m.step, 0.0) for m in mean])
    fig, ax = plt.subplots(figsize=(6.4, 3.6), dpi=100)
    ax.plot(steps, values, marker="o", color="C0", label="policy (held-apart episodes)")
    ax.fill_between(steps, values - spread, values + spread, color="C0", alpha=0.2)
    metrics = client.get_run(run_id).data.metrics
    for k, ref in enumerate(REFERENCES):
        key = f"kpi/{ref}/return_mean"
        if key in metrics:
            ax.axhline(metrics[key], color=f"C{k + 1}", linestyle="--", label=ref)
    ax.set_xlabel("environment steps")
    ax.set_ylabel("episode return")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def log_learning_curve(run_id: str, title: str) -> None:
    """Log ``learning_curve.png`` to the active run (nothing for a run without evaluations)."""
    import mlflow

    figure = learning_curve_figure(run_id, title)
    if figure is not None:
        mlflow.log_figure(figure, "learning_curve.png")
        plt.close(figure)
