"""The registry side of promotion: aliases, verdict tags, champion history, rollback.

| scope | deployed (alias) | history (model tag) | version-tag prefix |
| --- | --- | --- | --- |
| the gate set | ``champion`` | ``champion_history`` | ``gate/`` |
| one fleet plant | ``champion-<plant>`` | ``champion_history/<plant>`` | ``fleet/<plant>/`` |

The version a promotion replaced keeps the alias ``previous-<deployed alias>``.

``<plant>`` is the plant's name with every character MLflow refuses in aliases and tag keys
(anything but letters, digits, ``_`` and ``-``) written as ``-``: ``bof_250t+overrides`` →
``champion-bof_250t-overrides``.

A decision (:func:`decide`) writes on the candidate version, promoted or not:

| tag | value |
| --- | --- |
| ``<prefix>verdict`` | ``promoted`` or ``rejected`` |
| ``<prefix>reasons`` | one line per failed rule (empty when promoted) |
| ``<prefix>incumbent`` | the spec it was judged against (``baseline:pid``: no champion) |
| ``<prefix>p_improvement`` | P(candidate > incumbent), the cells' mean |
| ``<prefix>standardised_delta`` | standardised paired Δ, the cells' mean |
| ``<prefix><plant>/<set>/…`` | ``return``, ``delta_incumbent`` (``_low``, ``_high``: its |
| | 95 % CI), ``delta_pid``, ``p_improvement`` |
| ``<prefix>decided_at`` | UTC time, ISO 8601 |

and the per-cell table as a section of the version's description. Promotions are serialised:
the gate is evaluated without the lock, then under :func:`~experiments.lib.store.store_lock` the
incumbent is read again; if another promotion moved it meanwhile, the gate runs again against the
new one (at most ``gate.max_rejudgements`` times), and only then are the aliases moved, still
under the lock. The history is a JSON list of ``{version, at, reason}``, newest last: rollback
pops the newest, points the aliases at the one before, and tags the rolled-back version.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import re
from collections.abc import Callable, Sequence

import mlflow
import numpy as np
from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from envs.core.params import PlantVariant
from experiments.lib.config_checks import ConfigError
from experiments.lib.gate import CellScores, GateSettings, GateVerdict, judge
from experiments.lib.store import store_lock

__all__ = [
    "PID",
    "Cell",
    "Decision",
    "Scope",
    "Scorer",
    "decide",
    "deployed_version",
    "history",
    "model_version",
    "rollback",
    "safe_name",
]

PID = "baseline:pid"
HISTORY_KEEP = 100  # entries of a champion history kept (a registered-model tag holds ≤ 100 kB)
# (spec, plant, scenario set, episodes) -> per-episode returns on the set's first seeds
Scorer = Callable[[str, PlantVariant, str, "int | None"], np.ndarray]


@dataclasses.dataclass(frozen=True)
class Cell:
    """One gate cell: a plant, a scenario set and its first ``episodes`` seeds (None: all)."""

    plant: PlantVariant
    scenario_set: str
    episodes: int | None


def safe_name(name: str) -> str:
    """``name`` with every character MLflow refuses in an alias or tag key as ``-``."""
    return re.sub(r"[^A-Za-z0-9_\-]", "-", name)


@dataclasses.dataclass(frozen=True)
class Scope:
    """Whose champion: the gate set's (``plant=None``) or one fleet plant's."""

    plant: str | None = None

    @property
    def alias(self) -> str:
        return "champion" if self.plant is None else f"champion-{safe_name(self.plant)}"

    @property
    def previous_alias(self) -> str:
        return f"previous-{self.alias}"

    @property
    def history_tag(self) -> str:
        return "champion_history" + ("" if self.plant is None else f"/{safe_name(self.plant)}")

    @property
    def prefix(self) -> str:
        return "gate/" if self.plant is None else f"fleet/{safe_name(self.plant)}/"

    @property
    def label(self) -> str:
        return "the gate set" if self.plant is None else f"plant {self.plant}"


@dataclasses.dataclass(frozen=True)
class Decision:
    """What :func:`decide` did: the verdict, who the incumbent was, whether aliases moved."""

    model: str
    version: int
    scope: Scope
    verdict: GateVerdict
    incumbent_version: int | None
    promoted: bool
    judgements: int  # times the gate ran (> 1: the incumbent changed meanwhile)


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


def model_version(client: MlflowClient, model: str, version: int | str) -> ModelVersion:
    """The registered version, or a one-line error naming the versions that exist."""
    try:
        return client.get_model_version(model, str(version))
    except MlflowException as err:
        try:
            found = sorted(int(v.version) for v in client.search_model_versions(f"name='{model}'"))
        except MlflowException:
            found = []
        if not found:
            raise ConfigError(f"no registered model {model!r} in this store") from err
        raise ConfigError(
            f"{model} has no version {version} (versions: {found[0]}–{found[-1]})"
        ) from err


def deployed_version(client: MlflowClient, model: str, scope: Scope) -> int | None:
    """The version the scope's champion alias points at (None: no champion yet)."""
    try:
        aliases = client.get_registered_model(model).aliases
    except MlflowException:
        return None
    version = aliases.get(scope.alias)
    return None if version is None else int(version)


