"""Run an exported policy file in closed loop against the env: onnxruntime and NumPy only.

    python experiments/run_onnx.py exports/bof/policy.onnx                  # nominal, 8 episodes
    python experiments/run_onnx.py exports/bof/policy.onnx --scenario-set drift --episodes 4
    python experiments/run_onnx.py exports/bof/policy.onnx --controller-python /opt/ctl/bin/python

The plant side is the env (and, for a residual policy, the plant's own base controller, which
the file corrects); the controller side is :class:`agents.onnx_runtime.OnnxController`. Each
step the controller turns observations (engineering units) into commands (engineering units);
the plant side reads each command with its rule (:mod:`agents.command_heads`: the trim on its
practice, the set-point, or the correction summed with the base) and applies the actuators' rate
limits and limits itself, as a DCS does. Episodes are the scenario set's own seeds, so the
returns and KPIs equal those of ``python -m experiments.evaluate policy=<file>`` and of the
original policy (the export checks that).

``--controller-python`` runs the controller in another interpreter (a venv with nothing but
numpy and onnxruntime, say), connected over a pipe (:func:`agents.onnx_runtime.serve`): the
deployment split between a controller box and the plant. Nothing here imports torch,
Stable-Baselines3 or MLflow (``tests/test_export.py`` checks it).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np

import agents.onnx_runtime as runtime
from agents.onnx_runtime import HEADER, OnnxController, read_exact, read_text

__all__ = ["RemoteController", "closed_loop", "main"]


class RemoteController:
    """An :class:`OnnxController` in another interpreter, behind the serve protocol.

    Args:
        python: The interpreter (it needs numpy and onnxruntime, nothing else).
        policy: The ONNX file.

    Raises:
        RuntimeError: the controller process failed to start (its stderr is in the message).
    """

    def __init__(self, python: str, policy: str | Path) -> None:
        command = [python, str(Path(runtime.__file__).resolve()), str(policy), "--serve"]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self._in, self._out = self.process.stdin, self.process.stdout
        try:
            hello = json.loads(read_text(self._out))
        except EOFError:
            error = self.process.stderr.read().decode() if self.process.stderr else ""
            raise RuntimeError(f"the controller process {python} did not start: {error}") from None
        self.n_obs, self.n_act = hello["n_obs"], hello["n_act"]
        self.interface: dict[str, Any] = hello["interface"]

    def act(self, obs: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(np.atleast_2d(obs), dtype="<f4")
        self._in.write(HEADER.pack(*batch.shape) + batch.tobytes())
        self._in.flush()
        rows, cols = HEADER.unpack(read_exact(self._out, HEADER.size))
        if rows < 0:
            raise ValueError(read_text(self._out))
        data = read_exact(self._out, 4 * rows * cols)
        return np.frombuffer(data, dtype="<f4").reshape(rows, cols)

    def close(self) -> None:
        if self.process.poll() is None:
            self._in.write(HEADER.pack(0, 0))
            self._in.close()
            self.process.wait(timeout=30)


def closed_loop(
    policy_file: str | Path,
    scenario_set: str = "nominal",
    episodes: int | None = 8,
    controller_python: str | None = None,
    plant: str | None = None,
) -> dict[str, Any]:
    """Run ``policy_file`` on the first ``episodes`` seeds of ``scenario_set``.

    Args:
        plant: A plant variant name to run at instead of the one the file was exported for.

    Returns:
        ``{"returns": [...], "return_mean": …, "kpis": {name: mean}, "episodes": n, …}``.

    Raises:
        ValueError: the file has no interface record (not written by the export job).
    """
    import envs  # the plant side: numba-compiled process cores, no RL stack
    from agents.evaluation import evaluate
    from agents.onnx_policy import ONNXPolicy
    from agents.residual import ResidualController, ResidualPolicy, residual_config
    from experiments.lib.scenario_sets import load_scenario_set

    controller: Any = (
        RemoteController(controller_python, policy_file)
        if controller_python
        else OnnxController(policy_file)
    )
    try:
        interface = controller.interface
        if not interface:
            raise ValueError(
                f"{policy_file} has no plantrl interface record: export it with "
                "python -m experiments.export"
            )
        process, env_id = interface["env_name"], interface["env_id"]
        variant: Any = plant or {k: v for k, v in interface["plant"].items() if k != "plant_hash"}
        env_kwargs = {"action_mode": interface["action_mode"]}
        policy: Any = ONNXPolicy(policy_file, controller=controller)
        residual = residual_config(interface.get("residual"))
        n_act = len(interface["outputs"])
        if residual.active:
            base = ResidualController(residual, process, n_act, variant, env_kwargs)
            policy = ResidualPolicy(policy, base)
        sset = load_scenario_set(process, scenario_set)
        seeds = sset.seeds if episodes is None else sset.seeds[:episodes]

        def make_env() -> Any:
            return envs.make(env_id, plant=variant, scenario=sset.name, **env_kwargs)

        result = evaluate(policy, make_env, seeds)
    finally:
        if isinstance(controller, RemoteController):
            controller.close()
    return {
        "policy": str(policy_file),
        "env_id": env_id,
        "plant": plant or interface["plant"]["name"],
        "scenario_set": sset.name,
        "episodes": len(seeds),
        "returns": [float(r) for r in result.returns],
        "return_mean": float(result.returns.mean()),
        "kpis": result.kpi_means(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("policy", help="policy.onnx written by python -m experiments.export")
    parser.add_argument("--scenario-set", default="nominal")
    parser.add_argument("--episodes", type=int, default=8, help="the set's first N seeds")
    parser.add_argument("--plant", default=None, help="a plant variant other than the file's")
    parser.add_argument(
        "--controller-python", default=None, help="run the controller in this interpreter"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be ≥ 1, got {args.episodes}")
    try:
        result = closed_loop(
            args.policy, args.scenario_set, args.episodes, args.controller_python, args.plant
        )
    except (FileNotFoundError, ValueError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(
        f"{result['policy']} on {result['env_id']} at {result['plant']}, "
        f"{result['scenario_set']} ({result['episodes']} episodes): "
        f"return {result['return_mean']:.4f}"
    )
    for name, value in result["kpis"].items():
        print(f"  {name:>28s}  {value:.6g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
