"""What an exported policy outputs: one command per actuator, in engineering units.

A policy acts in [-1, 1]; a controller runtime next to a DCS expects engineering units. Each
actuator gets a :class:`CommandHead` that maps the normalised action ``a`` to its command

    y = offset + scale · f(a),   clipped to [low, high],

with ``f`` the identity or the process's dead band (``f(a) = sign(a)·max(|a| − d, 0)/(1 − d)``).
The exported ONNX graph applies exactly this (:mod:`agents.onnx_export`); :meth:`command` is its
NumPy reference and :meth:`action` the inverse the actuator side applies (an exact inverse where
``f`` is the identity; inside the dead band every ``a`` commands 0, and the plant only ever reads
the dead-banded value, so the inverse's 0 acts the same).

| action mode | command | offset | scale | clipped to |
| --- | --- | --- | --- | --- |
| ``absolute`` | the set-point | (low + high)/2 | (high − low)/2 | [low, high] |
| ``adjust`` | the trim on standard practice | 0 | the trim unit | ± scale |
| residual | the correction on the base | 0 | base scale × trim unit | ± scale |

(A trim on the practice is how such controllers are deployed: the DCS keeps its recipe.)

Trim units are the actuator's adjust span (:class:`envs.core.actions.ActuatorSpec`), except on
the BOF, whose feeders and end point are trims of the heat, not of a set-point
(the adjust rule of the BOF core):

| output | unit | adjust mode: the plant applies |
| --- | --- | --- |
| ``ore_feed_trim`` | kg/t | the heat's ore in the practice window ± trim (see below) |
| ``lime_feed_trim`` | kg/t | the heat's lime in the practice window ± trim |
| ``end_oxygen_trim`` | % | end-of-blow oxygen command = plan · (1 + trim/100), dead band included |

An ore trim above the plan goes through the dead band; after the sub-lance the ore lever is
the coolant feed, span · max(db(trim/unit), 0) kg/min.

A residual correction is summed with its base in normalised units,
``a = clip(a_base + y/unit, −1, 1)`` per actuator (``unit`` = the head's trim unit, see
:attr:`CommandHead.unit_scale`), and the plant then applies its adjust rule to ``a``: the
dead band acts on the sum, so the correction's head is linear.

>>> from envs.core.actions import ActuatorSpec
>>> spec = ActuatorSpec("o2_flow", "Nm3/min", 600.0, 1000.0, 100.0, rate_limit=20.0)
>>> head = command_heads("generic", [spec], "absolute")[0]
>>> float(head.command(np.array([0.5]))[0]), float(head.action(np.array([900.0]))[0])
(900.0, 0.5)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from envs.core.actions import ActuatorSpec

__all__ = ["CommandHead", "command_heads", "heads_from_dicts"]

FloatArray = npt.NDArray[np.float64]


@dataclasses.dataclass(frozen=True)
class CommandHead:
    """One output of an exported policy.

    Attributes:
        name: Output name, e.g. ``"oxygen_flow_trim"`` or ``"oxygen_flow"`` (a set-point).
        actuator: The actuator it commands.
        unit: Unit of the command.
        offset: Command for a = 0 (before clipping), ``unit``.
        scale: Command change per unit of ``f(a)``, ``unit``.
        dead_band: ``d`` of ``f`` (0: linear).
        low: Smallest command, ``unit``. high: Largest command, ``unit``.
        unit_scale: Trim unit of a residual head (its ``scale`` without the base's scale); equals
            ``scale`` otherwise.
        meaning: What the plant does with it, in words.
    """

    name: str
    actuator: str
    unit: str
    offset: float
    scale: float
    dead_band: float
    low: float
    high: float
    unit_scale: float
    meaning: str

    def command(self, action: npt.ArrayLike) -> FloatArray:
        """Commands for normalised actions (the graph's arithmetic, in float64)."""
        a = np.clip(np.asarray(action, dtype=np.float64), -1.0, 1.0)
        if self.dead_band > 0.0:
            a = np.sign(a) * np.maximum(np.abs(a) - self.dead_band, 0.0) / (1.0 - self.dead_band)
        return np.clip(self.offset + self.scale * a, self.low, self.high)

    def action(self, command: npt.ArrayLike) -> FloatArray:
        """The normalised action the plant's rule reads from ``command`` (inverse of
        :meth:`command`, clipped to [-1, 1])."""
        g = (np.asarray(command, dtype=np.float64) - self.offset) / self.scale
        if self.dead_band > 0.0:
            d = self.dead_band
            g = np.where(g == 0.0, 0.0, np.sign(g) * (d + (1.0 - d) * np.minimum(np.abs(g), 1.0)))
        return np.clip(g, -1.0, 1.0)


def _bof_trims() -> dict[str, tuple[str, float, float, str]]:
    """BOF actuators whose adjust-mode trim is not a set-point span: name → (unit, trim unit,
    dead band, meaning)."""
    from envs.steel import DEAD_BAND, END_SPAN, LIME_TRIM_KG_T, ORE_TRIM_KG_T

    return {
        "ore_feed": (
            "kg/t",
            ORE_TRIM_KG_T,
            0.0,
            "trim of the heat's ore in the practice window (10-50 % of the planned oxygen); "
            "after the sub-lance, coolant ore at span * max(db(trim/unit), 0) kg/min",
        ),
        "lime_feed": (
            "kg/t",
            LIME_TRIM_KG_T,
            0.0,
            "trim of the heat's lime in the practice window (0-30 % of the planned oxygen)",
        ),
        "end_oxygen": (
            "%",
            100.0 * END_SPAN,
            DEAD_BAND,
            "end-of-blow oxygen command = plan * (1 + trim/100); the plant moves its end target "
            "at most 1 % of plan per minute and never stops before the sub-lance reading",
        ),
    }


def command_heads(
    process: str,
    specs: Sequence[ActuatorSpec],
    action_mode: str,
    residual_scale: float | None = None,
) -> list[CommandHead]:
    """The command heads of a policy of ``process`` acting on actuators ``specs``.

    Args:
        process: ``"bof"``, ``"paint"`` (any other name: every trim is its adjust span).
        specs: The plant's actuators, in action order (the exported plant's limits and spans).
        action_mode: ``"adjust"`` or ``"absolute"``.
        residual_scale: The base's scale of a residual correction (its ``base.scale``); None for
            a policy that commands on its own.

    Raises:
        ValueError: an unknown action mode, or a residual policy outside adjust mode.
    """
    if action_mode not in ("adjust", "absolute"):
        raise ValueError(f"action_mode must be 'adjust' or 'absolute', got {action_mode!r}")
    if residual_scale is not None and action_mode != "adjust":
        raise ValueError("a residual correction acts in adjust mode only")
    trims = _bof_trims() if process == "bof" else {}
    heads = []
    for spec in specs:
        if action_mode == "absolute":
            mid, half = 0.5 * (spec.low + spec.high), 0.5 * (spec.high - spec.low)
            heads.append(
                CommandHead(
                    spec.name,
                    spec.name,
                    spec.unit,
                    mid,
                    half,
                    0.0,
                    spec.low,
                    spec.high,
                    half,
                    f"set-point, clipped to [{spec.low:g}, {spec.high:g}] {spec.unit}",
                )
            )
            continue
        unit, unit_scale, dead_band, meaning = trims.get(
            spec.name,
            (
                spec.unit,
                spec.adjust_span,
                0.0,
                f"trim on standard practice: set-point = practice + trim, clipped to "
                f"[{spec.low:g}, {spec.high:g}] {spec.unit}",
            ),
        )
        scale = unit_scale
        if residual_scale is not None:
            scale, dead_band = residual_scale * unit_scale, 0.0
            meaning = (
                f"correction on the base controller: a = clip(a_base + y/{unit_scale:g}, -1, 1), "
                f"then {meaning}"
            )
        heads.append(
            CommandHead(
                f"{spec.name}_trim",
                spec.name,
                unit,
                0.0,
                scale,
                dead_band,
                -scale,
                scale,
                unit_scale,
                meaning,
            )
        )
    return heads


def heads_from_dicts(rows: Sequence[Mapping[str, Any]]) -> list[CommandHead]:
    """Heads from their ``dataclasses.asdict`` rows (a model card, an ONNX file's metadata)."""
    fields = {f.name for f in dataclasses.fields(CommandHead)}
    heads = []
    for row in rows:
        missing = fields - set(row)
        if missing:
            raise ValueError(f"command head {row.get('name', '?')!r} lacks {sorted(missing)}")
        head = CommandHead(**{k: row[k] for k in fields})
        if not (math.isfinite(head.scale) and head.scale > 0):
            raise ValueError(f"command head {head.name!r}: scale must be > 0, got {head.scale}")
        heads.append(head)
    return heads
