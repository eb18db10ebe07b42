"""Training benchmarks: PPO throughput, MLflow logging overhead, time-to-competence.

    python -m experiments.benchmarks.training            # full run, about 4 min on 2 cores
    python -m experiments.benchmarks.training --quick    # smoke run, about 1 min

Three measurements, in one process with one torch thread (the train job's ``torch_threads``):

1. Throughput: SB3 PPO on the BOF (native vector env through ``make_sb3_vec_env`` +
   ``VecNormalize``, as ``experiments.train`` builds it) against PPO on Gymnasium's
   ``Pendulum-v1`` (SB3 ``make_vec_env`` + ``DummyVecEnv``), both with the train job's PPO config
   (16 envs, n_steps 256, batch 512, 10 epochs, [64, 64] Tanh) and the same step budget per
   block. Blocks of the two run in turn (order alternating), best of several repeats. Also a
   profile of one vector step of 16 plants: native env, SB3 adapter, ``VecNormalize``, and the
   policy forward of a rollout step.
2. MLflow overhead: the same BOF training with SB3's logger writing to the train job's own
   writer, ``experiments.lib.tracking.MLflowOutputFormat`` (wrapped only to time it; active
   run, SQLite store in a temporary directory) against a logger without outputs; interleaved,
   best of several repeats, plus the time spent inside the writer itself.
3. Time-to-competence: the train job's PPO (``conf/train.yaml`` defaults: BOF nominal 250 t
   plant, PPO + ``conf/hparams/bof_ppo.yaml``, 16 envs, seed 0) evaluated every 16,384 steps on
   16 fixed seeded episodes (``scenario="nominal"``) until it beats the operator practice on the
   same episodes, run on to a cap (400k steps or 8 min) for the learning curve.

Writes ``results/benchmarks/training.md`` and the raw numbers to ``training.json`` next to it.
Nothing MLflow-related is written into the repository.
"""

from __future__ import annotations

import os

from experiments.lib.machine_info import machine_info as shared_machine_info

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one core for the plant kernel (before numba)
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import mlflow
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv

import envs
from agents.baselines.operator import OperatorPolicy
from agents.builder import build_agent, make_train_env
from agents.evaluation import EpisodeResults, evaluate, n_actions
from agents.policy import SB3Policy
from agents.vecenv import make_sb3_vec_env
from experiments.lib.tracking import MLflowOutputFormat, setup_tracking

ROOT = Path(__file__).resolve().parents[2]

EVAL_SEEDS = range(100_000, 100_016)
EVAL_EVERY = 16_384  # env-steps between evaluations (4 PPO rollouts of 16 x 256)
# key -> (target as shown, threshold, higher is better)
TARGETS = {
    "ratio": ("≥ 0.9", 0.9, True),
    "mlflow": ("≤ 3 %", 0.03, False),
    "competence": ("≤ 5 min", 300.0, False),
}


# --- set-up ------------------------------------------------------------------------------------
def train_config() -> dict[str, Any]:
    """The train job's resolved default config (``conf/train.yaml``, no overrides)."""
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        cfg = compose(config_name="train")
    return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]


def env_kwargs(c: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in c["env"]["kwargs"].items() if v is not None}


def bof_train_env(c: dict[str, Any], seed: int) -> VecEnv:
    """The train job's training env: native vector env, SB3 adapter, ``VecNormalize``."""
    return make_train_env(
        c["env"]["id"],
        c["train"]["n_envs"],
        seed,
        c["plant"],
        env_kwargs(c),
        c["train"]["normalize_obs"],
        c["train"]["normalize_reward"],
        float(c["agent"]["algo"].get("gamma", 0.99)),
    )


def pendulum_env(c: dict[str, Any], seed: int) -> VecEnv:
    """``Pendulum-v1`` the SB3 way: ``make_vec_env`` (Monitor per env) in a ``DummyVecEnv``."""
    return make_vec_env(
        "Pendulum-v1", n_envs=c["train"]["n_envs"], seed=seed, vec_env_cls=DummyVecEnv
    )


def quiet_logger(model: BaseAlgorithm, outputs: list | None = None) -> BaseAlgorithm:
    """Give ``model`` a logger with the given output formats (none by default)."""
    model.set_logger(Logger(folder=None, output_formats=list(outputs or [])))
    return model


