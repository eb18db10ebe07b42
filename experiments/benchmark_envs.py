"""Throughput of the BOF environments on one core, with a profile of the vector step.

    python -m experiments.benchmark_envs            # full run, about 2 min
    python -m experiments.benchmark_envs --quick    # smoke run, < 30 s

Measures single-env steps/s (raw and through ``gym.make``) against Gymnasium's ``Pendulum-v1``,
native vector-env env-steps/s at N = 1, 64, 1024, 4096, where the time of one vector step at
N = 4096 goes (bare physics kernel, random draws, the rest of ``core.step_batch``, Python shell),
and the first-import cost (numba compile) with an empty and a warm ``NUMBA_CACHE_DIR``. Every
number is the best of a few repeats after a warm-up (the machine is shared). Writes a markdown
table to ``results/benchmarks/envs.md`` and the raw numbers to ``envs.json`` next to it.
"""

from __future__ import annotations

import os

os.environ["NUMBA_NUM_THREADS"] = "1"  # one core: set before numba is imported
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse
import datetime
import json
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import gymnasium as gym
import numba
import numpy as np

import envs  # noqa: F401  (registers plantrl/BOF-v0)
from envs.steel import core
from envs.steel.bof_env import BOFEnv

ROOT = Path(__file__).resolve().parents[1]
ENV_ID = "plantrl/BOF-v0"
VECTOR_SIZES = (1, 64, 1024, 4096)
PROFILE_N = 4096
IMPORT_SNIPPET = (
    "import envs, gymnasium as gym; e = gym.make('plantrl/BOF-v0'); "
    "e.reset(seed=0); e.step(e.action_space.sample())"
)
# key -> (target as shown, threshold, aim or None, higher is better)
TARGETS = {
    "single_raw": ("≥ 30k (aim 50k)", 30e3, 50e3, True),
    "vector_4096": ("≥ 2M (aim 10M)", 2e6, 10e6, True),
    "overhead": ("≤ 25 %", 0.25, None, False),
    "import_cold": ("< 20 s", 20.0, None, False),
}


def best_time(block, repeats: int) -> float:
    """Best wall time (s) of ``block()`` over ``repeats`` runs."""
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        block()
        best = min(best, time.perf_counter() - t0)
    return best


def single_env_rate(env: gym.Env, steps: int, repeats: int) -> float:
    """Steps/s of one env with a fixed zero action, resetting when an episode ends."""
    action = np.zeros(env.action_space.shape, dtype=env.action_space.dtype)
    env.reset(seed=0)

    def block() -> None:
        for _ in range(steps):
            _, _, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                env.reset()

    block()  # warm-up: compile, caches, a few episode ends
    return steps / best_time(block, repeats)


def vector_rate(
    n: int, steps: int, warmup: int, repeats: int
) -> tuple[float, gym.vector.VectorEnv]:
    """Env-steps/s of the native vector env (zero actions, autoreset on) and the env itself."""
    venv = gym.make_vec(ENV_ID, num_envs=n, vectorization_mode="vector_entry_point")
    venv.reset(seed=0)
    actions = np.zeros(venv.action_space.shape, dtype=np.float32)
    for _ in range(warmup):  # past the first heat ends, so autoresets are in steady state
        venv.step(actions)

    def block() -> None:
        for _ in range(steps):
            venv.step(actions)

    return n * steps / best_time(block, repeats), venv


def capture_kernel_call(venv: gym.vector.VectorEnv) -> tuple[tuple, int]:
    """Copies of the arguments of one real ``core.step_batch`` call and the position of ``state``.

    Replaying the captured call keeps the profile independent of the kernel's signature.
    """
    batch, real, seen = venv.unwrapped.batch, core.step_batch, {}

    def spy(*args):
        seen["args"] = tuple(a.copy() if isinstance(a, np.ndarray) else a for a in args)
        seen["state"] = next(i for i, a in enumerate(args) if a is batch.state)
        return real(*args)

    core.step_batch = spy  # batch.py looks the kernel up as core.step_batch at call time
    try:
        venv.step(np.zeros(venv.action_space.shape, dtype=np.float32))
    finally:
        core.step_batch = real
    if "args" not in seen:
        raise RuntimeError("the vector step did not call core.step_batch; update the benchmark")
    return seen["args"], seen["state"]


