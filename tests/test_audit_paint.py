"""The paint-line audit (experiments.studies.audit_paint) runs in quick mode and writes one table
row per check of issue 12's PaintLine-v1 targets; the values are what the audit measures, not
asserted here."""

from __future__ import annotations

from pathlib import Path

from experiments.studies import audit_paint

ROWS = (
    "1 no cliff: sag_risk",
    "1 no cliff: orange_peel_risk",
    "1 no cliff: dry_spray_risk",
    "1 no cliff: solvent_pop_risk",
    "2 same climate, same physics",
    "3a cure window (nominal line)",
    "3b +10 % line speed at the recipe oven",
    "3c +10 % line speed with an adjusted oven set-point",
    "4 no NaN for valid plants",
    "5 adjust spans vs quality windows",
    "6 exploration safety (σ 0.37)",
    "7 no free lever: bell high voltage",
)


def test_quick_audit_writes_every_check_row(tmp_path: Path):
    out = tmp_path / "audit.md"
    audit_paint.main(["--quick", "--out", str(out)])
    lines = out.read_text().splitlines()
    rows = [
        line
        for line in lines
        if line.startswith("| ") and not line.startswith(("| check", "| ---"))
    ]
    assert [row.split(" | ")[0].removeprefix("| ") for row in rows] == list(ROWS)
    for row in rows:
        status = row.split(" | ")[3]
        assert status in ("PASS", "FAIL", "INFO", "not measured"), row
