"""plantrl jobs: entry points (``python -m experiments.<job>``) and the library they share.

| entry point | job |
| --- | --- |
| ``experiments.train`` | train a policy, compare it with the operator, track, register (Hydra) |
| ``experiments.evaluate`` | a policy or baseline on named scenario sets, tracked (Hydra) |
| ``experiments.report`` | ``results/<process>/report.md`` + figures from MLflow (Hydra) |
| ``experiments.demo_bof`` | 64 heats of the operator practice and their KPIs (no training) |
| ``experiments.benchmarks.{envs,training}`` | ``make bench``: ``results/benchmarks/*.md`` |
| ``experiments.calibration.{bof,paint}`` | fit a process's unsourced constants |
| ``experiments.tuning.pid`` | tune a PID baseline once, write its gains into ``conf/baselines/`` |
| ``experiments.tune`` | Optuna search of an agent's hyper-parameters → ``conf/hparams`` (Hydra) |
| ``experiments.benchmarks.against`` | env speed of this checkout against another revision (A/B) |
| ``experiments.studies.mpc_convergence`` | is the MPC oracle (or on estimates) converged? |
| ``experiments.studies.{audit_bof,audit_paint}`` | the plants against the version step's targets |
| ``experiments.studies.exploration_noise`` | the practice under Gaussian action noise |
| ``experiments.studies.main_job`` | run the main job, write ``results/bof/main_job.md`` |

Shared code lives in :mod:`experiments.lib` (tracking, registry, statistics, tables, scenario
sets, policy specs); library modules never import an entry point.

Importing the package registers the OmegaConf resolvers the configs use: ``${plantrl_root:}``
builds absolute paths (Hydra never changes the working directory), ``${plantrl_envs_groups:}``
lists in ``--help`` the config groups that live in ``envs/conf`` (Hydra's help lists only those
of ``conf/``, not those it finds on ``hydra.searchpath``).
"""

from pathlib import Path

from omegaconf import OmegaConf


def _envs_groups() -> str:
    """``plant: …`` and ``scenarios/<process>: …`` lines, as Hydra's help lists a group."""
    import envs  # lazily: only ``--help`` asks
    from envs.core.config import PLANT_DIR, SCENARIO_DIR

    def options(folder: Path) -> str:
        return ", ".join(sorted(p.stem for p in folder.glob("*.yaml")))

    lines = [f"plant: {options(PLANT_DIR)}"]
    # the command-line plants (experiments.lib.plants): a process's defaults, every field listed
    custom = ", ".join(f"{name}_custom" for name in sorted(envs.processes()))
    lines.append(f"plant (given on the command line, plant.params.<field>=…): {custom}")
    lines += [
        f"scenarios/{d.name}: {options(d)}" for d in sorted(SCENARIO_DIR.iterdir()) if d.is_dir()
    ]
    return "\n".join(lines)


OmegaConf.register_new_resolver(
    "plantrl_root", lambda: str(Path(__file__).resolve().parents[1]), replace=True
)
OmegaConf.register_new_resolver("plantrl_envs_groups", _envs_groups, replace=True)