def replay(kernel, snapshot: tuple, steps: int, repeats: int) -> float:
    """Best time (s) per call of ``kernel`` stepped ``steps`` times from copies of ``snapshot``."""
    work = [a.copy() if isinstance(a, np.ndarray) else a for a in snapshot]
    best = float("inf")
    for _ in range(repeats):
        for w, s in zip(work, snapshot, strict=True):
            if isinstance(w, np.ndarray):
                np.copyto(w, s)
        t0 = time.perf_counter()
        for _ in range(steps):
            kernel(*work)
        best = min(best, (time.perf_counter() - t0) / steps)
    return best


def profile_vector_step(
    venv: gym.vector.VectorEnv, vec_rate: float, steps: int, repeats: int
) -> dict[str, float]:
    """Split one vector step (ns per env-step) into physics, draws, rest of kernel and shell."""
    n, batch = venv.num_envs, venv.unwrapped.batch
    args, ix_state = capture_kernel_call(venv)
    params, state = batch.params.copy(), args[ix_state]
    setpoints = np.empty((n, core.N_ACT))
    for i in range(n):  # standard-practice set-points of every plant, computed once
        core.practice_setpoints(params[i], state[i], setpoints[i])
    physics = replay(core.physics_batch, (params, state, setpoints, batch.dt_s), steps, repeats)
    kernel = replay(core.step_batch, args, steps, repeats)
    rng, shape = np.random.default_rng(0), (n, batch.sensors.n_noise)
    draws = best_time(lambda: [rng.standard_normal(shape) for _ in range(steps)], repeats) / steps
    total = n / vec_rate
    ns = 1e9 / n
    return {
        "physics": physics * ns,
        "draws": draws * ns,
        "kernel_rest": (kernel - physics) * ns,
        "shell": (total - kernel - draws) * ns,
        "total": total * ns,
        "overhead": (total - physics) / physics,
    }


def import_seconds(cache_dir: str) -> tuple[float, str]:
    """Wall time of the import snippet in a fresh interpreter with ``cache_dir`` as numba cache."""
    env = {**os.environ, "NUMBA_CACHE_DIR": cache_dir, "NUMBA_NUM_THREADS": "1"}
    t0 = time.perf_counter()
    cmd = [sys.executable, "-c", IMPORT_SNIPPET]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t0
    error = "" if proc.returncode == 0 else (proc.stderr.strip().splitlines() or ["?"])[-1]
    return seconds, error


def import_times(repeats: int) -> dict[str, float | str]:
    """Best cold (empty numba cache) and warm (that cache filled) first-import times."""
    cold, warm, error = float("inf"), float("inf"), ""
    for _ in range(repeats):
        with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
            seconds, err = import_seconds(cache)
            cold, error = min(cold, seconds), error or err
            for _ in range(repeats):
                warm = min(warm, import_seconds(cache)[0])
    return {"cold": cold, "warm": warm, "error": error}


def _git(*args: str) -> str:
    cmd = ["git", "-C", str(ROOT), *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()


def machine_info() -> dict[str, str]:
    """Date, git SHA (``-dirty``: uncommitted changes to tracked files), CPU and versions."""
    cpu = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    sha = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "git": sha + ("-dirty" if dirty else ""),
        "cpu": cpu,
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "gymnasium": gym.__version__,
    }


def row(label: str, value: str, key: str | None = None, x: float = 0.0) -> str:
    """One table row; with ``key`` the target of ``TARGETS[key]`` is checked on ``x``."""
    if key is None:
        return f"| {label} | {value} | — | — |"
    text, threshold, aim, higher = TARGETS[key]
    ok = x >= threshold if higher else x <= threshold
    status = ("PASS" if ok else "FAIL") + (" (below aim)" if ok and aim and x < aim else "")
    return f"| {label} | {value} | {text} | {status} |"


