"""Tune a PID baseline once, reproducibly, on the nominal plant; write the winner into its YAML.

    python -m experiments.tuning.pid --process bof          # ≈ 3 min of one core's CPU time
    python -m experiments.tuning.pid --process paint        # ≈ 4.5 min (gains and operating point)
    python -m experiments.tuning.pid --process bof --quick  # a smoke run in seconds (not stored)

Procedure (DESIGN.md: baselines "tuned once by a documented, reproducible procedure"):

1. Read ``conf/baselines/<process>_pid.yaml``: the ``search`` block — the gains to start from
   and the stages, each with its scenario, episode and trial counts and the ranges it searches.
2. Per stage, an Optuna TPE search with a fixed sampler seed. Objective: the mean episode return
   (the env's reward is money) of :func:`agents.evaluation.evaluate` on the nominal plant over
   fixed *tuning* seeds 500000… — disjoint from every evaluation seed set (100000… during
   training, 200000… in ``envs/conf/scenarios``), so the baselines are never tuned on the episodes
   they are scored on. Every candidate meets the same episodes (common random numbers), and
   the gains a stage starts from are its first trial, so it never ends worse than it started.
   The BOF has two stages: the endpoint gains on single heats (scenario ``nominal``), then the
   campaign PI, which acts only between heats and so has nothing to act on in single-heat
   episodes: it is tuned on 12-heat campaigns of the nominal plant with a steady lance- and
   refractory-wear ramp from the first heat (the class of disturbance integral action is for,
   defined in the YAML), so the ``drift`` scenario's lance-wear event at heat 5 stays unseen.
3. The winner (rounded to 4 significant digits) is scored against the operator on the tuning
   seeds, and gains, date, command, commit and those numbers are written back to the YAML.

Deterministic end to end: seeded episodes, seeded sampler, one process.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import yaml

import envs
from agents.baselines.bof_pid import BOFPID
from agents.baselines.bof_pid import DEFAULT_CONFIG as BOF_CONFIG
from agents.baselines.operator import OperatorPolicy
from agents.baselines.paint_pid import DEFAULT_CONFIG as PAINT_CONFIG
from agents.baselines.paint_pid import PaintPID
from agents.evaluation import EpisodeResults, evaluate

TUNING_FIRST_SEED = 500_000
PROCESSES: dict[str, tuple[Path, Callable[..., Any], int]] = {
    "bof": (BOF_CONFIG, BOFPID, 5),
    "paint": (PAINT_CONFIG, PaintPID, 11),
}
REPORT_KPIS = {
    "bof": ("return_mean", "hit_c_0.02", "hit_t_15", "double_hit_0.02_15", "measured_c_pct"),
    "paint": ("return_mean", "in_spec_base_rate", "in_spec_clear_rate", "cpk_base", "cpk_clear"),
}


def set_path(d: dict[str, Any], dotted: str, value: float) -> None:
    """``d["a"]["b"] = value`` for ``"a.b"`` (gains of a PI loop are nested)."""
    *head, last = dotted.split(".")
    for key in head:
        d = d.setdefault(key, {})
    d[last] = value


def get_path(d: dict[str, Any], dotted: str, default: float) -> float:
    for key in dotted.split("."):
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return float(d)  # type: ignore[arg-type]


def make_env_fn(process: str, plant: str, stage: dict[str, Any]) -> Callable[[], Any]:
    """The stage's episodes: a scenario, optionally a campaign length and its drifts."""
    kwargs: dict[str, Any] = {"scenario": stage.get("scenario", "nominal")}
    for key in ("campaign_heats", "drifts"):
        if key in stage:
            kwargs[key] = stage[key]
    return lambda: envs.make(process, plant, **kwargs)


