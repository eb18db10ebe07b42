"""The automotive paint line (basecoat + clearcoat): the public API of the process.

What ``agents/`` and ``experiments/`` may use: the envs, the batch and its bundle, the plant
parameters and their resolution, the actuators, the operator's recipe and production runs, and
the declared layouts (``from envs.paint import layout``). The MPC oracle plans through
:mod:`envs.paint.rollout`. The compiled kernels (:mod:`envs.paint.core`,
:mod:`envs.paint.physics`, :mod:`envs.paint.oven`, :mod:`envs.paint.derive`) are internal.

Modules, in order of dependency: ``params`` → ``layout`` → ``physics`` → ``oven`` → ``derive``
→ ``core`` → ``batch`` → ``env`` (+ ``practice``, ``render``, ``rollout``, ``profile``).
"""

from envs.paint import layout
from envs.paint.batch import PaintBatch, actuator_specs, new_paint_plants
from envs.paint.env import (
    PaintEnv,
    PaintVectorEnv,
    body_kpi_dict,
    resolve_paint_scenario,
    resolve_paint_variant,
    shift_kpi_dict,
)
from envs.paint.oven import cure_alpha
from envs.paint.params import LAYERS, STYLES, PaintLineParams
from envs.paint.physics import KELVIN, R_GAS
from envs.paint.practice import ProductionRun, build_banks, cpk, recipe_setpoints, run_production

# the process's names for the shared resolvers: ``envs.paint.resolve_variant("paint_50jph")``
resolve_variant = resolve_paint_variant
resolve_scenario = resolve_paint_scenario

__all__ = [
    "KELVIN",
    "LAYERS",
    "R_GAS",
    "STYLES",
    "PaintBatch",
    "PaintEnv",
    "PaintLineParams",
    "PaintVectorEnv",
    "ProductionRun",
    "actuator_specs",
    "body_kpi_dict",
    "build_banks",
    "cpk",
    "cure_alpha",
    "layout",
    "new_paint_plants",
    "recipe_setpoints",
    "resolve_paint_scenario",
    "resolve_paint_variant",
    "resolve_scenario",
    "resolve_variant",
    "run_production",
    "shift_kpi_dict",
]
