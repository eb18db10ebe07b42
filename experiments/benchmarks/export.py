"""Latency of an exported policy file against SB3 ``predict``, one observation per call.

    python -m experiments.benchmarks.export            # full run, about 1 min
    python -m experiments.benchmarks.export --quick    # smoke run, < 1 min

For untrained PPO actors of the default size (64×64, ``conf/agent/ppo.yaml``) and 256×256 and
SAC's default (128×128, ``conf/agent/sac.yaml``) on each process (BOF, paint line) it exports the
whole graph (normalisation with a real ``VecNormalize``'s statistics, actor, command heads) with
:func:`agents.onnx_export.export_onnx`, and the bare deterministic actor the same way, then times
single calls (latency does not depend on the weights):

| variant | what is timed |
| --- | --- |
| ``act`` | ``OnnxController(path, threads=1).act(obs)``: input checks + the file |
| ``run`` | a bare ``session.run`` of the same file on a (1, n_obs) float32 array |
| ``actor`` | a bare ``session.run`` of the actor alone, on normalised observations |
| ``predict`` | ``SB3Policy(model, vecnorm).act(obs)``: normalisation + ``model.predict(...,
  deterministic=True)`` (torch on 1 thread, its distributions validating their arguments as
  torch does by default) |
| ``predict_noval`` | the same with argument validation off, as :func:`export_onnx` leaves the
  process (the ratio with the most favourable ``predict``) |

Every variant of every policy runs in turn in each round (in a random order), so they all see
the same machine load; each call is timed alone with ``time.perf_counter_ns``. The first call of
each block is reported apart (``cold``: caches evicted by the previous block's work, as between
a controller's calls), the others as ``warm`` (back-to-back calls: the targets' figures).
Writes a markdown table to ``results/benchmarks/export.md`` and the raw percentiles to
``export.json`` next to it.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from stable_baselines3 import PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.vec_env import DummyVecEnv, VecNormalize

import envs
from agents.command_heads import command_heads
from agents.onnx_export import (
    IR_VERSION,
    OPSET,
    ExportGraph,
    _actor,
    _quiet_exporter,
    export_onnx,
    max_command_error,
)
from agents.onnx_runtime import OnnxController
from agents.policy import SB3Policy
from experiments.lib.machine_info import machine_info

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = ("bof", "paint")
# key -> (label, algorithm, net_arch, p50 target of the file in µs or None)
ACTORS: dict[str, tuple[str, type[BaseAlgorithm], list[int], float | None]] = {
    "ppo64": ("PPO 64×64 (default)", PPO, [64, 64], 30.0),
    "ppo256": ("PPO 256×256", PPO, [256, 256], 50.0),
    "sac128": ("SAC 128×128 (default)", SAC, [128, 128], None),
}
VARIANTS = ("act", "run", "actor", "predict", "predict_noval")
MIN_SPEEDUP, MAX_GRAPH_SHARE = 10.0, 0.20  # issue 16's targets
PARITY_SHARE = 1e-5  # the export job's tolerance: the file computes what the policy does


class Case:
    """One policy on one process: its model, normaliser, exported files and timed calls."""

    def __init__(self, process: str, actor: str, folder: Path, steps: int) -> None:
        _, algo, net_arch, _ = ACTORS[actor]
        self.process, self.actor = process, actor
        env = envs.make(process)
        plant: Any = env.unwrapped  # the native env: its batch holds the actuator specs
        kwargs: dict[str, Any] = {"buffer_size": 1000} if algo is SAC else {}  # not 1M rows
        self.model = algo(
            "MlpPolicy", env, policy_kwargs={"net_arch": net_arch}, device="cpu", seed=0, **kwargs
        )
        self.vecnorm, self.observations = normaliser(process, steps)
        self.heads = command_heads(process, plant.batch.scaler.specs, "adjust")
        self.n_obs, self.n_act = self.observations.shape[1], len(self.heads)
        self.normalised = np.asarray(
            self.vecnorm.normalize_obs(self.observations), dtype=np.float32
        )
        rms: Any = self.vecnorm.obs_rms
        graph = ExportGraph(
            self.model.policy, self.heads, rms.mean, rms.var, self.vecnorm.epsilon,
            self.vecnorm.clip_obs,
        )  # fmt: skip
        self.file = folder / f"{process}-{actor}.onnx"
        export_onnx(graph, self.n_obs, self.file, {"summary": f"benchmark {actor} {process}"})
        self.actor_file = folder / f"{process}-{actor}-actor.onnx"
        export_bare_actor(self.model.policy, self.n_obs, self.actor_file)
        self.controller = OnnxController(self.file, threads=1)
        # the same session options as the file's (OnnxController's): 1 intra-op thread
        self.actor_session = OnnxController(self.actor_file, threads=1).session
        self.policy = SB3Policy(self.model, self.vecnorm)
        self.nodes = {
            "file": len(onnx.load(str(self.file)).graph.node),
            "actor": len(onnx.load(str(self.actor_file)).graph.node),
        }

    def calls(self) -> dict[str, tuple[Callable[[Any], Any], list[np.ndarray]]]:
        """Per variant: the call and its inputs (prepared outside the timed region)."""
        run, actor = self.controller.session.run, self.actor_session.run
        singles = list(self.observations)
        rows = [np.ascontiguousarray(o[None, :]) for o in self.observations]
        normalised_rows = [np.ascontiguousarray(o[None, :]) for o in self.normalised]
        return {
            "act": (self.controller.act, singles),
            "run": (lambda x: run(["action"], {"obs": x}), rows),
            "actor": (lambda x: actor(["action"], {"obs": x}), normalised_rows),
            "predict": (self.policy.act, singles),
            "predict_noval": (self.policy.act, singles),
        }

    def parity(self) -> dict[str, float]:
        """Max |Δ| of the file's commands and of the bare actor's actions against ``predict``
        on the observations, as a share of each output's range (the export job's measure)."""
        reference = self.policy.act(self.observations)
        commands = np.stack([h.command(reference[:, j]) for j, h in enumerate(self.heads)], 1)
        file_error = max_command_error(self.controller.act(self.observations), commands, self.heads)
        bare = np.clip(self.actor_session.run(None, {"obs": self.normalised})[0], -1.0, 1.0)
        return {
            "file": float(file_error.max()),
            "actor": float(np.abs(bare - reference).max() / 2.0),  # [-1, 1]: a range of 2
        }


def normaliser(process: str, steps: int) -> tuple[VecNormalize, np.ndarray]:
    """A ``VecNormalize`` whose statistics come from ``steps`` random-action steps of the env,
    frozen, and the raw (engineering-unit) observations it saw, float32."""
    vecnorm = VecNormalize(DummyVecEnv([lambda: envs.make(process)]), norm_reward=False)
    vecnorm.seed(0)
    vecnorm.action_space.seed(0)
    vecnorm.reset()
    seen = []
    for _ in range(steps):
        vecnorm.step(np.array([vecnorm.action_space.sample()]))
        seen.append(np.asarray(vecnorm.get_original_obs())[0])
    vecnorm.training = False
    return vecnorm, np.asarray(seen, dtype=np.float32)


def export_bare_actor(policy: torch.nn.Module, n_obs: int, path: Path) -> None:
    """The deterministic actor alone (normalised obs → [-1, 1]) written as
    :func:`export_onnx` writes the whole graph: dynamo exporter, opset, IR version, batch axis."""
    torch.distributions.Distribution.set_default_validate_args(False)  # as export_onnx
    example = torch.zeros((2, n_obs), dtype=torch.float32)
    with _quiet_exporter():
        program = torch.onnx.export(
            _actor(policy).eval(),
            (example,),
            input_names=["obs"],
            output_names=["action"],
            dynamic_shapes={"obs": {0: torch.export.Dim("batch")}},
            opset_version=OPSET,
            dynamo=True,
            external_data=False,
            verbose=False,
        )
    assert program is not None
    model = program.model_proto
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save_model(model, str(path), save_as_external_data=False)


def validation(on: bool) -> Callable[[], None]:
    """Set torch's default argument validation of distributions (SB3 builds one per predict)."""
    return lambda: torch.distributions.Distribution.set_default_validate_args(on)