def history(client: MlflowClient, model: str, scope: Scope) -> list[dict[str, str]]:
    """The scope's champions, oldest first (``{version, at, reason}``)."""
    text = client.get_registered_model(model).tags.get(scope.history_tag)
    return list(json.loads(text)) if text else []


def _spec(model: str, version: int | None) -> str:
    return PID if version is None else f"models:/{model}/{version}"


def gate_cells_scores(
    candidate: str, incumbent: str, cells: Sequence[Cell], scorer: Scorer
) -> list[CellScores]:
    """Every cell's returns of candidate, incumbent and PID (the scorer evaluates what is
    missing, e.g. a gate set the champion never met)."""
    out = []
    for cell in cells:

        def returns(spec: str, cell: Cell = cell) -> np.ndarray:
            return np.asarray(scorer(spec, cell.plant, cell.scenario_set, cell.episodes))

        pid = returns(PID)
        inc = pid if incumbent == PID else returns(incumbent)
        out.append(CellScores(cell.plant.name, cell.scenario_set, returns(candidate), inc, pid))
    return out


def _verdict_tags(verdict: GateVerdict, prefix: str) -> dict[str, str]:
    tags = {
        "verdict": "promoted" if verdict.passed else "rejected",
        "reasons": "\n".join(verdict.reasons),
        "incumbent": verdict.incumbent,
        "p_improvement": f"{verdict.p_improvement:.4f}",
        "standardised_delta": f"{verdict.standardised_delta:.4f}",
        "decided_at": _now(),
    }
    for r in verdict.rows:
        cell = f"{safe_name(r.plant)}/{safe_name(r.scenario_set)}/"
        d, lo, hi = r.delta_incumbent
        numbers = {
            "return": r.candidate,
            "delta_incumbent": d,
            "delta_incumbent_low": lo,
            "delta_incumbent_high": hi,
            "delta_pid": r.delta_pid,
            "p_improvement": r.p_improvement,
        }
        tags.update({cell + k: f"{v:.6g}" for k, v in numbers.items()})
    return {prefix + k: v for k, v in tags.items()}


def _with_section(description: str | None, heading: str, body: str) -> str:
    """``description`` with its ``## heading`` section replaced by (or extended with) ``body``."""
    sections = re.split(r"(?m)^(?=## )", description or "")
    kept = [s for s in sections if s.strip() and not s.startswith(f"## {heading}\n")]
    return "\n".join([*(s.rstrip("\n") + "\n" for s in kept), f"## {heading}\n\n{body}\n"])


def _record(client: MlflowClient, model: str, version: int, scope: Scope, v: GateVerdict) -> None:
    for key, value in _verdict_tags(v, scope.prefix).items():
        client.set_model_version_tag(model, str(version), key, value)
    heading = "Gate" if scope.plant is None else f"Fleet: {scope.plant}"
    old = client.get_model_version(model, str(version)).description
    client.update_model_version(model, str(version), _with_section(old, heading, v.markdown()))


