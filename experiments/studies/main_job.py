"""The main job's record: run ``python -m experiments.train`` on its defaults, write the table.

    python -m experiments.studies.main_job            # ≈ 4 min on 2 cores → results/bof/main_job.md
    python -m experiments.studies.main_job -- seed=1  # Hydra overrides after ``--`` (not stored)

The README's first command runs the main job; this script runs exactly that job (the embedded
defaults, or the overrides given) and writes what it printed — the trained policy against the
operator practice, the PID and the MPC on estimates on the same held-apart episodes — into
``results/bof/main_job.md`` with the date, commit, wall time and the paired differences with
their standard errors, never called an improvement: one seed of one algorithm is a
demonstration of the pipeline, not a result; the evaluation study (``make study-bof``) is.
"""

from __future__ import annotations

import argparse
import re
import time
from pathlib import Path

import mlflow
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig

from experiments.lib.machine_info import ROOT, machine_info
from experiments.lib.study_output import command_line, publish

OUT = ROOT / "results" / "bof" / "main_job.md"
_UNIT = re.compile(r"\| return \[([^\]]+)\]")
_PAIRED = re.compile(r"\| Δ return vs (\w+) \(paired, ± s\.e\.\) \| ([+-][\d.]+) ± ([\d.]+)")
REFERENCE_NAMES = {"operator": "operator practice", "pid": "PID", "mpc_est": "MPC on estimates"}


def reading(table: str) -> str:
    """What the paired differences allow one to say (two standard errors, one seed)."""
    matches = _PAIRED.findall(table)
    if not matches:
        return "No paired comparison with a reference in this run (absolute action mode)."
    unit_match = _UNIT.search(table)
    unit = unit_match[1] if unit_match else "return units"
    parts = []
    for ref, delta_text, se_text in matches:
        delta, se = float(delta_text), float(se_text)
        size = f"{abs(delta) / se:.1f}" if se > 0 else "∞"
        beyond = se > 0 and abs(delta) > 2 * se
        parts.append(
            f"vs the {REFERENCE_NAMES.get(ref, ref)} {delta:+.2f} ± {se:.2f} {unit} "
            f"({size} s.e., {'beyond' if beyond else 'within'} two)"
        )
    return (
        "Paired differences per episode on these episodes: "
        + "; ".join(parts)
        + ". One training seed is no result either way: whether the algorithm beats the PID "
        "takes ≥ 5 training seeds with a CI over seeds and episodes — the evaluation study "
        "(`make study-bof`, results/bof/report.md)."
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("overrides", nargs="*", help="Hydra overrides of the train job")
    parser.add_argument("--out", type=Path, help="where to write (default: results/bof/...)")
    args = parser.parse_args(argv)
    from experiments import train as train_job

    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        cfg = compose(config_name="train", overrides=list(args.overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)  # the job records its overrides as `-m` runs do
    t0 = time.perf_counter()
    train_job.train(cfg)
    wall = time.perf_counter() - t0
    run = mlflow.last_active_run()
    if run is None:  # train() always opens a run; this would be a tracking failure
        raise RuntimeError("the train job left no MLflow run to read its table from")
    table = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/final_table.md")
    params, info = run.data.params, machine_info()
    text = "\n".join(
        [
            "# Main job: the trained policy vs the plant's own controllers",
            "",
            f"- Command: `{command_line('experiments.train', list(args.overrides))}` "
            f"(regenerate this file: `{command_line('experiments.studies.main_job', argv)}`).",
            f"- {info['date']}, git `{info['git']}`, {info['cpu']}; "
            f"wall time {wall / 60:.1f} min (training, evaluation, tracking).",
            f"- Run `{run.info.run_id}` ({run.info.run_name}); env `{params.get('env.id', '?')}`, "
            f"plant `{params.get('plant_name', '?')}`, agent `{params.get('agent.name', '?')}`, "
            f"{params.get('train.total_timesteps', '?')} env-steps on "
            f"{params.get('train.n_envs', '?')} plants, seed {params.get('seed', '?')}.",
            f"- Evaluation: {params.get('eval.final_episodes', '?')} held-apart episodes from seed "
            f"{params.get('eval.first_seed', '?')}, scenario `{params.get('eval.scenario', '?')}`, "
            "the same episodes for every policy (same charge, disturbances and sensor noise).",
            "",
            table.strip(),
            "",
            reading(table),
            "",
        ]
    )
    publish(text, args.out or (None if args.overrides else OUT))


if __name__ == "__main__":
    main()