PREPARE = {"predict": validation(True), "predict_noval": validation(False)}
Block = tuple[Callable[[], None] | None, Callable[[Any], Any], list[np.ndarray]]


def time_rounds(
    blocks: dict[str, Block], rounds: int, per_round: dict[str, int], warmup: int
) -> dict[str, np.ndarray]:
    """Nanoseconds of every timed call, (rounds, calls) per block: after ``warmup`` calls of
    each block, every round runs each block once (``per_round[variant]`` calls) in a fresh
    random order, so that no block always follows the same one (the first call of a block pays
    for the caches the previous one evicted: a torch ``predict`` evicts a lot)."""
    keys = list(blocks)
    for prepare, call, inputs in blocks.values():
        if prepare is not None:
            prepare()
        for i in range(warmup):
            call(inputs[i % len(inputs)])
    times = {key: np.zeros((rounds, per_round[key.rsplit("/", 1)[1]])) for key in keys}
    order = np.random.default_rng(0)
    for r in range(rounds):
        for key in order.permutation(keys):
            prepare, call, inputs = blocks[key]
            if prepare is not None:
                prepare()
            row, n = times[key][r], len(inputs)
            for j in range(row.size):
                x = inputs[(r * row.size + j) % n]
                t0 = time.perf_counter_ns()
                call(x)
                row[j] = time.perf_counter_ns() - t0
    return times