def _move_aliases(
    client: MlflowClient, model: str, version: int, scope: Scope, incumbent: int | None
) -> None:
    client.set_registered_model_alias(model, scope.alias, str(version))
    if incumbent is not None:
        client.set_registered_model_alias(model, scope.previous_alias, str(incumbent))
    entries = history(client, model, scope)
    if not entries and incumbent is not None:  # a champion set before histories were kept
        entries = [{"version": str(incumbent), "at": "", "reason": "champion before history"}]
    entries.append({"version": str(version), "at": _now(), "reason": "gate passed"})
    client.set_registered_model_tag(model, scope.history_tag, json.dumps(entries[-HISTORY_KEEP:]))


def decide(
    model: str,
    version: int,
    scope: Scope,
    cells: Sequence[Cell],
    scorer: Scorer,
    settings: GateSettings,
) -> Decision:
    """Judge ``version`` against the scope's champion (or the PID) and record the decision.

    Raises:
        ConfigError: the version does not exist, or the incumbent kept changing while the gate
            ran (``gate.max_rejudgements`` times).
    """
    client = MlflowClient()
    model_version(client, model, version)
    uri = mlflow.get_tracking_uri()
    for judgement in range(1, settings.max_rejudgements + 1):
        incumbent = deployed_version(client, model, scope)
        if incumbent == version:
            raise ConfigError(f"{model} version {version} already is {scope.alias}")
        scores = gate_cells_scores(_spec(model, version), _spec(model, incumbent), cells, scorer)
        verdict = judge(scores, _spec(model, incumbent), settings)
        with store_lock(uri):  # read-compare-write as one step for every process on the store
            if deployed_version(client, model, scope) != incumbent:
                continue  # another promotion won meanwhile: judge against its winner
            _record(client, model, version, scope, verdict)
            if verdict.passed:
                _move_aliases(client, model, version, scope, incumbent)
        return Decision(model, version, scope, verdict, incumbent, verdict.passed, judgement)
    raise ConfigError(
        f"{scope.alias} of {model} changed {settings.max_rejudgements} times while version "
        f"{version} was judged; nothing was recorded: run the promotion again"
    )


def rollback(model: str, scope: Scope, reason: str) -> tuple[int, int]:
    """Point the scope's champion back at the previous one; returns (rolled back, restored).

    The rolled-back version gets ``<prefix>rolled_back_at`` and ``<prefix>rolled_back_reason``;
    ``previous-champion`` moves one further back (or is removed at the first champion), so
    rollback can be repeated.

    Raises:
        ConfigError: the scope has no previous champion.
    """
    client = MlflowClient()
    with store_lock(mlflow.get_tracking_uri()):
        try:
            entries = history(client, model, scope)
        except MlflowException as err:
            raise ConfigError(f"no registered model {model!r} in this store") from err
        current = deployed_version(client, model, scope)
        if current is not None and entries and int(entries[-1]["version"]) != current:
            raise ConfigError(
                f"{model}: {scope.alias} is version {current}, but the last champion the gate "
                f"recorded is {entries[-1]['version']} (the alias was moved by hand); move it "
                "back or promote through the gate before rolling back"
            )
        if current is None or len(entries) < 2:
            raise ConfigError(
                f"{model} has no previous champion to roll back to for {scope.label} "
                f"({scope.alias}: {current if current is not None else 'none'}, "
                f"{max(len(entries) - 1, 0)} earlier champions recorded)"
            )
        entries.pop()
        restored = int(entries[-1]["version"])
        client.set_registered_model_alias(model, scope.alias, str(restored))
        if len(entries) >= 2:
            client.set_registered_model_alias(model, scope.previous_alias, entries[-2]["version"])
        else:
            client.delete_registered_model_alias(model, scope.previous_alias)
        client.set_registered_model_tag(model, scope.history_tag, json.dumps(entries))
        for key, value in {"rolled_back_at": _now(), "rolled_back_reason": reason}.items():
            client.set_model_version_tag(model, str(current), scope.prefix + key, value)
    return current, restored
