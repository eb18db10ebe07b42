"""Declared array layouts: every row a compiled core indexes is a named list of fields.

A process core keeps its plants in float arrays (parameters, derived constants, state, noise
words, observation, KPIs), one row per plant, because numba kernels over plain arrays are what
makes the plants fast (DESIGN.md, "Process core"). What each column means is declared *once*, in
the process's ``layout.py``, as a :class:`Layout` — an ordered list of :class:`Field` (name,
unit, range, meaning, and a size for blocks such as one entry per actuator). Everything else is
generated from that list:

- ``layout.at`` — the column indices as an ``IntEnum`` (``X = STATE.at``; ``x[X.temp_k]``).
  numba resolves an IntEnum member at compile time to its integer, so physics code reads names
  at no run-time cost against a hand-numbered ``X_TEMP = 14``. (An IntEnum, not a NamedTuple:
  both run equally fast, but a global NamedTuple of ~200 ints is rebuilt as a constant at every
  use in the IR, measured 4.8 s against 1.1 s to compile 200 reads — the paint core's compile
  grew by 3.5 s with NamedTuple indices.);
- ``len(layout)`` — the row width; ``layout.names``, ``layout.units``, ``layout.low``,
  ``layout.high`` — what docs, Gymnasium spaces and info dicts need;
- :meth:`Layout.dict_of` — a row as a ``{name: value}`` dict.

A repeated block (one set of fields per paint layer) is a :class:`Layout` of its own placed into
a parent as a field of size ``n_blocks * len(block)``: ``x[X.layers + layer * len(XL) + XL.dft]``
with ``XL = LAYER_STATE.at`` and the stride named once in the layout module as
``LAYER_STRIDE = len(LAYER_STATE)``.

Parameters are declared by the process's dataclass (:class:`envs.core.params.PlantParams`); its
``indices()`` is the same kind of IntEnum (``P = BOFParams.indices()``; ``p[P.heat_size_t]``).
"""

from __future__ import annotations

import enum
import keyword
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["ControlledVariable", "Field", "Layout", "field_indices"]


@dataclass(frozen=True)
class Field:
    """One named column (or block of ``size`` columns) of a layout.

    Attributes:
        name: Python identifier, unique within its layout (``"temp_k"``).
        unit: Engineering unit (``"K"``, ``"kg"``, ``"-"``).
        low: Smallest meaningful value (observation fields: the Box's lower bound).
        high: Largest meaningful value (observation fields: the Box's upper bound).
        doc: One-line meaning (why the column exists where it is not obvious).
        size: Number of consecutive columns (a block: per actuator, per layer, ...).
    """

    name: str
    unit: str = "-"
    low: float = -math.inf
    high: float = math.inf
    doc: str = ""
    size: int = 1

    def __post_init__(self) -> None:
        if not self.name.isidentifier() or keyword.iskeyword(self.name):
            raise ValueError(f"field name must be a Python identifier, got {self.name!r}")
        if int(self.size) != self.size or self.size < 0:
            raise ValueError(f"field {self.name!r}: size must be a whole number ≥ 0")
        if self.low > self.high:
            raise ValueError(f"field {self.name!r}: low {self.low} > high {self.high}")


FieldLike = Field | str | tuple[Any, ...]


def _as_field(spec: FieldLike) -> Field:
    if isinstance(spec, Field):
        return spec
    if isinstance(spec, str):
        return Field(spec)
    return Field(*spec)


def field_indices(kind: str, names: Sequence[str], offsets: Sequence[int]) -> Any:
    """An ``IntEnum`` ``{name: offset}`` (class named after ``kind``) — the constant indices a
    compiled core reads. Fields at the same offset (a block of size 0) become aliases."""
    cls_name = "".join(part.capitalize() for part in kind.replace("-", "_").split("_")) + "Index"
    return enum.IntEnum(cls_name, [(n, int(o)) for n, o in zip(names, offsets, strict=True)])


