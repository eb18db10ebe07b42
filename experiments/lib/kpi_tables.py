"""KPI tables for the console (rich) and for MLflow/markdown reports.

Hit KPIs are shown next to their ceiling when the plant has one: the rate a *perfect* controller
would score because the measurement the heat is judged on has its own error (BOF: the tap
sample's lab C and the thermocouple, :func:`envs.steel.hit_rate_ceiling`), so a reader sees how
much of a hit rate a controller can still win and how much is sensor noise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

from agents.evaluation import EpisodeResults

__all__ = [
    "CEILING_TITLE",
    "PAIRED_REFERENCES",
    "KPITable",
    "ceilings",
    "final_table",
    "print_table",
]

CEILING_TITLE = "perfect endpoint (ceiling)"
# references a paired Δ-return row is given against, when in the table (weakest first)
PAIRED_REFERENCES = ("operator", "pid", "mpc_est")


def ceilings(process: str, params: Any) -> dict[str, float]:
    """Hit-rate ceilings of a plant (KPI key → rate a perfect controller scores), {} when the
    process has none. BOF: :func:`envs.steel.hit_rate_ceiling` from the tap measurement's σ."""
    if process == "bof":
        from envs.steel import BOFParams, hit_rate_ceiling

        if not isinstance(params, BOFParams):
            raise TypeError(f"BOF ceilings need BOFParams, got {type(params).__name__}")
        return hit_rate_ceiling(params)
    return {}


# (row title, KPI key, format): the way each trade reads its KPIs, bands always named; a row
# shows only when some policy has the KPI (BOF heats, paint shifts)
COLUMNS = (
    ("return [kEUR]", "return_mean", "{:.2f}"),
    ("heat cost [EUR]", "heat_cost_eur", "{:,.0f}"),
    ("C hit ±0.02 %", "hit_c_0.02", "{:.0%}"),
    ("T hit ±15 K", "hit_t_15", "{:.0%}"),
    ("double hit ±0.02 %/±15 K", "double_hit_0.02_15", "{:.0%}"),
    ("C hit ±0.01 %", "hit_c_0.01", "{:.0%}"),
    ("T hit ±10 K", "hit_t_10", "{:.0%}"),
    ("end FeO [%]", "slag_feo_pct", "{:.1f}"),
    ("O2 [Nm3/t]", "oxygen_nm3_t", "{:.1f}"),
    ("P in spec", "p_in_spec", "{:.0%}"),
    ("cost per body [EUR]", "cost_eur_per_body", "{:,.1f}"),
    ("base DFT in spec", "in_spec_base_rate", "{:.1%}"),
    ("base Cpk", "cpk_base", "{:.2f}"),
    ("clear DFT in spec", "in_spec_clear_rate", "{:.1%}"),
    ("clear Cpk", "cpk_clear", "{:.2f}"),
    ("paint per body [L]", "paint_total_l_per_body", "{:.2f}"),
    ("energy per body [kWh]", "energy_kwh_per_body", "{:.1f}"),
    ("sag risk", "sag_risk", "{:.1%}"),
    ("orange-peel risk", "orange_peel_risk", "{:.1%}"),
    ("dry-spray risk", "dry_spray_risk", "{:.1%}"),
    ("solvent-pop risk", "solvent_pop_risk", "{:.1%}"),
    ("cure OK", "cure_ok_rate", "{:.1%}"),
)


@dataclasses.dataclass
class KPITable:
    """KPIs (rows) x policies (columns), cells formatted."""

    policies: list[str]
    rows: list[tuple[str, list[str]]]

    def to_markdown(self) -> str:
        lines = [
            "| KPI | " + " | ".join(self.policies) + " |",
            "|---|" + "---:|" * len(self.policies),
        ]
        lines += [f"| {kpi} | " + " | ".join(cells) + " |" for kpi, cells in self.rows]
        return "\n".join(lines) + "\n"


def final_table(
    results: Mapping[str, EpisodeResults], ceiling: Mapping[str, float] | None = None
) -> KPITable:
    """Policies side by side on the same episodes (return as mean ± sd); rows of the KPIs the
    process reports. With ``ceiling`` (:func:`ceilings`) a last column gives each hit KPI's
    ceiling (``—`` for the other rows)."""
    summaries = {name: res.summary() for name, res in results.items()}
    rows = []
    for title, key, fmt in COLUMNS:
        if key != "return_mean" and not any(key in s for s in summaries.values()):
            continue
        cells = []
        for s in summaries.values():
            value = s.get(key, float("nan"))
            cell = fmt.format(value) if np.isfinite(value) else "—"
            if key == "return_mean":
                cell += f" ± {s['return_std']:.2f}"
            cells.append(cell)
        rows.append((title, cells))
    # paired on the same seeds against each reference present: the honest size of an
    # improvement (operator practice, PID, MPC on estimates)
    paired = [ref for ref in PAIRED_REFERENCES if ref in results]
    for k, ref in enumerate(paired):
        base = results[ref].returns
        cells = []
        for res in results.values():
            diff = res.returns - base
            se = diff.std(ddof=1) / np.sqrt(len(diff)) if len(diff) > 1 else float("nan")
            cells.append(f"{diff.mean():+.2f} ± {se:.2f}")
        rows.insert(1 + k, (f"Δ return vs {ref} (paired, ± s.e.)", cells))
    policies = list(summaries)
    if ceiling:
        keys = {title: (key, fmt) for title, key, fmt in COLUMNS}
        for i, (title, cells) in enumerate(rows):
            key, fmt = keys.get(title, ("", ""))
            cap = ceiling.get(key)
            rows[i] = (title, [*cells, "—" if cap is None else _rate(fmt, cap)])
        policies.append(CEILING_TITLE)
    return KPITable(policies, rows)


def _rate(fmt: str, value: float) -> str:
    """A ceiling: one decimal more than the KPI (99.98 % must not read as 100 %)."""
    return f"{100 * value:.2f} %" if "%" in fmt else fmt.format(value)


def print_table(table: KPITable, title: str) -> None:
    t = Table(title=title)
    t.add_column("KPI")
    for name in table.policies:
        t.add_column(name, justify="right")
    for kpi, cells in table.rows:
        t.add_row(kpi, *cells)
    Console().print(t)
