"""The basic-oxygen-furnace (BOF) blow: the process's public API.

What ``agents/`` and ``experiments/`` may use; they never import the compiled step
(:mod:`envs.steel.core`) or the physics (:mod:`envs.steel.physics`). Files, in order of
dependency: ``params`` (the parameter dataclass) → ``layout`` (every array row declared once) →
``physics`` (per-plant functions) → ``core`` (the step and the batch kernels) → ``batch``
(``BOFBatch``) → ``env`` (the Gymnasium envs), with ``practice`` (operator practice runs),
``render`` (the plot), ``rollout`` (the planning entry of the MPC oracle) and ``profile``
(benchmark-only kernels).

>>> from envs.steel import BOFEnv, layout
>>> BOFEnv().observation_space.shape == (len(layout.OBSERVATION),)
True
"""

from __future__ import annotations

from envs.steel import layout
from envs.steel.batch import BOFBatch, actuator_specs
from envs.steel.core import (
    DEAD_BAND,
    END_RATE_PER_MIN,
    END_SPAN,
    LIME_TRIM_KG_T,
    ORE_TRIM_KG_T,
    coolant_action,
    end_action,
)
from envs.steel.env import BOFEnv, BOFVectorEnv, resolve_bof_scenario, resolve_bof_variant
from envs.steel.params import BOFParams
from envs.steel.practice import HeatTrajectory, run_practice_heat
from envs.steel.scoring import hit_flags, hit_rate_ceiling, kpi_dict, offgrade_cost

# the process's names for the shared resolvers: ``envs.steel.resolve_variant("bof_250t")``
resolve_variant = resolve_bof_variant
resolve_scenario = resolve_bof_scenario

__all__ = [
    "DEAD_BAND",
    "END_RATE_PER_MIN",
    "END_SPAN",
    "LIME_TRIM_KG_T",
    "ORE_TRIM_KG_T",
    "BOFBatch",
    "BOFEnv",
    "BOFParams",
    "BOFVectorEnv",
    "HeatTrajectory",
    "actuator_specs",
    "coolant_action",
    "end_action",
    "hit_flags",
    "hit_rate_ceiling",
    "kpi_dict",
    "layout",
    "offgrade_cost",
    "resolve_scenario",
    "resolve_variant",
    "run_practice_heat",
]