class Layout:
    """An ordered list of fields: the meaning of every column of one kind of array row.

    Args:
        kind: What the rows are (``"state"``, ``"observation"``), used in messages and names.
        fields: :class:`Field` objects, or plain names, or ``(name, unit, low, high, doc, size)``
            tuples, in column order.

    >>> STATE = Layout("state", [Field("mass", "kg"), Field("temp", "K"), Field("act", size=2)])
    >>> X = STATE.at
    >>> (int(X.mass), int(X.temp), int(X.act), len(STATE))
    (0, 1, 2, 4)
    >>> STATE.dict_of(np.array([5.0, 300.0, 1.0, 2.0]))
    {'mass': 5.0, 'temp': 300.0, 'act': [1.0, 2.0]}
    """

    def __init__(self, kind: str, fields: Iterable[FieldLike]) -> None:
        self.kind = kind
        self.fields: tuple[Field, ...] = tuple(_as_field(f) for f in fields)
        names = [f.name for f in self.fields]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"{kind} layout declares {duplicates} more than once")
        offsets, total = [], 0
        for f in self.fields:
            offsets.append(total)
            total += f.size
        self.size = total
        self.offsets: tuple[int, ...] = tuple(offsets)
        self.at = field_indices(kind, names, offsets)

    def __len__(self) -> int:
        return self.size

    def __repr__(self) -> str:
        return f"Layout({self.kind!r}, {len(self.fields)} fields, {self.size} columns)"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    @property
    def units(self) -> tuple[str, ...]:
        return tuple(f.unit for f in self.fields)

    @property
    def low(self) -> np.ndarray:
        """Lower bounds per column (float64, blocks repeated)."""
        return np.array([f.low for f in self.fields for _ in range(f.size)], dtype=np.float64)

    @property
    def high(self) -> np.ndarray:
        """Upper bounds per column (float64, blocks repeated)."""
        return np.array([f.high for f in self.fields for _ in range(f.size)], dtype=np.float64)

    def index_map(self) -> dict[str, int]:
        """``{name: column}`` of every field (aliases included)."""
        return dict(zip(self.names, self.offsets, strict=True))

    def index(self, name: str) -> int:
        """Column of field ``name``; a ``KeyError`` lists the valid names."""
        try:
            return self.offsets[self.names.index(name)]
        except ValueError:
            valid = list(self.names)
            raise KeyError(f"{self.kind} has no field {name!r}; fields: {valid}") from None

    def table(self) -> list[tuple[str, str, float, float]]:
        """Rows ``(name, unit, low, high)``: the layout as documentation tables show it."""
        return [(f.name, f.unit, f.low, f.high) for f in self.fields]

    def dict_of(self, row: np.ndarray) -> dict[str, Any]:
        """One row as ``{name: float}`` (blocks as lists of floats)."""
        values = row.tolist()  # Python floats, in one call
        out: dict[str, Any] = {}
        for f, o in zip(self.fields, self.offsets, strict=True):
            out[f.name] = values[o] if f.size == 1 else values[o : o + f.size]
        return out


@dataclass(frozen=True)
class ControlledVariable:
    """A quantity the plant is controlled to, as reports plot it against its aim and band.

    A process's layout declares its ``CONTROLLED`` variables (and ``STEP_LABEL``, what one step
    is), so reports draw every process without knowing which one it is.

    Attributes:
        info: The info dict that holds it each step (``"truth"`` or ``"product_kpi"``).
        key: Its name in that dict.
        aim: The parameter holding its aim.
        band: Half-width of the acceptance band around the aim: a number in the variable's
            unit, or the name of the parameter holding it.
        label: Axis label with the unit.
        log_scale: Plot on a logarithmic axis.
    """

    info: str
    key: str
    aim: str
    band: float | str
    label: str
    log_scale: bool = False

    def aim_and_band(self, params: Any) -> tuple[float, float]:
        """The aim and band half-width for a plant's parameter set."""
        band = getattr(params, self.band) if isinstance(self.band, str) else self.band
        return float(getattr(params, self.aim)), float(band)