def summary(ns: np.ndarray) -> dict[str, float]:
    """Percentiles (µs) of the calls after the first of each block (``warm``: a control loop
    calling the policy back to back) and of the first calls (``cold``: after other work)."""
    warm, cold = ns[:, 1:] / 1e3, ns[:, 0] / 1e3
    p50, p99 = np.percentile(warm, [50, 99])
    cold50, cold99 = np.percentile(cold, [50, 99])
    return {"p50_us": float(p50), "p99_us": float(p99), "mean_us": float(warm.mean()),
            "n": int(warm.size), "cold_p50_us": float(cold50), "cold_p99_us": float(cold99),
            "cold_n": int(cold.size)}  # fmt: skip


def judge(value: float, threshold: float, higher: bool) -> str:
    """PASS, or FAIL with how far ``value`` is from ``threshold`` (relative)."""
    ok = value >= threshold if higher else value <= threshold
    if ok:
        return "PASS"
    return f"FAIL (missed by {100 * abs(value / threshold - 1):.0f} %)"


def case_numbers(r: dict[str, Any]) -> dict[str, float]:
    """The compared figures of one case from its p50s: speed-ups and the graph's share."""
    p50 = {v: r["latency"][v]["p50_us"] for v in VARIANTS}
    return {
        **p50,
        "predict_over_act": p50["predict"] / p50["act"],
        "predict_over_run": p50["predict"] / p50["run"],
        "noval_over_act": p50["predict_noval"] / p50["act"],
        "graph_share": (p50["run"] - p50["actor"]) / p50["actor"],
        "checks_us": p50["act"] - p50["run"],
    }


def latency_row(label: str, r: dict[str, Any]) -> str:
    lat, x = r["latency"], case_numbers(r)

    def cell(v: str) -> str:
        return f"{lat[v]['p50_us']:.1f} / {lat[v]['p99_us']:.1f} ({lat[v]['cold_p50_us']:.0f})"

    return (
        f"| {label} | {r['n_obs']} → {r['n_act']} | {cell('act')} | {cell('run')} | "
        f"{cell('actor')} | {cell('predict')} | {cell('predict_noval')} | "
        f"{x['predict_over_act']:.1f}× / {x['predict_over_run']:.1f}× | "
        f"{100 * x['graph_share']:+.0f} % | {r['nodes']['file']} / {r['nodes']['actor']} | "
        f"{x['checks_us']:.1f} |"
    )


