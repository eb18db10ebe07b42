"""Training benchmarks: PPO throughput, MLflow logging overhead, time-to-competence.

    python -m experiments.benchmarks.training            # full run, about 15 min on 2 cores
    python -m experiments.benchmarks.training --quick    # smoke run, about 1 min
    python -m experiments.benchmarks.training --ttc-overrides base=pid train.paired_reference=pid

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
3. Time-to-competence (issue 13: "the default main job beats the PID on the nominal BOF within
   10 minutes on 2 cores"): ``conf/train.yaml`` composed as the main job composes it (its
   defaults plus ``--ttc-overrides``), the training env, evaluation envs and agent built by the
   train job's own functions (``build_train_env``, ``eval_env_makers``, ``build_agent``), so
   the residual base, estimator features, paired rewards, ``n_envs`` … of the config apply.
   The policy is evaluated every ``--ttc-every`` env-steps (whole rollouts) on
   ``--ttc-episodes`` held-apart nominal seeds (400000…), paired with the PID
   (``baseline:pid`` built for the plant) and the operator practice, each evaluated once on the
   same seeds. Reported: the first time (training s, wall s, env-steps) the policy's mean is
   above the PID's, and above by more than 2 paired standard errors (the target), up to a cap
   (``--ttc-minutes`` wall incl. evaluations, default 10; ``--ttc-steps``), and the curve.

Writes ``results/benchmarks/training.md`` and the raw numbers to ``training.json`` next to it.
Nothing MLflow-related is written into the repository.
"""

from __future__ import annotations

import os

from experiments.lib.machine_info import machine_info as shared_machine_info

os.environ.setdefault("NUMBA_NUM_THREADS", "1")  # one core for the plant kernel (before numba)
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")

import argparse
import dataclasses
import json
import shlex
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gymnasium as gym
import mlflow
import numpy as np
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from mlflow.tracking import MlflowClient
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.env_util import make_vec_env
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.utils import obs_as_tensor
from stable_baselines3.common.vec_env import DummyVecEnv, VecEnv, VecNormalize

from agents.builder import action_names, build_agent
from agents.evaluation import EpisodeResults, evaluate
from agents.loading import load_baseline
from agents.residual import ResidualConfig
from agents.vecenv import make_sb3_vec_env
from experiments import train as train_job
from experiments.lib.config_checks import ConfigError, residual_settings, validate_train_config
from experiments.lib.tracking import MLflowOutputFormat, setup_tracking

ROOT = Path(__file__).resolve().parents[2]

# key -> (target as shown, threshold, higher is better)
TARGETS = {
    "ratio": ("≥ 0.9", 0.9, True),
    "mlflow": ("≤ 3 %", 0.03, False),
}


# --- set-up ------------------------------------------------------------------------------------
def env_kwargs(c: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in c["env"]["kwargs"].items() if v is not None}


def bof_train_env(c: dict[str, Any], seed: int) -> VecEnv:
    """The train job's training env (``experiments.train.build_train_env``): native vector env,
    SB3 adapter, ``VecNormalize``; the residual wrapper if the config has a base."""
    return train_job.build_train_env(c, residual_settings(c), seed)


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
# Held-apart nominal episodes: not the train job's evaluation (100000..), the reports'
# (200000..), the exploration study's (300000..), the tuning (500000.., 700000..) or the BOF
# audit's (600000..) seeds, so no selection step has seen them.
COMPETENCE_FIRST_SEED = 400_000
COMPETENCE_TARGET_S = 600.0  # issue 13: "beats the PID on the nominal BOF within 10 minutes"
COMPETENCE_REFERENCES = ("pid", "operator")  # first the one the target is judged against


PLAIN_PPO = (
    "base=none",
    "train.paired_reference=null",
    "train.n_envs=16",
    "agent.algo.n_steps=256",
    "agent.algo.batch_size=512",
)