class PhaseTimer:
    """Wraps a model's ``collect_rollouts`` and ``train`` to accumulate the time of each."""

    def __init__(self, model: BaseAlgorithm) -> None:
        self.seconds = {"rollout": 0.0, "update": 0.0}
        for name, attr in (("rollout", "collect_rollouts"), ("update", "train")):
            setattr(model, attr, self._timed(name, getattr(model, attr)))

    def _timed(self, name: str, fn: Callable) -> Callable:
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[name] += time.perf_counter() - t0

        return wrapper

    def reset(self) -> None:
        self.seconds = dict.fromkeys(self.seconds, 0.0)


def learn_block(model: BaseAlgorithm, steps: int) -> float:
    """Wall time (s) of ``steps`` more env-steps of learning (continuing, no env reset)."""
    t0 = time.perf_counter()
    model.learn(steps, reset_num_timesteps=False)
    return time.perf_counter() - t0


def interleaved(blocks: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Every block once per round, order reversed every other round (same load for all)."""
    times: dict[str, list[float]] = {k: [] for k in blocks}
    keys = list(blocks)
    for r in range(rounds):
        for key in keys if r % 2 == 0 else keys[::-1]:
            times[key].append(blocks[key]())
    return times


# --- 1. throughput -----------------------------------------------------------------------------
def throughput(c: dict[str, Any], steps: int, rounds: int) -> dict[str, Any]:
    """Env-steps/s of PPO learning on the BOF and on Pendulum, with the phase split."""
    models = {
        "bof": quiet_logger(build_agent(c["agent"], bof_train_env(c, 0), 0)),
        "pendulum": quiet_logger(build_agent(c["agent"], pendulum_env(c, 0), 0)),
    }
    timers = {k: PhaseTimer(m) for k, m in models.items()}
    for m in models.values():  # warm-up: numba, torch, first reset
        m.learn(steps)
    phases: dict[str, dict[str, list[float]]] = {k: {"rollout": [], "update": []} for k in models}

    def block(key: str) -> Callable[[], float]:
        def run() -> float:
            timers[key].reset()
            dt = learn_block(models[key], steps)
            for phase, s in timers[key].seconds.items():
                phases[key][phase].append(s)
            return dt

        return run

    times = interleaved({k: block(k) for k in models}, rounds)
    out: dict[str, Any] = {"steps": steps, "rounds": rounds, "times": times, "phases": phases}
    for key in models:
        out[key] = {
            "best_sps": steps / min(times[key]),
            "median_sps": steps / statistics.median(times[key]),
            "rollout_sps": steps / min(phases[key]["rollout"]),
            "update_s_per_rollout": min(phases[key]["update"]) / (steps // rollout_size(c)),
            "update_share": sum(phases[key]["update"]) / sum(times[key]),
        }
    out["ratio"] = out["bof"]["best_sps"] / out["pendulum"]["best_sps"]
    out["ratio_median"] = out["bof"]["median_sps"] / out["pendulum"]["median_sps"]
    out["profile"] = step_profile(c, models["bof"], 200 if steps < 8192 else 1000, rounds + 2)
    return out


def rollout_size(c: dict[str, Any]) -> int:
    return int(c["agent"]["algo"]["n_steps"]) * int(c["train"]["n_envs"])


def step_profile(
    c: dict[str, Any], model: BaseAlgorithm, steps: int, rounds: int
) -> dict[str, float]:
    """µs per vector step of 16 plants: each layer of the BOF training env, Pendulum, policy.

    Random actions in [-1, 1], the same for all; the layers are separate envs (no shared state).
    """
    n = int(c["train"]["n_envs"])
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1.0, 1.0, (steps, n, 5)).astype(np.float32)
    pend_actions = 2.0 * actions[:, :, :1]
    adapter = make_sb3_vec_env(c["env"]["id"], n, 1, c["plant"], **env_kwargs(c))
    native = make_sb3_vec_env(c["env"]["id"], n, None, c["plant"], **env_kwargs(c)).venv
    normalised = bof_train_env(c, 2)
    pend = pendulum_env(c, 1)
    for e in (adapter, normalised, pend):
        e.reset()
    native.reset(seed=3)
    first_obs = normalised.reset()
    assert isinstance(first_obs, np.ndarray)  # Box observations
    obs = obs_as_tensor(first_obs, model.device)

    def stepper(step: Callable, acts: np.ndarray) -> Callable[[], float]:
        def run() -> float:
            t0 = time.perf_counter()
            for a in acts:
                step(a)
            return time.perf_counter() - t0

        return run

    def forward() -> float:  # what collect_rollouts does per step, minus the env
        t0 = time.perf_counter()
        with torch.no_grad():
            for _ in range(steps):
                act, _, _ = model.policy(obs)
                np.clip(act.cpu().numpy(), -1.0, 1.0)
        return time.perf_counter() - t0

    blocks = {
        "native": stepper(native.step, actions),
        "adapter": stepper(adapter.step, actions),
        "vecnormalize": stepper(normalised.step, actions),
        "pendulum": stepper(pend.step, pend_actions),
        "policy_forward": forward,
    }
    for b in blocks.values():
        b()  # warm-up
    best = {k: min(v) / steps * 1e6 for k, v in interleaved(blocks, rounds).items()}
    for env in (native, adapter, normalised, pend):  # a gymnasium VectorEnv and SB3 VecEnvs
        env.close()
    return best


# --- 2. MLflow overhead ------------------------------------------------------------------------
class TimedMLflowOutput(MLflowOutputFormat):
    """The train job's writer (``MLflowOutputFormat``, buffered ``log_batch`` every
    ``flush_every`` dumps) that also counts its calls and values and the seconds spent inside
    it: every ``write`` (including the flushes it triggers) and the final ``close``."""

    def __init__(self) -> None:
        super().__init__()
        self.calls, self.values, self.seconds = 0, 0, 0.0

    def write(
        self, key_values: dict[str, Any], key_excluded: dict[str, Any], step: int = 0
    ) -> None:
        t0 = time.perf_counter()
        super().write(key_values, key_excluded, step)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.values += len(key_values)

    def close(self) -> None:
        t0 = time.perf_counter()
        super().close()
        self.seconds += time.perf_counter() - t0


def mlflow_overhead(c: dict[str, Any], steps: int, rounds: int) -> dict[str, Any]:
    """BOF PPO learning: logger without outputs vs the train job's MLflow writer."""
    with tempfile.TemporaryDirectory(prefix="plantrl-bench-mlflow-") as tmp:
        experiment_id = setup_tracking(
            {
                "uri": f"sqlite:///{tmp}/mlflow.db",
                "experiment": "benchmark_training",
                "artifact_location": f"{tmp}/artifacts",
            }
        )
        with mlflow.start_run(experiment_id=experiment_id, run_name="overhead") as run:
            writer = TimedMLflowOutput()
            models = {
                "none": quiet_logger(build_agent(c["agent"], bof_train_env(c, 0), 0)),
                "mlflow": quiet_logger(build_agent(c["agent"], bof_train_env(c, 0), 0), [writer]),
            }
            for m in models.values():  # warm-up, including the first writes to the store
                m.learn(steps)
            writer.flush()
            writer.calls, writer.values, writer.seconds = 0, 0, 0.0
            times = interleaved({k: _learner(m, steps) for k, m in models.items()}, rounds)
            writer.close()  # the last buffered dumps, counted as time inside the writer
            history = MlflowClient().get_metric_history(run.info.run_id, "time/total_timesteps")
    best = {k: min(v) for k, v in times.items()}
    median = {k: statistics.median(v) for k, v in times.items()}
    return {
        "steps": steps,
        "rounds": rounds,
        "times": times,
        "flush_every": writer.flush_every,
        "writes_per_block": writer.calls / rounds,
        "values_per_write": writer.values / max(writer.calls, 1),
        "ms_per_write": 1e3 * writer.seconds / max(writer.calls, 1),
        "writer_share": writer.seconds / sum(times["mlflow"]),
        "wall_overhead": best["mlflow"] / best["none"] - 1.0,
        "wall_overhead_median": median["mlflow"] / median["none"] - 1.0,
        "noise_none": median["none"] / best["none"] - 1.0,
        "logged_dumps": len(history),
    }


