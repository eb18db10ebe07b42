"""Spec helpers shared by the sensor and the disturbance parts: build a spec dataclass from a
mapping (rejecting unknown keys), merge a scenario's overrides into default specs, check a field's
range with a message naming it, and clip a value the way the compiled banks do."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import fields
from numbers import Real
from typing import Any, TypeVar

from numba import njit

__all__ = ["check_field", "clip_value", "merge_specs", "spec_from_dict"]

T = TypeVar("T")


def spec_from_dict(cls: type[T], data: Mapping[str, Any]) -> T:
    """Build a spec dataclass from a mapping, rejecting unknown keys.

    Args:
        cls: A dataclass type.
        data: Field values by name (e.g. a YAML / Hydra node).

    Returns:
        The constructed ``cls`` instance.

    Raises:
        ValueError: If ``data`` holds a key that is not a field; the message lists the valid ones.
    """
    valid = [f.name for f in fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(str(key) for key in data if key not in valid)
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown key(s) {unknown}; valid keys are {valid}")
    return cls(**data)


def merge_specs(
    defaults: Mapping[str, T],
    overrides: Mapping[str, Mapping[str, Any]] | None,
    spec_cls: type[T],
    what: str,
) -> dict[str, T]:
    """Default specs with per-name field overrides (a scenario's sensor faults or drifts).

    Args:
        defaults: Spec per name (``SensorSpec`` or ``DriftSpec``), in order.
        overrides: ``{name: {field: value}}``; the named fields replace the default's.
        spec_cls: The spec class (for ``from_dict`` validation).
        what: Word used in the error message (``"sensor"``, ``"drift"``).

    Raises:
        ValueError: For an unknown name (listing the valid ones) or field.
    """
    merged = dict(defaults)
    for name, fields_ in (overrides or {}).items():
        if name not in merged:
            raise ValueError(f"unknown {what} {name!r}; valid {what}s: {sorted(merged)}")
        base = merged[name]
        current = {f.name: getattr(base, f.name) for f in fields(base)}  # type: ignore[arg-type]
        merged[name] = spec_from_dict(spec_cls, {**current, **dict(fields_)})
    return merged


def check_field(
    owner: str, name: str, value: Any, low: float = 0.0, high: float = math.inf, finite: bool = True
) -> None:
    """Raise ``ValueError`` naming ``owner.name`` unless ``value`` is a number in [low, high].

    Args:
        owner: Class name used in the message.
        name: Field name used in the message.
        value: Value to check.
        low: Smallest allowed value.
        high: Largest allowed value.
        finite: Whether ±inf is rejected.
    """
    ok = isinstance(value, Real) and not isinstance(value, bool)
    ok = ok and low <= value <= high and (math.isfinite(value) or not finite)
    if not ok:
        kind = "a finite number" if finite else "a number"
        raise ValueError(f"{owner}.{name} must be {kind} in [{low}, {high}], got {value!r}")


@njit(cache=True)
def clip_value(x: float, low: float, high: float) -> float:
    """Clip ``x`` to [low, high] with comparisons only, so a NaN passes through unchanged."""
    if x < low:
        return low
    if x > high:
        return high
    return x
