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
| ``experiments.studies.mpc_convergence`` | is the MPC oracle converged? ``results/<process>/`` |

Shared code lives in :mod:`experiments.lib` (tracking, registry, statistics, tables, scenario
sets, policy specs); library modules never import an entry point.

Importing the package registers the ``${plantrl_root:}`` OmegaConf resolver the configs use to
build absolute paths (Hydra never changes the working directory).
"""

from pathlib import Path

from omegaconf import OmegaConf

OmegaConf.register_new_resolver(
    "plantrl_root", lambda: str(Path(__file__).resolve().parents[1]), replace=True
)