def compose_train_config(overrides: Sequence[str] = ()) -> dict[str, Any]:
    """The train job's resolved config, composed as ``python -m experiments.train <overrides>``.

    Uses the job's own ``resolve_config`` (plant name included) and ``validate_train_config``.

    Raises:
        ConfigError: ``resume=…`` (the benchmark starts from scratch) or an invalid setting.
    """
    resumed = [o for o in overrides if o.split("=")[0].lstrip("+~") == "resume"]
    if resumed:
        raise ConfigError(
            f"{resumed}: time-to-competence trains from scratch; drop the resume override"
        )
    with initialize_config_dir(version_base="1.3", config_dir=str(ROOT / "conf")):
        cfg = compose(config_name="train", overrides=list(overrides), return_hydra_config=True)
    HydraConfig.instance().set_config(cfg)  # resolve_config reads the plant choice from it
    c = train_job.resolve_config(cfg)
    validate_train_config(c)
    return c


@dataclasses.dataclass
class CompetenceSetup:
    """What the train job builds for a config: training env, agent and evaluation envs.

    ``make_raw_env`` is the plain nominal env the references act on; ``make_eval_env`` the env
    the policy acts on (the residual wrapper around it with a base).
    """

    residual: ResidualConfig
    train_env: VecEnv
    model: BaseAlgorithm
    make_raw_env: Callable[[], gym.Env]
    make_eval_env: Callable[[], gym.Env]

    def policy(self, agent_cfg: dict[str, Any]) -> Any:
        """The model as the train job evaluates it (mean action, frozen normalisation)."""
        vecnorm = self.train_env if isinstance(self.train_env, VecNormalize) else None
        return train_job.make_policy(agent_cfg)(self.model, vecnorm)


def nominal(c: dict[str, Any]) -> dict[str, Any]:
    """``c`` with its evaluation episodes on the nominal scenario (the target's condition)."""
    return {**c, "eval": {**c["eval"], "scenario": "nominal"}}


def competence_setup(c: dict[str, Any]) -> CompetenceSetup:
    """Build with the train job's functions; evaluation always on the nominal scenario."""
    residual, seed = residual_settings(c), int(c["seed"])
    train_env = train_job.build_train_env(c, residual, seed)
    model = build_agent(c["agent"], train_env, seed, action_names(c["env"]["id"]))
    quiet_logger(model)
    make_raw_env, make_eval_env = train_job.eval_env_makers(nominal(c), residual)
    return CompetenceSetup(residual, train_env, model, make_raw_env, make_eval_env)


def reference_results(
    c: dict[str, Any], make_raw_env: Callable[[], gym.Env], seeds: Sequence[int]
) -> dict[str, EpisodeResults]:
    """PID and operator practice, built for the config's plant, once on ``seeds``."""
    act_shape = make_raw_env().action_space.shape
    assert act_shape is not None  # flat Box actions
    plant, kwargs = train_job.plant_of(c), c["env"]["kwargs"]
    return {
        ref: evaluate(
            load_baseline(ref, c["env"]["name"], act_shape[0], plant, kwargs), make_raw_env, seeds
        )
        for ref in COMPETENCE_REFERENCES
    }


def paired(a: EpisodeResults, b: EpisodeResults) -> tuple[float, float]:
    """Mean and standard error of the per-episode return difference a - b (same seeds)."""
    if a.seeds != b.seeds:
        raise ValueError("paired differences need the same episode seeds on both sides")
    d = np.asarray(a.returns) - np.asarray(b.returns)
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size))


def curve_row(policy: EpisodeResults, refs: dict[str, EpisodeResults]) -> dict[str, Any]:
    """One evaluation: the policy's mean return and its paired Δ against every reference."""
    row: dict[str, Any] = {"return": float(policy.returns.mean())}
    for ref, res in refs.items():
        diff, se = paired(policy, res)
        row[ref] = {
            "delta": diff,
            "se": se,
            "above": diff > 0.0,  # same seeds: mean above <=> mean paired difference above 0
            "clearly": diff > 2.0 * se,
        }
    return row


def first_row(rows: list[dict[str, Any]], ref: str, key: str) -> dict[str, Any] | None:
    """The first evaluation after step 0 where ``row[ref][key]`` holds (``None``: never)."""
    return next((r for r in rows if r["steps"] > 0 and r[ref][key]), None)


