"""Main job: train an adjustment policy on a plant, compare it with the plant's controllers.

    python -m experiments.train                          # BOF, nominal plant, PPO (a few minutes)
    python -m experiments.train agent=sac plant=bof_120t seed=3
    python -m experiments.train experiment=debug         # seconds
    python -m experiments.train resume=<mlflow run id>   # continue an interrupted run
    python -m experiments.train base=pid base.scale=0.5  # learn a correction to the PID
    python -m experiments.train memory=window memory.units=5  # the last 5 taps in the obs
    python -m experiments.train init_from=models:/plantrl-bof@champion plant=bof_120t  # fine-tune

Steps: compose and validate the config -> open the MLflow store -> build the native vector env
(n plants per call) and the algorithm (or load the last checkpoint) -> learn with evaluation,
checkpoints and a progress bar, every SB3 metric streamed to MLflow -> evaluate the policy,
operator practice, PID and MPC on estimates on the same held-apart episode seeds -> log,
register (alias "candidate").
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, cast

import gymnasium as gym
import hydra
import mlflow
import torch
import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf
from stable_baselines3.common.logger import Logger
from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
from stable_baselines3.common.vec_env import VecNormalize

import envs
from agents.baselines.operator import OperatorPolicy
from agents.builder import (
    action_names,
    build_agent,
    load_policy,
    make_train_env,
    save_policy,
)
from agents.evaluation import RecurrentSB3Policy, evaluate
from agents.history import HistoryWrapper, MemoryConfig, memory_config
from agents.loading import load_baseline
from agents.policy import SB3Policy
from agents.residual import ResidualConfig, ResidualWrapper, residual_config
from envs.core.params import PlantVariant
from experiments.lib.callbacks import (
    CheckpointCallback,
    EvalCallback,
    ProgressCallback,
    ResumePoint,
    latest_checkpoint,
)
from experiments.lib.cli import readable_errors, start
from experiments.lib.config_checks import (
    ConfigError,
    residual_settings,
    resume_folder,
    validate_train_config,
)
from experiments.lib.evaluation_job import evaluate_policy
from experiments.lib.kpi_tables import final_table, print_table
from experiments.lib.plants import job_plant, log_plant, plant_tags
from experiments.lib.policy_specs import ESTIMATE_MPC, resolve_policy
from experiments.lib.registry import log_and_register_policy
from experiments.lib.resume import check_resumable, resumable_run, resume_command
from experiments.lib.run_plots import log_learning_curve
from experiments.lib.sweep import sweep_tags
from experiments.lib.tracking import (
    MLflowOutputFormat,
    flatten,
    git_commit,
    last_logged_steps,
    setup_tracking,
)
from experiments.lib.warm_start import (
    check_compatible,
    check_init_from,
    check_run_tags,
    lineage_run_tags,
    lineage_version_tags,
    resolve_source,
    warm_start,
)

REPO = Path(__file__).resolve().parents[1]


RESUME_MAY_CHANGE = ("resume", "tracking", "paths", "train.progress_bar", "hydra", "trust_pickle")


def resolve_config(cfg: DictConfig) -> dict[str, Any]:
    """Plain resolved config; on resume, the interrupted run's own config (budget, agent, …)."""
    # without the `hydra` node: composed with return_hydra_config=True (tests) it holds sweep-only
    # interpolations (hydra.job.num) that cannot resolve in a single run
    job_cfg = OmegaConf.masked_copy(cfg, [str(k) for k in cfg if k != "hydra"])
    # a DictConfig converts to a dict
    container = cast(dict[str, Any], OmegaConf.to_container(job_cfg, resolve=True))
    if cfg.resume is None:
        choice = HydraConfig.get().runtime.choices.get("plant")
        # the plant's name: an overridden named variant is "<name>+overrides" (lib.plants)
        container["plant_name"] = job_plant(
            container["plant"], container["env"]["name"], choice
        ).name
        return container
    ckpt = Path(str(cfg.resume))
    if not ckpt.is_dir():
        ckpt = Path(cfg.paths.checkpoints) / str(cfg.resume)
    saved = ckpt / "config.yaml"
    if not saved.is_file():
        raise FileNotFoundError(f"cannot resume {cfg.resume!r}: no checkpoint folder {ckpt}")
    before = ckpt / "overrides.yaml"  # the interrupted run's own overrides may be repeated
    repeated = set(yaml.safe_load(before.read_text()) or []) if before.is_file() else set()
    changed = [
        o
        for o in HydraConfig.get().overrides.task
        if o not in repeated and not o.split("=")[0].lstrip("+~").startswith(RESUME_MAY_CHANGE)
    ]
    if changed:
        raise ConfigError(
            f"resume continues the interrupted run with its own saved config ({saved}); these "
            f"overrides would be ignored, so drop them: {changed}"
        )
    original = yaml.safe_load(saved.read_text())
    original.update(
        resume=str(ckpt),
        tracking=container["tracking"],
        trust_pickle=bool(container.get("trust_pickle", False)),
    )
    return original