def _learner(model: BaseAlgorithm, steps: int) -> Callable[[], float]:
    return lambda: learn_block(model, steps)


# --- 3. time-to-competence ---------------------------------------------------------------------
def paired(a: EpisodeResults, b: EpisodeResults) -> tuple[float, float]:
    """Mean and standard error of the per-episode return difference a - b (same seeds)."""
    d = np.asarray(a.returns) - np.asarray(b.returns)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def time_to_competence(c: dict[str, Any], cap_steps: int, cap_s: float) -> dict[str, Any]:
    """Train the default PPO, evaluating every ``EVAL_EVERY`` steps against the operator."""
    seed, kwargs = int(c["seed"]), {**env_kwargs(c), "scenario": "nominal"}

    def make_eval_env() -> gym.Env:
        return envs.make(c["env"]["id"], plant=c["plant"], **kwargs)

    operator = evaluate(OperatorPolicy(n_actions(make_eval_env)), make_eval_env, EVAL_SEEDS)
    op_return = float(operator.returns.mean())
    t_start = time.perf_counter()
    env = bof_train_env(c, seed)
    model = quiet_logger(build_agent(c["agent"], env, seed))
    train_s, rows, first, clearly = 0.0, [], None, None

    def record(policy_eval: EpisodeResults, eval_s: float) -> dict[str, Any]:
        diff, se = paired(policy_eval, operator)
        row = {
            "steps": int(model.num_timesteps),
            "train_s": train_s,
            "wall_s": time.perf_counter() - t_start,
            "return": float(policy_eval.returns.mean()),
            "vs_operator": diff,
            "vs_operator_se": se,
            "beats": bool(policy_eval.returns.mean() > op_return),
            "clearly": bool(diff > 2.0 * se),  # paired difference above two standard errors
            "eval_s": eval_s,
        }
        rows.append(row)
        print(
            f"  {row['steps']:>7,} steps  train {train_s:6.1f} s  return {row['return']:8.3f}  "
            f"vs operator {diff:+.3f} ± {se:.3f}",
            flush=True,
        )
        return row

    def run_eval() -> dict[str, Any]:
        t0 = time.perf_counter()
        res = evaluate(SB3Policy(model, env), make_eval_env, EVAL_SEEDS)
        return record(res, time.perf_counter() - t0)

    run_eval()  # untrained reference: near-zero adjustments, i.e. close to the operator
    while model.num_timesteps < cap_steps and time.perf_counter() - t_start < cap_s:
        train_s += learn_block(model, EVAL_EVERY)
        row = run_eval()
        if first is None and row["beats"]:
            first = row
        if clearly is None and row["clearly"]:
            clearly = row
    env.close()
    return {
        "operator_return": op_return,
        "operator_std": float(operator.returns.std()),
        "rows": rows,
        "first_beat": first,
        "first_clearly": clearly,
        "beats_count": sum(r["beats"] for r in rows[1:]),
        "clearly_count": sum(r["clearly"] for r in rows[1:]),
        "evals": len(rows) - 1,
        "cap_steps": cap_steps,
        "cap_s": cap_s,
        "total_wall_s": time.perf_counter() - t_start,
    }


