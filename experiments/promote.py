"""The promotion gate, rollback and fleet proposals on the MLflow registry.

    python -m experiments.promote [env=paint] [candidate=models:/plantrl-bof/7]   # the gate
    python -m experiments.promote plant=bof_custom plant.name=bof_180t plant.params.heat_size_t=180
    python -m experiments.promote rollback [plant=bof_120t] [reason="..."]
    python -m experiments.promote --propose 7 [plant=...]                         # the fleet
    python -m experiments.promote --propose champion                              # by alias
    python -m experiments.promote report                                          # fleet.md

- **gate** (default; ``candidate`` defaults to ``models:/<env.registered_model>@candidate``): the
  candidate against ``champion`` (or the PID) on the splits' gate set (``conf/splits/<env>.yaml``:
  plants × scenario sets × episodes; a ``plant=`` override joins the plants). Rules:
  :mod:`experiments.lib.gate`; registry protocol: :mod:`experiments.lib.promotion`.
- **rollback**: ``champion`` (``plant=``: ``champion-<plant>``) back to the previous champion.
- **--propose N** (a version, or an alias such as ``champion``): that version offered to every
  fleet plant (+ a ``plant=`` override), each deciding on its own cells, zero-shot then after a
  fine-tune (:mod:`experiments.lib.fleet`); one MLflow parent run with a child run per plant;
  ``results/<env>/fleet.md`` is rewritten at the end.
- **report**: ``results/<env>/fleet.md`` only.

The words ``rollback``, ``report`` and ``--propose N`` are shorthands of ``mode=rollback``,
``mode=report`` and ``mode=propose propose=N``. Every policy's returns come from
:func:`experiments.lib.scores.episode_scores` (evaluated once per policy, plant and set, then
reused; a set the champion never met is evaluated first). MLflow runs go to
``<env>-promotion``. Bad input (unknown plant, a policy of the other process, a version that
does not exist, rollback without a previous champion) is one line, exit code 2, nothing written.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from shlex import quote
from typing import Any, cast

import hydra
import mlflow
import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from envs.core.params import PlantVariant
from experiments.lib.cli import USAGE_ERROR, readable_errors, start
from experiments.lib.config_checks import ConfigError, check_tracking
from experiments.lib.fleet import FineTuner, PlantOutcome, fleet_table, propose
from experiments.lib.gate import GateSettings
from experiments.lib.plants import CUSTOM_SUFFIX, job_plant
from experiments.lib.promotion import (
    Cell,
    Scope,
    Scorer,
    decide,
    model_version,
    rollback,
)
from experiments.lib.promotion_runs import log_gate_run, log_proposal
from experiments.lib.scores import episode_scores, pinned
from experiments.lib.splits import load_splits, variant
from experiments.lib.tracking import setup_tracking

__all__ = ["candidate_version", "main", "run"]

ENV_CONF = Path(__file__).resolve().parents[1] / "conf" / "env"
MODEL_SPEC = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w\-]+))$")


# --- command line: the leading words, and plants checked before Hydra composes -------------
def command_line(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``rollback``/``report``/``--propose N`` as Hydra overrides.

    Raises:
        ConfigError: ``--propose`` without a version, or an unknown plant.
    """
    args = list(argv)
    if args and args[0] in ("rollback", "report"):
        args[0] = f"mode={args[0]}"
    if "--propose" in args:
        i = args.index("--propose")
        if i + 1 >= len(args) or "=" in args[i + 1] or args[i + 1].startswith("-"):
            raise ConfigError(
                "--propose needs the version offered to the fleet: --propose 7 (or an alias: "
                "--propose champion)"
            )
        args[i : i + 2] = ["mode=propose", f"propose={args[i + 1]}"]
    process = next((a.split("=", 1)[1] for a in args if a.startswith("env=")), "bof")
    for arg in args:
        if arg.startswith("plant=") and not arg.endswith(CUSTOM_SUFFIX):
            variant(process, arg.split("=", 1)[1])  # the clear error for an unknown plant
    return args


