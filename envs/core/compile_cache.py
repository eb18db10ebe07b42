"""Where the compiled process cores are cached: a folder per version of the ``envs`` sources.

numba's on-disk cache (``@njit(cache=True)``) is invalidated only by the timestamp of the file
that holds the compiled function. A step kernel in ``core.py`` inlines the physics of
``physics.py``, the actuator rule of ``envs/core/actions.py`` and the sensor bank of
``envs/core/sensors.py``; after a change to one of those (a ``git pull`` onto a new env version),
the cached kernel would keep running the old physics with no warning. So the cache lives in a
folder named after a fingerprint of every ``envs`` source file: any change to any of them starts
from an empty folder, and switching back finds the old one again (worktrees at different versions
share the cache root without disturbing each other).

Root: ``$NUMBA_CACHE_DIR`` if set (the benchmarks time cold compiles in an empty one), else
``$XDG_CACHE_HOME/plantrl`` (``~/.cache/plantrl``). Set ``PLANTRL_NUMBA_CACHE=off`` to leave
numba's own default in place.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numba

__all__ = ["configure_compile_cache", "source_fingerprint"]

ENVS_ROOT = Path(__file__).resolve().parents[1]


def source_fingerprint(root: Path = ENVS_ROOT) -> str:
    """12 hex digits of a SHA-256 over every ``*.py`` under ``root`` (relative path and bytes)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(path.relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def configure_compile_cache() -> Path | None:
    """Point numba's cache at the folder of this source version (before any kernel compiles)."""
    if os.environ.get("PLANTRL_NUMBA_CACHE", "").lower() == "off":
        return None
    base = os.environ.get("NUMBA_CACHE_DIR")
    if base:
        root = Path(base)
    else:
        root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "plantrl"
    folder = root / f"envs-{source_fingerprint()}"
    numba.config.CACHE_DIR = str(folder)  # type: ignore[attr-defined]
    return folder