def plant_of(c: dict[str, Any]) -> PlantVariant:
    """The run's plant (resolved from the config and the name the run carries)."""
    return job_plant(c["plant"], c["env"]["name"], c["plant_name"])


def make_policy(agent_cfg: dict[str, Any]) -> Any:
    """``(model, vecnormalize) -> policy`` for the algorithm family (recurrent or not)."""
    wrapper = RecurrentSB3Policy if agent_cfg.get("recurrent") else SB3Policy
    return lambda model, vecnorm: wrapper(model, vecnorm)


def load_checkpoint(c: dict[str, Any], train_env: Any) -> tuple[Any, Any, str]:
    """Model, (re-attached) normalised env and MLflow run id of the interrupted run.

    The env and torch are re-seeded with ``seed + steps done`` (``load`` would reseed them with
    the original seed and replay the first heats). The step count is the checkpoint's: a
    checkpoint written on Ctrl-C mid-rollout resumes at that rollout's start.
    """
    ckpt_dir, steps_done = latest_checkpoint(c["resume"])
    # no pickle is read (schedules rebuilt from the run's config) unless trust_pickle for a
    # checkpoint in the old format; the replay buffer below is still a pickle of this run's own
    inner = train_env.venv if isinstance(train_env, VecNormalize) else train_env
    model, vecnorm = load_policy(
        ckpt_dir, c["agent"], inner, trust_pickle=bool(c.get("trust_pickle")), training=True
    )
    train_env = vecnorm if vecnorm is not None else inner
    model.num_timesteps = steps_done  # a Ctrl-C checkpoint resumes at its rollout's start
    if (ckpt_dir / "replay_buffer.pkl").is_file():
        # only off-policy algorithms have a replay buffer to save (CheckpointCallback.save)
        assert isinstance(model, OffPolicyAlgorithm)
        model.load_replay_buffer(ckpt_dir / "replay_buffer.pkl")
    model.set_random_seed(int(c["seed"]) + steps_done)
    return model, train_env, (Path(c["resume"]) / "run_id").read_text().strip()


def record_new_run(c: dict[str, Any], run: Any, env_id: str) -> Path:
    """Checkpoint folder, params, tags and config artifacts of a fresh run."""
    run_dir = Path(c["paths"]["checkpoints"]) / run.info.run_id
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "run_id").write_text(run.info.run_id)
    (run_dir / "config.yaml").write_text(yaml.safe_dump(c, sort_keys=False))
    mlflow.log_params(flatten(c))
    log_plant(plant_of(c))  # tags plant, plant_hash; the full parameter set as plant.json
    mlflow.set_tags(
        {
            "env_id": env_id,
            "algorithm": c["agent"]["name"],
            "seed": str(c["seed"]),
            "git_commit": git_commit(),
            "scenario": c["eval"]["scenario"],
            "residual_base": residual_config(c.get("base")).base,
            "torch_threads": str(torch.get_num_threads()),  # 1 per job in a parallel sweep
        }
    )
    mlflow.log_artifact(str(run_dir / "config.yaml"), "config")
    mlflow.set_tags(sweep_tags())  # a job of a sweep: what it varied, for the parent's table
    overrides = yaml.safe_dump(list(HydraConfig.get().overrides.task))
    (run_dir / "overrides.yaml").write_text(overrides)
    mlflow.log_text(overrides, "config/overrides.yaml")
    return run_dir


