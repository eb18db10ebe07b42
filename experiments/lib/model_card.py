"""The model card of an exported policy: ``model_card.json`` (complete) + ``model_card.md``.

| section | holds |
| --- | --- |
| interface | env id, action mode, the plant (name, hash, every parameter), the residual base |
| inputs | every observation entry: name, unit, range, meaning |
| outputs | every command: name, unit, range, how the plant applies it |
| rate limits | per actuator and control step: state, so the actuator side applies them |
| source | policy spec, training run, registered version, git commit; the training config |
| evaluations | every evaluation of the training run in the store: plant, set, return, gap closed |
| parity | the export's own check: command error on real observations, closed-loop returns/KPIs |
"""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException

from agents.command_heads import CommandHead
from agents.residual import ResidualConfig

__all__ = ["ModelCard", "evaluations_of", "write_card"]


@dataclasses.dataclass
class ModelCard:
    """Everything the card says; :func:`write_card` renders it."""

    interface: dict[str, Any]
    heads: list[CommandHead]
    rate_limits: list[dict[str, Any]]
    control_step: str
    source: dict[str, Any]
    training_config: dict[str, str]
    evaluations: list[dict[str, Any]]
    parity: dict[str, Any]


def evaluations_of(
    process: str, training_run: str | None, residual: ResidualConfig
) -> list[dict[str, Any]]:
    """Evaluation runs of the policy trained in ``training_run`` (same residual base), one row
    per (plant, scenario set), newest first when a pair was evaluated twice."""
    if not training_run:
        return []
    try:
        runs = mlflow.search_runs(
            experiment_names=[f"{process}-evaluation"],
            filter_string=f"tags.training_run = '{training_run}' and status = 'FINISHED'",
            order_by=["attributes.start_time DESC"],
            output_format="list",
        )
    except MlflowException:
        return []
    rows, seen = [], set()
    for run in runs:
        tags, metrics = run.data.tags, run.data.metrics
        base = tags.get("residual_base", "none")
        if base != (residual.base if residual.active else "none"):
            continue
        key = (tags.get("plant"), tags.get("scenario_set"))
        if key in seen:
            continue
        seen.add(key)
        rows.append(
            {
                "plant": tags.get("plant", "?"),
                "scenario_set": tags.get("scenario_set", "?"),
                "episodes": int(tags.get("episodes", "0") or 0),
                "policy_family": tags.get("policy_family", "?"),
                "return_mean": metrics.get("return_mean", math.nan),
                "gap_closed": metrics.get("gap_closed", math.nan),
                "kpis": {k: v for k, v in sorted(metrics.items()) if "/" not in k},
                "run_id": run.info.run_id,
            }
        )
    return sorted(rows, key=lambda r: (r["plant"], r["scenario_set"]))


