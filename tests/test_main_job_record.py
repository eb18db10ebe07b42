"""The main job's record (experiments.studies.main_job) reads the paired difference honestly."""

from __future__ import annotations

from experiments.studies.main_job import reading

TABLE = """| KPI | ppo | operator |
|---|---:|---:|
| return [kEUR/heat] | -6.83 ± 4.08 | -7.92 ± 4.50 |
| Δ return vs operator (paired, ± s.e.) | {delta} ± {se} | +0.00 ± 0.00 |
"""


def test_within_two_standard_errors_is_not_an_improvement() -> None:
    text = reading(TABLE.format(delta="+1.09", se="0.76"))
    assert "not** a significant" in text and "+1.09 ± 0.76" in text


def test_beyond_two_standard_errors_names_the_direction() -> None:
    assert "better than the operator's by 1.60" in reading(TABLE.format(delta="+1.60", se="0.50"))
    assert "worse than the operator's by 1.60" in reading(TABLE.format(delta="-1.60", se="0.50"))


def test_a_table_without_the_operator_says_so() -> None:
    assert "No paired comparison" in reading("| KPI | ppo |\n|---|---:|\n")