def learn(
    c: dict[str, Any], model: Any, run: Any, run_dir: Path, make_eval_env: Any, resuming: bool
) -> None:
    """SB3 learning with evaluation, checkpoints, progress bar and metrics to MLflow."""
    # (key, step) values already in the run are not logged twice on resume; the logger's pending
    # values and episode statistics at the checkpoint are put back (lib.callbacks.ResumePoint)
    writer = MLflowOutputFormat(last_logged_steps(run.info.run_id) if resuming else None)
    resume_from = ResumePoint.read(latest_checkpoint(run_dir)[0]) if resuming else None
    model.set_logger(Logger(folder=None, output_formats=[writer]))
    first = c["eval"]["first_seed"]
    eval_cb = EvalCallback(
        make_eval_env,
        range(first, first + c["eval"]["n_episodes"]),
        c["eval"]["every_steps"],
        make_policy(c["agent"]),
    )
    ckpt_cb = CheckpointCallback(
        run_dir, c["train"]["checkpoint_every_steps"], writer.flush, resume_from
    )
    callbacks = [eval_cb, ckpt_cb]
    if c["train"]["progress_bar"]:
        callbacks.append(ProgressCallback(c["train"]["total_timesteps"], eval_cb))
    remaining = int(c["train"]["total_timesteps"]) - model.num_timesteps
    try:
        if remaining > 0:
            model.learn(remaining, callback=callbacks, reset_num_timesteps=not resuming)
    except KeyboardInterrupt:
        saved = ckpt_cb.save()  # Ctrl-C keeps the policy, resumable at the rollout in progress
        where = f"checkpoint {saved}" if saved else "no checkpoint"
        print(f"interrupted at {model.num_timesteps} steps, {where}; to continue:")
        print(resume_command(run.info.run_id))
        raise
    writer.flush()


def reference_policies(c: dict[str, Any], make_raw_env: Any) -> dict[str, Any]:
    """The plant's own controllers the trained policy is judged against, built for its plant.

    Operator practice (adjust mode only: in absolute mode there is no practice to add), the
    tuned PID and, where the process has one, the MPC on estimates (the information-matched
    reference of ``baseline:mpc_est``); the perfect-information oracle is left to the reports.
    """
    env = make_raw_env()
    obs_shape, act_shape = env.observation_space.shape, env.action_space.shape
    assert obs_shape is not None and act_shape is not None  # flat Box spaces
    if c["env"]["kwargs"].get("action_mode", "adjust") != "adjust":
        return {}
    process, kwargs = c["env"]["name"], c["env"]["kwargs"]
    refs: dict[str, Any] = {"operator": OperatorPolicy(act_shape[0])}
    refs["pid"] = load_baseline("pid", process, act_shape[0], plant_of(c), kwargs)
    if process in ESTIMATE_MPC:
        refs["mpc_est"] = resolve_policy(
            "baseline:mpc_est", process, obs_shape[0], act_shape[0], plant_of(c), kwargs
        )[0]
    return refs