def target_rows(label: str, actor: str, r: dict[str, Any]) -> list[str]:
    """The issue's targets for one case, each judged on ``act`` and on a bare ``run``."""
    x, limit = case_numbers(r), ACTORS[actor][3]
    rows = []
    if limit is not None:
        rows.append(
            f"| {label}: file p50 | `act` {x['act']:.1f} µs · `run` {x['run']:.1f} µs | "
            f"≤ {limit:.0f} µs | `act` {judge(x['act'], limit, False)} · "
            f"`run` {judge(x['run'], limit, False)} |"
        )
    rows.append(
        f"| {label}: `predict` / file (p50) | `act` {x['predict_over_act']:.1f}× · `run` "
        f"{x['predict_over_run']:.1f}× | ≥ {MIN_SPEEDUP:.0f}× | "
        f"`act` {judge(x['predict_over_act'], MIN_SPEEDUP, True)} · "
        f"`run` {judge(x['predict_over_run'], MIN_SPEEDUP, True)} |"
    )
    share = x["graph_share"]
    status = "PASS" if share <= MAX_GRAPH_SHARE else (
        f"FAIL (missed by {100 * (share - MAX_GRAPH_SHARE):.0f} points)"
    )  # fmt: skip
    rows.append(
        f"| {label}: graph adds (`run` − `actor`)/`actor` (p50) | {100 * share:+.0f} % "
        f"({x['run'] - x['actor']:+.1f} µs) | ≤ {100 * MAX_GRAPH_SHARE:.0f} % | {status} |"
    )
    return rows


def header(info: dict[str, str], r: dict[str, Any]) -> str:
    """The command, the machine and the method, in markdown."""
    cmd = "python -m experiments.benchmarks.export" + (" --quick" if r["quick"] else "")
    calls = r["per_round"]
    return (
        f"# Export latency benchmark\n\n- `{cmd}`\n- {info['date']}, git `{info['git']}`, "
        f"{info['cpu']}, load average {info['load']}\n- Python {info['python']}, numpy "
        f"{info['numpy']}, torch {info['torch']} (1 thread), onnxruntime {info['onnxruntime']} "
        f"(1 intra-op thread), onnx {info['onnx']}, stable-baselines3 "
        f"{info['stable_baselines3']}; opset {OPSET}\n- One observation per call, float32, "
        "cycling through observations of random-action rollouts. Untrained policies (latency "
        "does not depend on the weights); the file holds `VecNormalize` statistics of those "
        f"rollouts, the actor and the adjust-mode command heads. {r['rounds']} rounds after "
        f"{r['warmup']} warm-up calls per variant; in every round each variant of every policy "
        f"runs once, in a random order, as a block of {calls['act']} calls (ONNX variants) or "
        f"{calls['predict']} (`predict`), so all see the same machine load; every call timed "
        "alone (`time.perf_counter_ns`). p50 and p99 are of the warm calls (all but the first "
        "of a block: a loop calling the policy back to back); *cold* is the p50 of the first "
        "call of each block, after another variant's work evicted the caches (closer to a "
        "controller that does other work between its calls). Parity of the file with "
        "`predict` (max |Δcommand| / range) "
        f"≤ {max(c['parity']['file'] for c in r['cases'].values()):.1e} in every case.\n\n"
        "Variants: `act` = `OnnxController(path, threads=1).act(obs)` (input checks + the "
        "file: what a deployment calls); `run` = a bare `session.run` of the same file on a "
        "(1, n_obs) array; `actor` = a bare `session.run` of the deterministic actor alone "
        "(exported the same way, fed normalised observations); `predict` = `SB3Policy.act` "
        "(`VecNormalize.normalize_obs` + `model.predict(obs, deterministic=True)`, torch's "
        "default argument validation on; actions in [-1, 1]: the command heads' NumPy mapping is "
        "not added, which favours `predict`); `predict` no-val = the same with torch's "
        "distribution argument validation off (what tracing needs; `export_onnx` restores it).\n\n"
    )


