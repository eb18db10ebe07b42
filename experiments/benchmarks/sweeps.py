"""Sweep benchmarks: parallel speed-up of a joblib sweep, concurrent writers per tracking store.

    python -m experiments.benchmarks.sweeps            # full run, ≈ 12 min on 2 busy cores
    python -m experiments.benchmarks.sweeps --quick    # smoke run, ≈ 2 min (needs PostgreSQL)

Two measurements (issue 17's acceptance):

1. Sweep wall time: ``python -m experiments.train -m seed=0..N-1 hydra/launcher=joblib
   hydra.launcher.n_jobs=W experiment=debug …`` (N short train jobs, each sweep on its own copy
   of a SQLite store migrated once beforehand, so MLflow's one-off schema migration is in
   neither time) with W = 1 and W = 2 workers, interleaved (1, 2, 1, 2, …) so a change of the
   machine's load hits both; the speed-up is the ratio of the medians (target ≥ 1.7× on 2
   cores). With 1 worker joblib runs the jobs in the launching process; 2 workers are fresh
   processes that import torch, SB3 and the plant first, so each sweep also reports when its
   first job started and its median job time (from the runs' times in its store). The load
   average before each sweep is reported: other jobs on the machine take cores from the
   2-worker sweep first.
2. Concurrent writers: K processes (K = 1, 2, 4, 8, 16), started together, each creating
   runs in a tight loop for a fixed time: per run ``create_run``, ``log_param``, 5
   ``log_metric`` calls, one ``log_batch`` of 10 metrics, ``set_terminated`` (17 items: the run,
   a param, 15 metric values). Against (a) the local SQLite store, opened the way jobs open it
   (``experiments.lib.tracking.setup_tracking``: the store lock, the schema check) and
   (b) an ``mlflow server`` (MLflow's default 4 workers) on a PostgreSQL store with PostgreSQL's
   default durability (experiments.lib.servers), opened the same way (no retries, a 5 s request
   timeout: the ``tracking=server`` settings). Errors are counted per K (a failed call is
   counted and the loop goes on); reported: the largest K with no error and the throughput in
   logged items per second.

Writes ``results/benchmarks/sweeps.md`` and the raw numbers to ``sweeps.json`` next to it.
Every store, server and sweep folder lives in a temporary folder that is removed.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import closing
from pathlib import Path
from typing import Any

from experiments.lib.machine_info import machine_info
from experiments.lib.servers import mlflow_server, postgres_cluster

ROOT = Path(__file__).resolve().parents[2]
ITEMS_PER_RUN = 17  # the run, 1 param, 5 single metrics, a batch of 10 metrics
SERVER_WORKERS = 4  # MLflow's default
TARGET_SPEEDUP = 1.7


# --- 1. sweep wall time -----------------------------------------------------------------------
def sweep_command(root: Path, jobs: int, workers: int, steps: int) -> list[str]:
    seeds = ",".join(str(s) for s in range(jobs))
    return [
        sys.executable,
        "-m",
        "experiments.train",
        "-m",
        f"seed={seeds}",
        "hydra/launcher=joblib",
        f"hydra.launcher.n_jobs={workers}",
        "experiment=debug",
        f"train.total_timesteps={steps}",
        f"train.checkpoint_every_steps={steps}",
        f"eval.every_steps={steps}",
        f"paths.root={root}",
        f"tracking.uri=sqlite:///{root}/mlflow.db",
        f"tracking.artifact_location={root}/mlartifacts",
    ]


def time_sweep(root: Path, store: Path, jobs: int, workers: int, steps: int) -> dict[str, Any]:
    """Wall time of one sweep (its own folder under ``root``, a copy of the migrated ``store``)."""
    root.mkdir(parents=True)
    shutil.copy(store, root / "mlflow.db")
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(
        sweep_command(root, jobs, workers, steps),
        cwd=ROOT,
        env={**os.environ, "PYTHONHASHSEED": "0"},
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"sweep with {workers} workers failed:\n{proc.stderr[-2000:]}")
    finished = f"{jobs}/{jobs} jobs finished" in proc.stdout
    sample = {"workers": workers, "wall_s": wall, "load_before": load, "all_finished": finished}
    return {**sample, **job_times(root / "mlflow.db")}


def job_times(db: Path) -> dict[str, float]:
    """From the sweep's store: when the first job started after the parent run, and how long
    the jobs took (median): a parallel worker's start-up and the jobs' slow-down apart."""
    child = "JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'mlflow.parentRunId'"
    parent = "JOIN tags t ON t.run_uuid = r.run_uuid AND t.key = 'sweep' AND t.value = 'true'"
    with closing(sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)) as con:
        (parent_start,) = con.execute(f"SELECT r.start_time FROM runs r {parent}").fetchone()
        children = con.execute(f"SELECT r.start_time, r.end_time FROM runs r {child}").fetchall()
    return {
        "first_job_after_s": (min(start for start, _ in children) - parent_start) / 1000,
        "job_median_s": statistics.median((end - start) / 1000 for start, end in children),
    }


def measure_sweeps(tmp: Path, jobs: int, steps: int, repeats: int) -> dict[str, Any]:
    from experiments.lib.tracking import setup_tracking

    template = tmp / "template"
    setup_tracking(_tracking(f"sqlite:///{template}/mlflow.db", template, "debug"))
    samples = []
    for i in range(repeats):
        for workers in (1, 2):
            root = tmp / f"sweep-{i}-{workers}"
            samples.append(time_sweep(root, template / "mlflow.db", jobs, workers, steps))
            print(f"sweep {i} W={workers}: {samples[-1]['wall_s']:.1f} s", flush=True)
    median = {
        w: statistics.median(s["wall_s"] for s in samples if s["workers"] == w) for w in (1, 2)
    }
    return {
        "jobs": jobs,
        "steps_per_job": steps,
        "repeats": repeats,
        "samples": samples,
        "median_s": median,
        "speedup": median[1] / median[2],
    }


# --- 2. concurrent writers -----------------------------------------------------------------------
def _tracking(uri: str, root: Path, experiment: str) -> dict[str, Any]:
    if uri.startswith("http"):
        return {"uri": uri, "experiment": experiment, "artifact_location": None, "timeout_s": 5}
    return {"uri": uri, "experiment": experiment, "artifact_location": str(root / "mlartifacts")}


def _writer(uri: str, root: Path, experiment: str, seconds: float, barrier: Any, out: Any) -> None:
    """One writer process: open the store as a job does, then create runs until time is up."""
    from mlflow.tracking import MlflowClient

    from experiments.lib.tracking import setup_tracking

    items, errors = 0, Counter[str]()
    try:
        experiment_id = setup_tracking(_tracking(uri, root, experiment))
    except Exception as err:  # a store that cannot be opened is the first error of this writer
        errors[_first_line(err)] += 1
        barrier.wait()
        out.put((items, dict(errors)))
        return
    client = MlflowClient()
    barrier.wait()  # every writer starts together
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        try:
            items += _one_run(client, experiment_id)
        except Exception as err:  # counted, and the writer goes on, as a job's retry would
            errors[_first_line(err)] += 1
    out.put((items, dict(errors)))


def _one_run(client: Any, experiment_id: str) -> int:
    from mlflow.entities import Metric

    run = client.create_run(experiment_id)
    run_id = run.info.run_id
    client.log_param(run_id, "writer_pid", os.getpid())
    for step in range(5):
        client.log_metric(run_id, "loss", 1.0 / (step + 1), step=step)
    now = int(time.time() * 1000)
    client.log_batch(run_id, metrics=[Metric(f"kpi/m{i}", float(i), now, 0) for i in range(10)])
    client.set_terminated(run_id)
    return ITEMS_PER_RUN


def _first_line(err: BaseException) -> str:
    text = f"{type(err).__name__}: {err}".strip().splitlines()[0]
    return text[:200]


def measure_writers(uri: str, root: Path, k: int, seconds: float) -> dict[str, Any]:
    """``k`` writer processes on ``uri`` for ``seconds``: items, errors, items per second."""
    ctx = mp.get_context("spawn")  # a fresh interpreter per writer, like a job: no shared pool
    os.environ["MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT"] = "true"  # a line per run otherwise
    barrier, out = ctx.Barrier(k), ctx.Queue()
    experiment = f"writers-{k}"
    procs = [
        ctx.Process(target=_writer, args=(uri, root, experiment, seconds, barrier, out))
        for _ in range(k)
    ]
    load = os.getloadavg()[0]
    for proc in procs:
        proc.start()
    results = [out.get(timeout=600) for _ in procs]
    for proc in procs:
        proc.join(timeout=60)
    errors: Counter[str] = Counter()
    for _, errs in results:
        errors.update(errs)
    items = sum(n for n, _ in results)
    return {
        "k": k,
        "items": items,
        "items_per_s": items / seconds,
        "errors": sum(errors.values()),
        "error_kinds": dict(errors.most_common(3)),
        "load_before": load,
    }


def measure_store(
    uri: str, root: Path, ks: tuple[int, ...], seconds: float
) -> list[dict[str, Any]]:
    rows = []
    for k in ks:
        rows.append(measure_writers(uri, root, k, seconds))
        print(f"{uri.split(':')[0]} K={k}: {rows[-1]['errors']} errors", flush=True)
    return rows


def measure(quick: bool) -> dict[str, Any]:
    # 6 jobs of ≈ 25 s: a parallel worker first imports torch, SB3, MLflow and the plant and
    # loads the compiled cores (≈ 10 s in all, measured), which the sweep's work must outweigh
    # for a 1.7× speed-up (1 worker runs the jobs in the launching process, where all of it is
    # loaded already): 4 such jobs gave 1.66× (99.6 s vs 60.0 s), 4 jobs of ≈ 5 s (12288 steps)
    # nothing even on an idle machine (24.6 s vs 22.1 s)
    jobs, steps, repeats = (2, 256, 1) if quick else (6, 131072, 2)
    ks = (1, 2) if quick else (1, 2, 4, 8, 16, 32, 64)
    seconds = 2.0 if quick else 5.0
    with tempfile.TemporaryDirectory(prefix="plantrl-bench-sweeps-") as tmp_dir:
        tmp = Path(tmp_dir)
        sweeps = measure_sweeps(tmp, jobs, steps, repeats)
        sqlite_uri = f"sqlite:///{tmp / 'writers' / 'mlflow.db'}"
        sqlite_rows = measure_store(sqlite_uri, tmp / "writers", ks, seconds)
        with (
            postgres_cluster() as pg,
            mlflow_server(pg.uri, tmp / "pg-art", tmp / "server.log", SERVER_WORKERS) as server,
        ):
            server_rows = measure_store(server.url, tmp, ks, seconds)
    return {
        "quick": quick,
        "sweeps": sweeps,
        "writers": {"seconds": seconds, "sqlite": sqlite_rows, "postgres_server": server_rows},
    }


# --- report ----------------------------------------------------------------------------------
def largest_clean_k(rows: list[dict[str, Any]]) -> str:
    """Largest K such that it and every smaller K ran without an error."""
    clean = 0
    for row in rows:
        if row["errors"]:
            break
        clean = row["k"]
    tried = rows[-1]["k"]
    return f"{clean}" + (" (the largest tried)" if clean == tried else f" (errors at {tried})")


def render(info: dict[str, str], r: dict[str, Any]) -> str:
    cmd = "python -m experiments.benchmarks.sweeps" + (" --quick" if r["quick"] else "")
    s = r["sweeps"]
    verdict = "PASS" if s["speedup"] >= TARGET_SPEEDUP else "MISSED"
    lines = [
        "# Sweep benchmark\n",
        f"- `{cmd}`",
        f"- {info['date']}, git `{info['git']}`, {info['cpu']}, load average {info['load']}",
        f"- Python {info['python']}, mlflow {info['mlflow']}, PostgreSQL 15 (Debian)\n",
        f"## 1. A sweep of {s['jobs']} train jobs, 1 vs 2 joblib workers\n",
        f"`python -m experiments.train -m seed=0..{s['jobs'] - 1} hydra/launcher=joblib "
        f"hydra.launcher.n_jobs=W experiment=debug train.total_timesteps={s['steps_per_job']}` "
        f"(private SQLite store); {s['repeats']} sweeps per W, interleaved.\n",
        "| order | workers | wall (s) | first job started after (s) | job, median (s) "
        "| load average (1 min) before | all jobs finished |",
        "|---|---|---|---|---|---|---|",
    ]
    for i, x in enumerate(s["samples"]):
        lines.append(
            f"| {i + 1} | {x['workers']} | {x['wall_s']:.1f} | {x['first_job_after_s']:.1f} "
            f"| {x['job_median_s']:.1f} | {x['load_before']:.2f} "
            f"| {'yes' if x['all_finished'] else 'NO'} |"
        )
    lines += [
        "",
        f"Median wall: {s['median_s'][1]:.1f} s with 1 worker, {s['median_s'][2]:.1f} s with 2: "
        f"speed-up **{s['speedup']:.2f}×** (target ≥ {TARGET_SPEEDUP}×: {verdict}).\n",
    ]
    w = r["writers"]
    lines += [
        "## 2. Concurrent writers per store\n",
        f"K processes started together, each creating runs for {w['seconds']:.0f} s "
        f"({ITEMS_PER_RUN} items per run: the run, a param, 15 metric values). Local SQLite: "
        "through `setup_tracking` as a job opens it. Server: `mlflow server` "
        f"({SERVER_WORKERS} workers) on PostgreSQL, `tracking=server` settings (no retry, "
        "5 s timeout).\n",
        "| store | K | errors | items/s | load before | first errors |",
        "|---|---|---|---|---|---|",
    ]
    for label, key in (("local SQLite", "sqlite"), ("server + PostgreSQL", "postgres_server")):
        for row in w[key]:
            kinds = "; ".join(f"{n}× {m}" for m, n in row["error_kinds"].items()) or "–"
            lines.append(
                f"| {label} | {row['k']} | {row['errors']} | {row['items_per_s']:.0f} "
                f"| {row['load_before']:.2f} | {kinds.replace('|', '/')} |"
            )
    lines += [
        "",
        f"Largest K without an error: local SQLite {largest_clean_k(w['sqlite'])}; "
        f"server + PostgreSQL {largest_clean_k(w['postgres_server'])}.",
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets (smoke run)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "sweeps.md")
    args = parser.parse_args()
    info = machine_info(("mlflow",))
    r = measure(args.quick)
    text = render(info, r)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps({"machine": info, **r}, indent=2) + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.json').name}")


if __name__ == "__main__":
    main()
