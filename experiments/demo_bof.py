"""Blow a set of seeded heats with the operator's standard practice and print the endpoint KPIs.

The first thing to run after installing (the README's main command until the training job
lands): it shows the simulator, the practice baseline and the way metallurgists score a blow —
hit rates at named bands (docs/physics/bof.md §6), not only averages.

    python -m experiments.demo_bof [--plant bof_250t] [--heats 64] [--seed 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table

import envs  # noqa: F401  (registers plantrl/BOF-v2)
from envs.core.shell import UNIT_KPI_PREFIX
from envs.steel import BOFParams, BOFVectorEnv
from envs.steel.layout import ACTUATORS, HIT_BANDS_C, HIT_BANDS_T


def blow_heats(plant: str, n_heats: int, seed: int) -> dict[str, np.ndarray]:
    """KPIs of ``n_heats`` heats blown in parallel with the zero adjust action (= practice)."""
    venv = BOFVectorEnv(n_heats, plant=plant, autoreset_mode="next_step")
    venv.reset(seed=seed)
    kpis: dict[str, np.ndarray] = {}
    done = np.zeros(n_heats, dtype=bool)
    returns = np.zeros(n_heats)
    while not done.all():
        _, reward, terminated, _, info = venv.step(np.zeros((n_heats, len(ACTUATORS)), np.float32))
        returns += np.where(done, 0.0, reward)
        if "unit_end" in info:
            new = info["unit_end"] & ~done
            for key in info:
                if key.startswith(UNIT_KPI_PREFIX):
                    name = key.removeprefix(UNIT_KPI_PREFIX)
                    kpis.setdefault(name, np.full(n_heats, np.nan))[new] = info[key][new]
        done |= terminated
    kpis["return_keur"] = returns
    return kpis


def kpi_table(kpis: dict[str, np.ndarray], plant: str) -> Table:
    table = Table(
        title=f"Operator standard practice, plant {plant}, {len(kpis['return_keur'])} heats"
    )
    table.add_column("KPI")
    table.add_column("mean", justify="right")
    table.add_column("sd", justify="right")
    for name in (
        "endpoint_c_pct",
        "endpoint_temp_c",
        "endpoint_p_pct",
        "slag_feo_pct",
        "blow_time_min",
        "oxygen_nm3_t",
        "ore_kg_t",
        "lime_kg_t",
        "iron_loss_kg_t",
        "heat_cost_eur",
        "return_keur",
    ):
        v = kpis[name]
        table.add_row(name, f"{np.mean(v):.4g}", f"{np.std(v):.3g}")
    for bc, bt in zip(HIT_BANDS_C, HIT_BANDS_T, strict=True):  # flags from the env's info
        table.add_row(f"hit rate C ±{bc} wt%", f"{np.mean(kpis[f'hit_c_{bc}']):.0%}", "")
        table.add_row(f"hit rate T ±{bt:g} K", f"{np.mean(kpis[f'hit_t_{bt:g}']):.0%}", "")
        rate = np.mean(kpis[f"double_hit_{bc}_{bt:g}"])
        table.add_row(f"double hit ±{bc} wt% & ±{bt:g} K", f"{rate:.0%}", "")
    table.add_row("P in spec", f"{np.mean(kpis['p_in_spec']):.0%}", "")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plant", default="bof_250t", help="plant variant in envs/conf/plant/")
    parser.add_argument("--heats", type=int, default=64, help="number of heats")
    parser.add_argument("--seed", type=int, default=0, help="seed of the heat set")
    args = parser.parse_args()
    start = time.perf_counter()
    venv_probe = BOFVectorEnv(1, plant=args.plant)
    params = venv_probe.variant.params
    assert isinstance(params, BOFParams)  # a BOF variant, resolved from its name
    kpis = blow_heats(args.plant, args.heats, args.seed)
    console = Console()
    console.print(kpi_table(kpis, args.plant))
    console.print(
        f"aims: C {params.aim_c_pct} wt%, T {params.aim_temp_c:g} degC; hit rates on "
        f"the end-of-blow measurement; {time.perf_counter() - start:.1f} s"
    )


if __name__ == "__main__":
    main()
