"""Typed plant-parameter dataclasses: units, ranges, sources, validation, YAML loading.

Every process keeps its physical constants in one frozen dataclass whose fields are declared with
:func:`param`. The metadata (unit, admissible range, source) serves three purposes at once: it
validates values with an error that names the field, it produces the "Plant Parameters" table of
the env docstring (a test checks the two agree), and it lets the compiled cores receive the whole
set as one ``float64`` array built once (:meth:`PlantParams.to_array`), since numba kernels cannot
take dataclasses cheaply.

A *plant variant* is a parameter set plus optional randomisation ranges (``randomize`` in the
YAML): nothing else differs between variants, so a policy moves between them unchanged. A plant
is identified by its name plus :meth:`PlantVariant.plant_hash`, a stable hash of its full
parameter set and ranges (:meth:`PlantVariant.identity`): a variant given as overrides of a named
one keeps its own hash, so runs on it are never mistaken for runs on the named plant.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar, Self

import numpy as np
import yaml

from envs.core.layout import field_indices

__all__ = ["PLANT_HASH_CHARS", "PlantParams", "PlantVariant", "load_variant", "param"]

# hex digits of the SHA-256 kept as a plant's hash (64 bits: no collision among any number of
# plants a study will see, short enough for a tag and a run name)
PLANT_HASH_CHARS = 16


def param(
    default: float,
    *,
    unit: str,
    low: float,
    high: float,
    doc: str,
    source: str = "calibrated",
) -> Any:
    """Declare a physical parameter with its unit, admissible range and source.

    Args:
        default: nominal value.
        unit: engineering unit, e.g. ``"Nm3/min"`` or ``"-"``.
        low: smallest admissible value (inclusive).
        high: largest admissible value (inclusive).
        doc: one-line meaning.
        source: where the value comes from ("calibrated" when it was fitted here).
    """
    meta = {"unit": unit, "low": low, "high": high, "doc": doc, "source": source}
    return dataclasses.field(default=default, metadata=meta)


@dataclasses.dataclass(frozen=True)
class PlantParams:
    """Base class: validation, dict/array conversion and a documentation table."""

    process: ClassVar[str] = "plant"

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{type(self).__name__}.{f.name} must be a number, got {value!r}")
            if not math.isfinite(value):
                raise ValueError(f"{type(self).__name__}.{f.name} must be finite, got {value}")
            lo, hi = f.metadata["low"], f.metadata["high"]
            if not lo <= value <= hi:
                raise ValueError(
                    f"{type(self).__name__}.{f.name} = {value} {f.metadata['unit']} is outside "
                    f"its admissible range [{lo}, {hi}] ({f.metadata['doc']})"
                )

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> Self:
        """Build from a mapping, rejecting unknown keys with the list of valid ones."""
        unknown = sorted(set(values) - set(cls.field_names()))
        if unknown:
            raise ValueError(
                f"unknown {cls.__name__} parameter(s) {unknown}; valid names are: "
                f"{', '.join(cls.field_names())}"
            )
        return cls(**{k: float(v) for k, v in values.items()})

    def replace(self, **changes: float) -> Self:
        """Copy with some fields changed (validated like the constructor)."""
        return type(self).from_dict({**self.as_dict(), **changes})

    def as_dict(self) -> dict[str, float]:
        return {f.name: float(getattr(self, f.name)) for f in dataclasses.fields(self)}

    def to_array(self) -> np.ndarray:
        """Field values in declaration order, the layout the compiled cores index."""
        return np.array([getattr(self, n) for n in self.field_names()], dtype=np.float64)

    @classmethod
    def index(cls, name: str) -> int:
        return cls.field_names().index(name)

    @classmethod
    def indices(cls) -> Any:
        """Column of every field in :meth:`to_array` rows, as an IntEnum (``P.heat_size_t``):
        the parameter layout the compiled cores read by name (:mod:`envs.core.layout`)."""
        cached = cls.__dict__.get("_indices")
        if cached is None:
            names = cls.field_names()
            cached = field_indices(f"{cls.__name__}_params", names, range(len(names)))
            cls._indices = cached  # type: ignore[attr-defined]
        return cached

    @classmethod
    def doc_table(cls) -> list[tuple[str, str, float, float, float, str]]:
        """Rows ``(name, unit, default, low, high, source)`` for docs and tests."""
        rows = []
        for f in dataclasses.fields(cls):
            m = f.metadata
            default = float(f.default)  # type: ignore[arg-type]  # every field has a default
            rows.append((f.name, str(m["unit"]), default, m["low"], m["high"], str(m["source"])))
        return rows


@dataclasses.dataclass(frozen=True)
class PlantVariant:
    """A named parameter set plus uniform randomisation ranges (domain randomisation).

    Attributes:
        name: variant name, e.g. ``"bof_250t"``.
        params: nominal parameters of this plant.
        randomize: ``{field: (low, high)}`` drawn uniformly per episode when randomisation is on.
        description: one line for tables and model cards.
    """

    name: str
    params: PlantParams
    randomize: Mapping[str, tuple[float, float]] = dataclasses.field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        cls = type(self.params)
        for key, bounds in self.randomize.items():
            if key not in cls.field_names():
                raise ValueError(
                    f"variant {self.name!r}: cannot randomise unknown parameter {key!r}; "
                    f"valid names are: {', '.join(cls.field_names())}"
                )
            lo, hi = bounds
            cls.from_dict({**self.params.as_dict(), key: lo})
            cls.from_dict({**self.params.as_dict(), key: hi})
            if lo > hi:
                raise ValueError(f"variant {self.name!r}: randomize.{key} has low > high")

    def draws_parameters(self, randomize: bool) -> bool:
        """Whether an env asked to ``randomize`` draws parameters: only with ranges to draw from
        (asked without any, it warns that every episode keeps the nominal parameters)."""
        if randomize and not self.randomize:
            warnings.warn(
                f"randomize=True, but plant {self.name!r} has no randomisation ranges: every "
                "episode keeps its nominal parameters (add a randomize: section to its YAML)",
                stacklevel=3,
            )
        return randomize and bool(self.randomize)

    def canonical(self) -> dict[str, Any]:
        """The full parameter set as plain data: the process, every parameter (defaults
        included, as floats) and the randomisation ranges; not the name or description."""
        return {
            "process": type(self.params).process,
            "params": self.params.as_dict(),
            "randomize": {k: [float(lo), float(hi)] for k, (lo, hi) in self.randomize.items()},
        }

    def plant_hash(self) -> str:
        """SHA-256 prefix of :meth:`canonical` as sorted, compact JSON: the same in every process
        and Python run (no ``hash()``, floats written exactly), different for any parameter or
        range that differs."""
        text = json.dumps(self.canonical(), sort_keys=True, separators=(",", ":"), allow_nan=False)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()[:PLANT_HASH_CHARS]

    def identity(self) -> tuple[str, str]:
        """``(name, plant_hash)``: what runs are tagged with; comparisons go by the hash."""
        return self.name, self.plant_hash()

    def renamed(self, name: str) -> PlantVariant:
        """The same plant under another name (its hash does not change)."""
        return dataclasses.replace(self, name=name)

    def randomization_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-field (low, high) arrays; fields not randomised have low == high == nominal."""
        base = self.params.to_array()
        lo, hi = base.copy(), base.copy()
        names = type(self.params).field_names()
        for key, (a, b) in self.randomize.items():
            i = names.index(key)
            lo[i], hi[i] = a, b
        return lo, hi


