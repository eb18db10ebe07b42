"""How a study job reports: the command that regenerates it, and where its markdown goes.

Every study (``experiments.studies.*``) prints its markdown report and, on a full run or with
``--out``, writes it under ``results/`` with the command line that produced it.
"""

from __future__ import annotations

import sys
from pathlib import Path

__all__ = ["command_line", "publish"]


def command_line(module: str, argv: list[str] | None) -> str:
    """``python -m <module> <args>``: the arguments given, or those of this process."""
    args = sys.argv[1:] if argv is None else argv
    return " ".join(["python -m", module, *args])


def publish(text: str, out: Path | None) -> None:
    """Print the report; write it to ``out`` too (folders made) unless ``out`` is None."""
    print(text)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        print(f"wrote {out}")
