"""Compile options of the hot loops (the per-plant loops of every process core) and their helpers.

numba keeps arrays alive with atomic reference counts (its runtime, "NRT"). A view such as
``state[i]`` taken inside a loop is counted up and down on every iteration unless numba's pruning
pass can prove the pair redundant, which it cannot once the loop body branches or calls a
compiled function (measured in development, 128 plants in cache: a loop that reads three row
views, branches and writes ten observations took ≈ 42 ns per plant with the counts, ≈ 12 ns
without). The plant loops only *read and write* arrays their caller owns and never allocate,
so they need no reference counts at all: :func:`hot_loop` compiles them without the runtime. A
function so compiled cannot allocate (``np.empty`` fails at compile time with a typing error),
which is why the loops take their scratch arrays from the caller. Under ``NUMBA_DISABLE_JIT=1``
the options are ignored and the loops run as Python.

``_nrt`` is a numba compile option (``numba.core.options``) that numba's own tests use; numba is
pinned (pyproject), and a change of this option breaks the compile of every core at import, not
their numbers.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numba import njit

__all__ = ["Index", "active_block", "bound_entry", "copy_row", "hot_loop", "whole_block"]

Index = int | np.integer[Any]  # an index or count passed to a hot loop (int64 inside compiled code)

F = TypeVar("F", bound=Callable[..., object])


def hot_loop(fn: F) -> F:
    """``njit(cache=True, error_model="numpy")`` without reference counting (see module doc)."""
    options: dict[str, Any] = {"cache": True, "error_model": "numpy", "_nrt": False}
    return njit(**options)(fn)  # type: ignore[no-any-return]


def bound_entry(kernel: Callable[..., Any], *example_args: Any) -> Callable[..., Any]:
    """The compiled entry of ``kernel`` for the types of ``example_args``, callable without
    numba's per-call type dispatch.

    A kernel that takes a bundle of plants (:class:`envs.core.bundle.Plants`, a NamedTuple of
    ~20 arrays) would pay ≈ 3 µs per call for the dispatcher to type the bundle — a quarter of a
    single env's step; the entry of the compiled overload unboxes it in ≈ 0.1 µs (measured in
    development: 0.35 µs per call against 1.4 µs for the same kernel with 20 positional
    arguments through the dispatcher). The batch that owns the bundle builds the entry once,
    with arguments of the types it will always pass (the entry does not check them). Under
    ``NUMBA_DISABLE_JIT=1`` the kernel itself is returned.
    """
    compile_for = getattr(kernel, "compile", None)
    if compile_for is None:  # NUMBA_DISABLE_JIT: a plain Python function
        return kernel
    from numba import typeof

    signature = tuple(typeof(a) for a in example_args)
    compile_for(signature)
    return kernel.overloads[signature].entry_point  # type: ignore[attr-defined,no-any-return]


@njit(cache=True, inline="always")
def copy_row(src: np.ndarray, dst: np.ndarray, i: int) -> None:
    """``dst[i] = src[i]`` element by element (a whole-row assignment needs the runtime)."""
    for j in range(src.shape[1]):
        dst[i, j] = src[i, j]


@hot_loop
def active_block(active, lo, hi, idx, reward, obs, obs_out):  # type: ignore[no-untyped-def]
    """The active plants of [lo, hi) into ``idx``, returning how many; an inactive plant (just
    reset by a next-step autoreset) gets reward 0 and its reset observation copied out."""
    m = 0
    for i in range(lo, hi):
        if active[i]:
            idx[m] = i
            m += 1
        else:
            reward[i] = 0.0
            copy_row(obs, obs_out, i)
    return m


@njit(cache=True, inline="always")
def whole_block(lo: int, hi: int, idx: np.ndarray) -> int:
    """Every plant of [lo, hi) into ``idx`` (a block where all plants step), returning how many;
    the benchmark's kernels and part timings walk the batch in the step's blocks with it."""
    for k in range(hi - lo):
        idx[k] = lo + k
    return hi - lo
