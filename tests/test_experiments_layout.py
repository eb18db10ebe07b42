"""The shape of ``experiments/``: jobs (entry points) on one side, the library they share on the
other, and library code never importing a job (DESIGN.md, layers). Read with ``ast``: nothing is
imported, so the check is fast and cannot be fooled by import side effects.
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "experiments"
LIBRARY = "experiments.lib"
# the README's commands: `python -m experiments.<job>` must keep working
MAIN_JOBS = ("train", "evaluate", "report", "demo_bof")


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def is_package(path: Path) -> bool:
    return path.name == "__init__.py"


def library_modules() -> dict[str, Path]:
    return {n: p for n, p in modules().items() if n == LIBRARY or n.startswith(LIBRARY + ".")}


def entry_points() -> dict[str, Path]:
    lib = library_modules()
    return {n: p for n, p in modules().items() if n not in lib and not is_package(p)}


def imported_modules(name: str, path: Path) -> set[str]:
    """Every module an ``import`` or ``from … import …`` names (relative ones resolved; for
    ``from pkg import x`` both ``pkg`` and ``pkg.x``, since ``x`` may be a module)."""
    package = name if is_package(path) else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_layout_is_what_the_tests_expect():
    lib, jobs = library_modules(), entry_points()
    assert len(lib) >= 10 and len(jobs) >= 10
    assert {f"experiments.{job}" for job in MAIN_JOBS} <= set(jobs)


@pytest.mark.parametrize("name", sorted(library_modules()))
def test_library_module_imports_no_entry_point(name: str):
    jobs = set(entry_points())
    path = library_modules()[name]
    bad = sorted(m for m in imported_modules(name, path) if m in jobs)
    assert not bad, f"{name} (library) imports entry point(s) {bad}: move the shared code to lib"


@pytest.mark.parametrize("name", sorted(entry_points()))
def test_every_module_outside_lib_is_a_runnable_job(name: str):
    """A module outside ``experiments.lib`` is a job: it has ``main`` and runs with ``-m``."""
    tree = ast.parse(entry_points()[name].read_text())
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    runs_as_script = any(
        isinstance(n, ast.If) and "__main__" in ast.unparse(n.test) for n in tree.body
    )
    assert "main" in functions and runs_as_script, (
        f"{name} is neither a job (main + `if __name__ == '__main__'`) nor in {LIBRARY}"
    )
    assert importlib.util.find_spec(name) is not None


def test_import_walk_sees_relative_and_from_imports(tmp_path: Path):
    """The walk itself: ``from experiments import train`` and ``from .. import evaluate`` are
    both caught as imports of the entry point."""
    pkg = tmp_path / "experiments" / "lib"
    pkg.mkdir(parents=True)
    mod = pkg / "bad.py"
    mod.write_text("from experiments import train\nfrom .. import evaluate\nimport numpy\n")
    found = imported_modules("experiments.lib.bad", mod)
    assert {"experiments.train", "experiments.evaluate", "numpy"} <= found