def run_stage(
    process: str, cfg: dict[str, Any], gains: dict[str, Any], stage: dict[str, Any], quick: bool
) -> dict[str, Any]:
    """One Optuna search over ``stage["space"]``; returns the best gains (all of them)."""
    _, policy_cls, _ = PROCESSES[process]
    trials = max(3, stage["trials"] // 10) if quick else int(stage["trials"])
    episodes = max(2, stage["episodes"] // 8) if quick else int(stage["episodes"])
    seeds = range(TUNING_FIRST_SEED, TUNING_FIRST_SEED + episodes)
    make_env = make_env_fn(process, cfg["plant"], stage)
    space: dict[str, list[float]] = stage["space"]

    def objective(trial: optuna.Trial) -> float:
        g = copy.deepcopy(gains)
        for name, (lo, hi) in space.items():
            set_path(g, name, trial.suggest_float(name, lo, hi))
        res = evaluate(policy_cls(g, plant=cfg["plant"]), make_env, seeds)
        return float(res.returns.mean())

    sampler = optuna.samplers.TPESampler(seed=int(cfg["search"]["sampler_seed"]))
    study = optuna.create_study(direction="maximize", sampler=sampler)
    # the current gains first (clipped into the space): a stage never ends worse than that
    study.enqueue_trial(
        {n: float(np.clip(get_path(gains, n, lo), lo, hi)) for n, (lo, hi) in space.items()}
    )
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=trials)
    best = copy.deepcopy(gains)
    for name, value in study.best_params.items():
        set_path(best, name, float(f"{value:.4g}"))
    print(
        f"  stage {stage['name']}: {trials} trials x {episodes} episodes in "
        f"{time.perf_counter() - t0:.0f} s, best return {study.best_value:.4f}",
        flush=True,
    )
    return best


def score(
    process: str, cfg: dict[str, Any], gains: dict[str, Any], episodes: int
) -> dict[str, dict[str, float]]:
    """Operator and tuned PID on the nominal tuning seeds: the KPIs the YAML records."""
    _, policy_cls, n_act = PROCESSES[process]
    seeds = range(TUNING_FIRST_SEED, TUNING_FIRST_SEED + episodes)
    make_env = make_env_fn(process, cfg["plant"], {"scenario": "nominal"})
    out = {}
    for name, policy in (
        ("operator", OperatorPolicy(n_act)),
        ("pid", policy_cls(gains, plant=cfg["plant"])),
    ):
        res: EpisodeResults = evaluate(policy, make_env, seeds)
        s = res.summary()
        out[name] = {k: round(float(s[k]), 4) for k in REPORT_KPIS[process]}
    return out


def git_commit() -> str:
    """Short commit of the code that tuned, ``-dirty`` with uncommitted changes to tracked files."""

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True, check=True).stdout

    try:
        dirty = git("status", "--porcelain", "--untracked-files=no").strip()
        return git("rev-parse", "--short", "HEAD").strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def write_config(path: Path, cfg: dict[str, Any], source: Path) -> None:
    """Write the YAML with the header comment of ``source`` (the file's documentation)."""
    lines = source.read_text().splitlines()
    header = []
    for line in lines:
        if not line.startswith("#"):
            break
        header.append(line)
    # flow style for leaf collections: a range stays `[lo, hi]`, a PI loop one line
    body = yaml.safe_dump(
        cfg, sort_keys=False, allow_unicode=True, width=100, default_flow_style=None
    )
    path.write_text("\n".join([*header, body]).rstrip() + "\n")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--process", choices=sorted(PROCESSES), required=True)
    parser.add_argument("--quick", action="store_true", help="few trials/episodes; no write")
    parser.add_argument("--config", type=Path, help="YAML to read (default: conf/baselines)")
    parser.add_argument("--out", type=Path, help="YAML to write (default: --config)")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    # 1. the gains to start from and the search
    path = args.config or PROCESSES[args.process][0]
    cfg = yaml.safe_load(path.read_text())
    print(f"tuning the {args.process} PID on {cfg['plant']} (config {path})", flush=True)
    t0, cpu0 = time.perf_counter(), time.process_time()

    # 2. the searches, stage after stage, each starting from the previous winner; the first
    # starts from the fixed `search.start` gains, so a re-run repeats the same search
    gains = copy.deepcopy(cfg["search"].get("start") or {})
    for stage in cfg["search"]["stages"]:
        gains = run_stage(args.process, cfg, gains, stage, args.quick)

    # 3. the winner against the operator on the tuning seeds, and the record
    episodes = int(cfg["search"]["stages"][0]["episodes"]) // (8 if args.quick else 1)
    result = score(args.process, cfg, gains, max(2, episodes))
    for name, kpis in result.items():
        print(f"  {name:8s} " + "  ".join(f"{k} {v:.4f}" for k, v in kpis.items()))
    cfg["gains"] = gains
    cfg["tuned"] = {
        "date": datetime.date.today().isoformat(),
        "command": " ".join(["python -m experiments.tuning.pid", *(argv or sys.argv[1:])]),
        "commit": git_commit(),
        "seconds": round(time.perf_counter() - t0),
        "cpu_seconds": round(time.process_time() - cpu0),
        "tuning_seeds": f"{TUNING_FIRST_SEED}..{TUNING_FIRST_SEED + max(2, episodes) - 1}",
        "scenario": "nominal",
        "result": result,
    }
    out = args.out or (None if args.quick else path)
    if out is not None:
        write_config(out, cfg, path)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