def candidate_version(spec: str, model: str, process: str) -> int:
    """The version ``spec`` names, checked to be a policy of this process's registered model.

    Raises:
        ConfigError: not a ``models:/`` spec, a model of another process (naming its ``env=``),
            an unknown alias or version.
    """
    match = MODEL_SPEC.match(spec)
    if match is None:
        raise ConfigError(f"candidate={spec}: models:/{model}/<version> or models:/{model}@<alias>")
    if match["name"] != model:
        owners = [p for p, m in registered_models().items() if m == match["name"]]
        hint = f"use env={owners[0]}" if owners else f"this env's model is {model}"
        raise ConfigError(f"candidate={spec} is not a {process} policy: {hint}")
    number = match["version"] or pinned(spec).rsplit("/", 1)[1]
    return int(model_version(mlflow.MlflowClient(), model, number).version)


def positive_int(value: Any, key: str, what: str, low: int = 1) -> int:
    """``value`` as an integer ≥ ``low``, or an error naming ``key``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ConfigError(f"{key} = {value!r}: an integer ≥ {low} ({what})")
    return value


def registered_models() -> dict[str, str]:
    """Process → its registered model name (``registered_model`` of ``conf/env/*.yaml``)."""
    return {
        p.stem: str(yaml.safe_load(p.read_text()).get("registered_model"))
        for p in sorted(ENV_CONF.glob("*.yaml"))
    }


# --- the job's parts -----------------------------------------------------------------------
def evaluation_scorer(c: Mapping[str, Any]) -> Scorer:
    """Per-episode returns through experiments.evaluate's code, evaluated once then reused."""
    job = {"env": c["env"], "tracking": c["tracking"], "trust_pickle": c["trust_pickle"]}
    return lambda spec, plant, sset, n: episode_scores(job, spec, plant, sset, n).returns


def warm_start_fine_tuner(c: Mapping[str, Any]) -> FineTuner:
    """``experiments.lib.fine_tune.fine_tune`` with the job's store, paths and overrides."""
    from experiments.lib.fine_tune import fine_tune  # the warm-start code: only when proposing

    def tune(source: str, plant: PlantVariant, budget: int, seed: int) -> Any:
        return fine_tune(
            source, plant, budget, seed,
            # the training job's own experiment, not this job's <env>-promotion
            tracking={k: v for k, v in c["tracking"].items() if k != "experiment"},
            paths=c["paths"],
            extra_overrides=list(c["fleet"]["extra_overrides"]),
            run_tags={"fleet_proposal": source},
        )  # fmt: skip

    return tune


def with_plant(plants: Sequence[PlantVariant], extra: PlantVariant | None) -> list[PlantVariant]:
    """``plants`` plus a command-line plant (once: plants are compared by hash)."""
    hashes = {p.plant_hash() for p in plants}
    return [*plants, *([extra] if extra and extra.plant_hash() not in hashes else [])]


def report(
    c: Mapping[str, Any], plants: Sequence[PlantVariant], scorer: Scorer, overrides: Sequence[str]
) -> Path:
    """Write ``results/<env>/fleet.md``, headed by the command that writes it again."""
    process = c["env"]["name"]
    splits = load_splits(c["splits"], process)
    kept = [o for o in overrides if not o.startswith(("mode=", "propose=", "env="))]
    command = " ".join(
        ["python -m experiments.promote report", f"env={process}", *map(quote, kept)]
    )
    table = fleet_table(c["env"]["registered_model"], splits, plants, scorer, command)
    out = Path(c["paths"]["results"]) / process / "fleet.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(table)
    print(f"wrote {out}")
    return out


def run(
    c: Mapping[str, Any],
    cli_plant: PlantVariant | None,
    scorer: Scorer | None = None,
    fine_tuner: FineTuner | None = None,
    overrides: Sequence[str] = (),
) -> Any:
    """The whole job for a resolved config.

    Args:
        c: the composed ``conf/promote.yaml``.
        cli_plant: a plant given on the command line (joins the gate plants or the fleet).
        scorer, fine_tuner: injected by tests; by default real evaluations and fine-tunes.
        overrides: the command line's overrides, for the report's regenerate command.
    """
    process, model = c["env"]["name"], c["env"]["registered_model"]
    settings = GateSettings.from_config(c["gate"])
    splits = load_splits(c["splits"], process)
    check_tracking(c["tracking"], write=True)
    experiment_id = setup_tracking(c["tracking"])
    scorer = scorer or evaluation_scorer(c)
    gate, fleet = splits.gate, with_plant(splits.fleet, cli_plant)

    if c["mode"] == "rollback":
        scope = Scope(cli_plant.name if cli_plant else None)
        rolled, restored = rollback(model, scope, str(c["reason"]))
        print(f"{model}: {scope.alias} rolled back from version {rolled} to {restored}")
        return rolled, restored
    if c["mode"] == "report":
        return report(c, fleet, scorer, overrides)
    if c["mode"] == "propose":
        outcomes = run_proposal(c, experiment_id, fleet, scorer, fine_tuner, settings)
        report(c, fleet, scorer, overrides)
        return outcomes
    if c["mode"] != "gate":
        raise ConfigError(f"mode={c['mode']}: gate, rollback, propose or report")

    version = candidate_version(str(c["candidate"]), model, process)
    plants = with_plant(gate.plants, cli_plant)
    cells = [Cell(p, s, gate.episodes[s]) for p in plants for s in gate.scenario_sets]
    decision = decide(model, version, Scope(), cells, scorer, settings)
    log_gate_run(experiment_id, decision)
    print(decision.verdict.markdown())
    replaced = decision.incumbent_version
    previous = f" (previous-champion: version {replaced})" if replaced is not None else ""
    print(
        f"{model} version {version}: "
        + (f"champion{previous}" if decision.promoted else "rejected")
    )
    return decision


def run_proposal(
    c: Mapping[str, Any],
    experiment_id: str,
    fleet: Sequence[PlantVariant],
    scorer: Scorer,
    fine_tuner: FineTuner | None,
    settings: GateSettings,
) -> list[PlantOutcome]:
    """``--propose N``: every fleet plant decides; one parent run, a child run per plant."""
    process, model = c["env"]["name"], c["env"]["registered_model"]
    offered = c["propose"]
    if isinstance(offered, str) and not offered.isdigit():  # an alias: the version it names now
        version = candidate_version(f"models:/{model}@{offered}", model, process)
    else:
        offered = int(offered) if isinstance(offered, str) else offered
        offered = positive_int(offered, "propose", "the version offered (--propose <version>)")
        version = candidate_version(f"models:/{model}/{offered}", model, process)
    splits = load_splits(c["splits"], process)
    sets = (splits.gate.scenario_sets, splits.gate.episodes)
    budget = positive_int(c["fleet"]["fine_tune_budget"], "fleet.fine_tune_budget", "env-steps")
    budget_seed = (budget, positive_int(c["fleet"]["seed"], "fleet.seed", "a seed", low=0))
    tuner = fine_tuner or warm_start_fine_tuner(c)
    outcomes = propose(model, version, fleet, sets, scorer, settings, tuner, budget_seed)
    log_proposal(experiment_id, model, version, outcomes)
    for o in outcomes:
        print(f"{o.plant}: {o.headline}", *(f"\n    {reason}" for reason in o.reasons), sep="")
    return outcomes


@hydra.main(version_base="1.3", config_path="../conf", config_name="promote")
@readable_errors
def main(cfg: DictConfig) -> Any:
    c = cast(dict[str, Any], OmegaConf.to_container(cfg, resolve=True))
    hydra_cfg = HydraConfig.get()
    given = any(o.lstrip("+~").startswith("plant") for o in hydra_cfg.overrides.task)
    choice = hydra_cfg.runtime.choices.get("plant")
    cli_plant = job_plant(c["plant"], c["env"]["name"], choice) if given else None
    return run(c, cli_plant, overrides=list(hydra_cfg.overrides.task))


def entry() -> None:
    """``python -m experiments.promote``: the leading words become overrides, then Hydra."""
    try:
        sys.argv = [sys.argv[0], *command_line(sys.argv[1:])]
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(USAGE_ERROR)
    start(main)


if __name__ == "__main__":
    entry()
