"""Where a report was made: date, git commit, CPU, load and package versions."""

from __future__ import annotations

import datetime
import importlib
import os
import platform
import subprocess
from pathlib import Path

__all__ = ["machine_info"]

ROOT = Path(__file__).resolve().parents[2]


def _git(*args: str) -> str:
    cmd = ["git", "-C", str(ROOT), *args]
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def machine_info(packages: tuple[str, ...] = ("numpy", "numba", "gymnasium")) -> dict[str, str]:
    """Date, git SHA (``-dirty``: uncommitted changes to tracked files), CPU, load, versions."""
    sha = _git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    info = {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "git": sha + ("-dirty" if dirty else ""),
        "cpu": f"{_cpu_model()}, {os.cpu_count()} logical CPUs",
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
        "python": platform.python_version(),
    }
    for name in packages:
        info[name.replace("-", "_")] = importlib.import_module(name).__version__
    return info
