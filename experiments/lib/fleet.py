"""The fleet: a version offered to sister plants, each deciding on its own; the fleet table.

:func:`propose` offers one registered version to every plant. A plant decides with the
promotion gate (:func:`experiments.lib.promotion.decide`) on its own cells (the gate's scenario
sets and episodes on that plant alone), against its own ``champion-<plant>`` (or the PID):

1. zero-shot: the offered version itself;
2. if declined, a short fine-tune at that plant (``fleet.fine_tune_budget`` env-steps,
   ``fleet.seed``) registered as a child version with its lineage, judged by the same gate.

It adopts the first that passes, else declines with the reasons of both.

:func:`fleet_table` writes the table a reviewer opens first, one row per plant × gate set:

| column | source |
| --- | --- |
| split | :meth:`experiments.lib.splits.Splits.split_of` |
| deployed | ``champion-<plant>`` (``PID (no learned policy adopted)`` without one) |
| lineage | version tags ``lineage/parent_version``, ``lineage/plant``, ``lineage/budget`` |
| return, Δ vs PID [95 % CI] | paired on the set's seeds (``stats.paired_delta_with_ci``) |
| adopted | version tag ``fleet/<plant>/decided_at``; a plant without one: the last version |
| | it declined (its reasons are that version's tag ``fleet/<plant>/reasons``) |
| gap closed [95 % CI] | ``stats.gap_closed_with_ci`` to ``baseline:mpc_est`` and ``baseline:mpc`` |
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mlflow.tracking import MlflowClient

from envs.core.params import PlantVariant
from experiments.lib.gate import GateSettings
from experiments.lib.promotion import (
    PID,
    Cell,
    Decision,
    Scope,
    Scorer,
    decide,
    deployed_version,
    safe_name,
)
from experiments.lib.splits import Splits
from experiments.lib.stats import gap_closed_with_ci, paired_delta_with_ci

__all__ = ["FineTuner", "PlantOutcome", "fleet_table", "plant_cells", "propose"]

# (source spec, plant, budget, seed) -> an object with ``version`` (the registered child or None)
FineTuner = Callable[[str, PlantVariant, int, int], Any]
NO_POLICY = "PID (no learned policy adopted)"


@dataclasses.dataclass(frozen=True)
class PlantOutcome:
    """One plant's answer to a proposal."""

    plant: str
    adopted: int | None  # the version it deployed (offered or fine-tuned child), None: declined
    zero_shot: Decision | None  # None: the offered version already was its champion
    fine_tuned: Decision | None  # the child's decision, when zero-shot was declined

    @property
    def headline(self) -> str:
        """How it adopted, or that it declined."""
        if self.zero_shot is None:
            return f"already deployed version {self.adopted}"
        if self.zero_shot.promoted:
            return f"adopted version {self.adopted} zero-shot"
        if self.fine_tuned is not None and self.fine_tuned.promoted:
            return f"adopted fine-tuned child version {self.adopted} (zero-shot declined)"
        tuned = "" if self.fine_tuned is None else f" and fine-tuned {self.fine_tuned.version}"
        return f"declined (zero-shot{tuned})"

    @property
    def reasons(self) -> list[str]:
        """The failed rules of each decision that declined, each naming its version."""
        return [
            f"v{d.version}: {reason}"
            for d in (self.zero_shot, self.fine_tuned)
            if d is not None and not d.promoted
            for reason in d.verdict.reasons
        ]


def plant_cells(
    plant: PlantVariant, scenario_sets: Sequence[str], episodes: Mapping[str, int | None]
) -> list[Cell]:
    """The gate cells of one plant: the gate's scenario sets and episodes on it alone."""
    return [Cell(plant, s, episodes[s]) for s in scenario_sets]


def _offer(
    model: str,
    version: int,
    plant: PlantVariant,
    cells: Sequence[Cell],
    scorer: Scorer,
    settings: GateSettings,
    fine_tuner: FineTuner,
    budget_seed: tuple[int, int],
) -> PlantOutcome:
    scope = Scope(plant.name)
    if deployed_version(MlflowClient(), model, scope) == version:
        return PlantOutcome(plant.name, version, None, None)
    zero = decide(model, version, scope, cells, scorer, settings)
    if zero.promoted:
        return PlantOutcome(plant.name, version, zero, None)
    child = fine_tuner(f"models:/{model}/{version}", plant, *budget_seed).version
    if child is None:
        raise RuntimeError(f"fine-tuning {model}/{version} at {plant.name} registered no version")
    tuned = decide(model, int(child), scope, cells, scorer, settings)
    return PlantOutcome(plant.name, int(child) if tuned.promoted else None, zero, tuned)


