"""Random inputs of the compiled step: raw bits drawn outside it, turned into numbers in the kernel.

Randomness stays outside the physics kernels (DESIGN.md): each plant's own seeded stream
(:mod:`envs.core.streams`, a counter-based Philox generator) fills the random words of a step
for all plants in one compiled call and the batch passes the array in; :func:`draw_bits` draws
the same kind of words from an ``np.random.Generator`` for callers outside the envs (studies,
tests, benchmarks). What is drawn is raw bits, not normals: ``rng.standard_normal`` costs
11–15 ns per sample on these machines (ECOSYSTEM.md: 15–17 ns), which at 4096 plants and a
handful of noisy signals is as much as the physics itself, while raw bits cost ≈ 0.75 ns
(``random_raw``) to ≈ 1–3 ns (a plant's Philox stream, :mod:`envs.core.streams`) per 16 bits.
The kernel turns each 16-bit word into a number with one table look-up:

| need | from | resolution |
| --- | --- | --- |
| standard normal | top 12 bits k → ``c·Φ⁻¹((k + ½)/4096)`` | 4096 levels, ±3.67 σ |
| uniform in (0, 1) for an event | two words → ``(k + ½)/2³²`` | 2.3·10⁻¹⁰ |

The quantised normal takes 4096 equiprobable values, scaled by c = 1.00016 so that its variance
is exactly 1 (mean 0 by symmetry); it has no values beyond ±3.67 σ, where the true normal puts
2.4·10⁻⁴ of its mass. That is ample for sensor noise and drift innovations, and every value has
exactly the probability it claims. The table is small on purpose: 4096 float32 values (16 KB)
stay in the L1 cache while the step streams through the state of thousands of plants; a
65536-entry float64 table (512 KB) was evicted by that stream and cost ≈ 40 ns per look-up
inside the BOF step at N = 4096 (measured), against ≈ 1–2 ns now. An event of probability p
(dropout, a stuck sensor, a new paint batch) happens when ``uniform < p``, honoured down to
p ≈ 10⁻⁹. Measured in the same process (N = 4096, 8 values per plant): table normals ≈ 1.5–2 ns
per value including the draw, against ≈ 14 ns for ``rng.standard_normal(dtype=float32)``.
Heat- and episode-level randomness (a few values per episode) uses full-precision uniforms and
normals from the same per-plant streams.

Look-ups are plain indexing, so ``NUMBA_DISABLE_JIT=1`` gives identical numbers.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = [
    "BITS_DTYPE",
    "NORMAL_BITS",
    "NORMAL_TABLE",
    "WORDS_PER_EVENT",
    "draw_bits",
    "normal",
    "uniform",
]

BITS_DTYPE = np.uint16
WORDS_PER_EVENT = 2  # a uniform for an event takes two 16-bit words (32 bits)
NORMAL_BITS = 12
_LEVELS = 1 << NORMAL_BITS
_SHIFT = 16 - NORMAL_BITS


def _normal_table() -> npt.NDArray[np.float32]:
    quantiles = np.array([NormalDist().inv_cdf((k + 0.5) / _LEVELS) for k in range(_LEVELS)])
    return (quantiles / quantiles.std()).astype(np.float32)  # unit variance


# float32 halves the cache footprint; normal() returns a Python float, so NUMBA_DISABLE_JIT
# arithmetic stays float64 as in the compiled code
NORMAL_TABLE: npt.NDArray[np.float32] = _normal_table()


def draw_bits(rng: np.random.Generator, n_rows: int, n_words: int) -> npt.NDArray[np.uint16]:
    """``(n_rows, n_words)`` random 16-bit words from ``rng``'s bit generator, in one call.

    The words come from ``rng.bit_generator.random_raw`` (64 bits → four words, little-endian),
    so the draw advances the same stream as every other call on ``rng`` and ``reset(seed=…)``
    determines it.
    """
    n = n_rows * n_words
    if n == 0:
        return np.zeros((n_rows, n_words), dtype=BITS_DTYPE)
    raw = rng.bit_generator.random_raw((n + 3) // 4)
    return raw.view(BITS_DTYPE)[:n].reshape(n_rows, n_words)


@njit(cache=True, inline="always")
def normal(word: int) -> float:
    """The standard normal of one 16-bit word (its top 12 bits index :data:`NORMAL_TABLE`)."""
    return float(NORMAL_TABLE[word >> _SHIFT])


@njit(cache=True, inline="always")
def uniform(word_hi: int, word_lo: int) -> float:
    """A uniform in (0, 1) from two 16-bit words; ``uniform(...) < p`` happens with probability p
    (to 2⁻³²)."""
    return (float(word_hi) * 65536.0 + float(word_lo) + 0.5) * (1.0 / 4294967296.0)