# --- report ------------------------------------------------------------------------------------
def machine_info() -> dict[str, str]:
    """Date, git SHA, CPU, load and the versions this benchmark depends on."""
    info = shared_machine_info(
        ("torch", "stable_baselines3", "gymnasium", "numpy", "numba", "mlflow")
    )
    info["load_start"] = info.pop("load")
    return info


def status(key: str, x: float | None) -> tuple[str, str]:
    """Target text and PASS/FAIL for ``TARGETS[key]`` (FAIL when ``x`` is None)."""
    text, threshold, higher = TARGETS[key]
    ok = x is not None and (x >= threshold if higher else x <= threshold)
    return text, "PASS" if ok else "FAIL"


def summary_table(r: dict[str, Any]) -> list[str]:
    """The headline rows, with targets checked."""
    tp, ml, tc = r["throughput"], r["mlflow"], r["competence"]
    first, clearly = tc["first_beat"], tc["first_clearly"]

    def when(row: dict[str, Any] | None) -> str:
        if row is None:
            last = tc["rows"][-1]
            return f"not within the cap ({last['steps']:,} steps, {last['train_s']:.0f} s training)"
        return (
            f"{row['train_s']:.1f} s training ({row['wall_s']:.1f} s wall incl. evaluations), "
            f"{row['steps']:,} steps"
        )

    rows: list[tuple] = [
        (
            "PPO on BOF (adapter + VecNormalize), learning",
            f"{tp['bof']['best_sps']:,.0f} env-steps/s",
        ),
        (
            "PPO on `Pendulum-v1` (DummyVecEnv), learning",
            f"{tp['pendulum']['best_sps']:,.0f} env-steps/s",
        ),
        (
            "Ratio BOF / Pendulum, best (median)",
            f"{tp['ratio']:.2f} ({tp['ratio_median']:.2f})",
            "ratio",
            tp["ratio"],
        ),
        (
            f"MLflow writer (`MLflowOutputFormat`, SQLite, one `log_batch` per "
            f"{ml['flush_every']} dumps): time inside it / training wall time",
            f"{100 * ml['writer_share']:.2f} %",
            "mlflow",
            ml["writer_share"],
        ),
        (
            "MLflow: difference of wall times vs no output, best (median)",
            f"{100 * ml['wall_overhead']:+.1f} % ({100 * ml['wall_overhead_median']:+.1f} %)",
        ),
        (
            "Time-to-competence: PPO mean return first above the operator's (16 nominal seeds)",
            when(first),
            "competence",
            first["train_s"] if first else None,
        ),
        ("… first above by more than 2 standard errors (paired)", when(clearly)),
    ]
    table = ["| measurement | value | target | status |", "|---|---|---|---|"]
    for label, value, *target in rows:
        text, ok = status(*target) if target else ("—", "—")
        table.append(f"| {label} | {value} | {text} | {ok} |")
    return table