def render(info: dict, r: dict) -> str:
    """The markdown report: a header with the machine and one table of every measurement."""
    p, imp, raw = r["profile"], r["import"], r["single_raw"]
    rows = [
        row("Single env, raw `BOFEnv`", f"{raw:,.0f} steps/s", "single_raw", raw),
        row("Single env, `gym.make` (wrappers)", f"{r['single_make']:,.0f} steps/s"),
        row("`Pendulum-v1` raw, same run (reference)", f"{r['pendulum']:,.0f} steps/s"),
        row("Ratio BOF raw / Pendulum raw", f"{raw / r['pendulum']:.2f}"),
    ]
    for n in VECTOR_SIZES:
        key, x = f"vector_{n}", r[f"vector_{n}"]
        target = key if key in TARGETS else None
        rows.append(row(f"Vector env, N = {n}", f"{x:,.0f} env-steps/s", target, x))
    for key, label in (
        ("physics", "(a) bare physics kernel `core.physics_batch`"),
        ("draws", "(b) random draws `rng.standard_normal((N, n_noise))`"),
        ("kernel_rest", "(c) `core.step_batch` minus physics (actuators, sensors, obs, reward)"),
        ("shell", "(d) Python shell: vector step minus (a)–(c), incl. autoreset"),
        ("total", "vector step, total"),
    ):
        rows.append(row(f"N = {PROFILE_N}: {label}", f"{p[key]:.0f} ns/env-step"))
    ratio = p["overhead"]
    rows.append(
        row(f"N = {PROFILE_N}: overhead (b+c+d)/(a)", f"{100 * ratio:.0f} %", "overhead", ratio)
    )
    cold = f"{imp['cold']:.1f} s" + (f" (failed: {imp['error']})" if imp["error"] else "")
    cold_x = float("inf") if imp["error"] else imp["cold"]  # a failed import fails the target
    rows.append(row("First import, empty numba cache (compile)", cold, "import_cold", cold_x))
    rows.append(row("First import, warm cache", f"{imp['warm']:.1f} s"))
    head = (
        f"# Environment benchmarks\n\n{info['date']}, git `{info['git']}`, {info['cpu']} "
        f"(one core, `NUMBA_NUM_THREADS=1`, load avg {info['load']}), Python "
        f"{info['python']}, numpy {info['numpy']}, numba {info['numba']}, gymnasium "
        f"{info['gymnasium']}. Best of {r['repeats']} repeats after warm-up"
        f"{' (--quick: small budgets)' if r['quick'] else ''}. Command: "
        "`python -m experiments.benchmark_envs`.\n\n"
    )
    table = ["| measurement | value | target | status |", "|---|---|---|---|", *rows]
    return head + "\n".join(table) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets (smoke run, < 30 s)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "envs.md")
    args = parser.parse_args()
    q = args.quick
    repeats, single_steps = (2, 2000) if q else (5, 20000)
    vec_steps = dict.fromkeys(VECTOR_SIZES, 20) if q else {1: 20000, 64: 2000, 1024: 200, 4096: 120}
    info = machine_info()
    r: dict = {"quick": q, "repeats": repeats}
    r["single_raw"] = single_env_rate(BOFEnv(), single_steps, repeats)
    r["single_make"] = single_env_rate(gym.make(ENV_ID), single_steps, repeats)
    r["pendulum"] = single_env_rate(gym.make("Pendulum-v1").unwrapped, single_steps, repeats)
    venv = None
    for n in VECTOR_SIZES:
        r[f"vector_{n}"], venv = vector_rate(n, vec_steps[n], 20 if q else 150, repeats)
    r["profile"] = profile_vector_step(venv, r[f"vector_{PROFILE_N}"], 5 if q else 20, repeats)
    r["import"] = import_times(1 if q else 2)
    text = render(info, r)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps({"machine": info, **r}, indent=2) + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.json').name}")


if __name__ == "__main__":
    main()