def _number(value: Any) -> str:
    if isinstance(value, float) and not math.isfinite(value):
        return "–"
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _markdown(card: ModelCard) -> str:
    i, p = card.interface, card.parity
    plant = i["plant"]
    lines = [
        f"# Model card: {card.source.get('policy', '?')}",
        "",
        f"- **Env**: `{i['env_id']}`, action mode `{i['action_mode']}`, control step "
        f"{card.control_step}",
        f"- **Plant**: `{plant['name']}` (hash `{plant['plant_hash']}`; every parameter in "
        "`model_card.json`)",
        f"- **File**: `policy.onnx`, opset {i['opset']}, input `obs` float32 [batch, "
        f"{len(i['inputs'])}], output `action` float32 [batch, {len(card.heads)}], engineering "
        "units. Runs with numpy + onnxruntime alone (`agents/onnx_runtime.py`).",
    ]
    if i.get("residual"):
        r = i["residual"]
        text = (
            f"- **Residual**: the file outputs a correction on the plant's `{r['name']}` "
            f"controller (scale {r['scale']:g}). Per actuator the plant sums "
            "`a = clip(a_base + action/unit, -1, 1)` in the base's normalised units (`unit`: "
            "the output's trim unit below) and applies its adjust rule to `a`."
        )
        n_env = i.get("env_inputs", len(i["inputs"]))
        if n_env < len(i["inputs"]):
            text += (
                f" Inputs {n_env}–{len(i['inputs']) - 1} are the base's own estimates "
                "(its state, computed by the base each step)."
            )
        if any(row.get("fed_as_zero") for row in i["inputs"]):
            text += " Campaign inputs are fed as 0: a heat-local correction (see Inputs)."
        lines.append(text)
    src = card.source
    lines += [
        f"- **Source**: training run `{src.get('training_run', '–')}`, registered "
        f"`{src.get('registered_model', '–')}` version {src.get('version', '–')}, git "
        f"`{src.get('git_commit', '?')}`",
        "",
        "## Outputs",
        "",
        "| # | name | unit | min | max | trim unit | the plant applies |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {k} | `{h.name}` | {h.unit} | {h.low:.6g} | {h.high:.6g} | {h.unit_scale:.6g} | "
        f"{h.meaning} |"
        for k, h in enumerate(card.heads)
    ]
    lines += [
        "",
        f"Rate limits (per control step, {card.control_step}): the actuator side moves each "
        "set-point at most this far from the last one (state, so not in the graph; the env "
        "applies them in the closed-loop example).",
        "",
        "| actuator | unit | largest change per step |",
        "| --- | --- | --- |",
    ]
    lines += [
        f"| {r['actuator']} | {r['unit']} | "
        f"{'none' if r['per_step'] is None else format(r['per_step'], '.6g')} |"
        for r in card.rate_limits
    ]
    lines += [
        "",
        "## Inputs",
        "",
        "| # | name | unit | min | max | note |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    lines += [
        f"| {k} | `{r['name']}` | {r['unit']} | {r['low']:g} | {r['high']:g} |"
        + (" fed as 0 |" if r.get("fed_as_zero") else " |")
        for k, r in enumerate(i["inputs"])
    ]
    shares = p["max_abs_command_error_share"]
    lines += [
        "",
        "## Parity (checked when this file was written)",
        "",
        f"- onnxruntime vs the original policy on {p['observations']} observations of "
        f"`{p['scenario_set']}` (seeds {p['seeds'][0]}–{p['seeds'][-1]}): largest |Δ command| "
        f"{max(shares.values()):.2e} of the output's range (limit {p['tolerance_share']:.0e}).",
        f"- Closed loop on the same {len(p['seeds'])} episodes: largest |Δ return| "
        f"{p['max_abs_return_diff']:.3g}, largest |Δ unit KPI| {p['max_abs_kpi_diff']:.3g} "
        f"({p['max_rel_kpi_diff']:.2g} relative) "
        f"(mean return {p['return_mean_original']:.4g} original, {p['return_mean_onnx']:.4g} "
        "ONNX).",
        "",
        "## Evaluations of the trained policy",
        "",
    ]
    if card.evaluations:
        lines += [
            "| plant | scenario set | episodes | return | gap closed (PID → oracle) |",
            "| --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {e['plant']} | {e['scenario_set']} | {e['episodes']} | "
            f"{_number(e['return_mean'])} | {_number(e['gap_closed'])} |"
            for e in card.evaluations
        ]
        lines.append("\nUnit KPIs per evaluation: `model_card.json` (`evaluations[].kpis`).")
    else:
        lines.append(
            "None in the store: evaluate it with `python -m experiments.evaluate policy=…` and "
            "export again."
        )
    if card.training_config:
        lines += ["", "## Training config", ""]
        lines += [f"- `{k}` = `{v}`" for k, v in card.training_config.items()]
    return "\n".join(lines) + "\n"


def _finite(value: Any) -> Any:
    """``value`` with NaN and ±inf as None (strict JSON has neither)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    return value


def write_card(card: ModelCard, json_path: Path, md_path: Path) -> None:
    """Write the card as JSON (everything) and Markdown (for people)."""
    data = {
        "interface": card.interface,
        "rate_limits": card.rate_limits,
        "control_step": card.control_step,
        "source": card.source,
        "training_config": card.training_config,
        "evaluations": card.evaluations,
        "parity": card.parity,
    }
    json_path.write_text(json.dumps(_finite(data), indent=1, sort_keys=True) + "\n")
    md_path.write_text(_markdown(card))
