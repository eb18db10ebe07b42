"""The main job's record (experiments.studies.main_job) never turns one seed into a claim."""

from __future__ import annotations

from experiments.studies.main_job import reading

TABLE = """| KPI | ppo | operator | pid |
|---|---:|---:|---:|
| return [kEUR] | -6.83 ± 4.08 | -7.92 ± 4.50 | -6.90 ± 4.0 |
| Δ return vs operator (paired, ± s.e.) | {delta} ± {se} | +0.00 ± 0.00 | +1.02 ± 0.30 |
| Δ return vs pid (paired, ± s.e.) | +0.07 ± 0.10 | -1.02 ± 0.30 | +0.00 ± 0.00 |
"""


def test_within_two_standard_errors_is_said() -> None:
    text = reading(TABLE.format(delta="+1.09", se="0.76"))
    assert "vs the operator practice +1.09 ± 0.76 kEUR (1.4 s.e., within two)" in text


def test_every_reference_is_read() -> None:
    text = reading(TABLE.format(delta="+1.09", se="0.76"))
    assert "vs the PID +0.07 ± 0.10 kEUR (0.7 s.e., within two)" in text


def test_one_seed_beyond_two_standard_errors_is_still_no_claim() -> None:
    for delta in ("+1.60", "-1.60"):
        text = reading(TABLE.format(delta=delta, se="0.50"))
        assert "3.2 s.e., beyond two" in text
        assert "better" not in text and "worse" not in text
        assert "≥ 5 training seeds" in text


def test_a_table_without_references_says_so() -> None:
    assert "No paired comparison" in reading("| KPI | ppo |\n|---|---:|\n")
