"""Random inputs of the compiled step: raw bits drawn by the env, turned into numbers in the kernel.

Randomness stays outside the compiled code (DESIGN.md): the env's own seeded
``np.random.Generator`` draws every random input of a step in one vectorised call and passes the
array in. What it draws is raw bits, not normals: ``rng.standard_normal`` costs 11–15 ns per
sample on these machines (ECOSYSTEM.md: 15–17 ns), which at 4096 plants and a handful of noisy
signals is as much as the physics itself, while the bit generator's raw output costs ≈ 0.75 ns per
16 bits. The kernel turns each 16-bit word into a number with one table look-up:

| need | from | resolution |
| --- | --- | --- |
| standard normal | word k → ``Φ⁻¹((k + ½)/65536)`` (:data:`NORMAL_TABLE`) | 65536 levels, ±4.32 σ |
| uniform in (0, 1) for an event | two words → ``(k + ½)/2³²`` | 2.3·10⁻¹⁰ |

The quantised normal has mean 0, variance 1 − 2·10⁻⁵ and no values beyond ±4.32 σ (where the
true normal puts 1.5·10⁻⁵ of its mass): ample for sensor noise and drift innovations, and exact
in the sense that every value has exactly the probability it claims. An event of probability p
(dropout, a stuck sensor, a new paint batch) happens when ``uniform < p``, honoured down to
p ≈ 10⁻⁹. Measured in the same process (N = 4096, 8 values per plant): table normals ≈ 1.5–2 ns
per value including the draw, against ≈ 14 ns for ``rng.standard_normal(dtype=float32)``.
Heat- and episode-level randomness (a few values per episode) keeps using ordinary Generator
calls.

Look-ups are plain indexing, so ``NUMBA_DISABLE_JIT=1`` gives identical numbers.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = [
    "BITS_DTYPE",
    "NORMAL_TABLE",
    "WORDS_PER_EVENT",
    "draw_bits",
    "normal",
    "uniform",
]

BITS_DTYPE = np.uint16
WORDS_PER_EVENT = 2  # a uniform for an event takes two 16-bit words (32 bits)
_LEVELS = 1 << 16

# float64 on purpose: a float32 table would make NUMBA_DISABLE_JIT arithmetic float32 under
# NumPy 2's promotion rules, while the compiled code promotes to float64.
NORMAL_TABLE: npt.NDArray[np.float64] = np.array(
    [NormalDist().inv_cdf((k + 0.5) / _LEVELS) for k in range(_LEVELS)], dtype=np.float64
)


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
    """The standard normal of one 16-bit word (table look-up, see the module docstring)."""
    return float(NORMAL_TABLE[word])


@njit(cache=True, inline="always")
def uniform(word_hi: int, word_lo: int) -> float:
    """A uniform in (0, 1) from two 16-bit words; ``uniform(...) < p`` happens with probability p
    (to 2⁻³²)."""
    return (float(word_hi) * 65536.0 + float(word_lo) + 0.5) * (1.0 / 4294967296.0)
