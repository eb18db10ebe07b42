"""Compiled cores are cached per version of the envs sources (envs.core.compile_cache)."""

from __future__ import annotations

from pathlib import Path

import numba
import pytest

import envs
import envs.steel.core
from envs.core.compile_cache import configure_compile_cache, source_fingerprint


def test_fingerprint_follows_every_source_file(tmp_path: Path) -> None:
    (tmp_path / "core").mkdir()
    (tmp_path / "core" / "actions.py").write_text("RATE = 1.0\n")
    (tmp_path / "physics.py").write_text("K = 2.0\n")
    before = source_fingerprint(tmp_path)
    assert source_fingerprint(tmp_path) == before  # stable
    # an inlined helper in another file changes: a kernel that inlines it must not be reused
    (tmp_path / "core" / "actions.py").write_text("RATE = 1.5\n")
    assert source_fingerprint(tmp_path) != before
    (tmp_path / "core" / "actions.py").write_text("RATE = 1.0\n")
    assert source_fingerprint(tmp_path) == before  # switching back finds the old folder


def test_kernels_cache_in_the_folder_of_this_source_version() -> None:
    assert envs.COMPILE_CACHE is not None
    assert envs.COMPILE_CACHE.name == f"envs-{source_fingerprint()}"
    cache_path = Path(envs.steel.core.step_batch._cache._cache_path)
    assert envs.COMPILE_CACHE in cache_path.parents


def test_root_and_opt_out(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(numba.config, "CACHE_DIR", numba.config.CACHE_DIR)  # restored after
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    assert configure_compile_cache() == tmp_path / f"envs-{source_fingerprint()}"
    monkeypatch.setenv("PLANTRL_NUMBA_CACHE", "off")
    assert configure_compile_cache() is None
