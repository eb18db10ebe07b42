"""The shape every process shares (docs/adding_a_process.md), checked on the code itself.

- Array layouts are declared once (``envs.core.layout.Layout``, ``PlantParams.indices()``): no
  module in ``envs/`` binds an index or a count to a hand-typed number or a ``range()``.
- Kernel entry points take the plant bundle: no public compiled function of a process's
  ``core``, ``rollout`` or ``profile`` module takes more than 6 parameters.
- Layers (DESIGN.md): ``agents/`` and ``experiments/`` import a process's package API and its
  ``layout``, never its compiled ``core`` or ``physics`` modules.
- Size: no module in ``envs/`` over ~600 lines, except the declarations named below.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import envs

REPO = Path(__file__).resolve().parents[1]
ENVS = REPO / "envs"
PROCESS_DIRS = sorted(p for p in ENVS.iterdir() if p.is_dir() and p.name not in {"core", "data"})
PROCESS_DIRS = [p for p in PROCESS_DIRS if (p / "layout.py").is_file()]
TOY = REPO / "tests" / "tank"

# names that index or count array columns (the prefixes the cores used when they were laid out
# by hand): state X_, derived D_, parameters P_, actuators A_, KPIs K_, observation O_, noise
# words W_/Z_, signals SIG_, sensor fields F_/S_, layer blocks XL_, and counts N_
INDEX_NAME = re.compile(r"^(X|D|P|A|K|O|W|Z|F|S|SIG|XL|XD|DC|ZD|ZS)_[A-Z0-9_]+$|^N_[A-Z0-9_]+$")
# counts that are model choices, not layouts (each would say why it is a number); none today
MODEL_CHOICES: set[str] = set()
MAX_LINES = 600
LONG_DECLARATIONS = {  # one declaration that would lose clarity if split
    "envs/paint/params.py": "one frozen dataclass: ~200 sourced parameters with units and ranges",
    "envs/steel/params.py": "one frozen dataclass: sourced parameters with units and ranges",
}


def _modules(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py") if "__pycache__" not in p.parts)


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


def _hand_numbered(tree: ast.Module) -> list[str]:
    """Module-level index/count names bound to int literals, literal arithmetic or range()."""
    bad = []
    for node in tree.body:
        if not isinstance(node, ast.Assign | ast.AnnAssign):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        value = node.value
        if value is None:
            continue
        names: list[str] = []
        for t in targets:
            if isinstance(t, ast.Name):
                names.append(t.id)
            elif isinstance(t, ast.Tuple):
                names.extend(e.id for e in t.elts if isinstance(e, ast.Name))
        index_names = [n for n in names if INDEX_NAME.match(n) and n not in MODEL_CHOICES]
        if not index_names:
            continue
        is_range = (
            isinstance(value, ast.Call)
            and isinstance(value.func, ast.Name)
            and value.func.id == "range"
        )
        literal_ints = [
            n
            for n in ast.walk(value)
            if isinstance(n, ast.Constant) and type(n.value) is int and n.value != 0
        ]
        plain_zero = isinstance(value, ast.Constant) and value.value == 0
        if is_range or literal_ints or plain_zero:
            bad.append(f"{', '.join(index_names)} = {ast.unparse(value)}")
    return bad


def test_process_dirs_found():
    assert {p.name for p in PROCESS_DIRS} >= {"steel", "paint"}


@pytest.mark.parametrize("path", _modules(ENVS, TOY), ids=_rel)
def test_no_hand_numbered_layout_constants(path: Path):
    bad = _hand_numbered(ast.parse(path.read_text()))
    assert not bad, (
        f"{_rel(path)} binds indices/counts by hand: {bad}; declare the fields in the "
        "process's layout.py (envs.core.layout.Layout) and use layout.at / len(layout)"
    )


def test_the_check_catches_hand_numbered_constants():
    code = (
        "X_A, X_B = range(2)\nN_STATE = 70\nD_LO = 6 + 2 * N_ACT\nK_OK = STATE.at.k\nBLOCK = 64\n"
    )
    assert _hand_numbered(ast.parse(code)) == [
        "X_A, X_B = range(2)",
        "N_STATE = 70",
        "D_LO = 6 + 2 * N_ACT",
    ]


def _compiled_functions(tree: ast.Module) -> list[ast.FunctionDef]:
    out = []
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef):
            continue
        for dec in node.decorator_list:
            func = dec.func if isinstance(dec, ast.Call) else dec
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
            if name in {"njit", "jit", "hot_loop"}:
                out.append(node)
    return out


KERNEL_MODULES = [
    p / f"{m}.py" for p in [*PROCESS_DIRS, TOY] for m in ("core", "rollout", "profile")
]


@pytest.mark.parametrize("path", [p for p in KERNEL_MODULES if p.is_file()], ids=_rel)
def test_kernel_entry_points_take_at_most_six_parameters(path: Path):
    long = [
        f"{f.name}({len(f.args.args)})"
        for f in _compiled_functions(ast.parse(path.read_text()))
        if not f.name.startswith("_") and len(f.args.args) > 6
    ]
    assert not long, f"{_rel(path)}: entry points with > 6 parameters {long}; pass the bundle"


def _imports(tree: ast.Module) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


FORBIDDEN = re.compile(r"^envs\.(?!core\.)[a-z_]+\.(core|physics)$")


@pytest.mark.parametrize("path", _modules(REPO / "agents", REPO / "experiments"), ids=_rel)
def test_agents_and_experiments_import_no_process_kernels(path: Path):
    bad = sorted(n for n in _imports(ast.parse(path.read_text())) if FORBIDDEN.match(n))
    assert not bad, (
        f"{_rel(path)} imports {bad}: use the process's package API (envs.steel, envs.paint) "
        "and its layout module"
    )


def test_the_import_check_catches_a_kernel_import():
    tree = ast.parse(
        "from envs.steel import core\nimport envs.paint.physics\nfrom envs.core import x"
    )
    assert sorted(n for n in _imports(tree) if FORBIDDEN.match(n)) == [
        "envs.paint.physics",
        "envs.steel.core",
    ]


@pytest.mark.parametrize("path", _modules(ENVS), ids=_rel)
def test_modules_stay_readable_in_size(path: Path):
    n = len(path.read_text().splitlines())
    if _rel(path) in LONG_DECLARATIONS:
        return
    assert n <= MAX_LINES, f"{_rel(path)} has {n} lines (> {MAX_LINES}): split it by concern"


@pytest.mark.parametrize("proc", PROCESS_DIRS, ids=lambda p: p.name)
def test_every_process_has_the_same_files(proc: Path):
    required = {"__init__.py", "params.py", "layout.py", "core.py", "batch.py", "env.py"}
    missing = sorted(required - {p.name for p in proc.glob("*.py")})
    assert not missing, f"envs/{proc.name} lacks {missing} (docs/adding_a_process.md)"


@pytest.mark.parametrize("name", sorted(envs.processes()))
def test_every_layout_declares_what_reports_need(name: str):
    """Reports draw any process from its layout: observation, actuators, controlled variables."""
    layout = envs.process(name).layout_module
    assert len(layout.OBSERVATION) and len(layout.ACTUATORS) and isinstance(layout.STEP_LABEL, str)
    params = envs.process(name).params_cls()
    for cv in layout.CONTROLLED:
        aim, band = cv.aim_and_band(params)
        assert cv.info in {"truth", "product_kpi"} and band > 0 and aim == aim