def compare_with_references(
    c: dict[str, Any],
    model: Any,
    train_env: Any,
    make_eval_env: Any,
    title: str,
    make_raw_env: Any = None,
) -> dict[str, float]:
    """Policy, operator practice, PID and MPC on estimates on the same held-apart seeds.

    Prints and logs the table (``final_table.md``, ``kpi/*`` for the policy and
    ``kpi/<reference>/*`` for each reference) with the paired Δ return against every
    reference. With a residual base, ``make_eval_env`` builds the wrapped env the policy acts
    on and ``make_raw_env`` the plain one the references act on.
    """
    first = c["eval"]["first_seed"]
    seeds = range(first, first + c["eval"]["final_episodes"])
    vecnorm = train_env if isinstance(train_env, VecNormalize) else None
    name = c["agent"]["name"]
    make_raw_env = make_raw_env or make_eval_env
    results = {name: evaluate(make_policy(c["agent"])(model, vecnorm), make_eval_env, seeds)}
    for ref, policy in reference_policies(c, make_raw_env).items():
        results[ref] = evaluate(policy, make_raw_env, seeds)
    table = final_table(results)
    print_table(table, f"{title}: {len(seeds)} eval episodes, scenario {c['eval']['scenario']}")
    mlflow.log_text(table.to_markdown(), "final_table.md")
    for who, res in results.items():
        prefix = "kpi/" if who == name else f"kpi/{who}/"
        mlflow.log_metrics(
            {prefix + k: v for k, v in res.summary().items()}, step=model.num_timesteps
        )
    return results[name].summary()


def memory_settings(c: Mapping[str, Any]) -> MemoryConfig:
    """The job's window of unit results (its ``memory`` node), a clear ConfigError when invalid."""
    try:
        return memory_config(c.get("memory"))
    except ValueError as err:
        raise ConfigError(f"memory: {err}") from err


def build_train_env(c: Mapping[str, Any], residual: ResidualConfig, seed: int) -> Any:
    """The native vector env the agent learns on (the residual wrapper inside with a base; the
    paired-return wrapper below it with ``train.paired_reference``; the window of unit results
    outermost with ``memory=window``)."""
    env_kwargs = {k: v for k, v in c["env"]["kwargs"].items() if v is not None}
    return make_train_env(
        c["env"]["id"],
        c["train"]["n_envs"],
        seed,
        c["plant"],
        env_kwargs,
        c["train"]["normalize_obs"],
        c["train"]["normalize_reward"],
        float(c["agent"]["algo"].get("gamma", 0.99)),
        residual,
        c["train"].get("paired_reference"),
        memory_settings(c),
    )


def eval_env_makers(
    c: Mapping[str, Any], residual: ResidualConfig
) -> tuple[Callable[[], gym.Env], Callable[[], gym.Env]]:
    """``(make_raw_env, make_eval_env)`` of the ``eval.scenario`` episodes: the plain env (for
    the operator and the PID) and the env the policy acts on (the residual wrapper around it,
    and the window of unit results outermost: it reads the raw observation's columns)."""
    env_id = c["env"]["id"]
    kwargs = {k: v for k, v in c["env"]["kwargs"].items() if v is not None}
    eval_kwargs = {**kwargs, "scenario": c["eval"]["scenario"]}
    memory = memory_settings(c)

    def make_raw_env() -> gym.Env:
        return envs.make(env_id, plant=c["plant"], **eval_kwargs)

    def make_eval_env() -> gym.Env:
        env = make_raw_env()
        env = ResidualWrapper(env, residual) if residual.active else env
        return HistoryWrapper(env, memory) if memory.active else env

    return make_raw_env, make_eval_env


