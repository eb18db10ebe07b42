"""Export: one verified ONNX file per policy, its model card, and the closed loop without torch.

Policies are built at tiny budgets (a few hundred env steps: weights and normalisation
statistics are non-trivial, which is all parity needs) and saved as policy folders; one BOF
policy goes through the train job and the registry, for the MLflow side.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import mlflow
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import yaml
from budgets import tiny_training
from hydra import compose, initialize
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf, open_dict

import experiments.train as train_job
from agents.builder import action_names, build_agent, save_policy
from agents.command_heads import command_heads
from agents.onnx_export import ExportError, _actor
from agents.onnx_runtime import OnnxController
from experiments.lib.config_checks import ConfigError, residual_settings
from experiments.lib.export_job import export_policy

REPO = Path(__file__).resolve().parents[1]
RL_STACK = ("torch", "stable_baselines3", "sb3_contrib", "mlflow")

# per agent: what makes a few hundred steps of learning cheap
AGENT_BUDGET = {
    "ppo": ["agent.algo.n_steps=64", "agent.algo.batch_size=64", "agent.algo.n_epochs=1"],
    "sac": ["agent.algo.learning_starts=64", "agent.algo.batch_size=32"],
    "td3": ["agent.algo.learning_starts=64", "agent.algo.batch_size=32"],
    "recurrent_ppo": ["agent.algo.n_steps=64", "agent.algo.batch_size=64"],
}


def policy_folder(root: Path, compose_train: Any, agent: str, *overrides: str) -> Path:
    """A policy folder as training writes it (model.zip, normalisation, config.yaml)."""
    cfg = compose_train(
        root,
        "experiment=debug",
        f"agent={agent}",
        "train.n_envs=2",
        *AGENT_BUDGET[agent],
        *overrides,
    )
    c = train_job.resolve_config(cfg)
    env = train_job.build_train_env(c, residual_settings(c), 0)
    model = build_agent(c["agent"], env, 0, action_names(c["env"]["id"]))
    model.learn(256)
    folder = save_policy(model, env, root / f"policy-{agent}")
    (folder / "config.yaml").write_text(yaml.safe_dump(c, sort_keys=False))
    return folder


def export_config(root: Path, *overrides: str) -> dict[str, Any]:
    with initialize(version_base="1.3", config_path="../conf"):
        cfg = compose(
            "export", overrides=[*overrides, f"paths.root={root}"], return_hydra_config=True
        )
    HydraConfig.instance().set_config(cfg)
    with open_dict(cfg):
        del cfg["hydra"]
    c = OmegaConf.to_container(cfg, resolve=True)
    assert isinstance(c, dict)
    return c  # type: ignore[return-value]


def run_export(root: Path, folder: Path, out: Path, *overrides: str) -> Any:
    env = yaml.safe_load((folder / "config.yaml").read_text())["env"]["name"]
    c = export_config(
        root, f"env={env}", f"policy={folder}", f"out={out}", "verify.episodes=2", *overrides
    )
    return export_policy(c, None, set())


# --- 1. every algorithm and the residual mode, both processes ------------------------------------

CASES = [
    ("bof", "ppo", ()),
    ("bof", "sac", ()),
    ("bof", "td3", ()),
    ("bof", "ppo", ("base=pid",)),
    ("bof", "sac", ("env.kwargs.action_mode=absolute",)),
    ("paint", "ppo", ()),
    ("paint", "sac", ()),
    ("paint", "td3", ()),
    ("paint", "ppo", ("base=pid",)),
]


@pytest.mark.parametrize(("process", "agent", "extra"), CASES, ids=lambda v: str(v))
def test_export_matches_the_original_policy(
    tmp_path: Path, compose_train: Any, process: str, agent: str, extra: tuple[str, ...]
):
    folder = policy_folder(tmp_path, compose_train, agent, f"env={process}", *extra)
    result = run_export(tmp_path, folder, tmp_path / "out")
    parity = result.card.parity
    # the export's own check: commands within 1e-5 of their range, the same episodes
    assert max(parity["max_abs_command_error_share"].values()) <= 1e-5
    assert parity["observations"] > 10
    assert parity["same_units"] == 1.0 and parity["max_rel_kpi_diff"] <= 1e-4
    model = onnx.load(str(result.onnx_path))
    assert not any(t.HasField("data_location") for t in model.graph.initializer)  # one file
    assert [i.name for i in model.graph.input] == ["obs"]
    assert [o.name for o in model.graph.output] == ["action"]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param and dims[1].dim_value == len(result.card.interface["inputs"])
    assert model.opset_import[0].version == 17
    card = json.loads((tmp_path / "out" / "model_card.json").read_text())
    outputs = card["interface"]["outputs"]
    assert len(outputs) == len(card["rate_limits"]) and all(o["unit"] for o in outputs)
    if "base=pid" in extra:
        assert card["interface"]["residual"]["name"] == "pid"
        assert all(o["name"].endswith("_trim") and o["dead_band"] == 0 for o in outputs)
    if "env.kwargs.action_mode=absolute" in extra:
        assert not any(o["name"].endswith("_trim") for o in outputs)  # set-points
    assert "## Outputs" in (tmp_path / "out" / "model_card.md").read_text()


def test_commands_are_in_engineering_units_and_clipped_to_the_limits(tmp_path, compose_train):
    folder = policy_folder(tmp_path, compose_train, "ppo", "env.kwargs.action_mode=absolute")
    result = run_export(tmp_path, folder, tmp_path / "out")
    controller = OnnxController(result.onnx_path)
    rng = np.random.default_rng(0)
    inputs = result.card.interface["inputs"]
    low = np.array([max(r["low"], -1e4) for r in inputs])
    high = np.array([min(r["high"], 1e4) for r in inputs])
    commands = controller.act(rng.uniform(low, high, (512, len(inputs))).astype(np.float32))
    for j, head in enumerate(result.card.heads):
        assert head.low <= commands[:, j].min() and commands[:, j].max() <= head.high
    assert result.card.heads[0].name == "oxygen_flow" and result.card.heads[0].unit == "Nm3/min"


# --- 2. the closed loop without the RL stack -------------------------------------------------


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, compose_train: Any) -> Path:
    root = tmp_path_factory.mktemp("exported")
    folder = policy_folder(root, compose_train, "ppo", "base=pid")
    run_export(root, folder, root / "out")
    return root / "out" / "policy.onnx"


def closed_loop_in_subprocess(policy: Path, *args: str) -> dict[str, Any]:
    code = (
        "import json, sys\n"
        "from experiments.run_onnx import closed_loop\n"
        f"result = closed_loop({str(policy)!r}, 'nominal', 2, *{list(args)!r})\n"
        f"result['rl_stack'] = [m for m in {RL_STACK!r} if m in sys.modules]\n"
        "print(json.dumps(result))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def test_closed_loop_imports_no_torch_sb3_or_mlflow_and_reproduces_the_kpis(exported: Path):
    result = closed_loop_in_subprocess(exported)
    assert result["rl_stack"] == []
    card = json.loads((exported.parent / "model_card.json").read_text())
    parity = card["parity"]
    # the export's check ran the original on the same seeds: the same returns here
    assert np.isclose(result["return_mean"], parity["return_mean_original"], atol=1e-6)


def test_the_evaluation_job_reads_an_exported_file_with_its_residual_base(exported: Path):
    from experiments.lib.evaluation_job import recorded_env, recorded_residual

    residual = recorded_residual(str(exported))
    assert residual is not None and residual.base == "pid"
    env = recorded_env(str(exported))
    assert env is not None and env.name == "bof" and env.options == {"action_mode": "adjust"}


# --- 3. bad input ----------------------------------------------------------------------------


def test_inference_refuses_nan_and_wrong_lengths_with_the_input_named(exported: Path):
    controller = OnnxController(exported)
    obs = np.zeros(controller.n_obs, dtype=np.float32)
    assert controller.act(obs).shape == (controller.n_act,)
    obs[20] = np.nan
    with pytest.raises(ValueError, match=r"input 20 \(sublance_temp_dev\) is nan"):
        controller.act(obs)
    with pytest.raises(ValueError, match=rf"expected \({controller.n_obs},\)"):
        controller.act(np.zeros(controller.n_obs - 1, dtype=np.float32))
    # the graph alone: NaN reaches the commands it touches (why the controller checks first)
    session = ort.InferenceSession(str(exported), providers=["CPUExecutionProvider"])
    raw = session.run(None, {"obs": obs[None, :]})[0]
    assert np.isnan(raw).any()


def test_export_refuses_bad_requests_before_writing(tmp_path: Path, compose_train: Any):
    out = tmp_path / "out"
    with pytest.raises(ConfigError, match="classical controller"):
        export_policy(export_config(tmp_path, "policy=baseline:pid", f"out={out}"), None)
    with pytest.raises((ConfigError, ValueError), match="plantrl-bof"):
        c = export_config(tmp_path, "policy=models:/plantrl-bof@champion", f"out={out}")
        export_policy(c, None)
    with pytest.raises(ConfigError, match="out is not set"):
        export_policy(export_config(tmp_path, f"policy={tmp_path}"), None)
    assert not out.exists()
    folder = policy_folder(tmp_path, compose_train, "recurrent_ppo")
    with pytest.raises(ExportError, match="recurrent"):
        run_export(tmp_path, folder, out)
    assert not out.exists()


def test_an_existing_export_is_never_overwritten_unasked(tmp_path: Path, compose_train: Any):
    folder = policy_folder(tmp_path, compose_train, "td3")
    run_export(tmp_path, folder, tmp_path / "out")
    before = (tmp_path / "out" / "policy.onnx").read_bytes()
    with pytest.raises(ConfigError, match="overwrite=true"):
        run_export(tmp_path, folder, tmp_path / "out")
    run_export(tmp_path, folder, tmp_path / "out", "overwrite=true")
    # same policy, same export: the same file (the exporter is deterministic)
    assert (tmp_path / "out" / "policy.onnx").read_bytes() == before


def test_a_failed_parity_check_writes_nothing(tmp_path, compose_train, monkeypatch):
    import experiments.lib.export_job as job

    folder = policy_folder(tmp_path, compose_train, "ppo")
    real = job.max_command_error
    monkeypatch.setattr(job, "max_command_error", lambda *a: real(*a) + 1e-3)
    with pytest.raises(ExportError, match=r"parity check failed: \w+_trim differs"):
        run_export(tmp_path, folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_unsupported_architectures_are_refused():
    import torch

    with pytest.raises(ExportError, match="unsupported policy architecture Linear"):
        _actor(torch.nn.Linear(3, 2))


def test_command_heads_invert_what_they_command():
    import envs

    for process in ("bof", "paint"):
        specs = envs.make(process).unwrapped.batch.scaler.specs  # type: ignore[attr-defined]
        for mode in ("adjust", "absolute"):
            for head in command_heads(process, specs, mode):
                a = np.linspace(-1, 1, 41)
                again = head.command(head.action(head.command(a)))
                assert np.allclose(again, head.command(a), rtol=0, atol=1e-9 * head.scale)
                if head.dead_band == 0:
                    assert np.allclose(head.action(head.command(a)), a, atol=1e-12)


# --- 4. MLflow: the train job's registered version, exported and linked ----------------------


def test_a_registered_version_exports_and_links_back(tmp_path: Path, compose_train: Any):
    train_job.train(
        compose_train(
            tmp_path,
            *tiny_training(final_episodes=1),
            "register_model=true",
            "tracking.experiment=bof",
        )
    )
    c = export_config(
        tmp_path,
        "policy=models:/plantrl-bof@candidate",
        f"out={tmp_path / 'out'}",
        "verify.episodes=1",
    )
    result = export_policy(c, None, set())
    client = mlflow.MlflowClient()
    version = client.get_model_version_by_alias("plantrl-bof", "candidate")
    assert version.tags["onnx_export_run"] == result.run_id
    assert result.card.source["version"] == str(version.version)
    assert result.card.training_config["agent.name"] == "ppo"
    loaded = mlflow.onnx.load_model(version.tags["onnx_model_uri"])
    assert [i.name for i in loaded.graph.input] == ["obs"]
    info = mlflow.models.get_model_info(version.tags["onnx_model_uri"])
    assert info.signature is not None and info.signature.inputs.to_dict()[0]["type"] == "tensor"


# --- 5. a fresh venv with numpy + onnxruntime only (slow: installs two wheels) ---------------


@pytest.mark.slow
def test_a_venv_with_only_numpy_and_onnxruntime_runs_the_controller(exported, tmp_path):
    venv = tmp_path / "controller-venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    env = {**os.environ, "PIP_NO_INPUT": "1"}
    subprocess.run([*pip, "numpy", "onnxruntime"], check=True, env=env, timeout=600)
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"], capture_output=True, text=True
    )
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert not installed & {"torch", "stable-baselines3", "mlflow", "gymnasium", "plantrl"}
    remote = closed_loop_in_subprocess(exported, str(python))
    local = closed_loop_in_subprocess(exported)
    assert remote["returns"] == local["returns"] and remote["kpis"] == local["kpis"]


def test_td3_noise_is_sized_to_each_process(tmp_path: Path, compose_train: Any):
    from agents.policy_files import sized_action_noise

    assert sized_action_noise({"mean": 0.0, "sigma": 0.1}, 3)["sigma"] == [0.1, 0.1, 0.1]
    with pytest.raises(ValueError, match="sigma has 5 entries, the env has 11 actions"):
        sized_action_noise({"sigma": [0.1] * 5}, 11)