def competence_status(first: dict[str, Any] | None, last_train_s: float) -> str:
    """PASS / FAIL of the 10-min target, or ``not within the cap`` when the run stopped earlier."""
    if first is not None:
        return "PASS" if first["train_s"] <= COMPETENCE_TARGET_S else "FAIL"
    return "FAIL" if last_train_s >= COMPETENCE_TARGET_S else "not within the cap"


def time_to_competence(
    c: dict[str, Any], seeds: Sequence[int], every: int, cap_steps: int, cap_s: float
) -> dict[str, Any]:
    """Train as the train job does, evaluating every ``every`` env-steps against PID/operator.

    ``train_s`` is the wall time since the env and agent build began minus this benchmark's
    evaluations (what the main job itself would spend); ``wall_s`` includes the evaluations.
    """
    make_raw_env = train_job.eval_env_makers(nominal(c), residual_settings(c))[0]
    t_ref = time.perf_counter()
    refs = reference_results(c, make_raw_env, seeds)
    reference_s = time.perf_counter() - t_ref
    t_start = time.perf_counter()
    s = competence_setup(c)
    rows: list[dict[str, Any]] = []
    eval_total = 0.0

    def run_eval() -> None:
        nonlocal eval_total
        t0 = time.perf_counter()
        res = evaluate(s.policy(c["agent"]), s.make_eval_env, seeds)
        eval_s = time.perf_counter() - t0
        eval_total += eval_s
        wall = time.perf_counter() - t_start
        row = {
            "steps": int(s.model.num_timesteps),
            "train_s": wall - eval_total,
            "wall_s": wall,
            "eval_s": eval_s,
            **curve_row(res, refs),
        }
        rows.append(row)
        print(
            f"  {row['steps']:>9,} steps  train {row['train_s']:6.1f} s  return "
            f"{row['return']:8.3f}  vs PID {row['pid']['delta']:+.3f} ± {row['pid']['se']:.3f}",
            flush=True,
        )

    run_eval()  # untrained reference: a near-zero policy output (the base, or the practice)
    while s.model.num_timesteps < cap_steps and time.perf_counter() - t_start < cap_s:
        s.model.learn(every, reset_num_timesteps=False)
        run_eval()
    s.train_env.close()
    return {
        "references": {
            ref: {"return": float(r.returns.mean()), "std": float(r.returns.std())}
            for ref, r in refs.items()
        },
        "reference_s": reference_s,
        "seeds": [int(seeds[0]), int(seeds[-1])],
        "n_episodes": len(seeds),
        "every": every,
        "rows": rows,
        "first": {
            f"{ref}_{key}": first_row(rows, ref, key)
            for ref in COMPETENCE_REFERENCES
            for key in ("above", "clearly")
        },
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
    tp, ml = r["throughput"], r["mlflow"]
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
    ]
    table = ["| measurement | value | target | status |", "|---|---|---|---|"]
    for label, value, *target in rows:
        text, ok = status(*target) if target else ("—", "—")
        table.append(f"| {label} | {value} | {text} | {ok} |")
    return table + competence_summary(r["competence"])