def train(cfg: DictConfig) -> dict[str, float]:
    """The whole job for a composed config (tests call it with ``hydra.compose``)."""
    # --- 1. config, validated before anything is created -------------------------------------
    check_init_from(cfg.get("init_from"), cfg.resume)
    c = resolve_config(cfg)
    validate_train_config(c)
    c["run_tags"] = check_run_tags(c.get("run_tags"))
    torch.set_num_threads(int(c["train"]["torch_threads"]))
    experiment_id = setup_tracking(c["tracking"])  # an unreachable server fails here, no run
    if c.get("resume") is not None:
        check_resumable(Path(c["resume"]))  # before anything is written to the run or its folder
    env_id, seed, resuming = c["env"]["id"], int(c["seed"]), c.get("resume") is not None
    # fine-tuning: the source pinned and checked against the job before any run exists
    source = None
    if c.get("init_from") is not None and not resuming:
        source = resolve_source(str(c["init_from"]), c["paths"]["checkpoints"])
        check_compatible(source.spec, source.config, c)
        c["init_from"] = source.spec  # the config records the pinned spec, never an alias
    residual = residual_settings(c)
    memory = memory_settings(c)

    # --- 2. envs: n plants per call for training, seeded single envs for evaluation ----------
    start = latest_checkpoint(c["resume"])[1] if resuming else 0
    train_env = build_train_env(c, residual, seed + start)
    make_raw_env, make_eval_env = eval_env_makers(c, residual)

    # --- 3. agent: new, or the interrupted run's last checkpoint ------------------------------
    run_id = None
    if resuming:
        model, train_env, run_id = load_checkpoint(c, train_env)
    else:
        model = build_agent(c["agent"], train_env, seed, action_names(c["env"]["id"]))
        if source is not None:
            warm_start(model, train_env, source)

    # --- 4. learn and evaluate inside one MLflow run -----------------------------------------
    title = f"{c['env']['name']}-{c['agent']['name']}-{c['plant_name']}-s{seed}"
    if residual.active:
        title += f"-on-{residual.base}"
    if memory.active:
        title += f"-window{memory.units}"
    with resumable_run(c, run_id, experiment_id, title) as run:
        run_dir = Path(c["resume"]) if resuming else record_new_run(c, run, env_id)
        if not resuming:
            lineage = lineage_run_tags(source, c["train"]["total_timesteps"]) if source else {}
            mlflow.set_tags({**c["run_tags"], **lineage})
        learn(c, model, run, run_dir, make_eval_env, resuming)
        summary = compare_with_references(c, model, train_env, make_eval_env, title, make_raw_env)
        log_learning_curve(run.info.run_id, title)

        # --- 5. the trained artefact: zip + normalisation + config, registered ---------------
        policy_dir = save_policy(model, train_env, run_dir / "final")
        obs_shape, act_shape = train_env.observation_space.shape, train_env.action_space.shape
        assert obs_shape is not None and act_shape is not None  # flat Box spaces
        shutil.copy(run_dir / "config.yaml", policy_dir / "config.yaml")
        tags = {
            "run_id": run.info.run_id,
            **plant_tags(plant_of(c)),
            "algorithm": c["agent"]["name"],
            "seed": str(seed),
            "residual_base": residual.base,
            **c["run_tags"],
            # lineage read back from the run's tags: a resumed fine-tuning run registers it too
            **lineage_version_tags(mlflow.get_run(run.info.run_id).data.tags),
        }
        reg = log_and_register_policy(
            policy_dir,
            policy_dir / "config.yaml",
            c["env"]["registered_model"],
            bool(c["register_model"]),
            tags,
            summary,
            obs_shape[0],
            act_shape[0],
        )
        mlflow.set_tag("model_uri", reg["model_uri"])  # what `evaluate policy=runs:/<id>` loads
        if reg["version"] is not None:
            print(
                f"registered {c['env']['registered_model']} version {reg['version']} from MLflow "
                f"run {run.info.run_id}; alias candidate on version {reg['candidate']}"
            )

    # --- 6. optional: the evaluation protocol on named scenario sets (experiments.evaluate) ----
    if c.get("evaluate_after"):
        evaluate_policy(
            {
                **c,
                "policy": f"runs:/{run.info.run_id}",
                "scenario_sets": list(c["evaluate_after"]),
                "episodes": None,
                "tracking": {**c["tracking"], "experiment": f"{c['env']['name']}-evaluation"},
            },
            c["plant_name"],
        )
    return summary


@hydra.main(version_base="1.3", config_path="../conf", config_name="train")
@readable_errors
def main(cfg: DictConfig) -> dict[str, float]:
    if cfg.resume is not None:  # a clear message for a step folder or the checkpoints root
        resume_folder(cfg.resume, cfg.paths.checkpoints)
    return train(cfg)


if __name__ == "__main__":
    start(main)
