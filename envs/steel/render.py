"""Plot of one blow for reviewers: bath carbon, temperature, slag FeO and the actuators vs time.

matplotlib is imported lazily (only when ``render()`` is called), so the env itself stays light.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from envs.steel.params import BOFParams


def render_blow(history: Sequence[dict[str, float]], params: BOFParams) -> np.ndarray:
    """RGB array (H, W, 3) of the blow so far: C, T, FeO vs aims and bands; actuators vs time."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.array([h["time_min"] for h in history])
    fig, axes = plt.subplots(2, 2, figsize=(8, 5), dpi=80, sharex=True)
    ax = axes[0, 0]
    ax.plot(t, [h["true_c_pct"] for h in history], color="k")
    ax.axhspan(params.aim_c_pct - 0.02, params.aim_c_pct + 0.02, color="g", alpha=0.3)
    ax.set_yscale("log")
    ax.set_ylabel("bath C [wt%]")
    ax = axes[0, 1]
    ax.plot(t, [h["true_temp_c"] for h in history], color="r")
    ax.axhspan(params.aim_temp_c - 15, params.aim_temp_c + 15, color="g", alpha=0.3)
    ax.set_ylabel("bath T [degC]")
    ax = axes[1, 0]
    ax.plot(t, [h["true_feo_pct"] for h in history], color="brown")
    ax.set_ylabel("slag FeO [wt%]")
    ax.set_xlabel("blow time [min]")
    ax = axes[1, 1]  # the five actuators: flows and lance (left), their running totals (right)
    per_t = 1.0 / params.heat_size_t
    ax.plot(t, [h["o2_flow"] * per_t for h in history], label="O2 flow [Nm3/(t min)]")
    ax.plot(t, [h["lance"] for h in history], label="lance [m]")
    ax.set_xlabel("blow time [min]")
    ax.legend(fontsize=7, loc="center left")
    totals = ax.twinx()
    for key, label, style in (
        ("ore_kg", "ore [kg/t]", "C2:"),
        ("lime_kg", "lime [kg/t]", "C4:"),
        ("o2_blown", "O2 blown [Nm3/t]", "C0--"),
        ("o2_end_target", "end-O2 target [Nm3/t]", "C3--"),
    ):
        totals.plot(t, [h[key] * per_t for h in history], style, label=label)
    totals.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.canvas.draw()
    image = np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()  # type: ignore[attr-defined]  # Agg canvas
    plt.close(fig)
    return image