def render(info: dict[str, str], r: dict[str, Any]) -> str:
    """The markdown report: a header with the machine, the latencies, the targets judged."""
    labels = {
        f"{p}/{a}": f"{ACTORS[a][0]}, {'BOF' if p == 'bof' else 'paint'}"
        for p in PROCESSES
        for a in ACTORS
    }
    table = [
        "| policy | obs → commands | `act` | `run` | `actor` | `predict` | `predict` no-val | "
        "`predict` / `act` · / `run` | graph adds | nodes file / actor | checks (µs) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
        *(latency_row(labels[k], c) for k, c in r["cases"].items()),
    ]
    targets = ["| measurement | value | target | status |", "|---|---|---|---|"]
    for key, c in r["cases"].items():
        targets += target_rows(labels[key], key.split("/")[1], c)
    return (
        header(info, r)
        + "Latency per call, warm p50 / p99 (cold p50) in µs; ratios and the graph's share from "
        "the warm p50s. Nodes: operators in the ONNX graph (onnxruntime pays a fixed cost per "
        "node; the file's extra nodes are the normalisation in float64, the clips and the "
        "command heads, with the dead band on the BOF).\n\n"
        + "\n".join(table)
        + "\n\nThe issue's targets (the latency targets for the PPO actors; the file judged "
        "through `act` and as a bare `run`):\n\n" + "\n".join(targets) + "\n"
    )


def measure(quick: bool) -> dict[str, Any]:
    """Build and export every case, time every variant, and check the files' parity."""
    rounds, warmup, steps = (10, 20, 64) if quick else (800, 300, 512)
    per_round = {"act": 50, "run": 50, "actor": 50, "predict": 5, "predict_noval": 5}
    with tempfile.TemporaryDirectory(prefix="plantrl-export-bench-") as tmp:
        cases = {f"{p}/{a}": Case(p, a, Path(tmp), steps) for p in PROCESSES for a in ACTORS}
        blocks: dict[str, Block] = {
            f"{key}/{variant}": (PREPARE.get(variant), call, inputs)
            for key, case in cases.items()
            for variant, (call, inputs) in case.calls().items()
        }
        times = time_rounds(blocks, rounds, per_round, warmup)
        results = {
            key: {
                "n_obs": case.n_obs,
                "n_act": case.n_act,
                "nodes": case.nodes,
                "parity": case.parity(),
                "latency": {v: summary(times[f"{key}/{v}"]) for v in VARIANTS},
            }
            for key, case in cases.items()
        }
    wrong = {k: c["parity"] for k, c in results.items() if max(c["parity"].values()) > PARITY_SHARE}
    if wrong:  # a file that does not compute the policy: its timing would mean nothing
        raise SystemExit(f"parity with predict failed (share of range > {PARITY_SHARE}): {wrong}")
    return {
        "quick": quick,
        "rounds": rounds,
        "warmup": warmup,
        "per_round": per_round,
        "cases": results,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small budgets (smoke run, < 1 min)")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "benchmarks" / "export.md")
    args = parser.parse_args()
    torch.set_num_threads(1)  # predict on one core, like onnxruntime
    info = machine_info(("numpy", "torch", "onnxruntime", "onnx", "stable_baselines3"))
    r = measure(args.quick)
    text = render(info, r)
    print(text)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    args.out.with_suffix(".json").write_text(json.dumps({"machine": info, **r}, indent=2) + "\n")
    print(f"wrote {args.out} and {args.out.with_suffix('.json').name}")


if __name__ == "__main__":
    main()