def competence_summary(tc: dict[str, Any]) -> list[str]:
    """Time-to-competence rows: first above the PID (the target) and the operator."""
    last, n = tc["rows"][-1], tc["n_episodes"]
    job_steps = int(tc["config"]["train"]["total_timesteps"])

    def when(row: dict[str, Any] | None) -> str:
        if row is None:
            return (
                f"not within the cap ({last['steps']:,} steps, {last['train_s']:.0f} s "
                f"training, {last['wall_s']:.0f} s wall)"
            )
        # the main job stops at its total_timesteps; a later first time needs a longer budget
        beyond = f" (beyond the job's {job_steps:,})" if row["steps"] > job_steps else ""
        return (
            f"{row['train_s']:.1f} s training ({row['wall_s']:.1f} s wall incl. evaluations), "
            f"{row['steps']:,} steps{beyond}"
        )

    first = tc["first"]
    clearly = first["pid_clearly"]
    target = f"beats the PID (paired, > 2 s.e.) within {COMPETENCE_TARGET_S / 60:.0f} min"
    return [
        f"| Time-to-competence: policy mean return first above the PID's ({n} nominal seeds, "
        f"paired) | {when(first['pid_above'])} | — | — |",
        f"| … first above the PID by more than 2 paired s.e. | {when(clearly)} | {target} "
        f"| {competence_status(clearly, last['train_s'])} |",
        f"| … first above the operator practice by more than 2 paired s.e. "
        f"| {when(first['operator_clearly'])} | — | — |",
    ]


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
    """Policy return at every evaluation, paired against the PID and the operator."""
    table = [
        "| env-steps | training s | wall s | policy return | Δ vs PID (± s.e.) "
        "| Δ vs operator (± s.e.) | above the PID |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in tc["rows"]:
        pid, op = row["pid"], row["operator"]
        mark = ("yes, > 2 s.e." if pid["clearly"] else "yes") if pid["above"] else "no"
        if row is tc["first"]["pid_clearly"] or row is tc["first"]["pid_above"]:
            mark = f"**{mark} (first)**"
        if row["steps"] == 0:
            mark += " (untrained, not counted)"
        table.append(
            f"| {row['steps']:,} | {row['train_s']:.1f} | {row['wall_s']:.1f} | "
            f"{row['return']:.3f} | {pid['delta']:+.3f} ± {pid['se']:.3f} | "
            f"{op['delta']:+.3f} ± {op['se']:.3f} | {mark} |"
        )
    return table


def competence_notes(tc: dict[str, Any]) -> str:
    """How the time-to-competence run was set up and how to read its curve."""
    c, refs, rows = tc["config"], tc["references"], tc["rows"][1:]
    algo, base = c["agent"]["algo"], c.get("base") or {}
    base_text = (
        f"`{base['name']}` (scale {base.get('scale')}, estimator features "
        f"{base.get('estimator_features')})"
        if base.get("name", "none") != "none"
        else "none"
    )
    overrides = " ".join(tc["overrides"]) or "none"
    above = sum(r["pid"]["above"] for r in rows)
    clearly = sum(r["pid"]["clearly"] for r in rows)
    first = tc["first"]["pid_above"]
    caveat = (
        " The first evaluation is already above the PID's mean, so that time is an upper bound."
        if first is not None and rows and first is rows[0]
        else ""
    )
    return (
        f"Config: `conf/train.yaml` composed as the train job does, overrides: `{overrides}`; "
        f"env `{c['env']['id']}`, plant `{c['plant_name']}`, agent {c['agent']['name']}, "
        f"base {base_text}, paired reference "
        f"`{c['train'].get('paired_reference')}`, {c['train']['n_envs']} envs, n_steps "
        f"{algo.get('n_steps', '—')}, batch {algo.get('batch_size', '—')}, lr "
        f"{algo.get('learning_rate', '—')}, seed {c['seed']} (the job's configured "
        f"total_timesteps: {c['train']['total_timesteps']:,}). The training env, the "
        "evaluation envs and the agent are built by `experiments.train` "
        "(`build_train_env`, `eval_env_makers`, `build_agent` with the actuator names). "
        f"PID returns {refs['pid']['return']:.3f} (std {refs['pid']['std']:.3f} over episodes), "
        f"operator practice {refs['operator']['return']:.3f}, on seeds {tc['seeds'][0]}–"
        f"{tc['seeds'][1]} (scenario nominal, held apart from every other seed set), evaluated "
        f"once ({tc['reference_s']:.1f} s, not counted). The policy is evaluated every "
        f"{tc['every']:,} env-steps on the same seeds (mean action, normalisation frozen); "
        f"above the PID's mean in {above} of {tc['evals']} evaluations, by more than 2 paired "
        f"standard errors in {clearly}, up to the cap ({tc['cap_steps']:,} steps or "
        f"{tc['cap_s'] / 60:.1f} min wall).{caveat} 'training s' is wall time from building the "
        "env and agent, minus this benchmark's evaluations (what the main job spends); 'wall s' "
        "includes them; the target is judged on training s. Step 0 is the untrained policy "
        "(near-zero output: the base controller, or the operator practice without a base), not "
        "counted. Δ is the mean per-episode return difference on the same seeds (common random "
        "numbers); one training seed, so a PASS here is one run, not a claim over seeds."
    )


def render(info: dict[str, Any], r: dict[str, Any]) -> str:
    """The markdown report: header, summary table with targets, then the details."""
    c, tp, ml, tc = r["config"], r["throughput"], r["mlflow"], r["competence"]
    algo = c["agent"]["algo"]
    cmd = shlex.join(["python", "-m", "experiments.benchmarks.training", *r["argv"]])
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
            competence_notes(tc),
            "",
        ]
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Command line; the time-to-competence caps default to the full run's or ``--quick``'s."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets (smoke run, ~1 min)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "training.md")
    parser.add_argument(
        "--ttc-overrides",
        nargs="*",
        default=[],
        metavar="KEY=VALUE",
        help="Hydra overrides of the train job for time-to-competence, e.g. base=pid",
    )
    parser.add_argument("--ttc-minutes", type=float, help="wall-time cap (default 10; quick 1)")
    parser.add_argument("--ttc-steps", type=int, help="env-step cap (10M; quick 2 rollouts)")
    parser.add_argument("--ttc-episodes", type=int, help="paired nominal seeds (64; quick 8)")
    parser.add_argument(
        "--ttc-every",
        type=int,
        help="env-steps between evaluations (65536; quick 1 rollout)",
    )
    args = parser.parse_args(argv)
    q = args.quick
    for name, value in (
        ("--ttc-minutes", args.ttc_minutes),
        ("--ttc-steps", args.ttc_steps),
        ("--ttc-every", args.ttc_every),
    ):
        if value is not None and value <= 0:
            parser.error(f"{name} = {value}: must be > 0")
    if args.ttc_episodes is not None and args.ttc_episodes < 2:
        parser.error(
            f"--ttc-episodes = {args.ttc_episodes}: a paired standard error needs at least 2"
        )
    args.ttc_minutes = args.ttc_minutes or (1.0 if q else 10.0)
    args.ttc_episodes = args.ttc_episodes or (8 if q else 64)
    return args