def propose(
    model: str,
    version: int,
    plants: Sequence[PlantVariant],
    sets: tuple[Sequence[str], Mapping[str, int | None]],
    scorer: Scorer,
    settings: GateSettings,
    fine_tuner: FineTuner,
    budget_seed: tuple[int, int],
) -> list[PlantOutcome]:
    """Offer ``version`` to every plant (see the module docstring); one outcome per plant.

    Args:
        sets: the gate's scenario sets and their episodes.
        budget_seed: env-steps and seed of the fine-tune at a plant that declined zero-shot.
    """
    return [
        _offer(model, version, p, plant_cells(p, *sets), scorer, settings, fine_tuner, budget_seed)
        for p in plants
    ]


def _lineage(tags: Mapping[str, str]) -> str:
    parent = tags.get("lineage/parent_version")
    if not parent:
        return f"trained at {tags.get('plant', '?')}"
    return (
        f"from v{parent}, fine-tuned at {tags.get('lineage/plant', '?')} "
        f"({tags.get('lineage/budget', '?')} steps)"
    )


def _kpi_cells(spec: str, cell: Cell, scorer: Scorer) -> list[str]:
    """Return, Δ vs PID [CI], gap closed vs MPC-est and vs the oracle [CI] of one cell."""

    def returns(s: str) -> Any:
        return scorer(s, cell.plant, cell.scenario_set, cell.episodes)

    x, pid = returns(spec), returns(PID)
    d, lo, hi, _ = paired_delta_with_ci(x, pid)
    gaps = [
        gap_closed_with_ci(x, pid, returns(ref)) for ref in ("baseline:mpc_est", "baseline:mpc")
    ]
    return [
        f"{x.mean():.4g}",
        f"{d:+.4g} [{lo:+.4g}, {hi:+.4g}]",
        *(f"{g:.2f} [{g_lo:.2f}, {g_hi:.2f}]" for g, g_lo, g_hi in gaps),
    ]


def _last_declined(client: MlflowClient, model: str, scope: Scope) -> str:
    """``declined v<N> (<when>)`` for the newest version the plant's gate rejected, or ''."""
    rejected = [
        (v.tags.get(scope.prefix + "decided_at", ""), int(v.version))
        for v in client.search_model_versions(f"name='{model}'")
        if v.tags.get(scope.prefix + "verdict") == "rejected"
    ]
    if not rejected:
        return ""
    when, version = max(rejected)
    reasons = client.get_model_version(model, str(version)).tags.get(scope.prefix + "reasons", "")
    first = reasons.strip().splitlines()[0].lstrip("- ") if reasons.strip() else ""
    more = len(reasons.strip().splitlines()) - 1
    shown = f"; {first}" + (f" (+{more} more)" if more > 0 else "") if first else ""
    return f"declined v{version} ({when}{shown}; all reasons: tag {scope.prefix}reasons)"


def fleet_table(
    model: str, splits: Splits, plants: Sequence[PlantVariant], scorer: Scorer, command: str
) -> str:
    """The fleet table (markdown) of ``plants`` on the gate's scenario sets."""
    client = MlflowClient()
    champion = deployed_version(client, model, Scope())
    lines = [
        f"# Fleet of {model}",
        "",
        f"Regenerate: `{command}`",
        "",
        f"Gate-set champion: {f'version {champion}' if champion is not None else NO_POLICY}. "
        "Δ and gap closed are paired on each set's seeds (95 % CIs, bootstrap over episodes).",
        "",
        "| plant | split | deployed | lineage | set | return | Δ vs PID [95 % CI] | adopted "
        "| gap closed vs MPC-est | gap closed vs oracle |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for plant in plants:
        scope = Scope(plant.name)
        version = deployed_version(client, model, scope)
        split = splits.split_of(plant)
        if version is None:
            declined = _last_declined(client, model, scope)
            lines.append(f"| {plant.name} | {split} | {NO_POLICY} | | | | | {declined} | | |")
            continue
        tags = client.get_model_version(model, str(version)).tags
        prefix = f"fleet/{safe_name(plant.name)}/"
        # an alias moved by hand (or a rolled-back plant) has no gate decision behind it
        passed = tags.get(prefix + "verdict") == "promoted"
        adopted = tags.get(prefix + "decided_at", "?") if passed else "set by hand"
        for cell in plant_cells(plant, splits.gate.scenario_sets, splits.gate.episodes):
            ret, delta, gap_est, gap_oracle = _kpi_cells(f"models:/{model}/{version}", cell, scorer)
            lines.append(
                f"| {plant.name} | {split} | v{version} ({scope.alias}) | {_lineage(tags)} | "
                f"{cell.scenario_set} | {ret} | {delta} | {adopted} | {gap_est} | {gap_oracle} |"
            )
    return "\n".join(lines) + "\n"