def load_variant(
    path: str | Path, params_cls: type[PlantParams], name: str | None = None
) -> PlantVariant:
    """Load a plant variant from a YAML file of the ``envs/conf/plant/`` layout.

    The file holds ``params:`` (overrides of the dataclass defaults), optional ``randomize:``
    (``field: [low, high]``) and ``description:``. Other top-level keys are rejected so that a
    typo fails loudly.
    """
    path = Path(path)
    data = yaml.safe_load(path.read_text()) or {}
    return variant_from_mapping(data, params_cls, name or path.stem)


def variant_from_mapping(
    data: Mapping[str, Any], params_cls: type[PlantParams], name: str
) -> PlantVariant:
    """Build a :class:`PlantVariant` from a mapping (a parsed YAML file or a Hydra node)."""
    allowed = {"params", "randomize", "description", "name", "process", "_target_"}
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise ValueError(
            f"plant variant {name!r}: unknown key(s) {unknown}; valid keys are {sorted(allowed)}"
        )
    process = data.get("process")
    if process is not None and process != params_cls.process:
        raise ValueError(
            f"plant variant {name!r} is for process {process!r}, not {params_cls.process!r}"
        )
    params = params_cls.from_dict(dict(data.get("params") or {}))
    # a null range means "not randomised" (the command-line plants list every field that way)
    ranges = (data.get("randomize") or {}).items()
    randomize = {k: (float(v[0]), float(v[1])) for k, v in ranges if v is not None}
    return PlantVariant(
        name=str(data.get("name", name)),
        params=params,
        randomize=randomize,
        description=str(data.get("description", "")),
    )