def competence_budget(args: argparse.Namespace, c: dict[str, Any]) -> tuple[int, int]:
    """``(every, cap_steps)`` in env-steps; ``every`` rounded up to whole rollouts, since PPO
    learns in rollouts of ``n_steps × n_envs`` anyway."""
    rollout = rollout_size(c) if "n_steps" in c["agent"]["algo"] else int(c["train"]["n_envs"])
    every = args.ttc_every or (rollout if args.quick else 65_536)
    every = -(-every // rollout) * rollout
    return every, args.ttc_steps or (2 * rollout if args.quick else 10_000_000)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    q = args.quick
    torch.set_num_threads(1)
    t0 = time.perf_counter()
    info = machine_info()
    # parts 1 and 2 measure the env stack and the writer against Pendulum with the same plain
    # PPO (16 envs, 256-step rollouts, minibatches of 512, no base controller, env rewards);
    # the main job's own configuration is part 3's
    c = compose_train_config(PLAIN_PPO)
    c_ttc = compose_train_config(args.ttc_overrides)  # fails before any measurement if invalid
    block = 2 * rollout_size(c)  # 2 rollouts of 16 x 256
    argv_list = list(sys.argv[1:] if argv is None else argv)
    r: dict[str, Any] = {"quick": q, "argv": argv_list, "config": c}
    print("1/3 throughput: PPO on BOF vs Pendulum-v1", flush=True)
    r["throughput"] = throughput(c, block, 2 if q else 15)
    print("2/3 MLflow logger overhead", flush=True)
    r["mlflow"] = mlflow_overhead(c, block, 2 if q else 15)
    print("3/3 time-to-competence", flush=True)
    every, cap_steps = competence_budget(args, c_ttc)
    seeds = range(COMPETENCE_FIRST_SEED, COMPETENCE_FIRST_SEED + args.ttc_episodes)
    r["competence"] = {
        "overrides": list(args.ttc_overrides),
        "config": c_ttc,
        **time_to_competence(c_ttc, seeds, every, cap_steps, 60.0 * args.ttc_minutes),
    }
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