def time_split_tables(r: dict[str, Any]) -> list[str]:
    """Rollout collection vs gradient update, and one vector step layer by layer."""
    tp, n_envs = r["throughput"], int(r["config"]["train"]["n_envs"])
    prof = tp["profile"]
    table = [
        "| PPO on | learning env-steps/s, best / median | rollout collection env-steps/s "
        "| gradient update per rollout | update share of learning |",
        "|---|---|---|---|---|",
    ]
    for key, label in (("bof", "BOF"), ("pendulum", "Pendulum-v1")):
        x = tp[key]
        table.append(
            f"| {label} | {x['best_sps']:,.0f} / {x['median_sps']:,.0f} | "
            f"{x['rollout_sps']:,.0f} | {x['update_s_per_rollout']:.3f} s | "
            f"{100 * x['update_share']:.0f} % |"
        )

    def share(us: float, key: str) -> str:  # vector steps per block x cost / block time
        block_s = tp["steps"] / tp[key]["best_sps"]
        return f"{100 * us * 1e-6 * (tp['steps'] / n_envs) / block_s:.1f} %"

    layers = [
        ("BOF: native vector env `step`", prof["native"], "bof"),
        ("BOF: + SB3 adapter (`NativeVecEnvAdapter`)", prof["adapter"], "bof"),
        ("BOF: + `VecNormalize` (the train job's training env)", prof["vecnormalize"], "bof"),
        ("BOF: adapter alone (difference)", prof["adapter"] - prof["native"], "bof"),
        ("BOF: `VecNormalize` alone (difference)", prof["vecnormalize"] - prof["adapter"], "bof"),
        ("`Pendulum-v1`: 16 × (TimeLimit, Monitor) in `DummyVecEnv`", prof["pendulum"], "pendulum"),
        ("policy forward of a rollout step (`policy(obs)`, 16 obs)", prof["policy_forward"], "bof"),
    ]
    return [
        *table,
        "",
        f"| one vector step of {n_envs} envs | µs | share of that env's learning time |",
        "|---|---|---|",
        *(f"| {label} | {us:.1f} | {share(us, key)} |" for label, us, key in layers),
    ]


def curve_table(tc: dict[str, Any]) -> list[str]:
    """Policy return at every evaluation, against the operator on the same seeds."""
    table = [
        "| env-steps | training s | wall s | policy return | vs operator (paired ± s.e.) "
        "| above operator |",
        "|---|---|---|---|---|---|",
    ]
    for row in tc["rows"]:
        mark = "yes" if row["beats"] else "no"
        if row["clearly"]:
            mark += ", > 2 s.e."
        if row is tc["first_beat"]:
            mark = f"**{mark} (first)**"
        if row["steps"] == 0:
            mark += " (untrained, not counted)"
        table.append(
            f"| {row['steps']:,} | {row['train_s']:.1f} | {row['wall_s']:.1f} | "
            f"{row['return']:.3f} | {row['vs_operator']:+.3f} ± {row['vs_operator_se']:.3f} | "
            f"{mark} |"
        )
    return table


