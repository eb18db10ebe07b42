"""Env speed of this checkout against another revision, measured in one run (A/B, interleaved).

    python -m experiments.benchmarks.against HEAD~1            # full: ≈ 3 min on 2 cores
    python -m experiments.benchmarks.against 0d32fe4 --quick   # smoke

Machines here are shared and noisy, so a speed claim is a ratio measured in one run: the
revision is checked out into a temporary git worktree, and the same timing script (which uses
only the public API every revision has: ``envs.make``, ``envs.make_vec``) runs in fresh
subprocesses against each tree in turn — A, B, A, B, … — with one numba thread. Each round
reports single-env steps/s and vector env-steps/s at 4096 plants for both processes; the table
gives the median of the rounds and the ratio this/other. Compile caches are warmed first, so
neither side pays compilation inside the timing.

Writes ``results/benchmarks/against.md`` (``--out``) and prints the table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]

# Runs inside each tree: only the public API (envs.make / envs.make_vec), zero adjust actions.
TIMER = r"""
import json, sys, time
import numpy as np
import envs

def single(proc, steps):
    env = envs.make(proc)
    env.reset(seed=0)
    a = np.zeros(env.action_space.shape, dtype=np.float32)
    t0 = time.perf_counter()
    for _ in range(steps):
        _, _, term, trunc, _ = env.step(a)
        if term or trunc:
            env.reset()
    return steps / (time.perf_counter() - t0)

def vector(proc, n, steps):
    venv = envs.make_vec(proc, n)
    venv.reset(seed=0)
    a = np.zeros(venv.action_space.shape, dtype=np.float32)
    t0 = time.perf_counter()
    for _ in range(steps):
        venv.step(a)
    return n * steps / (time.perf_counter() - t0)

steps, vsteps, n = (int(v) for v in sys.argv[1:4])
out = {}
for proc in ("bof", "paint"):
    single(proc, 200), vector(proc, n, 3)  # warm (compile cache, allocations)
    out[f"{proc}/single_steps_s"] = single(proc, steps)
    out[f"{proc}/vector_env_steps_s"] = vector(proc, n, vsteps)
print(json.dumps(out))
"""


def run_tree(tree: Path, steps: int, vsteps: int, n: int) -> dict[str, float]:
    env = {**os.environ, "NUMBA_NUM_THREADS": "1", "PYTHONPATH": str(tree)}
    proc = subprocess.run(
        [sys.executable, "-c", TIMER, str(steps), str(vsteps), str(n)],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("revision", help="git revision to compare against (e.g. HEAD~1)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="1 round, short timings")
    parser.add_argument("--out", type=Path, default=REPO / "results" / "benchmarks" / "against.md")
    args = parser.parse_args(argv)
    rounds, steps, vsteps, n = (1, 2000, 5, 1024) if args.quick else (args.rounds, 20000, 40, 4096)
    sha = subprocess.run(
        ["git", "rev-parse", "--short", args.revision], cwd=REPO, capture_output=True,
        text=True, check=True,
    ).stdout.strip()  # fmt: skip
    head = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
        check=True,
    ).stdout.strip()  # fmt: skip
    dirty = bool(
        subprocess.run(["git", "status", "--porcelain", "--", "envs"], cwd=REPO,
                       capture_output=True, text=True, check=True).stdout.strip()
    )  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        other = Path(tmp) / "other"
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(other), sha], cwd=REPO, check=True,
            capture_output=True,
        )  # fmt: skip
        try:
            samples: dict[str, list[dict[str, float]]] = {"this": [], "other": []}
            for tree in (REPO, other):  # warm each tree's compile cache
                run_tree(tree, 200, 2, 64)
            for r in range(rounds):
                order = [("this", REPO), ("other", other)]
                for name, tree in order if r % 2 == 0 else order[::-1]:
                    samples[name].append(run_tree(tree, steps, vsteps, n))
                    print(f"round {r + 1}/{rounds} {name}: {samples[name][-1]}", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(other)], cwd=REPO,
                           capture_output=True)  # fmt: skip
    keys = list(samples["this"][0])
    rows = []
    for key in keys:
        a = statistics.median(s[key] for s in samples["this"])
        b = statistics.median(s[key] for s in samples["other"])
        rows.append(f"| {key} | {a:,.0f} | {b:,.0f} | {a / b:.3f} |")
    label = f"{head}{' + uncommitted envs/ changes' if dirty else ''}"
    command = f"python -m experiments.benchmarks.against {args.revision}"
    command += " --quick" if args.quick else ""
    text = "\n".join(
        [
            "# Env speed against another revision (one interleaved run)",
            "",
            f"This checkout `{label}` against `{sha}`: median of {rounds} rounds, A/B "
            f"alternating, one numba thread, vector env at {n} plants, zero adjust actions.",
            "",
            f"Command: `{command}`",
            "",
            "| measure | this | other | ratio this/other |",
            "| --- | --- | --- | --- |",
            *rows,
            "",
        ]
    )
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)


if __name__ == "__main__":
    main()
