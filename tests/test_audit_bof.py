"""The BOF audit (experiments.studies.audit_bof) runs in its quick mode and writes one table row
per BOF-v2 target, each with a verdict."""

from __future__ import annotations

from pathlib import Path

from experiments.studies import audit_bof

CHECKS = (
    "1. Endpoint vs control step",
    "2. FeO saw-tooth",
    "3. Critical carbon",
    "4. Unmelted scrap at tap",
    "5. Hit-rate ceiling",
    "6. P-miss economics",
    "7. Exploration safety",
    "8. Observation under normalisation",
    "9. +1 % scrap / +0.1 % Si responses",
)


def test_quick_audit_writes_every_check_row(tmp_path: Path):
    out = tmp_path / "audit.md"
    audit_bof.main(["--quick", "--out", str(out)])
    rows = [line for line in out.read_text().splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| check | target")
    body = [r for r in rows[1:] if not r.startswith("| ---")]
    assert len(body) == len(CHECKS)
    for check, row in zip(CHECKS, body, strict=True):
        assert row.startswith(f"| {check}"), row
        assert any(f"| {v} |" in row for v in ("PASS", "FAIL", "not measured")), row