def render(info: dict[str, Any], r: dict[str, Any]) -> str:
    """The markdown report: header, summary table with targets, then the details."""
    c, tp, ml, tc = r["config"], r["throughput"], r["mlflow"], r["competence"]
    algo = c["agent"]["algo"]
    cmd = "python -m experiments.benchmarks.training" + (" --quick" if r["quick"] else "")
    head = [
        "# Training benchmarks",
        "",
        f"- {info['date']}, git `{info['git']}`, {info['cpu']}; load average at start "
        f"{info['load_start']}, at end {info['load_end']} (shared machine)",
        f"- Python {info['python']}, torch {info['torch']} (1 thread), stable-baselines3 "
        f"{info['stable_baselines3']}, gymnasium {info['gymnasium']}, numpy {info['numpy']}, "
        f"numba {info['numba']}, mlflow {info['mlflow']}",
        f"- `{cmd}` (total {r['total_s']:.0f} s). PPO as the train job builds it "
        f"(`conf/train.yaml` defaults, PPO + `conf/hparams/bof_ppo.yaml`): "
        f"{c['train']['n_envs']} envs, n_steps {algo['n_steps']}, batch {algo['batch_size']}, "
        f"{algo['n_epochs']} epochs, net {algo['policy_kwargs']['net_arch']} Tanh, gamma "
        f"{algo['gamma']}, seed {c['seed']}; plant {c['plant']['description']!r}. Pendulum gets "
        "the same PPO settings.",
        f"- Throughput and MLflow: blocks of {tp['steps']:,} env-steps "
        f"({tp['steps'] // rollout_size(c)} rollouts) continuing the same model; the compared "
        "configurations run in turn in every round (order alternating), best of "
        f"{tp['rounds']} (throughput) / {ml['rounds']} (MLflow) rounds after a warm-up block. "
        "SB3 logger without outputs unless stated.",
        "",
    ]
    notes_ml = (
        f"MLflow: {ml['writes_per_block']:.0f} writes per block (SB3 dumps once per rollout), "
        f"{ml['values_per_write']:.0f} values each, {ml['ms_per_write']:.1f} ms per write on "
        f"average (buffered: one `log_batch` every {ml['flush_every']} writes; SQLite store in a "
        f"temporary directory; dumps found in the run: {ml['logged_dumps']}). The target is "
        "judged on the time measured inside the writer, the only difference between the two "
        "configurations. The difference of wall times is shown for comparison; its noise on "
        "this shared machine shows in the spread of the no-output blocks (median vs best: "
        f"{100 * ml['noise_none']:+.1f} %)."
    )
    first = tc["first_beat"]
    first_txt = (
        f"first above the operator's mean at {first['steps']:,} env-steps after "
        f"{first['train_s']:.1f} s of training ({first['wall_s']:.1f} s wall including model "
        "build and evaluations)"
        if first
        else "never above the operator within the cap"
    )
    if first is not None and first is tc["rows"][1]:
        first_txt += " — already at the first evaluation, so this is an upper bound"

    notes_tc = (
        f"Operator practice returns {tc['operator_return']:.3f} (std {tc['operator_std']:.3f} "
        f"over episodes) on seeds {EVAL_SEEDS.start}–{EVAL_SEEDS.stop - 1}, scenario nominal; "
        f"PPO {first_txt}; above the operator in {tc['beats_count']} of {tc['evals']} "
        f"evaluations, by more than 2 paired standard errors in {tc['clearly_count']}, up to "
        f"the cap ({tc['cap_steps']:,} steps or {tc['cap_s'] / 60:.0f} min). Evaluation is "
        "deterministic (mean action, observation statistics frozen) and is not counted in "
        "'training s'; step 0 is the untrained policy (near-zero adjustments, so close to the "
        "operator practice), shown for reference and not counted. 'vs operator' is the mean "
        "per-episode return difference on the same seeds (common random numbers)."
    )
    return "\n".join(
        [
            *head,
            *summary_table(r),
            "",
            "## Where the time goes (PPO learning)",
            "",
            *time_split_tables(r),
            "",
            notes_ml,
            "",
            "## Time-to-competence: learning curve",
            "",
            *curve_table(tc),
            "",
            notes_tc,
            "",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets (smoke run, ~1 min)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "training.md")
    args = parser.parse_args()
    q = args.quick
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    info = machine_info()
    c = train_config()
    block = 2 * rollout_size(c)  # 2 rollouts of 16 x 256
    r: dict[str, Any] = {"quick": q, "config": c}
    print("1/3 throughput: PPO on BOF vs Pendulum-v1", flush=True)
    r["throughput"] = throughput(c, block, 2 if q else 15)
    print("2/3 MLflow logger overhead", flush=True)
    r["mlflow"] = mlflow_overhead(c, block, 2 if q else 15)
    print("3/3 time-to-competence", flush=True)
    r["competence"] = time_to_competence(c, 2 * EVAL_EVERY if q else 400_000, 480.0)
    r["total_s"] = time.perf_counter() - t0
    info["load_end"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    text = render(info, r)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(
        json.dumps({"machine": info, **r}, indent=2, default=str) + "\n"
    )
    print(f"wrote {args.out} and {args.out.with_suffix('.json').name}")


if __name__ == "__main__":
    main()
