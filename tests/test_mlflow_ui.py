"""The MLflow UI as a reviewer uses it: a real sweep, served, in headless Chromium.

A two-job sweep (``python -m experiments.train -m seed=0,1``, tiny budget, a private store) is
served by ``mlflow server`` on 127.0.0.1 and opened in Debian's ``chromium`` driven by
Playwright (the system browser: a browser is never downloaded at run time). The test clicks
through the UI as a reviewer does and checks what it reads against the store:

| step | reviewer's path | checks against the store |
| --- | --- | --- |
| sweep in the runs table | Model training, Experiments, bof | nested under parent; kpi columns |
| a child's run page | expand the parent, a child, Artifacts | parent link; kpi/return_mean; PNG |
| the children compared | tick both children, Compare | both listed; seed and kpi/* plotted |

The plot a reviewer opens is the one every training run logs, ``learning_curve.png``
(:mod:`experiments.lib.run_plots`: the held-apart return against env steps, the references as
lines).

Screenshots (1400 × 900: ``experiment.png``, ``child_overview.png``, ``child_artifacts.png``,
``compare.png``) go to a temporary folder; ``PLANTRL_UI_SCREENSHOTS=1`` writes them to
``results/ui/`` instead (the committed ones), as ``PLANTRL_REGEN_GOLDEN`` does for golden files.
Skipped, with the reason, where ``/usr/bin/chromium`` (``apt-get install chromium``) or the
``playwright`` package is missing. ≈ 1.5 min on a loaded 2-core machine: the sweep ≈ 45-60 s, the
server ≈ 15 s to answer (one worker), the browser ≈ 20 s.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from budgets import tiny_training
from mlflow.tracking import MlflowClient

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
# without the background-networking flags Chromium keeps dialling out (refused here)
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
UI_TIMEOUT_MS = 60_000  # the page is rendered by JavaScript on a loaded machine
SERVER_START_S = 180  # `mlflow server` answers after 15-40 s on a busy 2-core machine
EXPERIMENT = "bof"
PLANT = "bof_250t"
# two jobs of 256 env-steps on 2 plants, evaluated after each 128-step rollout (two points per
# learning curve); the basic launcher: on 2 busy cores parallel jobs gain nothing here
SWEEP = (*tiny_training(eval_every=128), "seed=0,1", f"tracking.experiment={EXPERIMENT}")
KPI_COLUMNS = ("kpi/return_mean", "kpi/heat_cost_eur", "kpi/hit_c_0.02")
PLOT = "learning_curve.png"  # logged by every training run
# the assistant panel opens by itself on a first visit and covers a third of the page; a reviewer
# closes it, and the browser remembers that (these are the keys MLflow 3.17 keeps it under)
ASSISTANT_CLOSED = (
    "localStorage.setItem('mlflow.assistant.panelOpen_v1', 'false');"
    "localStorage.setItem('mlflow.assistant.fab.autoOpenedOnFirstLoad_v1', 'true');"
)

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="needs the playwright package (pip install playwright)"
)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.is_file(), reason=f"needs {CHROMIUM} (Debian: apt-get install chromium)"
    ),
]
expect = playwright_api.expect
expect.set_options(timeout=UI_TIMEOUT_MS)


@dataclasses.dataclass(frozen=True)
class Sweep:
    """The sweep in the served store: its parent run and its children, as the store has them."""

    db: Path
    artifacts: Path
    parent_id: str
    parent_name: str
    children: dict[str, str]  # run name -> run id, in job order
    kpis: dict[str, dict[str, float]]  # run name -> the KPI_COLUMNS values
    env_id: str


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _run_sweep(root: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO), "MLFLOW_DISABLE_TELEMETRY": "true"}
    cmd = [sys.executable, "-m", "experiments.train", "-m", *SWEEP, f"paths.root={root}"]
    out = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, f"the sweep failed:\n{out.stdout[-3000:]}\n{out.stderr[-3000:]}"


def _read_sweep(db: Path, artifacts: Path) -> Sweep:
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    assert experiment is not None
    (parent,) = client.search_runs([experiment.experiment_id], "tags.sweep = 'true'")
    children = client.search_runs(
        [experiment.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'"
    )
    children.sort(key=lambda run: int(run.data.tags["sweep_job"]))
    assert len(children) == 2 and all(r.info.status == "FINISHED" for r in children)
    return Sweep(
        db=db,
        artifacts=artifacts,
        parent_id=parent.info.run_id,
        parent_name=parent.info.run_name,
        children={r.info.run_name: r.info.run_id for r in children},
        kpis={r.info.run_name: {k: r.data.metrics[k] for k in KPI_COLUMNS} for r in children},
        env_id=children[0].data.tags["env_id"],
    )


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> Sweep:
    """A finished two-job sweep in a private store."""
    root = tmp_path_factory.mktemp("ui")
    _run_sweep(root)
    db, artifacts = root / "results" / "mlflow.db", root / "results" / "mlartifacts"
    return _read_sweep(db, artifacts)


@pytest.fixture(scope="module")
def server(sweep: Sweep, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``mlflow server`` on the sweep's store (one worker: it answers sooner), stopped after."""
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    cmd = [
        sys.executable,
        "-m",
        "mlflow",
        "server",
        "--backend-store-uri",
        f"sqlite:///{sweep.db}",
        "--artifacts-destination",
        str(sweep.artifacts),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    with log.open("w") as sink:
        # its own process group: the server starts a uvicorn worker and a job runner
        proc = subprocess.Popen(
            cmd, cwd=log.parent, env=env, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + SERVER_START_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mlflow server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.5)
    pytest.fail(f"mlflow server did not answer within {SERVER_START_S} s:\n{log.read_text()}")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@contextlib.contextmanager
def first_visit(browser: Any) -> Iterator[Any]:
    """A page in a fresh browser profile: what a reviewer sees on a first visit."""
    context = browser.new_context(viewport=VIEWPORT)
    context.add_init_script(ASSISTANT_CLOSED)
    context.set_default_timeout(UI_TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


@pytest.fixture(scope="module")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("PLANTRL_UI_SCREENSHOTS") == "1":
        folder = REPO / "results" / "ui"
        folder.mkdir(parents=True, exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


# --- the reviewer's clicks ---------------------------------------------------------------------


def open_experiment(page: Any, server: str) -> None:
    """Home page, the Model training side (the UI opens on GenAI), Experiments, ``bof``."""
    page.goto(server)
    page.get_by_role("button", name="Model training").click()
    page.get_by_role("link", name="Experiments", exact=True).click()
    page.get_by_role("link", name=EXPERIMENT, exact=True).click()
    expect(page.get_by_role("heading", name="Runs")).to_be_visible()


def run_row(page: Any, run_name: str) -> Any:
    """A run's row of the runs table: the pinned name part and the scrolled metric part are two
    DOM rows of the grid with the same row index; both are returned as one locator."""
    pinned = page.get_by_role("row").filter(has=page.get_by_role("link", name=run_name, exact=True))
    index = pinned.get_attribute("row-index")
    return page.locator(f"[role=row][row-index='{index}']")


def expand(page: Any, run_name: str) -> None:
    """The expander in a parent's name cell (an unlabelled icon button)."""
    run_row(page, run_name).first.get_by_role("gridcell").nth(1).get_by_role("button").click()


def show_columns(page: Any, names: tuple[str, ...]) -> None:
    """Toggle columns in the Columns picker: found by its search box, clicked by its title."""
    page.get_by_role("button", name="Columns").click()
    picker = page.get_by_role("dialog")
    for name in names:
        picker.get_by_placeholder("Search columns").fill(name)
        # a search hit is drawn as <strong>: the whole title matches only one entry
        picker.locator("span[title]").filter(has_text=name).get_by_text(name, exact=True).click()
    page.keyboard.press("Escape")


def widen_name_column(page: Any, pixels: int) -> None:
    """Run names end in the seed; the default column cuts them off before it."""
    header = page.get_by_role("columnheader", name="Run Name").first.bounding_box()
    x, y = header["x"] + header["width"] - 2, header["y"] + header["height"] / 2
    page.mouse.move(x, y)
    page.mouse.down()
    for dx in range(10, pixels + 1, 10):
        page.mouse.move(x + dx, y)
    page.mouse.up()


def js_number(value: float) -> str:
    """How the table prints a metric: JavaScript's shortest round-trip form (Python's repr)."""
    return repr(value)


# --- the reviewer's steps (each one a first visit) --------------------------------------------


def sweep_in_runs_table(page: Any, server: str, sweep: Sweep, screenshots: Path) -> None:
    """The parent run, its children nested under it, their kpi columns."""
    open_experiment(page, server)
    parent = page.get_by_role("link", name=sweep.parent_name, exact=True)
    expect(parent).to_be_visible()
    for child in sweep.children:  # nested: hidden until the parent is expanded
        expect(page.get_by_role("link", name=child, exact=True)).to_have_count(0)
    expand(page, sweep.parent_name)
    for child in sweep.children:
        expect(page.get_by_role("link", name=child, exact=True)).to_be_visible()
    show_columns(page, ("Dataset", "Source", "Models", *KPI_COLUMNS))
    widen_name_column(page, 110)
    for child, kpis in sweep.kpis.items():
        row = run_row(page, child)
        for value in kpis.values():
            expect(row.filter(has_text=js_number(value))).to_have_count(1)
    expect(page.get_by_text(f"{1 + len(sweep.children)} matching runs")).to_be_visible()
    page.screenshot(path=screenshots / "experiment.png")


def child_run_page(page: Any, server: str, sweep: Sweep, screenshots: Path) -> None:
    """A child's page: the link to its parent, its kpi metrics, the plot among its artifacts."""
    child = next(iter(sweep.children))
    open_experiment(page, server)  # a run's address opened directly shows the GenAI side bar
    expand(page, sweep.parent_name)
    page.get_by_role("link", name=child, exact=True).click()
    expect(page.get_by_role("heading", name=child)).to_be_visible()
    expect(page.get_by_role("link", name=sweep.parent_name)).to_be_visible()  # "Parent run"
    search = page.get_by_placeholder("Search metrics")
    search.fill("kpi/")
    expect(page.get_by_role("row").filter(has_text="kpi/").first).to_be_visible()
    page.screenshot(path=screenshots / "child_overview.png")
    search.fill("kpi/return_mean")
    metric = page.get_by_role("row").filter(has_text="kpi/return_mean")
    expect(metric.first).to_contain_text(js_number(sweep.kpis[child]["kpi/return_mean"]))
    page.get_by_role("tab", name="Artifacts").click()
    page.get_by_text(PLOT, exact=True).click()
    image = page.get_by_role("img", name=PLOT)
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") > 100  # decoded, not broken
    page.screenshot(path=screenshots / "child_artifacts.png")


def children_compared(page: Any, server: str, sweep: Sweep, screenshots: Path) -> None:
    """Both children side by side: the seed against their KPIs on the parallel coordinates."""
    open_experiment(page, server)
    expand(page, sweep.parent_name)
    for child in sweep.children:
        run_row(page, child).first.get_by_role("checkbox").first.check()
    page.get_by_role("button", name="Compare", exact=True).click()
    expect(page.get_by_text(f"Comparing {len(sweep.children)} Runs")).to_be_visible()
    # the parallel-coordinates plot: what the sweep varied against what the children scored
    page.get_by_role("button", name="Clear All").click()
    parameters, metrics = page.get_by_role("combobox").nth(0), page.get_by_role("combobox").nth(1)
    for box, names in ((parameters, ("seed",)), (metrics, KPI_COLUMNS)):
        for name in names:
            box.click()
            page.keyboard.type(name)
            # the visible entry of the list (the listbox behind it is for screen readers only)
            page.locator(f"[aria-selected][title='{name}']").click()
            page.keyboard.press("Escape")
    plot = page.locator(".js-plotly-plot")
    for name in ("seed", *KPI_COLUMNS):
        expect(plot.get_by_text(name, exact=True)).to_be_visible()
    for child in sweep.children:
        expect(page.get_by_text(child, exact=True).first).to_be_visible()
    page.screenshot(path=screenshots / "compare.png")


def test_reviewer_finds_the_sweep(
    browser: Any, server: str, sweep: Sweep, screenshots: Path
) -> None:
    """One test: under pytest-xdist, tests of one module may land on two workers, and each would
    train its own sweep and start its own server."""
    for step in (sweep_in_runs_table, child_run_page, children_compared):
        with first_visit(browser) as page:
            step(page, server, sweep, screenshots)
