"""The benchmark scripts still run end to end (``--quick``), so `make bench` cannot rot unseen.

Nothing here checks a speed: the numbers live in ``results/benchmarks/`` and are judged there. The
scripts write to a temporary file, never over the committed tables.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_quick(module: str, out: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", module, "--quick", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out.read_text()


@pytest.mark.slow
def test_env_benchmark_quick_run_writes_its_table(tmp_path: Path):
    table = run_quick("experiments.benchmarks.envs", tmp_path / "envs.md")
    for row in ("Pendulum-v1", "Vector env, N = 4096", "(c2) timed alone", "around the kernel"):
        assert row in table
    assert table.count("First import+reset+step") == 3 and "failed" not in table


@pytest.mark.slow
def test_training_benchmark_quick_run_writes_its_table(tmp_path: Path):
    table = run_quick("experiments.benchmarks.training", tmp_path / "training.md")
    for row in ("Ratio BOF / Pendulum", "MLflow writer", "Time-to-competence"):
        assert row in table


@pytest.mark.slow
def test_export_benchmark_quick_run_writes_its_table(tmp_path: Path):
    table = run_quick("experiments.benchmarks.export", tmp_path / "export.md")
    for process in ("BOF", "paint"):
        for actor in ("PPO 64×64 (default)", "PPO 256×256", "SAC 128×128 (default)"):
            assert f"| {actor}, {process} | " in table
            assert f"| {actor}, {process}: graph adds" in table
    assert table.count("≥ 10×") == 6 and "≤ 30 µs" in table and "≤ 50 µs" in table
    assert (tmp_path / "export.json").is_file()


@pytest.mark.slow
def test_sweeps_benchmark_quick_run_writes_its_table(tmp_path: Path):
    table = run_quick("experiments.benchmarks.sweeps", tmp_path / "sweeps.md")
    assert "| 1 | 1 | " in table and "| 2 | 2 | " in table and "speed-up **" in table
    for store in ("local SQLite", "server + PostgreSQL"):
        assert f"| {store} | 1 | " in table and f"| {store} | 2 | " in table
    assert "| NO |" not in table  # every job of both sweeps finished
    assert (tmp_path / "sweeps.json").is_file()


def _worktrees() -> list[str]:
    listing = subprocess.run(
        ["git", "worktree", "list"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return listing.stdout.splitlines()


@pytest.mark.slow
def test_against_benchmark_compares_with_a_revision_in_one_run(tmp_path: Path):
    """The A/B script checks a revision out into a temporary worktree and removes it again."""
    before = _worktrees()
    out = tmp_path / "against.md"
    command = ["experiments.benchmarks.against", "HEAD", "--quick", "--out", str(out)]
    proc = subprocess.run(
        [sys.executable, "-m", *command],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = out.read_text()
    for key in ("bof/single_steps_s", "paint/vector_env_steps_s", "ratio this/other"):
        assert key in table
    assert _worktrees() == before  # the temporary worktree is gone
